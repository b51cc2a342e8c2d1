// Command fnquery measures what reactive queries written as Lua functions
// (QUERY.DEFINE … LUA) cost bucketd's writers, on this machine, in one run:
//
//   - selectivity: -users users and their orders, and -channels live
//     channels of userOrders(userId) (examples/queries/user_orders.lua: a
//     B.GET of the user and a B.WHERE of the user's orders) for the first
//     -channels users, each user having -orders orders. Writers update the
//     amount of random orders (so about channels/users of the writes
//     concern a subscribed user; the data keeps its size, so every round
//     measures the same runs). Printed: the
//     runs per write that concerns a subscribed user (target <= 1.05; a
//     query re-run on any change of a bucket it read would run -channels
//     times) and per write overall, and the write rate with the channels
//     against without them, as the median of back-to-back pairs (target
//     >= 0.50);
//   - roleCounts (examples/queries/role_counts.lua: a count per role over
//     B.ALL users) over -role-users users with -subs subscribers, writers
//     changing random users' roles: the write rate kept (target >= 0.50),
//     and the runs and pushes meanwhile.
//
// Run it from the repository's root (it reads the Lua files there):
//
//	go run ./bench/fnquery                        # builds bucketd
//	go run ./bench/fnquery -d 2s -rounds 2        # a shorter run
//	go run ./bench/fnquery -cpuprofile /tmp/fnq.pprof   # bucketd's profile of the first run with the channels
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bucketd/bench/internal/benchutil"
)

var (
	bin       = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	users     = flag.Int("users", 10000, "users in the selectivity run")
	channels  = flag.Int("channels", 1000, "live userOrders channels (one per user, the first ones)")
	orders    = flag.Int("orders", 5, "orders per user in the selectivity run")
	roleUsers = flag.Int("role-users", 50000, "users in the roleCounts run")
	subs      = flag.Int("subs", 10, "subscribers of roleCounts")
	clients   = flag.Int("c", 50, "concurrent writer clients (pipeline 1)")
	duration  = flag.Duration("d", 3*time.Second, "length of each write run")
	rounds    = flag.Int("rounds", 3, "without/with pairs of write runs")
	cpuProf   = flag.String("cpuprofile", "", "write bucketd's CPU profile of the first selectivity run with the channels to this file (serves --metrics-addr for it)")
)

const (
	usersDef  = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"role":{"type":"string"}},"persistent":false}`
	ordersDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"userId":{"type":"string"},"amount":{"type":"number"}},"indexes":["userId"],"persistent":false}`
)

var roles = []string{"admin", "editor", "author", "reader", "guest"}

func main() {
	flag.Parse()
	userOrders, err := os.ReadFile(filepath.Join("examples", "queries", "user_orders.lua"))
	benchutil.Check(err)
	roleCounts, err := os.ReadFile(filepath.Join("examples", "queries", "role_counts.lua"))
	benchutil.Check(err)
	tmp, err := os.MkdirTemp("", "bucketd-bench-fnquery-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	fmt.Printf("machine: %d cores, %s\n", runtime.NumCPU(), benchutil.CPUModel())
	fmt.Printf("writers: %d clients, pipeline 1, %v per run, %d without/with pairs\n\n", *clients, *duration, *rounds)
	selectivity(filepath.Join(tmp, "a"), string(userOrders))
	fmt.Println()
	roleCount(filepath.Join(tmp, "b"), string(roleCounts))
}

// selectivity is the userOrders run.
func selectivity(dir, lua string) {
	args := []string{"--appendonly", "no"}
	metrics := ""
	if *cpuProf != "" {
		metrics = "127.0.0.1:" + benchutil.FreePort()
		args = append(args, "--metrics-addr", metrics)
	}
	s := benchutil.Start(*bin, dir, args...)
	defer s.Stop()
	c := s.Client(*clients + 4)
	defer c.Close()
	ctx := context.Background()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "users", usersDef).Err())
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "orders", ordersDef).Err())
	loadUsers(c, *users)
	loadOrders(c)
	benchutil.Check(c.Do(ctx, "QUERY.DEFINE", "userOrders", "LUA", lua).Err())
	fmt.Printf("selectivity: %d live channels of userOrders(userId) (B.GET users + B.WHERE orders by indexed userId), %d users with %d orders each\n",
		*channels, *users, *orders)
	fmt.Printf("writes: B.UPDATE orders <random order> {\"amount\":…} (%.0f%% of them a subscribed user's)\n", 100*float64(*channels)/float64(*users))

	// Order i (from 1) is user (i-1) % users's.
	update := func(r *rand.Rand) (string, []any) {
		id := 1 + r.IntN(*users**orders)
		return "u" + strconv.Itoa((id-1)%*users), []any{"B.UPDATE", "orders", strconv.Itoa(id), `{"amount":` + strconv.Itoa(r.IntN(1000)) + `}`}
	}
	var without, with, ratios, perHit, perWrite []float64
	for round := range *rounds {
		w0, _ := writeLoad(c, round*2, update, nil)
		l := listen(s, channelNames(), 10)
		r0 := queryRuns(c)
		var prof chan error
		if round == 0 && metrics != "" {
			prof = benchutil.StartProfile(metrics, "profile", *cpuProf, *duration)
		}
		w1, hits := writeLoad(c, round*2+1, update, func(user string) bool {
			n, _ := strconv.Atoi(user[1:])
			return n < *channels
		})
		r1 := settle(c)
		if prof != nil {
			benchutil.Check(<-prof)
			fmt.Printf("  (bucketd profile of the first run with the channels: go tool pprof -top %s)\n", *cpuProf)
		}
		l.close()
		waitNoChannels(c, "userOrders")
		without, with, ratios = append(without, w0), append(with, w1), append(ratios, w1/w0)
		writes := w1 * duration.Seconds()
		perHit = append(perHit, float64(r1-r0)/float64(hits))
		perWrite = append(perWrite, float64(r1-r0)/writes)
	}
	fmt.Printf("  %-46s %10.0f   runs: %s\n", "writes/s without the channels", benchutil.Median(without), benchutil.List(without, 0))
	fmt.Printf("  %-46s %10.0f   runs: %s\n", fmt.Sprintf("writes/s with %d channels", *channels), benchutil.Median(with), benchutil.List(with, 0))
	fmt.Printf("  %-46s %10.2f   pairs: %s   (target >= 0.50)\n", "ratio with / without (median of pairs)", benchutil.Median(ratios), benchutil.List(ratios, 2))
	fmt.Printf("  %-46s %10.3f   rounds: %s   (target <= 1.05; re-running every channel would be %d)\n",
		"runs per write to a subscribed user's orders", benchutil.Median(perHit), benchutil.List(perHit, 3), *channels)
	fmt.Printf("  %-46s %10.3f   rounds: %s\n", "runs per write (all writes)", benchutil.Median(perWrite), benchutil.List(perWrite, 3))
	fmt.Printf("  INFO queries:%s\n", strings.ReplaceAll("\n"+strings.TrimSpace(c.Info(ctx, "queries").Val()), "\n", "\n    "))
}

