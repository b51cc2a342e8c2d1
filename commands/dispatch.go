package commands

import (
	"strings"
	"sync/atomic"
	"time"

	"bucketd/engine"
	"bucketd/resp"
	"bucketd/snapshot"
)

// Ctx is the context of one command run: the connection, its arguments
// and where its reply goes.
type Ctx struct {
	// S is the server.
	S *Server
	// Conn is the client's connection.
	Conn *resp.Conn
	// Args are the arguments, the command name first. They alias the read
	// buffer: copy what must outlive the command.
	Args [][]byte
	// W receives the reply.
	W *resp.Writer
	// Sess is the connection's session state.
	Sess *Session
	// Tx is the transaction the command runs in (EXEC), or nil.
	Tx *engine.Tx
	// Cmd is the command being run.
	Cmd *Command
	// failed is set by Err: EXEC rolls back when a queued command failed.
	failed error
	// script is the script whose redis.call runs the command, or nil.
	script *scriptCaller
	// query is the function query whose redis.call runs the command, or
	// nil; its tracker hears what the command reads (fnquery.go).
	query *queryCaller
}

// Arg returns argument i as a string.
func (c *Ctx) Arg(i int) string { return string(c.Args[i]) }

// helpLines replies with a HELP subcommand's lines, each a simple string,
// as Redis's HELP replies are.
func (c *Ctx) helpLines(lines []string) {
	c.W.Array(len(lines))
	for _, l := range lines {
		c.W.Simple(l)
	}
}

// Err writes err as a RESP error with its code and remembers it.
func (c *Ctx) Err(err error) {
	c.failed = err
	c.W.Error(errorReply(err))
}

// ErrMsg writes a plain ERR reply.
func (c *Ctx) ErrMsg(msg string) {
	c.W.Error("ERR " + msg)
	c.failed = errPlain
}

// queued is a command waiting in a MULTI queue, with its own copy of the
// arguments.
type queued struct {
	cmd  *Command
	args [][]byte
}

// Session is the per-connection state of the command layer.
type Session struct {
	conn *resp.Conn
	srv  *Server

	// unwritten is the append-only file's (or the replication log's) mark
	// after this connection's last write whose entry may not be written
	// yet (0: none), in unwrittenIn (CONFIG SET appendonly may start
	// another).
	unwritten   int64
	unwrittenIn durable

	inMulti bool
	dirty   bool // a queueing error happened: EXEC answers EXECABORT
	queue   []queued
	watches []engine.WatchToken

	// multiLen is the queue length inside MULTI, -1 outside (CLIENT LIST).
	multiLen atomic.Int64
	// lastCmd is the last command run (CLIENT LIST).
	lastCmd atomic.Pointer[Command]

	subs subState

	hold hold // the bucket held across pipelined commands (see hold.go)

	prepared []preparedArg // parsed ahead by Prepare, in command order
	prepHead int           // prepared[:prepHead] were taken

	ctx Ctx // the running command's context, reused (see Serve)

	script scriptCaller // the running script's state, reused (scripting.go)

	monitoring  bool        // in MONITOR mode (monitor.go)
	monitorFlag atomic.Bool // monitoring, for CLIENT LIST

	// argvMem is the bytes of the running command's arguments, multiMem
	// those of the commands MULTI queued (CLIENT LIST).
	argvMem, multiMem atomic.Int64

	// CLIENT REPLY: replyOff drops every reply (OFF); skipThis drops the
	// running command's, skipNext the next command's (SKIP).
	replyOff, skipThis, skipNext bool

	// tracking: CLIENT TRACKING is on; caching: CLIENT CACHING was given
	// for the next command (tracking.go).
	tracking, caching bool

	// up is the link to the leader of a follower that forwarded a command
	// of this connection (forward.go), or nil.
	up *upstream
	// strong: CLIENT CONSISTENCY STRONG; verifyLeader: a strong read's
	// reply waits for the leader check (strongRead).
	strong, verifyLeader bool
}

func (s *Server) session(c *resp.Conn) *Session {
	if sess, ok := c.Session.(*Session); ok {
		return sess
	}
	sess := &Session{conn: c, srv: s}
	sess.multiLen.Store(-1)
	c.Session = sess
	return sess
}

