package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bucketd/jsonv"
)

// replObserver is an Observer that keeps every committed batch, copied
// (the slice it is handed is the store's).
type replObserver struct {
	mu      sync.Mutex
	batches [][]Change
}

func (o *replObserver) Committed(cs []Change) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches = append(o.batches, slices.Clone(cs))
}

// take returns the batches committed since the last take and forgets them.
func (o *replObserver) take() [][]Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.batches
	o.batches = nil
	return out
}

// replJournal is a Journal that counts its calls and accepts everything.
type replJournal struct {
	logs, defines, drops atomic.Int64
}

func (j *replJournal) Log([]Change) error                   { j.logs.Add(1); return nil }
func (j *replJournal) LogDefine(string, []byte, bool) error { j.defines.Add(1); return nil }
func (j *replJournal) LogDrop(string) error                 { j.drops.Add(1); return nil }

// The buckets the replication tests use: "items" has a string key, a
// unique field, an index, an autoincrement counter and a maxSize that
// evicts; "nums" has numeric keys and keeps them ordered.
const (
	replItemsDef = `{"key":"id","schema":{
		"id":{"type":"string"},
		"n":{"type":"number"},
		"u":{"type":"string","unique":true},
		"seq":{"type":"number","generated":"autoincrement"}},
		"indexes":["n"],"maxSize":4}`
	replNumsDef = `{"key":"k","schema":{"k":{"type":"number"},"v":{"type":"string"}},"ordered":true}`
)

// replNode is one store of a leader/follower pair, with its observer.
type replNode struct {
	s   *Store
	obs *replObserver
}

// newReplPair returns a leader and a follower sharing a clock (Unix ms,
// moved by the returned pointer), both with the buckets defined.
func newReplPair(t *testing.T) (leader, follower replNode, clock *atomic.Int64) {
	t.Helper()
	clock = new(atomic.Int64)
	clock.Store(1_000_000)
	mk := func() replNode {
		n := replNode{s: New(Options{Now: clock.Load}), obs: &replObserver{}}
		n.s.AddObserver(n.obs)
		for name, def := range map[string]string{"items": replItemsDef, "nums": replNumsDef} {
			if err := n.s.Define(name, []byte(def)); err != nil {
				t.Fatalf("Define(%s): %v", name, err)
			}
		}
		return n
	}
	return mk(), mk(), clock
}

func replObj(t *testing.T, js string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(js))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return o
}

// replicatedFrom turns a leader's committed changes into what its
// replication log entry gives a follower (snapshot.ApplyEntries): a put
// for an insert or an update, a delete by key, a clear.
func replicatedFrom(cs []Change) []Replicated {
	var rs []Replicated
	for _, c := range cs {
		switch c.Op {
		case OpInserted, OpUpdated:
			rs = append(rs, Replicated{Op: OpInserted, Bucket: c.Bucket, Seq: c.Seq, Counter: c.Counter, Record: c.New, Reason: c.Reason})
		case OpDeleted:
			rs = append(rs, Replicated{Op: OpDeleted, Bucket: c.Bucket, Seq: c.Seq, Counter: -1, Key: c.Key, Reason: c.Reason})
		case OpCleared:
			rs = append(rs, Replicated{Op: OpCleared, Bucket: c.Bucket, Seq: c.Seq, Counter: -1})
		}
	}
	return rs
}

// replState describes a store for comparison: every bucket's records
// (JSON with metadata, in bucket order) and its info figures.
func replState(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, name := range s.List() {
		recs, err := s.All(nil, name)
		if err != nil {
			t.Fatalf("All(%s): %v", name, err)
		}
		info, err := s.Info(name)
		if err != nil {
			t.Fatalf("Info(%s): %v", name, err)
		}
		fmt.Fprintf(&b, "%s records=%d counter=%d eventSeq=%d\n", name, info.Records, info.Counter, info.EventSeq)
		for _, r := range recs {
			fmt.Fprintf(&b, "  %s\n", r.JSON())
		}
	}
	return b.String()
}

