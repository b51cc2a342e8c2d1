package tests

import (
	"fmt"
	"testing"
	"time"
)

// TTL and maxSize (docs/commands.md, "TTL and maxSize"): expired records vanish from
// every read at once and are deleted by the sweep or STORE.PURGETTL with a
// deleted event (reason "expired"); a full bucket evicts its oldest records
// (reason "evicted"); a failed insert evicts nothing.

// ttlDef is a TTL bucket with an index; ttl is its JSON value.
func ttlDef(ttl string) string {
	return `{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string"}},"indexes":["role"],` +
		`"ttl":` + ttl + `,"persistent":false}`
}

// ttlCapDef is a bucket of at most max records.
func ttlCapDef(max int, ordered bool) string {
	return fmt.Sprintf(`{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number","required":true},`+
		`"tag":{"type":"string","unique":true}},"maxSize":%d,"ordered":%v,"persistent":false}`, max, ordered)
}

// ttlTimes returns a record's _createdAt and _expiresAt (0 when absent).
func ttlTimes(t *testing.T, rec string) (created, expires float64) {
	t.Helper()
	m := parseRec(t, rec)
	e, _ := m["_expiresAt"].(float64)
	return num(t, m, "_createdAt"), e
}

// ttlInvisible checks that no read of bucket b shows the expired record
// gone, and that they all show keep, the only live record.
func ttlInvisible(t *testing.T, r *rc, b, gone, keep string) {
	t.Helper()
	r.null("B.GET", b, gone)
	eq(t, "B.MGET", r.list("B.MGET", b, gone, "keep"), []string{"<nil>", keep})
	r.integer(1, "B.COUNT", b)
	r.integer(1, "B.COUNT", b, `{"role":"admin"}`)
	eq(t, "B.ALL", r.list("B.ALL", b), []string{keep})
	eq(t, "B.WHERE on the index", r.list("B.WHERE", b, `{"role":"admin"}`), []string{keep})
	eq(t, "B.WHERE by scan", r.list("B.WHERE", b, `{"id":{"$startsWith":"s"}}`), []string{})
	eq(t, "B.FIRST", r.list("B.FIRST", b, "10"), []string{keep})
	eq(t, "B.LAST", r.list("B.LAST", b, "10"), []string{keep})
	r.null("B.FINDONE", b, `{"id":"`+gone+`"}`)
}

// ttlAwait collects events from sub until n have arrived.
func ttlAwait(t *testing.T, sub *RawConn, n int) []string {
	t.Helper()
	var got []string
	eventually(t, 10*time.Second, fmt.Sprint(n, " events"), func() bool {
		got = append(got, evRecv(t, sub)...)
		return len(got) >= n
	})
	return got
}

func TestTTLExpiryAndSweep(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "50ms")
	r := newRC(t, s, 2)
	r.define("sess", ttlDef("300"))
	sub := evSub(t, s, 2, "bucket.sess.*")
	s1 := r.str("B.INSERT", "sess", `{"id":"s1","role":"admin"}`)
	created, expires := ttlTimes(t, s1)
	eq(t, "_expiresAt - _createdAt", expires-created, 300.0)
	keep := r.str("B.INSERT", "sess", `{"id":"keep","role":"admin"}`, "TTL", "1h")
	created, expires = ttlTimes(t, keep)
	eq(t, "TTL 1h overrides the bucket's", expires-created, 3600000.0)
	eventually(t, 10*time.Second, "s1 to expire", func() bool { return r.do("B.GET", "sess", "s1") == nil })
	ttlInvisible(t, r, "sess", "s1", keep)
	eq(t, "events", ttlAwait(t, sub, 3), []string{
		evM("sess", "inserted", evIns("sess", `"s1"`, s1, 1)),
		evM("sess", "inserted", evIns("sess", `"keep"`, keep, 2)),
		evM("sess", "deleted", evDel("sess", `"s1"`, s1, "expired", 3)),
	})
	ttlInvisible(t, r, "sess", "s1", keep)
	psNothing(t, sub, "after the sweep")
}

