package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

// targetCall is one call a recordingTarget received.
type targetCall struct {
	method string // Changes, Define, Drop, Query, Functions, Member
	args   []string
	// kept is the call's []byte argument as the target got it, not
	// copied: a Target may keep it (ApplyEntries must give it its own).
	kept    []byte
	nilArg  bool // Query's definition was nil (a drop)
	changes []engine.Replicated
}

// argsNow is the call's arguments with its []byte argument as it is now.
func (c targetCall) argsNow() []string {
	args := slices.Clone(c.args)
	switch c.method {
	case "Define", "Query":
		args[1] = string(c.kept)
	case "Functions":
		args[0] = string(c.kept)
	}
	return args
}

// recordingTarget is a Target that records its calls; failOn makes the
// method of that name fail with errTargetFailed.
type recordingTarget struct {
	calls  []targetCall
	failOn string
}

var errTargetFailed = errors.New("target refused")

func (r *recordingTarget) add(c targetCall) error {
	r.calls = append(r.calls, c)
	if c.method == r.failOn {
		return errTargetFailed
	}
	return nil
}

func (r *recordingTarget) Changes(cs []engine.Replicated) error {
	return r.add(targetCall{method: "Changes", changes: slices.Clone(cs)})
}

func (r *recordingTarget) Define(name string, def []byte, altered bool) error {
	return r.add(targetCall{method: "Define", args: []string{name, "", fmt.Sprint(altered)}, kept: def})
}

func (r *recordingTarget) Drop(name string) error {
	return r.add(targetCall{method: "Drop", args: []string{name}})
}

func (r *recordingTarget) Query(name string, def []byte) error {
	return r.add(targetCall{method: "Query", args: []string{name, ""}, kept: def, nilArg: def == nil})
}

func (r *recordingTarget) Functions(payload []byte) error {
	return r.add(targetCall{method: "Functions", args: []string{""}, kept: payload})
}

func (r *recordingTarget) Member(id, addr string) error {
	return r.add(targetCall{method: "Member", args: []string{id, addr}})
}

// changeLog is an engine.Observer that keeps each committed batch, copied.
type changeLog struct {
	mu      sync.Mutex
	batches [][]engine.Change
}

func (l *changeLog) Committed(cs []engine.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, slices.Clone(cs))
}

func (l *changeLog) take() [][]engine.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.batches
	l.batches = nil
	return out
}

// The buckets of the replication entry tests: "items" evicts past three
// records, "temp" is not persistent, "nums" has numeric keys.
var replicaDefs = map[string]string{
	"items": `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"},"s":{"type":"string"}},"maxSize":3}`,
	"temp":  `{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`,
	"nums":  `{"key":"k","schema":{"k":{"type":"number","generated":"autoincrement"},"v":{"type":"string"}}}`,
}

// replicaStore returns a store with the replica test buckets defined, its
// change log, and its clock (Unix ms).
func replicaStore(t testing.TB) (*engine.Store, *changeLog, *atomic.Int64) {
	t.Helper()
	clock := new(atomic.Int64)
	clock.Store(1_700_000_000_000)
	s := engine.New(engine.Options{Now: clock.Load})
	log := &changeLog{}
	s.AddObserver(log)
	for name, def := range replicaDefs {
		if err := s.Define(name, []byte(def)); err != nil {
			t.Fatalf("Define(%s): %v", name, err)
		}
	}
	return s, log, clock
}

func replicaObj(t testing.TB, js string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(js))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return o
}

