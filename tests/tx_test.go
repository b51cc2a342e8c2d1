package tests

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Transactions (docs/commands.md, "Transactions"): Redis's multi.tcl behaviours with
// exact replies, then bucketd's own rules: a write that fails at EXEC rolls
// everything back, WATCH works on records, and EXEC is isolated.

// txItemsDef has an autoincrement key, a required field, a unique field
// and an indexed field.
const txItemsDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
	`"name":{"type":"string","required":true},"sku":{"type":"string","unique":true},"cat":{"type":"string"}},` +
	`"indexes":["cat"],"persistent":false}`

// txVDef is the bucket of the isolation and inventory tests.
const txVDef = `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}},"persistent":false}`

// txQueue sends MULTI and each command, expecting +OK and +QUEUED.
func txQueue(t *testing.T, c *RawConn, cmds ...[]string) {
	t.Helper()
	eq(t, "MULTI", c.Do("MULTI"), "+OK\r\n")
	for _, cmd := range cmds {
		eq(t, fmt.Sprint("queue ", cmd), c.Do(cmd...), "+QUEUED\r\n")
	}
}

// txExec sends EXEC and decodes its reply, which must be an array.
func txExec(t *testing.T, c *RawConn) []any {
	t.Helper()
	reply := c.Do("EXEC")
	arr, ok := decodeReply(t, reply).([]any)
	if !ok {
		t.Fatalf("EXEC: got %q, want an array", reply)
	}
	return arr
}

func TestTxMultiExecBasics(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := rawProto(t, s, p)
			b := fmt.Sprint("items", p)
			eq(t, "define", c.Do("BUCKET.DEFINE", b, txItemsDef), "+OK\r\n")
			txQueue(t, c, []string{"B.INSERT", b, `{"name":"a","cat":"c"}`}, []string{"B.COUNT", b}, []string{"PING"})
			got := txExec(t, c)
			if len(got) != 3 || got[1] != int64(1) || got[2] != "PONG" {
				t.Fatalf("EXEC: got %#v", got)
			}
			eq(t, "record", got[0], decodeReply(t, c.Do("B.GET", b, "1")))
			// DISCARD drops the queue and leaves MULTI.
			txQueue(t, c, []string{"B.INSERT", b, `{"name":"b"}`})
			eq(t, "DISCARD", c.Do("DISCARD"), "+OK\r\n")
			eq(t, "PING after DISCARD", c.Do("PING"), "+PONG\r\n")
			eq(t, "count after DISCARD", c.Do("B.COUNT", b), ":1\r\n")
			// An empty transaction.
			eq(t, "MULTI", c.Do("MULTI"), "+OK\r\n")
			eq(t, "empty EXEC", c.Do("EXEC"), "*0\r\n")
		})
	}
}