// changeText is what a follower's observer must see of a change exactly
// as the leader's saw it.
func changeText(c Change) string {
	s := fmt.Sprintf("%s %s key=%s seq=%d reason=%q counter=%d persistent=%v count=%d",
		c.Op, c.Bucket, jsonv.Marshal(c.Key), c.Seq, c.Reason, c.Counter, c.Persistent, c.Count)
	if c.Old != nil {
		s += " old=" + string(c.Old.JSON())
	}
	if c.New != nil {
		s += " new=" + string(c.New.JSON())
	}
	return s
}

func batchTexts(batches [][]Change) []string {
	var out []string
	for i, cs := range batches {
		for _, c := range cs {
			out = append(out, fmt.Sprintf("batch %d: %s", i, changeText(c)))
		}
	}
	return out
}

func mustCheck(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatalf("invariant check: %v", err)
	}
}

// replStep is one write on the leader: one commit (or none, when it
// changes nothing).
type replStep struct {
	name string
	run  func(t *testing.T, s *Store, clock *atomic.Int64)
}

func replInsert(bucket, js string) func(*testing.T, *Store, *atomic.Int64) {
	return func(t *testing.T, s *Store, _ *atomic.Int64) {
		t.Helper()
		if _, err := s.Insert(nil, bucket, replObj(t, js), InsertOptions{}); err != nil {
			t.Fatalf("Insert(%s, %s): %v", bucket, js, err)
		}
	}
}

