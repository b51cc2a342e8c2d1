package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
)

// The Raft log is kept by github.com/hashicorp/raft-wal (in <dir>/wal):
// segment files that an append writes once and fsyncs once. Raft's own
// state (term, vote) stays in github.com/hashicorp/raft-boltdb
// (<dir>/raft.db), which held the log too before: a BoltDB commit is a
// copy-on-write B-tree update with two fsyncs, and the log's append is
// what every replicated write waits for, on the leader and then on a
// follower. Alone, one entry of 600 bytes: 0.69 ms in BoltDB against
// 0.25 ms in the WAL; bench/cluster, three nodes on 2 cores: see README,
// "Replication". Consul logs Raft with the same WAL. v0.4.2 at least:
// before v0.4.1 a tail truncation left a segment that the next start could
// not read (TestLogReopensAfterTailTruncation), and before v0.4.2 Close
// left the metadata file locked, so that a second open in one process
// waited for ever (TestOpenLogMovesBoltEntries reopens).
const walDir = "wal"

// openLog opens the node's Raft log in dir, moving into it the entries
// that an older bucketd kept in the BoltDB store old.
func openLog(dir string, old *raftboltdb.BoltStore, hl hclog.Logger) (*wal.WAL, error) {
	path := filepath.Join(dir, walDir)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	w, err := wal.Open(path, wal.WithLogger(hl.Named("wal")))
	if err != nil {
		return nil, fmt.Errorf("raft log %s: %w", path, err)
	}
	if err := moveLog(w, old); err != nil {
		w.Close()
		return nil, fmt.Errorf("moving the raft log from raft.db to %s: %w", path, err)
	}
	return w, nil
}

// moveBatch is how many entries moveLog copies in one append.
const moveBatch = 256

// moveLog copies the entries of from that to lacks into to, then deletes
// them from from. It resumes a move that was cut short: to then holds a
// prefix of from's entries, and the copy goes on after it. The entries are
// deleted from from only once to holds them all, fsynced.
func moveLog(to, from raft.LogStore) error {
	first, err := from.FirstIndex()
	if err != nil {
		return err
	}
	last, err := from.LastIndex()
	if err != nil || last == 0 {
		return err
	}
	next := first
	if have, err := to.LastIndex(); err != nil {
		return err
	} else if have > 0 {
		if have+1 < first {
			return fmt.Errorf("the new log ends at %d, before the old one begins (%d)", have, first)
		}
		next = max(have+1, first)
	}
	for next <= last {
		batch := make([]*raft.Log, 0, min(moveBatch, last-next+1))
		for i := next; i <= last && len(batch) < moveBatch; i++ {
			l := new(raft.Log)
			if err := from.GetLog(i, l); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			batch = append(batch, l)
		}
		if err := to.StoreLogs(batch); err != nil {
			return err
		}
		next += uint64(len(batch))
	}
	return from.DeleteRange(first, last)
}