func TestTxRedisErrors(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := rawProto(t, s, p)
			b := fmt.Sprint("items", p)
			c.Do("BUCKET.DEFINE", b, txItemsDef)
			eq(t, "EXEC without MULTI", c.Do("EXEC"), "-ERR EXEC without MULTI\r\n")
			eq(t, "DISCARD without MULTI", c.Do("DISCARD"), "-ERR DISCARD without MULTI\r\n")
			// Nested MULTI and WATCH inside MULTI are errors that do not abort.
			txQueue(t, c, []string{"B.INSERT", b, `{"name":"a"}`})
			eq(t, "nested MULTI", c.Do("MULTI"), "-ERR MULTI calls can not be nested\r\n")
			eq(t, "WATCH inside MULTI", c.Do("WATCH", b+":1"), "-ERR WATCH inside MULTI is not allowed\r\n")
			eq(t, "queue after the errors", c.Do("B.COUNT", b), "+QUEUED\r\n")
			got := txExec(t, c)
			if len(got) != 2 || got[1] != int64(1) {
				t.Fatalf("EXEC after nested MULTI: %#v", got)
			}
			// A queueing error aborts EXEC; nothing queued runs; MULTI is over.
			for _, bad := range []struct {
				args  []string
				reply string
			}{
				{[]string{"NOSUCH", "x"}, "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"},
				{[]string{"B.GET", b}, "-ERR wrong number of arguments for 'b.get' command\r\n"},
				{[]string{"BUCKET.DEFINE", "other", txItemsDef}, "-ERR Command not allowed inside a transaction\r\n"},
				{[]string{"MONITOR"}, "-ERR Command not allowed inside a transaction\r\n"},
				{[]string{"SAVE"}, "-ERR Command not allowed inside a transaction\r\n"},
				{[]string{"STORE.PURGETTL"}, "-ERR Command not allowed inside a transaction\r\n"},
			} {
				txQueue(t, c, []string{"B.INSERT", b, `{"name":"z"}`})
				eq(t, fmt.Sprint("queueing ", bad.args), c.Do(bad.args...), bad.reply)
				eq(t, "queue after the error", c.Do("B.INSERT", b, `{"name":"y"}`), "+QUEUED\r\n")
				eq(t, "EXEC", c.Do("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n")
				eq(t, "PING after EXECABORT", c.Do("PING"), "+PONG\r\n")
				eq(t, "count after EXECABORT", c.Do("B.COUNT", b), ":1\r\n")
			}
			eq(t, "bucket other not defined", c.Do("BUCKET.INFO", "other"), "-NOBUCKET Bucket \"other\" is not defined\r\n")
			// The next insert takes id 2: the aborted inserts left no gap.
			eq(t, "next id", decodeReply(t, c.Do("B.INSERT", b, `{"name":"n"}`)).(string)[:7], `{"id":2`)
		})
	}
}

func TestTxFailingWriteRollsBack(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", txItemsDef)
	r.define("logs", evKeyDef)
	first := r.str("B.INSERT", "items", `{"name":"a","sku":"s1","cat":"c1"}`)
	sub := evSub(t, s, 2, "bucket.*.*")
	for _, tc := range []struct {
		proto int
		fail  []string
		want  string
	}{
		{2, []string{"B.INSERT", "items", `{"sku":"s8"}`}, `VALIDATION Validation failed for bucket "items": name: Field is required`},
		{3, []string{"B.INSERT", "items", `{"sku":"s8"}`}, `VALIDATION Validation failed for bucket "items": name: Field is required`},
		{2, []string{"B.INSERT", "items", `{"name":"u","sku":"s1"}`}, `UNIQUE Unique constraint violation in bucket "items": field "sku" already has value "s1"`},
		{2, []string{"B.INSERT", "items", `{"name":"u","sku":"s9"}`}, `UNIQUE Unique constraint violation in bucket "items": field "sku" already has value "s9"`},
		{2, []string{"B.UPDATE", "items", "99", `{"name":"x"}`}, `NOTFOUND Record with key "99" not found in bucket "items"`},
		{2, []string{"B.INSERT", "items", `{"id":1,"name":"b"}`}, `EXISTS Record with key "1" already exists in bucket "items"`},
		{3, []string{"B.INSERT", "items", `{"id":2,"name":"b"}`}, `EXISTS Record with key "2" already exists in bucket "items"`},
		{2, []string{"B.UPDATE", "items", "1", `{"name":"c"}`, "IFVERSION", "1"}, `CONFLICT Version mismatch for key "1" in bucket "items": expected 1, got 2`},
		{2, []string{"B.DELETE", "items", "1", "IFVERSION", "5"}, `CONFLICT Version mismatch for key "1" in bucket "items": expected 5, got 2`},
		{2, []string{"B.INSERT", "nosuch", `{"name":"x"}`}, `NOBUCKET Bucket "nosuch" is not defined`},
	} {
		t.Run(tc.want[:8], func(t *testing.T) {
			r := r.sub(t)
			before := r.state("items") + "\n" + r.state("logs")
			c := rawProto(t, s, tc.proto)
			txQueue(t, c,
				[]string{"B.INSERT", "items", `{"name":"n","sku":"s9","cat":"c9"}`}, // takes id 2
				[]string{"B.UPDATE", "items", "1", `{"cat":"c9"}`},                  // version 2
				[]string{"B.INSERT", "logs", `{"id":"l1","name":"x"}`},
				[]string{"B.DELETE", "logs", "l0"},
				tc.fail,
				[]string{"B.INSERT", "logs", `{"id":"l2","name":"after"}`},
			)
			eq(t, "EXEC", c.Do("EXEC"), "-"+tc.want+"\r\n")
			eq(t, "state after the failed EXEC", r.state("items")+"\n"+r.state("logs"), before)
			r.integer(1, "B.COUNT", "items")
			r.integer(0, "B.COUNT", "items", `{"cat":"c9"}`)
			eq(t, "B.WHERE on the index", r.list("B.WHERE", "items", `{"cat":"c9"}`), []string{})
			eq(t, "B.WHERE on the old index value", r.list("B.WHERE", "items", `{"cat":"c1"}`), []string{first})
			r.null("B.GET", "items", "2")
			r.null("B.GET", "logs", "l1")
			psNothing(t, sub, "a rolled-back transaction")
		})
	}
	// No autoincrement gap, no unique value held, no seq gap.
	next := r.str("B.INSERT", "items", `{"name":"z","sku":"s9"}`)
	eq(t, "next id", parseRec(t, next)["id"], 2.0)
	eq(t, "events", evRecv(t, sub), []string{evM("items", "inserted", evIns("items", "2", next, 2))})
}