// replScenario exercises every kind of change a leader commits: inserts
// (alone and several in one transaction, over two buckets), updates with
// and without a reason, deletes for each reason, an insert over an expired
// record, clears, and inserts after a clear.
var replScenario = []replStep{
	{"insert", replInsert("items", `{"id":"a","n":1,"u":"a"}`)},
	{"tx over two buckets", func(t *testing.T, s *Store, _ *atomic.Int64) {
		tx := mustBegin(s, []string{"items", "nums"})
		for _, js := range []string{`{"id":"b","n":2,"u":"b"}`, `{"id":"c","n":3}`} {
			if _, err := s.Insert(tx, "items", replObj(t, js), InsertOptions{}); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if _, err := s.Insert(tx, "nums", replObj(t, fmt.Sprintf(`{"k":%d,"v":"v%d"}`, 3-i, i)), InsertOptions{}); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}},
	{"update", func(t *testing.T, s *Store, clock *atomic.Int64) {
		clock.Add(5)
		if _, err := s.Update(nil, "items", "a", replObj(t, `{"n":10,"u":"aa"}`), -1); err != nil {
			t.Fatal(err)
		}
	}},
	{"expire (update with a reason)", func(t *testing.T, s *Store, clock *atomic.Int64) {
		clock.Add(5)
		if ok, err := s.Expire(nil, "items", "b", clock.Load()+50, ExpireAlways); !ok || err != nil {
			t.Fatalf("Expire = %v, %v", ok, err)
		}
	}},
	{"persist (update with a reason)", func(t *testing.T, s *Store, clock *atomic.Int64) {
		if ok, err := s.Expire(nil, "items", "a", clock.Load()+50, ExpireAlways); !ok || err != nil {
			t.Fatalf("Expire = %v, %v", ok, err)
		}
		if ok, err := s.Expire(nil, "items", "a", 0, ExpireAlways); !ok || err != nil {
			t.Fatalf("Persist = %v, %v", ok, err)
		}
	}},
	{"purge expired", func(t *testing.T, s *Store, clock *atomic.Int64) {
		clock.Add(100)
		if n := s.PurgeExpired(); n != 1 {
			t.Fatalf("PurgeExpired = %d, want 1", n)
		}
	}},
	{"delete", func(t *testing.T, s *Store, _ *atomic.Int64) {
		if ok, err := s.Delete(nil, "nums", "2", -1); !ok || err != nil {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
	}},
	{"insert with a ttl", func(t *testing.T, s *Store, _ *atomic.Int64) {
		if _, err := s.Insert(nil, "items", replObj(t, `{"id":"d","n":4,"u":"d"}`), InsertOptions{TTL: 10}); err != nil {
			t.Fatal(err)
		}
	}},
	{"insert over an expired record", func(t *testing.T, s *Store, clock *atomic.Int64) {
		clock.Add(20)
		if _, err := s.Insert(nil, "items", replObj(t, `{"id":"d","n":5,"u":"d2"}`), InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}},
	{"fill", replInsert("items", `{"id":"e","n":6}`)},
	{"evict", replInsert("items", `{"id":"f","n":7,"u":"f"}`)},
	{"evict again", replInsert("items", `{"id":"g","n":8,"u":"a"}`)},
	{"counter moved by a given value", replInsert("items", `{"id":"h","seq":100}`)},
	{"clear", func(t *testing.T, s *Store, _ *atomic.Int64) {
		if _, err := s.Clear(nil, "nums"); err != nil {
			t.Fatal(err)
		}
	}},
	{"clear and insert in one tx", func(t *testing.T, s *Store, _ *atomic.Int64) {
		tx := mustBegin(s, []string{"items"})
		if _, err := s.Clear(tx, "items"); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if _, err := s.Insert(tx, "items", replObj(t, `{"id":"a","n":1,"u":"a"}`), InsertOptions{}); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}},
	{"insert after a clear", replInsert("nums", `{"k":7,"v":"x"}`)},
}

// runScenario runs the steps on the leader and returns its committed
// batches, one slice per step.
func runScenario(t *testing.T, leader replNode, clock *atomic.Int64, steps []replStep) [][][]Change {
	t.Helper()
	out := make([][][]Change, len(steps))
	for i, st := range steps {
		st.run(t, leader.s, clock)
		out[i] = leader.obs.take()
		if len(out[i]) == 0 {
			t.Fatalf("step %q committed nothing", st.name)
		}
	}
	mustCheck(t, leader.s)
	return out
}

// TestApplyReplicatedFollowsLeader checks the rule of ApplyReplicated:
// applying each leader commit's changes, as its replication entry gives
// them, leaves the follower with the leader's records, counters and event
// sequence numbers, and tells the follower's observers the same changes as
// the leader's saw (a put of a key present becomes an update, with its
// reason), one batch per commit, with the leader's sequence numbers.
func TestApplyReplicatedFollowsLeader(t *testing.T) {
	t.Parallel()
	leader, follower, clock := newReplPair(t)
	steps := make([][][]Change, len(replScenario))
	for i, step := range replScenario {
		// One step on the leader, then its commits on the follower.
		steps[i] = runScenario(t, leader, clock, []replStep{step})[0]
		batches := steps[i]
		for _, cs := range batches {
			if err := follower.s.ApplyReplicated(replicatedFrom(cs)); err != nil {
				t.Fatalf("step %q: ApplyReplicated: %v", step.name, err)
			}
		}
		got, want := batchTexts(follower.obs.take()), batchTexts(batches)
		if !slices.Equal(got, want) {
			t.Errorf("step %q: the follower's observer saw\n%s\nwant (the leader's)\n%s",
				replScenario[i].name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got, want := replState(t, follower.s), replState(t, leader.s); got != want {
			t.Fatalf("step %q: follower state\n%s\nwant (the leader's)\n%s", replScenario[i].name, got, want)
		}
		mustCheck(t, follower.s)
	}
	// The scenario did what it claims: every op and reason occurred.
	seen := map[string]bool{}
	for _, batches := range steps {
		for _, cs := range batches {
			for _, c := range cs {
				seen[c.Op.String()+"/"+c.Reason] = true
			}
		}
	}
	for _, k := range []string{"inserted/", "updated/", "updated/expire", "updated/persist", "deleted/deleted",
		"deleted/expired", "deleted/evicted", "cleared/"} {
		if !seen[k] {
			t.Errorf("the scenario made no %s change", k)
		}
	}
	if info, _ := follower.s.Info("items"); info.Counter < 100 {
		t.Errorf("items counter = %d, want the leader's (at least 100)", info.Counter)
	}
}

// TestApplyReplicatedWholeLog checks that the leader's commits applied as
// one ApplyReplicated call (a log entry holding many commits) give the
// same records, counters and event sequence numbers as one call each.
func TestApplyReplicatedWholeLog(t *testing.T) {
	t.Parallel()
	leader, follower, clock := newReplPair(t)
	steps := runScenario(t, leader, clock, replScenario)
	var all []Replicated
	var want int
	for _, batches := range steps {
		for _, cs := range batches {
			all = append(all, replicatedFrom(cs)...)
			want += len(cs)
		}
	}
	if err := follower.s.ApplyReplicated(all); err != nil {
		t.Fatalf("ApplyReplicated: %v", err)
	}
	if got, want := replState(t, follower.s), replState(t, leader.s); got != want {
		t.Fatalf("follower state\n%s\nwant (the leader's)\n%s", got, want)
	}
	batches := follower.obs.take()
	if len(batches) != 1 || len(batches[0]) != want {
		t.Errorf("the follower's observer got %d batches (%d changes in the first), want 1 of %d", len(batches), len(slices.Concat(batches...)), want)
	}
	mustCheck(t, follower.s)
}

// TestApplyReplicatedSkipsApplied checks that a change whose sequence
// number its bucket has already reached is skipped: a batch applied again
// changes nothing and tells the observers nothing; a batch overlapping
// what was applied applies only the new changes; a change repeated in one
// batch is applied once. A skipped change does not move the counter.
func TestApplyReplicatedSkipsApplied(t *testing.T) {
	t.Parallel()
	leader, follower, clock := newReplPair(t)
	steps := runScenario(t, leader, clock, replScenario)
	var batches [][]Change
	for _, bs := range steps {
		batches = append(batches, bs...)
	}
	for _, cs := range batches {
		if err := follower.s.ApplyReplicated(replicatedFrom(cs)); err != nil {
			t.Fatal(err)
		}
	}
	follower.obs.take()
	before := replState(t, follower.s)

	t.Run("same batches again", func(t *testing.T) {
		for i, cs := range batches {
			if err := follower.s.ApplyReplicated(replicatedFrom(cs)); err != nil {
				t.Fatalf("batch %d again: %v", i, err)
			}
			if got := follower.obs.take(); len(got) != 0 {
				t.Fatalf("batch %d applied again: the observer saw %q", i, batchTexts(got))
			}
		}
		if got := replState(t, follower.s); got != before {
			t.Fatalf("state after applying everything again\n%s\nwant\n%s", got, before)
		}
		changes := 0
		for _, cs := range batches {
			changes += len(replicatedFrom(cs))
		}
		if got := follower.s.ReplicatedSkipped(); got != int64(changes) {
			t.Errorf("ReplicatedSkipped = %d after applying %d changes again, want %d", got, changes, changes)
		}
		follower.s.ResetReplicatedSkipped()
		if got := follower.s.ReplicatedSkipped(); got != 0 {
			t.Errorf("ReplicatedSkipped = %d after ResetReplicatedSkipped", got)
		}
	})

	t.Run("stale counter", func(t *testing.T) {
		// A change already applied carries a counter its bucket has passed:
		// it must not move the counter back.
		old := replicatedFrom(batches[0])
		old[0].Counter = 0
		if err := follower.s.ApplyReplicated(old); err != nil {
			t.Fatal(err)
		}
		if got := replState(t, follower.s); got != before {
			t.Fatalf("state after a stale change\n%s\nwant\n%s", got, before)
		}
	})

	t.Run("overlapping batch", func(t *testing.T) {
		replInsert("items", `{"id":"z","n":26,"u":"z"}`)(t, leader.s, clock)
		fresh := leader.obs.take()
		if len(fresh) != 1 {
			t.Fatalf("leader committed %d batches", len(fresh))
		}
		overlap := slices.Concat(replicatedFrom(batches[len(batches)-2]), replicatedFrom(batches[len(batches)-1]), replicatedFrom(fresh[0]))
		if err := follower.s.ApplyReplicated(overlap); err != nil {
			t.Fatal(err)
		}
		got, want := batchTexts(follower.obs.take()), batchTexts(fresh)
		if !slices.Equal(got, want) {
			t.Fatalf("observer saw\n%s\nwant only the new changes\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got, want := replState(t, follower.s), replState(t, leader.s); got != want {
			t.Fatalf("follower state\n%s\nwant\n%s", got, want)
		}
	})
	mustCheck(t, follower.s)

	t.Run("repeated in one batch", func(t *testing.T) {
		_, f2, _ := newReplPair(t)
		first := replicatedFrom(batches[0]) // the insert of "a"
		if len(first) != 1 {
			t.Fatalf("first batch has %d changes", len(first))
		}
		if err := f2.s.ApplyReplicated(slices.Concat(first, first, first)); err != nil {
			t.Fatal(err)
		}
		got := f2.obs.take()
		if len(got) != 1 || len(got[0]) != 1 || got[0][0].Op != OpInserted || got[0][0].Seq != first[0].Seq {
			t.Fatalf("a change given three times in one batch: observer saw %q, want one insert", batchTexts(got))
		}
		if info, _ := f2.s.Info("items"); info.Records != 1 || info.EventSeq != first[0].Seq {
			t.Fatalf("info after a repeated change: %d records, eventSeq %d; want 1, %d", info.Records, info.EventSeq, first[0].Seq)
		}
		mustCheck(t, f2.s)
	})
}

// TestApplyReplicatedErrors checks that a batch ApplyReplicated refuses
// (an unknown bucket, an unknown op, a record whose key does not fit the
// bucket) is an error and is applied not at all, even where its other
// changes come first: records, counters, sequence numbers stay as they
// were and the observers are told nothing.
func TestApplyReplicatedErrors(t *testing.T) {
	t.Parallel()
	leader, _, clock := newReplPair(t)
	steps := runScenario(t, leader, clock, replScenario[:2])
	recA := steps[0][0][0].New // items "a"
	var num *Record            // a nums record: numeric key
	for _, c := range steps[1][0] {
		if c.Bucket == "nums" {
			num = c.New
			break
		}
	}
	good := Replicated{Op: OpInserted, Bucket: "items", Seq: 1, Counter: 1, Record: recA}
	tests := []struct {
		name    string
		rs      []Replicated
		noSuchB bool // the error is a NoBucketError
	}{
		{"unknown bucket alone", []Replicated{{Op: OpInserted, Bucket: "nope", Seq: 1, Counter: -1, Record: recA}}, true},
		{"unknown bucket after a good change", []Replicated{good, {Op: OpDeleted, Bucket: "nope", Seq: 1, Counter: -1, Key: "a"}}, true},
		{"unknown bucket clear", []Replicated{good, {Op: OpCleared, Bucket: "nope", Seq: 5, Counter: -1}}, true},
		{"unknown op", []Replicated{good, {Op: OpNote, Bucket: "items", Seq: 2, Counter: -1}}, false},
		{"zero op", []Replicated{good, {Bucket: "items", Seq: 2, Counter: -1}}, false},
		{"numeric key in a string-keyed bucket", []Replicated{good, {Op: OpInserted, Bucket: "items", Seq: 2, Counter: 7, Record: num}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, f, _ := newReplPair(t)
			before := replState(t, f.s)
			err := f.s.ApplyReplicated(tc.rs)
			if err == nil {
				t.Fatal("ApplyReplicated succeeded")
			}
			var nb *NoBucketError
			if errors.As(err, &nb) != tc.noSuchB {
				t.Errorf("error %T %v: NoBucketError is %v, want %v", err, err, !tc.noSuchB, tc.noSuchB)
			}
			if got := replState(t, f.s); got != before {
				t.Errorf("a refused batch changed the store:\n%s\nwas\n%s", got, before)
			}
			if got := f.obs.take(); len(got) != 0 {
				t.Errorf("a refused batch was observed: %q", batchTexts(got))
			}
			mustCheck(t, f.s)
			// The store is usable afterwards: no lock is left held.
			if err := f.s.ApplyReplicated([]Replicated{good}); err != nil {
				t.Fatalf("ApplyReplicated after a refused batch: %v", err)
			}
			if info, _ := f.s.Info("items"); info.Records != 1 || info.EventSeq != 1 {
				t.Errorf("after a good batch: %d records, eventSeq %d; want 1, 1", info.Records, info.EventSeq)
			}
		})
	}
}

// TestApplyReplicatedDeleteMissing checks that a delete of a key the
// follower does not hold changes nothing and tells nothing, while the
// changes around it in the batch apply.
func TestApplyReplicatedDeleteMissing(t *testing.T) {
	t.Parallel()
	leader, follower, clock := newReplPair(t)
	steps := runScenario(t, leader, clock, replScenario[:1])
	rs := []Replicated{
		{Op: OpDeleted, Bucket: "items", Seq: 1, Counter: -1, Key: "ghost", Reason: ReasonDeleted},
		{Op: OpDeleted, Bucket: "items", Seq: 1, Counter: -1, Key: 3.0, Reason: ReasonDeleted}, // wrong key type
	}
	rs = append(rs, replicatedFrom(steps[0][0])...)
	rs[2].Seq = 2
	if err := follower.s.ApplyReplicated(rs); err != nil {
		t.Fatal(err)
	}
	got := follower.obs.take()
	if len(got) != 1 || len(got[0]) != 1 || got[0][0].Op != OpInserted || got[0][0].Seq != 2 {
		t.Fatalf("observer saw %q, want only the insert, seq 2", batchTexts(got))
	}
	if info, _ := follower.s.Info("items"); info.Records != 1 || info.EventSeq != 2 {
		t.Fatalf("%d records, eventSeq %d; want 1, 2", info.Records, info.EventSeq)
	}
	mustCheck(t, follower.s)
}

// TestApplyReplicatedNoJournal checks that ApplyReplicated never calls the
// store's journal (the leader's log is the journal of those commits),
// while a local write on the same store does, and that a local commit after
// ApplyReplicated numbers its changes on from the leader's sequence.
func TestApplyReplicatedNoJournal(t *testing.T) {
	t.Parallel()
	leader, follower, clock := newReplPair(t)
	j := &replJournal{}
	follower.s.SetJournal(j)
	steps := runScenario(t, leader, clock, replScenario)
	for _, batches := range steps {
		for _, cs := range batches {
			if err := follower.s.ApplyReplicated(replicatedFrom(cs)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := j.logs.Load() + j.defines.Load() + j.drops.Load(); n != 0 {
		t.Fatalf("ApplyReplicated called the journal %d times (Log %d)", n, j.logs.Load())
	}
	info, _ := follower.s.Info("nums")
	follower.obs.take()
	// The journal is wired: a local write calls it, and the Tx that ran
	// the replicated commits (pooled) no longer counts as replicated.
	if _, err := follower.s.Insert(nil, "nums", replObj(t, `{"k":99}`), InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := j.logs.Load(); n != 1 {
		t.Fatalf("a local insert called Log %d times, want 1", n)
	}
	got := follower.obs.take()
	if len(got) != 1 || len(got[0]) != 1 || got[0][0].Seq != info.EventSeq+1 {
		t.Fatalf("local insert observed as %q, want seq %d", batchTexts(got), info.EventSeq+1)
	}
	mustCheck(t, follower.s)
}
