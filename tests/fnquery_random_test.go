package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A randomized test of function queries: four buckets, twenty live
// channels of Lua and FUNCTION queries reading them in every way, and
// random writes and transactions from three clients. After each burst,
// once the queries are quiet, every channel's last message must equal a
// fresh QUERY.RUN. FQ_SEED=n replays a seed (the interleaving of the
// writers still varies).

const (
	fqrUsersDef  = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"role":{"type":"string"},"score":{"type":"number"}},"indexes":["role"],"persistent":false}`
	fqrOrdersDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"userId":{"type":"string"},"item":{"type":"string"},"qty":{"type":"number"}},"indexes":["userId"],"persistent":false}`
	fqrItemsDef  = `{"key":"id","schema":{"id":{"type":"string"},"g":{"type":"string"},"n":{"type":"number"}},"persistent":false}`
	fqrLogsDef   = `{"key":"id","schema":{"id":{"type":"number"},"level":{"type":"string"}},"ordered":true,"persistent":false}`
)

// fqrLib holds the FUNCTION queries.
const fqrLib = `#!lua name=rnd
redis.register_function{function_name='roleCounts', flags={'no-writes'}, callback=function(p)
  local counts = {}
  for _, r in ipairs(redis.call('B.ALL', 'users')) do
    local u = cjson.decode(r)
    counts[u.role] = (counts[u.role] or 0) + 1
  end
  return counts
end}
redis.register_function{function_name='topItems', flags={'no-writes'}, callback=function(p)
  local ids = {}
  for _, r in ipairs(redis.call('B.WHERE', 'items', cjson.encode({n = {['$gte'] = p.min}}))) do
    ids[#ids + 1] = cjson.decode(r).id
  end
  table.sort(ids)
  return {ids = ids, qty = tostring(redis.call('B.SUM', 'orders', 'qty', cjson.encode({qty = {['$gt'] = p.q}})))}
end}
redis.register_function{function_name='logsEnds', flags={'no-writes'}, callback=function(p)
  local first, last = {}, {}
  for _, r in ipairs(redis.call('B.FIRST', 'logs', p.n)) do first[#first + 1] = cjson.decode(r).id end
  for _, r in ipairs(redis.call('B.LAST', 'logs', p.n)) do last[#last + 1] = cjson.decode(r).level end
  return {first = first, last = last}
end}`

// fqrLua are the LUA queries.
var fqrLua = map[string]string{
	"uo": `local u = redis.call('B.GET', 'users', params.userId)
local items = {}
for _, r in ipairs(redis.call('B.WHERE', 'orders', cjson.encode({userId = params.userId}))) do
  local o = cjson.decode(r)
  items[#items + 1] = o.item .. ':' .. o.qty
end
table.sort(items)
return {user = u and cjson.decode(u) or cjson.null, items = items}`,
	"mix": `local names = {}
for i, r in ipairs(redis.call('B.MGET', 'users', unpack(params.ids))) do names[i] = r and cjson.decode(r).name or '-' end
return {names = names, logs = redis.call('B.COUNT', 'logs', cjson.encode({level = params.level})),
  top = cjson.decode(redis.call('QUERY.RUN', 'declItems', cjson.encode({g = params.g})))}`,
	"grp": `local one = redis.call('B.FINDONE', 'users', cjson.encode({role = params.role}))
return {groups = cjson.decode(redis.call('B.GROUPBY', 'orders', 'userId', 'count', cjson.encode({qty = {['$lte'] = params.max}}))),
  one = one and cjson.decode(one).id or cjson.null}`,
	"page": `local p = redis.call('B.PAGINATE', 'items', 'LIMIT', '3')
local ids = {}
for _, r in ipairs(p[1]) do ids[#ids + 1] = cjson.decode(r).id end
return {ids = ids, rest = p[2], more = p[3]}`,
	"avg": `return tostring(redis.call('B.AVG', 'orders', 'qty', cjson.encode({userId = params.u}))) .. '/' ..
  tostring(redis.call('B.MAX', 'orders', 'qty'))`,
}

