package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Library functions that build a string in one instruction, guarded by
// script-max-memory: the sampler (memory.go) sees the heap only between
// instructions, so a function that returns a string of any size from
// references to one string (string.rep, table.concat, string.format)
// refuses, before it allocates, a result larger than the limit. The rule:
// every library function whose result can be larger than its arguments
// taken once is guarded here (string.rep in sandbox.go). Left out: the ..
// operator, whose one instruction joins at most the ~200 registers of an
// expression, each already under the limit.

// tooLarge raises the error of a result of n bytes over the limit, if it
// is.
func (st *state) tooLarge(L *lua.LState, what string, n int64) {
	if lim := st.e.mem.limit.Load(); lim > 0 && n > lim {
		L.RaiseError("%s: the result would be %d bytes, more than script-max-memory (%d)", what, n, lim)
	}
}

// tableConcat is Lua 5.1's table.concat(t [, sep [, i [, j]]]), sizing
// its result first.
func (st *state) tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	parts := make([]string, 0, min(j-i+1, 1<<16))
	n := int64(len(sep)) * int64(j-i)
	for k := i; k <= j; k++ {
		v := t.RawGetInt(k)
		var s string
		switch v := v.(type) {
		case lua.LString:
			s = string(v)
		case lua.LNumber:
			s = v.String()
		default:
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		n += int64(len(s))
		parts = append(parts, s)
	}
	st.tooLarge(L, "table.concat", n)
	L.Push(lua.LString(strings.Join(parts, sep)))
	return 1
}

// guardFormat wraps string.format: its result is at most the format, its
// string arguments and a bounded width per argument.
func (st *state) guardFormat(format lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := int64(len(L.CheckString(1)))
		for k := 2; k <= L.GetTop(); k++ {
			n += 128
			if s, ok := L.Get(k).(lua.LString); ok {
				n += int64(len(s))
			}
		}
		st.tooLarge(L, "string.format", n)
		return format(L)
	}
}