// replicaCommits makes on s every kind of change a commit can hold and
// returns the committed batches: inserts (numeric and string keys, with
// escapes), a transaction over three buckets with a note, updates with and
// without a reason, a delete, an eviction, an expiry, a clear.
func replicaCommits(t testing.TB, s *engine.Store, log *changeLog, clock *atomic.Int64) [][]engine.Change {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	ins := func(bucket, js string, opts engine.InsertOptions) {
		t.Helper()
		_, err := s.Insert(nil, bucket, replicaObj(t, js), opts)
		must("insert "+js, err)
	}
	ins("items", `{"id":"a","n":1,"s":"plain"}`, engine.InsertOptions{})
	ins("items", `{"id":"b\"\n\u00e9","n":2,"s":"esc \"q\" \\ \t"}`, engine.InsertOptions{})
	ins("nums", `{"v":"one"}`, engine.InsertOptions{})

	tx := mustBegin(s, []string{"items", "temp", "nums"})
	_, err := s.Insert(tx, "temp", replicaObj(t, `{"id":"t1"}`), engine.InsertOptions{})
	must("tx insert temp", err)
	tx.Note("a note among the changes")
	_, err = s.Insert(tx, "nums", replicaObj(t, `{"v":"two"}`), engine.InsertOptions{})
	must("tx insert nums", err)
	_, err = s.Update(tx, "items", "a", replicaObj(t, `{"n":10}`), -1)
	must("tx update", err)
	must("tx commit", tx.Commit())

	clock.Add(10)
	_, err = s.Expire(nil, "items", "a", clock.Load()+1000, engine.ExpireAlways)
	must("expire", err)
	_, err = s.Expire(nil, "items", "a", 0, engine.ExpireAlways)
	must("persist", err)
	_, err = s.Delete(nil, "nums", "1", -1)
	must("delete", err)
	ins("items", `{"id":"c","n":3}`, engine.InsertOptions{TTL: 5})
	ins("items", `{"id":"d","n":4}`, engine.InsertOptions{}) // evicts the oldest
	clock.Add(10)
	if n := s.PurgeExpired(); n != 1 {
		t.Fatalf("PurgeExpired = %d, want 1", n)
	}
	_, err = s.Delete(nil, "temp", "t1", -1)
	must("delete temp", err)
	_, err = s.Clear(nil, "nums")
	must("clear", err)
	_, err = s.Clear(nil, "temp")
	must("clear temp", err)
	return log.take()
}

// wantReplicated is what ApplyEntries must hand the target for a change
// that AppendCommit wrote with replicated set, as comparable text.
func wantReplicated(c engine.Change) string {
	switch c.Op {
	case engine.OpInserted, engine.OpUpdated:
		return replicatedText(engine.Replicated{Op: engine.OpInserted, Bucket: c.Bucket, Seq: c.Seq, Counter: c.Counter, Record: c.New, Reason: c.Reason})
	case engine.OpDeleted:
		return replicatedText(engine.Replicated{Op: engine.OpDeleted, Bucket: c.Bucket, Seq: c.Seq, Counter: -1, Key: c.Key, Reason: c.Reason})
	case engine.OpCleared:
		return replicatedText(engine.Replicated{Op: engine.OpCleared, Bucket: c.Bucket, Seq: c.Seq, Counter: -1})
	}
	return ""
}

func replicatedText(r engine.Replicated) string {
	rec := "<nil>"
	if r.Record != nil {
		rec = string(r.Record.JSON())
	}
	key := "<none>"
	if r.Key != nil {
		key = string(jsonv.Marshal(r.Key))
	}
	return fmt.Sprintf("%s %s seq=%d counter=%d key=%s reason=%q record=%s", r.Op, r.Bucket, r.Seq, r.Counter, key, r.Reason, rec)
}

