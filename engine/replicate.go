package engine

import (
	"fmt"

	"bucketd/jsonv"
)

// Replicated is one change of a commit made on another node (the leader),
// as its replication log entry gives it (docs/replication.md).
type Replicated struct {
	// Op is OpInserted for a put (an insert or an update, as the key is
	// new here or not), OpDeleted or OpCleared.
	Op     Op
	Bucket string
	// Seq is the change's event sequence number in its bucket on the
	// leader; Counter the bucket's autoincrement counter after it (-1:
	// unchanged).
	Seq     uint64
	Counter int64
	// Record is a put's record, with its metadata as the leader made it.
	Record *Record
	// Key is a delete's key.
	Key jsonv.Value
	// Reason is a delete's or an update's reason (Change.Reason).
	Reason string
}

// ApplyReplicated applies one commit the leader made, as one transaction
// over its buckets: the records are put as they are, without validation
// (the leader validated them), the buckets' sequence numbers and counters
// take the leader's values, and the observers are told, so that events and
// live queries follow the leader's commits in its order and with its
// sequence numbers. The journal is not called. A change whose sequence
// number its bucket has already passed is skipped: the node holds it
// already (a snapshot taken a little after its log index).
func (s *Store) ApplyReplicated(rs []Replicated) error {
	names := make([]string, 0, 2)
	for i := range rs {
		names = append(names, rs[i].Bucket)
	}
	t, err := s.Begin(names)
	if err != nil {
		return err
	}
	t.replicated = true
	for i := range rs {
		r := &rs[i]
		b, err := t.bucket(r.Bucket)
		if err != nil {
			t.Rollback()
			return err
		}
		if r.Seq <= b.eventSeq || r.Seq <= seqTaken(t, b) {
			t.s.skipped.Add(1)
			continue
		}
		if r.Counter >= 0 && r.Counter != b.counter {
			t.undo = append(t.undo, undoStep{kind: undoCounter, b: b, counter: b.counter})
			b.counter = r.Counter
		}
		var c Change
		switch r.Op {
		case OpInserted:
			key := r.Record.Key()
			if !b.st.keyFits(key) {
				t.Rollback()
				return fmt.Errorf("record of bucket %q: a key of type %s", b.name, jsonv.TypeName(key))
			}
			if e := b.st.get(key); e != nil {
				old := e.rec
				b.replaceRecord(t, e, r.Record)
				c = Change{Op: OpUpdated, Bucket: b.name, Key: key, Old: old, New: r.Record, Reason: r.Reason}
			} else {
				e := &entry{rec: r.Record, seq: b.nextSeq}
				b.nextSeq++
				b.addEntry(t, e)
				c = Change{Op: OpInserted, Bucket: b.name, Key: key, New: r.Record}
			}
		case OpDeleted:
			e := b.st.get(r.Key)
			if e == nil {
				continue // not here: nothing to delete, nothing to tell
			}
			b.removeEntry(t, e)
			c = Change{Op: OpDeleted, Bucket: b.name, Key: e.rec.Key(), Old: e.rec, Reason: r.Reason}
		case OpCleared:
			b.clear(t) // emits the change
			t.changes[len(t.changes)-1].Seq = r.Seq
			continue
		default:
			t.Rollback()
			return fmt.Errorf("replicated change of bucket %q: op %d", b.name, r.Op)
		}
		c.Seq = r.Seq
		t.emit(b, c)
	}
	return t.Commit()
}

// seqTaken is the highest sequence number t's changes so far give b (0:
// none), so that a change repeated in one entry is applied once.
func seqTaken(t *Tx, b *Bucket) uint64 {
	for i := len(t.changes) - 1; i >= 0; i-- {
		if t.changes[i].Bucket == b.name {
			return t.changes[i].Seq
		}
	}
	return 0
}

// ReplicatedSkipped returns how many replicated changes ApplyReplicated
// skipped because their bucket had passed their sequence number. A
// leader's snapshot taken a little after its log index explains some
// after a snapshot is installed; any other skip is a sign that this node
// and the leader differ (INFO replication shows it; the cluster tests
// require 0).
func (s *Store) ReplicatedSkipped() int64 { return s.skipped.Load() }

// ResetReplicatedSkipped sets ReplicatedSkipped's count back to 0: the
// state it was counted against has been thrown away (a rebuild, a snapshot
// being installed), and the count is about the state built from now on.
func (s *Store) ResetReplicatedSkipped() { s.skipped.Store(0) }
