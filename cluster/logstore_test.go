package cluster

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// entry is the log entry i of the tests below.
func entry(i uint64) *raft.Log {
	return &raft.Log{Index: i, Term: 1 + i/100, Type: raft.LogCommand, Data: fmt.Appendf(nil, "entry %d", i)}
}

// storeRange appends entries from..to (none if to < from) to s.
func storeRange(t *testing.T, s raft.LogStore, from, to uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, entry(i))
	}
	if len(logs) > 0 {
		if err := s.StoreLogs(logs); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenLogMovesBoltEntries checks openLog's move of an older node's
// log out of BoltDB into the WAL: every entry arrives once, with its term,
// type and data; the old store is emptied; Raft's stable values stay in
// the old store; a move cut short resumes where it stopped; and a WAL that
// does not join up with the old log is refused, leaving the old log as it
// was.
func TestOpenLogMovesBoltEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		old                 [2]uint64 // the entries BoltDB holds, first and last (0: none)
		have                [2]uint64 // the entries the WAL holds already
		wantFirst, wantLast uint64    // the WAL's after the move
		wantErr             bool
	}{
		{"nothing to move", [2]uint64{}, [2]uint64{}, 0, 0, false},
		{"fresh move over several batches", [2]uint64{5, 5 + 3*moveBatch + 7}, [2]uint64{}, 5, 5 + 3*moveBatch + 7, false},
		{"one entry", [2]uint64{1, 1}, [2]uint64{}, 1, 1, false},
		{"resumed after a cut", [2]uint64{5, 700}, [2]uint64{5, 300}, 5, 700, false},
		{"copied but not yet deleted", [2]uint64{5, 700}, [2]uint64{5, 700}, 5, 700, false},
		{"the WAL is ahead", [2]uint64{5, 700}, [2]uint64{5, 720}, 5, 720, false},
		{"a gap between the two", [2]uint64{500, 700}, [2]uint64{1, 10}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			old, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"),
				BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			if err := old.SetUint64([]byte("CurrentTerm"), 8); err != nil {
				t.Fatal(err)
			}
			if tt.old[1] > 0 {
				storeRange(t, old, tt.old[0], tt.old[1])
			}
			if tt.have[1] > 0 {
				w, err := openLog(dir, emptyStore(t, dir), hclog.NewNullLogger())
				if err != nil {
					t.Fatal(err)
				}
				storeRange(t, w, tt.have[0], tt.have[1])
				w.Close()
			}
			w, err := openLog(dir, old, hclog.NewNullLogger())
			if tt.wantErr {
				if err == nil {
					w.Close()
					t.Fatal("openLog accepted a WAL that does not join up with the old log")
				}
				if last, _ := old.LastIndex(); last != tt.old[1] {
					t.Fatalf("after a refused move the old log ends at %d, want %d", last, tt.old[1])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			first, _ := w.FirstIndex()
			last, _ := w.LastIndex()
			if first != tt.wantFirst || last != tt.wantLast {
				t.Fatalf("the WAL holds %d..%d, want %d..%d", first, last, tt.wantFirst, tt.wantLast)
			}
			for i := first; i <= last && last > 0; i++ {
				var got raft.Log
				if err := w.GetLog(i, &got); err != nil {
					t.Fatalf("entry %d: %v", i, err)
				}
				want := entry(i)
				if got.Index != i || got.Term != want.Term || got.Type != want.Type || string(got.Data) != string(want.Data) {
					t.Fatalf("entry %d is %+v, want %+v", i, got, want)
				}
			}
			if last, _ := old.LastIndex(); last != 0 {
				t.Fatalf("the old store still ends at entry %d", last)
			}
			if term, err := old.GetUint64([]byte("CurrentTerm")); err != nil || term != 8 {
				t.Fatalf("the stable value after the move: %d, %v", term, err)
			}
		})
	}
}

// emptyStore returns an empty BoltDB store beside dir, closed with the
// test.
func emptyStore(t *testing.T, dir string) *raftboltdb.BoltStore {
	t.Helper()
	s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "empty.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLogReopensAfterTailTruncation checks that the log opens again after
// a tail truncation (Raft drops a follower's conflicting suffix that way)
// with entries appended after it: raft-wal before v0.4.1 marked the old
// tail sealed without writing its index block, and the next start failed
// with "sealed segment has no index block" (hashicorp/raft-wal#31). The
// cluster tests' kill-and-restart nemesis met it.
func TestLogReopensAfterTailTruncation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := emptyStore(t, dir)
	w, err := openLog(dir, old, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	storeRange(t, w, 1, 40)
	if err := w.DeleteRange(31, 40); err != nil {
		t.Fatal(err)
	}
	storeRange(t, w, 31, 50)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = openLog(dir, old, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("reopening after a tail truncation: %v", err)
	}
	defer w.Close()
	for i := uint64(1); i <= 50; i++ {
		var got raft.Log
		if err := w.GetLog(i, &got); err != nil {
			t.Fatalf("entry %d after the reopen: %v", i, err)
		}
		if string(got.Data) != string(entry(i).Data) {
			t.Fatalf("entry %d after the reopen: %q", i, got.Data)
		}
	}
}
