// Command scanlat measures what long reads cost writers, on this machine,
// in one run: the latency of single B.INSERTs (one client, pipeline 1)
// into a bucket of -records records, alone and while -scanners clients run
// full scans of that bucket back to back (B.COUNT with a filter no index
// serves: every record is read and matched, and the reply is one number,
// so the scan's cost is the engine's, not the network's).
//
// Printed for each: p50, p99 and the largest latency, and the ratio of the
// p99s (target <= 2.0: reads never block writes). The same work runs
// against redis-server side by side: HSET of a new hash, alone and while
// the scanners run the same filter over every hash with EVAL (the
// hand-written Lua a Redis user would write; Redis runs one command at a
// time, so a write waits for the scan in progress).
//
// To compare with a build from before a change, pass it as -bucketd.
//
//	go run ./bench/scanlat                      # builds bucketd
//	go run ./bench/scanlat -n 5000 -rounds 1    # a shorter run
//	go run ./bench/scanlat -bucketd /tmp/old-bucketd
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bucketd/bench/internal/benchutil"
)

var (
	bin      = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	records  = flag.Int("records", 200000, "records in the bucket")
	n        = flag.Int("n", 20000, "inserts measured per run")
	scanners = flag.Int("scanners", 4, "clients running full scans meanwhile")
	rounds   = flag.Int("rounds", 2, "alone/with-scans pairs per server")
	most     = flag.Duration("max", 15*time.Second, "longest insert run: a run stops after -n inserts or this long (Redis's inserts wait for each scan)")
	noRedis  = flag.Bool("no-redis", false, "skip redis-server")
	warmup   = flag.Duration("warmup", 2*time.Second, "scans and inserts run this long, unmeasured, before the first pair")
	args     = flag.String("args", "", "more bucketd flags, space-separated (e.g. \"--threads 1\")")
)

const def = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"age":{"type":"number"},"role":{"type":"string"}},"persistent":false}`

// scanFilter matches every record; no index serves it.
const scanFilter = `{"age":{"$gte":0}}`

// redisScan is the same filter over every hash in Lua.
const redisScan = `local n = 0
for _, k in ipairs(redis.call('KEYS', 'u:*')) do
  local a = tonumber(redis.call('HGET', k, 'age'))
  if a and a >= 0 then n = n + 1 end