// TestApplyEntriesCommits checks the round trip of a commit through its
// replication entry: AppendCommit(…, true) then ApplyEntries calls
// Target.Changes once per entry with every change of the commit (those of
// non-persistent buckets too, notes left out), each with its bucket,
// sequence number, counter (-1 for DEL and CLEAR), record, key and reason,
// the reason present exactly when the change had one. The records do not
// depend on the entry's bytes afterwards.
func TestApplyEntriesCommits(t *testing.T) {
	t.Parallel()
	s, log, clock := replicaStore(t)
	batches := replicaCommits(t, s, log, clock)
	follower, _, _ := replicaStore(t)
	dec := follower.NewRecordDecoder()

	reasons := map[string]bool{}
	var all []byte
	var want [][]string
	for i, cs := range batches {
		entry := AppendCommit(nil, cs, true)
		all = append(all, entry...)
		var w []string
		for _, c := range cs {
			if c.Op != engine.OpNote {
				w = append(w, wantReplicated(c))
				reasons[c.Reason] = true
			}
		}
		want = append(want, w)

		tgt := &recordingTarget{}
		data := bytes.Clone(entry)
		if err := ApplyEntries(dec, data, tgt); err != nil {
			t.Fatalf("batch %d: ApplyEntries: %v", i, err)
		}
		clear(data) // the records must not point into the entry
		if len(tgt.calls) != 1 || tgt.calls[0].method != "Changes" {
			t.Fatalf("batch %d: calls %+v, want one Changes", i, tgt.calls)
		}
		var got []string
		for _, r := range tgt.calls[0].changes {
			got = append(got, replicatedText(r))
		}
		if !slices.Equal(got, w) {
			t.Errorf("batch %d: Changes got\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
	for _, r := range []string{"", engine.ReasonDeleted, engine.ReasonEvicted, engine.ReasonExpired, engine.ReasonExpire, engine.ReasonPersist} {
		if !reasons[r] {
			t.Errorf("the commits had no change with reason %q", r)
		}
	}

	// All the entries in one piece: one Changes call each, in order.
	tgt := &recordingTarget{}
	if err := ApplyEntries(dec, all, tgt); err != nil {
		t.Fatalf("ApplyEntries(all): %v", err)
	}
	if len(tgt.calls) != len(want) {
		t.Fatalf("ApplyEntries(all): %d calls, want %d", len(tgt.calls), len(want))
	}
	for i, c := range tgt.calls {
		var got []string
		for _, r := range c.changes {
			got = append(got, replicatedText(r))
		}
		if c.method != "Changes" || !slices.Equal(got, want[i]) {
			t.Errorf("ApplyEntries(all), call %d: %s %q, want Changes %q", i, c.method, got, want[i])
		}
	}
}

// TestApplyEntriesFollower checks that a follower store applying the
// leader's replication entries (ApplyEntries into ApplyReplicated) ends
// with the leader's records, counters and event sequence numbers.
func TestApplyEntriesFollower(t *testing.T) {
	t.Parallel()
	s, log, clock := replicaStore(t)
	batches := replicaCommits(t, s, log, clock)
	follower, _, _ := replicaStore(t)
	var data []byte
	for _, cs := range batches {
		data = AppendCommit(data, cs, true)
	}
	if err := ApplyEntries(follower.NewRecordDecoder(), data, storeTarget{follower}); err != nil {
		t.Fatalf("ApplyEntries: %v", err)
	}
	if got, want := storeText(t, follower), storeText(t, s); got != want {
		t.Fatalf("follower\n%s\nwant (leader)\n%s", got, want)
	}
	if err := follower.Check(); err != nil {
		t.Fatal(err)
	}
}

// storeTarget applies changes to a store and refuses everything else.
type storeTarget struct{ s *engine.Store }

func (t storeTarget) Changes(cs []engine.Replicated) error { return t.s.ApplyReplicated(cs) }
func (storeTarget) Define(string, []byte, bool) error      { return errors.New("no Define") }
func (storeTarget) Drop(string) error                      { return errors.New("no Drop") }
func (storeTarget) Query(string, []byte) error             { return errors.New("no Query") }
func (storeTarget) Functions([]byte) error                 { return errors.New("no Functions") }
func (storeTarget) Member(string, string) error            { return errors.New("no Member") }

// storeText is every bucket's figures and records.
func storeText(t *testing.T, s *engine.Store) string {
	t.Helper()
	var b strings.Builder
	for _, name := range s.List() {
		info, err := s.Info(name)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := s.All(nil, name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s counter=%d eventSeq=%d records=%d\n", name, info.Counter, info.EventSeq, info.Records)
		for _, r := range recs {
			fmt.Fprintf(&b, "  %s\n", r.JSON())
		}
	}
	return b.String()
}

// TestAppendCommitWords checks the operations AppendCommit writes: the
// append-only file's form (replicated false) leaves out the changes of
// non-persistent buckets and every reason (PUT of 5 words, DEL of 4); the
// replication form keeps them all and adds a reason word exactly to the
// changes that have one; notes are never written, and a commit with
// nothing to write appends nothing.
func TestAppendCommitWords(t *testing.T) {
	t.Parallel()
	s, log, clock := replicaStore(t)
	batches := replicaCommits(t, s, log, clock)
	for _, replicated := range []bool{false, true} {
		for i, cs := range batches {
			var want []string
			for _, c := range cs {
				if c.Op == engine.OpNote || !c.Persistent && !replicated {
					continue
				}
				reason := ""
				if replicated && c.Reason != "" && c.Op != engine.OpCleared {
					reason = " " + c.Reason
				}
				switch c.Op {
				case engine.OpInserted, engine.OpUpdated:
					want = append(want, fmt.Sprintf("PUT %s %d %d %s%s", c.Bucket, c.Seq, c.Counter, c.New.JSON(), reason))
				case engine.OpDeleted:
					want = append(want, fmt.Sprintf("DEL %s %d %s%s", c.Bucket, c.Seq, jsonv.Marshal(c.Key), reason))
				case engine.OpCleared:
					want = append(want, fmt.Sprintf("CLEAR %s %d", c.Bucket, c.Seq))
				}
			}
			prefix := []byte("prefix")
			data := AppendCommit(bytes.Clone(prefix), cs, replicated)
			if !bytes.HasPrefix(data, prefix) {
				t.Fatalf("replicated=%v batch %d: dst's bytes not kept: %q", replicated, i, data)
			}
			data = data[len(prefix):]
			if len(want) == 0 {
				if len(data) != 0 {
					t.Errorf("replicated=%v batch %d: nothing to write, but appended %q", replicated, i, data)
				}
				continue
			}
			r := NewReader(data, "commit")
			ops, err := r.Next()
			if err != nil {
				t.Fatalf("replicated=%v batch %d: %v", replicated, i, err)
			}
			if rest, err := r.Next(); rest != nil || err != nil {
				t.Fatalf("replicated=%v batch %d: more than one entry (%q, %v)", replicated, i, rest, err)
			}
			var got []string
			for _, op := range ops {
				if err := checkOp(op); err != nil {
					t.Errorf("replicated=%v batch %d: %v", replicated, i, err)
				}
				got = append(got, string(bytes.Join(op, []byte(" "))))
			}
			if !slices.Equal(got, want) {
				t.Errorf("replicated=%v batch %d:\n got %q\nwant %q", replicated, i, got, want)
			}
		}
	}
	// The file form of the test commits does leave something out, and
	// does write some entries: the loop above checked both cases.
	var dropped, empty bool
	for _, cs := range batches {
		n := 0
		for _, c := range cs {
			if c.Op != engine.OpNote && !c.Persistent {
				dropped = true
			} else if c.Op != engine.OpNote {
				n++
			}
		}
		empty = empty || n == 0
	}
	if !dropped || !empty {
		t.Errorf("the test commits miss a case: a non-persistent change %v, a commit of only those %v", dropped, empty)
	}
}

// TestApplyEntriesDefinitions checks that each definition entry
// (AppendDefinition) calls the Target method of its kind with its
// arguments, the byte arguments copied out of the entry, and that several
// entries apply in order.
func TestApplyEntriesDefinitions(t *testing.T) {
	t.Parallel()
	def := `{"key":"id","schema":{"id":{"type":"string"}}}`
	tests := []struct {
		kind    string
		args    []string
		method  string
		want    []string
		nilArg  bool
		wantErr bool
	}{
		{DefBucket, []string{"b1", def}, "Define", []string{"b1", def, "false"}, false, false},
		{DefAlter, []string{"b1", `{"indexes":["x"]}`}, "Define", []string{"b1", `{"indexes":["x"]}`, "true"}, false, false},
		{DefDrop, []string{"b1"}, "Drop", []string{"b1"}, false, false},
		{DefQuery, []string{"q1", `{"bucket":"b1"}`}, "Query", []string{"q1", `{"bucket":"b1"}`}, false, false},
		{DefQueryDrop, []string{"q1"}, "Query", []string{"q1", ""}, true, false},
		{DefFunctions, []string{"\x00binary\r\npayload\xff"}, "Functions", []string{"\x00binary\r\npayload\xff"}, false, false},
		{DefFunctions, []string{""}, "Functions", []string{""}, false, false},
		{DefNode, []string{"n2", "10.0.0.2:6380"}, "Member", []string{"n2", "10.0.0.2:6380"}, false, false},
		// Wrong numbers of arguments are refused before any call.
		{DefBucket, []string{"b1"}, "", nil, false, true},
		{DefDrop, []string{"b1", "extra"}, "", nil, false, true},
		{DefNode, []string{"n2"}, "", nil, false, true},
		{DefFunctions, nil, "", nil, false, true},
	}
	dec := engine.New(engine.Options{}).NewRecordDecoder()
	var all []byte
	var allWant []targetCall
	for _, tc := range tests {
		name := fmt.Sprintf("%s %q", tc.kind, tc.args)
		var args [][]byte
		for _, a := range tc.args {
			args = append(args, []byte(a))
		}
		data := AppendDefinition(nil, tc.kind, args...)
		tgt := &recordingTarget{}
		err := ApplyEntries(dec, data, tgt)
		if tc.wantErr {
			if err == nil || len(tgt.calls) != 0 {
				t.Errorf("%s: err %v, calls %+v; want an error and no call", name, err, tgt.calls)
			}
			continue
		}
		clear(data) // what the target keeps is its own
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(tgt.calls) != 1 {
			t.Errorf("%s: calls %+v, want one", name, tgt.calls)
			continue
		}
		c := tgt.calls[0]
		if c.method != tc.method || !slices.Equal(c.argsNow(), tc.want) || c.nilArg != tc.nilArg {
			t.Errorf("%s: called %s%q (nil definition %v), want %s%q (nil %v)", name, c.method, c.argsNow(), c.nilArg, tc.method, tc.want, tc.nilArg)
		}
		all = AppendDefinition(all, tc.kind, args...)
		allWant = append(allWant, targetCall{method: tc.method, args: tc.want})
	}
	tgt := &recordingTarget{}
	if err := ApplyEntries(dec, all, tgt); err != nil {
		t.Fatalf("all entries: %v", err)
	}
	if len(tgt.calls) != len(allWant) {
		t.Fatalf("all entries: %d calls, want %d", len(tgt.calls), len(allWant))
	}
	for i, c := range tgt.calls {
		if c.method != allWant[i].method || !slices.Equal(c.argsNow(), allWant[i].args) {
			t.Errorf("all entries, call %d: %s%q, want %s%q", i, c.method, c.argsNow(), allWant[i].method, allWant[i].args)
		}
	}
}

// TestApplyEntriesTargetError checks that a target's refusal stops
// ApplyEntries with an error that wraps it, the entries before staying
// applied and those after not applied.
func TestApplyEntriesTargetError(t *testing.T) {
	t.Parallel()
	s, log, clock := replicaStore(t)
	batches := replicaCommits(t, s, log, clock)
	follower, _, _ := replicaStore(t)
	data := AppendDefinition(nil, DefDrop, []byte("x"))
	data = AppendCommit(data, batches[0], true)
	data = AppendDefinition(data, DefNode, []byte("n1"), []byte("a:1"))
	for _, method := range []string{"Drop", "Changes", "Member"} {
		tgt := &recordingTarget{failOn: method}
		err := ApplyEntries(follower.NewRecordDecoder(), data, tgt)
		if !errors.Is(err, errTargetFailed) {
			t.Errorf("failing %s: err %v, want one wrapping the target's", method, err)
		}
		if got := tgt.calls[len(tgt.calls)-1].method; got != method {
			t.Errorf("failing %s: the last call was %s", method, got)
		}
	}
}

// TestApplyEntriesBadEntries checks that entries with a good checksum but
// bad operations are errors and reach no target method: wrong numbers,
// records and keys that do not parse, unknown buckets and operations, a
// snapshot's operations, a definition after a commit's changes.
func TestApplyEntriesBadEntries(t *testing.T) {
	t.Parallel()
	rec := `{"id":"a","n":1,"_version":1,"_createdAt":5,"_updatedAt":5}`
	w := func(words ...string) Op {
		op := make(Op, len(words))
		for i, s := range words {
			op[i] = []byte(s)
		}
		return op
	}
	tests := []struct {
		name string
		ops  []Op
	}{
		{"PUT seq not a number", []Op{w("PUT", "items", "x", "0", rec)}},
		{"PUT seq negative", []Op{w("PUT", "items", "-1", "0", rec)}},
		{"PUT counter not a number", []Op{w("PUT", "items", "1", "z", rec)}},
		{"PUT snapshot form", []Op{w("PUT", "items", rec)}},
		{"PUT four words", []Op{w("PUT", "items", "1", "0")}},
		{"PUT bad record", []Op{w("PUT", "items", "1", "0", `{"id":`)}},
		{"PUT record not an object", []Op{w("PUT", "items", "1", "0", `[1]`)}},
		{"PUT record without its key", []Op{w("PUT", "items", "1", "0", `{"n":1}`)}},
		{"PUT unknown bucket", []Op{w("PUT", "nope", "1", "0", rec)}},
		{"DEL bad key", []Op{w("DEL", "items", "1", `"a`)}},
		{"DEL three words", []Op{w("DEL", "items", "1")}},
		{"DEL seq", []Op{w("DEL", "items", "1.5", `"a"`)}},
		{"CLEAR seq", []Op{w("CLEAR", "items", "")}},
		{"CLEAR four words", []Op{w("CLEAR", "items", "1", "x")}},
		{"unknown op", []Op{w("FROB", "items")}},
		{"snapshot op", []Op{w("SNAPSHOT", "2", "0")}},
		{"bucket op", []Op{w("BUCKET", "items", "{}", "0", "0")}},
		{"definition after changes", []Op{w("CLEAR", "items", "1"), w("DROP", "items")}},
		{"good change then a bad one", []Op{w("CLEAR", "items", "1"), w("CLEAR", "items", "x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := replicaStore(t)
			tgt := &recordingTarget{}
			err := ApplyEntries(s.NewRecordDecoder(), AppendEntry(nil, tc.ops), tgt)
			if err == nil {
				t.Fatalf("ApplyEntries(%q) succeeded", tc.ops)
			}
			if len(tgt.calls) != 0 {
				t.Errorf("ApplyEntries(%q) called %+v", tc.ops, tgt.calls)
			}
		})
	}
}

// TestApplyEntriesDamaged checks that a damaged entry is an error and is
// not applied: every byte flipped (in several ways), and every cut short
// (a torn entry), while the entry whole applies and the empty data
// applies nothing.
func TestApplyEntriesDamaged(t *testing.T) {
	t.Parallel()
	s, log, clock := replicaStore(t)
	batches := replicaCommits(t, s, log, clock)
	follower, _, _ := replicaStore(t)
	dec := follower.NewRecordDecoder()
	entries := map[string][]byte{
		"commit":     AppendCommit(nil, batches[3], true), // the transaction over three buckets
		"definition": AppendDefinition(nil, DefBucket, []byte("b"), []byte(replicaDefs["items"])),
	}
	for name, entry := range entries {
		tgt := &recordingTarget{}
		if err := ApplyEntries(dec, entry, tgt); err != nil || len(tgt.calls) != 1 {
			t.Fatalf("%s whole: err %v, %d calls; want nil, 1", name, err, len(tgt.calls))
		}
		for i := range entry {
			for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
				data := bytes.Clone(entry)
				data[i] ^= mask
				tgt := &recordingTarget{}
				if err := ApplyEntries(dec, data, tgt); err == nil || len(tgt.calls) != 0 {
					t.Fatalf("%s, byte %d ^ %#x (%q): err %v, calls %+v; want an error and no call", name, i, mask, data, err, tgt.calls)
				}
			}
		}
		for n := 1; n < len(entry); n++ {
			tgt := &recordingTarget{}
			if err := ApplyEntries(dec, entry[:n:n], tgt); err == nil || len(tgt.calls) != 0 {
				t.Fatalf("%s cut to %d bytes: err %v, calls %+v; want an error and no call", name, n, err, tgt.calls)
			}
		}
	}
	tgt := &recordingTarget{}
	if err := ApplyEntries(dec, nil, tgt); err != nil || len(tgt.calls) != 0 {
		t.Fatalf("no data: err %v, calls %+v; want nothing", err, tgt.calls)
	}
}

// FuzzApplyEntries feeds ApplyEntries arbitrary data, and arbitrary
// operations in an entry with a good checksum (words separated by spaces,
// operations by newlines), with a decoder of a store that has the test
// buckets, and the changes applied to that store: it must never panic, and
// when it succeeds it has made one call per definition and one Changes call
// per entry with changes.
func FuzzApplyEntries(f *testing.F) {
	s, log, clock := replicaStore(f)
	for _, cs := range replicaCommits(f, s, log, clock) {
		f.Add(AppendCommit(nil, cs, true), "")
	}
	f.Add(AppendDefinition(nil, DefBucket, []byte("x"), []byte(replicaDefs["items"])), "")
	f.Add(AppendDefinition(nil, DefNode, []byte("n"), []byte("a:1")), "")
	f.Add([]byte("*99999999999\r\n"), "")
	f.Add([]byte{}, `PUT items 1 0 {"id":"a","n":1,"_version":1,"_createdAt":5,"_updatedAt":5}`)
	f.Add([]byte{}, `PUT items 2 0 {"id":"a","n":2,"_version":2,"_createdAt":5,"_updatedAt":6,"_expiresAt":9} expire`)
	f.Add([]byte{}, "PUT nums 1 7 {\"k\":1,\"v\":\"x\",\"_version\":1,\"_createdAt\":5,\"_updatedAt\":5}\nDEL nums 2 1 evicted\nCLEAR nums 3")
	f.Add([]byte{}, `PUT items 1 0 {"id":1}`)
	f.Add([]byte{}, `DEL items 1 {"a":1}`)
	f.Add([]byte{}, "QDROP q\nFUNCTIONS x\nALTER items {}")
	f.Fuzz(func(t *testing.T, data []byte, words string) {
		s, _, _ := replicaStore(t)
		dec := s.NewRecordDecoder()
		check := func(data []byte) {
			tgt := &applyingTarget{s: s}
			if err := ApplyEntries(dec, data, tgt); err != nil {
				return
			}
			want := 0
			r := NewReader(data, "fuzz")
			for {
				ops, err := r.Next()
				if err != nil {
					t.Fatalf("ApplyEntries succeeded on data the reader refuses: %v", err)
				}
				if ops == nil {
					break
				}
				changes := 0
				for _, op := range ops {
					switch string(op[0]) {
					case opPut, opDel, opClear:
						changes = 1
					default:
						want++
					}
				}
				want += changes
			}
			if tgt.calls != want {
				t.Fatalf("ApplyEntries succeeded with %d target calls, want %d", tgt.calls, want)
			}
		}
		check(data)
		if words != "" {
			var ops []Op
			for line := range strings.SplitSeq(words, "\n") {
				var op Op
				for w := range strings.SplitSeq(line, " ") {
					op = append(op, []byte(w))
				}
				ops = append(ops, op)
			}
			check(AppendEntry(nil, ops))
		}
	})
}

// applyingTarget counts its calls and applies changes to a store.
type applyingTarget struct {
	s     *engine.Store
	calls int
}

func (a *applyingTarget) Changes(cs []engine.Replicated) error {
	a.calls++
	_ = a.s.ApplyReplicated(cs) // refusals are fine: arbitrary input
	return nil
}
func (a *applyingTarget) Define(string, []byte, bool) error { a.calls++; return nil }
func (a *applyingTarget) Drop(string) error                 { a.calls++; return nil }
func (a *applyingTarget) Query(string, []byte) error        { a.calls++; return nil }
func (a *applyingTarget) Functions([]byte) error            { a.calls++; return nil }
func (a *applyingTarget) Member(string, string) error       { a.calls++; return nil }
