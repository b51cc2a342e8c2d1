package commands

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	sess.conn.WatchInput(sess.subs.count() > 0)
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
		{Name: "subscribe", Arity: -2, Flags: sub, Group: g, Since: "2.0.0", Syntax: "channel [channel ...]", Summary: "Listens for messages published to channels.", Run: subscribeCmd(channelFamily)},
		{Name: "unsubscribe", Arity: -1, Flags: sub, Group: g, Since: "2.0.0", Syntax: "[channel [channel ...]]", Summary: "Stops listening to channels.", Run: unsubscribeCmd(channelFamily)},
		{Name: "psubscribe", Arity: -2, Flags: sub, Group: g, Since: "2.0.0", Syntax: "pattern [pattern ...]", Summary: "Listens for messages published to channels that match patterns.", Run: subscribeCmd(patternFamily)},
		{Name: "punsubscribe", Arity: -1, Flags: sub, Group: g, Since: "2.0.0", Syntax: "[pattern [pattern ...]]", Summary: "Stops listening to patterns.", Run: unsubscribeCmd(patternFamily)},
		{Name: "ssubscribe", Arity: -2, Flags: sub, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Since: "7.0.0", Syntax: "shardchannel [shardchannel ...]", Summary: "Listens for messages published to shard channels.", Run: subscribeCmd(shardFamily)},
		{Name: "sunsubscribe", Arity: -1, Flags: sub, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Since: "7.0.0", Syntax: "[shardchannel [shardchannel ...]]", Summary: "Stops listening to shard channels.", Run: unsubscribeCmd(shardFamily)},
		{Name: "spublish", Arity: 3, Flags: FlagFast | FlagMayReplicate | FlagNoStore, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Since: "7.0.0", Syntax: "shardchannel message", Summary: "Posts a message to a shard channel.", Run: cmdSPublish},
		{Name: "publish", Arity: 3, Flags: FlagFast | FlagScript | FlagMayReplicate | FlagNoStore, Group: g, Since: "2.0.0", Syntax: "channel message", Summary: "Posts a message to a channel.", Run: cmdPublish},
		{Name: "pubsub", Arity: -2, Group: g, Since: "2.8.0", Summary: "A container for pub/sub introspection commands.", Run: cmdPubsubHelp, Subs: map[string]*Command{
			"channels":      {Arity: -2, Summary: "Returns the active channels.", Run: pubsubChannels(mainHub)},
			"numsub":        {Arity: -2, Summary: "Returns a count of subscribers to channels.", Run: pubsubNumSub(mainHub)},
			"numpat":        {Arity: 2, Summary: "Returns a count of unique pattern subscriptions.", Run: cmdPubsubNumPat},
			"shardchannels": {Arity: -2, Summary: "Returns the active shard channels.", Run: pubsubChannels(shardHub)},
			"shardnumsub":   {Arity: -2, Summary: "Returns the count of subscribers of shard channels.", Run: pubsubNumSub(shardHub)},
			"help":          {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdPubsubHelp},
		}},
	}
}

// subFamily is one of the subscribe families: SUBSCRIBE (channels),
// PSUBSCRIBE (patterns), SSUBSCRIBE (shard channels): the set of the
// session it keeps, the hub registration and the confirmation names.
type subFamily struct {
	sub, unsub string // the confirmations' names
	set        func(st *subState) *map[string]struct{}
	add, drop  func(s *Server, c *Ctx, name string) // register with the hub, and undo it
	count      func(st *subState) int64             // the count confirmations carry
}

var (
	channelFamily = &subFamily{sub: "subscribe", unsub: "unsubscribe",
		set:   func(st *subState) *map[string]struct{} { return &st.channels },
		add:   func(s *Server, c *Ctx, ch string) { s.subscribeChannel(c.Conn, ch) },
		drop:  func(s *Server, c *Ctx, ch string) { s.unsubscribeChannel(c.Conn, ch) },
		count: func(st *subState) int64 { return int64(st.classic()) }}
	patternFamily = &subFamily{sub: "psubscribe", unsub: "punsubscribe",
		set:   func(st *subState) *map[string]struct{} { return &st.patterns },
		add:   func(s *Server, c *Ctx, p string) { s.hub.PSubscribe(c.Conn, p) },
		drop:  func(s *Server, c *Ctx, p string) { s.hub.PUnsubscribe(c.Conn, p) },
		count: func(st *subState) int64 { return int64(st.classic()) }}
	shardFamily = &subFamily{sub: "ssubscribe", unsub: "sunsubscribe",
		set:   func(st *subState) *map[string]struct{} { return &st.shards },
		add:   func(s *Server, c *Ctx, ch string) { s.shardHub.Subscribe(c.Conn, ch) },
		drop:  func(s *Server, c *Ctx, ch string) { s.shardHub.Unsubscribe(c.Conn, ch) },
		count: func(st *subState) int64 { return st.nShards.Load() }} // shard channels count apart
)

