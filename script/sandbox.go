package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The sandbox (docs/scripting.md, "The sandbox"): Lua 5.1's base library
// without the functions that load code, reach files or the collector, and
// the string, table, math, coroutine, cjson, bit, cmsgpack and struct
// libraries, with the redis table. Every library table and the globals are
// read-only: a script sees them through proxies whose __newindex refuses,
// so that no script changes what the next one, in the same pooled
// interpreter, finds. Reading a global that does not exist is an error too,
// as in Redis.

// removedBase are the base functions a script does not get (loadstring is
// replaced, see loadstring).
var removedBase = []string{
	"dofile", "load", "loadfile", "collectgarbage", "print",
	"getfenv", "setfenv", "newproxy", "module", "require", "_GOPHER_LUA_VERSION",
}

// Error texts of the protected globals, as Redis words them.
const (
	errReadonly = "Attempt to modify a readonly table"
)

func errNoGlobal(name string) string {
	return "Script attempted to access nonexistent global variable '" + name + "'"
}

// sandbox is what newState builds: the proxy every script runs with as its
// globals, and the tables a script must never modify.
type sandbox struct {
	env       *lua.LTable          // the globals proxy: scripts' environment
	real      *lua.LTable          // the real globals, behind env
	protected map[*lua.LTable]bool // env and the library proxies
	// views maps a table behind a proxy to its proxy, so that what a
	// protected metatable holds is shown read-only (shield).
	views map[*lua.LTable]*lua.LTable
	// behind maps a proxy to the table behind it, for rawget, next and
	// pairs, which see through the proxies as they see Redis's read-only
	// tables.
	behind map[*lua.LTable]*lua.LTable
}

// newState returns an interpreter with the sandbox and st's redis table.
func newState(st *state) *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 20000, RegistrySize: 256, RegistryGrowStep: 256, RegistryMaxSize: 1024 * 1024, MinimizeStackMemory: true})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	real := L.G.Global
	for _, name := range removedBase {
		real.RawSetString(name, lua.LNil)
	}
	OpenCJSON(L)
	st.null = L.GetGlobal("cjson").(*lua.LTable).RawGetString("null")
	OpenBit(L)
	OpenCMsgpack(L)
	OpenStruct(L)
	real.RawSetString("redis", st.redisTable(L))
	sb := &sandbox{real: real, protected: map[*lua.LTable]bool{}, views: map[*lua.LTable]*lua.LTable{}, behind: map[*lua.LTable]*lua.LTable{}}

	// math.random and math.randomseed: Redis's generator (rng).
	math := real.RawGetString("math").(*lua.LTable)
	math.RawSetString("random", L.NewFunction(st.mathRandom))
	math.RawSetString("randomseed", L.NewFunction(st.mathRandomSeed))
	str := real.RawGetString("string").(*lua.LTable)
	str.RawSetString("rep", L.NewFunction(st.stringRep))
	str.RawSetString("format", L.NewFunction(st.guardFormat(str.RawGetString("format").(*lua.LFunction).GFunction)))
	tbl := real.RawGetString("table").(*lua.LTable)
	tbl.RawSetString("concat", L.NewFunction(st.tableConcat)) // guard.go
	str.RawSetString("dump", L.NewFunction(stringDump))

	for _, name := range []string{"string", "table", "math", "coroutine", "cjson", "bit", "cmsgpack", "struct", "redis"} {
		lib := real.RawGetString(name).(*lua.LTable)
		p := sb.readonly(L, lib)
		real.RawSetString(name, p)
		if name == "string" {
			mt := L.GetMetatable(lua.LString("")).(*lua.LTable)
			mt.RawSetString("__index", p)
			sb.shield(L, mt)
		}
	}
	real.RawSetString("rawset", L.NewFunction(sb.rawset))
	next := L.NewFunction(sb.next)
	real.RawSetString("next", next)
	real.RawSetString("rawget", L.NewFunction(sb.rawget))
	real.RawSetString("pairs", L.NewFunction(func(L *lua.LState) int {
		L.Push(next)
		L.Push(L.CheckTable(1))
		L.Push(lua.LNil)
		return 3
	}))
	real.RawSetString("setmetatable", L.NewFunction(sb.setmetatable(real.RawGetString("setmetatable"))))
	real.RawSetString("pcall", L.NewFunction(pcall(L.NewFunction(pcallHandler))))
	real.RawSetString("loadstring", L.NewFunction(sb.loadstring))
	sb.env = sb.readonly(L, real)
	real.RawSetString("_G", sb.env)
	// The real globals raise on a missing name, behind the proxy.
	L.SetMetatable(real, sb.metatable(L, L.NewFunction(func(L *lua.LState) int {
		name := L.CheckAny(2)
		L.RaiseError("%s", errNoGlobal(name.String()))
		return 0
	})))
	st.sb = sb
	return L
}

