package live

import (
	"sync"
	"sync/atomic"
	"time"

	"bucketd/engine/query"
	"bucketd/jsonv"
	"bucketd/pubsub"
)

// Scheduling states of a channel (channel.sched).
const (
	schedIdle   int32 = iota // not queued, not being evaluated
	schedQueued              // queued or being evaluated
	schedAgain               // same, and changed since: evaluate once more
)

// channel is one live result: a query with one set of parameters, shared
// by every subscriber whose channel name canonicalises to key. A channel
// exists while it has subscribers; once it loses the last one (or its query
// or bucket is dropped) it is dead for good, and a later subscriber gets a
// new channel.
type channel struct {
	key    string        // canonical channel name
	name   string        // query name
	params *jsonv.Object // nil: none

	// sched is the channel's scheduling state (schedIdle, schedQueued,
	// schedAgain): at most one worker processes a channel at a time.
	sched atomic.Int32

	// reg is the channel's registration with its bucket watch. It is owned
	// by the worker processing the channel (one at a time, ordered by sched
	// and the run queue's lock); the fields of *reg are guarded by the
	// watch's lock.
	reg *reg
	// waiting is the watch on which the channel waits for its bucket to be
	// defined, or nil. Owned like reg.
	waiting *bucketWatch
	// fregs are a function query's registrations with the watches of the
	// buckets its last run read. Owned like reg.
	fregs []*fnReg
	// cost is how long a function query's last run took, when it took at
	// least costlyRun, and ranAt when it ended (restFor). Owned like reg.
	cost  time.Duration
	ranAt time.Time
	// lastSent is when the channel last published a new result. Written
	// by publish under mu before the round ends, read by the next round.
	lastSent time.Time

	// mu guards the fields below. Publishing a result to the hub happens
	// under mu, so a new subscriber's first message cannot be overtaken.
	mu      sync.Mutex
	def     *definition  // nil: the query is not defined (yet)
	q       *query.Query // the query to evaluate; nil when err or def is nil
	err     error        // why the query cannot run with these parameters
	subs    map[string]map[pubsub.Subscriber]struct{}
	nsubs   int
	pending []pendingSub // subscribed, still waiting for their first message
	last    []byte       // the last result published
	hasLast bool
	lastErr error // the last evaluation's error, nil after a success
	dead    bool
	evals   int64    // results computed
	pubs    int64    // results published
	reads   []string // a function query's last read set, in words
	runs    int64    // a function query's evaluations
}

// pendingSub is a subscriber waiting for its first message.
type pendingSub struct {
	sub   pubsub.Subscriber
	alias string // the channel name it subscribed with
}

// revocation is a subscription ended by a drop.
type revocation struct {
	sub   pubsub.Subscriber
	alias string
}

// attach gives ch its definition and prepares its query. ch.mu must be
// held.
func (ch *channel) attach(d *definition) {
	ch.def = d
	ch.q, ch.err = nil, nil
	if d != nil {
		ch.q, ch.err = d.prepare(ch.params)
	}
}

// Subscribe registers sub on a query channel, as typed by the client
// ("query.<name>" or "query.<name>:<params>", parameters in any key order),
// and reports whether it was not registered yet. It does the hub
// registration itself, under the channel's lock, so that the first message
// the subscriber receives is the current result (pushed to it alone when
// the channel already has one, else the first evaluation's) and every
// later one a newer result.
//
// A name outside the query channel grammar is registered as an ordinary
// channel. A channel of a query that is not defined yet is registered and
// stays silent until QUERY.DEFINE defines it. Messages carry the channel
// name the client used, so a client matches them as it expects; equal
// parameters still share one evaluation.
//
// The command layer calls Subscribe after it has queued the confirmation
// frame, from the connection's goroutine.
func (m *Manager) Subscribe(sub pubsub.Subscriber, alias string) bool {
	key, name, params, ok := CanonicalChannel(alias)
	if !ok {
		return m.hub.Subscribe(sub, alias)
	}
	m.mu.Lock()
	ch := m.chans[key]
	if ch == nil {
		ch = &channel{key: key, name: name, params: params, subs: make(map[string]map[pubsub.Subscriber]struct{})}
		ch.attach(m.defs[name])
		m.chans[key] = ch
	}
	ch.mu.Lock()
	m.mu.Unlock()
	defer ch.mu.Unlock()
	if !m.hub.Subscribe(sub, alias) {
		return false
	}
	set := ch.subs[alias]
	if set == nil {
		set = make(map[pubsub.Subscriber]struct{})
		ch.subs[alias] = set
	}
	set[sub] = struct{}{}
	ch.nsubs++
	switch {
	case ch.def == nil:
		// Silent until the query is defined.
	case ch.nsubs == 1:
		ch.pending = append(ch.pending, pendingSub{sub, alias})
		m.poke(ch) // first subscriber: the worker reads the bucket
	case ch.sched.Load() == schedIdle && ch.hasLast:
		// Up to date: this subscriber alone gets the current result.
		sub.Push(pubsub.AppendMessage(nil, sub.Proto(), alias, ch.last))
	default:
		// An evaluation is due: its result is this subscriber's first.
		ch.pending = append(ch.pending, pendingSub{sub, alias})
	}
	return true
}

// Unsubscribe removes sub from a query channel, as typed by the client, and
// reports whether it was registered. The last subscriber of a channel
// leaving ends the channel: its evaluation stops and its state is freed.
func (m *Manager) Unsubscribe(sub pubsub.Subscriber, alias string) bool {
	key, _, _, ok := CanonicalChannel(alias)
	if !ok {
		removed, _ := m.hub.Unsubscribe(sub, alias)
		return removed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.chans[key]
	if ch == nil {
		removed, _ := m.hub.Unsubscribe(sub, alias)
		return removed
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	removed, _ := m.hub.Unsubscribe(sub, alias)
	set := ch.subs[alias]
	if _, in := set[sub]; !in {
		return removed
	}
	delete(set, sub)
	if len(set) == 0 {
		delete(ch.subs, alias)
	}
	ch.nsubs--
	for i, p := range ch.pending {
		if p.sub == sub && p.alias == alias {
			ch.pending = append(ch.pending[:i], ch.pending[i+1:]...)
			break
		}
	}
	if ch.nsubs == 0 {
		ch.dead = true
		delete(m.chans, key)
		m.poke(ch) // the worker unregisters it from its bucket
	}
	return removed
}

// end kills ch and removes every subscriber from the hub, returning the
// subscriptions ended so that the caller can revoke them once it holds no
// lock. m.mu must be held; ch.mu must not.
func (m *Manager) end(ch *channel) []revocation {
	ch.mu.Lock()
	var out []revocation
	for alias, set := range ch.subs {
		for sub := range set {
			m.hub.Unsubscribe(sub, alias)
			out = append(out, revocation{sub, alias})
		}
	}
	ch.subs, ch.nsubs, ch.pending, ch.dead = nil, 0, nil, true
	ch.mu.Unlock()
	delete(m.chans, ch.key)
	m.poke(ch)
	return out
}

// revokeAll calls the Revoke hook for each ended subscription. No lock of
// the manager may be held.
func (m *Manager) revokeAll(revs []revocation) {
	if m.revoke == nil {
		return
	}
	for _, r := range revs {
		m.revoke(r.sub, r.alias)
	}
}
