package commands

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"bucketd/engine"
	"bucketd/resp"
	"bucketd/script"
)

// Lua scripts: EVAL, EVALSHA, their _RO forms, FCALL and FCALL_RO
// (docs/scripting.md). A script runs as one long transaction over the
// buckets its KEYS name (engine.BeginLong): its redis.call runs commands
// inside it, a failure rolls every write back, and its events and PUBLISH
// messages leave only when it commits.

func scriptCommands() []*Command {
	const g = "scripting"
	run := FlagNoMulti | FlagBucketKeys
	ro := run | FlagReadOnly
	return []*Command{
		{Name: "eval", Arity: -3, Flags: run | FlagLeader, Group: g, Since: "2.6.0", Summary: "Runs a Lua script over the buckets its keys name, all or nothing.", Run: evalCommand(false, false)},
		{Name: "evalsha", Arity: -3, Flags: run | FlagLeader, Group: g, Since: "2.6.0", Summary: "Runs a cached Lua script by its SHA1.", Run: evalCommand(true, false)},
		{Name: "eval_ro", Arity: -3, Flags: ro, Group: g, Since: "7.0.0", Summary: "Runs a read-only Lua script.", Run: evalCommand(false, true)},
		{Name: "evalsha_ro", Arity: -3, Flags: ro, Group: g, Since: "7.0.0", Summary: "Runs a cached read-only Lua script by its SHA1.", Run: evalCommand(true, true)},
		{Name: "fcall", Arity: -3, Flags: run | FlagLeader, Group: g, Since: "7.0.0", Summary: "Calls a function of a loaded library.", Run: fcallCommand(false)},
		{Name: "fcall_ro", Arity: -3, Flags: ro, Group: g, Since: "7.0.0", Summary: "Calls a no-writes function of a loaded library.", Run: fcallCommand(true)},
		{Name: "script", Arity: -2, Group: g, Since: "2.6.0", Summary: "Manages the script cache.", Subs: map[string]*Command{
			"load":   {Arity: 3, Flags: FlagNoMulti, Group: g, Since: "2.6.0", Summary: "Compiles a script and caches it; returns its SHA1.", Run: cmdScriptLoad},
			"exists": {Arity: -3, Group: g, Since: "2.6.0", Summary: "Says which SHA1s name cached scripts.", Run: cmdScriptExists},
			"flush":  {Arity: -2, Group: g, Since: "2.6.0", Summary: "Forgets every cached script.", Run: cmdScriptFlush},
			"kill":   {Arity: 2, Group: g, Since: "2.6.0", Summary: "Stops the running scripts and rolls them back.", Run: cmdScriptKill},
			"help":   {Arity: 2, Group: g, Since: "5.0.0", Summary: "Shows the SCRIPT subcommands.", Run: helpCommand(scriptHelp)},
		}},
		{Name: "function", Arity: -2, Group: g, Since: "7.0.0", Summary: "Manages function libraries.", Subs: map[string]*Command{
			"load":    {Arity: -3, Flags: FlagWrite | FlagNoMulti, Group: g, Since: "7.0.0", Summary: "Loads a library; returns its name.", Run: cmdFunctionLoad},
			"list":    {Arity: -2, Group: g, Since: "7.0.0", Summary: "Lists the libraries and their functions.", Run: cmdFunctionList},
			"delete":  {Arity: 3, Flags: FlagWrite | FlagNoMulti, Group: g, Since: "7.0.0", Summary: "Deletes a library.", Run: cmdFunctionDelete},
			"flush":   {Arity: -2, Flags: FlagWrite | FlagNoMulti, Group: g, Since: "7.0.0", Summary: "Deletes every library.", Run: cmdFunctionFlush},
			"dump":    {Arity: 2, Group: g, Since: "7.0.0", Summary: "Serializes every library.", Run: cmdFunctionDump},
			"restore": {Arity: -3, Flags: FlagWrite | FlagNoMulti, Group: g, Since: "7.0.0", Summary: "Loads libraries from a FUNCTION DUMP payload.", Run: cmdFunctionRestore},
			"stats":   {Arity: 2, Group: g, Since: "7.0.0", Summary: "Shows the running function and the library counts.", Run: cmdFunctionStats},
			"kill":    {Arity: 2, Group: g, Since: "7.0.0", Summary: "Stops the running functions and rolls them back.", Run: cmdFunctionKill},
			"help":    {Arity: 2, Group: g, Since: "7.0.0", Summary: "Shows the FUNCTION subcommands.", Run: helpCommand(functionHelp)},
		}},
	}
}