// readonly returns a proxy of t that reads through to it and refuses
// writes.
func (sb *sandbox) readonly(L *lua.LState, t *lua.LTable) *lua.LTable {
	p := L.CreateTable(0, 0)
	L.SetMetatable(p, sb.metatable(L, t))
	sb.protected[p] = true
	sb.views[t] = p
	sb.behind[p] = t
	return p
}

// seen is v as a script may see it: a table that has a proxy is shown as
// its proxy.
func (sb *sandbox) seen(v lua.LValue) lua.LValue {
	if t, ok := v.(*lua.LTable); ok {
		if p := sb.views[t]; p != nil {
			return p
		}
	}
	return v
}

// rawget is Lua's rawget, reading through a proxy to the table behind it.
func (sb *sandbox) rawget(L *lua.LState) int {
	t := L.CheckTable(1)
	k := L.CheckAny(2)
	if b := sb.behind[t]; b != nil {
		L.Push(sb.seen(b.RawGet(k)))
		return 1
	}
	L.Push(t.RawGet(k))
	return 1
}

// next is Lua's next, walking the table behind a proxy.
func (sb *sandbox) next(L *lua.LState) int {
	t := L.CheckTable(1)
	key := L.Get(2)
	if b := sb.behind[t]; b != nil {
		t = b
	}
	nk, v := t.Next(key)
	if nk == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(nk)
	L.Push(sb.seen(v))
	return 2
}

// view returns t's read-only proxy, making one if t has none.
func (sb *sandbox) view(L *lua.LState, t *lua.LTable) *lua.LTable {
	if sb.protected[t] {
		return t
	}
	if p := sb.views[t]; p != nil {
		return p
	}
	return sb.readonly(L, t)
}

// metatable returns a protected metatable whose __index is index and
// whose __newindex refuses.
func (sb *sandbox) metatable(L *lua.LState, index lua.LValue) *lua.LTable {
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(errReadonly)
		return 0
	}))
	sb.shield(L, mt)
	return mt
}

// shield makes getmetatable(x), for a value x whose metatable is mt, give
// a read-only proxy of mt, as Redis gives the read-only metatable itself:
// a script can read it but not change it. A table it holds (the __index of
// a proxy: the table behind it) is shown as that table's read-only proxy,
// so that nothing writable behind the proxies is reachable.
func (sb *sandbox) shield(L *lua.LState, mt *lua.LTable) {
	p := L.CreateTable(0, 0)
	pmt := L.CreateTable(0, 3)
	pmt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		v := mt.RawGet(L.CheckAny(2))
		if t, ok := v.(*lua.LTable); ok {
			v = sb.view(L, t)
		}
		L.Push(v)
		return 1
	}))
	pmt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(errReadonly)
		return 0
	}))
	pmt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(p, pmt)
	sb.protected[p] = true
	mt.RawSetString("__metatable", p)
}

// setmetatable is Lua's setmetatable (orig), refusing the protected
// tables with Redis's text.
func (sb *sandbox) setmetatable(orig lua.LValue) lua.LGFunction {
	return func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && sb.protected[t] {
			L.Error(lua.LString(errReadonly), 0) // no position: Redis raises it in C
		}
		L.Insert(orig, 1)
		L.Call(L.GetTop()-1, 1)
		return 1
	}
}

// binaryChunk starts a Lua binary chunk (string.dump's output).
const binaryChunk = "\x1bLua"

// loadstring is Lua 5.1's loadstring(s [, chunkname]) for source text: the
// chunk gets the scripts' globals. Like Redis, it refuses binary chunks
// (bytecode can escape the sandbox): it returns nil and a message.
func (sb *sandbox) loadstring(L *lua.LState) int {
	code := L.CheckString(1)
	name := L.OptString(2, code)
	if strings.HasPrefix(code, binaryChunk) {
		L.Push(lua.LNil)
		L.Push(lua.LString("binary chunks are not loaded in scripts"))
		return 2
	}
	proto, err := compile(code, chunkID(name))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	fn := L.NewFunctionFromProto(proto)
	fn.Env = sb.env
	L.Push(fn)
	return 1
}