// roleCount is the roleCounts run.
func roleCount(dir, lua string) {
	s := benchutil.Start(*bin, dir, "--appendonly", "no")
	defer s.Stop()
	c := s.Client(*clients + 4)
	defer c.Close()
	ctx := context.Background()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "users", usersDef).Err())
	loadUsers(c, *roleUsers)
	benchutil.Check(c.Do(ctx, "QUERY.DEFINE", "roleCounts", "LUA", lua).Err())
	began := time.Now()
	out, err := c.Do(ctx, "QUERY.RUN", "roleCounts").Text()
	benchutil.Check(err)
	fmt.Printf("roleCounts over %d users (B.ALL users, a count per role), %d subscribers; one run takes %v: %s\n",
		*roleUsers, *subs, time.Since(began).Round(time.Millisecond), out)
	fmt.Printf("writes: B.UPDATE users <random user> {\"role\":<random role>}\n")
	update := func(r *rand.Rand) (string, []any) {
		return "", []any{"B.UPDATE", "users", "u" + strconv.Itoa(r.IntN(*roleUsers)), `{"role":"` + roles[r.IntN(len(roles))] + `"}`}
	}
	names := make([]string, *subs)
	for i := range names {
		names[i] = "query.roleCounts"
	}
	var without, with, ratios, runs, pushes []float64
	for round := range *rounds {
		w0, _ := writeLoad(c, round*2, update, nil)
		l := listen(s, names, *subs)
		r0, p0 := queryRuns(c), l.got.Load()
		w1, _ := writeLoad(c, round*2+1, update, nil)
		r1, p1 := queryRuns(c), l.got.Load()
		l.close()
		waitNoChannels(c, "roleCounts")
		without, with, ratios = append(without, w0), append(with, w1), append(ratios, w1/w0)
		runs = append(runs, float64(r1-r0)/duration.Seconds())
		pushes = append(pushes, float64(p1-p0)/float64(*subs)/duration.Seconds())
	}
	fmt.Printf("  %-46s %10.0f   runs: %s\n", "writes/s without subscribers", benchutil.Median(without), benchutil.List(without, 0))
	fmt.Printf("  %-46s %10.0f   runs: %s\n", fmt.Sprintf("writes/s with %d subscribers", *subs), benchutil.Median(with), benchutil.List(with, 0))
	fmt.Printf("  %-46s %10.2f   pairs: %s   (target >= 0.50)\n", "ratio with / without (median of pairs)", benchutil.Median(ratios), benchutil.List(ratios, 2))
	fmt.Printf("  %-46s %10.1f   rounds: %s\n", "query runs per second meanwhile", benchutil.Median(runs), benchutil.List(runs, 1))
	fmt.Printf("  %-46s %10.1f   rounds: %s\n", "results pushed per second per subscriber", benchutil.Median(pushes), benchutil.List(pushes, 1))
}

