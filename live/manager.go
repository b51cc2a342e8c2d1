package live

import (
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/pubsub"
)

// DefaultInterval is the default shortest time between two results of one
// channel (Options.Interval): at most 1,000 results per second per channel
// under a sustained stream of changes, which keeps the cost of pushing to
// many subscribers bounded while adding at most this much latency.
const DefaultInterval = time.Millisecond

// Options configures a Manager.
type Options struct {
	// Store is the store the queries read. Required.
	Store *engine.Store
	// Hub delivers the results to subscribers. Required.
	Hub *pubsub.Hub
	// Log receives the manager's structured logs.
	Log zerolog.Logger
	// Workers is the number of goroutines that evaluate and publish dirty
	// channels; 0 means min(GOMAXPROCS, 4).
	Workers int
	// Interval is the shortest time between two results of one channel:
	// changes that arrive sooner after a publish are coalesced into one
	// result at the end of the interval. The first change after a quiet
	// interval is published at once. 0 means DefaultInterval; negative
	// means no limit (every round publishes as soon as it can).
	Interval time.Duration
	// Revoke is called for each subscription that a dropped query or bucket
	// ended, after the subscriber was removed from the hub and outside every
	// lock of the manager, from the goroutine that dropped it. The command
	// layer uses it to forget the channel in the connection's own
	// bookkeeping and to send the `unsubscribe` frame with the connection's
	// remaining subscription count. It must be safe for concurrent use. Nil:
	// nothing beyond the hub removal.
	Revoke func(sub pubsub.Subscriber, channel string)
	// Runner runs function queries (QUERY.DEFINE … LUA|FUNCTION). Nil:
	// only declarative queries can be defined.
	Runner Runner
}

// Manager holds the query definitions and their live channels. It is an
// engine.Observer (register it with Store.AddObserver before the store is
// used). Its methods are safe for concurrent use; see the package
// documentation for the design and the lock order.
type Manager struct {
	store    *engine.Store
	hub      *pubsub.Hub
	log      zerolog.Logger
	revoke   func(sub pubsub.Subscriber, channel string)
	runner   Runner
	workers  int
	interval time.Duration

	// OnDefinitionChange, when set, is called after every change of the
	// definitions made by Define, Drop and BucketDropped (not Restore):
	// with the canonical definition after a define, with nil after a drop.
	// Calls are serialised and in the order of the changes; the hook runs
	// while definition changes are held off, so it must not call Define,
	// Drop or BucketDropped. Set it before the manager is used.
	OnDefinitionChange func(name string, canonicalJSON []byte)

	// defMu serialises definition changes (Define, Restore, Drop,
	// BucketDropped) and the hook calls that follow them.
	defMu sync.Mutex

	// mu guards defs and chans, and each channel's membership of chans.
	mu    sync.Mutex
	defs  map[string]*definition
	chans map[string]*channel // canonical channel name -> live channel

	// watchMu serialises changes of watches (creating and retiring bucket
	// watches); readers load the map without a lock.
	watchMu sync.Mutex
	watches atomic.Pointer[map[string]*bucketWatch]

	// qMu guards runq and closed; qCond wakes the workers.
	qMu    sync.Mutex
	qCond  *sync.Cond
	runq   []*channel
	closed bool
	wg     sync.WaitGroup

	evaluations atomic.Int64 // results computed
	fullReads   atomic.Int64 // results computed by reading the bucket
	published   atomic.Int64 // results published to a channel
	runs        atomic.Int64 // function query runs
	reruns      atomic.Int64 // function query runs repeated for consistency
	skipped     atomic.Int64 // changes to a function-read bucket that re-ran nothing
}

