package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

const sessionsDef = `{"key":"id","schema":{
	"id":{"type":"string"},
	"user":{"type":"string"},
	"token":{"type":"string","unique":true},
	"n":{"type":"number"}},
	"indexes":["user","n"],"ttl":"1s","ordered":true}`

// ttlEnv inserts, one ms apart from startMs:
//
//	own  client _expiresAt startMs+500
//	s1   bucket ttl: expires startMs+1001
//	s2   bucket ttl: expires startMs+1002
//	keep TTL option 1h
func ttlEnv(t *testing.T) *env {
	e := newEnv(t)
	e.define("sessions", sessionsDef)
	e.clock.Advance(1)
	e.insert("sessions", `{"id":"s1","user":"u1","token":"t1","n":1}`)
	e.clock.Advance(1)
	e.insert("sessions", `{"id":"s2","user":"u1","token":"t2","n":2}`)
	e.clock.Advance(1)
	r, err := e.s.Insert(nil, "sessions", obj(t, `{"id":"keep","user":"u1","token":"t3","n":3}`), engine.InsertOptions{TTL: 3_600_000})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExpiresAt != startMs+3+3_600_000 {
		t.Fatalf("TTL option: _expiresAt = %d", r.ExpiresAt)
	}
	e.clock.Advance(1)
	r = e.insert("sessions", fmt.Sprintf(`{"id":"own","user":"u2","token":"t4","n":4,"_expiresAt":%d}`, startMs+500))
	if r.ExpiresAt != startMs+500 {
		t.Fatalf("client _expiresAt = %d, want it kept", r.ExpiresAt)
	}
	e.obs.take()
	return e
}

func TestTTLStamp(t *testing.T) {
	e := ttlEnv(t)
	r, _ := e.s.Get(nil, "sessions", "s1")
	want := `{"id":"s1","user":"u1","token":"t1","n":1,"_version":1,"_createdAt":1000001,"_updatedAt":1000001,"_expiresAt":1001001}`
	if r == nil || string(r.JSON()) != want {
		t.Fatalf("s1 = %s, want %s", recText(r), want)
	}
	// An update keeps _expiresAt, whatever the client sends.
	e.clock.Advance(10)
	u, err := e.s.Update(nil, "sessions", "s1", obj(t, `{"n":9,"_expiresAt":1}`), -1)
	if err != nil || u.ExpiresAt != startMs+1001 {
		t.Fatalf("update: %v, _expiresAt %d", err, u.ExpiresAt)
	}
}

