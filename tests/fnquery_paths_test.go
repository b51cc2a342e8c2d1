package tests

import (
	"strings"
	"testing"
)

// Every way a record changes reaches function queries: the TTL sweep,
// eviction by maxSize, FLUSHALL, a script's writes; and QUERY.RUN of a
// function query inside a script sees the script's own writes.

func TestFnQueryOtherWritePaths(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "50ms")
	r := newRC(t, s, 3)
	r.define("users", fqUsersDef)
	r.define("orders", fqOrdersDef)
	r.define("recent", strings.Replace(fqUsersDef, `"persistent":false`, `"persistent":false,"maxSize":2`, 1))
	fqLua(r, "userOrders", fqUserOrders)
	fqLua(r, "recentName", `local r = redis.call('B.GET', 'recent', params.id) return r and cjson.decode(r).name or 'gone'`)
	r.insert("users", `{"id":"u1","name":"Ann"}`)
	r.insert("recent", `{"id":"a","name":"Al"}`)
	sub := qySubscribe(t, s.Client(t, 3), fqUO1, `query.recentName:{"id":"a"}`)
	want := []string{`{"items":{},"user":"Ann"}`}
	eq(t, "first", sub.waitN(fqUO1, 1), want)
	eq(t, "first recent", sub.waitN(`query.recentName:{"id":"a"}`, 1), []string{"Al"})

	// A record with a TTL appears, and goes when the sweep deletes it: an
	// expired record is invisible to reads, but nothing runs the channel
	// again until the sweep's delete. 3 s: the insert's run must see the
	// record before it expires (100 ms did not always, under -race on a
	// busy machine).
	r.do("B.INSERT", "orders", `{"userId":"u1","item":"brief"}`, "PX", "3000")
	want = append(want, `{"items":["brief"],"user":"Ann"}`)
	eq(t, "with the record", sub.waitN(fqUO1, 2), want)
	want = append(want, `{"items":{},"user":"Ann"}`)
	eq(t, "after the TTL sweep", sub.waitN(fqUO1, 3), want)

	// Eviction: a full bucket evicts its oldest record.
	r.insert("recent", `{"id":"b","name":"Bo"}`, `{"id":"c","name":"Cy"}`)
	eq(t, "after eviction", sub.waitN(`query.recentName:{"id":"a"}`, 2), []string{"Al", "gone"})

	// A script's writes across both buckets: one result with both.
	r.do("EVAL", `redis.call('B.UPDATE', KEYS[1], 'u1', '{"name":"Anna"}') return redis.call('B.INSERT', KEYS[2], ARGV[1])`,
		"2", "users", "orders", `{"userId":"u1","item":"pen"}`)
	want = append(want, `{"items":["pen"],"user":"Anna"}`)
	eq(t, "after EVAL", sub.waitN(fqUO1, 4), want)

	// QUERY.RUN inside a script sees the script's writes before they
	// commit; the script must name the buckets the query reads.
	got := r.str("EVAL", `redis.call('B.INSERT', KEYS[1], ARGV[1]) return redis.call('QUERY.RUN', 'userOrders', ARGV[2])`,
		"2", "orders", "users", `{"userId":"u1","item":"cup"}`, `{"userId":"u1"}`)
	eq(t, "QUERY.RUN inside EVAL", got, `{"items":["cup","pen"],"user":"Anna"}`)
	want = append(want, got)
	eq(t, "after that EVAL", sub.waitN(fqUO1, 5), want)
	fqErrPrefix(t, "QUERY.RUN in EVAL without the bucket in KEYS",
		r.fail("EVAL", `return redis.call('QUERY.RUN', 'userOrders', ARGV[1])`, "1", "orders", `{"userId":"u1"}`),
		"ERR script accessed bucket 'users', which is not among its KEYS")
	// A script that fails rolls back: nothing reaches the channel.
	r.fail("EVAL", `redis.call('B.INSERT', KEYS[1], ARGV[1]) error('no')`, "1", "orders", `{"userId":"u1","item":"never"}`)

	// FLUSHALL empties every bucket.
	r.ok("FLUSHALL")
	want = append(want, `{"items":{},"user":null}`)
	eq(t, "after FLUSHALL", sub.waitN(fqUO1, 6), want)
	eq(t, "QUERY.RUN after FLUSHALL", qyRun(r, "userOrders", `{"userId":"u1"}`), want[5])
	r.insert("users", `{"id":"u1","name":"Ada"}`)
	want = append(want, `{"items":{},"user":"Ada"}`)
	eq(t, "after FLUSHALL and an insert", sub.waitN(fqUO1, 7), want)
}