func TestTxReadsSeeOwnWrites(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := rawProto(t, s, p)
			b := fmt.Sprint("items", p)
			c.Do("BUCKET.DEFINE", b, txItemsDef)
			txQueue(t, c,
				[]string{"B.INSERT", b, `{"name":"a","sku":"x","cat":"c"}`},
				[]string{"B.GET", b, "1"},
				[]string{"B.UPDATE", b, "1", `{"cat":"d"}`},
				[]string{"B.WHERE", b, `{"cat":"d"}`},
				[]string{"B.WHERE", b, `{"cat":"c"}`},
				[]string{"B.COUNT", b},
				[]string{"B.UPDATE", b, "1", `{"name":"b"}`, "IFVERSION", "2"},
				[]string{"B.DELETE", b, "1"},
				[]string{"B.GET", b, "1"},
				[]string{"B.COUNT", b},
				[]string{"B.INSERT", b, `{"name":"c","sku":"x"}`}, // the unique value is free again
			)
			got := txExec(t, c)
			if len(got) != 11 {
				t.Fatalf("EXEC: %#v", got)
			}
			ins, upd, upd2 := got[0].(string), got[2].(string), got[6].(string)
			eq(t, "B.GET sees the insert", got[1], ins)
			eq(t, "B.WHERE sees the update through the index", got[3], []any{upd})
			eq(t, "B.WHERE old index value", got[4], []any{})
			eq(t, "B.COUNT", got[5], int64(1))
			eq(t, "IFVERSION sees version 2", parseRec(t, upd2)["_version"], 3.0)
			eq(t, "B.DELETE", got[7], int64(1))
			eq(t, "B.GET after delete", got[8], nil)
			eq(t, "B.COUNT after delete", got[9], int64(0))
			eq(t, "second insert id", parseRec(t, got[10].(string))["id"], 2.0)
			eq(t, "committed", c.Do("B.COUNT", b), ":1\r\n")
		})
	}
}