// subReply writes one subscribe-family confirmation frame.
func subReply(c *Ctx, f *subFamily, kind string, name string, isNil bool) {
	c.W.Push(3)
	c.W.BulkString(kind)
	if isNil {
		c.W.Null()
	} else {
		c.W.BulkString(name)
	}
	c.W.Int(f.count(&c.Sess.subs))
}

// subscribeTo adds one subscription of family f: confirmation first, then
// the registration, so no message can overtake the confirmation. The
// session's subscription lock must be held (lockSubs).
func (s *Server) subscribeTo(c *Ctx, f *subFamily, name string) {
	st := &c.Sess.subs
	set := f.set(st)
	if *set == nil {
		*set = make(map[string]struct{})
	}
	_, had := (*set)[name]
	(*set)[name] = struct{}{}
	st.sync()
	c.Conn.WatchInput(true) // before the confirmation can reach the client (SettleInput)
	c.Conn.EnableAsync()
	c.Conn.Hold()
	subReply(c, f, f.sub, name, false)
	if !had {
		f.add(s, c, name)
	}
	c.Conn.Release()
}

// unsubscribeFrom drops one subscription of family f, confirming it
// whether or not it was there.
func (s *Server) unsubscribeFrom(c *Ctx, f *subFamily, name string) {
	st := &c.Sess.subs
	set := f.set(st)
	if _, ok := (*set)[name]; ok {
		delete(*set, name)
		st.sync()
		f.drop(s, c, name)
	}
	subReply(c, f, f.unsub, name, false)
}

// subscribeCmd is SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE.
func subscribeCmd(f *subFamily) func(*Ctx) {
	return func(c *Ctx) {
		defer lockSubs(c)()
		for _, a := range c.Args[1:] {
			c.S.subscribeTo(c, f, string(a))
		}
	}
}

// unsubscribeCmd is UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE: the names
// given, or every one of the family (confirmed with a nil name when there
// is none).
func unsubscribeCmd(f *subFamily) func(*Ctx) {
	return func(c *Ctx) {
		defer lockSubs(c)()
		if len(c.Args) == 1 {
			set := *f.set(&c.Sess.subs)
			if len(set) == 0 {
				subReply(c, f, f.unsub, "", true)
				return
			}
			for _, name := range sortedKeys(set) {
				c.S.unsubscribeFrom(c, f, name)
			}
			return
		}
		for _, a := range c.Args[1:] {
			c.S.unsubscribeFrom(c, f, string(a))
		}
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
	if c.S.net != nil {
		// What a subscriber sent before this PUBLISH arrived (its
		// UNSUBSCRIBE) is served first, as on Redis's one thread.
		c.S.net.SettleInput(settleInputFor)
	}
	c.W.Int(int64(h.Publish(c.Arg(1), c.Args[2])))
}

// settleInputFor bounds how long a PUBLISH lets subscribers serve the input
// they sent before it (resp.Server.SettleInput).
const settleInputFor = 10 * time.Millisecond

// pubsubChannels is PUBSUB CHANNELS (h: the hub) and PUBSUB SHARDCHANNELS
// (the shard hub): the channels with a subscriber, matching the pattern.
func pubsubChannels(h func(*Server) *pubsub.Hub) func(*Ctx) {
	return func(c *Ctx) {
		if len(c.Args) > 3 {
			c.W.Error("ERR wrong number of arguments for '" + c.Cmd.Name + "' command")
			return
		}
		pattern := ""
		if len(c.Args) == 3 {
			pattern = c.Arg(2)
		}
		chs := h(c.S).Channels(pattern)
		c.W.Array(len(chs))
		for _, ch := range chs {
			c.W.BulkString(ch)
		}
	}
}

// pubsubNumSub is PUBSUB NUMSUB and PUBSUB SHARDNUMSUB.
func pubsubNumSub(h func(*Server) *pubsub.Hub) func(*Ctx) {
	return func(c *Ctx) {
		c.W.Array(2 * (len(c.Args) - 2))
		for _, a := range c.Args[2:] {
			c.W.Bulk(a)
			c.W.Int(int64(h(c.S).NumSub(string(a))))
		}
	}
}

func mainHub(s *Server) *pubsub.Hub  { return s.hub }
func shardHub(s *Server) *pubsub.Hub { return s.shardHub }

func cmdPubsubNumPat(c *Ctx) { c.W.Int(int64(c.S.hub.NumPat())) }

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
