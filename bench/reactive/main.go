// Command reactive measures what live reactive queries cost bucketd's
// writers, on this machine, in one run:
//
//   - 50,000 records are loaded into a bucket, and a count-with-filter
//     query is defined over it ({"status":"active"}, count);
//   - write throughput: B.UPDATE of random records flipping their status
//     (so most writes change the count), from -c concurrent clients for -d,
//     without subscribers and with -subs live subscribers of the query's
//     channel, in -rounds back-to-back pairs; the median ratio with/without
//     is printed (target: at least 0.50), with the server's CPU per write;
//   - the time from a write to its push: one client flips a record's status
//     and times until every subscriber has received the new count, -probes
//     times, with -gap between writes and back to back, on an idle server
//     and while the other clients write to a field the query does not read;
//     p50 and p99 are printed.
//
// Usage:
//
//	go run ./bench/reactive                              # builds bucketd
//	go run ./bench/reactive -d 2s -rounds 2 -probes 300  # a shorter run
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
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
	records  = flag.Int("records", 50000, "records in the bucket")
	subs     = flag.Int("subs", 10, "live subscribers of the count query")
	clients  = flag.Int("c", 50, "concurrent writer clients")
	pipeline = flag.Int("P", 1, "commands each writer pipelines")
	duration = flag.Duration("d", 3*time.Second, "length of each throughput run")
	rounds   = flag.Int("rounds", 4, "without/with pairs of throughput runs")
	probes   = flag.Int("probes", 1000, "write-to-push samples per latency run")
	pace     = flag.Duration("gap", 2*time.Millisecond, "time between paced latency probes")
)

