package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Events (docs/commands.md, "Events"): every committed write publishes one
// message on bucket.<name>.<inserted|updated|deleted|cleared> with an exact
// JSON payload and a per-bucket seq. The ev* helpers are shared by
// tx_test.go, ttl_test.go and slowsub_test.go.

// evKeyDef is a bucket with a string key, an indexed number and a required
// name.
const evKeyDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"age":{"type":"number","min":0},"email":{"type":"string","unique":true}},"indexes":["age"],"persistent":false}`

// evJSON is s as a JSON string.
func evJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// evIns, evUpd, evDel and evClr are the exact event payloads of docs/commands.md ("Event payloads")
// section 5; key is the key as JSON (`"u1"`, `3`).
func evIns(bucket, key, rec string, seq int) string {
	return `{"type":"inserted","bucket":` + evJSON(bucket) + `,"key":` + key + `,"record":` + rec + `,"seq":` + strconv.Itoa(seq) + `}`
}

func evUpd(bucket, key, old, rec string, seq int) string {
	return `{"type":"updated","bucket":` + evJSON(bucket) + `,"key":` + key + `,"oldRecord":` + old + `,"newRecord":` + rec + `,"seq":` + strconv.Itoa(seq) + `}`
}

func evDel(bucket, key, rec, reason string, seq int) string {
	return `{"type":"deleted","bucket":` + evJSON(bucket) + `,"key":` + key + `,"record":` + rec + `,"reason":` + evJSON(reason) + `,"seq":` + strconv.Itoa(seq) + `}`
}

func evClr(bucket string, count, seq int) string {
	return `{"type":"cleared","bucket":` + evJSON(bucket) + `,"count":` + strconv.Itoa(count) + `,"seq":` + strconv.Itoa(seq) + `}`
}

// evChan is the channel of an event.
func evChan(bucket, op string) string { return "bucket." + bucket + "." + op }

// evSub opens a raw connection speaking proto that PSUBSCRIBEs to patterns.
func evSub(t *testing.T, s *Server, proto int, patterns ...string) *RawConn {
	t.Helper()
	c := rawProto(t, s, proto)
	want := make([]string, len(patterns))
	for i, p := range patterns {
		want[i] = psConf(proto, "psubscribe", p, i+1)
	}
	psDo(t, c, want, append([]string{"PSUBSCRIBE"}, patterns...)...)
	return c
}

// evRecv returns "channel payload" for every message (or pmessage) that
// arrived on c before a PING fence.
func evRecv(t *testing.T, c *RawConn) []string {
	t.Helper()
	out := []string{}
	for _, f := range psFence(t, c) {
		parts, ok := decodeReply(t, f).([]any)
		if !ok || len(parts) < 3 {
			t.Fatalf("not a pub/sub message: %q", f)
		}
		n := len(parts)
		out = append(out, parts[n-2].(string)+" "+parts[n-1].(string))
	}
	return out
}

// evM is the "channel payload" form evRecv returns.
func evM(bucket, op, payload string) string { return evChan(bucket, op) + " " + payload }

// evSeqs returns the seq of every payload in msgs ("channel payload").
func evSeqs(t *testing.T, msgs []string) []int {
	t.Helper()
	out := make([]int, len(msgs))
	for i, m := range msgs {
		_, payload, _ := strings.Cut(m, " ")
		var ev struct{ Seq int }
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		out[i] = ev.Seq
	}
	return out
}

// evRange returns [from, from+1, …, to].
func evRange(from, to int) []int {
	out := []int{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestEventPayloads(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 3)
	r.define("users", evKeyDef)
	sub2 := evSub(t, s, 2, "bucket.users.*")
	sub3 := evSub(t, s, 3, "bucket.users.*")
	var want []string
	u1 := r.str("B.INSERT", "users", `{"id":"u1","name":"Ann","age":30}`)
	want = append(want, evM("users", "inserted", evIns("users", `"u1"`, u1, 1)))
	u1b := r.str("B.UPDATE", "users", "u1", `{"age":31}`)
	want = append(want, evM("users", "updated", evUpd("users", `"u1"`, u1, u1b, 2)))
	many := r.list("B.INSERTMANY", "users", `[{"id":"u2","name":"Bo","age":20},{"id":"u3","name":"Cy","age":20}]`)
	want = append(want, evM("users", "inserted", evIns("users", `"u2"`, many[0], 3)),
		evM("users", "inserted", evIns("users", `"u3"`, many[1], 4)))
	r.integer(2, "B.UPDATEMANY", "users", `{"age":20}`, `{"age":21}`)
	u2b, u3b := r.str("B.GET", "users", "u2"), r.str("B.GET", "users", "u3")
	want = append(want, evM("users", "updated", evUpd("users", `"u2"`, many[0], u2b, 5)),
		evM("users", "updated", evUpd("users", `"u3"`, many[1], u3b, 6)))
	r.integer(2, "B.DELETEMANY", "users", `{"age":21}`)
	want = append(want, evM("users", "deleted", evDel("users", `"u2"`, u2b, "deleted", 7)),
		evM("users", "deleted", evDel("users", `"u3"`, u3b, "deleted", 8)))
	r.integer(1, "B.DELETE", "users", "u1")
	want = append(want, evM("users", "deleted", evDel("users", `"u1"`, u1b, "deleted", 9)))
	r.integer(0, "B.DELETE", "users", "u1") // nothing deleted, nothing published
	r.integer(0, "B.DELETEMANY", "users", `{"age":99}`)
	r.integer(0, "B.UPDATEMANY", "users", `{"age":99}`, `{"age":1}`)
	u4 := r.str("B.UPSERT", "users", `{"id":"u4","name":"Di"}`)
	want = append(want, evM("users", "inserted", evIns("users", `"u4"`, u4, 10)))
	u4b := r.str("B.UPSERT", "users", `{"id":"u4","name":"Dee"}`)
	want = append(want, evM("users", "updated", evUpd("users", `"u4"`, u4, u4b, 11)))
	r.integer(1, "B.CLEAR", "users")
	want = append(want, evM("users", "cleared", evClr("users", 1, 12)))
	r.integer(0, "B.CLEAR", "users")
	want = append(want, evM("users", "cleared", evClr("users", 0, 13)))
	eq(t, "RESP2 subscriber", evRecv(t, sub2), want)
	eq(t, "RESP3 subscriber", evRecv(t, sub3), want)
	// The exact frames: pmessage <pattern> <channel> <payload>.
	r.str("B.INSERT", "users", `{"id":"u5","name":"Ed"}`)
	got2, got3 := psFence(t, sub2), psFence(t, sub3)
	if len(got2) != 1 || !strings.HasPrefix(got2[0], psPush(2, 4)+bulk("pmessage")+bulk("bucket.users.*")+bulk("bucket.users.inserted")) {
		t.Errorf("RESP2 frame: %q", got2)
	}
	if len(got3) != 1 || !strings.HasPrefix(got3[0], psPush(3, 4)+bulk("pmessage")+bulk("bucket.users.*")+bulk("bucket.users.inserted")) {
		t.Errorf("RESP3 frame: %q", got3)
	}
}

func TestEventSeqPerBucket(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", evKeyDef)
	r.define("b", evKeyDef)
	sub := evSub(t, s, 2, "bucket.*.*")
	for i := 0; i < 5; i++ {
		r.str("B.INSERT", "a", fmt.Sprintf(`{"id":"k%d","name":"n"}`, i))
		if i%2 == 0 {
			r.str("B.INSERT", "b", fmt.Sprintf(`{"id":"k%d","name":"n"}`, i))
			r.str("B.UPDATE", "b", fmt.Sprintf("k%d", i), `{"name":"m"}`)
		}
	}
	var as, bs []string
	for _, m := range evRecv(t, sub) {
		if strings.HasPrefix(m, "bucket.a.") {
			as = append(as, m)
		} else {
			bs = append(bs, m)
		}
	}
	eq(t, "bucket a seqs", evSeqs(t, as), evRange(1, 5))
	eq(t, "bucket b seqs", evSeqs(t, bs), evRange(1, 6))
}

func TestEventCommitOrderConcurrent(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("ctr", `{"key":"id","schema":{"id":{"type":"string"},"w":{"type":"number"},"i":{"type":"number"}},"persistent":false}`)
	r.define("log", `{"key":"id","schema":{"id":{"type":"string"},"w":{"type":"number"},"i":{"type":"number"}},"persistent":false}`)
	sub := evSub(t, s, 2, "bucket.ctr.*", "bucket.log.*")
	first := r.str("B.INSERT", "ctr", `{"id":"k","w":-1,"i":-1}`)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2 + w%2})
			defer c.Close()
			for i := 0; i < each; i++ {
				if err := c.Do(ctx(t), "B.UPDATE", "ctr", "k", fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)).Err(); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if err := c.Do(ctx(t), "B.INSERT", "log", fmt.Sprintf(`{"id":"%d-%d","w":%d,"i":%d}`, w, i, w, i)).Err(); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	var ctr, logs []string
	for _, m := range evRecv(t, sub) {
		if strings.HasPrefix(m, "bucket.ctr.") {
			ctr = append(ctr, m)
		} else {
			logs = append(logs, m)
		}
	}
	eq(t, "ctr seqs in arrival order", evSeqs(t, ctr), evRange(1, 1+writers*each))
	eq(t, "log seqs in arrival order", evSeqs(t, logs), evRange(1, writers*each))
	// Commit order: each update's oldRecord is the previous event's record,
	// and each writer's own updates arrive in the order it made them.
	prev := first
	next := make([]int, writers)
	for n, m := range ctr[1:] {
		_, payload, _ := strings.Cut(m, " ")
		var ev struct {
			OldRecord, NewRecord json.RawMessage
		}
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatal(err)
		}
		if string(ev.OldRecord) != prev {
			t.Fatalf("update event %d: oldRecord %s, but the previous event left %s", n+1, ev.OldRecord, prev)
		}
		rec := parseRec(t, string(ev.NewRecord))
		w, i := int(num(t, rec, "w")), int(num(t, rec, "i"))
		if i != next[w] || int(num(t, rec, "_version")) != n+2 {
			t.Fatalf("update event %d: writer %d step %d version %v, want step %d version %d", n+1, w, i, rec["_version"], next[w], n+2)
		}
		next[w]++
		prev = string(ev.NewRecord)
	}
	eq(t, "final record", r.str("B.GET", "ctr", "k"), prev)
}

func TestEventNothingOnFailure(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", evKeyDef)
	r.define("orders", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"item":{"type":"string","required":true}},"persistent":false}`)
	sub := evSub(t, s, 2, "bucket.*.*")
	u1 := r.str("B.INSERT", "users", `{"id":"u1","name":"Ann","email":"a@x.io"}`)
	o1 := r.str("B.INSERT", "orders", `{"item":"pen"}`)
	r.str("B.INSERT", "users", `{"id":"u2","name":"Bo","age":5}`)
	eq(t, "setup events", len(evRecv(t, sub)), 3)
	uniq := `UNIQUE Unique constraint violation in bucket "users": field "email" already has value "a@x.io"`
	for _, tc := range []struct {
		want string
		args []any
	}{
		{`VALIDATION Validation failed for bucket "users": name: Field is required`, []any{"B.INSERT", "users", `{"id":"u9"}`}},
		{`VALIDATION Validation failed for bucket "orders": item: Field is required`, []any{"B.INSERT", "orders", `{}`}},
		{uniq, []any{"B.INSERT", "users", `{"id":"u9","name":"X","email":"a@x.io"}`}},
		{uniq, []any{"B.UPDATE", "users", "u2", `{"email":"a@x.io"}`}},
		{`EXISTS Record with key "u1" already exists in bucket "users"`, []any{"B.INSERT", "users", `{"id":"u1","name":"X"}`}},
		{`NOTFOUND Record with key "u9" not found in bucket "users"`, []any{"B.UPDATE", "users", "u9", `{"name":"X"}`}},
		{`CONFLICT Version mismatch for key "u1" in bucket "users": expected 2, got 1`, []any{"B.UPDATE", "users", "u1", `{"name":"X"}`, "IFVERSION", "2"}},
		{`CONFLICT Version mismatch for key "u1" in bucket "users": expected 3, got 1`, []any{"B.DELETE", "users", "u1", "IFVERSION", "3"}},
		{`VALIDATION Validation failed for bucket "users": age: Minimum value is 0`, []any{"B.UPDATE", "users", "u1", `{"age":-1}`}},
		// insertMany: a bad last element, a duplicate key inside the batch.
		{`VALIDATION Validation failed for bucket "orders": item: Field is required`, []any{"B.INSERTMANY", "orders", `[{"item":"a"},{"item":"b"},{"qty":1}]`}},
		{`EXISTS Record with key "u7" already exists in bucket "users"`, []any{"B.INSERTMANY", "users", `[{"id":"u7","name":"A"},{"id":"u7","name":"B"}]`}},
		{uniq, []any{"B.INSERTMANY", "users", `[{"id":"u7","name":"A"},{"id":"u8","name":"B","email":"a@x.io"}]`}},
		// updateMany: all or nothing, the second record fails.
		{`VALIDATION Validation failed for bucket "users": age: Minimum value is 0`, []any{"B.UPDATEMANY", "users", `{}`, `{"age":-2}`}},
		{`UNIQUE Unique constraint violation in bucket "users": field "email" already has value "same@x.io"`, []any{"B.UPDATEMANY", "users", `{}`, `{"email":"same@x.io"}`}},
		{`VALIDATION *`, []any{"B.UPSERT", "users", `{"id":"u1","age":-5}`}},
		{`ERR invalid JSON*`, []any{"B.INSERT", "users", `{"id":`}},
		{`NOBUCKET Bucket "nope" is not defined`, []any{"B.INSERT", "nope", `{"id":"x"}`}},
	} {
		r.failsUnchanged(tc.want, tc.args...)
	}
	eq(t, "orders unchanged", r.list("B.ALL", "orders"), []string{o1})
	psNothing(t, sub, "failed writes")
	// The next successful writes continue both sequences without a gap, and
	// the autoincrement counter has no gap either.
	o2 := r.str("B.INSERT", "orders", `{"item":"cup"}`)
	eq(t, "next order id", parseRec(t, o2)["id"], 2.0)
	u1b := r.str("B.UPDATE", "users", "u1", `{"age":40}`)
	eq(t, "events after the failures", evRecv(t, sub), []string{
		evM("orders", "inserted", evIns("orders", "2", o2, 2)),
		evM("users", "updated", evUpd("users", `"u1"`, u1, u1b, 3)),
	})
}

