// Package engine is bucketd's store: buckets of schema-checked JSON records
// with a primary key, secondary and unique indexes, filters, aggregates,
// transactions with undo, TTL expiry and maxSize eviction. It knows nothing
// of RESP or of connections.
//
// # Concurrency
//
// Each Bucket is an actor in the noex sense, implemented with a lock: its
// sync.RWMutex serialises writes to it, readers share it, and different
// buckets work in parallel. A lock per bucket was chosen over a goroutine
// and mailbox per bucket because a command then costs no channel hand-off
// and no goroutine switch; the guarantees are the same (writes to a bucket
// are serialised and see a consistent state).
//
// Every write runs in a Tx that holds the locks of the buckets it touches:
// a single command in its own, MULTI/EXEC in one shared by all its
// commands. A Tx locks its buckets in the order of their names, so two
// transactions never deadlock, and a transaction never blocks buckets it
// does not touch. Writes apply at once and record undo steps; a failure
// rolls every step back, so records, indexes, autoincrement counters and
// event sequence numbers are as if the writes never ran.
//
// Reads outside a Tx never hold a bucket's lock while they scan: under the
// read lock they take a frozen copy of the order tree, O(1) with the
// copy-on-write B-tree, or an index plan's candidates, and walk it after
// the lock is released. Slots are not changed in place while a frozen
// reader may hold them: replaceRecord links a new slot instead (bucket.go,
// "Frozen reads"). Long frozen reads take a scan slot and walk on a scan
// worker of lower OS priority (pace.go), so that writers keep a processor.
//
// A Hold (hold.go) is a third kind of Tx: one connection's pipelined
// commands on one bucket run under a single acquisition of its lock, each
// committing on its own as if it had no Tx.
//
// A Draft (draft.go) keeps work out of the lock: a whole record for an
// insert or an upsert is parsed, validated and encoded against the
// bucket's definition of the moment, with no lock held. Under the lock the
// write takes the draft only if the definition is still that one and the
// draft gives the record the write would build (see fitsInsert and
// fitsUpdate); otherwise it does the work itself. In verify mode
// (BUCKETD_VERIFY=1, verify.go) every draft taken is also checked against
// the plain build, and a difference fails the write.
//
// Lock order: Store.defMu (definition changes) before any Bucket.mu;
// Bucket.mu locks in name order. The bucket map itself is an immutable map
// behind an atomic pointer, read without a lock.
//
// # Changes
//
// A committed Tx hands its changes, in order, to every Observer while its
// locks are still held: events, the append-only file, reactive queries and
// statistics all consume that one Change record. Observers must not block.
//
// # Records
//
// A Record is immutable and carries the JSON text of its fields, encoded
// once at write time, and its decoded values: readers copy out pointers
// under the read lock and encode nothing but the metadata numbers. Field
// order in that text: the key field, the schema fields in definition order,
// other fields in insertion order, then _version, _createdAt, _updatedAt
// and _expiresAt (when set). To keep a bucket small, records of one shape
// share their field names, top-level string values point into the text,
// and the record itself is 64 bytes (record.go). A record whose strings
// mostly need escaping keeps no text, which would hold them twice, and
// encodes it on output. The key map and the indexes keep no copy of a
// string key that one record holds: they are keyed by a 64-bit hash of it
// and read the key from the record to confirm a match (keys.go,
// index/valueset.go), so no replaced or deleted record's text stays alive
// and a record of 5 fields with an e-mail index takes about 400 bytes
// (TestMemoryEmailRecord). They keep copies of values shared by two or
// more records, and of colliding keys.
//
// # Expiry
//
// An expired record is invisible to every read at once; PurgeExpired
// deletes expired records through the ordinary delete path (reason
// "expired"), walking an expiry-ordered tree so that its cost grows with
// the number of expired records only.
package engine
