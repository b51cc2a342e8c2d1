package commands

import (
	"errors"

	"bucketd/live"
	"bucketd/pubsub"
	"bucketd/resp"
)

// Reactive queries (docs/commands.md, "Reactive queries"). The live.Manager owns the
// definitions and the live channels; this file is its wire side.

func queryCommands() []*Command {
	const g = "query"
	sub := FlagPubSub | FlagNoMulti
	return []*Command{
		{Name: "query.define", Arity: -3, Flags: FlagWrite | FlagNoMulti, Group: g, Summary: "Defines a reactive query.", Run: cmdQueryDefine},
		{Name: "query.drop", Arity: 2, Flags: FlagWrite | FlagNoMulti, Group: g, Summary: "Drops a query; its subscribers are unsubscribed.", Run: cmdQueryDrop},
		{Name: "query.list", Arity: 1, Flags: FlagReadOnly, Group: g, Summary: "Lists the query names, sorted.", Run: cmdQueryList},
		{Name: "query.info", Arity: 2, Flags: FlagReadOnly, Group: g, Summary: "Describes a query and its live channels as JSON.", Run: cmdQueryInfo},
		{Name: "query.run", Arity: -2, Flags: FlagReadOnly | FlagNoMulti | FlagScript, Group: g, Summary: "Runs a query once and returns its result as JSON.", Run: cmdQueryRun},
		{Name: "query.subscribe", Arity: -2, Flags: sub, Group: g, Summary: "Subscribes to a query's live results (channel query.<name>[:<params>]).", Run: cmdQuerySubscribe},
		{Name: "query.unsubscribe", Arity: -1, Flags: sub, Group: g, Summary: "Stops listening to a query's live results (all queries without arguments).", Run: cmdQueryUnsubscribe},
	}
}

// Queries returns the reactive query manager (persistence restores and
// watches its definitions through it).
func (s *Server) Queries() *live.Manager { return s.queries }

// queryErr gives the manager's errors the command layer's codes.
func queryErr(err error) error {
	var (
		nq *live.NoQueryError
		ex *live.ExistsError
	)
	switch {
	case errors.As(err, &nq):
		return &noQueryError{name: nq.Name}
	case errors.As(err, &ex):
		return &queryExistsError{name: ex.Name}
	}
	return err
}

// cmdQueryDefine is QUERY.DEFINE name query-json, or name LUA chunk, or
// name FUNCTION function-name.
func cmdQueryDefine(c *Ctx) {
	var err error
	switch len(c.Args) {
	case 3:
		err = c.S.queries.Define(c.Arg(1), c.Args[2])
	case 4:
		kind, ok := queryKind(c.Arg(2))
		if !ok {
			c.ErrMsg("syntax error: QUERY.DEFINE name query-json | name LUA chunk | name FUNCTION function-name")
			return
		}
		err = c.S.queries.DefineFunction(c.Arg(1), kind, c.Arg(3))
	default:
		c.ErrMsg("syntax error: QUERY.DEFINE name query-json | name LUA chunk | name FUNCTION function-name")
		return
	}
	if err != nil {
		c.Err(queryErr(err))
		return
	}
	c.W.OK()
}

func cmdQueryDrop(c *Ctx) {
	if c.S.queries.Drop(c.Arg(1)) {
		c.W.Int(1)
		return
	}
	c.W.Int(0)
}

func cmdQueryList(c *Ctx) {
	names := c.S.queries.List()
	c.W.Array(len(names))
	for _, n := range names {
		c.W.BulkString(n)
	}
}

func cmdQueryInfo(c *Ctx) {
	info, err := c.S.queries.Info(c.Arg(1))
	if err != nil {
		c.Err(queryErr(err))
		return
	}
	c.W.Bulk(info.JSON())
}

// paramsArg returns the optional parameters argument at i, or nil.
func paramsArg(c *Ctx, i int) ([]byte, bool) {
	switch {
	case len(c.Args) <= i:
		return nil, true
	case len(c.Args) == i+1:
		return c.Args[i], true
	}
	c.W.Error("ERR wrong number of arguments for '" + c.Cmd.Name + "' command")
	return nil, false
}