func TestTTLInvisibleAtOnce(t *testing.T) {
	e := ttlEnv(t)
	e.clock.Set(startMs + 1001) // s1 expires now (own expired earlier)
	s := e.s
	f := func(js string) *filter.Filter { return flt(t, js) }
	checks := []struct {
		name string
		got  func() string
		want string
	}{
		{"Get expired", func() string { r, _ := s.Get(nil, "sessions", "s1"); return recText(r) }, "nil"},
		{"Get client-expired", func() string { r, _ := s.Get(nil, "sessions", "own"); return recText(r) }, "nil"},
		{"MGet", func() string { rs, _ := s.MGet(nil, "sessions", []string{"s1", "s2", "own"}); return keysOrNil(rs) }, "nil,s2,nil"},
		{"All", func() string { rs, _ := s.All(nil, "sessions"); return keys(rs) }, `"keep","s2"`},
		{"Where indexed eq", func() string { rs, _ := s.Where(nil, "sessions", f(`{"user":"u1"}`)); return keys(rs) }, `"keep","s2"`},
		{"Where indexed range", func() string { rs, _ := s.Where(nil, "sessions", f(`{"n":{"$lte":4}}`)); return keys(rs) }, `"keep","s2"`},
		{"Where by key", func() string { rs, _ := s.Where(nil, "sessions", f(`{"id":{"$in":["s1","s2"]}}`)); return keys(rs) }, `"s2"`},
		{"Where by unique", func() string { rs, _ := s.Where(nil, "sessions", f(`{"token":"t1"}`)); return keys(rs) }, ``},
		{"Where scan", func() string { rs, _ := s.Where(nil, "sessions", f(`{"token":{"$startsWith":"t"}}`)); return keys(rs) }, `"keep","s2"`},
		{"Count", func() string { n, _ := s.Count(nil, "sessions", nil); return fmt.Sprint(n) }, "2"},
		{"Count filtered", func() string { n, _ := s.Count(nil, "sessions", f(`{"user":"u1"}`)); return fmt.Sprint(n) }, "2"},
		{"FindOne", func() string {
			r, _ := s.FindOne(nil, "sessions", f(`{"n":{"$lt":3}}`))
			return keysOrNil([]*engine.Record{r})
		}, "s2"},
		{"First", func() string { rs, _ := s.First(nil, "sessions", 2); return keys(rs) }, `"keep","s2"`},
		{"Last", func() string { rs, _ := s.Last(nil, "sessions", 3); return keys(rs) }, `"keep","s2"`},
		{"Paginate", func() string {
			p, _ := s.Paginate(nil, "sessions", 1, "", false)
			return fmt.Sprintf("%s|%v|%s", keys(p.Records), p.HasMore, jsonv.Marshal(p.Next))
		}, `"keep"|true|"keep"`},
		{"Paginate last page", func() string {
			p, _ := s.Paginate(nil, "sessions", 1, "keep", true)
			return fmt.Sprintf("%s|%v", keys(p.Records), p.HasMore)
		}, `"s2"|false`},
		{"Sum", func() string { v, _, _ := s.Aggregate(nil, "sessions", "sum", "n", nil); return fmt.Sprint(v) }, "5"},
		{"GroupBy", func() string {
			out, _ := s.GroupBy(nil, "sessions", []string{"user"}, "count", "", nil, nil)
			return string(out)
		}, `[{"key":{"user":"u1"},"value":2}]`},
		{"Find", func() string {
			v, _ := jsonv.Parse([]byte(`{"bucket":"sessions","fields":["id"]}`))
			q, _ := query.Parse(v)
			out, _ := s.Find(nil, q, nil)
			return string(out)
		}, `[{"id":"keep"},{"id":"s2"}]`},
		{"Update expired", func() string { _, err := s.Update(nil, "sessions", "s1", obj(t, `{}`), -1); return errKind(err) }, "notfound"},
		{"Delete expired", func() string { ok, err := s.Delete(nil, "sessions", "s1", -1); return fmt.Sprint(ok, err) }, "false <nil>"},
		{"Info", func() string { i, _ := s.Info("sessions"); return fmt.Sprint(i.Records) }, "2"},
		{"Count in tx", func() string {
			tx := mustBegin(s, []string{"sessions"})
			defer tx.Rollback()
			n, _ := s.Count(tx, "sessions", nil)
			return fmt.Sprint(n)
		}, "2"},
	}
	for _, c := range checks {
		if got := c.got(); got != c.want {
			t.Errorf("%s = %s, want %s", c.name, got, c.want)
		}
	}
	e.wantChanges() // reads delete nothing
}

func TestPurgeExpired(t *testing.T) {
	e := ttlEnv(t)
	e.define("other", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":10}`)
	e.insert("other", `{"id":"o1"}`)
	e.obs.take()
	if n := e.s.PurgeExpired(); n != 0 {
		t.Errorf("PurgeExpired before anything expired = %d", n)
	}
	e.wantChanges()
	e.clock.Set(startMs + 1001)
	if n := e.s.PurgeExpired(); n != 3 {
		t.Errorf("PurgeExpired = %d, want 3", n)
	}
	got := e.obs.take()
	var short []string
	for _, c := range got {
		if c.Op != engine.OpDeleted || c.Reason != engine.ReasonExpired || c.Old == nil || c.New != nil {
			t.Errorf("purge change: %s", changeText(c))
		}
		short = append(short, fmt.Sprintf("%s/%s/%d", c.Bucket, keyArg(c.Key), c.Seq))
	}
	// Per bucket in expiry order; the buckets in any order.
	sessions := strings.Join(filterPrefix(short, "sessions/"), " ")
	if sessions != "sessions/own/5 sessions/s1/6" || !strings.Contains(strings.Join(short, " "), "other/o1/2") || len(short) != 3 {
		t.Errorf("purge changes = %v", short)
	}
	if n := e.s.PurgeExpired(); n != 0 {
		t.Errorf("second PurgeExpired = %d", n)
	}
	e.wantChanges()
	e.check()
	if e.count("sessions") != 2 {
		t.Errorf("count after purge = %d", e.count("sessions"))
	}
	e.clock.Advance(1)
	if n := e.s.PurgeExpired(); n != 1 {
		t.Errorf("PurgeExpired of s2 = %d", n)
	}
	e.wantChanges(`deleted "s2" 7 expired`)
}

func filterPrefix(ss []string, p string) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s, p) {
			out = append(out, s)
		}
	}
	return out
}

