package engine

import (
	"runtime"
	"sync"
)

// A frozen read runs without its bucket's lock (Bucket.frozen), so writers
// never wait for it on a lock. They can still wait for a CPU: a scan of a
// large bucket is CPU-bound, and when every P of the Go scheduler runs one,
// a writer's connection goroutine made ready by the network is noticed only
// by the runtime's background poll, every 10 ms or so. Two rules keep a CPU
// for the writers (bench/scanlat measures them; docs/commands.md, "Reads
// and writes"):
//
//   - a long frozen read (past its first yieldEvery entries) takes one of
//     max(1, GOMAXPROCS-1) scan slots until it ends, so that a P is left
//     idle to poll the network while long reads run; short reads never
//     wait for a slot;
//   - a long frozen read yields the CPU every yieldEvery entries.
//
// TestPacerSlots holds the slot rule.

// yieldEvery is how many entries a frozen read visits between two calls of
// runtime.Gosched, and how many it visits before it takes a scan slot.
const yieldEvery = 2048

// scanSlots is the store's count of long frozen reads under way.
type scanSlots struct {
	mu      sync.Mutex
	cond    sync.Cond
	busy    int
	waiting int
	// most returns how many may run at once; nil means
	// max(1, GOMAXPROCS-1).
	most func() int
}

func (ss *scanSlots) limit() int {
	if ss.most != nil {
		return ss.most()
	}
	return max(1, runtime.GOMAXPROCS(0)-1)
}

func (ss *scanSlots) acquire() {
	ss.mu.Lock()
	if ss.cond.L == nil {
		ss.cond.L = &ss.mu
	}
	for ss.busy >= ss.limit() {
		ss.waiting++
		ss.cond.Wait()
		ss.waiting--
	}
	ss.busy++
	ss.mu.Unlock()
}

func (ss *scanSlots) release() {
	ss.mu.Lock()
	ss.busy--
	if ss.cond.L != nil {
		ss.cond.Signal()
	}
	ss.mu.Unlock()
}

// pacer paces one frozen read: call step for each entry visited and done
// at the end. The zero pacer of a read inside a transaction (slots nil)
// does nothing.
type pacer struct {
	slots *scanSlots
	n     int
	held  bool
}

// pacer returns the pacer of a read: frozen ones are paced.
func (s *Store) pacer(frozen bool) pacer {
	if !frozen {
		return pacer{}
	}
	return pacer{slots: &s.slots}
}

func (p *pacer) step() {
	if p.slots == nil {
		return
	}
	if p.n++; p.n%yieldEvery != 0 {
		return
	}
	if !p.held {
		p.slots.acquire()
		p.held = true
		return
	}
	runtime.Gosched()
}

func (p *pacer) done() {
	if p.held {
		p.slots.release()
		p.held = false
	}
}
