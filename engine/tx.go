package engine

import (
	"errors"
	"sort"
	"sync"

	"bucketd/jsonv"
)

type undoKind uint8

const (
	undoAdd     undoKind = iota + 1 // an entry was added: remove it
	undoRemove                      // an entry was removed: add it back
	undoReplace                     // a record was replaced: put old back
	undoCounter                     // the autoincrement counter moved: restore it
	undoClear                       // the state was swapped: swap it back
	undoSwap                        // entry was linked in place of was: link was back
)

type undoStep struct {
	kind    undoKind
	b       *Bucket
	e       *entry
	was     *entry
	old     *Record
	counter int64
	st      *state
}

// Tx is a write unit over a set of buckets whose locks it holds, from
// Begin to Commit or Rollback. Every write of the store runs in one: a
// single command in its own, MULTI/EXEC in one shared by its commands.
// Writes apply at once (later reads in the same Tx see them) and record
// undo steps; Rollback undoes them in reverse; Commit publishes the changes
// to the observers and releases the locks. A Tx is used by one goroutine.
type Tx struct {
	s       *Store
	hold    string    // the bucket of a Hold, locked at its first use
	locked  []*Bucket // sorted by name, locked for writing
	undo    []undoStep
	changes []Change
	touches []touched // watched keys a clear removed, touched at commit
	now     int64
	long    *longMark // the mark of a long transaction (BeginLong), or nil
	origin  uint64    // who writes through it (SetOrigin), copied into its changes
	// replicated marks a commit of the leader's applied here
	// (ApplyReplicated): its changes carry their sequence numbers, and the
	// journal is not called.
	replicated bool
}

// Note places v among t's changes, after those made so far: the
// observers get it in that place when t commits (a Change with OpNote and
// no bucket, which the journal does not log), and a rollback drops it. It
// lets a transaction order other effects with its changes: a PUBLISH
// queued in MULTI between two writes is delivered between their events.
func (t *Tx) Note(v any) {
	t.changes = append(t.changes, Change{Op: OpNote, Note: v, Origin: t.origin})
}

// SetOrigin names who writes through t, a client's id: every change it
// makes carries it (Change.Origin), so that an observer can leave out the
// writer (CLIENT TRACKING's NOLOOP).
func (t *Tx) SetOrigin(id uint64) { t.origin = id }

type touched struct {
	b   *Bucket
	key jsonv.Value
}

var txPool = sync.Pool{New: func() any { return new(Tx) }}

// Begin starts a transaction over the named buckets: it locks those that
// exist, in name order, so that concurrent transactions never deadlock.
// Names that are not defined are skipped; commands that use them fail with
// NoBucketError. When a busy long transaction holds one of the buckets,
// Begin fails with its BusyError and holds nothing.
func (s *Store) Begin(names []string) (*Tx, error) {
	t := txPool.Get().(*Tx)
	t.s = s
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	all := s.snapshot()
	for i, n := range sorted {
		if i > 0 && sorted[i-1] == n {
			continue
		}
		b := all[n]
		if b == nil {
			continue
		}
		var busy *BusyError
		switch err := b.acquire(true); {
		case err == nil:
			t.locked = append(t.locked, b)
		case errors.As(err, &busy):
			t.release()
			return nil, err
		}
	}
	// Read the clock once every lock is held, so that a transaction that
	// waited for its locks sees what has expired meanwhile.
	t.now = s.Now()
	return t, nil
}

// beginOne starts a transaction over one bucket that the caller found.
func (s *Store) beginOne(b *Bucket) (*Tx, error) {
	if err := b.acquire(true); err != nil {
		return nil, err
	}
	t := txPool.Get().(*Tx)
	t.s = s
	t.now = s.Now()
	t.locked = append(t.locked, b)
	return t, nil
}

// bucket returns the locked bucket of that name: a NoBucketError when
// there is no such bucket, a NotHeldError when it exists but the
// transaction did not name it at Begin.
func (t *Tx) bucket(name string) (*Bucket, error) {
	for _, b := range t.locked {
		if b.name == name {
			return b, nil
		}
	}
	if t.hold == "" && t.s.snapshot()[name] != nil {
		return nil, &NotHeldError{Bucket: name}
	}
	return nil, &NoBucketError{Bucket: name}
}

// Now returns the transaction's clock reading in Unix milliseconds.
func (t *Tx) Now() int64 { return t.now }

// Mark returns a point to which RollbackTo can return.
func (t *Tx) Mark() (undo, changes int) { return len(t.undo), len(t.changes) }

