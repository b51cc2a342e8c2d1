package tests

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// QUERY.DROP and BUCKET.DROP with function queries.

func TestFnQueryDrop(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`)
	r.insert("orders", `{"userId":"u1","item":"pen"}`)
	fqLua(r, "userOrders", fqUserOrders)
	fqLua(r, "orderCount", `return redis.call('B.COUNT', 'orders')`)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			c := rawProto(t, s, proto)
			first := qyRun(r, "userOrders", `{"userId":"u1"}`)
			c.Send(psEnc("SUBSCRIBE", "plain", fqUO1))
			psExpect(t, c, "subscribe plain", psConf(proto, "subscribe", "plain", 1))
			psExpect(t, c, "subscribe userOrders", psConf(proto, "subscribe", fqUO1, 2))
			psExpect(t, c, "first result", psMsg(proto, fqUO1, first))
			n := r.do("B.COUNT", "orders").(int64)
			c.Send(psEnc("QUERY.SUBSCRIBE", "orderCount"))
			psExpect(t, c, "QUERY.SUBSCRIBE", psConf(proto, "subscribe", "query.orderCount", 3))
			psExpect(t, c, "its first result", psMsg(proto, "query.orderCount", fmt.Sprint(n)))
			// QUERY.DROP ends its channel with an unsubscribe frame.
			r.integer(1, "QUERY.DROP", "userOrders")
			psExpect(t, c, "unsubscribe after QUERY.DROP", psConf(proto, "unsubscribe", fqUO1, 2))
			r.integer(0, "QUERY.DROP", "userOrders")
			r.err(`NOQUERY Query "userOrders" is not defined`, "QUERY.RUN", "userOrders", `{"userId":"u1"}`)
			eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", fqUO1), []any{fqUO1, int64(0)})
			// Writes to what it read reach nobody; the other channel works.
			r.do("B.UPDATE", "users", "u1", fmt.Sprintf(`{"name":"Ann%d"}`, proto))
			r.insert("orders", `{"userId":"u1","item":"cup"}`)
			psExpect(t, c, "orderCount after the insert", psMsg(proto, "query.orderCount", fmt.Sprint(n+1)))
			r.integer(1, "PUBLISH", "plain", "hi")
			psExpect(t, c, "plain", psMsg(proto, "plain", "hi"))
			psDo(t, c, []string{psConf(proto, "unsubscribe", "plain", 1), psConf(proto, "unsubscribe", "query.orderCount", 0)},
				"UNSUBSCRIBE", "plain", "query.orderCount")
			fqLua(r, "userOrders", fqUserOrders) // for the next pass
		})
	}
}

func TestFnQueryBucketDrop(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`)
	r.insert("orders", `{"userId":"u1","item":"pen"}`)
	fqLua(r, "userOrders", fqUserOrders)
	fqLua(r, "orderCount", `return redis.call('B.COUNT', 'orders')`)
	sub := qySubscribe(t, s.Client(t, 3), fqUO1, "query.orderCount")
	sub.waitN(fqUO1, 1)
	sub.waitN("query.orderCount", 1)

	// BUCKET.DROP keeps function queries and their subscribers; their
	// channels run again and fail.
	r.integer(1, "BUCKET.DROP", "orders")
	noBucket := `NOBUCKET Bucket "orders" is not defined script: query, on @user_query:`
	for _, q := range []struct{ name, ch string }{{"userOrders", fqUO1}, {"orderCount", "query.orderCount"}} {
		eventually(t, 10*time.Second, q.ch+": the NOBUCKET error", func() bool {
			e := fqChan(r, q.name, q.ch).Error
			return len(e) >= len(noBucket) && e[:len(noBucket)] == noBucket
		})
		eq(t, q.ch+" NUMSUB", r.do("PUBSUB", "NUMSUB", q.ch), []any{q.ch, int64(1)})
	}
	fqErrPrefix(t, "QUERY.RUN", r.fail("QUERY.RUN", "orderCount"), noBucket)
	eq(t, "QUERY.LIST", r.list("QUERY.LIST"), []string{"orderCount", "userOrders"})
	eq(t, "reads of a missing bucket", fqChan(r, "orderCount", "query.orderCount").Reads, []string{"orders: every record"})

	// Defined again: the channels run (the empty bucket, unless the
	// insert that follows is already there), then publish its writes.
	r.define("orders", fqOrdersDef)
	r.insert("orders", `{"userId":"u1","item":"cup"}`)
	fqLast := func(ch, want string, between ...string) {
		t.Helper()
		eventually(t, 10*time.Second, ch+" to show "+want, func() bool { return lastOf(sub.messages(ch)) == want })
		for _, m := range sub.messages(ch) {
			if m != want && !slices.Contains(between, m) {
				t.Errorf("%s published %q on the way to %q (messages %q)", ch, m, want, sub.messages(ch))
			}
		}
	}
	fqLast(fqUO1, `{"items":["cup"],"user":"Ann"}`, `{"items":["pen"],"user":"Ann"}`, `{"items":{},"user":"Ann"}`)
	eq(t, "userOrders first", sub.messages(fqUO1)[0], `{"items":["pen"],"user":"Ann"}`)
	eventually(t, 10*time.Second, "orderCount to run without error", func() bool {
		return fqChan(r, "orderCount", "query.orderCount").Error == ""
	})
	eq(t, "error cleared", fqChan(r, "userOrders", fqUO1).Error, "")
	r.insert("orders", `{"userId":"u2","item":"hat"}`)
	fqLast("query.orderCount", "2", "1", "0")
	eq(t, "reads again", fqChan(r, "userOrders", fqUO1).Reads, []string{`users: keys "u1"`, `orders: records matching {"userId":"u1"}`})
	r.insert("orders", `{"userId":"u1","item":"bag"}`)
	fqLast(fqUO1, `{"items":["bag","cup"],"user":"Ann"}`, `{"items":["pen"],"user":"Ann"}`, `{"items":{},"user":"Ann"}`, `{"items":["cup"],"user":"Ann"}`)

	// Dropping the bucket of its key read (users).
	r.integer(1, "BUCKET.DROP", "users")
	eventually(t, 10*time.Second, "the users NOBUCKET error", func() bool {
		return fqChan(r, "userOrders", fqUO1).Error == `NOBUCKET Bucket "users" is not defined script: query, on @user_query:1.`
	})
	r.define("users", fqUsersDef)
	r.insert("users", `{"id":"u1","name":"Ada"}`)
	fqLast(fqUO1, `{"items":["bag","cup"],"user":"Ada"}`, `{"items":["pen"],"user":"Ann"}`, `{"items":{},"user":"Ann"}`,
		`{"items":["cup"],"user":"Ann"}`, `{"items":["bag","cup"],"user":"Ann"}`, `{"items":["bag","cup"],"user":null}`)
}

