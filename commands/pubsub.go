package commands

import (
	"strings"
	"sync"
	"sync/atomic"

	"bucketd/live"
	"bucketd/pubsub"
	"bucketd/resp"
)

// subState is a connection's subscriptions. The maps are changed by the
// connection goroutine and, when a dropped query ends a subscription, by
// the goroutine that dropped it (revokeQueryChannel): mu guards them
// against that, and is held by subscribe-family commands until their
// replies are queued, so a revocation's frame and count never cross them.
// The counters mirror the maps' sizes for readers without the lock
// (count, CLIENT LIST, INFO).
type subState struct {
	mu        sync.Mutex
	channels  map[string]struct{}
	patterns  map[string]struct{}
	shards    map[string]struct{} // shard channels (SSUBSCRIBE)
	nChannels atomic.Int64
	nPatterns atomic.Int64
	nShards   atomic.Int64
}

// count returns every subscription, shard channels included: the
// connection is in subscribed mode when it is not 0.
func (s *subState) count() int {
	return int(s.nChannels.Load() + s.nPatterns.Load() + s.nShards.Load())
}

// classic returns the channel and pattern subscriptions, which SUBSCRIBE
// and its kin count in their replies, as Redis does.
func (s *subState) classic() int { return int(s.nChannels.Load() + s.nPatterns.Load()) }

// lockSubs takes the session's subscription lock for a subscribe-family
// command; the returned function queues the command's replies and releases
// the lock.
func lockSubs(c *Ctx) func() {
	c.Sess.subs.mu.Lock()
	return func() {
		c.Sess.setOutputClass()
		c.Conn.Sync()
		c.Sess.subs.mu.Unlock()
	}
}

// setOutputClass sets the class whose output buffer limit applies to the
// connection: replica while it monitors, pub/sub while it is subscribed,
// else normal, as Redis classes clients.
func (sess *Session) setOutputClass() {
	switch {
	case sess.monitorFlag.Load():
		sess.conn.SetOutputClass(resp.ClassReplica)
	case sess.subs.count() > 0:
		sess.conn.SetOutputClass(resp.ClassPubSub)
	default:
		sess.conn.SetOutputClass(resp.ClassNormal)
	}
}

func (s *subState) sync() {
	s.nChannels.Store(int64(len(s.channels)))
	s.nPatterns.Store(int64(len(s.patterns)))
	s.nShards.Store(int64(len(s.shards)))
}

func pubsubCommands() []*Command {
	const g = "pubsub"
	sub := FlagPubSub | FlagNoStore
	return []*Command{
		{Name: "subscribe", Arity: -2, Flags: sub, Group: g, Since: "2.0.0", Syntax: "channel [channel ...]", Summary: "Listens for messages published to channels.", Run: cmdSubscribe},
		{Name: "unsubscribe", Arity: -1, Flags: sub, Group: g, Since: "2.0.0", Syntax: "[channel [channel ...]]", Summary: "Stops listening to channels.", Run: cmdUnsubscribe},
		{Name: "psubscribe", Arity: -2, Flags: sub, Group: g, Since: "2.0.0", Syntax: "pattern [pattern ...]", Summary: "Listens for messages published to channels that match patterns.", Run: cmdPSubscribe},
		{Name: "punsubscribe", Arity: -1, Flags: sub, Group: g, Since: "2.0.0", Syntax: "[pattern [pattern ...]]", Summary: "Stops listening to patterns.", Run: cmdPUnsubscribe},
		{Name: "ssubscribe", Arity: -2, Flags: sub, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Since: "7.0.0", Syntax: "shardchannel [shardchannel ...]", Summary: "Listens for messages published to shard channels.", Run: cmdSSubscribe},
		{Name: "sunsubscribe", Arity: -1, Flags: sub, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Since: "7.0.0", Syntax: "[shardchannel [shardchannel ...]]", Summary: "Stops listening to shard channels.", Run: cmdSUnsubscribe},
		{Name: "spublish", Arity: 3, Flags: FlagFast | FlagMayReplicate | FlagNoStore, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Since: "7.0.0", Syntax: "shardchannel message", Summary: "Posts a message to a shard channel.", Run: cmdSPublish},
		{Name: "publish", Arity: 3, Flags: FlagFast | FlagScript | FlagMayReplicate | FlagNoStore, Group: g, Since: "2.0.0", Syntax: "channel message", Summary: "Posts a message to a channel.", Run: cmdPublish},
		{Name: "pubsub", Arity: -2, Group: g, Since: "2.8.0", Summary: "A container for pub/sub introspection commands.", Run: cmdPubsubHelp, Subs: map[string]*Command{
			"channels":      {Arity: -2, Summary: "Returns the active channels.", Run: cmdPubsubChannels},
			"numsub":        {Arity: -2, Summary: "Returns a count of subscribers to channels.", Run: cmdPubsubNumSub},
			"numpat":        {Arity: 2, Summary: "Returns a count of unique pattern subscriptions.", Run: cmdPubsubNumPat},
			"shardchannels": {Arity: -2, Summary: "Returns the active shard channels.", Run: cmdPubsubShardChannels},
			"shardnumsub":   {Arity: -2, Summary: "Returns the count of subscribers of shard channels.", Run: cmdPubsubShardNumSub},
			"help":          {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdPubsubHelp},
		}},
	}
}

