package script

import (
	"regexp"
	"time"

	lua "github.com/yuin/gopher-lua"

	"bucketd/resp"
)

// Caller runs the commands of redis.call and redis.pcall for one run: the
// command layer, which checks each command against the run (allowed in
// scripts, declared buckets, read-only) and runs it inside the run's
// transaction.
type Caller interface {
	// Call runs args (the command name first) and writes its reply to w, in
	// RESP version w.Proto. A failed command leaves nothing behind and
	// writes an error reply. args must not be kept.
	Call(args [][]byte, w *resp.Writer)
}

// Call is what one run needs from its command.
type Call struct {
	// Keys and Args become KEYS and ARGV (a function's two arguments).
	Keys, Args [][]byte
	// Caller runs the script's commands.
	Caller Caller
	// BusyAfter is how long the run may go before OnBusy is called, once,
	// from the engine's sampler goroutine (Engine.declareBusy), after Begin
	// and before the run ends; 0: never.
	BusyAfter time.Duration
	OnBusy    func()
	// Command is the command as FUNCTION STATS shows it.
	Command []string
	// TimeLimit, if set, stops the run once it has run that long (the
	// engine's sampler checks it, as it declares runs busy); the run then
	// fails with TimeLimitText.
	TimeLimit time.Duration
	// Begin, if set, is called once the run is ready, just before the
	// script starts: the caller begins its transaction there, so that its
	// locks are not held while the run is prepared. An error from it ends
	// the run: Eval and CallFunction return it as it is.
	Begin func() error

	run *Run // set while it runs
}

// Stopped reports whether the run was stopped (killed, or over the memory
// limit): a long command it runs should stop too.
func (c *Call) Stopped() bool { return c.run != nil && c.run.b.stopped() != "" }

// Eval runs script s and writes its reply to w (in the client's protocol,
// w.Proto). A script that fails returns an *Error, writing nothing: its
// caller rolls its writes back and replies with the error.
func (e *Engine) Eval(s *Script, c *Call, w *resp.Writer) error {
	st := e.get()
	fn := st.function(s)
	return e.execute(st, fn, c, w, KindEval, s.SHA, "@user_script")
}

// execute runs fn in st and writes its reply to w.
func (e *Engine) execute(st *state, fn *lua.LFunction, c *Call, w *resp.Writer, kind Kind, name, source string) error {
	return e.executeWith(st, fn, c, kind, name, source,
		func(L *lua.LState) int {
			if kind == KindEval {
				st.sb.real.RawSetString("KEYS", stringArray(L, c.Keys))
				st.sb.real.RawSetString("ARGV", stringArray(L, c.Args))
				return 0
			}
			L.Push(stringArray(L, c.Keys))
			L.Push(stringArray(L, c.Args))
			return 2
		},
		func(r *run, ret lua.LValue) error {
			writeLua(w, ret, r.proto, 0)
			return nil
		})
}

// executeWith runs fn in st: setup pushes fn's arguments (or sets the
// globals a chunk reads) and returns their number; finish turns the return
// value into the caller's result. The globals KEYS, ARGV and params are
// cleared after the run.
func (e *Engine) executeWith(st *state, fn *lua.LFunction, c *Call, kind Kind, name, source string,
	setup func(L *lua.LState) int, finish func(r *run, ret lua.LValue) error) error {
	if kind != KindQuery {
		e.stats.calls.Add(1)
	}
	b := newBudget(e.mem)
	r := &run{call: c, budget: b, proto: 2, funcName: name, source: source}
	info := &Run{Kind: kind, Name: name, Command: c.Command, Start: b.start, b: b, busyAt: c.BusyAfter, onBusy: c.OnBusy, limit: c.TimeLimit}
	c.run = info
	e.register(info)
	e.mem.enter()
	defer func() {
		e.mem.leave()
		e.unregister(info)
	}()

	L := st.L
	st.run = r
	L.SetContext(b)
	L.Push(fn)
	nargs := setup(L)
	clearGlobals := func() {
		L.RemoveContext()
		if kind != KindFunction {
			st.sb.real.RawSetString("KEYS", lua.LNil)
			st.sb.real.RawSetString("ARGV", lua.LNil)
			st.sb.real.RawSetString("params", lua.LNil)
		}
	}
	if c.Begin != nil {
		// The transaction starts only now, so that the preparation above
		// happens before the script's buckets are locked.
		if err := c.Begin(); err != nil {
			clearGlobals()
			L.SetTop(0)
			e.put(st, true)
			return err
		}
	}
	info.begun.Store(true)
	err := L.PCall(nargs, 1, st.errHandler)
	clearGlobals()
	if err != nil {
		if kind != KindQuery {
			e.stats.errors.Add(1)
		}
		stopped := b.stopped()
		text := r.errorText(err, stopped)
		e.put(st, stopped == "")
		return &Error{Text: text}
	}
	ret := L.Get(-1)
	err = finish(r, ret)
	e.put(st, true)
	return err
}

// errorText is the reply text of a failed run, as Redis builds it: the
// error's text (stopped, the reason of a stop, replaces it), then
// " script: <name>, on <source>:<line>." when the line is known.
func (r *run) errorText(err error, stopped string) string {
	api, ok := err.(*lua.ApiError)
	if !ok {
		return "ERR " + oneLine(err.Error())
	}
	t, ok := api.Object.(*lua.LTable)
	if !ok {
		if stopped != "" {
			return stopped
		}
		return "ERR Error running script " + r.funcName + ", " + oneLine(lua.LVAsString(api.Object))
	}
	msg, _ := t.RawGetString("err").(lua.LString)
	text := oneLine(string(msg))
	if stopped != "" {
		text = stopped
	}
	if line, ok := t.RawGetString("line").(lua.LNumber); ok && !located.MatchString(text) {
		src, _ := t.RawGetString("source").(lua.LString)
		if src == "" || src == "@user_script" || src == "@"+lua.LString(r.source[1:]) {
			src = lua.LString(r.source)
		}
		text += " script: " + r.funcName + ", on " + string(src) + ":" + lua.LNumber(line).String() + "."
	}
	return text
}

// located matches an error text that already ends with where it was
// raised: the error of a run nested in this one (a function query run by
// QUERY.RUN) keeps its own place instead of gaining one per level.
var located = regexp.MustCompile(` script: [^ ]+, on @[a-z_]+:\d+\.$`)

// stringArray returns the table {a[0], a[1], …} of strings.
func stringArray(L *lua.LState, a [][]byte) *lua.LTable {
	t := L.CreateTable(len(a), 0)
	for i, s := range a {
		t.RawSetInt(i+1, lua.LString(s))
	}
	return t
}