// chunkID is how Lua 5.1 names a chunk loaded from a string in messages:
// [string "first line..."].
func chunkID(source string) string {
	line, _, cut := strings.Cut(source, "\n")
	if len(line) > 45 {
		line, cut = line[:45], true
	}
	if cut {
		line += "..."
	}
	return `[string "` + line + `"]`
}

// stringDump is string.dump(f): gopher-lua has no bytecode format, so it
// gives only a binary chunk's signature, which loadstring refuses as it
// refuses any binary chunk.
func stringDump(L *lua.LState) int {
	if L.CheckFunction(1).IsG {
		L.RaiseError("unable to dump given function")
	}
	L.Push(lua.LString(binaryChunk + "Q\x00"))
	return 1
}

// rawset is Lua's rawset, refusing the protected tables.
func (sb *sandbox) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if sb.protected[t] {
		L.Error(lua.LString(errReadonly), 0) // no position: Redis raises it in C
	}
	k := L.CheckAny(2)
	if k == lua.LNil {
		L.ArgError(2, "table index is nil")
	}
	t.RawSet(k, L.CheckAny(3))
	L.SetTop(1)
	return 1
}

// stringRep is string.rep refusing a result larger than the memory limit:
// the one library call that allocates without bound in one instruction.
func (st *state) stringRep(L *lua.LState) int {
	s := L.CheckString(1)
	f := float64(L.CheckNumber(2))
	if !(f >= 1) || s == "" { // NaN too
		L.Push(lua.LString(""))
		return 1
	}
	// The count is truncated, as Lua 5.1 does, into 64 bits whatever int
	// is, so that the size checked is the size asked for on 32-bit
	// machines too.
	n := int64(min(f, 1<<62))
	size := int64(math.MaxInt64) // past it: more than any limit
	if n <= math.MaxInt64/int64(len(s)) {
		size = int64(len(s)) * n
	}
	st.tooLarge(L, "string.rep", size)
	if n > int64(math.MaxInt)/int64(len(s)) {
		L.RaiseError("string.rep: the result would be more than %d bytes, more than this machine can address", math.MaxInt)
	}
	L.Push(lua.LString(strings.Repeat(s, int(n))))
	return 1
}

// mathRandom is Lua 5.1's math.random over the run's generator.
func (st *state) mathRandom(L *lua.LState) int {
	r := st.rng.next()
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		m := L.CheckInt(1)
		if m < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(int(r*float64(m)) + 1))
	default:
		lo, hi := L.CheckInt(1), L.CheckInt(2)
		if lo > hi {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(int(r*float64(hi-lo+1)) + lo))
	}
	return 1
}

// mathRandomSeed is math.randomseed: Redis seeds with luaL_checkint, so
// a string that reads as a number is taken too, truncated to a C int.
func (st *state) mathRandomSeed(L *lua.LState) int {
	st.rng.seed(uint64(int32(int64(L.CheckNumber(1)))))
	return 0
}

// rng is Redis's math.random generator (redisLrand48: the 48-bit linear
// congruential generator of lrand48), so that a seed gives the numbers it
// gives in Redis. Its state lives on across runs of an interpreter, as in
// Redis, where successive scripts get different numbers; the append-only
// file records a script's effects, so replay does not depend on them.
type rng struct{ x uint64 }

func (r *rng) seed(s uint64) { r.x = (s<<16 | 0x330e) & (1<<48 - 1) }

func (r *rng) next() float64 {
	r.x = (0x5deece66d*r.x + 0xb) & (1<<48 - 1)
	n := int64(r.x >> 17)
	return float64(n%2147483647) / 2147483647
}

// appendArg appends a redis.call argument to dst: a string as it is, a
// number as Redis converts it (C's %.17g: 5, 0.10000000000000001, 1e+20).
func appendArg(dst []byte, v lua.LValue) ([]byte, bool) {
	switch v := v.(type) {
	case lua.LString:
		return append(dst, v...), true
	case lua.LNumber:
		return strconv.AppendFloat(dst, float64(v), 'g', 17, 64), true
	}
	return dst, false
}
