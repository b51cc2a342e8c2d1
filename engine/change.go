package engine

import "bucketd/engine/jsonv"

// Op is the kind of a committed change.
type Op uint8

// The kinds of change. Each maps to an event channel suffix.
const (
	OpInserted Op = iota + 1
	OpUpdated
	OpDeleted
	OpCleared
)

// String returns the event name of the op: inserted, updated, deleted or
// cleared.
func (o Op) String() string {
	switch o {
	case OpInserted:
		return "inserted"
	case OpUpdated:
		return "updated"
	case OpDeleted:
		return "deleted"
	case OpCleared:
		return "cleared"
	}
	return "unknown"
}

// Reasons a record was deleted.
const (
	ReasonDeleted = "deleted"
	ReasonExpired = "expired"
	ReasonEvicted = "evicted"
)

// Change is the one record of a committed write that every consumer reads:
// events, the append-only file, reactive queries and statistics. Old and New
// are immutable records; Old is nil for inserts, New is nil for deletes and
// clears.
type Change struct {
	Op     Op
	Bucket string
	Key    jsonv.Value
	Old    *Record
	New    *Record
	// Seq is the bucket's event sequence number, one more per change.
	Seq uint64
	// Reason says why a record was deleted (ReasonDeleted, ReasonExpired,
	// ReasonEvicted).
	Reason string
	// Count is the number of records a clear removed.
	Count int
	// Counter is the bucket's autoincrement counter after the change.
	Counter int64
	// Persistent is false for buckets defined with persistent: false, whose
	// records are never written to disk.
	Persistent bool
}

// Observer consumes committed changes.
type Observer interface {
	// Committed is called once per committed write or transaction with its
	// changes in commit order, while the written buckets are still locked,
	// so that every observer sees the changes of one bucket in commit order.
	// It must not block and must not call back into the store; it must not
	// keep the slice (the records are immutable and may be kept).
	Committed(changes []Change)
}

// SchemaObserver is told of definition changes, under the store's
// definition lock, so that it sees them in order with the records' changes
// (the append-only file uses it). Calls must not block or call back into
// the store.
type SchemaObserver interface {
	// BucketDefined is called after a bucket is created or altered, with
	// its canonical definition JSON.
	BucketDefined(name string, definition []byte, altered bool)
	// BucketDropped is called after a bucket is dropped.
	BucketDropped(name string)
}
