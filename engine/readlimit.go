package engine

import (
	"strconv"
	"sync/atomic"
	"time"

	"bucketd/engine/filter"
)

// checkEvery is how many records a scan visits between two looks at the
// clock; it must be a power of two.
const checkEvery = 256

// pollEvery is how often a scan calls its ReadLimit's Cancelled function.
const pollEvery = 10 * time.Millisecond

// ReadLimit is what may stop one read that scans records under a bucket's
// lock, besides the store's read-time limit (SetReadTimeLimit).
type ReadLimit struct {
	// Cancelled, when not nil, is called about every 10 ms while the read
	// scans; true stops the read with a *CancelledError. It must be quick
	// and must not call into the store.
	Cancelled func() bool
}

// TimeoutError reports a read stopped by the read-time limit. The read
// changed nothing.
type TimeoutError struct{ Limit time.Duration }

// Error implements error.
func (e *TimeoutError) Error() string {
	return "read stopped after " + strconv.FormatInt(e.Limit.Milliseconds(), 10) +
		" ms (read-time-limit); use an index or a narrower filter"
}

// CancelledError reports a read stopped because its ReadLimit's Cancelled
// said so (the client left). The read changed nothing.
type CancelledError struct{}

// Error implements error.
func (e *CancelledError) Error() string { return "read cancelled: the client disconnected" }

// readGuard is the store's read-time limit and its counters.
type readGuard struct {
	limit     atomic.Int64 // nanoseconds; 0: none
	timedOut  atomic.Int64
	cancelled atomic.Int64
	orAsIn    atomic.Int64
	clock     func() time.Time // nil: time.Now (tests inject one)
}

// SetReadTimeLimit sets how long a read may scan records under a bucket's
// lock (read-time-limit); 0 or less: no limit. Safe to call at any time; it
// applies to reads that start afterwards.
func (s *Store) SetReadTimeLimit(d time.Duration) { s.reads.limit.Store(max(int64(d), 0)) }

// ReadTimeLimit returns the read-time limit; 0: none.
func (s *Store) ReadTimeLimit() time.Duration { return time.Duration(s.reads.limit.Load()) }

// ReadsTimedOut returns how many reads the read-time limit has stopped.
func (s *Store) ReadsTimedOut() int64 { return s.reads.timedOut.Load() }

// ReadsCancelled returns how many reads were stopped because their client
// left.
func (s *Store) ReadsCancelled() int64 { return s.reads.cancelled.Load() }

// ReadsOrAsIn returns how many reads ran a filter with an $or of equalities
// on one field planned as an $in (see filter.Filter.OrsAsIn).
func (s *Store) ReadsOrAsIn() int64 { return s.reads.orAsIn.Load() }

// limiter stops one scan when the time limit passes or its client leaves.
// A nil *limiter never stops. It belongs to the goroutine that scans.
type limiter struct {
	g        *readGuard
	n        uint32
	clock    func() time.Time
	limit    time.Duration
	deadline time.Time // zero: no time limit
	cancel   func() bool
	nextPoll time.Time
	err      error
}

// newLimiter starts the limit of one read that scans with f. It returns nil
// when nothing can stop the read.
func (s *Store) newLimiter(lim ReadLimit, f *filter.Filter) *limiter {
	g := &s.reads
	if f.OrsAsIn() > 0 {
		g.orAsIn.Add(1)
	}
	d := time.Duration(g.limit.Load())
	if d <= 0 && lim.Cancelled == nil {
		return nil
	}
	l := &limiter{g: g, clock: g.clock, limit: d, cancel: lim.Cancelled}
	if l.clock == nil {
		l.clock = time.Now
	}
	return l
}

// step counts one visited record and reports whether the scan may go on;
// when it may not, l.err says why.
func (l *limiter) step() bool {
	if l == nil {
		return true
	}
	if l.err != nil {
		return false
	}
	if l.n == 0 { // the clock starts with the scan, not before the lock
		now := l.clock()
		if l.limit > 0 {
			l.deadline = now.Add(l.limit)
		}
		l.nextPoll = now.Add(pollEvery)
	}
	l.n++
	if l.n&(checkEvery-1) != 0 {
		return true
	}
	now := l.clock()
	if !l.deadline.IsZero() && !now.Before(l.deadline) {
		l.g.timedOut.Add(1)
		l.err = &TimeoutError{Limit: l.limit}
		return false
	}
	if l.cancel != nil && !now.Before(l.nextPoll) {
		l.nextPoll = now.Add(pollEvery)
		if l.cancel() {
			l.g.cancelled.Add(1)
			l.err = &CancelledError{}
			return false
		}
	}
	return true
}

// stopped returns why the scan stopped early, or nil.
func (l *limiter) stopped() error {
	if l == nil {
		return nil
	}
	return l.err
}

// Limited is the store's scanning reads under one ReadLimit. Get it from
// Store.Limit; the zero ReadLimit gives the plain Store methods.
type Limited struct {
	s   *Store
	lim ReadLimit
}

// Limit returns the scanning reads of s bound by lim as well as by the
// store's read-time limit.
func (s *Store) Limit(lim ReadLimit) Limited { return Limited{s: s, lim: lim} }