// Busy replies while a script runs past busy-reply-threshold, as Redis's.
const (
	busyScript   = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	busyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)

// fail writes an error reply whose text is complete (code included).
func (c *Ctx) fail(text string) {
	c.W.Error(oneLine(text))
	c.failed = errPlain
}

// numKeys parses the numkeys argument at i; FCALL words a non-integer
// differently from EVAL, as Redis does.
func numKeys(c *Ctx, i int, fcall bool) (int, bool) {
	n, err := strconv.ParseInt(c.Arg(i), 10, 64)
	switch {
	case err != nil && fcall:
		c.fail("ERR Bad number of keys provided")
	case err != nil:
		c.fail("ERR value is not an integer or out of range")
	case n < 0:
		c.fail("ERR Number of keys can't be negative")
	case n > int64(len(c.Args)-i-1):
		c.fail("ERR Number of keys can't be greater than number of args")
	default:
		return int(n), true
	}
	return 0, false
}

func evalCommand(bySHA, readOnly bool) func(*Ctx) {
	return func(c *Ctx) {
		n, ok := numKeys(c, 2, false)
		if !ok {
			return
		}
		var s *script.Script
		if bySHA {
			if s = c.S.scripts.Lookup(c.Arg(1)); s == nil {
				c.fail("NOSCRIPT No matching script. Please use EVAL.")
				return
			}
		} else {
			var err error
			if s, err = c.S.scripts.Load(c.Args[1]); err != nil {
				c.Err(err)
				return
			}
		}
		ro := readOnly || s.Flags&script.FlagNoWrites != 0
		c.S.runScript(c, n, ro, script.KindEval, func(call *script.Call, w *resp.Writer) error {
			return c.S.scripts.Eval(s, call, w)
		})
	}
}

func fcallCommand(readOnly bool) func(*Ctx) {
	return func(c *Ctx) {
		n, ok := numKeys(c, 2, true)
		if !ok {
			return
		}
		f := c.S.scripts.Function(c.Arg(1))
		if f == nil {
			c.fail("ERR Function not found")
			return
		}
		noWrites := f.Flags&script.FlagNoWrites != 0
		if readOnly && !noWrites {
			c.fail("ERR Can not execute a script with write flag using *_ro command.")
			return
		}
		c.S.runScript(c, n, noWrites, script.KindFunction, func(call *script.Call, w *resp.Writer) error {
			return c.S.scripts.CallFunction(f, call, w)
		})
	}
}