func TestTTLExpiredKeyAndUniqueReusable(t *testing.T) {
	e := ttlEnv(t)
	e.clock.Set(startMs + 1001)
	// The key of an expired record that the sweep has not removed yet.
	r, err := e.s.Insert(nil, "sessions", obj(t, `{"id":"s1","user":"u9","token":"t9"}`), engine.InsertOptions{})
	if err != nil {
		t.Fatalf("insert over an expired key: %v", err)
	}
	if r.Version != 1 || r.CreatedAt != startMs+1001 {
		t.Errorf("new record = %s", r.JSON())
	}
	e.wantChanges(`deleted "s1" 5 expired`, `inserted "s1" 6`)
	// The unique value held by an expired record.
	if _, err := e.s.Insert(nil, "sessions", obj(t, `{"id":"new","token":"t4"}`), engine.InsertOptions{}); err != nil {
		t.Fatalf("insert with the token of an expired record: %v", err)
	}
	e.wantChanges(`deleted "own" 7 expired`, `inserted "new" 8`)
	// And by update.
	e.clock.Set(startMs + 1002) // s2 expires
	if _, err := e.s.Update(nil, "sessions", "keep", obj(t, `{"token":"t2"}`), -1); err != nil {
		t.Fatalf("update to the token of an expired record: %v", err)
	}
	e.wantChanges(`deleted "s2" 9 expired`, `updated "keep" 10`)
	e.check()
}

const cappedDef = `{"key":"id","schema":{
	"id":{"type":"string"},
	"u":{"type":"string","unique":true},
	"v":{"type":"number","min":0}},
	"indexes":["v"],"maxSize":3,"ordered":true}`

