package engine

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Supervision, one_for_one: a panic while a bucket runs an operation is
// recovered with the bucket still locked; the operation's completed steps
// are rolled back, the bucket's structures are verified and rebuilt from
// its records if they disagree, and the caller gets an InternalError. Other
// buckets and connections never notice. A bucket that crashes
// maxRestarts times within restartWindow is marked failed and refuses
// every command until it is dropped.
const (
	maxRestarts   = 5
	restartWindow = 10 * time.Second
)

// InternalError reports an operation that crashed inside a bucket, which
// was restarted from its last consistent state.
type InternalError struct{ Bucket string }

// Error implements error.
func (e *InternalError) Error() string { return fmt.Sprintf("internal error in bucket %q", e.Bucket) }

// UnavailableError reports a bucket that crashed too often and was marked
// failed.
type UnavailableError struct{ Bucket string }

// Error implements error.
func (e *UnavailableError) Error() string { return fmt.Sprintf("bucket %q is unavailable", e.Bucket) }

// supervision is a bucket's crash bookkeeping. Its fields are guarded by
// the bucket's lock, except those that are atomic.
type supervision struct {
	restarts   atomic.Int64 // restarts since the bucket was defined
	mu         sync.Mutex   // guards recent: readers crash under a shared lock
	recent     []time.Time  // restart times within the window
	failed     atomic.Bool
	debugPanic atomic.Bool // DEBUG PANIC-BUCKET: the next write step panics
}

// Restarts returns how many times the bucket was restarted.
func (b *Bucket) Restarts() int64 { return b.sup.restarts.Load() }

// Failed reports whether the bucket crashed too often and refuses commands.
func (b *Bucket) Failed() bool { return b.sup.failed.Load() }

// PanicBucket arms a crash in the named bucket's next write (DEBUG
// PANIC-BUCKET), for tests of supervision.
func (s *Store) PanicBucket(name string) error {
	b, err := s.lookup(name)
	if err != nil {
		return err
	}
	b.sup.debugPanic.Store(true)
	return nil
}

// Restarts returns the restart count of every bucket that was restarted.
func (s *Store) Restarts() map[string]int64 {
	out := map[string]int64{}
	for name, b := range s.snapshot() {
		if n := b.sup.restarts.Load(); n > 0 {
			out[name] = n
		}
	}
	return out
}

// checkDebugPanic panics when a crash was armed. It is called after a step
// is complete and recorded, inside a write.
func (b *Bucket) checkDebugPanic() {
	if b.sup.debugPanic.CompareAndSwap(true, false) {
		panic("DEBUG PANIC-BUCKET " + b.name)
	}
}

// recovered handles a panic caught while b was locked by the caller: it
// repairs the bucket and returns the error for the command. b.mu must be
// held for writing (held for reading, only verification is possible, and
// a read does not change anything).
func (s *Store) recovered(b *Bucket, r any, write bool) error {
	stack := debug.Stack()
	n := b.sup.restarts.Add(1)
	now := time.Now()
	b.sup.mu.Lock()
	recent := b.sup.recent[:0]
	for _, t := range b.sup.recent {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	b.sup.recent = append(recent, now)
	crashes := len(b.sup.recent)
	b.sup.mu.Unlock()
	if write {
		if err := b.check(); err != nil {
			s.log.Warn().Str("bucket", b.name).Err(err).Msg("bucket structures disagree after a crash; rebuilding them from the records")
			b.rebuild()
		}
	}
	s.log.Error().Str("bucket", b.name).Interface("panic", r).Int64("restarts", n).Bytes("stack", stack).
		Msg("bucket crashed; restarted from its last consistent state")
	if crashes >= maxRestarts {
		b.sup.failed.Store(true)
		s.log.Error().Str("bucket", b.name).Int("crashes", crashes).Dur("window", restartWindow).
			Msg("bucket keeps crashing; marked failed: it refuses commands until it is dropped")
	}
	return &InternalError{Bucket: b.name}
}

// rebuild recreates every structure from the insertion-order tree, which
// is the commit point of adds and removes (see addEntry). b.mu must be
// held for writing.
func (b *Bucket) rebuild() {
	var entries []*entry
	b.st.bySeq.Scan(func(e *entry) bool {
		entries = append(entries, e)
		return true
	})
	slices.SortFunc(entries, func(x, y *entry) int {
		switch {
		case x.seq < y.seq:
			return -1
		case x.seq > y.seq:
			return 1
		}
		return 0
	})
	b.setState(newState(b.def))
	for _, e := range entries {
		b.addEntry(nil, e)
	}
}

// FailedBuckets returns the names of the buckets marked failed, sorted.
func (s *Store) FailedBuckets() []string {
	var out []string
	for _, name := range s.List() {
		if b := s.snapshot()[name]; b != nil && b.sup.failed.Load() {
			out = append(out, name)
		}
	}
	return out
}
