// Package snapshot keeps bucketd's data on disk: a snapshot of every
// bucket (definitions, records, counters) and reactive query definition,
// plus append-only files of the commits made since, all under one data
// directory and named by a manifest.
//
// # Files
//
//	manifest.json        which snapshot and which append-only files hold the data
//	snapshot.<g>.bdb     the state at the start of generation g
//	appendonly.<g>.aof   the commits of generation g, in order
//
// Both file kinds are sequences of entries in RESP form: an array whose
// first element is the CRC-32C of the rest, then one array of bulk strings
// per operation (PUT, DEL, CLEAR, DEFINE, ALTER, DROP, QDEFINE, QDROP; the
// snapshot adds SNAPSHOT, BUCKET, QUERY and END). One commit — a command or
// a whole transaction — is one entry, so it is replayed whole or not at
// all. The manifest and the snapshots are written to a temp file, fsynced,
// renamed and the directory fsynced.
//
// # Durability
//
// Commits are appended to a buffer inside the commit itself (the engine
// calls the observer with the buckets locked, so the file has every
// bucket's commits in order). A reply waits until its entry is written
// (WaitWritten), the waiting connection writing the buffer itself when no
// write is under way, after yielding once so that the connections ready to
// run join the write (aof.wait). Under appendfsync always the command's reply waits until its entry is
// fsynced (WaitDurable), with concurrent commits sharing fsyncs; everysec
// fsyncs once a second; no leaves it to the OS. A failed write or fsync is
// kept as a standing error: writes are refused (MISCONF) until a retry
// succeeds, and the failed bytes are cut from the file so that no torn
// entry stays in the middle.
//
// # Start-up
//
// Open loads the snapshot (format 1: a PUT of JSON per record; format 2:
// binary RECORDS blocks) and replays the append-only files, decoding
// records on every core and applying them in file order (load.go); the
// indexes are built once at the end (engine.Store.FinishLoad). A torn last entry of the last file (a crash in
// the middle of a write) is cut off with a warning. A checksum mismatch or
// malformed entry anywhere else is an error naming the file and offset:
// data is never dropped silently. A whole last entry whose length field was
// damaged is told from a torn one by its checksum (lengthDamaged). Where
// huge pages are given on request, the load's heap is laid on them
// (adviseLoad, hugepages_linux.go).
//
// # Rewrite
//
// Rewrite (BGREWRITEAOF, BGSAVE, SAVE, and automatically when the file has
// doubled past 64 MB) records a new file in the manifest, then takes every
// bucket's frozen record tree under their read locks and, in the same
// critical section, switches appends to the new file (rotate, which does
// no I/O: the next flush finishes the old file before it writes to the
// new one). The snapshot is then written from the frozen trees
// (engine.BucketImage.Scan, in one pass) while writers go
// on; once it is durable the manifest drops the old files. A crash at any point leaves a manifest whose files hold every
// commit.
//
// Lock order: engine locks (definition lock, bucket locks), then
// Persistence.mu, then the writer's aof.mu.
package snapshot