// fqrChannels are the twenty live channels: query name and parameters.
var fqrChannels = [][2]string{
	{"uo", `{"userId":"u0"}`}, {"uo", `{"userId":"u1"}`}, {"uo", `{"userId":"u2"}`}, {"uo", `{"userId":"u9"}`},
	{"roleCounts", ``}, {"roleCounts", `{"x":1}`},
	{"topItems", `{"min":0,"q":0}`}, {"topItems", `{"min":5,"q":3}`}, {"topItems", `{"min":9,"q":8}`},
	{"logsEnds", `{"n":1}`}, {"logsEnds", `{"n":3}`},
	{"mix", `{"g":"a","ids":["u0","u1"],"level":"warn"}`}, {"mix", `{"g":"b","ids":["u3","u7","u8"],"level":"error"}`},
	{"mix", `{"g":"c","ids":["u5"],"level":"info"}`},
	{"grp", `{"max":3,"role":"admin"}`}, {"grp", `{"max":10,"role":"guest"}`}, {"grp", `{"max":1,"role":"user"}`},
	{"page", ``}, {"avg", `{"u":"u1"}`}, {"avg", `{"u":"u4"}`},
}

// fqrChannel is the channel name of a query and its parameters.
func fqrChannel(q [2]string) string {
	if q[1] == "" {
		return "query." + q[0]
	}
	return "query." + q[0] + ":" + q[1]
}

// fqrWrite issues one random write on p.
func fqrWrite(rng *rand.Rand, p qyDoer) {
	c := context.Background()
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	user := fmt.Sprintf("u%d", rng.IntN(10))
	switch x := rng.IntN(20); {
	case x < 3:
		p.Do(c, "B.UPSERT", "users", fmt.Sprintf(`{"id":%q,"name":"%s%d","role":%q,"score":%d}`, user,
			pick("Ann", "Bob", "Cy"), rng.IntN(3), pick("admin", "user", "guest"), rng.IntN(100)))
	case x < 5:
		p.Do(c, "B.UPDATE", "users", user, fmt.Sprintf(`{"role":%q}`, pick("admin", "user", "guest")))
	case x < 6:
		p.Do(c, "B.UPDATE", "users", user, fmt.Sprintf(`{"score":%d}`, rng.IntN(100))) // read by uo only
	case x < 7:
		p.Do(c, "B.DELETE", "users", user)
	case x < 10:
		p.Do(c, "B.INSERT", "orders", fmt.Sprintf(`{"userId":%q,"item":%q,"qty":%d}`, user, pick("pen", "cup", "hat"), 1+rng.IntN(10)))
	case x < 11:
		p.Do(c, "B.UPDATE", "orders", strconv.Itoa(1+rng.IntN(600)), fmt.Sprintf(`{"qty":%d}`, 1+rng.IntN(10)))
	case x < 12:
		if rng.IntN(2) == 0 {
			p.Do(c, "B.DELETE", "orders", strconv.Itoa(1+rng.IntN(600)))
		} else {
			p.Do(c, "B.DELETEMANY", "orders", fmt.Sprintf(`{"userId":%q,"qty":{"$lte":%d}}`, user, 1+rng.IntN(5)))
		}
	case x < 15:
		p.Do(c, "B.UPSERT", "items", fmt.Sprintf(`{"id":"i%d","g":%q,"n":%d}`, rng.IntN(15), pick("a", "b", "c"), rng.IntN(11)))
	case x < 16:
		p.Do(c, "B.DELETE", "items", fmt.Sprintf("i%d", rng.IntN(15)))
	case x < 17:
		p.Do(c, "B.UPDATEMANY", "items", fmt.Sprintf(`{"g":%q}`, pick("a", "b", "c")), fmt.Sprintf(`{"n":%d}`, rng.IntN(11)))
	case x < 19:
		p.Do(c, "B.UPSERT", "logs", fmt.Sprintf(`{"id":%d,"level":%q}`, rng.IntN(20), pick("info", "warn", "error")))
	default:
		p.Do(c, "B.DELETE", "logs", strconv.Itoa(rng.IntN(20)))
	}
}

