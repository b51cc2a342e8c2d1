package commands

import (
	"bucketd/engine"
	"bucketd/resp"
)

func txCommands() []*Command {
	const g = "transactions"
	return []*Command{
		{Name: "multi", Arity: 1, Flags: FlagFast | FlagTxControl, Group: g, Since: "1.2.0", Summary: "Starts a transaction.", Run: cmdMulti},
		{Name: "exec", Arity: 1, Flags: FlagTxControl, Group: g, Since: "1.2.0", Summary: "Runs the queued commands as one atomic unit across buckets.", Run: cmdExec},
		{Name: "discard", Arity: 1, Flags: FlagFast | FlagTxControl, Group: g, Since: "2.0.0", Summary: "Discards a transaction.", Run: cmdDiscard},
		{Name: "watch", Arity: -2, Flags: FlagFast | FlagTxControl, Group: g, Since: "2.2.0", Syntax: "bucket:key [bucket:key ...]", Summary: "Watches records; EXEC fails if any changed.", Run: cmdWatch},
		{Name: "unwatch", Arity: 1, Flags: FlagFast, Group: g, Since: "2.2.0", Summary: "Forgets every watched record.", Run: cmdUnwatch},
	}
}

func cmdMulti(c *Ctx) {
	if c.Sess.inMulti {
		c.W.Error("ERR MULTI calls can not be nested")
		return
	}
	c.Sess.inMulti = true
	c.Sess.multiLen.Store(0)
	c.W.OK()
}

func cmdDiscard(c *Ctx) {
	if !c.Sess.inMulti {
		c.W.Error("ERR DISCARD without MULTI")
		return
	}
	c.Sess.resetMulti()
	c.W.OK()
}

func cmdWatch(c *Ctx) {
	if c.Sess.inMulti {
		c.W.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	tokens := make([]engine.WatchToken, 0, len(c.Args)-1)
	for _, a := range c.Args[1:] {
		// A name that is not bucket:key names no record: it never
		// changes, as a key that stays missing in Redis.
		if bucket, key, ok := engine.SplitKeyName(string(a)); ok {
			tokens = append(tokens, c.S.store.Watch(bucket, key))
		}
	}
	c.Sess.watches = append(c.Sess.watches, tokens...)
	c.W.OK()
}

func cmdUnwatch(c *Ctx) {
	c.Sess.unwatch()
	c.W.OK()
}

// cmdExec runs the queued commands in their order inside one engine
// transaction that holds the locks of every bucket they name (and of every
// watched bucket): nobody sees part of it, and the first failure of a
// record command rolls all of it back and becomes EXEC's reply. A PUBLISH
// is a note of the transaction (publishTo), delivered at the commit in its
// place among the events, and dropped by a rollback. The commands that
// lock buckets themselves (FLUSHALL, BGSAVE, KEYS, INFO, BUCKET.*, …; not
// inOrder) run after the commit, in their order. The output is held for
// the EXEC, so that messages the transaction publishes to this connection
// follow EXEC's reply, as in Redis 7.2.
func cmdExec(c *Ctx) {
	sess := c.Sess
	if !sess.inMulti {
		c.W.Error("ERR EXEC without MULTI")
		return
	}
	if sess.dirty {
		sess.resetMulti()
		c.W.Error("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	queue, watches := sess.queue, sess.watches
	sess.watches = nil // released below, once checked
	sess.resetMulti()
	defer c.S.store.Unwatch(watches)

	names := make([]string, 0, len(queue)+len(watches))
	for _, q := range queue {
		if q.cmd.inTx() {
			names = append(names, q.cmd.buckets(q.args)...)
		}
	}
	for _, w := range watches {
		names = append(names, w.Bucket())
	}
	tx, err := c.S.store.Begin(names)
	if err != nil {
		c.Err(err)
		sess.lastCmd.Store(c.Cmd)
		return
	}
	tx.SetOrigin(c.Conn.ID())
	if !tx.Unchanged(watches) {
		tx.Rollback()
		c.W.NullArray()
		return
	}
	if c.Conn.Async() {
		c.Conn.Hold()
		defer c.Conn.Release()
	}
	out := resp.Writer{Proto: c.W.Proto}
	spans := make([][2]int, len(queue))
	for i, q := range queue {
		if !q.cmd.inOrder() {
			continue
		}
		sub := Ctx{S: c.S, Conn: c.Conn, Args: q.args, W: &out, Sess: sess, Tx: tx}
		start := len(out.B)
		c.S.run(&sub, q.cmd)
		if sub.failed != nil && q.cmd.inTx() {
			tx.Rollback()
			c.W.Raw(out.B[start:])
			sess.lastCmd.Store(c.Cmd)
			return
		}
		spans[i] = [2]int{start, len(out.B)}
	}
	if err := tx.Commit(); err != nil {
		c.Err(err)
		sess.lastCmd.Store(c.Cmd)
		return
	}
	for i, q := range queue {
		if q.cmd.inOrder() {
			continue
		}
		sub := Ctx{S: c.S, Conn: c.Conn, Args: q.args, W: &out, Sess: sess}
		start := len(out.B)
		c.S.run(&sub, q.cmd)
		spans[i] = [2]int{start, len(out.B)}
	}
	c.W.Array(len(queue))
	for _, sp := range spans {
		c.W.Raw(out.B[sp[0]:sp[1]])
	}
	sess.lastCmd.Store(c.Cmd) // CLIENT LIST shows exec, not the last queued command
}