// subReply writes one subscribe-family confirmation frame.
func subReply(c *Ctx, kind string, name string, isNil bool) {
	c.W.Push(3)
	c.W.BulkString(kind)
	if isNil {
		c.W.Null()
	} else {
		c.W.BulkString(name)
	}
	if kind == "ssubscribe" || kind == "sunsubscribe" {
		c.W.Int(c.Sess.subs.nShards.Load())
		return
	}
	c.W.Int(int64(c.Sess.subs.classic()))
}

// subscribe adds a channel subscription: confirmation first, then the
// registration, so no message can overtake the confirmation.
func (s *Server) subscribe(c *Ctx, ch string) {
	st := &c.Sess.subs
	if st.channels == nil {
		st.channels = make(map[string]struct{})
	}
	_, had := st.channels[ch]
	st.channels[ch] = struct{}{}
	st.sync()
	c.Conn.EnableAsync()
	c.Conn.Hold()
	subReply(c, "subscribe", ch, false)
	if !had {
		s.subscribeChannel(c.Conn, ch)
	}
	c.Conn.Release()
}

func (s *Server) unsubscribe(c *Ctx, ch string) {
	st := &c.Sess.subs
	if _, ok := st.channels[ch]; ok {
		delete(st.channels, ch)
		st.sync()
		s.unsubscribeChannel(c.Conn, ch)
	}
	subReply(c, "unsubscribe", ch, false)
}

func cmdSubscribe(c *Ctx) {
	defer lockSubs(c)()
	for _, a := range c.Args[1:] {
		c.S.subscribe(c, string(a))
	}
}

func cmdUnsubscribe(c *Ctx) {
	defer lockSubs(c)()
	st := &c.Sess.subs
	if len(c.Args) == 1 {
		if len(st.channels) == 0 {
			subReply(c, "unsubscribe", "", true)
			return
		}
		for _, ch := range sortedKeys(st.channels) {
			c.S.unsubscribe(c, ch)
		}
		return
	}
	for _, a := range c.Args[1:] {
		c.S.unsubscribe(c, string(a))
	}
}

func cmdPSubscribe(c *Ctx) {
	defer lockSubs(c)()
	st := &c.Sess.subs
	for _, a := range c.Args[1:] {
		p := string(a)
		if st.patterns == nil {
			st.patterns = make(map[string]struct{})
		}
		_, had := st.patterns[p]
		st.patterns[p] = struct{}{}
		st.sync()
		c.Conn.EnableAsync()
		c.Conn.Hold()
		subReply(c, "psubscribe", p, false)
		if !had {
			c.S.hub.PSubscribe(c.Conn, p)
		}
		c.Conn.Release()
	}
}

func (s *Server) punsubscribe(c *Ctx, p string) {
	st := &c.Sess.subs
	if _, ok := st.patterns[p]; ok {
		delete(st.patterns, p)
		st.sync()
		s.hub.PUnsubscribe(c.Conn, p)
	}
	subReply(c, "punsubscribe", p, false)
}

func cmdPUnsubscribe(c *Ctx) {
	defer lockSubs(c)()
	st := &c.Sess.subs
	if len(c.Args) == 1 {
		if len(st.patterns) == 0 {
			subReply(c, "punsubscribe", "", true)
			return
		}
		for _, p := range sortedKeys(st.patterns) {
			c.S.punsubscribe(c, p)
		}
		return
	}
	for _, a := range c.Args[1:] {
		c.S.punsubscribe(c, string(a))
	}
}

// unsubscribeAll drops every subscription of a session without replies
// (connection closed, RESET).
func (s *Server) unsubscribeAll(sess *Session, _ bool) {
	st := &sess.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	for ch := range st.channels {
		s.unsubscribeChannel(sess.conn, ch)
	}
	for p := range st.patterns {
		s.hub.PUnsubscribe(sess.conn, p)
	}
	for ch := range st.shards {
		s.shardHub.Unsubscribe(sess.conn, ch)
	}
	st.channels, st.patterns, st.shards = nil, nil, nil
	st.sync()
	sess.setOutputClass()
}

