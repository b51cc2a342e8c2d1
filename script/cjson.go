package script

// The cjson library: lua-cjson 2.1.0 as Redis bundles it, for gopher-lua. The
// JSON written, the inputs accepted and the error texts are Redis's (checked
// against redis-server). Deliberate differences, besides those OpenCJSON
// lists: a table with an integer key above 2^31-1 is always an object
// (lua-cjson casts such keys to a C int, undefined behaviour, and its output
// then depends on the iteration order); argument errors use gopher-lua's
// wording ("bad argument #1 to encode (...)", Redis: "to 'encode'").

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// lua-cjson's defaults: nesting depth (encode and decode), sparse arrays (a
// table whose largest index is above both safe and ratio times its number of
// keys is refused), number precision.
const (
	cjsonMaxDepth    = 1000
	cjsonSparseRatio = 2
	cjsonSparseSafe  = 10
	cjsonPrecision   = 14
	cjsonMaxIndex    = math.MaxInt32 // the largest array index (a C int)
	cjsonKeepBuffer  = 64 << 10      // the largest scratch buffer kept
)

// cjsonNullValue is the Value of the userdata that stands for JSON null
// (lua-cjson's NULL lightuserdata). Any userdata holding it encodes as null.
type cjsonNullValue struct{}

// cjsonIsNull reports whether v is cjson.null.
func cjsonIsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return false
	}
	_, ok = ud.Value.(cjsonNullValue)
	return ok
}

// cjsonLib is the scratch space behind one cjson table, reused by encode and
// decode. An LState is used by one goroutine at a time, and neither encode nor
// decode calls back into Lua, so it needs no lock.
type cjsonLib struct {
	enc cjsonEncoder
	dec cjsonDecoder
}

// OpenCJSON installs the global table `cjson` (encode, decode, null, and the
// encode_* / decode_* configuration functions as no-ops-with-same-return where
// Redis allows them) into L, as Redis 7.2's Lua has it.
//
// cjson.null is a userdata (lua-cjson uses a NULL lightuserdata); decode
// returns that same value for JSON null, so `cjson.decode('null') ==
// cjson.null`; cjsonIsNull recognises it. The configuration functions check
// their arguments and return what lua-cjson returns, but the defaults stay in
// force (depth 1000, precision 14, sparse arrays refused, NaN and Inf refused
// by encode and accepted by decode): in Redis a setting leaks into every later
// script. Object keys are encoded in sorted order, number keys ascending then
// string keys bytewise (lua-cjson's order is lua_next's, unspecified). The
// cjson table is not made read-only (Redis 7 does that to all its globals).
func OpenCJSON(L *lua.LState) {
	null := L.NewUserData()
	null.Value = cjsonNullValue{}
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	null.Metatable = mt
	L.SetGlobal("cjson", cjsonNewTable(L, null))
}