func TestFnQueryRandomized(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("FQ_SEED"); env != "" {
		seed, _ = strconv.ParseUint(env, 10, 64)
	}
	t.Logf("seed %d (FQ_SEED=%d replays it)", seed, seed)
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("users", fqrUsersDef)
	r.define("orders", fqrOrdersDef)
	r.define("items", fqrItemsDef)
	r.define("logs", fqrLogsDef)
	r.str("FUNCTION", "LOAD", fqrLib)
	for _, f := range []string{"roleCounts", "topItems", "logsEnds"} {
		r.ok("QUERY.DEFINE", f, "FUNCTION", f)
	}
	for name, chunk := range fqrLua {
		fqLua(r, name, chunk)
	}
	r.ok("QUERY.DEFINE", "declItems", `{"bucket":"items","filter":{"g":"{{ params.g }}"},"sort":{"n":"desc","id":"asc"},"limit":3,"fields":["id","n"]}`)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 40 {
		fqrWrite(rng, r.c)
	}

	var chans []string
	for _, q := range fqrChannels {
		chans = append(chans, fqrChannel(q))
	}
	subs := []*qySub{qySubscribe(t, s.Client(t, 2), chans...), qySubscribe(t, s.Client(t, 3), chans...)}
	run := func(q [2]string) string {
		t.Helper()
		if q[1] == "" {
			return qyRun(r, q[0])
		}
		return qyRun(r, q[0], q[1])
	}

	rounds, perWriter := 10, 150
	if testing.Short() || raceEnabled {
		rounds = 5
	}
	const writers = 3
	clients := make([]*redis.Client, writers)
	for w := range clients {
		clients[w] = s.Client(t, 2+w%2)
	}
	for round := range rounds {
		var wg sync.WaitGroup
		for w := range writers {
			wrng := rand.New(rand.NewPCG(seed, uint64(2+round*writers+w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clients[w]
				for i := 0; i < perWriter; {
					if wrng.IntN(4) == 0 {
						n := 2 + wrng.IntN(5)
						pipe := c.TxPipeline()
						for range n {
							fqrWrite(wrng, pipe)
						}
						pipe.Exec(context.Background()) // a failed command rolls it all back
						i += n
					} else {
						fqrWrite(wrng, c)
						i++
					}
				}
			}()
		}
		wg.Wait()
		fqIdle(t, r)
		for i, q := range fqrChannels {
			want := run(q)
			for si, sub := range subs {
				got := fqWaitLastOr(sub, chans[i], want)
				if got != want {
					t.Fatalf("seed %d, round %d, subscriber %d, %s: live result\n%s\n!= QUERY.RUN\n%s", seed, round, si, chans[i], got, want)
				}
			}
		}
		// A new subscriber's first message is the current result.
		q := fqrChannels[rng.IntN(len(fqrChannels))]
		late := qySubscribe(t, s.Client(t, 3), fqrChannel(q))
		eq(t, fmt.Sprintf("round %d: first message of a late subscriber to %s", round, fqrChannel(q)), late.waitN(fqrChannel(q), 1), []string{run(q)})
		late.ps.Close()
	}
	for i, ch := range chans {
		a, b := subs[0].messages(ch), subs[1].messages(ch)
		eq(t, ch+": both subscribers got the same messages", a, b)
		for j := 1; j < len(a); j++ {
			if a[j] == a[j-1] {
				t.Errorf("%s sent the same result twice in a row: %s", ch, a[j])
			}
		}
		if in := fqChan(r, fqrChannels[i][0], ch); in.Error != "" {
			t.Errorf("%s: error %s", ch, in.Error)
		}
	}
	for _, q := range fqrChannels {
		if testing.Verbose() {
			t.Logf("%s = %s", fqrChannel(q), run(q))
		}
	}
	st := fqStats(r)
	t.Logf("runs %v, reruns %v, published %v, skippedChanges %v", st["runs"], st["reruns"], st["published"], st["skippedChanges"])
}

// fqWaitLastOr waits up to five seconds for the last message on channel
// to be want, and returns the last message then.
func fqWaitLastOr(sub *qySub, channel, want string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := lastOf(sub.messages(channel))
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}