func TestTxEventsAfterCommit(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("ta", evKeyDef)
	r.define("tb", evKeyDef)
	sub := evSub(t, s, 3, "bucket.*.*")
	c := s.Raw(t)
	txQueue(t, c,
		[]string{"B.INSERT", "ta", `{"id":"a","name":"A"}`},
		[]string{"B.UPDATE", "ta", "a", `{"age":1}`},
		[]string{"B.INSERT", "tb", `{"id":"b","name":"B"}`},
		[]string{"B.DELETE", "ta", "a"},
		[]string{"B.CLEAR", "tb"},
		[]string{"B.INSERT", "ta", `{"id":"c","name":"C"}`},
	)
	psNothing(t, sub, "queued, not yet committed")
	got := txExec(t, c)
	a1, a2, b1, c1 := got[0].(string), got[1].(string), got[2].(string), got[5].(string)
	eq(t, "events in command order", evRecv(t, sub), []string{
		evM("ta", "inserted", evIns("ta", `"a"`, a1, 1)),
		evM("ta", "updated", evUpd("ta", `"a"`, a1, a2, 2)),
		evM("tb", "inserted", evIns("tb", `"b"`, b1, 1)),
		evM("ta", "deleted", evDel("ta", `"a"`, a2, "deleted", 3)),
		evM("tb", "cleared", evClr("tb", 1, 2)),
		evM("ta", "inserted", evIns("ta", `"c"`, c1, 4)),
	})
}

// txWatchCase is one WATCH scenario: setup seeds the bucket, change runs on
// another client between WATCH and MULTI (self on the watching one), and
// fails says whether EXEC must then return a null array.
type txWatchCase struct {
	name   string
	key    string
	setup  func(r *rc, b string)
	change func(t *testing.T, r *rc, self *RawConn, b string)
	fails  bool
}

func txWatchCases() []txWatchCase {
	seed := func(r *rc, b string) { r.str("B.INSERT", b, `{"id":"k","name":"K"}`) }
	none := func(r *rc, b string) {}
	return []txWatchCase{
		{"insert", "k", none, func(t *testing.T, r *rc, _ *RawConn, b string) { seed(r, b) }, true},
		{"update", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.str("B.UPDATE", b, "k", `{"age":1}`) }, true},
		// An update that changes nothing writes nothing: EXEC goes through.
		{"update to equal content", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.str("B.UPDATE", b, "k", `{"name":"K"}`) }, false},
		{"upsert of equal content", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.str("B.UPSERT", b, `{"id":"k","name":"K"}`) }, true},
		{"delete", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.integer(1, "B.DELETE", b, "k") }, true},
		{"deleteMany", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.integer(1, "B.DELETEMANY", b, `{}`) }, true},
		{"clear", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.integer(1, "B.CLEAR", b) }, true},
		{"flushall", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.ok("FLUSHALL") }, true},
		{"own update", "k", seed, func(t *testing.T, r *rc, self *RawConn, b string) {
			if got := self.Do("B.UPDATE", b, "k", `{"age":2}`); got[0] != '$' {
				t.Fatalf("own update: %q", got)
			}
		}, true},
		{"expiry", "k", func(r *rc, b string) { r.str("B.INSERT", b, `{"id":"k","name":"K"}`, "PX", "2000") },
			func(t *testing.T, r *rc, self *RawConn, b string) {
				if got := self.Do("B.COUNT", b); got != ":1\r\n" {
					t.Fatalf("the record expired before WATCH ran (machine too slow for a 2 s TTL): %q", got)
				}
				eventually(t, 10*time.Second, "the watched record to expire", func() bool { return r.do("B.GET", b, "k") == nil })
			}, true},
		{"other key", "k", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.str("B.INSERT", b, `{"id":"k2","name":"K"}`) }, false},
		{"absent key, flushall", "nope", seed, func(t *testing.T, r *rc, _ *RawConn, b string) { r.ok("FLUSHALL") }, false},
		{"absent key, failed insert", "k", none, func(t *testing.T, r *rc, _ *RawConn, b string) { r.fail("B.INSERT", b, `{"id":"k"}`) }, false},
		{"stale expired key purged", "k", func(r *rc, b string) {
			r.str("B.INSERT", b, `{"id":"k","name":"K"}`, "PX", "50")
			eventually(r.t, 10*time.Second, "the record to expire", func() bool { return r.do("B.GET", b, "k") == nil })
		}, func(t *testing.T, r *rc, _ *RawConn, b string) {
			eventually(t, 10*time.Second, "the sweep or PURGETTL", func() bool { r.do("STORE.PURGETTL"); return !hasExpired(r, b) })
		}, false},
	}
}

