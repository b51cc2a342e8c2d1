package script

import (
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// memory is the engine's memory limit for scripts, and its sampler the
// clock of the busy threshold (it calls tick, Engine.declareBusy, at each
// sample while scripts run). Go cannot tell which
// goroutine allocated what, so the limit is on the growth of the live heap
// (runtime/metrics /gc/heap/live:bytes, measured at each collection) since
// the oldest running script started: a sampler goroutine reads it every
// sampleEvery while scripts run and raises the over flag, which every
// running script reads at its next check (budget.check) and stops on. The
// live heap rather than the whole heap, so that garbage never trips it.
// A run of concatenations that doubles a string goes past the limit by a
// few doublings at most before a collection shows it; string.rep, the one
// way to allocate without bound in a single instruction, is capped at the
// limit itself (sandbox.go).
type memory struct {
	limit atomic.Int64 // bytes; 0: no limit
	over  atomic.Bool

	mu      sync.Mutex
	running int
	base    uint64
	fresh   bool          // base is to be read at the next sample
	wake    chan struct{} // a script started while none ran
	quit    chan struct{}
	tick    func() // also run at every sample: the engine's busy check
}

// sampleEvery is the sampler's period while scripts run.
const sampleEvery = time.Millisecond

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
			if m.fresh {
				m.fresh = false
				m.base = liveHeap()
				m.mu.Unlock()
				continue
			}
			base := m.base
			m.mu.Unlock()
			if active {
				// Raised while the live heap is over, lowered once it is
				// not (or the limit went): a run it stopped stays stopped
				// (budget.Stop), and later runs are judged afresh.
				lim := m.limit.Load()
				m.over.Store(lim > 0 && liveHeap() > base+uint64(lim))
			}
			if active && m.tick != nil {
				m.tick()
			}
		}
		t.Stop()
	}
}

var liveSample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
var liveMu sync.Mutex

// liveHeap returns the live heap at the last collection.
func liveHeap() uint64 {
	liveMu.Lock()
	defer liveMu.Unlock()
	metrics.Read(liveSample)
	if liveSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return liveSample[0].Value.Uint64()
}
