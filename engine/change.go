package engine

import "bucketd/jsonv"

// Op is the kind of a committed change.
type Op uint8

// The kinds of change. Each maps to an event channel suffix.
const (
	OpInserted Op = iota + 1
	OpUpdated
	OpDeleted
	OpCleared
	// OpNote is not a change of a record but a value the caller placed
	// among a transaction's changes (Tx.Note), handed to the observers in
	// its place at commit: no bucket, never logged.
	OpNote
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
	case OpNote:
		return "note"
	}
	return "unknown"
}

// Reasons a record was deleted, or updated without a change of its fields.
const (
	ReasonDeleted = "deleted"
	ReasonExpired = "expired"
	ReasonEvicted = "evicted"
	// ReasonExpire and ReasonPersist mark an update that changed only the
	// record's expiry: set (EXPIRE) or removed (PERSIST).
	ReasonExpire  = "expire"
	ReasonPersist = "persist"
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
	// ReasonEvicted), or that an update changed only its expiry
	// (ReasonExpire, ReasonPersist; empty for other updates).
	Reason string
	// Count is the number of records a clear removed.
	Count int
	// Counter is the bucket's autoincrement counter after the change.
	Counter int64
	// Persistent is false for buckets defined with persistent: false, whose
	// records are never written to disk.
	Persistent bool
	// Note is an OpNote's value (Tx.Note).
	Note any
	// Origin is the id of the client whose command made the change, given
	// with Tx.SetOrigin; 0 when none was (expiry, eviction, a write without
	// one).
	Origin uint64
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

// Journal makes commits durable: the append-only file. The store calls it
// inside every commit and definition change, before anybody can see the
// change, with the locks still held, so that the journal has every bucket's
// commits in order. Log returns an error when the commit cannot be made
// durable under the chosen policy; the store then rolls the commit back
// and the command fails with a DurabilityError. Calls must not call back
// into the store.
type Journal interface {
	// Log journals one commit's changes.
	Log(changes []Change) error
	// LogDefine journals a bucket's creation or alteration, with its
	// canonical definition, before it takes effect.
	LogDefine(name string, definition []byte, altered bool) error
	// LogDrop journals a bucket's drop before it takes effect.
	LogDrop(name string) error
}

// DurabilityError reports a write the disk refused: it was not applied.
type DurabilityError struct{ Err error }

// Error implements error.
func (e *DurabilityError) Error() string { return "Errors writing to the AOF file: " + e.Err.Error() }

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *DurabilityError) Unwrap() error { return e.Err }
