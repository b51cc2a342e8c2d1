package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reactive queries (docs/commands.md, "Reactive queries") end to end: QUERY.* commands,
// live channels over go-redis and raw sockets in RESP2 and RESP3, and a
// randomized check that the live result after each quiet period equals
// QUERY.RUN. The qy* helpers are this file's.

const qyItemsDef = `{"key":"id","schema":{"id":{"type":"string"},"status":{"type":"string"},` +
	`"n":{"type":"number"},"g":{"type":"string"}},"indexes":["status"],"persistent":false}`

// qyCount is a count-with-filter query over items.
const qyCount = `{"bucket":"items","filter":{"status":"active"},"aggregate":{"function":"count"}}`

// qyStart starts a server whose log must show no data race (the harness
// builds it with -race when the tests run with -race).
func qyStart(t *testing.T) *Server {
	t.Helper()
	s := Start(t)
	t.Cleanup(func() {
		s.Stop()
		if strings.Contains(s.Log(), "DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", s.Log())
		}
	})
	return s
}

// qySub is a go-redis subscription whose messages are collected.
type qySub struct {
	t  *testing.T
	ps *redis.PubSub

	mu   sync.Mutex
	msgs []*redis.Message
	subs []*redis.Subscription
	cond chan struct{}
}

// qySubscribe subscribes c to channels and collects what arrives.
func qySubscribe(t *testing.T, c *redis.Client, channels ...string) *qySub {
	t.Helper()
	s := &qySub{t: t, ps: c.Subscribe(ctx(t), channels...), cond: make(chan struct{}, 1)}
	t.Cleanup(func() { s.ps.Close() })
	// The confirmations come in order; a channel's first result may come
	// before the confirmations of the channels after it.
	for confirmed := 0; confirmed < len(channels); {
		v, err := s.ps.Receive(ctx(t))
		if err != nil {
			t.Fatalf("subscribe %v: %v", channels, err)
		}
		switch x := v.(type) {
		case *redis.Subscription:
			if x.Channel != channels[confirmed] {
				t.Fatalf("subscribe %v: confirmation %d is for %s", channels, confirmed, x.Channel)
			}
			confirmed++
		case *redis.Message:
			if !slices.Contains(channels[:confirmed], x.Channel) {
				t.Fatalf("subscribe %v: message on %s before its confirmation", channels, x.Channel)
			}
			s.msgs = append(s.msgs, x)
		}
	}
	go func() {
		for {
			v, err := s.ps.Receive(context.Background())
			if err != nil {
				return
			}
			s.mu.Lock()
			switch x := v.(type) {
			case *redis.Message:
				s.msgs = append(s.msgs, x)
			case *redis.Subscription:
				s.subs = append(s.subs, x)
			}
			s.mu.Unlock()
			select {
			case s.cond <- struct{}{}:
			default:
			}
		}
	}()
	return s
}

// messages returns the payloads received so far on channel ("" for any).
func (s *qySub) messages(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs {
		if channel == "" || m.Channel == channel {
			out = append(out, m.Payload)
		}
	}
	return out
}

// waitN waits until n messages arrived on channel and returns them all.
func (s *qySub) waitN(channel string, n int) []string {
	s.t.Helper()
	eventually(s.t, 10*time.Second, fmt.Sprintf("%d messages on %s (have %q)", n, channel, s.messages(channel)), func() bool {
		return len(s.messages(channel)) >= n
	})
	return s.messages(channel)
}

// qyRun is QUERY.RUN.
func qyRun(r *rc, args ...any) string {
	r.t.Helper()
	return r.str(append([]any{"QUERY.RUN"}, args...)...)
}

