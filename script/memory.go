package script

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// memory is the engine's memory limit for scripts, and its sampler the
// clock of the busy threshold (it calls tick, Engine.declareBusy, at each
// sample while scripts run). Go cannot tell which goroutine allocated
// what, so the limit is on the growth of the live heap (runtime/metrics
// /gc/heap/live:bytes, measured at each collection) since the oldest
// running script started: a sampler goroutine reads it every sampleEvery
// while scripts run and raises the over flag, which every running script
// reads at its next check (budget.check) and stops on. The live heap
// rather than the whole heap, so that garbage never trips it.
//
// The rule that bounds the overshoot: the live heap cannot have grown by
// more than it had at the last collection plus everything allocated since
// (/gc/heap/allocs:bytes). When that sum passes the limit and no
// collection has told, the sampler starts one (runtime.GC, one at a time)
// rather than wait for Go's pacer, which under a high gc-percent lets the
// heap grow by many times the limit first (10000: a 20 MB limit stopped a
// script at 208 MB). A script is thus stopped within a sample and a
// collection of passing the limit, and a collection is forced only when
// one could show it over: a script that allocates nothing, or only
// garbage within the limit between collections, forces none.
// TestMemoryLimitHighGCPercent fails without the forced collections.
// string.rep and the other functions that build a string in one
// instruction are capped at the limit itself (guard.go).
type memory struct {
	limit atomic.Int64 // bytes; 0: no limit
	over  atomic.Bool

	mu      sync.Mutex
	running int
	base    uint64
	fresh   bool // base is to be read at the next sample

	// Read and written by the sampler goroutine alone: the collections
	// seen (cycles), the allocation count at the last sample before the
	// latest of them (since: allocations after it are not in its live
	// heap) and that heap's growth over base (grown). forcing is set while
	// a collection the sampler started runs; forced counts them; none
	// starts before notBefore (UnixNano), forceGap times the last one's
	// length after it ended.
	cycles, since, grown, prevAllocs uint64
	forcing                          atomic.Bool
	forced                           atomic.Int64
	notBefore                        atomic.Int64

	wake chan struct{} // a script started while none ran
	quit chan struct{}
	tick func() // also run at every sample: the engine's busy check
}

// sampleEvery is the sampler's period while scripts run.
const sampleEvery = time.Millisecond

// forceGap is the pause after a forced collection, in multiples of its
// length: a script that keeps the live heap just under the limit while it
// allocates garbage would otherwise have the collector run back to back;
// this keeps forced collections to a fifth of the time at most.
const forceGap = 4

func newMemory(limit int64, tick func()) *memory {
	m := &memory{wake: make(chan struct{}, 1), quit: make(chan struct{}), tick: tick}
	m.limit.Store(limit)
	go m.sample()
	return m
}

// enter notes a script starting.
func (m *memory) enter() {
	m.mu.Lock()
	m.running++
	if m.running == 1 {
		// The sampler reads the base at its next tick: reading it here
		// would cost every short script a metrics read.
		m.fresh = true
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
	m.mu.Unlock()
}

// leave notes a script ending.
func (m *memory) leave() {
	m.mu.Lock()
	m.running--
	if m.running == 0 {
		m.over.Store(false)
	}
	m.mu.Unlock()
}

// message is the error a script stopped by the limit returns.
func (m *memory) message() string {
	return "ERR script stopped: the server's live heap grew by more than script-max-memory (" +
		strconv.FormatInt(m.limit.Load(), 10) + " bytes) while it ran"
}

func (m *memory) close() { close(m.quit) }

// sample is the sampler goroutine.
func (m *memory) sample() {
	for {
		select {
		case <-m.quit:
			return
		case <-m.wake:
		}
		t := time.NewTicker(sampleEvery)
		for active := true; active; {
			select {
			case <-m.quit:
				t.Stop()
				return
			case <-t.C:
			}
			m.mu.Lock()
			active = m.running > 0
			fresh := m.fresh
			if fresh {
				m.fresh = false
				m.base = readHeap().live
			}
			base := m.base
			m.mu.Unlock()
			if active {
				m.check(base, fresh)
			}
			if active && m.tick != nil {
				m.tick()
			}
		}
		t.Stop()
	}
}

// check sets the over flag from the heap's figures, and starts a
// collection when the live heap could have grown past the limit since the
// last one (the rule above). fresh: base was just read, and the counts
// start over.
func (m *memory) check(base uint64, fresh bool) {
	h := readHeap()
	if fresh || h.cycles != m.cycles {
		// A collection ended since the last sample: its live heap counts
		// everything allocated up to that sample at least.
		since := m.prevAllocs
		if fresh {
			since = h.allocs
		}
		m.cycles, m.since = h.cycles, since
		m.grown = 0
		if h.live > base {
			m.grown = h.live - base
		}
	}
	m.prevAllocs = h.allocs
	lim := m.limit.Load()
	if lim <= 0 {
		m.over.Store(false)
		return
	}
	// Raised while the live heap is over, lowered once it is not (or the
	// limit went): a run it stopped stays stopped (budget.Stop), and later
	// runs are judged afresh.
	over := m.grown > uint64(lim)
	m.over.Store(over)
	if !over && m.grown+(h.allocs-m.since) > uint64(lim) &&
		time.Now().UnixNano() >= m.notBefore.Load() && m.forcing.CompareAndSwap(false, true) {
		m.forced.Add(1)
		go func() {
			start := time.Now()
			runtime.GC()
			end := time.Now()
			m.notBefore.Store(end.Add(forceGap * end.Sub(start)).UnixNano())
			m.forcing.Store(false)
		}()
	}
}

// heap holds the runtime's figures the sampler reads.
type heap struct {
	live   uint64 // live heap at the last collection
	allocs uint64 // bytes allocated since the process started
	cycles uint64 // collections completed
}

var heapSamples = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
}
var heapMu sync.Mutex

// readHeap reads the heap's figures (0 where the runtime has none).
func readHeap() heap {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSamples)
	u := func(i int) uint64 {
		if heapSamples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return heapSamples[i].Value.Uint64()
	}
	return heap{live: u(0), allocs: u(1), cycles: u(2)}
}
