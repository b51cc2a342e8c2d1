package engine_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// stepClock is a clock for the read-time limit that moves 1 ms each time it
// is read.
type stepClock struct{ n atomic.Int64 }

func (c *stepClock) now() time.Time {
	return time.Unix(0, 0).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

// limitEnv is an env with the nums bucket holding n records and a stepping
// read clock.
func limitEnv(t *testing.T, n int) *env {
	e := newEnv(t)
	engine.SetReadClock(e.s, (&stepClock{}).now)
	e.define("nums", numsDef)
	objs := make([]*jsonv.Object, n)
	for i := range objs {
		objs[i] = obj(t, fmt.Sprintf(`{"n":%d,"v":"v%d"}`, i, i%7))
	}
	if _, err := e.s.InsertMany(nil, "nums", objs); err != nil {
		t.Fatal(err)
	}
	e.obs.take()
	return e
}

// scanningReads runs every scanning read of r on nums with a filter that no
// index serves, and returns their errors by name.
func scanningReads(t *testing.T, r engine.Limited) map[string]error {
	f := flt(t, `{"v":{"$contains":"v"}}`)
	q, err := query.ParseForBucket(mustJSON(t, `{"filter":{"v":{"$contains":"v"}}}`), "nums")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]error{}
	_, out["Where"] = r.Where(nil, "nums", f)
	_, out["All"] = r.All(nil, "nums")
	_, out["FindOne"] = r.FindOne(nil, "nums", flt(t, `{"v":"none"}`))
	_, out["Count"] = r.Count(nil, "nums", f)
	_, _, out["Aggregate"] = r.Aggregate(nil, "nums", "sum", "n", f)
	_, out["GroupBy"] = r.GroupBy(nil, "nums", []string{"v"}, "count", "", f, nil)
	_, out["Find"] = r.Find(nil, q, nil)
	_, out["Paginate"] = r.Paginate(nil, "nums", 1<<30, "", false)
	_, out["UpdateMany"] = r.UpdateMany(nil, "nums", f, obj(t, `{"v":"vv"}`))
	_, out["DeleteMany"] = r.DeleteMany(nil, "nums", f)
	return out
}

func mustJSON(t *testing.T, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReadTimeLimit(t *testing.T) {
	e := limitEnv(t, 5000)
	e.s.SetReadTimeLimit(5 * time.Millisecond) // 5 looks at the clock: 1280 records
	if e.s.ReadTimeLimit() != 5*time.Millisecond {
		t.Fatalf("ReadTimeLimit = %v", e.s.ReadTimeLimit())
	}
	errs := scanningReads(t, e.s.Limit(engine.ReadLimit{}))
	for name, err := range errs {
		var te *engine.TimeoutError
		if !errors.As(err, &te) {
			t.Errorf("%s: err %v, want a TimeoutError", name, err)
			continue
		}
		if want := "read stopped after 5 ms (read-time-limit); use an index or a narrower filter"; err.Error() != want {
			t.Errorf("%s: %q, want %q", name, err, want)
		}
	}
	if got := e.s.ReadsTimedOut(); got != int64(len(errs)) {
		t.Errorf("ReadsTimedOut = %d, want %d", got, len(errs))
	}
	if got := e.obs.take(); len(got) != 0 {
		t.Errorf("timed-out reads published %d changes", len(got))
	}
	// The plain Store methods have the limit too; an index or a small
	// result does not scan long enough to meet it.
	if _, err := e.s.Where(nil, "nums", flt(t, `{"v":{"$contains":"v"}}`)); err == nil {
		t.Error("Store.Where: no error past the limit")
	}
	if recs, err := e.s.Where(nil, "nums", flt(t, `{"n":{"$in":[4990,7,12]}}`)); err != nil || len(recs) != 3 {
		t.Errorf("key look-up: %d records, %v", len(recs), err)
	}
	if p, err := e.s.Paginate(nil, "nums", 10, "", false); err != nil || len(p.Records) != 10 {
		t.Errorf("short page: %d records, %v", len(p.Records), err)
	}
	e.s.SetReadTimeLimit(0)
	for name, err := range scanningReads(t, e.s.Limit(engine.ReadLimit{})) {
		if err != nil {
			t.Errorf("no limit: %s: %v", name, err)
		}
	}
	if got := e.count("nums"); got != 0 {
		t.Errorf("DeleteMany without a limit left %d records", got)
	}
}

func TestReadTimeLimitChangesNothing(t *testing.T) {
	e := limitEnv(t, 5000)
	before := e.all("nums")
	e.s.SetReadTimeLimit(3 * time.Millisecond)
	if _, err := e.s.UpdateMany(nil, "nums", flt(t, `{"v":{"$contains":"v"}}`), obj(t, `{"v":"x"}`)); err == nil {
		t.Fatal("UpdateMany: no error past the limit")
	}
	if _, err := e.s.DeleteMany(nil, "nums", flt(t, `{"v":{"$contains":"v"}}`)); err == nil {
		t.Fatal("DeleteMany: no error past the limit")
	}
	e.s.SetReadTimeLimit(0)
	after := e.all("nums")
	if len(after) != len(before) {
		t.Fatalf("%d records after, %d before", len(after), len(before))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("record %d changed: %s -> %s", i, before[i], after[i])
		}
	}
	if got := e.obs.take(); len(got) != 0 {
		t.Errorf("timed-out writes published %d changes", len(got))
	}
	// A transaction's matching phase is limited too, and its failure
	// leaves the transaction's earlier writes to its caller.
	e.s.SetReadTimeLimit(3 * time.Millisecond)
	tx := mustBegin(e.s, []string{"nums"})
	if _, err := e.s.DeleteMany(tx, "nums", flt(t, `{"v":{"$contains":"v"}}`)); err == nil {
		t.Error("DeleteMany in a transaction: no error past the limit")
	}
	tx.Rollback()
	e.check()
}