func TestQueryCommands(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	protos(t, s, func(t *testing.T, r *rc) {
		r.do("FLUSHALL")
		for _, q := range r.list("QUERY.LIST") {
			r.do("QUERY.DROP", q)
		}
		r.do("BUCKET.DROP", "items")
		r.define("items", qyItemsDef)
		r.insert("items", `{"id":"a","status":"active","n":3,"g":"x"}`, `{"id":"b","status":"idle","n":5,"g":"y"}`,
			`{"id":"c","status":"active","n":8,"g":"x"}`)

		r.ok("QUERY.DEFINE", "active", qyCount)
		r.ok("QUERY.DEFINE", "active", qyCount) // identical: OK
		r.err("EXISTS Query \"active\" already exists with a different definition", "QUERY.DEFINE", "active", `{"bucket":"items"}`)
		r.err("ERR invalid JSON: *", "QUERY.DEFINE", "bad", `{"bucket":`)
		r.err(`NOBUCKET Bucket "nope" is not defined`, "QUERY.DEFINE", "nb", `{"bucket":"nope"}`)
		r.err(`ERR invalid query: unknown key "colour"`, "QUERY.DEFINE", "uk", `{"bucket":"items","colour":1}`)
		r.err("ERR invalid filter: *", "QUERY.DEFINE", "bf", `{"bucket":"items","filter":{"n":{"$nope":1}}}`)
		r.err("ERR invalid query name*", "QUERY.DEFINE", "a.b", `{"bucket":"items"}`)
		r.err("ERR wrong number of arguments for 'query.define' command", "QUERY.DEFINE", "x")

		r.ok("QUERY.DEFINE", "top", `{"bucket":"items","filter":{"n":{"$gte":"{{ params.min }}"}},"sort":{"n":"desc","id":"asc"},"limit":2,"fields":["id","n"]}`)
		r.ok("QUERY.DEFINE", "groups", `{"bucket":"items","aggregate":{"function":"sum","field":"n","groupBy":"g"}}`)
		eq(t, "QUERY.LIST", r.list("QUERY.LIST"), []string{"active", "groups", "top"})

		eq(t, "run count", qyRun(r, "active"), "2")
		eq(t, "run params", qyRun(r, "top", `{"min":4}`), `[{"id":"c","n":8},{"id":"b","n":5}]`)
		eq(t, "run groupBy", qyRun(r, "groups"), `[{"key":{"g":"x"},"value":11},{"key":{"g":"y"},"value":5}]`)
		eq(t, "B.FIND agrees", r.str("B.FIND", "items", `{"filter":{"n":{"$gte":4}},"sort":{"n":"desc","id":"asc"},"limit":2,"fields":["id","n"]}`),
			qyRun(r, "top", `{"min":4}`))
		r.err(`ERR missing query parameter "min"`, "QUERY.RUN", "top")
		r.err("ERR invalid JSON: *", "QUERY.RUN", "top", `{"min":`)
		r.err(`NOQUERY Query "zz" is not defined`, "QUERY.RUN", "zz")
		r.err(`NOQUERY Query "zz" is not defined`, "QUERY.INFO", "zz")
		r.err("ERR wrong number of arguments for 'query.run' command", "QUERY.RUN", "top", "{}", "{}")

		info := r.str("QUERY.INFO", "active")
		for _, want := range []string{`"name":"active"`, `"definition":` + qyCount, `"activeSubscriptions":0`, `"channels":[]`} {
			if !strings.Contains(info, want) {
				t.Errorf("QUERY.INFO %s lacks %s", info, want)
			}
		}
		r.integer(1, "QUERY.DROP", "groups")
		r.integer(0, "QUERY.DROP", "groups")
		eq(t, "QUERY.LIST after drop", r.list("QUERY.LIST"), []string{"active", "top"})
	})
}

