package engine

import (
	"github.com/tidwall/btree"

	"bucketd/engine/filter"
)

// View is a consistent reading of one bucket, taken by Store.ReadView.
type View struct {
	// Records are the visible (unexpired) records that match the filter, in
	// the bucket's order. ReadView fills them after its callback, without
	// the bucket's lock; the slice is the caller's to keep, and the records
	// are immutable.
	Records []*Record
	// Ordered reports whether the bucket's order is key order (ordered:
	// true) rather than insertion order.
	Ordered bool
	// Seq is the bucket's last event sequence number: the reading includes
	// exactly the changes numbered up to Seq.
	Seq uint64
	// Now is the clock reading (Unix ms) at which expiry was judged.
	Now int64

	tree *btree.BTreeG[*entry] // the frozen order tree
}

// EachRecord calls fn for every visible record of the reading (whatever the
// filter), in the bucket's order, until fn returns false. It may be called
// in ReadView's callback, for work that must be done before any later
// change is observed; it costs a walk of the bucket then, under its lock.
func (v *View) EachRecord(fn func(*Record) bool) {
	v.tree.Scan(func(e *entry) bool {
		if e.rec.expired(v.Now) {
			return true
		}
		return fn(e.rec)
	})
}

// ReadView takes a reading of the bucket's visible records that match f
// (nil: all of them): under the bucket's read lock it takes a frozen copy
// of the bucket (O(1), see Bucket.frozen) and calls fn with the View, whose
// Records are not filled yet; then, with the lock released, it fills
// v.Records from the copy and returns v. No write to the bucket commits
// while fn runs, and observers are called with the bucket's write lock
// held, so a consumer that registers for the bucket's changes inside fn
// (in its own Observer's bookkeeping) sees exactly the changes committed
// after this reading: none is missed and none is counted twice. This is how
// reactive queries take their first result.
//
// fn runs with the bucket locked: it must be quick, must not block and must
// not call into the store. ReadView fails with NoBucketError when the bucket
// is not defined (fn is not called then).
func (s *Store) ReadView(bucket string, f *filter.Filter, fn func(v *View)) (*View, error) {
	// The live queries' own work: it waits for a busy script rather than
	// fail with BUSY, which nothing would retry.
	b := s.snapshot()[bucket]
	if b == nil {
		return nil, &NoBucketError{Bucket: bucket}
	}
	if err := b.acquireWait(false); err != nil {
		return nil, err
	}
	v := &View{Ordered: b.def.Ordered, Seq: b.eventSeq, Now: s.Now()}
	err := func() error {
		defer b.mu.RUnlock()
		src, err := b.source(nil, v.Now, true)
		if err != nil {
			return err
		}
		v.tree = src.tree
		fn(v)
		return nil
	}()
	if err != nil {
		return nil, err
	}
	defer b.leave() // source entered
	v.Records = make([]*Record, 0, 64)
	err = s.walk(b, v.tree.Len(), func() error {
		v.EachRecord(func(r *Record) bool {
			if f == nil || f.Match(r) {
				v.Records = append(v.Records, r)
			}
			return true
		})
		return nil
	})
	return v, err
}