func TestReadCancelled(t *testing.T) {
	e := limitEnv(t, 5000)
	e.s.SetReadTimeLimit(0)
	var polls atomic.Int64
	cancel := func() bool { polls.Add(1); return true } // the client has left
	errs := scanningReads(t, e.s.Limit(engine.ReadLimit{Cancelled: cancel}))
	for name, err := range errs {
		var ce *engine.CancelledError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err %v, want a CancelledError", name, err)
		}
	}
	if got := e.s.ReadsCancelled(); got != int64(len(errs)) {
		t.Errorf("ReadsCancelled = %d, want %d", got, len(errs))
	}
	if polls.Load() != int64(len(errs)) {
		t.Errorf("%d polls for %d reads", polls.Load(), len(errs))
	}
	if got := e.count("nums"); got != 5000 {
		t.Errorf("cancelled DeleteMany left %d records of 5000", got)
	}
	if e.s.ReadsTimedOut() != 0 {
		t.Errorf("ReadsTimedOut = %d with no limit", e.s.ReadsTimedOut())
	}
	// A client that stays never stops a read.
	for name, err := range scanningReads(t, e.s.Limit(engine.ReadLimit{Cancelled: func() bool { return false }})) {
		if err != nil {
			t.Errorf("client still there: %s: %v", name, err)
		}
	}
}

func TestReadsOrAsIn(t *testing.T) {
	e := limitEnv(t, 100)
	recs, err := e.s.Where(nil, "nums", flt(t, `{"$or":[{"v":"v1"},{"v":"v3"},{"n":2}]}`))
	if err != nil || len(recs) != 30 || e.s.ReadsOrAsIn() != 0 {
		t.Fatalf("mixed $or: %d records, %v, ReadsOrAsIn %d", len(recs), err, e.s.ReadsOrAsIn())
	}
	orRecs, err := e.s.Where(nil, "nums", flt(t, `{"$or":[{"v":"v1"},{"v":"v3"}]}`))
	if err != nil || e.s.ReadsOrAsIn() != 1 {
		t.Fatalf("$or on v: %v, ReadsOrAsIn %d", err, e.s.ReadsOrAsIn())
	}
	inRecs, err := e.s.Where(nil, "nums", flt(t, `{"v":{"$in":["v1","v3"]}}`))
	if err != nil || keys(orRecs) != keys(inRecs) || len(inRecs) != 29 {
		t.Fatalf("$or gives %s, $in %s (%v)", keys(orRecs), keys(inRecs), err)
	}
	// On the key field the $or is read through the key index, in order.
	orRecs, err = e.s.Where(nil, "nums", flt(t, `{"$or":[{"n":50},{"n":3},{"n":77},{"n":1000}]}`))
	if err != nil || keys(orRecs) != "3,50,77" {
		t.Fatalf("$or on the key: %s, %v", keys(orRecs), err)
	}
}