func TestQueryLive(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			r := newRC(t, s, 3)
			r.do("BUCKET.DROP", "items")
			r.define("items", qyItemsDef)
			r.insert("items", `{"id":"a","status":"active"}`, `{"id":"b","status":"idle"}`)
			r.do("QUERY.DROP", "active")
			r.ok("QUERY.DEFINE", "active", qyCount)

			sub := qySubscribe(t, s.Client(t, proto), "query.active")
			eq(t, "first message", sub.waitN("query.active", 1), []string{"1"})

			// A relevant write pushes the new result.
			r.insert("items", `{"id":"c","status":"active"}`)
			eq(t, "after a relevant insert", sub.waitN("query.active", 2), []string{"1", "2"})

			// Irrelevant writes push nothing: the next message is the result
			// of the relevant write that follows them.
			r.insert("items", `{"id":"d","status":"idle"}`)
			r.do("B.UPDATE", "items", "a", `{"n":7}`)
			r.insert("items", `{"id":"e","status":"active"}`)
			eq(t, "after irrelevant then relevant writes", sub.waitN("query.active", 3), []string{"1", "2", "3"})

			// A transaction of 100 writes gives at most one new result.
			pipe := r.c.TxPipeline()
			for i := range 100 {
				pipe.Do(ctx(t), "B.INSERT", "items", fmt.Sprintf(`{"id":"t%d","status":"active"}`, i))
			}
			if _, err := pipe.Exec(ctx(t)); err != nil {
				t.Fatal(err)
			}
			eq(t, "after a transaction of 100", sub.waitN("query.active", 4)[3], "103")
			r.do("B.DELETE", "items", "t0")
			got := sub.waitN("query.active", 5)
			eq(t, "messages", got[3:], []string{"103", "102"})
			eq(t, "last message equals QUERY.RUN", got[len(got)-1], qyRun(r, "active"))
		})
	}
}

func TestQueryFirstMessageAndDrop(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			r := newRC(t, s, 3)
			r.do("BUCKET.DROP", "items")
			r.define("items", qyItemsDef)
			r.insert("items", `{"id":"a","status":"active","n":1}`)
			r.ok("QUERY.DEFINE", "active", qyCount)
			r.ok("QUERY.DEFINE", "byStatus", `{"bucket":"items","filter":{"status":"{{ params.s }}"},"fields":["id"]}`)

			c := rawProto(t, s, proto)
			// Confirmation first, then the current result, in that order.
			c.Send(psEnc("SUBSCRIBE", "plain", "query.active"))
			psExpect(t, c, "subscribe plain", psConf(proto, "subscribe", "plain", 1))
			psExpect(t, c, "subscribe query.active", psConf(proto, "subscribe", "query.active", 2))
			psExpect(t, c, "first result", psMsg(proto, "query.active", "1"))

			// QUERY.SUBSCRIBE canonicalises the parameters; a hand-typed
			// spelling gets its messages under its own name.
			canon := `query.byStatus:{"s":"active"}`
			c.Send(psEnc("QUERY.SUBSCRIBE", "byStatus", ` {"s" : "active"} `))
			psExpect(t, c, "QUERY.SUBSCRIBE", psConf(proto, "subscribe", canon, 3))
			psExpect(t, c, "its first result", psMsg(proto, canon, `[{"id":"a"}]`))
			typed := `query.byStatus:{ "s":"active" }`
			c.Send(psEnc("SUBSCRIBE", typed))
			psExpect(t, c, "SUBSCRIBE typed", psConf(proto, "subscribe", typed, 4))
			psExpect(t, c, "its first result", psMsg(proto, typed, `[{"id":"a"}]`))
			if info := r.str("QUERY.INFO", "byStatus"); !strings.Contains(info, `"activeSubscriptions":2`) || strings.Count(info, `"channel":`) != 1 {
				t.Errorf("one channel with two subscriptions expected: %s", info)
			}

			// QUERY.SUBSCRIBE checks what a plain SUBSCRIBE cannot.
			c.Send(psEnc("QUERY.SUBSCRIBE", "nope"))
			psExpect(t, c, "QUERY.SUBSCRIBE unknown", `-NOQUERY Query "nope" is not defined`+"\r\n")
			c.Send(psEnc("QUERY.SUBSCRIBE", "byStatus"))
			psExpect(t, c, "QUERY.SUBSCRIBE without params", "-ERR missing query parameter \"s\"\r\n")

			// A write reaches both spellings, each under its own name.
			r.insert("items", `{"id":"b","status":"active","n":2}`)
			want := map[string]bool{
				psMsg(proto, "query.active", "2"):              true,
				psMsg(proto, canon, `[{"id":"a"},{"id":"b"}]`): true,
				psMsg(proto, typed, `[{"id":"a"},{"id":"b"}]`): true,
			}
			for range 3 {
				f := c.Read()
				if !want[f] {
					t.Fatalf("unexpected frame %q", f)
				}
				delete(want, f)
			}

			// Dropping the query ends its channels with unsubscribe frames
			// carrying the connection's remaining count.
			r.integer(1, "QUERY.DROP", "byStatus")
			frames := []string{c.Read(), c.Read()}
			if frames[0] > frames[1] {
				frames[0], frames[1] = frames[1], frames[0]
			}
			a := psConf(proto, "unsubscribe", canon, 3)
			b := psConf(proto, "unsubscribe", typed, 3)
			c2 := psConf(proto, "unsubscribe", canon, 2)
			d := psConf(proto, "unsubscribe", typed, 2)
			if !((frames[0] == a && frames[1] == d) || (frames[0] == b && frames[1] == c2) || (frames[1] == a && frames[0] == d) || (frames[1] == b && frames[0] == c2)) {
				t.Errorf("drop frames %q", frames)
			}
			// The connection is still subscribed to the others.
			r.integer(1, "PUBLISH", "plain", "hi")
			psExpect(t, c, "plain message", psMsg(proto, "plain", "hi"))
			eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", canon), []any{canon, int64(0)})

			// Dropping the bucket drops its queries and ends their channels.
			r.integer(1, "BUCKET.DROP", "items")
			psExpect(t, c, "unsubscribe after BUCKET.DROP", psConf(proto, "unsubscribe", "query.active", 1))
			eq(t, "QUERY.LIST", r.list("QUERY.LIST"), []string{})
			psDo(t, c, []string{psConf(proto, "unsubscribe", "plain", 0)}, "UNSUBSCRIBE")
		})
	}
}