// Serve runs one command: the resp.Handler entry point. The command's Ctx
// lives in the session and is reused, so that running a command allocates
// nothing for it.
func (s *Server) Serve(conn *resp.Conn, args [][]byte) {
	sess := s.session(conn)
	s.stats.commands.Add(1)
	ctx := &sess.ctx
	*ctx = Ctx{S: s, Conn: conn, Args: args, W: &conn.W, Sess: sess}
	// A reply waits until what its command appended to the append-only
	// file is written, and under always fsynced (docs/persistence.md): the
	// mark moved during the command (perhaps by another connection's
	// commit, which only makes the wait cover more). The wait happens once
	// per read, in Drained, or at once for a connection whose replies can
	// leave before that; no lock is held then, and one fsync covers the
	// commits of every connection appended before it (group commit).
	p := s.durable()
	var before int64
	if p != nil {
		before = p.Mark()
	}
	argv := int64(0)
	for _, a := range args {
		argv += int64(len(a))
	}
	sess.argvMem.Store(argv)
	defer sess.argvMem.Store(0)
	mark := len(conn.W.B)
	sess.skipThis, sess.skipNext = sess.skipNext, false
	// What is pushed to a RESP3 connection while its command runs (its own
	// messages, invalidations of what it reads or writes) follows the
	// command's reply, as in Redis 7.2: the output is held meanwhile. For a
	// tracking client this also keeps an invalidation from overtaking the
	// value it invalidates (tracking.go).
	held := conn.Proto() >= 3 && (sess.tracking || sess.monitoring || sess.subs.count() > 0)
	if held {
		conn.Hold()
	}
	// A leader's command may read its own commits that are not yet
	// committed by the cluster. Whether its answer must be confirmed below
	// is decided by the leadership when it started: a leader deposed while
	// it ran once answered CONFLICT on a write the cluster then lost,
	// unconfirmed, because it no longer said it led at the check
	// (TestClusterLinearizable, 2026-12-06).
	wasLeader := s.cluster != nil && s.cluster.IsLeader()
	s.dispatch(ctx)
	if sess.replyOff || sess.skipThis {
		conn.W.Truncate(mark) // CLIENT REPLY OFF or SKIP
		sess.skipThis = false
	}
	if held {
		conn.Release()
	}
	if sess.caching && !sess.inMulti && (ctx.Cmd == nil || !strings.HasPrefix(ctx.Cmd.Name, "client|")) {
		sess.caching = false // CLIENT CACHING covers the next command (or transaction)
	}
	ctx.Args = nil
	if s.cluster != nil && ctx.Cmd != nil && (wasLeader || s.cluster.IsLeader()) && (sess.strong && ctx.Cmd.Flags&FlagReadOnly != 0 ||
		ctx.Cmd.Flags&FlagReadOnly == 0 && refused(conn.W.B[min(mark, len(conn.W.B)):])) {
		// A strong read, or a write that failed on what it read (CONFLICT,
		// UNIQUE, EXISTS, a WATCH that aborts EXEC): its answer must rest on
		// committed state only, as a read's (strongRead).
		s.strongRead(sess)
		if conn.Async() {
			sess.hold.release()
			s.waitWritten(sess)
		}
	}
	// A read-only command wrote nothing: the mark moved for another
	// connection's commit, which its reply need not wait for.
	if ctx.Cmd != nil && ctx.Cmd.Flags&FlagReadOnly == 0 {
		switch now := s.durable(); {
		case now == nil: // appendonly off (perhaps since this command): nothing to wait for
		case now != p:
			// CONFIG SET appendonly switched files meanwhile: wait for
			// all that the new one holds.
			sess.unwritten, sess.unwrittenIn = now.Mark(), now
		default:
			if m := p.Mark(); m != before {
				sess.unwritten, sess.unwrittenIn = m, p
			}
		}
		if sess.unwritten != 0 && conn.Async() {
			sess.hold.release() // no bucket stays locked across the wait
			s.waitWritten(sess)
		}
	}
}

// refused reports whether a reply is an error or a null (EXEC aborted by
// a WATCH): a write that answers so changed nothing, on what it read.
func refused(reply []byte) bool {
	if len(reply) == 0 {
		return false
	}
	switch reply[0] {
	case '-', '_':
		return true
	case '*':
		return len(reply) >= 3 && reply[1] == '-'
	}
	return false
}

// durable is where a write's entry goes before its reply may: the
// append-only file (snapshot.Persistence) or, on a replicated node, the
// replication log (cluster.Node).
type durable interface {
	// Mark returns the position after the last entry taken.
	Mark() int64
	// WaitWritten waits until the entries up to mark are written.
	WaitWritten(mark int64) error
	// WaitDurable waits until they are durable (fsynced, or committed).
	WaitDurable(mark int64) error
	// Policy is the appendfsync policy: which of the two a reply waits for.
	Policy() string
}

