package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The redis table (docs/scripting.md, "Inside a script").

// Log levels of redis.log, Redis's values.
const (
	LogDebug   = 0
	LogVerbose = 1
	LogNotice  = 2
	LogWarning = 3
)

// VersionNum is the Redis version scripts see (redis.REDIS_VERSION_NUM),
// the protocol level bucketd speaks.
const (
	Version    = "7.2.0"
	VersionNum = 0x00070200
)

func (st *state) redisTable(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 32)
	fns := map[string]lua.LGFunction{
		"call":               func(L *lua.LState) int { return st.call(L, false) },
		"pcall":              func(L *lua.LState) int { return st.call(L, true) },
		"error_reply":        errorReply,
		"status_reply":       statusReply,
		"sha1hex":            sha1hex,
		"log":                st.logLine,
		"setresp":            st.setresp,
		"set_repl":           setRepl,
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"breakpoint":         func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":              func(L *lua.LState) int { return 0 },
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	for name, v := range map[string]int{
		"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3,
	} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(VersionNum))
	return t
}

// loadRedisTable is the redis table of a library's code at FUNCTION LOAD:
// register_function, log and the constants, nothing else.
func (st *state) loadRedisTable(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 8)
	t.RawSetString("register_function", L.NewFunction(st.registerFunction))
	t.RawSetString("log", L.NewFunction(st.logLine))
	for name, v := range map[string]int{"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(VersionNum))
	return t
}

// call is redis.call (protected false) and redis.pcall: it runs a command
// through the run's Caller and converts its reply. A failed command raises
// its error table under redis.call and returns it under redis.pcall.
func (st *state) call(L *lua.LState, protected bool) int {
	r := st.run
	if r == nil {
		L.RaiseError("Please use redis.call only inside a script invocation")
		return 0
	}
	n := L.GetTop()
	if n == 0 {
		return st.callError(L, protected, "ERR Please specify at least one argument for this redis lib call")
	}
	r.argBuf = r.argBuf[:0]
	var ends [16]int
	offs := ends[:0]
	for i := 1; i <= n; i++ {
		var ok bool
		if r.argBuf, ok = appendArg(r.argBuf, L.Get(i)); !ok {
			return st.callError(L, protected, "ERR Lua redis lib command arguments must be strings or integers")
		}
		offs = append(offs, len(r.argBuf))
	}
	r.args = r.args[:0]
	start := 0
	for _, end := range offs {
		r.args = append(r.args, r.argBuf[start:end:end])
		start = end
	}
	r.budget.check()
	if reason := r.budget.stopped(); reason != "" {
		L.RaiseError("%s", reason)
	}
	r.out.Reset()
	r.out.Proto = r.proto
	r.call.Caller.Call(r.args, &r.out)
	v, isErr := replyToLua(L, r.out.B, r.proto)
	if isErr && !protected {
		L.Error(v, 1)
		return 0
	}
	L.Push(v)
	return 1
}

// pcall is the global pcall as Redis replaces it: an error table with
// err comes back as its text, so that pcall(redis.call, …) gives
// false, "ERR …" as scripts written for Redis expect. handler words
// gopher-lua's call and index errors as Lua 5.1 (pcallHandler).
func pcall(handler *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int { return protectedCall(L, handler) }
}

// pcallHandler rewrites a call or index error in Lua 5.1's words while the
// frame that raised it is still there (callErrorText).
func pcallHandler(L *lua.LState) int {
	v := L.Get(1)
	if s, ok := v.(lua.LString); ok {
		if at := errorFrame(L); at != nil {
			v = lua.LString(callErrorText(L, at, string(s)))
		}
	}
	L.Push(v)
	return 1
}