func TestQueryUnsubscribe(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("items", qyItemsDef)
	r.ok("QUERY.DEFINE", "active", qyCount)
	r.ok("QUERY.DEFINE", "p", `{"bucket":"items","filter":{"g":"{{params.g}}"},"aggregate":{"function":"count"}}`)
	for _, proto := range []int{2, 3} {
		c := rawProto(t, s, proto)
		// Confirmations in order; each first result after its own
		// confirmation (possibly before later ones).
		c.Send(psEnc("SUBSCRIBE", "query.active", `query.p:{"g":"x"}`, "other"))
		confs := []string{psConf(proto, "subscribe", "query.active", 1), psConf(proto, "subscribe", `query.p:{"g":"x"}`, 2),
			psConf(proto, "subscribe", "other", 3)}
		firsts := []string{psMsg(proto, "query.active", "0"), psMsg(proto, `query.p:{"g":"x"}`, "0")}
		gotFirst := map[string]bool{}
		for nc := 0; nc < 3 || len(gotFirst) < 2; {
			f := c.Read()
			switch {
			case nc < 3 && f == confs[nc]:
				nc++
			case (f == firsts[0] && nc >= 1) || (f == firsts[1] && nc >= 2):
				gotFirst[f] = true
			default:
				t.Fatalf("unexpected frame %q after %d confirmations", f, nc)
			}
		}
		psDo(t, c, []string{psConf(proto, "unsubscribe", `query.p:{"g":"x"}`, 2)}, "QUERY.UNSUBSCRIBE", "p", `{"g":"x"}`)
		psDo(t, c, []string{psConf(proto, "unsubscribe", `query.p:{"g":"y"}`, 2)}, "QUERY.UNSUBSCRIBE", "p", `{"g":"y"}`)
		psDo(t, c, []string{psConf(proto, "unsubscribe", "query.active", 1)}, "QUERY.UNSUBSCRIBE")
		psDo(t, c, []string{psConf(proto, "unsubscribe", "", 1)}, "QUERY.UNSUBSCRIBE")
		psDo(t, c, []string{psConf(proto, "unsubscribe", "other", 0)}, "UNSUBSCRIBE")
	}
	// The last unsubscribe stops the evaluation: the channel is gone.
	eventually(t, 5*time.Second, "no live channel left", func() bool {
		return strings.Contains(r.str("QUERY.INFO", "active"), `"channels":[]`)
	})
}