const (
	definition = `{"key":"id","schema":{"id":{"type":"string"},"status":{"type":"string","enum":["active","idle"]},` +
		`"n":{"type":"number"}},"indexes":["status"],"persistent":false}`
	countQuery = `{"bucket":"items","filter":{"status":"active"},"aggregate":{"function":"count"}}`
	channel    = "query.active"
)

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bucketd-bench-reactive-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	s := start(*bin, filepath.Join(tmp, "data"), "--appendonly", "no")
	defer s.Stop()
	ctx := context.Background()
	c := s.Client(*clients + 4)
	defer c.Close()

	fmt.Printf("machine: %d cores, %s\n", runtime.NumCPU(), benchutil.CPUModel())
	began := time.Now()
	load(c)
	benchutil.Check(c.Do(ctx, "QUERY.DEFINE", "active", countQuery).Err())
	active, err := c.Do(ctx, "QUERY.RUN", "active").Text()
	benchutil.Check(err)
	fmt.Printf("loaded %d records in %v (%s active); query: %s\n", *records, time.Since(began).Round(time.Millisecond), active, countQuery)
	fmt.Printf("write load: B.UPDATE items <random key> {\"status\":…} from %d clients, pipeline %d, %v per run\n\n",
		*clients, *pipeline, *duration)

	// Throughput, alternating without and with subscribers; each pair runs
	// back to back, so its ratio sees the same machine.
	var without, with, ratios, cpu0, cpu1 []float64
	var pushes int64
	for range *rounds {
		t0 := s.cpu()
		w0 := writeLoad(c, "status")
		t1 := s.cpu()
		l := listen(s, *subs)
		t2 := s.cpu()
		w1 := writeLoad(c, "status")
		t3 := s.cpu()
		pushes += l.close()
		without, with, ratios = append(without, w0), append(with, w1), append(ratios, w1/w0)
		cpu0 = append(cpu0, (t1-t0).Seconds()*1e6/(w0*duration.Seconds()))
		cpu1 = append(cpu1, (t3-t2).Seconds()*1e6/(w1*duration.Seconds()))
	}
	fmt.Printf("%-44s %12s\n", "write throughput", "ops/s")
	fmt.Printf("%-44s %12.0f   runs: %s\n", "without subscribers", benchutil.Median(without), benchutil.List(without, 0))
	fmt.Printf("%-44s %12.0f   runs: %s\n", fmt.Sprintf("with %d live subscribers of the count", *subs), benchutil.Median(with), benchutil.List(with, 0))
	fmt.Printf("%-44s %12.2f   pairs: %s   (target >= 0.50)\n", "ratio with / without (median of pairs)", benchutil.Median(ratios), benchutil.List(ratios, 2))
	fmt.Printf("%-44s %12.0f   (per subscriber; bursts coalesced)\n", "pushes received per second", float64(pushes)/float64(*subs)/(duration.Seconds()*float64(*rounds)))
	fmt.Printf("%-44s %12s\n", "server CPU per write (user+sys)", "µs")
	fmt.Printf("%-44s %12.1f   runs: %s\n", "without subscribers", benchutil.Median(cpu0), benchutil.List(cpu0, 1))
	fmt.Printf("%-44s %12.1f   runs: %s\n", fmt.Sprintf("with %d live subscribers", *subs), benchutil.Median(cpu1), benchutil.List(cpu1, 1))
	fmt.Printf("%-44s %12.2f   (less sensitive to other load on the machine)\n", "CPU ratio without / with", benchutil.Median(cpu0)/benchutil.Median(cpu1))

	// Write-to-push latency.
	fmt.Printf("\nwrite -> push latency (until all %d subscribers have the new count), %d samples each\n", *subs, *probes)
	fmt.Printf("(a channel publishes at most once per millisecond: back-to-back changes wait for the rest of it)\n")
	for _, loaded := range []bool{false, true} {
		l := listen(s, *subs)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		what := "idle server"
		if loaded {
			what = fmt.Sprintf("%d clients writing a field the query does not read", *clients-1)
			wg.Add(1)
			go func() { defer wg.Done(); backgroundLoad(c, stop) }()
		}
		fmt.Printf("  %s\n", what)
		for _, gap := range []time.Duration{*pace, 0} {
			lat, rtt := probe(c, l, gap)
			slices.Sort(lat)
			slices.Sort(rtt)
			how := "one write every " + gap.String()
			if gap == 0 {
				how = "writes back to back"
			}
			fmt.Printf("    %-26s push p50 %8v  p99 %8v  max %8v   (write reply p50 %8v  p99 %8v)\n", how,
				pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Microsecond), pct(rtt, 50), pct(rtt, 99))
		}
		close(stop)
		wg.Wait()
		l.close()
	}
	// The subscribers' connections are closed: the channel must be gone.
	deadline := time.Now().Add(5 * time.Second)
	for c.PubSubNumSub(ctx, channel).Val()[channel] > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st, err := c.Do(ctx, "QUERY.INFO", "active").Text()
	benchutil.Check(err)
	fmt.Printf("\nQUERY.INFO active after the subscribers left: %s\n", st)
	fmt.Printf("INFO queries:%s\n", strings.ReplaceAll("\n"+strings.TrimSpace(c.Info(ctx, "queries").Val()), "\n", "\n  "))
}