// hasExpired reports whether bucket b still holds an expired, unswept
// record (BUCKET.INFO counts stored records, B.COUNT visible ones).
func hasExpired(r *rc, b string) bool {
	info := parseRec(r.t, r.str("BUCKET.INFO", b))
	return info["records"].(float64) != float64(r.do("B.COUNT", b).(int64))
}

func TestTxWatch(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	for _, p := range []int{2, 3} {
		for i, tc := range txWatchCases() {
			t.Run(fmt.Sprintf("RESP%d/%s", p, tc.name), func(t *testing.T) {
				r := r.sub(t)
				b := fmt.Sprintf("w%d_%d", p, i)
				r.define(b, evKeyDef)
				tc.setup(r, b)
				c := rawProto(t, s, p)
				eq(t, "WATCH", c.Do("WATCH", b+":"+tc.key), "+OK\r\n")
				tc.change(t, r, c, b)
				txQueue(t, c, []string{"B.INSERT", b, `{"id":"tx","name":"T"}`})
				want := "*1\r\n$"
				if tc.fails {
					want = map[int]string{2: "*-1\r\n", 3: "_\r\n"}[p]
				}
				if got := c.Do("EXEC"); got[:min(len(got), len(want))] != want {
					t.Errorf("EXEC: got %q, want %q…", got, want)
				}
				if tc.fails {
					r.null("B.GET", b, "tx")
				}
				// After EXEC nothing is watched any more.
				r.do("B.UPSERT", b, `{"id":"k","name":"again"}`)
				txQueue(t, c, []string{"B.COUNT", b})
				if got := c.Do("EXEC"); got[:4] != "*1\r\n" {
					t.Errorf("second EXEC: got %q, want it to run", got)
				}
			})
		}
	}
}