// loadUsers inserts users u0…u<n-1> with a role each, in pipelined batches.
func loadUsers(c *redis.Client, n int) {
	ctx := context.Background()
	const batch = 1000
	p := c.Pipeline()
	var b strings.Builder
	for from := 0; from < n; from += batch {
		b.Reset()
		b.WriteByte('[')
		for i := from; i < min(from+batch, n); i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"u%d","name":"user %d","role":"%s"}`, i, i, roles[i%len(roles)])
		}
		b.WriteByte(']')
		p.Do(ctx, "B.INSERTMANY", "users", b.String())
	}
	_, err := p.Exec(ctx)
	benchutil.Check(err)
}

// loadOrders inserts *orders orders per user, order i (from 1) being user
// (i-1) % *users's.
func loadOrders(c *redis.Client) {
	ctx := context.Background()
	const batch = 1000
	p := c.Pipeline()
	var b strings.Builder
	n := *users * *orders
	for from := 0; from < n; from += batch {
		b.Reset()
		b.WriteByte('[')
		for i := from; i < min(from+batch, n); i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"userId":"u%d","amount":%d}`, i%*users, i%1000)
		}
		b.WriteByte(']')
		p.Do(ctx, "B.INSERTMANY", "orders", b.String())
	}
	_, err := p.Exec(ctx)
	benchutil.Check(err)
}

// channelNames are the userOrders channels of the first *channels users.
func channelNames() []string {
	out := make([]string, *channels)
	for i := range out {
		out[i] = `query.userOrders:{"userId":"u` + strconv.Itoa(i) + `"}`
	}
	return out
}

// writeLoad runs *clients writers for *duration, each sending the command
// next gives, and returns the writes acknowledged per second and how many
// of them hit says concern a subscribed user (hit nil: none counted).
func writeLoad(c *redis.Client, seed int, next func(r *rand.Rand) (string, []any), hit func(user string) bool) (float64, int64) {
	var ops, hits atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(w), uint64(seed)))
			for time.Now().Before(deadline) {
				user, args := next(r)
				benchutil.Check(c.Do(ctx, args...).Err())
				ops.Add(1)
				if hit != nil && hit(user) {
					hits.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(began).Seconds(), hits.Load()
}

// listener holds subscriptions to channels, spread over conns connections.
type listener struct {
	clients []*redis.Client
	subs    []*redis.PubSub
	got     atomic.Int64
	wg      sync.WaitGroup
}

// listen subscribes to each name (a name may repeat: one subscriber each)
// and waits for every subscription's first message.
func listen(s *benchutil.Server, names []string, conns int) *listener {
	l := &listener{}
	first := make(chan struct{}, len(names))
	for i := range conns {
		var mine []string
		for j := i; j < len(names); j += conns {
			mine = append(mine, names[j])
		}
		if len(mine) == 0 {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 3, PoolSize: 1, MaxRetries: -1})
		ps := c.Subscribe(context.Background(), mine...)
		l.clients, l.subs = append(l.clients, c), append(l.subs, ps)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			seen := map[string]bool{}
			for m := range ps.Channel(redis.WithChannelSize(1 << 16)) {
				l.got.Add(1)
				if !seen[m.Channel] {
					seen[m.Channel] = true
					first <- struct{}{}
				}
			}
		}()
	}
	want := len(names)
	if conns < len(names) && names[0] == names[len(names)-1] {
		want = conns // one channel: one first message per connection
	}
	for range want {
		select {
		case <-first:
		case <-time.After(60 * time.Second):
			panic("a subscription got no first message within 60s")
		}
	}
	return l
}

// close disconnects the subscribers.
func (l *listener) close() {
	for i, ps := range l.subs {
		ps.Close()
		l.clients[i].Close()
	}
	l.wg.Wait()
}

// queryRuns returns STORE.STATS's count of function query runs.
func queryRuns(c *redis.Client) int64 {
	out, err := c.Do(context.Background(), "STORE.STATS").Text()
	benchutil.Check(err)
	var st struct {
		Queries struct {
			Runs int64 `json:"runs"`
		} `json:"queries"`
	}
	benchutil.Check(json.Unmarshal([]byte(out), &st))
	return st.Queries.Runs
}

// settle waits until the runs stop moving (the changes of the last writes
// have been run) and returns their count.
func settle(c *redis.Client) int64 {
	last := queryRuns(c)
	for {
		time.Sleep(100 * time.Millisecond)
		n := queryRuns(c)
		if n == last {
			return n
		}
		last = n
	}
}

// waitNoChannels waits until query name has no live channel left.
func waitNoChannels(c *redis.Client, name string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.Do(context.Background(), "QUERY.INFO", name).Text()
		benchutil.Check(err)
		if strings.Contains(out, `"channels":[]`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	panic("the channels of " + name + " outlived their subscribers")
}
