package commands

import (
	"unsafe"

	"bucketd/engine"
	"bucketd/jsonv"
	"bucketd/resp"
)

// maxHeldRun bounds how many commands run under one hold, so that a long
// pipeline lets the other connections in between.
const maxHeldRun = 64

// hold is a connection's hold on one bucket (engine.Store.Hold): the
// pipelined record commands of one run on the same bucket take its lock
// once. It is released before any other command, when the run's commands
// have all run (Drained, before the replies are written), after maxHeldRun
// commands and when the connection closes, so no lock is ever held across
// a socket write or while waiting for the client.
type hold struct {
	tx     *engine.Tx
	bucket string
	runs   int
}

// use prepares c to run cmd, a FlagHold command, under the hold and reports
// whether it does: a write starts a hold on its bucket (ending one on
// another); a read runs under a hold already locked on its bucket, and
// otherwise on its own.
func (h *hold) use(c *Ctx, cmd *Command) bool {
	bucket := c.Args[1]
	if h.tx != nil && (string(bucket) != h.bucket || h.runs >= maxHeldRun) {
		h.release()
	}
	if h.tx == nil {
		if cmd.Flags&FlagWrite == 0 {
			return false
		}
		h.bucket = string(bucket)
		h.tx = c.S.store.Hold(h.bucket)
		h.tx.SetOrigin(c.Conn.ID())
		h.runs = 0
	} else if cmd.Flags&FlagWrite == 0 && !h.tx.Holding() {
		return false
	}
	h.runs++
	c.Tx = h.tx
	return true
}

// release ends the hold, if any.
func (h *hold) release() {
	if h.tx != nil {
		h.tx.Release()
		h.tx = nil
	}
}

// Drained ends the connection's hold, and forgets what was prepared, once
// the commands of a run have run: the resp.Handler hook called before
// their replies are written and before the next run is prepared.
func (s *Server) Drained(conn *resp.Conn) {
	if sess, ok := conn.Session.(*Session); ok {
		sess.hold.release()
		sess.forgetPrepared()
		s.waitWritten(sess) // after the hold: no lock is held across the wait
	}
}

// preparedArg is a JSON object argument parsed ahead of its command's turn.
type preparedArg struct {
	// data and n identify the argument's bytes: they alias the read
	// buffer, which holds each command of a run at its own place and is
	// not reused before the run ends (Drained forgets the rest). Empty
	// arguments may share an address; they all parse to the same error.
	data *byte
	n    int
	// obj is the parse of a JSON argument; draft that of a whole record
	// (Command.Draft). err is the parse error of either.
	obj   *jsonv.Object
	draft engine.Draft
	err   error
}

// Prepare parses the JSON argument of a pipelined record write before the
// commands ahead of it run: the resp.Preparer hook. So the parsing happens
// outside the bucket's hold those commands keep, and the other connections'
// writes wait less for it. Only the single-bucket record commands (FlagHold)
// let the next command be prepared too: running them changes nothing in how
// the connection reads. Parsing has no effect of its own; a parse error is
// kept and reported when the command runs, as it would be without Prepare.
func (s *Server) Prepare(conn *resp.Conn, args [][]byte) bool {
	sess := s.session(conn)
	if !conn.Authed || sess.inMulti {
		return false
	}
	cmd := s.table.lookup(args[0])
	if cmd == nil || cmd.Flags&FlagHold == 0 || !arityOK(cmd.Arity, len(args)) {
		return false
	}
	if i := cmd.JSONArg; i > 0 && i < len(args) {
		sess.prepared = append(sess.prepared, preparedArg{data: unsafe.SliceData(args[i]), n: len(args[i])})
		p := &sess.prepared[len(sess.prepared)-1]
		if cmd.Draft != DraftNone {
			p.err = s.store.Draft(&p.draft, args[1], args[i], cmd.Draft == DraftInsert)
		} else {
			p.obj, p.err = jsonv.ParseObject(args[i])
		}
	}
	return true
}

// takePrepared returns what Prepare parsed for arg, or nil if it had not.
// Entries ahead of it were prepared for commands that did not use them
// (refused before they ran) and are dropped. The entry returned stays
// valid until the run ends (Drained), as no run is prepared before that.
func (sess *Session) takePrepared(arg []byte) *preparedArg {
	for sess.prepHead < len(sess.prepared) {
		p := &sess.prepared[sess.prepHead]
		sess.prepHead++
		if p.data == unsafe.SliceData(arg) && p.n == len(arg) {
			return p
		}
		*p = preparedArg{}
	}
	return nil
}

// forgetPrepared drops what Prepare parsed and no command took.
func (sess *Session) forgetPrepared() {
	clear(sess.prepared)
	sess.prepared = sess.prepared[:0]
	sess.prepHead = 0
}