func TestMaxSizeEvictsOldest(t *testing.T) {
	e := newEnv(t)
	e.define("capped", cappedDef)
	for _, id := range []string{"c", "a", "b"} { // key order differs from age
		e.clock.Advance(1)
		e.insert("capped", fmt.Sprintf(`{"id":%q,"u":%q,"v":1}`, id, id))
	}
	e.obs.take()
	e.clock.Advance(1)
	e.s.Update(nil, "capped", "c", obj(t, `{"v":2}`), -1) // an update does not make it younger
	e.obs.take()

	e.clock.Advance(1)
	e.insert("capped", `{"id":"d","u":"d","v":1}`)
	e.wantChanges(`deleted "c" 5 evicted`, `inserted "d" 6`)
	if got := keys(mustAll(e, "capped")); got != `"a","b","d"` {
		t.Fatalf("after eviction: %s", got)
	}

	// Failed inserts into a full bucket evict nothing.
	before := e.all("capped")
	bad := []struct{ rec, kind string }{
		{`{"id":"e","v":-1}`, "validation"},
		{`{"id":"a","v":1}`, "exists"},
		{`{"id":"e","u":"b"}`, "unique"},
	}
	for _, b := range bad {
		if _, err := e.s.Insert(nil, "capped", obj(t, b.rec), engine.InsertOptions{}); errKind(err) != b.kind {
			t.Errorf("Insert(%s) = %v, want %s", b.rec, err, b.kind)
		}
	}
	objs := []*jsonv.Object{obj(t, `{"id":"e"}`), obj(t, `{"id":"f","v":-5}`)}
	if _, err := e.s.InsertMany(nil, "capped", objs); errKind(err) != "validation" {
		t.Errorf("InsertMany with a bad element: %v", err)
	}
	if _, err := e.s.Upsert(nil, "capped", obj(t, `{"id":"e","v":-5}`)); errKind(err) != "validation" {
		t.Errorf("Upsert invalid: %v", err)
	}
	if after := e.all("capped"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("a failed insert evicted:\n%s", strings.Join(after, "\n"))
	}
	e.wantChanges()

	// A rolled-back insert gives the evicted record back.
	tx := mustBegin(e.s, []string{"capped"})
	if _, err := e.s.Insert(tx, "capped", obj(t, `{"id":"e"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if after := e.all("capped"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("rollback did not restore the evicted record")
	}
	e.wantChanges()

	// Updates and upserts of existing keys evict nothing.
	e.s.Upsert(nil, "capped", obj(t, `{"id":"a","v":7}`))
	e.wantChanges(`updated "a" 7`)

	// InsertMany evicts as many as it needs, oldest first.
	e.clock.Advance(1)
	objs = []*jsonv.Object{obj(t, `{"id":"e"}`), obj(t, `{"id":"f"}`)}
	if _, err := e.s.InsertMany(nil, "capped", objs); err != nil {
		t.Fatal(err)
	}
	e.wantChanges(`deleted "a" 8 evicted`, `inserted "e" 9`, `deleted "b" 10 evicted`, `inserted "f" 11`)
	if got := keys(mustAll(e, "capped")); got != `"d","e","f"` {
		t.Errorf("after InsertMany: %s", got)
	}
	if recs, _ := e.s.Where(nil, "capped", flt(t, `{"v":{"$gte":0}}`)); keys(recs) != `"d"` {
		t.Errorf("index after evictions: %s", keys(recs))
	}
}

func TestMaxSizePrefersExpired(t *testing.T) {
	e := newEnv(t)
	e.define("c", `{"key":"id","schema":{"id":{"type":"string"}},"maxSize":2,"ttl":"1s"}`)
	e.insert("c", `{"id":"x"}`)
	e.clock.Advance(500)
	e.insert("c", `{"id":"y"}`)
	e.obs.take()
	e.clock.Advance(600) // x has expired, y has not
	e.insert("c", `{"id":"z"}`)
	e.wantChanges(`deleted "x" 3 expired`, `inserted "z" 4`)
	if got := keys(mustAll(e, "c")); got != `"y","z"` {
		t.Errorf("records = %s", got)
	}
}

func mustAll(e *env, bucket string) []*engine.Record {
	e.t.Helper()
	recs, err := e.s.All(nil, bucket)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

// TestTxClockReadUnderLocks: a transaction that waited for a bucket's lock
// must judge expiry (and stamp its writes) with the time at which it got
// the lock, not the time at which it asked for it: a record that expired
// while it waited is invisible to it.
func TestTxClockReadUnderLocks(t *testing.T) {
	clock := newFakeClock(startMs)
	calls := make(chan struct{}, 64)
	s := engine.New(engine.Options{Now: func() int64 {
		select {
		case calls <- struct{}{}:
		default:
		}
		return clock.Now()
	}})
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("invariant check after test: %v", err)
		}
	})
	if err := s.Define("c", []byte(`{"key":"id","schema":{"id":{"type":"string"}},"ttl":"1s"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(nil, "c", obj(t, `{"id":"r"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	holder := mustBegin(s, []string{"c"})
	for len(calls) > 0 {
		<-calls
	}
	got := make(chan string)
	go func() {
		tx := mustBegin(s, []string{"c"}) // waits for holder
		r, _ := s.Get(tx, "c", "r")
		n, _ := s.Count(tx, "c", nil)
		ins, _ := s.Insert(tx, "c", obj(t, `{"id":"new"}`), engine.InsertOptions{})
		tx.Rollback()
		got <- fmt.Sprintf("visible=%v count=%d createdAt=%d", r != nil, n, ins.CreatedAt)
	}()
	select { // the waiting Begin reads the clock now, or once it has the lock
	case <-calls:
	case <-time.After(500 * time.Millisecond):
	}
	clock.Set(startMs + 5000) // r expires while the transaction waits
	holder.Rollback()
	want := fmt.Sprintf("visible=false count=0 createdAt=%d", startMs+5000)
	if g := <-got; g != want {
		t.Errorf("transaction that waited for the lock: %s, want %s", g, want)
	}
}