// runScript runs a script or function whose numkeys argument is c.Args[2]:
// it begins the long transaction over the buckets of its keys, runs it,
// and commits it, or rolls it back when it failed. The session's
// scriptCaller, its buffers and its script.Call are reused from one script
// to the next (a session runs one command at a time).
func (s *Server) runScript(c *Ctx, numKeys int, readOnly bool, kind script.Kind, exec func(*script.Call, *resp.Writer) error) {
	sc := &c.Sess.script
	sc.reset(c, readOnly)
	keys := c.Args[3 : 3+numKeys]
	for _, k := range keys {
		b, _, _ := bytes.Cut(k, []byte{':'})
		if !sc.declares(string(b)) {
			sc.buckets = append(sc.buckets, string(b))
		}
	}
	sc.busy = busyScript
	if kind == script.KindFunction {
		sc.busy = busyFunction
	}
	if sc.onBusy == nil {
		sc.onBusy, sc.begin = sc.setBusy, sc.beginTx
	}
	sc.call = script.Call{
		Keys:      keys,
		Args:      c.Args[3+numKeys:],
		Caller:    sc,
		BusyAfter: time.Duration(s.busyThreshold.Load()) * time.Millisecond,
		OnBusy:    sc.onBusy,
		Begin:     sc.begin,
	}
	if kind == script.KindFunction { // FUNCTION STATS shows it, from another goroutine: a copy
		sc.call.Command = make([]string, len(c.Args))
		for i, a := range c.Args {
			sc.call.Command[i] = string(a)
		}
	}
	sc.out.Reset()
	sc.out.Proto = c.W.Proto
	err := exec(&sc.call, &sc.out)
	tx := sc.tx
	if err != nil {
		if tx != nil { // else the transaction did not begin (BUSY)
			tx.Rollback()
		}
		sc.done()
		c.Err(err)
		return
	}
	// The script's PUBLISH messages are notes of its transaction
	// (publishTo): delivered in their place among its events.
	if err = tx.Commit(); err != nil {
		sc.done()
		c.Err(err)
		return
	}
	c.W.Raw(sc.out.B)
	sc.done()
}

// scriptCaller runs the redis.call commands of one script (script.Caller).
// Each session has one, reused.
type scriptCaller struct {
	c        *Ctx
	tx       *engine.Tx
	call     script.Call
	buckets  []string // the declared buckets, from the keys
	readOnly bool
	busy     string // the BUSY text, for a script or a function
	sub      Ctx
	out      resp.Writer

	onBusy func()       // sc.setBusy, made once
	begin  func() error // sc.beginTx, made once
}

// reset prepares sc for a new script of c.
func (sc *scriptCaller) reset(c *Ctx, readOnly bool) {
	sc.c, sc.readOnly = c, readOnly
	clear(sc.buckets)
	sc.buckets = sc.buckets[:0]
}

// done forgets what the script referred to, keeping the buffers (a large
// reply's is let go).
func (sc *scriptCaller) done() {
	sc.c, sc.tx, sc.call = nil, nil, script.Call{}
	if cap(sc.out.B) > 64<<10 {
		sc.out.B = nil
	}
}

// declares reports whether bucket is among the script's buckets.
func (sc *scriptCaller) declares(bucket string) bool {
	for _, b := range sc.buckets {
		if b == bucket {
			return true
		}
	}
	return false
}

// undeclaredBucket is the error of a script's command on a bucket its KEYS
// do not name: found before the command runs (Call), or by the engine
// inside it (engine.NotHeldError: QUERY.RUN of a query over that bucket).
func undeclaredBucket(bucket string) string {
	return "ERR script accessed bucket '" + oneLine(bucket) + "', which is not among its KEYS: name every bucket a script touches in KEYS"
}

func (sc *scriptCaller) setBusy() { sc.tx.SetBusy(sc.busy) }

// beginTx begins the script's long transaction over its buckets, called
// by the script engine once the run is prepared (script.Call.Begin).
func (sc *scriptCaller) beginTx() error {
	tx, err := sc.c.S.store.BeginLong(sc.buckets)
	if err != nil {
		return err
	}
	if sc.c.Conn != nil {
		tx.SetOrigin(sc.c.Conn.ID())
	}
	sc.tx = tx
	return nil
}

// stopped says whether the script was killed: a read it runs stops too.
func (sc *scriptCaller) stopped() bool {
	return sc.call.Stopped() || sc.c.Conn != nil && sc.c.Conn.Gone()
}