// cmdPublish is PUBLISH; cmdSPublish is SPUBLISH.
func cmdPublish(c *Ctx) { publishTo(c, c.S.hub) }

func cmdSPublish(c *Ctx) { publishTo(c, c.S.shardHub) }

// publishTo publishes on h at once, or, inside a transaction (EXEC, a
// script), at its commit in its place among the transaction's events
// (live.Message), replying the receivers it would reach now.
func publishTo(c *Ctx, h *pubsub.Hub) {
	if c.Tx != nil {
		c.Tx.Note(live.Message{Hub: h, Channel: c.Arg(1), Payload: append([]byte(nil), c.Args[2]...)})
		c.W.Int(int64(h.NumReceivers(c.Arg(1))))
		return
	}
	c.W.Int(int64(h.Publish(c.Arg(1), c.Args[2])))
}

func cmdPubsubChannels(c *Ctx) {
	if len(c.Args) > 3 {
		c.W.Error("ERR wrong number of arguments for 'pubsub|channels' command")
		return
	}
	pattern := ""
	if len(c.Args) == 3 {
		pattern = c.Arg(2)
	}
	chs := c.S.hub.Channels(pattern)
	c.W.Array(len(chs))
	for _, ch := range chs {
		c.W.BulkString(ch)
	}
}

func cmdPubsubNumSub(c *Ctx) {
	c.W.Array(2 * (len(c.Args) - 2))
	for _, a := range c.Args[2:] {
		c.W.Bulk(a)
		c.W.Int(int64(c.S.hub.NumSub(string(a))))
	}
}

func cmdPubsubNumPat(c *Ctx) { c.W.Int(int64(c.S.hub.NumPat())) }

func cmdSSubscribe(c *Ctx) {
	defer lockSubs(c)()
	st := &c.Sess.subs
	for _, a := range c.Args[1:] {
		ch := string(a)
		if st.shards == nil {
			st.shards = make(map[string]struct{})
		}
		_, had := st.shards[ch]
		st.shards[ch] = struct{}{}
		st.sync()
		c.Conn.EnableAsync()
		c.Conn.Hold()
		subReply(c, "ssubscribe", ch, false)
		if !had {
			c.S.shardHub.Subscribe(c.Conn, ch)
		}
		c.Conn.Release()
	}
}

func (s *Server) sunsubscribe(c *Ctx, ch string) {
	st := &c.Sess.subs
	if _, ok := st.shards[ch]; ok {
		delete(st.shards, ch)
		st.sync()
		s.shardHub.Unsubscribe(c.Conn, ch)
	}
	subReply(c, "sunsubscribe", ch, false)
}

func cmdSUnsubscribe(c *Ctx) {
	defer lockSubs(c)()
	st := &c.Sess.subs
	if len(c.Args) == 1 {
		if len(st.shards) == 0 {
			subReply(c, "sunsubscribe", "", true)
			return
		}
		for _, ch := range sortedKeys(st.shards) {
			c.S.sunsubscribe(c, ch)
		}
		return
	}
	for _, a := range c.Args[1:] {
		c.S.sunsubscribe(c, string(a))
	}
}

func cmdPubsubShardChannels(c *Ctx) {
	if len(c.Args) > 3 {
		c.W.Error("ERR wrong number of arguments for 'pubsub|shardchannels' command")
		return
	}
	pattern := ""
	if len(c.Args) == 3 {
		pattern = c.Arg(2)
	}
	chs := c.S.shardHub.Channels(pattern)
	c.W.Array(len(chs))
	for _, ch := range chs {
		c.W.BulkString(ch)
	}
}

func cmdPubsubShardNumSub(c *Ctx) {
	c.W.Array(2 * (len(c.Args) - 2))
	for _, a := range c.Args[2:] {
		c.W.Bulk(a)
		c.W.Int(int64(c.S.shardHub.NumSub(string(a))))
	}
}

func cmdPubsubHelp(c *Ctx) {
	if len(c.Args) > 1 && !strings.EqualFold(c.Arg(1), "help") {
		c.W.Error("ERR unknown subcommand '" + abbreviate(c.Args[1]) + "'. Try PUBSUB HELP.")
		return
	}
	lines := []string{
		"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]", "    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT", "    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]", "    Return the number of subscribers for the specified channels, excluding pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]", "    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]", "    Return the number of subscribers for the specified shard level channel(s)",
		"HELP", "    Print this help.",
	}
	c.helpLines(lines)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