// TestFnQueryBucketDefinedRuns: docs/commands.md ("Read sets") puts a
// missing bucket's creation in the read set, so BUCKET.DEFINE alone must
// run the channels that found it missing.
func TestFnQueryBucketDefinedRuns(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	fqLua(r, "later", `return redis.call('B.COUNT', 'later')`)
	sub := qySubscribe(t, s.Client(t, 3), "query.later")
	eventually(t, 10*time.Second, "the NOBUCKET error", func() bool {
		return fqChan(r, "later", "query.later").Error != ""
	})
	r.define("later", fqUsersDef)
	eq(t, "QUERY.RUN after BUCKET.DEFINE", qyRun(r, "later"), "0")
	if !fqWithin(r, func() bool { return len(sub.messages("query.later")) > 0 }) {
		t.Fatal("BUCKET.DEFINE of a bucket a function query found missing does not run its channels: " +
			"they keep the NOBUCKET error until the first write (QUERY.INFO: " + r.str("QUERY.INFO", "later") + ")")
	}
	eq(t, "after BUCKET.DEFINE", sub.messages("query.later"), []string{"0"})
}

// fqWithin polls cond for up to two seconds and reports whether it held.
// It only decides whether to report a known bug (a Skip), never a pass.
func fqWithin(r *rc, cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