// Call implements script.Caller, with Redis's checks and texts in Redis's
// order, then bucketd's: the bucket must be one the script declared.
func (sc *scriptCaller) Call(args [][]byte, w *resp.Writer) {
	s := sc.c.S
	cmd := s.table.lookup(args[0])
	if cmd != nil && cmd.Subs != nil && len(args) >= 2 {
		cmd = cmd.Subs[strings.ToLower(string(args[1]))]
	}
	switch {
	case cmd == nil:
		w.Error("ERR Unknown Redis command called from script")
		return
	case cmd.Flags&FlagScript == 0:
		w.Error("ERR This Redis command is not allowed from script")
		return
	case !arityOK(cmd.Arity, len(args)):
		w.Error("ERR Wrong number of args calling Redis command from script")
		return
	case sc.readOnly && cmd.Flags&(FlagWrite|FlagMayReplicate) != 0:
		w.Error("ERR Write commands are not allowed from read-only scripts.")
		return
	}
	for _, bucket := range cmd.buckets(args) {
		if !sc.declares(bucket) {
			w.Error(undeclaredBucket(bucket))
			return
		}
	}
	undo, changes := sc.tx.Mark()
	sub := &sc.sub
	*sub = Ctx{S: s, Conn: sc.c.Conn, Args: args, W: w, Sess: sc.c.Sess, Tx: sc.tx, Cmd: cmd, script: sc}
	if sub.Sess != nil && sub.Sess.tracking && sub.Conn != nil {
		s.trackReads(sub, cmd) // a script's key reads are tracked like its caller's
	}
	at := len(w.B)
	start := monotonic()
	cmd.Run(sub)
	failed := len(w.B) > at && w.B[at] == '-'
	cmd.stats.record(monotonic()-start, failed)
	if s.monitors.active() {
		s.monitors.feed("lua", cmd, args)
	}
	if sub.failed != nil {
		sc.tx.RollbackTo(undo, changes)
	}
	*sub = Ctx{}
}

func cmdScriptLoad(c *Ctx) {
	s, err := c.S.scripts.Load(c.Args[2])
	if err != nil {
		c.Err(err)
		return
	}
	c.W.BulkString(s.SHA)
}

func cmdScriptExists(c *Ctx) {
	c.W.Array(len(c.Args) - 2)
	for _, a := range c.Args[2:] {
		c.W.Int(int64(boolInt(c.S.scripts.Lookup(string(a)) != nil)))
	}
}

// flushMode checks the optional ASYNC|SYNC of SCRIPT FLUSH and FUNCTION
// FLUSH; both flush at once (nothing is large enough to need a thread).
// Extra arguments get text from SCRIPT, Redis's generic subcommand error
// from FUNCTION.
func flushMode(c *Ctx, text string) bool {
	switch {
	case len(c.Args) == 2:
		return true
	case len(c.Args) > 3 && strings.EqualFold(c.Arg(0), "script"):
	case len(c.Args) > 3:
		c.fail("ERR unknown subcommand or wrong number of arguments for '" + c.Arg(1) + "'. Try " + strings.ToUpper(c.Arg(0)) + " HELP.")
		return false
	case strings.EqualFold(c.Arg(2), "async") || strings.EqualFold(c.Arg(2), "sync"):
		return true
	}
	c.fail(text)
	return false
}

func cmdScriptFlush(c *Ctx) {
	if flushMode(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option") {
		c.S.scripts.Flush()
		c.W.OK()
	}
}

func cmdScriptKill(c *Ctx) { killScripts(c, script.KindEval, script.KindFunction, busyFunction) }

func cmdFunctionKill(c *Ctx) { killScripts(c, script.KindFunction, script.KindEval, busyScript) }

// killScripts stops the runs of kind k. With none running, a run of the
// other kind gets Redis's BUSY text naming the other KILL.
func killScripts(c *Ctx, k, other script.Kind, otherBusy string) {
	if c.S.scripts.Kill(k) > 0 {
		c.W.OK()
		return
	}
	for _, r := range c.S.scripts.Running() {
		if r.Kind == other {
			c.fail(otherBusy)
			return
		}
	}
	c.fail("NOTBUSY No scripts in execution right now.")
}

var scriptHelp = []string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache.",
	"KILL",
	"    Kill the currently executing Lua scripts, rolling back what they wrote.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Print this help.",
}

// helpCommand returns a HELP subcommand printing lines.
func helpCommand(lines []string) func(*Ctx) {
	return func(c *Ctx) {
		c.helpLines(lines)
	}
}