func protectedCall(L *lua.LState, handler *lua.LFunction) int {
	n := L.GetTop()
	if n == 0 {
		L.ArgError(1, "value expected")
	}
	err := L.PCall(n-1, lua.MultRet, handler)
	if err == nil {
		L.Insert(lua.LTrue, 1)
		return L.GetTop()
	}
	obj := err.(*lua.ApiError).Object
	if t, ok := obj.(*lua.LTable); ok {
		if s, ok := t.RawGetString("err").(lua.LString); ok {
			obj = s
		}
	}
	L.SetTop(0)
	L.Push(lua.LFalse)
	L.Push(obj)
	return 2
}

// raiseC raises msg as Redis's C functions raise their errors: without the
// position prefix that L.RaiseError adds (the error handler puts ERR in
// front, and the script's line after).
func raiseC(L *lua.LState, msg string) { L.Error(lua.LString(msg), 0) }

// callError fails a redis.call with msg, or returns {err=msg} from
// redis.pcall.
func (st *state) callError(L *lua.LState, protected bool, msg string) int {
	t := errorTable(L, msg)
	if !protected {
		L.Error(t, 1)
		return 0
	}
	L.Push(t)
	return 1
}

// errorReply is redis.error_reply: {err=msg} without a leading "-", the
// first word being the code when there is a space, else ERR in front, as
// Redis 7 does. Bad arguments return an error table rather than raise.
func errorReply(L *lua.LState) int {
	if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
		L.Push(errorTable(L, "ERR wrong number or type of arguments"))
		return 1
	}
	msg := string(L.Get(1).(lua.LString))
	if len(msg) > 0 && msg[0] == '-' {
		msg = msg[1:]
	}
	if !strings.Contains(msg, " ") {
		msg = "ERR " + msg
	}
	L.Push(errorTable(L, msg))
	return 1
}

// statusReply is redis.status_reply: {ok=msg}.
func statusReply(L *lua.LState) int {
	if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
		L.Push(errorTable(L, "ERR wrong number or type of arguments"))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", L.Get(1))
	L.Push(t)
	return 1
}

// sha1hex is redis.sha1hex.
func sha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseC(L, "wrong number of arguments")
	}
	s, _ := appendArg(nil, L.Get(1)) // another type hashes "", as in Redis
	L.Push(lua.LString(SHA1(s)))
	return 1
}

// logLine is redis.log(level, message…): a line in the server's log.
func (st *state) logLine(L *lua.LState) int {
	if L.GetTop() < 2 {
		raiseC(L, "redis.log() requires two arguments or more.")
	}
	level, ok := L.Get(1).(lua.LNumber)
	if !ok {
		raiseC(L, "First argument must be a number (log level).")
	}
	var msg []byte
	for i := 2; i <= L.GetTop(); i++ {
		if i > 2 {
			msg = append(msg, ' ')
		}
		s, ok := appendArg(msg, L.Get(i))
		if !ok {
			s = append(msg, L.Get(i).String()...)
		}
		msg = s
	}
	ev := st.e.log.Info()
	switch int(level) {
	case LogDebug:
		ev = st.e.log.Debug()
	case LogVerbose:
		ev = st.e.log.Debug()
	case LogNotice:
		ev = st.e.log.Info()
	case LogWarning:
		ev = st.e.log.Warn()
	default:
		raiseC(L, "Invalid debug level.")
	}
	name := ""
	if st.run != nil {
		name = st.run.funcName
	}
	ev.Str("script", name).Msg(string(msg))
	return 0
}

// setresp is redis.setresp(2|3): the protocol of the replies redis.call
// converts, and of the run's own reply types.
func (st *state) setresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseC(L, "redis.setresp() requires one argument.")
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok || (n != 2 && n != 3) {
		raiseC(L, "RESP version must be 2 or 3.")
	}
	if st.run != nil {
		st.run.proto = int(n)
	}
	return 0
}

// setRepl is redis.set_repl: scripts' effects are always what is written
// to the append-only file, so it only checks its argument.
func setRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseC(L, "redis.set_repl() requires two arguments.") // sic, Redis's text
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok || n < 0 || n > 3 {
		raiseC(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	return 0
}