// cjsonNewTable builds one cjson module table around the null sentinel.
func cjsonNewTable(L *lua.LState, null *lua.LUserData) *lua.LTable {
	lib := &cjsonLib{}
	lib.dec.null = null
	t := L.CreateTable(0, 14)
	funcs := []struct {
		name string
		fn   lua.LGFunction
	}{
		{"encode", lib.encode},
		{"decode", lib.decode},
		{"encode_sparse_array", cjsonEncodeSparseArray},
		{"encode_max_depth", cjsonIntOption(cjsonMaxDepth, 1, math.MaxInt32)},
		{"decode_max_depth", cjsonIntOption(cjsonMaxDepth, 1, math.MaxInt32)},
		{"encode_number_precision", cjsonIntOption(cjsonPrecision, 1, 14)},
		{"encode_keep_buffer", cjsonEnumOption(1, cjsonOnOff)},
		{"encode_invalid_numbers", cjsonEnumOption(0, []string{"off", "on", "null"})},
		{"decode_invalid_numbers", cjsonEnumOption(1, cjsonOnOff)},
		{"new", func(L *lua.LState) int {
			L.Push(cjsonNewTable(L, null))
			return 1
		}},
	}
	for _, f := range funcs {
		t.RawSetString(f.name, L.NewFunction(f.fn))
	}
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// ===== configuration =====

var cjsonOnOff = []string{"off", "on"}

// cjsonArgInit checks the argument count like lua-cjson's json_arg_init.
func cjsonArgInit(L *lua.LState, n int) {
	if L.GetTop() > n {
		L.ArgError(n+1, "found too many arguments")
	}
}

// cjsonIntOption returns a configuration function taking one optional integer
// in [lo, hi]; it returns the integer given, or def.
func cjsonIntOption(def, lo, hi int) lua.LGFunction {
	return func(L *lua.LState) int {
		cjsonArgInit(L, 1)
		L.Push(lua.LNumber(cjsonCheckInt(L, 1, def, lo, hi)))
		return 1
	}
}

// cjsonCheckInt reads optional integer argument n as lua-cjson's
// json_integer_option does (which reports range errors against argument 1).
func cjsonCheckInt(L *lua.LState, n, def, lo, hi int) int {
	if L.Get(n) == lua.LNil {
		return def
	}
	v := int64(L.CheckNumber(n))
	if v < int64(lo) || v > int64(hi) {
		L.ArgError(1, fmt.Sprintf("expected integer between %d and %d", lo, hi))
	}
	return int(v)
}

// cjsonEnumOption returns a configuration function taking one optional
// boolean or option name; it returns the setting as lua-cjson does: a boolean
// for off/on, the name otherwise.
func cjsonEnumOption(def int, names []string) lua.LGFunction {
	return func(L *lua.LState) int {
		cjsonArgInit(L, 1)
		L.Push(cjsonCheckEnum(L, 1, def, names))
		return 1
	}
}

func cjsonCheckEnum(L *lua.LState, n, def int, names []string) lua.LValue {
	setting := def
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
	case lua.LBool:
		setting = 0
		if v {
			setting = 1
		}
	default:
		name := L.CheckString(n)
		setting = slices.Index(names, name)
		if setting < 0 {
			L.ArgError(n, fmt.Sprintf("invalid option '%s'", name))
		}
	}
	if setting <= 1 {
		return lua.LBool(setting == 1)
	}
	return lua.LString(names[setting])
}

// cjsonEncodeSparseArray is cjson.encode_sparse_array([convert[, ratio[, safe]]]).
func cjsonEncodeSparseArray(L *lua.LState) int {
	cjsonArgInit(L, 3)
	convert := cjsonCheckEnum(L, 1, 0, cjsonOnOff)
	ratio := cjsonCheckInt(L, 2, cjsonSparseRatio, 0, math.MaxInt32)
	safe := cjsonCheckInt(L, 3, cjsonSparseSafe, 0, math.MaxInt32)
	L.Push(convert)
	L.Push(lua.LNumber(ratio))
	L.Push(lua.LNumber(safe))
	return 3
}

// ===== encoding =====

// cjsonEncoder turns Lua values into JSON text in a reused buffer.
type cjsonEncoder struct {
	buf []byte
	// pairs is a stack of the entries of the tables being encoded; each table
	// uses the part above where it started and truncates it when done.
	pairs []cjsonPair
}

type cjsonPair struct {
	k, v lua.LValue
}

// encode is cjson.encode(value).
func (lib *cjsonLib) encode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	e := &lib.enc
	e.buf = e.buf[:0]
	if err := e.value(L.Get(1), 0); err != nil {
		cjsonRaise(L, err)
	}
	out := string(e.buf)
	e.buf, e.pairs = cjsonShrink(e.buf, cjsonKeepBuffer), cjsonShrink(e.pairs, cjsonKeepBuffer/16)
	L.Push(lua.LString(out))
	return 1
}

// cjsonShrink empties a scratch slice for the next call (they are non-empty
// only after an error), dropping it if it grew past limit.
func cjsonShrink[T any](s []T, limit int) []T {
	if cap(s) > limit {
		return nil
	}
	clear(s)
	return s[:0]
}

// cjsonError is an error raised to the script, worded as lua-cjson words it.
type cjsonError string

func (e cjsonError) Error() string { return string(e) }

// cjsonRaise raises err as luaL_error does: prefixed with the position of
// the calling Lua function ("user_script:1: "), if a Lua function called.
func cjsonRaise(L *lua.LState, err error) {
	if dbg, ok := L.GetStack(1); ok {
		if _, e := L.GetInfo("S", dbg, lua.LNil); e == nil && dbg.What != "G" {
			L.RaiseError("%s", err.Error())
		}
	}
	L.Error(lua.LString(err.Error()), 0)
}

// cjsonEncodeError is lua-cjson's json_encode_exception text.
func cjsonEncodeError(v lua.LValue, reason string) error {
	return cjsonError(fmt.Sprintf("Cannot serialise %s: %s", v.Type(), reason))
}