func TestQueryManySubscribers(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("items", qyItemsDef)
	r.ok("QUERY.DEFINE", "active", qyCount)
	const n = 24
	var subs []*qySub
	for i := range n {
		subs = append(subs, qySubscribe(t, s.Client(t, 2+i%2), "query.active"))
	}
	for i, sub := range subs {
		eq(t, fmt.Sprintf("subscriber %d first", i), sub.waitN("query.active", 1), []string{"0"})
	}
	info := r.str("QUERY.INFO", "active")
	if !strings.Contains(info, fmt.Sprintf(`"activeSubscriptions":%d`, n)) || strings.Count(info, `"channel":`) != 1 {
		t.Fatalf("QUERY.INFO %s", info)
	}
	eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", "query.active"), []any{"query.active", int64(n)})
	for i := range 5 {
		r.insert("items", fmt.Sprintf(`{"id":"k%d","status":"active"}`, i))
		for j, sub := range subs {
			got := sub.waitN("query.active", i+2)
			eq(t, fmt.Sprintf("subscriber %d", j), got[i+1], fmt.Sprint(i+1))
		}
	}
	for _, sub := range subs {
		eq(t, "no duplicate", len(sub.messages("")), 6)
	}
}

func TestQueryRuntimeErrorKeepsSubscribers(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("items", qyItemsDef)
	r.ok("QUERY.DEFINE", "top", `{"bucket":"items","sort":{"n":"desc"},"limit":"{{ params.k }}"}`)
	sub := qySubscribe(t, s.Client(t, 3), `query.top:{"k":"two"}`, `query.top:{"k":1}`)
	eq(t, "first message", sub.waitN(`query.top:{"k":1}`, 1), []string{"[]"}) // else the insert may land in it
	r.insert("items", `{"id":"a","n":1}`)
	sub.waitN(`query.top:{"k":1}`, 2)
	if got := sub.messages(`query.top:{"k":"two"}`); len(got) != 0 {
		t.Errorf("an erroring channel sent %q", got)
	}
	r.err(`ERR invalid query: "limit" expects a positive integer`, "QUERY.RUN", "top", `{"k":"two"}`)
	eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", `query.top:{"k":"two"}`), []any{`query.top:{"k":"two"}`, int64(1)})
	if info := r.str("QUERY.INFO", "top"); !strings.Contains(info, `"error":"invalid query: \"limit\" expects a positive integer"`) {
		t.Errorf("QUERY.INFO %s", info)
	}
}