func TestTTLInvisibleBeforeSweepAndPurge(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "1h") // no sweep: only reads and PURGETTL
	r := newRC(t, s, 3)
	r.define("sess", ttlDef("200"))
	sub := evSub(t, s, 3, "bucket.sess.*")
	recs := map[string]string{}
	for _, id := range []string{"s1", "s2", "s3"} {
		recs[id] = r.str("B.INSERT", "sess", `{"id":"`+id+`","role":"admin"}`)
	}
	keep := r.str("B.INSERT", "sess", `{"id":"keep","role":"admin"}`, "TTL", "1h")
	eventually(t, 10*time.Second, "s1..s3 to expire", func() bool { return r.do("B.COUNT", "sess") == int64(1) })
	for _, id := range []string{"s1", "s2", "s3"} {
		ttlInvisible(t, r, "sess", id, keep)
	}
	eq(t, "events before any sweep", len(evRecv(t, sub)), 4)
	// Inserting over an expired record is not EXISTS.
	s1b := r.str("B.INSERT", "sess", `{"id":"s1","role":"user"}`)
	eq(t, "events of the insert over an expired record", evRecv(t, sub), []string{
		evM("sess", "deleted", evDel("sess", `"s1"`, recs["s1"], "expired", 5)),
		evM("sess", "inserted", evIns("sess", `"s1"`, s1b, 6)),
	})
	r.integer(2, "STORE.PURGETTL")
	got := evRecv(t, sub)
	if len(got) != 2 || (got[0] != evM("sess", "deleted", evDel("sess", `"s2"`, recs["s2"], "expired", 7)) &&
		got[0] != evM("sess", "deleted", evDel("sess", `"s3"`, recs["s3"], "expired", 7))) {
		t.Errorf("STORE.PURGETTL events: %q", got)
	}
	r.integer(0, "STORE.PURGETTL")
	psNothing(t, sub, "second STORE.PURGETTL")
	r.integer(2, "B.COUNT", "sess")
}

func TestTTLPerRecordAndClientExpiresAt(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "50ms")
	r := newRC(t, s, 2)
	r.define("plain", `{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string"}},"persistent":false}`)
	r.define("cli", `{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string"}},"persistent":false}`)
	r.define("sess", ttlDef("300"))
	sub := evSub(t, s, 2, "bucket.plain.deleted")
	forever := r.str("B.INSERT", "plain", `{"id":"forever"}`)
	if _, e := ttlTimes(t, forever); e != 0 {
		t.Errorf("a record of a bucket without TTL has _expiresAt: %s", forever)
	}
	short := r.str("B.INSERT", "plain", `{"id":"short"}`, "PX", "200")
	created, expires := ttlTimes(t, short)
	eq(t, "PX 200", expires-created, 200.0)
	sec := r.str("B.INSERT", "plain", `{"id":"sec"}`, "TTL", "1s")
	created, expires = ttlTimes(t, sec)
	eq(t, "TTL 1s", expires-created, 1000.0)
	r.err(`ERR invalid TTL "abc": expected a positive duration with a unit, as in "30s", "5m", "1h" or "7d"`, "B.INSERT", "plain", `{"id":"bad"}`, "TTL", "abc")
	r.null("B.GET", "plain", "bad")
	// A client _expiresAt is kept on insert, also in a TTL bucket, and
	// ignored on update.
	at := time.Now().Add(time.Hour).UnixMilli()
	for _, b := range []string{"cli", "sess"} {
		rec := r.str("B.INSERT", b, fmt.Sprintf(`{"id":"client","_expiresAt":%d}`, at))
		if _, e := ttlTimes(t, rec); e != float64(at) {
			t.Errorf("%s: client _expiresAt %d not kept: %s", b, at, rec)
		}
		upd := r.str("B.UPDATE", b, "client", `{"role":"x","_expiresAt":1}`)
		if _, e := ttlTimes(t, upd); e != float64(at) {
			t.Errorf("%s: update changed _expiresAt: %s", b, upd)
		}
	}
	r.str("B.INSERT", "sess", `{"id":"bucketTTL"}`)
	eq(t, "deleted events", ttlAwait(t, sub, 2), []string{
		evM("plain", "deleted", evDel("plain", `"short"`, short, "expired", 4)),
		evM("plain", "deleted", evDel("plain", `"sec"`, sec, "expired", 5)),
	})
	eventually(t, 10*time.Second, "the bucket-TTL record to expire", func() bool { return r.do("B.GET", "sess", "bucketTTL") == nil })
	eq(t, "client _expiresAt outlives the bucket TTL", r.keys("id", "B.ALL", "sess"), []string{"client"})
	eq(t, "plain records", r.list("B.ALL", "plain"), []string{forever})
	eq(t, "cli records", r.keys("id", "B.ALL", "cli"), []string{"client"})
}