end
return n`

// target abstracts the two servers: fill, one insert, one scan.
type target struct {
	name   string
	fill   func(ctx context.Context, c *redis.Client)
	insert func(ctx context.Context, c *redis.Client, i int) error
	scan   func(ctx context.Context, c *redis.Client) error
}

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bucketd-bench-scanlat-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	fmt.Printf("machine: %d cores, %s\n", runtime.NumCPU(), benchutil.CPUModel())
	fmt.Printf("%d records; %d single inserts per run, alone and beside %d scanning clients; %d pairs\n\n", *records, *n, *scanners, *rounds)

	srv := benchutil.Start(*bin, filepath.Join(tmp, "data"), append([]string{"--appendonly", "no"}, strings.Fields(*args)...)...)
	bucketd := target{
		name: "bucketd",
		fill: func(ctx context.Context, c *redis.Client) {
			benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "u", def).Err())
			fill(ctx, c, func(p redis.Pipeliner, i int) {
				p.Do(ctx, "B.INSERT", "u", record(i))
			})
		},
		insert: func(ctx context.Context, c *redis.Client, i int) error {
			return c.Do(ctx, "B.INSERT", "u", record(i)).Err()
		},
		scan: func(ctx context.Context, c *redis.Client) error {
			return c.Do(ctx, "B.COUNT", "u", scanFilter).Err()
		},
	}
	a := measure(srv.Client(*scanners+1), bucketd)
	srv.Stop()
	if *noRedis {
		return
	}
	cmd, port := benchutil.StartRedis(tmp)
	defer cmd.Process.Kill()
	redisT := target{
		name: "redis",
		fill: func(ctx context.Context, c *redis.Client) {
			fill(ctx, c, func(p redis.Pipeliner, i int) {
				p.HSet(ctx, "u:"+strconv.Itoa(i), "name", "n"+strconv.Itoa(i), "age", i%90, "role", "r"+strconv.Itoa(i%5))
			})
		},
		insert: func(ctx context.Context, c *redis.Client, i int) error {
			return c.HSet(ctx, "u:"+strconv.Itoa(i), "name", "n"+strconv.Itoa(i), "age", i%90, "role", "r"+strconv.Itoa(i%5)).Err()
		},
		scan: func(ctx context.Context, c *redis.Client) error {
			return c.Eval(ctx, redisScan, nil).Err()
		},
	}
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Protocol: 2, PoolSize: *scanners + 1, ReadTimeout: time.Minute})
	r := measure(rc, redisT)
	fmt.Printf("\nthe p99 of an insert beside scans over alone: bucketd %.2f, redis %.2f\n", a, r)
}

// record returns record i of the bucket as JSON.
func record(i int) string {
	return fmt.Sprintf(`{"id":"u%d","name":"n%d","age":%d,"role":"r%d"}`, i, i, i%90, i%5)
}

// fill loads -records records with pipelined batches.
func fill(ctx context.Context, c *redis.Client, add func(p redis.Pipeliner, i int)) {
	const batch = 1000
	for from := 0; from < *records; from += batch {
		p := c.Pipeline()
		for i := from; i < min(from+batch, *records); i++ {
			add(p, i)
		}
		_, err := p.Exec(ctx)
		benchutil.Check(err)
	}
}

// measure fills the target, then runs -rounds pairs of insert runs, alone
// and beside the scanners, prints each run's figures, and returns the
// median ratio of the p99s.
func measure(c *redis.Client, t target) float64 {
	ctx := context.Background()
	defer c.Close()
	t.fill(ctx, c)
	next := *records
	// The first pair after the load was the slowest on bucketd (p99 ratio
	// 2.2-3.0 where the later pairs gave 0.9-1.3; the cause was not
	// pinned down): a warm-up run beside the scanners, not measured, comes
	// first on both servers.
	saved := *most
	*most = *warmup
	beside(ctx, c, t, &next)
	*most = saved
	var ratios []float64
	for round := range *rounds {
		alone := inserts(ctx, c, t, &next)
		scans, secs, with := beside(ctx, c, t, &next)
		ratio := with.p99 / alone.p99
		ratios = append(ratios, ratio)
		fmt.Printf("%-8s round %d  alone: %s   beside scans: %s (%.1f scans/s)   p99 ratio %.2f\n",
			t.name, round+1, alone, with, float64(scans)/secs, ratio)
	}
	return benchutil.Median(ratios)
}

// beside runs inserts while -scanners clients scan back to back, and
// returns the scans done, the seconds the inserts took and their latencies.
func beside(ctx context.Context, c *redis.Client, t target, next *int) (int64, float64, latencies) {
	var stop atomic.Bool
	var scans atomic.Int64
	var wg sync.WaitGroup
	for range *scanners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				benchutil.Check(t.scan(ctx, c))
				scans.Add(1)
			}
		}()
	}
	for scans.Load() < int64(*scanners) { // the scanners are under way
		runtime.Gosched()
	}
	began := time.Now()
	with := inserts(ctx, c, t, next)
	secs := time.Since(began).Seconds()
	stop.Store(true)
	wg.Wait()
	return scans.Load(), secs, with
}

// latencies summarises one run of inserts.
type latencies struct {
	p50, p99, max float64 // ms
	n             int     // inserts
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %.3f ms, p99 %.3f ms, max %.1f ms (%d inserts)", l.p50, l.p99, l.max, l.n)
}

// inserts runs -n single inserts of new records one after another (fewer
// when -max passes first) and returns their latencies.
func inserts(ctx context.Context, c *redis.Client, t target, next *int) latencies {
	ms := make([]float64, 0, *n)
	end := time.Now().Add(*most)
	for len(ms) < *n && time.Now().Before(end) {
		began := time.Now()
		benchutil.Check(t.insert(ctx, c, *next))
		ms = append(ms, float64(time.Since(began))/float64(time.Millisecond))
		*next++
	}
	slices.Sort(ms)
	return latencies{p50: ms[len(ms)/2], p99: ms[len(ms)*99/100], max: ms[len(ms)-1], n: len(ms)}
}