// TestQueryRandomized applies random writes (single commands and
// transactions) and checks, after each quiet period, that the last message
// of every live channel equals QUERY.RUN and that no result was sent twice
// in a row: incremental maintenance gives what a full evaluation gives.
func TestQueryRandomized(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("items", `{"key":"id","schema":{"id":{"type":"string"},"status":{"type":"string"},"g":{"type":"string"}},"indexes":["status"],"persistent":false}`)
	r.define("seq", `{"key":"id","schema":{"id":{"type":"number"}},"ordered":true,"persistent":false}`)
	queries := map[string]string{
		"cnt":    `{"bucket":"items","filter":{"status":"active"},"aggregate":{"function":"count"}}`,
		"sum":    `{"bucket":"items","filter":{"n":{"$gt":2}},"aggregate":{"function":"sum","field":"n"}}`,
		"avg":    `{"bucket":"seq","aggregate":{"function":"avg","field":"n"}}`,
		"max":    `{"bucket":"items","aggregate":{"function":"max","field":"n"}}`,
		"grp":    `{"bucket":"items","aggregate":{"function":"count","groupBy":["g","status"]}}`,
		"gmin":   `{"bucket":"seq","filter":{"n":{"$exists":true}},"aggregate":{"function":"min","field":"n","groupBy":"g"}}`,
		"top":    `{"bucket":"items","sort":{"n":"desc","g":"asc"},"limit":3,"fields":["id","n","g"]}`,
		"page":   `{"bucket":"seq","filter":{"$or":[{"g":"a"},{"n":{"$lt":5}}]},"sort":{"g":"desc"},"offset":2,"limit":4}`,
		"list":   `{"bucket":"items","filter":{"status":{"$in":["active","idle"]}}}`,
		"params": `{"bucket":"items","filter":{"g":"{{ params.g }}"},"sort":{"n":"asc"},"limit":"{{params.k}}"}`,
	}
	type target struct{ name, params, channel string }
	var targets []target
	for name, def := range queries {
		r.ok("QUERY.DEFINE", name, def)
		if name != "params" {
			targets = append(targets, target{name, "", "query." + name})
		}
	}
	targets = append(targets,
		target{"params", `{"g":"a","k":2}`, `query.params:{"g":"a","k":2}`},
		target{"params", `{"k":2,"g":"a"}`, `query.params:{"k":2,"g":"a"}`},
		target{"params", `{"g":"b","k":5}`, `query.params:{"g":"b","k":5}`})
	var chans []string
	for _, tg := range targets {
		chans = append(chans, tg.channel)
	}
	subs := []*qySub{qySubscribe(t, s.Client(t, 2), chans...), qySubscribe(t, s.Client(t, 3), chans...)}

	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []string{`"active"`, `"idle"`, `"gone"`}
	gs := []string{`"a"`, `"b"`, `"c"`, `null`}
	record := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, `"status":%s,"g":%s`, statuses[rng.IntN(3)], gs[rng.IntN(4)])
		if rng.IntN(5) > 0 {
			fmt.Fprintf(&b, `,"n":%d`, rng.IntN(12))
		}
		return b.String()
	}
	write := func(p qyDoer) {
		i := rng.IntN(30)
		switch x := rng.IntN(10); {
		case x < 3:
			p.Do(ctx(t), "B.UPSERT", "items", fmt.Sprintf(`{"id":"k%d",%s}`, i, record()))
		case x < 5:
			p.Do(ctx(t), "B.UPSERT", "seq", fmt.Sprintf(`{"id":%d,%s}`, i, record()))
		case x < 7:
			p.Do(ctx(t), "B.UPDATE", "items", fmt.Sprintf("k%d", i), "{"+record()+"}")
		case x < 8:
			p.Do(ctx(t), "B.DELETE", "items", fmt.Sprintf("k%d", i))
		case x < 9:
			p.Do(ctx(t), "B.DELETE", "seq", fmt.Sprint(i))
		default:
			p.Do(ctx(t), "B.UPDATEMANY", "items", `{"g":"a"}`, fmt.Sprintf(`{"n":%d}`, rng.IntN(12)))
		}
	}
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	for round := range rounds {
		if rng.IntN(3) == 0 {
			pipe := r.c.TxPipeline()
			for range 1 + rng.IntN(20) {
				write(pipe)
			}
			pipe.Exec(ctx(t)) // a failed command rolls the whole transaction back
		} else {
			for range 1 + rng.IntN(8) {
				write(r.c)
			}
		}
		for _, tg := range targets {
			args := []any{tg.name}
			if tg.params != "" {
				args = append(args, tg.params)
			}
			want := qyRun(r, args...)
			for si, sub := range subs {
				eventually(t, 10*time.Second, fmt.Sprintf("round %d, subscriber %d, %s: live = QUERY.RUN %s (live: %q)",
					round, si, tg.channel, want, lastOf(sub.messages(tg.channel))), func() bool {
					return lastOf(sub.messages(tg.channel)) == want
				})
			}
		}
	}
	for _, sub := range subs {
		for _, tg := range targets {
			ms := sub.messages(tg.channel)
			for i := 1; i < len(ms); i++ {
				if ms[i] == ms[i-1] {
					t.Fatalf("%s sent the same result twice in a row: %s", tg.channel, ms[i])
				}
			}
		}
	}
}

// qyDoer runs a command: a client or a transaction pipeline.
type qyDoer interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}

func lastOf(xs []string) string {
	if len(xs) == 0 {
		return "<none>"
	}
	return xs[len(xs)-1]
}
