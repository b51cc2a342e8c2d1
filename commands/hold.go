package commands

import (
	"bucketd/engine"
	"bucketd/resp"
)

// maxHeldRun bounds how many commands run under one hold, so that a long
// pipeline lets the other connections in between.
const maxHeldRun = 64

// hold is a connection's hold on one bucket (engine.Store.Hold): the
// pipelined record commands of one read on the same bucket take its lock
// once. It is released before any other command, when the read's commands
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

// Drained ends the connection's hold once the commands of one read have
// run: the resp.Handler hook called before their replies are written.
func (s *Server) Drained(conn *resp.Conn) {
	if sess, ok := conn.Session.(*Session); ok {
		sess.hold.release()
	}
}