// RollbackTo undoes the steps taken since Mark, keeping the transaction
// open: a single failed command inside a larger unit uses it.
func (t *Tx) RollbackTo(undo, changes int) {
	for i := len(t.undo) - 1; i >= undo; i-- {
		t.undoStep(t.undo[i])
	}
	clear(t.undo[undo:])
	t.undo = t.undo[:undo]
	clear(t.changes[changes:])
	t.changes = t.changes[:changes]
	if undo == 0 {
		clear(t.touches)
		t.touches = t.touches[:0]
	}
}

func (t *Tx) undoStep(u undoStep) {
	switch u.kind {
	case undoAdd:
		u.b.removeEntry(nil, u.e)
	case undoRemove:
		u.b.addEntry(nil, u.e)
	case undoReplace:
		// In place: the write lock has been held since the replace, which
		// found no frozen reader, so none has begun since (replaceRecord).
		u.b.replaceInPlace(nil, u.e, u.old)
	case undoSwap:
		u.b.removeEntry(nil, u.e)
		u.b.addEntry(nil, u.was)
	case undoCounter:
		u.b.counter = u.counter
	case undoClear:
		u.b.setState(u.st)
	}
}

// Rollback undoes every write and releases the locks.
func (t *Tx) Rollback() {
	t.RollbackTo(0, 0)
	t.release()
}

// Commit numbers the changes with their buckets' event sequence, makes
// them durable through the journal, hands them to the observers while the
// locks are still held (so every observer sees one bucket's changes in
// commit order), then releases the locks. When the journal refuses the
// commit, Commit rolls it back and returns a *DurabilityError: nobody ever
// saw it.
func (t *Tx) Commit() error {
	if err := t.publish(); err != nil {
		t.Rollback()
		return err
	}
	t.release()
	return nil
}

// publish numbers the changes made so far, logs them to the journal and
// hands them to the observers, then forgets them and their undo steps,
// keeping the locks. When the journal refuses them it returns a
// DurabilityError and leaves them to be rolled back.
func (t *Tx) publish() error {
	if len(t.changes) > 0 {
		var room [8]uint64
		seqs := room[:0]
		for _, b := range t.locked {
			seqs = append(seqs, b.eventSeq)
		}
		for i := range t.changes {
			c := &t.changes[i]
			for _, b := range t.locked {
				if b.name == c.Bucket {
					if t.replicated {
						b.eventSeq = c.Seq
					} else {
						b.eventSeq++
						c.Seq = b.eventSeq
					}
					c.Counter = b.counter
					c.Persistent = b.def.Persistent
					break
				}
			}
		}
		if j := t.s.journal; j != nil && !t.replicated {
			if err := j.Log(t.changes); err != nil {
				for i, b := range t.locked {
					b.eventSeq = seqs[i]
				}
				return &DurabilityError{Err: err}
			}
		}
		for i, b := range t.locked {
			if b.eventSeq != seqs[i] {
				b.commits.Add(1)
			}
		}
		for i := range t.changes {
			c := &t.changes[i]
			for _, b := range t.locked {
				if b.name == c.Bucket {
					if len(b.watched) > 0 {
						b.touch(*c)
					}
					break
				}
			}
			switch c.Reason {
			case ReasonExpired:
				t.s.expired.Add(1)
			case ReasonEvicted:
				t.s.evicted.Add(1)
			}
		}
		for _, tc := range t.touches {
			if we := tc.b.watched[tc.key]; we != nil {
				we.version++
			}
		}
		for _, o := range t.s.observers {
			o.Committed(t.changes)
		}
	}
	t.forget()
	return nil
}

// forget empties the undo steps, the changes and the touches, keeping
// their arrays.
func (t *Tx) forget() {
	clear(t.undo)
	t.undo = t.undo[:0]
	clear(t.changes)
	t.changes = t.changes[:0]
	clear(t.touches)
	t.touches = t.touches[:0]
}

func (t *Tx) release() {
	t.endLong()
	t.hold = ""
	for i := len(t.locked) - 1; i >= 0; i-- {
		t.locked[i].mu.Unlock()
	}
	clear(t.locked)
	t.locked = t.locked[:0]
	t.forget()
	t.s = nil
	t.origin = 0
	t.replicated = false
	if cap(t.undo) <= 1024 && cap(t.changes) <= 1024 {
		txPool.Put(t)
	}
}

func (t *Tx) emit(b *Bucket, c Change) {
	c.Origin = t.origin
	t.changes = append(t.changes, c)
	b.checkDebugPanic()
}
