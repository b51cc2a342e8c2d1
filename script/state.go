package script

import (
	"errors"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"bucketd/resp"
)

// state is one pooled interpreter with what it has compiled: EVAL scripts
// by SHA1 and the instantiated function libraries, both valid for the
// engine generation gen.
type state struct {
	e    *Engine
	L    *lua.LState
	sb   *sandbox
	gen  uint64
	fns  map[string]*lua.LFunction              // EVAL scripts by SHA1
	libs map[*Library]map[string]*lua.LFunction // instantiated libraries
	rng  rng
	null lua.LValue // cjson.null of this interpreter

	errHandler *lua.LFunction
	run        *run     // the run in progress, nil between runs
	loading    *Library // the library being loaded (FUNCTION LOAD), or nil
	loadFirst  bool     // loading is FUNCTION LOAD's run, which fills its Functions
	loaded     map[string]*lua.LFunction
	loadG      *lua.LTable // the globals of library code at load (loadGlobals)
}

// run is the state of one run: what redis.call needs.
type run struct {
	call   *Call
	budget *budget
	proto  int // redis.setresp: 2 or 3
	out    resp.Writer
	args   [][]byte
	argBuf []byte
	// funcName and source name the script in error texts: the SHA1 or
	// function name, and @user_script or @user_function.
	funcName, source string
}

func (e *Engine) newState() *state {
	st := &state{e: e, fns: map[string]*lua.LFunction{}, libs: map[*Library]map[string]*lua.LFunction{}}
	st.L = newState(st)
	st.rng.seed(uint64(time.Now().UnixNano()))
	st.errHandler = st.L.NewFunction(st.handleError)
	st.gen = e.gen.Load()
	return st
}

// get takes a state from the pool, fresh for the current generation.
func (e *Engine) get() *state {
	st := e.pool.Get().(*state)
	if g := e.gen.Load(); st.gen != g {
		clear(st.fns)
		clear(st.libs)
		st.gen = g
	}
	return st
}

// put returns st to the pool, or closes it when a stop left it in the
// middle of something.
func (e *Engine) put(st *state, clean bool) {
	st.run = nil
	st.L.SetTop(0)
	if !clean {
		st.L.Close()
		return
	}
	e.pool.Put(st)
}

// compile compiles code as a chunk named name (user_script:LINE in
// errors).
func compile(code, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(code), name)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			// gopher-lua: "user_script line:1(column:7) near 'n':   parse
			// error"; Lua, and Redis: "user_script:1: ... near 'n'".
			line, near := perr.Pos.Line, "'"+perr.Token+"'"
			if line == parse.EOF {
				line, near = strings.Count(code, "\n")+1, "'<eof>'"
			}
			return nil, fmt.Errorf("%s:%d: %s near %s", perr.Pos.Source, line, strings.TrimSpace(perr.Message), near)
		}
		return nil, err
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, err
	}
	// A main chunk is vararg, and gopher-lua builds it the Lua 5.0 "arg"
	// table (a 32-slot map) on every call unless told it needs none:
	// Redis's scripts have no arg, and this halves an empty run's cost
	// (BenchmarkEvalEmpty).
	proto.IsVarArg &^= lua.VarArgNeedsArg
	return proto, nil
}

// function returns st's function for script s.
func (st *state) function(s *Script) *lua.LFunction {
	if fn := st.fns[s.SHA]; fn != nil {
		return fn
	}
	fn := st.L.NewFunctionFromProto(s.proto)
	fn.Env = st.sb.env
	st.fns[s.SHA] = fn
	return fn
}

// errorFrame is the Lua frame that raised the error a message handler is
// handling (the first with a current line), or nil.
func errorFrame(L *lua.LState) *lua.Debug {
	for level := 1; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return nil
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			return nil
		}
		if dbg.CurrentLine > 0 {
			return dbg
		}
	}
}

// handleError is the message handler of every run: it turns the error
// into a table {err=…, source=…, line=…} as Redis's handler does, with ERR
// in front of a text raised as a string, and the line of the script where
// it was raised.
func (st *state) handleError(L *lua.LState) int {
	at := errorFrame(L)
	v := L.Get(1)
	t, ok := v.(*lua.LTable)
	if !ok {
		msg := "ERR " + lua.LVAsString(v)
		if v.Type() != lua.LTString && v.Type() != lua.LTNumber {
			msg = "ERR " + v.String()
		} else if at != nil {
			msg = callErrorText(L, at, msg)
		}
		t = errorTable(L, msg)
	} else if _, ok := t.RawGetString("err").(lua.LString); !ok {
		// error({…}) without err: Redis reports the table itself.
		t = errorTable(L, "ERR "+v.String())
	}
	if at != nil {
		t.RawSetString("source", lua.LString("@"+strings.TrimPrefix(at.Source, "@")))
		t.RawSetString("line", lua.LNumber(at.CurrentLine))
	}
	L.Push(t)
	return 1
}