// durable returns where writes go, nil when nowhere (appendonly off).
func (s *Server) durable() durable {
	if s.cluster != nil {
		return s.cluster
	}
	if p := s.pers(); p != nil {
		return p
	}
	return nil
}

// waitWritten waits until the append-only file holds what sess's commands
// appended, before their replies go out: written, and under always
// fsynced. A standing write error ends the wait. Under everysec and no the
// replies then go out, as Redis's do; under always they must not
// acknowledge what is not on disk, so the connection's pending replies are
// dropped and it is closed (its writes are in memory, visible to readers,
// and reach the disk if a retry succeeds). Later writes get MISCONF.
func (s *Server) waitWritten(sess *Session) {
	if sess.unwritten == 0 && !sess.verifyLeader {
		return
	}
	mark, p := sess.unwritten, sess.unwrittenIn
	sess.unwritten, sess.unwrittenIn = 0, nil
	if sess.verifyLeader {
		// A strong read (strongRead): what it saw committed, and the
		// leader still the leader; else no reply, as for a lost write.
		sess.verifyLeader = false
		var err error
		if mark > 0 {
			err = p.WaitDurable(mark)
		}
		if err == nil {
			err = s.cluster.VerifyLeader()
		}
		if err != nil {
			s.log.Warn().Err(err).Uint64("client", sess.conn.ID()).Msg("a strong read could not be confirmed: closing the connection without its reply")
			sess.conn.Abort()
		}
		return
	}
	if p.Policy() != snapshot.FsyncAlways {
		if err := p.WaitWritten(mark); err != nil {
			s.log.Warn().Err(err).Msg("replying to writes the append-only file could not take; writes are refused until it can")
		}
		return
	}
	if err := p.WaitDurable(mark); err != nil {
		s.log.Error().Err(err).Uint64("client", sess.conn.ID()).
			Msg("appendfsync always: a write could not be made durable; closing the connection without acknowledging it (the write stays in memory and is retried)")
		sess.conn.Abort()
	}
}

// Closed releases a connection's state: the resp.Handler exit point.
func (s *Server) Closed(conn *resp.Conn) {
	if sess, ok := conn.Session.(*Session); ok {
		sess.hold.release()
		s.unsubscribeAll(sess, false)
		s.stopMonitoring(sess)
		if sess.tracking {
			s.tracking.Disable(conn.ID())
		}
		sess.resetMulti()
		s.dropUpstream(sess)
	}
}

