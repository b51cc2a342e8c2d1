package engine

import (
	"fmt"
	"sync/atomic"
)

// A long transaction is one whose length its caller does not control: a
// script's (BeginLong). While one holds a bucket, the bucket carries its
// mark; once the holder declares itself busy (Tx.SetBusy, when it has run
// past the busy threshold), commands that would wait for the bucket fail
// with a BusyError instead of waiting, as Redis answers BUSY while a
// script runs too long. The rule: a mark is set only while its holder has
// the bucket locked (after the lock, cleared before the unlock), so a
// waiter that sees no mark waits for an ordinary holder, who never stays
// long. A command that was already waiting in the lock when a script took
// the bucket waits for the script (the mark cannot reach it); commands that
// come later get BUSY.

// BusyError reports a command refused because a long transaction that has
// declared itself busy holds its bucket. Reason is the holder's text
// (Tx.SetBusy).
type BusyError struct {
	Bucket string
	Reason string
}

// Error implements error.
func (e *BusyError) Error() string { return e.Reason }

// NotHeldError reports a bucket that a transaction uses without having
// named it at its beginning: a script's bucket missing from its KEYS.
type NotHeldError struct{ Bucket string }

// Error implements error.
func (e *NotHeldError) Error() string {
	return fmt.Sprintf("the transaction does not hold bucket %q: name it among the buckets the transaction declares", e.Bucket)
}

// longMark is the mark a long transaction leaves on the buckets it holds.
type longMark struct {
	busy   chan struct{} // closed by SetBusy
	done   chan struct{} // closed when the transaction ends
	reason atomic.Pointer[string]
}

// BeginLong starts a long transaction over the named buckets (see Begin):
// other commands that want one of them fail with a BusyError once it calls
// SetBusy. Begin's errors apply.
func (s *Store) BeginLong(names []string) (*Tx, error) {
	t, err := s.Begin(names)
	if err != nil {
		return nil, err
	}
	m := &longMark{busy: make(chan struct{}), done: make(chan struct{})}
	for _, b := range t.locked {
		b.long.Store(m)
	}
	t.long = m
	return t, nil
}

// SetBusy declares a long transaction busy: from now on, commands that
// want one of its buckets fail at once with a BusyError carrying reason
// instead of waiting for it. It does nothing for other transactions or
// when called again.
func (t *Tx) SetBusy(reason string) {
	m := t.long
	if m == nil || m.reason.Load() != nil {
		return
	}
	m.reason.Store(&reason)
	close(m.busy)
}

// Busy reports whether SetBusy was called.
func (t *Tx) Busy() bool { return t.long != nil && t.long.reason.Load() != nil }

// endLong clears the marks of a long transaction before its buckets are
// unlocked and wakes the commands that wait for it.
func (t *Tx) endLong() {
	m := t.long
	if m == nil {
		return
	}
	for _, b := range t.locked {
		b.long.CompareAndSwap(m, nil)
	}
	close(m.done)
	t.long = nil
}

// acquire locks b, which the caller found in a snapshot of the buckets,
// exclusively when write is set, else for reading. It fails with a
// NoBucketError when Drop removed b between the look-up and the lock, and
// with a BusyError when a busy long transaction holds b. Every look-up of a
// bucket by name for a command goes through it (lockBucket, Begin, or for a
// name as bytes GetBytes).
func (b *Bucket) acquire(write bool) error {
	if !b.tryLock(write) {
		if err := b.waitLock(write); err != nil {
			return err
		}
	}
	if !b.dropped {
		return nil
	}
	b.unlock(write)
	return &NoBucketError{Bucket: b.name}
}

// acquireWait is acquire for the store's own work (snapshots, the live
// queries' reads), which waits for a long transaction however long it runs.
func (b *Bucket) acquireWait(write bool) error {
	b.lock(write)
	if !b.dropped {
		return nil
	}
	b.unlock(write)
	return &NoBucketError{Bucket: b.name}
}

// waitLock waits for b's lock, unless a busy long transaction holds it.
func (b *Bucket) waitLock(write bool) error {
	for {
		m := b.long.Load()
		if m == nil {
			b.lock(write)
			return nil
		}
		select {
		case <-m.busy:
			return &BusyError{Bucket: b.name, Reason: *m.reason.Load()}
		case <-m.done:
		}
		if b.tryLock(write) {
			return nil
		}
	}
}

func (b *Bucket) tryLock(write bool) bool {
	if write {
		return b.mu.TryLock()
	}
	return b.mu.TryRLock()
}

func (b *Bucket) lock(write bool) {
	if write {
		b.mu.Lock()
	} else {
		b.mu.RLock()
	}
}

func (b *Bucket) unlock(write bool) {
	if write {
		b.mu.Unlock()
	} else {
		b.mu.RUnlock()
	}
}
