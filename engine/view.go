package engine

import "bucketd/engine/filter"

// View is a consistent reading of one bucket, handed to the callback of
// Store.ReadView while the bucket's read lock is held.
type View struct {
	// Records are the visible (unexpired) records that match the filter, in
	// the bucket's order. The slice is the callback's to keep; the records
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
}

// ReadView calls fn with a View of the bucket's visible records that match
// f (nil: all of them), in the bucket's order, while it holds the bucket's
// read lock. No write to the bucket commits while fn runs, and observers are
// called with the bucket's write lock held, so a consumer that registers for
// the bucket's changes inside fn (in its own Observer's bookkeeping) sees
// exactly the changes committed after this reading: none is missed and none
// is counted twice. This is how reactive queries take their first result.
//
// fn runs with the bucket locked: it must be quick, must not block and must
// not call into the store. ReadView fails with NoBucketError when the bucket
// is not defined (fn is not called then).
func (s *Store) ReadView(bucket string, f *filter.Filter, fn func(v *View)) error {
	// The live queries' own work: it waits for a busy script rather than
	// fail with BUSY, which nothing would retry.
	b := s.snapshot()[bucket]
	if b == nil {
		return &NoBucketError{Bucket: bucket}
	}
	if err := b.acquireWait(false); err != nil {
		return err
	}
	defer b.mu.RUnlock()
	v := View{Ordered: b.def.Ordered, Seq: b.eventSeq, Now: s.Now()}
	v.Records = make([]*Record, 0, 64)
	_ = b.scan(f, v.Now, nil, func(e *entry) bool { // nothing stops it: no error
		v.Records = append(v.Records, e.rec)
		return true
	})
	fn(&v)
	return nil
}
