package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// A transaction across two buckets reaches a function query whole: one
// push with both changes, and never a result that holds half of one.

const fqPairDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"g":{"type":"string"}},` +
	`"indexes":["g"],"persistent":false}`

// fqPair counts bucket ba and bucket bb (the records of group params.g
// when given), spinning params.spin times between the two reads so that
// commits land while it runs.
const fqPair = `local fa, fb = {}, {}
if params.g then fa = {cjson.encode({g = params.g})}; fb = fa end
local a = redis.call('B.COUNT', 'ba', unpack(fa))
local x = 0
for i = 1, (params.spin or 0) do x = x + i end
local b = redis.call('B.COUNT', 'bb', unpack(fb))
return {a = a, b = b}`

// fqPairTx inserts one record of group g into ba and one into bb in one
// transaction: MULTI/EXEC, or a script when script.
func fqPairTx(c *redis.Client, g string, script bool) error {
	rec := fmt.Sprintf(`{"g":%q}`, g)
	if script {
		return c.Eval(context.Background(), "redis.call('B.INSERT', KEYS[1], ARGV[1]) return redis.call('B.INSERT', KEYS[2], ARGV[1])",
			[]string{"ba", "bb"}, rec).Err()
	}
	_, err := c.TxPipelined(context.Background(), func(p redis.Pipeliner) error {
		p.Do(context.Background(), "B.INSERT", "ba", rec)
		p.Do(context.Background(), "B.INSERT", "bb", rec)
		return nil
	})
	return err
}

// fqPairOf decodes a pair result.
func fqPairOf(t *testing.T, what, s string) (a, b int) {
	var p struct{ A, B *int }
	if err := json.Unmarshal([]byte(s), &p); err != nil || p.A == nil || p.B == nil {
		t.Errorf("%s: %q is not a pair (%v)", what, s, err)
		return -1, -1
	}
	return *p.A, *p.B
}

func TestFnQueryTransactionOnePush(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("ba", fqPairDef)
	r.define("bb", fqPairDef)
	fqLua(r, "pair", fqPair)
	sub := qySubscribe(t, s.Client(t, 3), "query.pair")
	eq(t, "first", sub.waitN("query.pair", 1), []string{`{"a":0,"b":0}`})
	for i, script := range []bool{false, true, false} {
		if err := fqPairTx(r.c, "x", script); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"a":%d,"b":%d}`, i+1, i+1)
		// Each transaction is one new result, and the next result is the
		// next transaction's: nothing came between.
		eq(t, fmt.Sprintf("after transaction %d", i+1), sub.waitN("query.pair", i+2)[i+1], want)
	}
	eq(t, "every message", sub.messages("query.pair"), []string{`{"a":0,"b":0}`, `{"a":1,"b":1}`, `{"a":2,"b":2}`, `{"a":3,"b":3}`})
	eq(t, "reads", fqChan(r, "pair", "query.pair").Reads, []string{"ba: every record", "bb: every record"})
}

func TestFnQueryTransactionNeverHalf(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("ba", fqPairDef)
	r.define("bb", fqPairDef)
	// Runs that spin 30,000 steps under -race on a busy machine may pass
	// the default limit of a second; this test is about consistency.
	r.ok("CONFIG", "SET", "query-time-limit", "30000")
	fqLua(r, "pair", fqPair)
	channels := []string{
		`query.pair`,
		`query.pair:{"spin":2000}`,
		`query.pair:{"spin":30000}`,
		`query.pair:{"g":"x"}`,
		`query.pair:{"g":"y","spin":20000}`,
	}
	subs := []*qySub{qySubscribe(t, s.Client(t, 2), channels...), qySubscribe(t, s.Client(t, 3), channels...)}
	for _, sub := range subs {
		for _, ch := range channels {
			sub.waitN(ch, 1)
		}
	}

	const writers, perWriter = 3, 150
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		perGroup = map[string]int{}
		halfRuns []string
		stop     = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.Client(t, 2+w%2)
			for i := range perWriter {
				g := []string{"x", "y"}[(w+i)%2]
				if err := fqPairTx(c, g, i%3 == 0); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				perGroup[g]++
				mu.Unlock()
			}
		}()
	}
	// QUERY.RUN while the writers run: never half a transaction either.
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		c := s.Client(t, 3)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range []string{`{"spin":20000}`, `{"g":"x","spin":5000}`} {
				got, err := c.Do(context.Background(), "QUERY.RUN", "pair", p).Text()
				if err != nil {
					t.Errorf("QUERY.RUN: %v", err)
					return
				}
				if a, b := fqPairOf(t, "QUERY.RUN", got); a != b {
					mu.Lock()
					halfRuns = append(halfRuns, got)
					mu.Unlock()
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	rwg.Wait()
	if len(halfRuns) > 0 {
		t.Errorf("QUERY.RUN returned halves of transactions: %q", halfRuns)
	}

	total := writers * perWriter
	final := map[string]string{
		`query.pair`:                        fmt.Sprintf(`{"a":%d,"b":%d}`, total, total),
		`query.pair:{"spin":2000}`:          fmt.Sprintf(`{"a":%d,"b":%d}`, total, total),
		`query.pair:{"spin":30000}`:         fmt.Sprintf(`{"a":%d,"b":%d}`, total, total),
		`query.pair:{"g":"x"}`:              fmt.Sprintf(`{"a":%d,"b":%d}`, perGroup["x"], perGroup["x"]),
		`query.pair:{"g":"y","spin":20000}`: fmt.Sprintf(`{"a":%d,"b":%d}`, perGroup["y"], perGroup["y"]),
	}
	for si, sub := range subs {
		for _, ch := range channels {
			msgs := fqWaitLast(t, sub, ch, final[ch])
			prev := -1
			for _, m := range msgs {
				a, b := fqPairOf(t, ch, m)
				if a != b {
					t.Errorf("subscriber %d, %s: half a transaction: %s", si, ch, m)
				}
				if a <= prev {
					t.Errorf("subscriber %d, %s: %s after a result with a=%d", si, ch, m, prev)
				}
				prev = a
			}
		}
	}
	st := fqStats(r)
	t.Logf("%d transactions; runs %v, reruns %v, published %v", total, st["runs"], st["reruns"], st["published"])
}