func TestTxWatchUnwatchDiscard(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("w", evKeyDef)
	r.str("B.INSERT", "w", `{"id":"k","name":"K"}`)
	c := s.Raw(t)
	eq(t, "UNWATCH with nothing watched", c.Do("UNWATCH"), "+OK\r\n")
	// WATCH then UNWATCH: EXEC runs.
	eq(t, "WATCH", c.Do("WATCH", "w:k", "w:other"), "+OK\r\n")
	eq(t, "UNWATCH", c.Do("UNWATCH"), "+OK\r\n")
	r.str("B.UPDATE", "w", "k", `{"age":1}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC after UNWATCH", c.Do("EXEC"), "*1\r\n:1\r\n")
	// DISCARD clears the WATCH.
	eq(t, "WATCH", c.Do("WATCH", "w:k"), "+OK\r\n")
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "DISCARD", c.Do("DISCARD"), "+OK\r\n")
	r.str("B.UPDATE", "w", "k", `{"age":2}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC after DISCARD", c.Do("EXEC"), "*1\r\n:1\r\n")
	// A failed EXEC also forgets the WATCH.
	eq(t, "WATCH", c.Do("WATCH", "w:k"), "+OK\r\n")
	r.str("B.UPDATE", "w", "k", `{"age":3}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC after a change", c.Do("EXEC"), "*-1\r\n")
	r.str("B.UPDATE", "w", "k", `{"age":4}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC after the failed one", c.Do("EXEC"), "*1\r\n:1\r\n")
	// Any name may be watched, as in Redis: one that is not bucket:key
	// never changes; a bucket defined after WATCH changes the watch only
	// when the watched record appears.
	eq(t, "WATCH any name", c.Do("WATCH", "plain", ":x", "later:k", "later2:k"), "+OK\r\n")
	r.define("later", evKeyDef)
	r.define("later2", evKeyDef)
	r.str("B.INSERT", "later2", `{"id":"other","name":"O"}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC, the watched records still missing", c.Do("EXEC"), "*1\r\n:1\r\n")
	eq(t, "WATCH a record of a bucket not yet defined", c.Do("WATCH", "later3:k"), "+OK\r\n")
	r.define("later3", evKeyDef)
	r.str("B.INSERT", "later3", `{"id":"k","name":"K"}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC, the watched record inserted", c.Do("EXEC"), "*-1\r\n")
	// 1 of 5 watched keys changed.
	eq(t, "WATCH 5", c.Do("WATCH", "w:a", "w:b", "w:k", "w:c", "w:d"), "+OK\r\n")
	r.str("B.UPDATE", "w", "k", `{"age":5}`)
	txQueue(t, c, []string{"B.COUNT", "w"})
	eq(t, "EXEC with 1 of 5 changed", c.Do("EXEC"), "*-1\r\n")
	// go-redis: a null EXEC is TxFailedErr in both protocol versions.
	for _, p := range []int{2, 3} {
		g := s.Client(t, p)
		err := g.Watch(ctx(t), func(tx *redis.Tx) error {
			r.str("B.UPDATE", "w", "k", fmt.Sprintf(`{"age":%d}`, 10+p))
			_, err := tx.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
				pipe.Do(ctx(t), "B.INSERT", "w", `{"id":"never","name":"N"}`)
				return nil
			})
			return err
		}, "w:k")
		if !errors.Is(err, redis.TxFailedErr) {
			t.Errorf("go-redis RESP%d Watch: got %v, want TxFailedErr", p, err)
		}
		err = g.Watch(ctx(t), func(tx *redis.Tx) error {
			_, err := tx.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
				pipe.Do(ctx(t), "B.COUNT", "w")
				return nil
			})
			return err
		}, "w:k")
		if err != nil {
			t.Errorf("go-redis RESP%d Watch without a change: %v", p, err)
		}
	}
	r.null("B.GET", "w", "never")
}