func TestTTLMaxSizeEviction(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("cap", ttlCapDef(3, false))
	r.define("ord", ttlCapDef(2, true))
	sub := evSub(t, s, 2, "bucket.cap.*", "bucket.ord.*")
	a := r.str("B.INSERT", "cap", `{"id":"a","n":1}`)
	b := r.str("B.INSERT", "cap", `{"id":"b","n":2}`)
	c := r.str("B.INSERT", "cap", `{"id":"c","n":3}`)
	a2 := r.str("B.UPDATE", "cap", "a", `{"n":10}`) // newest _updatedAt, still the oldest _createdAt
	d := r.str("B.INSERT", "cap", `{"id":"d","n":4}`)
	eq(t, "after inserting d", r.keys("id", "B.ALL", "cap"), []string{"b", "c", "d"})
	e := r.str("B.INSERT", "cap", `{"id":"e","n":5}`)
	eq(t, "after inserting e", r.keys("id", "B.ALL", "cap"), []string{"c", "d", "e"})
	r.integer(3, "B.COUNT", "cap")
	eq(t, "events", evRecv(t, sub), []string{
		evM("cap", "inserted", evIns("cap", `"a"`, a, 1)),
		evM("cap", "inserted", evIns("cap", `"b"`, b, 2)),
		evM("cap", "inserted", evIns("cap", `"c"`, c, 3)),
		evM("cap", "updated", evUpd("cap", `"a"`, a, a2, 4)),
		evM("cap", "deleted", evDel("cap", `"a"`, a2, "evicted", 5)),
		evM("cap", "inserted", evIns("cap", `"d"`, d, 6)),
		evM("cap", "deleted", evDel("cap", `"b"`, b, "evicted", 7)),
		evM("cap", "inserted", evIns("cap", `"e"`, e, 8)),
	})
	// An ordered bucket still evicts by _createdAt, not by key.
	z := r.str("B.INSERT", "ord", `{"id":"z","n":1}`)
	y := r.str("B.INSERT", "ord", `{"id":"y","n":2}`)
	x := r.str("B.INSERT", "ord", `{"id":"x","n":3}`)
	eq(t, "ordered bucket", r.list("B.ALL", "ord"), []string{x, y})
	eq(t, "ordered bucket events", evRecv(t, sub), []string{
		evM("ord", "inserted", evIns("ord", `"z"`, z, 1)),
		evM("ord", "inserted", evIns("ord", `"y"`, y, 2)),
		evM("ord", "deleted", evDel("ord", `"z"`, z, "evicted", 3)),
		evM("ord", "inserted", evIns("ord", `"x"`, x, 4)),
	})
}