func cmdQueryRun(c *Ctx) {
	params, ok := paramsArg(c, 2)
	if !ok {
		return
	}
	var out []byte
	var err error
	if c.query != nil {
		out, err = c.S.queries.RunTracked(c.Tx, c.Arg(1), params, c.readLimit(), c.query.tr)
	} else {
		out, err = c.S.queries.RunIn(c.Tx, c.Arg(1), params, c.readLimit())
	}
	if err != nil {
		c.Err(queryErr(err))
		return
	}
	c.W.Bulk(out)
}

// cmdQuerySubscribe subscribes to the canonical channel of a query and its
// parameters: the reply is SUBSCRIBE's confirmation frame for that channel.
// Unlike a plain SUBSCRIBE, the query must exist and its parameters must
// make a valid query, else nothing is subscribed and the reply is the error.
func cmdQuerySubscribe(c *Ctx) {
	params, ok := paramsArg(c, 2)
	if !ok {
		return
	}
	ch, err := c.S.queries.ChannelFor(c.Arg(1), params, true)
	if err != nil {
		c.Err(queryErr(err))
		return
	}
	unlock := lockSubs(c)
	defer unlock()
	c.S.subscribeTo(c, channelFamily, ch)
}

// cmdQueryUnsubscribe leaves the channels of a query with those parameters
// (every spelling of them the connection subscribed with), or, without
// arguments, every query channel; the replies are UNSUBSCRIBE's.
func cmdQueryUnsubscribe(c *Ctx) {
	var target string
	if len(c.Args) > 1 {
		params, ok := paramsArg(c, 2)
		if !ok {
			return
		}
		ch, err := c.S.queries.ChannelFor(c.Arg(1), params, false)
		if err != nil {
			c.Err(queryErr(err))
			return
		}
		target = ch
	}
	unlock := lockSubs(c)
	defer unlock()
	var chans []string
	for _, ch := range sortedKeys(c.Sess.subs.channels) {
		canon, _, _, ok := live.CanonicalChannel(ch)
		if ok && (target == "" || canon == target) {
			chans = append(chans, ch)
		}
	}
	switch {
	case len(chans) > 0:
		for _, ch := range chans {
			c.S.unsubscribeFrom(c, channelFamily, ch)
		}
	case target != "":
		subReply(c, channelFamily, "unsubscribe", target, false)
	default:
		subReply(c, channelFamily, "unsubscribe", "", true)
	}
}

// subscribeChannel registers conn on a channel: query channels through the
// manager (which pushes the current result as the first message), others
// on the hub.
func (s *Server) subscribeChannel(conn *resp.Conn, ch string) {
	if live.IsQueryChannel(ch) {
		s.queries.Subscribe(conn, ch)
		return
	}
	s.hub.Subscribe(conn, ch)
}

// unsubscribeChannel undoes subscribeChannel; the last subscriber of a
// query channel leaving stops its evaluation.
func (s *Server) unsubscribeChannel(conn *resp.Conn, ch string) {
	if live.IsQueryChannel(ch) {
		s.queries.Unsubscribe(conn, ch)
		return
	}
	s.hub.Unsubscribe(conn, ch)
}

// revokeQueryChannel is the manager's Revoke hook: a dropped query or
// bucket ended the subscription of sub to channel (the hub no longer
// delivers to it). It runs on the goroutine that dropped it, so it takes
// the session's subscription lock to forget the channel, then queues the
// `unsubscribe` frame with the connection's remaining count; the lock
// orders it with the connection's own subscribe-family replies.
func (s *Server) revokeQueryChannel(sub pubsub.Subscriber, channel string) {
	conn, ok := sub.(*resp.Conn)
	if !ok {
		return
	}
	// Session is set when the connection opens, before any subscription,
	// and never replaced, so reading it here is safe.
	sess, ok := conn.Session.(*Session)
	if !ok {
		return
	}
	st := &sess.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.channels[channel]; !ok {
		return // the client unsubscribed meanwhile
	}
	delete(st.channels, channel)
	st.sync()
	w := resp.Writer{Proto: conn.Proto()}
	w.Push(3)
	w.BulkString("unsubscribe")
	w.BulkString(channel)
	w.Int(int64(st.count()))
	conn.Push(w.B)
}