// New returns a manager for opts.Store and starts its workers.
func New(opts Options) *Manager {
	m := &Manager{
		store:    opts.Store,
		hub:      opts.Hub,
		log:      opts.Log,
		revoke:   opts.Revoke,
		runner:   opts.Runner,
		workers:  opts.Workers,
		interval: opts.Interval,
		defs:     make(map[string]*definition),
		chans:    make(map[string]*channel),
	}
	if m.workers <= 0 {
		m.workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if m.interval == 0 {
		m.interval = DefaultInterval
	}
	empty := map[string]*bucketWatch{}
	m.watches.Store(&empty)
	m.qCond = sync.NewCond(&m.qMu)
	for range m.workers {
		m.goTracked(m.worker)
	}
	return m
}

// goTracked starts fn on a goroutine that Close waits for.
func (m *Manager) goTracked(fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
}

// Stop makes the workers stop taking channels and function queries stop
// starting runs, without waiting: the caller then stops the runs in
// progress (the script engine's KindQuery runs) and calls Close.
func (m *Manager) Stop() {
	m.qMu.Lock()
	m.closed = true
	m.runq = nil
	m.qCond.Broadcast()
	m.qMu.Unlock()
}

// Close stops the workers and waits for them; queued evaluations are
// abandoned. Subscriptions stay as they are (the server is stopping). It
// is idempotent.
func (m *Manager) Close() {
	m.Stop()
	m.wg.Wait()
}

// poke schedules ch for evaluation unless it is already queued or being
// evaluated, in which case it only asks for one more round: this is what
// coalesces bursts and keeps at most one evaluation in flight per channel.
// It never blocks; the observer calls it with bucket locks held.
func (m *Manager) poke(ch *channel) {
	for {
		switch ch.sched.Load() {
		case schedIdle:
			if ch.sched.CompareAndSwap(schedIdle, schedQueued) {
				m.enqueue(ch)
				return
			}
		case schedQueued:
			if ch.sched.CompareAndSwap(schedQueued, schedAgain) {
				return
			}
		default:
			return
		}
	}
}

func (m *Manager) enqueue(ch *channel) {
	m.qMu.Lock()
	if !m.closed {
		m.runq = append(m.runq, ch)
		m.qCond.Signal()
	}
	m.qMu.Unlock()
}

// worker evaluates and publishes queued channels until Close.
func (m *Manager) worker() {
	for {
		m.qMu.Lock()
		for len(m.runq) == 0 && !m.closed {
			m.qCond.Wait()
		}
		if m.closed {
			m.qMu.Unlock()
			return
		}
		ch := m.runq[0]
		m.runq[0] = nil
		m.runq = m.runq[1:]
		if len(m.runq) == 0 {
			m.runq = m.runq[:0:0]
		}
		m.qMu.Unlock()
		m.safeProcess(ch)
	}
}

// safeProcess runs process, logging a panic with its stack instead of
// taking the server down; the channel is then rebuilt on its next change.
func (m *Manager) safeProcess(ch *channel) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error().Str("channel", ch.key).Interface("panic", r).Bytes("stack", debug.Stack()).
				Msg("panic while evaluating a reactive query; it will be re-read on its next change")
			m.forceFull(ch)
			ch.sched.Store(schedIdle)
		}
	}()
	m.process(ch)
}

// Stats are the manager's figures for STORE.STATS and INFO.
type Stats struct {
	// Defined is the number of defined queries.
	Defined int
	// ActiveSubscriptions counts subscriptions to channels of defined
	// queries.
	ActiveSubscriptions int
	// Channels is the number of live channels (with at least one
	// subscriber).
	Channels int
	// Evaluations counts results computed, FullReads those computed by
	// reading the bucket instead of from the maintained state, Published
	// those that differed from the previous one and were sent.
	Evaluations, FullReads, Published int64
	// Runs counts the runs of function queries, Reruns those repeated
	// because a run saw part of a commit, SkippedChanges the changes to
	// buckets that function queries read that touched no read set.
	Runs, Reruns, SkippedChanges int64
}

// Stats returns the manager's figures.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	st := Stats{Defined: len(m.defs), Channels: len(m.chans)}
	for _, ch := range m.chans {
		ch.mu.Lock()
		if ch.def != nil {
			st.ActiveSubscriptions += ch.nsubs
		}
		ch.mu.Unlock()
	}
	m.mu.Unlock()
	st.Evaluations = m.evaluations.Load()
	st.FullReads = m.fullReads.Load()
	st.Published = m.published.Load()
	st.Runs = m.runs.Load()
	st.Reruns = m.reruns.Load()
	st.SkippedChanges = m.skipped.Load()
	return st
}

// Definitions returns every definition, sorted by name, for persistence.
func (m *Manager) Definitions() []Definition {
	m.mu.Lock()
	out := make([]Definition, 0, len(m.defs))
	for _, d := range m.defs {
		out = append(out, Definition{Name: d.name, JSON: append([]byte(nil), d.json...)})
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