func TestTxInventory(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("stock", txVDef)
	r.define("orders", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"item":{"type":"string","required":true},"buyer":{"type":"number"}},"persistent":false}`)
	r.str("B.INSERT", "stock", `{"id":"widget","v":10}`)
	sub := evSub(t, s, 2, "bucket.stock.updated")
	errSoldOut := errors.New("sold out")
	const clients = 20
	var bought, retries atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2 + i%2})
			defer c.Close()
			buy := func(tx *redis.Tx) error {
				rec, err := tx.Do(ctx(t), "B.GET", "stock", "widget").Text()
				if err != nil {
					return err
				}
				left := int(parseRec(t, rec)["v"].(float64))
				if left <= 0 {
					return errSoldOut
				}
				_, err = tx.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
					pipe.Do(ctx(t), "B.INSERT", "orders", fmt.Sprintf(`{"item":"widget","buyer":%d}`, i))
					pipe.Do(ctx(t), "B.UPDATE", "stock", "widget", fmt.Sprintf(`{"v":%d}`, left-1))
					return nil
				})
				return err
			}
			for attempt := 0; attempt < 1000; attempt++ {
				err := c.Watch(ctx(t), buy, "stock:widget")
				switch {
				case err == nil:
					bought.Add(1)
					return
				case errors.Is(err, errSoldOut):
					return
				case errors.Is(err, redis.TxFailedErr):
					retries.Add(1)
				default:
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
			t.Errorf("client %d: no result after 1000 attempts", i)
		}(i)
	}
	wg.Wait()
	t.Logf("%d bought, %d retries", bought.Load(), retries.Load())
	eq(t, "purchases", bought.Load(), int64(10))
	r.integer(10, "B.COUNT", "orders")
	eq(t, "stock left", parseRec(t, r.str("B.GET", "stock", "widget"))["v"], 0.0)
	var levels []int
	for _, m := range evRecv(t, sub) {
		rec := parseRec(t, m[len("bucket.stock.updated "):])["newRecord"].(map[string]any)
		levels = append(levels, int(rec["v"].(float64)))
	}
	eq(t, "stock levels published, never negative", levels, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0})
}

func TestTxIsolation(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", txVDef)
	r.define("b", txVDef)
	r.str("B.INSERT", "a", `{"id":"k","v":0}`)
	r.str("B.INSERT", "b", `{"id":"k","v":0}`)
	const writes = 400
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		w := s.Client(t, 3)
		for i := 1; i <= writes; i++ {
			_, err := w.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
				pipe.Do(ctx(t), "B.UPDATE", "a", "k", fmt.Sprintf(`{"v":%d}`, i))
				pipe.Do(ctx(t), "B.UPDATE", "b", "k", fmt.Sprintf(`{"v":%d}`, i))
				return nil
			})
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		rd := s.Client(t, 2)
		for !done.Load() || reads.Load() == 0 {
			cmds, err := rd.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
				pipe.Do(ctx(t), "B.GET", "a", "k")
				pipe.Do(ctx(t), "B.GET", "b", "k")
				return nil
			})
			if err != nil {
				t.Errorf("reader: %v", err)
				return
			}
			va, _ := cmds[0].(*redis.Cmd).Text()
			vb, _ := cmds[1].(*redis.Cmd).Text()
			x, y := parseRec(t, va)["v"], parseRec(t, vb)["v"]
			if x != y {
				t.Errorf("reader saw half a transaction: a.v=%v b.v=%v", x, y)
				return
			}
			reads.Add(1)
		}
	}()
	wg.Wait()
	t.Logf("%d transactional reads during %d transactional writes", reads.Load(), writes)
	eq(t, "final a", parseRec(t, r.str("B.GET", "a", "k"))["v"], float64(writes))
	eq(t, "final b", parseRec(t, r.str("B.GET", "b", "k"))["v"], float64(writes))
}

// TestTxIsolationFlushAll: FLUSHALL empties every bucket as one step, as in
// Redis, so a transaction never sees one bucket flushed and another not.
func TestTxIsolationFlushAll(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", txVDef)
	r.define("b", txVDef)
	const flushes = 1000
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rd := s.Client(t, 2)
		for !done.Load() {
			cmds, err := rd.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
				pipe.Do(ctx(t), "B.COUNT", "a")
				pipe.Do(ctx(t), "B.COUNT", "b")
				return nil
			})
			if err != nil {
				t.Errorf("reader: %v", err)
				return
			}
			na, _ := cmds[0].(*redis.Cmd).Int()
			nb, _ := cmds[1].(*redis.Cmd).Int()
			if na != nb {
				t.Errorf("a transaction saw a half-done FLUSHALL: B.COUNT a = %d, b = %d", na, nb)
				return
			}
			reads.Add(1)
		}
	}()
	w := s.Client(t, 3)
	for i := 0; i < flushes && !t.Failed(); i++ {
		_, err := w.TxPipelined(ctx(t), func(pipe redis.Pipeliner) error {
			pipe.Do(ctx(t), "B.INSERT", "a", fmt.Sprintf(`{"id":"k%d","v":1}`, i))
			pipe.Do(ctx(t), "B.INSERT", "b", fmt.Sprintf(`{"id":"k%d","v":1}`, i))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Do(ctx(t), "FLUSHALL").Err(); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	t.Logf("%d transactional reads during %d FLUSHALLs", reads.Load(), flushes)
}

// EXEC runs the queued commands in their order, as Redis does: a PUBLISH
// queued before a write arrives before the write's event, one after it
// after; SUBSCRIBE, FLUSHALL, CONFIG, HELLO and the like are allowed in
// MULTI; a rollback drops the messages; a RESP3 client publishing to
// itself gets EXEC's reply first; the slow log has EXEC's commands, not
// EXEC.
func TestTxExecInOrder(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", txVDef)
	sub := scSubscriber(t, s) // bucket.* and news
	c := s.Raw(t)
	txQueue(t, c,
		[]string{"PUBLISH", "news", "before"},
		[]string{"B.UPSERT", "items", `{"id":"a","v":1}`},
		[]string{"PUBLISH", "news", "between"},
		[]string{"B.UPSERT", "items", `{"id":"b","v":2}`},
		[]string{"PUBLISH", "news", "after"},
		[]string{"PING"},
		[]string{"DBSIZE"},
	)
	got := txExec(t, c)
	if len(got) != 7 || got[0] != int64(1) || got[5] != "PONG" || got[6] != int64(2) {
		t.Fatalf("EXEC: %#v", got)
	}
	for _, want := range []string{"news before", "bucket.items.inserted", "news between", "bucket.items.inserted", "news after"} {
		ch, payload := scFrame(t, sub)
		if got := ch + " " + payload; !strings.HasPrefix(got, want) {
			t.Fatalf("frame %q, want %q", got, want)
		}
	}
	// A rollback drops the messages with the writes.
	txQueue(t, c,
		[]string{"PUBLISH", "news", "dropped"},
		[]string{"B.INSERT", "items", `{"id":"a","v":3}`}, // exists: the transaction rolls back
	)
	if got := c.Do("EXEC"); !strings.HasPrefix(got, "-EXISTS") {
		t.Fatalf("EXEC of a failing insert: %q", got)
	}
	psNothing(t, sub, "after a rolled-back EXEC")

	// Allowed in MULTI now, as in Redis: SUBSCRIBE, FLUSHALL, CONFIG, HELLO.
	m := s.Raw(t)
	txQueue(t, m,
		[]string{"CONFIG", "SET", "slowlog-log-slower-than", "0"},
		[]string{"HELLO", "2"},
		[]string{"B.UPSERT", "items", `{"id":"c","v":1}`},
		[]string{"FLUSHALL"},
	)
	got = txExec(t, m)
	if len(got) != 4 || got[0] != "OK" || got[3] != "OK" {
		t.Fatalf("EXEC with CONFIG, HELLO, FLUSHALL: %#v", got)
	}
	r.integer(0, "DBSIZE")
	// The slow log (everything logged now) has the queued commands, not EXEC.
	r.ok("SLOWLOG", "RESET")
	txQueue(t, m, []string{"ECHO", "logged"})
	txExec(t, m)
	log := fmt.Sprint(r.do("SLOWLOG", "GET", "-1"))
	if !strings.Contains(log, "logged") || strings.Contains(log, "[exec]") {
		t.Errorf("SLOWLOG after EXEC: %s", log)
	}
	r.ok("CONFIG", "SET", "slowlog-log-slower-than", "10000")

	// SUBSCRIBE in MULTI: its confirmation is in EXEC's reply, then the
	// connection is subscribed.
	s2 := s.Raw(t)
	txQueue(t, s2, []string{"SUBSCRIBE", "inmulti"})
	eq(t, "EXEC with SUBSCRIBE", s2.Do("EXEC"), "*1\r\n*3\r\n$9\r\nsubscribe\r\n$7\r\ninmulti\r\n:1\r\n")
	r.integer(1, "PUBLISH", "inmulti", "hi")
	eq(t, "message after SUBSCRIBE in MULTI", s2.Read(), "*3\r\n$7\r\nmessage\r\n$7\r\ninmulti\r\n$2\r\nhi\r\n")

	// RESP3, publishing to itself: EXEC's reply first, then the message.
	self := rawProto(t, s, 3)
	self.Do("SUBSCRIBE", "me")
	eq(t, "MULTI", self.Do("MULTI"), "+OK\r\n")
	eq(t, "queue PUBLISH", self.Do("PUBLISH", "me", "hello"), "+QUEUED\r\n")
	eq(t, "EXEC publishing to itself", self.Do("EXEC"), "*1\r\n:1\r\n")
	eq(t, "then the message", self.Read(), ">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$5\r\nhello\r\n")
}