func TestEventPatterns(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", evKeyDef)
	r.define("teams", evKeyDef)
	users := evSub(t, s, 2, "bucket.users.*")
	deleted := evSub(t, s, 3, "bucket.*.deleted")
	exact := s.Raw(t)
	psDo(t, exact, []string{psConf(2, "subscribe", "bucket.teams.inserted", 1)}, "SUBSCRIBE", "bucket.teams.inserted")
	u := r.str("B.INSERT", "users", `{"id":"u","name":"U"}`)
	tm := r.str("B.INSERT", "teams", `{"id":"t","name":"T"}`)
	r.integer(1, "B.DELETE", "teams", "t")
	r.integer(1, "B.DELETE", "users", "u")
	eq(t, "bucket.users.*", evRecv(t, users), []string{
		evM("users", "inserted", evIns("users", `"u"`, u, 1)),
		evM("users", "deleted", evDel("users", `"u"`, u, "deleted", 2)),
	})
	eq(t, "bucket.*.deleted frames", psFence(t, deleted), []string{
		psPMsg(3, "bucket.*.deleted", "bucket.teams.deleted", evDel("teams", `"t"`, tm, "deleted", 2)),
		psPMsg(3, "bucket.*.deleted", "bucket.users.deleted", evDel("users", `"u"`, u, "deleted", 2)),
	})
	eq(t, "SUBSCRIBE bucket.teams.inserted frames", psFence(t, exact), []string{
		psMsg(2, "bucket.teams.inserted", evIns("teams", `"t"`, tm, 1)),
	})
	// go-redis, both protocol versions.
	for _, p := range []int{2, 3} {
		cx := ctx(t)
		ps := s.Client(t, p).PSubscribe(cx, "bucket.users.*")
		if _, err := ps.Receive(cx); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint("g", p)
		rec := r.str("B.INSERT", "users", fmt.Sprintf(`{"id":%q,"name":"G"}`, key))
		m, err := ps.ReceiveMessage(cx)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, fmt.Sprint("go-redis RESP", p, " event"), *m, redis.Message{
			Channel: "bucket.users.inserted", Pattern: "bucket.users.*", Payload: evIns("users", evJSON(key), rec, p+1),
		})
		ps.Close()
	}
}

func TestEventFlushAll(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	for _, b := range []string{"fa", "fb", "fc"} {
		r.define(b, evKeyDef)
	}
	r.insert("fa", `{"id":"1","name":"a"}`, `{"id":"2","name":"b"}`)
	r.insert("fb", `{"id":"1","name":"a"}`)
	sub := evSub(t, s, 2, "bucket.*.*")
	r.ok("FLUSHALL")
	got := evRecv(t, sub)
	sort.Strings(got)
	// docs/commands.md, "Event payloads": FLUSHALL publishes one cleared event per bucket
	// with the count it removed; the empty bucket fc gets count 0, exactly as
	// B.CLEAR of an empty bucket does.
	eq(t, "FLUSHALL events", got, []string{
		evM("fa", "cleared", evClr("fa", 2, 3)),
		evM("fb", "cleared", evClr("fb", 1, 2)),
		evM("fc", "cleared", evClr("fc", 0, 1)),
	})
	r.integer(0, "DBSIZE")
	eq(t, "definitions kept", r.list("BUCKET.LIST"), []string{"fa", "fb", "fc"})
}