func TestTTLMaxSizeFailedInsertEvictsNothing(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("cap", ttlCapDef(3, false))
	r.insert("cap", `{"id":"a","n":1,"tag":"ta"}`, `{"id":"b","n":2,"tag":"tb"}`, `{"id":"c","n":3}`)
	sub := evSub(t, s, 2, "bucket.cap.*")
	r.failsUnchanged(`VALIDATION Validation failed for bucket "cap": n: Field is required`, "B.INSERT", "cap", `{"id":"d"}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "cap": n: Expected type "number", got string`, "B.INSERT", "cap", `{"id":"d","n":"x"}`)
	r.failsUnchanged(`EXISTS Record with key "a" already exists in bucket "cap"`, "B.INSERT", "cap", `{"id":"a","n":9}`)
	r.failsUnchanged(`UNIQUE Unique constraint violation in bucket "cap": field "tag" already has value "tb"`, "B.INSERT", "cap", `{"id":"d","n":4,"tag":"tb"}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "cap": n: Field is required`, "B.INSERTMANY", "cap", `[{"id":"d","n":4},{"id":"e","n":5},{"id":"f"}]`)
	r.failsUnchanged(`ERR invalid JSON*`, "B.INSERT", "cap", `{"id":"d","n":`)
	eq(t, "records", r.keys("id", "B.ALL", "cap"), []string{"a", "b", "c"})
	psNothing(t, sub, "failed inserts into a full bucket")
}

func TestTTLMaxSizeInsertMany(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 3)
	r.define("cap", ttlCapDef(3, false))
	sub := evSub(t, s, 3, "bucket.cap.*")
	recs := r.list("B.INSERTMANY", "cap", `[{"id":"r1","n":1},{"id":"r2","n":2},{"id":"r3","n":3},{"id":"r4","n":4},{"id":"r5","n":5}]`)
	eq(t, "reply", recKeys(t, "id", recs), []string{"r1", "r2", "r3", "r4", "r5"})
	eq(t, "kept", r.list("B.ALL", "cap"), recs[2:])
	r.integer(3, "B.COUNT", "cap")
	eq(t, "events", evRecv(t, sub), []string{
		evM("cap", "inserted", evIns("cap", `"r1"`, recs[0], 1)),
		evM("cap", "inserted", evIns("cap", `"r2"`, recs[1], 2)),
		evM("cap", "inserted", evIns("cap", `"r3"`, recs[2], 3)),
		evM("cap", "deleted", evDel("cap", `"r1"`, recs[0], "evicted", 4)),
		evM("cap", "inserted", evIns("cap", `"r4"`, recs[3], 5)),
		evM("cap", "deleted", evDel("cap", `"r2"`, recs[1], "evicted", 6)),
		evM("cap", "inserted", evIns("cap", `"r5"`, recs[4], 7)),
	})
	more := r.list("B.INSERTMANY", "cap", `[{"id":"r6","n":6},{"id":"r7","n":7}]`)
	eq(t, "after a second batch", r.list("B.ALL", "cap"), []string{recs[4], more[0], more[1]})
	eq(t, "second batch events", len(evRecv(t, sub)), 4)
}

func TestTTLMaxSizeExpiredFirst(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "1h")
	r := newRC(t, s, 2)
	r.define("cap", ttlCapDef(2, false))
	sub := evSub(t, s, 2, "bucket.cap.deleted")
	x := r.str("B.INSERT", "cap", `{"id":"x","n":1}`, "PX", "100")
	y := r.str("B.INSERT", "cap", `{"id":"y","n":2}`)
	eventually(t, 10*time.Second, "x to expire", func() bool { return r.do("B.GET", "cap", "x") == nil })
	z := r.str("B.INSERT", "cap", `{"id":"z","n":3}`)
	// The expired record makes room; the live, older y is not evicted.
	eq(t, "records", r.list("B.ALL", "cap"), []string{y, z})
	eq(t, "deleted events", evRecv(t, sub), []string{evM("cap", "deleted", evDel("cap", `"x"`, x, "expired", 3))})
}
