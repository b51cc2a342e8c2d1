package commands

import (
	"strings"
	"time"

	"bucketd/engine"
	"bucketd/live"
	"bucketd/resp"
	"bucketd/script"
)

// Function queries (docs/commands.md, "Function queries"): QUERY.DEFINE …
// LUA|FUNCTION defines a query as Lua code, which package live runs through
// queryRunner whenever what its last run read has changed. The code reads
// with redis.call; queryCaller runs those reads and tells the run's
// live.Tracker what each reads before it reads.

// queryRunner is the live.Runner of the server's query manager.
type queryRunner struct{ s *Server }

// Prepare implements live.Runner.
func (r queryRunner) Prepare(kind live.Kind, code string, restoring bool) (any, error) {
	switch kind {
	case live.KindLua:
		return r.s.scripts.CompileQuery(code)
	case live.KindFunction:
		if restoring {
			return nil, nil
		}
		_, err := r.function(code)
		return nil, err
	}
	return nil, &script.Error{Text: "ERR unknown query kind"}
}

// function returns the library function a query names, which must be
// flagged no-writes.
func (r queryRunner) function(name string) (*script.Function, error) {
	f := r.s.scripts.Function(name)
	if f == nil {
		return nil, &script.Error{Text: "ERR Function not found: " + oneLine(name)}
	}
	if f.Flags&script.FlagNoWrites == 0 {
		return nil, &script.Error{Text: "ERR function '" + oneLine(f.Name) + "' is not flagged no-writes: a query may only read"}
	}
	return f, nil
}

// Run implements live.Runner.
func (r queryRunner) Run(kind live.Kind, code string, prepared any, params string, t *engine.Tx, tr *live.Tracker, lim engine.ReadLimit) ([]byte, error) {
	qc := &queryCaller{s: r.s, tx: t, tr: tr, lim: lim}
	qc.call = script.Call{Caller: qc, TimeLimit: time.Duration(r.s.queryLimit.Load()) * time.Millisecond}
	if kind == live.KindLua {
		return r.s.scripts.Query(prepared.(*script.QueryChunk), nil, params, &qc.call)
	}
	f, err := r.function(code)
	if err != nil {
		return nil, err
	}
	return r.s.scripts.Query(nil, f, params, &qc.call)
}

// queryCaller runs the redis.call commands of one function query run: reads
// only, inside the run's transaction if it has one, each reported to the
// run's tracker before it reads.
type queryCaller struct {
	s    *Server
	tx   *engine.Tx
	tr   *live.Tracker
	lim  engine.ReadLimit
	call script.Call
	sub  Ctx
}

// stopped says whether the run was stopped (its time limit) or the client
// that asked for it (QUERY.RUN) has gone: a long read stops too.
func (qc *queryCaller) stopped() bool {
	return qc.call.Stopped() || qc.lim.Cancelled != nil && qc.lim.Cancelled()
}

// queryAllowed reports whether a query may run cmd: a read of a bucket
// that scripts may run, or QUERY.RUN.
func queryAllowed(cmd *Command) bool {
	return cmd.Flags&FlagScript != 0 && cmd.Flags&FlagReadOnly != 0 &&
		(cmd.Flags&FlagBucket != 0 || cmd.Name == "query.run")
}

// Call implements script.Caller.
func (qc *queryCaller) Call(args [][]byte, w *resp.Writer) {
	s := qc.s
	cmd := s.table.lookup(args[0])
	switch {
	case cmd == nil:
		w.Error("ERR Unknown command called from a query")
		return
	case !queryAllowed(cmd):
		w.Error("ERR This command is not allowed in a query: a query only reads, with B.* reads, BUCKET.INFO and QUERY.RUN")
		return
	case !arityOK(cmd.Arity, len(args)):
		w.Error("ERR Wrong number of args calling command from a query")
		return
	}
	if cmd.Flags&FlagBucket != 0 {
		bucket := string(args[1])
		qc.tr.Open(bucket)
		if cmd.Flags&FlagTracked == 0 {
			qc.tr.Whole(bucket) // before it reads, like every report
		}
	}
	sub := &qc.sub
	*sub = Ctx{S: s, Args: args, W: w, Tx: qc.tx, Cmd: cmd, query: qc}
	cmd.Run(sub)
	*sub = Ctx{}
}

// queryKind parses QUERY.DEFINE's LUA or FUNCTION word.
func queryKind(word string) (live.Kind, bool) {
	switch strings.ToLower(word) {
	case "lua":
		return live.KindLua, true
	case "function":
		return live.KindFunction, true
	}
	return 0, false
}