// value appends v; depth is the number of tables around it.
func (e *cjsonEncoder) value(v lua.LValue, depth int) error {
	switch v := v.(type) {
	case lua.LString:
		e.appendString(string(v))
	case lua.LNumber:
		return e.appendNumber(v)
	case lua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(v))
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case *lua.LTable:
		depth++
		if depth > cjsonMaxDepth {
			return cjsonError(fmt.Sprintf("Cannot serialise, excessive nesting (%d)", depth))
		}
		return e.table(v, depth)
	case *lua.LUserData:
		if _, ok := v.Value.(cjsonNullValue); ok {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return cjsonEncodeError(v, "type not supported")
	default:
		return cjsonEncodeError(v, "type not supported")
	}
	return nil
}

// table appends t as an array when all its keys are positive integers and it
// is not excessively sparse (lua-cjson's lua_array_length), else as an object.
func (e *cjsonEncoder) table(t *lua.LTable, depth int) error {
	base := len(e.pairs)
	defer func() {
		clear(e.pairs[base:]) // let the collector have the values
		e.pairs = e.pairs[:base]
	}()
	maxIndex, items, array := 0, 0, true
	t.ForEach(func(k, v lua.LValue) {
		e.pairs = append(e.pairs, cjsonPair{k, v})
		if !array {
			return
		}
		n, ok := k.(lua.LNumber)
		switch {
		case !ok || n < 1 || n != lua.LNumber(math.Floor(float64(n))):
			array = false
		case n > cjsonMaxIndex:
			array = false // see the file comment
		default:
			maxIndex = max(maxIndex, int(n))
			items++
		}
	})
	if array && maxIndex > items*cjsonSparseRatio && maxIndex > cjsonSparseSafe {
		return cjsonEncodeError(t, "excessively sparse array")
	}
	if array && maxIndex > 0 {
		e.buf = append(e.buf, '[')
		for i := 1; i <= maxIndex; i++ {
			if i > 1 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(t.RawGet(lua.LNumber(i)), depth); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	}
	end := len(e.pairs)
	for _, p := range e.pairs[base:end] {
		if p.k.Type() != lua.LTNumber && p.k.Type() != lua.LTString {
			return cjsonEncodeError(p.k, "table key must be a number or string")
		}
	}
	slices.SortFunc(e.pairs[base:end], cjsonCompareKeys)
	e.buf = append(e.buf, '{')
	for i := base; i < end; i++ {
		if i > base {
			e.buf = append(e.buf, ',')
		}
		p := e.pairs[i] // e.pairs may be reallocated by the nested calls
		switch k := p.k.(type) {
		case lua.LNumber:
			e.buf = append(e.buf, '"')
			if err := e.appendNumber(k); err != nil {
				return err
			}
			e.buf = append(e.buf, '"', ':')
		case lua.LString:
			e.appendString(string(k))
			e.buf = append(e.buf, ':')
		}
		if err := e.value(p.v, depth); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// cjsonCompareKeys orders object keys: numbers ascending, then strings.
func cjsonCompareKeys(a, b cjsonPair) int {
	an, aNum := a.k.(lua.LNumber)
	bn, bNum := b.k.(lua.LNumber)
	switch {
	case aNum && bNum:
		return cmp.Compare(an, bn)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(string(a.k.(lua.LString)), string(b.k.(lua.LString)))
}

// appendNumber writes n as C's "%.14g" does; NaN and Inf are refused.
func (e *cjsonEncoder) appendNumber(n lua.LNumber) error {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return cjsonEncodeError(n, "must not be NaN or Inf")
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e14 && (f != 0 || !math.Signbit(f)) {
		e.buf = strconv.AppendInt(e.buf, int64(f), 10)
		return nil
	}
	// strconv's 'g' with a precision matches C's %g: the same switch to the
	// exponent form, trailing zeros dropped, at least two exponent digits.
	e.buf = strconv.AppendFloat(e.buf, f, 'g', cjsonPrecision, 64)
	return nil
}

// cjsonEscapes holds lua-cjson's char2escape table: the escape for each byte,
// or "" for a byte written as is.
var cjsonEscapes = func() (t [256]string) {
	const hex = "0123456789abcdef"
	for c := range 0x20 {
		t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	t['"'], t['\\'], t['/'], t[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return t
}()

// appendString writes s quoted; bytes other than those escaped, including
// invalid UTF-8, are copied as they are.
func (e *cjsonEncoder) appendString(s string) {
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if esc := cjsonEscapes[s[i]]; esc != "" {
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, esc...)
			start = i + 1
		}
	}
	e.buf = append(e.buf, s[start:]...)
	e.buf = append(e.buf, '"')
}