// dispatch checks a command against the table and the connection's state,
// in Redis's order, then queues it (MULTI) or runs it.
func (s *Server) dispatch(c *Ctx) {
	cmd := s.table.lookup(c.Args[0])
	if cmd == nil {
		s.reject(c, nil, unknownCommand(c.Args))
		return
	}
	if cmd.Subs != nil && len(c.Args) >= 2 {
		sub := cmd.Subs[strings.ToLower(string(c.Args[1]))]
		if sub == nil {
			s.reject(c, cmd, "ERR unknown subcommand '"+abbreviate(c.Args[1])+"'. Try "+strings.ToUpper(cmd.Name)+" HELP.")
			return
		}
		cmd = sub
	}
	if !arityOK(cmd.Arity, len(c.Args)) {
		s.reject(c, cmd, "ERR wrong number of arguments for '"+cmd.Name+"' command")
		return
	}
	if !c.Conn.Authed && cmd.Flags&FlagNoAuth == 0 {
		s.reject(c, cmd, "NOAUTH Authentication required.")
		return
	}
	if c.Conn.Proto() == 2 && c.Sess.subs.count() > 0 && cmd.Flags&FlagPubSub == 0 {
		s.reject(c, cmd, "ERR Can't execute '"+cmd.Name+"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	// A write is refused while the disk fails and buffered data waits for a
	// retry (every policy: under always, the commits that failed wait in
	// memory, unacknowledged).
	if p := s.pers(); cmd.Flags&FlagWrite != 0 && p != nil {
		if err := p.Failure(); err != nil {
			s.reject(c, cmd, misconf(err))
			return
		}
	}
	if s.cluster != nil {
		if s.forwards(c, cmd) {
			c.Cmd = cmd
			c.Sess.lastCmd.Store(cmd)
			s.forward(c, cmd)
			return
		}
		if !s.leaderReady(c, cmd) {
			return
		}
	}
	if c.Sess.inMulti && cmd.Flags&FlagTxControl == 0 {
		if cmd.Flags&FlagNoMulti != 0 {
			s.reject(c, cmd, "ERR Command not allowed inside a transaction")
			return
		}
		c.Sess.enqueue(cmd, c.Args)
		c.Sess.lastCmd.Store(cmd)
		c.W.Simple("QUEUED")
		return
	}
	if s.pause.paused() {
		c.Sess.hold.release() // no bucket stays locked while paused
		s.pause.wait(c.Sess.writes(cmd))
	}
	if cmd.Flags&FlagHold != 0 && c.Sess.hold.use(c, cmd) {
		s.run(c, cmd)
		c.Tx = nil
		return
	}
	c.Sess.hold.release()
	if s.tracking.NoLoop() && cmd.Flags&FlagWrite != 0 {
		// A write names its client, for NOLOOP: through a hold on its
		// one bucket (a write of several buckets begins its own Tx).
		if buckets := cmd.buckets(c.Args); len(buckets) == 1 {
			c.Tx = s.store.Hold(buckets[0])
			c.Tx.SetOrigin(c.Conn.ID())
			s.run(c, cmd)
			c.Tx.Release()
			c.Tx = nil
			return
		}
	}
	s.run(c, cmd)
}

// run executes cmd, timing it for the slow log and the metrics. (A write's
// commit never waits for the disk: its reply does, in Serve and Drained.)
func (s *Server) run(c *Ctx, cmd *Command) {
	c.Cmd = cmd
	c.Sess.lastCmd.Store(cmd)
	if c.Sess != nil && c.Sess.tracking {
		s.trackReads(c, cmd)
	}
	monitored := s.monitors.active()
	if monitored && feedsFirst(cmd) {
		s.monitors.feed(c.Conn.RemoteAddr(), cmd, c.Args)
	}
	at := len(c.W.B)
	start := monotonic()
	cmd.Run(c)
	took := monotonic() - start
	failed := len(c.W.B) > at && c.W.B[at] == '-'
	if failed {
		s.errors.note(c.W.B[at:min(len(c.W.B), at+64)])
	}
	cmd.stats.record(took, failed)
	if monitored && !feedsFirst(cmd) {
		s.monitors.feed(c.Conn.RemoteAddr(), cmd, c.Args)
	}
	if cmd.Name != "exec" { // as Redis, the slow log has EXEC's commands, not EXEC
		s.slowlog.observe(c, took)
	}
	if s.metrics != nil {
		s.metrics.observe(cmd, took)
	}
}

// epoch anchors monotonic.
var epoch = time.Now()

// monotonic reads the monotonic clock only (one clock read, where
// time.Now makes two): commands are timed with it.
func monotonic() time.Duration { return time.Since(epoch) }

func (sess *Session) flagTx() {
	if sess.inMulti {
		sess.dirty = true
	}
}

func (sess *Session) enqueue(cmd *Command, args [][]byte) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	sess.queue = append(sess.queue, queued{cmd: cmd, args: cp})
	for _, a := range cp {
		sess.multiMem.Add(int64(len(a)) + 24) // the bytes and their slice header
	}
	sess.multiLen.Store(int64(len(sess.queue)))
}

// resetMulti leaves MULTI and releases every watched record.
func (sess *Session) resetMulti() {
	sess.inMulti = false
	sess.dirty = false
	sess.queue = nil
	sess.multiMem.Store(0)
	sess.unwatch()
	sess.multiLen.Store(-1)
}

// unknownCommand builds Redis's reply for an unknown command: the name
// and the first arguments, 128 bytes of each at most.
func unknownCommand(args [][]byte) string {
	var list strings.Builder
	for _, a := range args[1:] {
		if list.Len() >= 128 {
			break
		}
		room := 128 - list.Len()
		if len(a) > room {
			a = a[:room]
		}
		list.WriteString("'")
		list.Write(a)
		list.WriteString("' ")
	}
	msg := "ERR unknown command '" + abbreviate(args[0]) + "', with args beginning with: " + list.String()
	if hint, ok := redisHints[strings.ToLower(string(args[0]))]; ok {
		msg += "(" + hint + ")"
	}
	return oneLine(msg)
}

// abbreviate keeps the first 128 bytes of an argument echoed in an error.
func abbreviate(a []byte) string {
	if len(a) > 128 {
		a = a[:128]
	}
	return string(a)
}

// oneLine replaces the line breaks of an error text with spaces.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// counters are server-wide statistics.
type counters struct {
	commands atomic.Int64
}

// unwatch releases the watched records.
func (sess *Session) unwatch() {
	if len(sess.watches) > 0 {
		sess.srv.store.Unwatch(sess.watches)
	}
	sess.watches = nil
}
