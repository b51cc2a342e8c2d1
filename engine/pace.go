package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A frozen read runs without its bucket's lock (Bucket.frozen), so writers
// never wait for it on a lock. They can still wait for a processor: a scan
// of a large bucket is CPU-bound, and on a small machine a writer's thread
// woken by the network would queue behind it, at the Go scheduler's level
// (a goroutine made ready while every P runs a scan is noticed only by the
// runtime's background poll, every 10 ms or so) and at the operating
// system's (the kernel shares a CPU between threads in slices of
// milliseconds). Two rules keep a processor for the writers (bench/scanlat
// measures them; docs/commands.md, "Reads and writes"):
//
//   - a long frozen read (one of more than longWalk entries) takes one of
//     max(1, GOMAXPROCS-1) scan slots while it walks, waiting for one when
//     they are all taken, so that a P is left to the writers; short reads
//     never wait;
//   - a long frozen read walks on a scan worker: a goroutine locked to an
//     OS thread of lower scheduling priority (nice 10, on Linux), so that
//     the kernel runs a woken writer's thread first. Without the workers,
//     the p99 of an insert beside four scanning clients was 2-3 ms on a
//     2-core machine; with them it is within 1.5 times its p99 alone.
//
// TestScanSlots and TestLongScanUsesWorker hold the rules.

// longWalk is the number of entries from which a frozen read is long.
const longWalk = 2048

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

// walk runs fn, a frozen read of b over n entries, without b's lock: at
// once when it is short, else in a scan slot on a scan worker. It recovers
// a panic in fn as guard does for a read.
// With b nil (a read of several buckets), a panic is not recovered.
func (s *Store) walk(b *Bucket, n int, fn func() error) error {
	if b != nil {
		inner := fn
		fn = func() error { return s.unlocked(b, inner) }
	}
	if n <= longWalk {
		return fn()
	}
	s.slots.acquire()
	defer s.slots.release()
	var err error
	workers.run(func() { err = fn() })
	return err
}

// scanWorkers are the goroutines that run long frozen reads, each locked to
// an OS thread of lower priority. They are shared by the stores of the
// process and started on first use, as many as the CPUs (the slots bound
// how many work at once).
type scanWorkers struct {
	once sync.Once
	jobs chan func()
	// lowered counts the workers whose thread's priority was lowered.
	lowered atomic.Int64
}

var workers scanWorkers

func (w *scanWorkers) run(job func()) {
	w.once.Do(func() {
		w.jobs = make(chan func())
		for range max(2, runtime.NumCPU()) {
			go w.work()
		}
	})
	done := make(chan struct{})
	w.jobs <- func() {
		defer close(done)
		job()
	}
	<-done
}

func (w *scanWorkers) work() {
	runtime.LockOSThread() // for good: the thread keeps its lower priority
	if lowerThreadPriority() {
		w.lowered.Add(1)
	}
	for job := range w.jobs {
		job()
	}
}
