// Package cluster replicates a bucketd store over Raft
// (github.com/hashicorp/raft), for three or more nodes with automatic
// failover (docs/replication.md).
//
// # Design
//
// Writes run on the leader only, as on a single node: a command runs
// against the leader's store under its buckets' locks, and the store's
// journal (Node, an engine.Journal) queues the commit's replication entry
// — the append-only file's entry for it (snapshot.AppendCommit), with
// every bucket, persistent or not, and each change's reason — instead of
// writing it to a file. A pump goroutine proposes what is queued to Raft,
// in order; no lock is held while Raft writes its log or waits for the
// followers. The command's reply waits (WaitDurable, as an append-only
// file reply under appendfsync always waits for its fsync) until its entry
// is committed by a majority and applied: nothing is acknowledged before.
//
// Every node applies the committed entries in log order (fsm): a follower
// puts the records as the leader made them (engine.Store.ApplyReplicated:
// same metadata, ids, counters and per-bucket event sequence numbers, no
// validation again) and tells its observers, so that events, live queries,
// keyspace notifications and tracking work on every node. The leader's own
// entries are applied already: each entry names the node and the epoch
// that proposed it, and the leader skips its own.
//
// A leader that loses its leadership with entries proposed and not known
// to be committed may hold changes the cluster never commits. It rebuilds
// its state from its last snapshot and the log (a new epoch, so that its
// old entries are applied like anybody's), and the clients waiting on
// those entries are disconnected without a reply: the outcome of their
// writes is unknown, as with any failed server.
//
// A Raft snapshot is a bucketd snapshot (snapshot.WriteImage) after a line
// of the members' client addresses. On the leader the image may be a
// little ahead of the snapshot's index (it is taken under the store's
// locks, with entries queued after the index); its writing waits until
// those entries are committed, and applying the entries after the index
// skips the changes the image holds already (by their sequence numbers).
//
// Lock order: engine locks, then Node.mu.
package cluster