// load inserts *records records, half of them active, with pipelined
// B.INSERTMANY batches.
func load(c *redis.Client) {
	ctx := context.Background()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "items", definition).Err())
	const batch = 1000
	p := c.Pipeline()
	var b strings.Builder
	for from := 0; from < *records; from += batch {
		b.Reset()
		b.WriteByte('[')
		for i := from; i < min(from+batch, *records); i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"k%d","status":"%s","n":%d}`, i, status(i%2 == 0), i)
		}
		b.WriteByte(']')
		p.Do(ctx, "B.INSERTMANY", "items", b.String())
	}
	_, err := p.Exec(ctx)
	benchutil.Check(err)
}

func status(active bool) string {
	if active {
		return "active"
	}
	return "idle"
}

// writeLoad runs the B.UPDATE load on field ("status": the query's filter
// field, flipped at random; "n": a field the query does not read) for
// *duration and returns the acknowledged updates per second.
func writeLoad(c *redis.Client, field string) float64 {
	var ops atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(deadline) {
				p := c.Pipeline()
				for range *pipeline {
					p.Do(ctx, "B.UPDATE", "items", "k"+strconv.Itoa(r.IntN(*records)), update(r, field))
				}
				_, err := p.Exec(ctx)
				benchutil.Check(err)
				ops.Add(int64(*pipeline))
			}
		}()
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(began).Seconds()
}

func update(r *rand.Rand, field string) string {
	if field == "status" {
		return `{"status":"` + status(r.IntN(2) == 0) + `"}`
	}
	return `{"n":` + strconv.Itoa(r.IntN(1000)) + `}`
}

// backgroundLoad writes the field the query does not read until stop.
func backgroundLoad(c *redis.Client, stop chan struct{}) {
	var wg sync.WaitGroup
	for w := range *clients - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for {
				select {
				case <-stop:
					return
				default:
				}
				benchutil.Check(c.Do(ctx, "B.UPDATE", "items", "k"+strconv.Itoa(r.IntN(*records)), update(r, "n")).Err())
			}
		}()
	}
	wg.Wait()
}

// listener is a set of subscribers of the query's channel.
type listener struct {
	clients []*redis.Client
	subs    []*redis.PubSub
	got     atomic.Int64
	mu      sync.Mutex
	last    []string      // last payload per subscriber
	notify  chan struct{} // a message arrived
	wg      sync.WaitGroup
}

// listen connects n subscribers (RESP3, as go-redis speaks by default) and
// waits for each one's first message.
func listen(s *server, n int) *listener {
	l := &listener{last: make([]string, n), notify: make(chan struct{}, 1)}
	first := make(chan struct{}, n)
	for i := range n {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 3, PoolSize: 1, MaxRetries: -1})
		ps := c.Subscribe(context.Background(), channel)
		l.clients = append(l.clients, c)
		l.subs = append(l.subs, ps)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			seen := false
			for m := range ps.Channel(redis.WithChannelSize(1 << 16)) {
				l.got.Add(1)
				l.mu.Lock()
				l.last[i] = m.Payload
				l.mu.Unlock()
				select {
				case l.notify <- struct{}{}:
				default:
				}
				if !seen {
					seen = true
					first <- struct{}{}
				}
			}
		}()
	}
	for range n {
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			panic("a subscriber got no first message within 30s")
		}
	}
	return l
}

// all reports whether every subscriber's last message is want.
func (l *listener) all(want string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.last {
		if p != want {
			return false
		}
	}
	return true
}

// close disconnects the subscribers and returns the messages received.
func (l *listener) close() int64 {
	for i, ps := range l.subs {
		ps.Close()
		l.clients[i].Close()
	}
	l.wg.Wait()
	return l.got.Load()
}

// probe flips one record's status *probes times, one write in flight and
// gap between the end of one probe and the next write, and returns for each
// the time from sending the write to the moment every subscriber holds the
// new count, and the time to the write's reply.
func probe(c *redis.Client, l *listener, gap time.Duration) (lat, rtt []time.Duration) {
	ctx := context.Background()
	lat = make([]time.Duration, 0, *probes)
	count, err := c.Do(ctx, "QUERY.RUN", "active").Int()
	benchutil.Check(err)
	active := false // k1 is idle after the load (odd keys are)
	rec, err := c.Do(ctx, "B.GET", "items", "k1").Text()
	benchutil.Check(err)
	if strings.Contains(rec, `"active"`) {
		active = true
	}
	for range *probes {
		if gap > 0 {
			time.Sleep(gap)
		}
		active = !active
		if active {
			count++
		} else {
			count--
		}
		want := strconv.Itoa(count)
		began := time.Now()
		benchutil.Check(c.Do(ctx, "B.UPDATE", "items", "k1", `{"status":"`+status(active)+`"}`).Err())
		rtt = append(rtt, time.Since(began))
		deadline := began.Add(10 * time.Second)
		for !l.all(want) {
			if time.Now().After(deadline) {
				panic("no push of " + want + " within 10s")
			}
			select {
			case <-l.notify:
			case <-time.After(time.Millisecond):
			}
		}
		lat = append(lat, time.Since(began))
	}
	return lat, rtt
}

// server is a running bucketd.
type server struct{ *benchutil.Server }

func start(bin, dir string, args ...string) *server {
	return &server{benchutil.Start(bin, dir, args...)}
}

// cpu returns the server process's CPU time so far (user + system).
func (s *server) cpu() time.Duration { return benchutil.CPUTime(s.Cmd.Process.Pid) }

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	i = max(0, min(len(sorted)-1, i-1))
	return sorted[i].Round(time.Microsecond)
}
