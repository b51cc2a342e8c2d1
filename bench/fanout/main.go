// Command fanout measures what pattern subscribers of bucket events cost
// bucketd's writers, on this machine, in one run: -c clients insert records
// (B.INSERT, validation, one index) for -d with 0, 1, 10 and 100 raw RESP2
// subscribers of PSUBSCRIBE bucket.*.* (each reading every event in its own
// goroutine), the subscriber counts taking turns -rounds times. It prints
// the inserts/s of each run, their mean, the ratio to the run without
// subscribers, the events delivered and any subscriber the output-buffer
// limit disconnected.
//
//	go run ./bench/fanout                  # builds bucketd
//	go run ./bench/fanout -d 2s -rounds 1  # a quicker run
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
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
	bin      = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	clients  = flag.Int("c", 50, "concurrent writer clients")
	duration = flag.Duration("d", 3*time.Second, "length of each run")
	rounds   = flag.Int("rounds", 2, "times each subscriber count is run (in turns)")
	subsFlag = flag.String("subs", "0,1,10,100", "subscriber counts, the first one is the baseline")
)

const (
	definition = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
		`"name":{"type":"string","required":true},"status":{"type":"string","enum":["active","idle"]},` +
		`"n":{"type":"number"}},"indexes":["status"],"persistent":false}`
	pattern = "bucket.*.*"
)

func main() {
	flag.Parse()
	var counts []int
	for _, f := range strings.Split(*subsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		benchutil.Check(err)
		counts = append(counts, n)
	}
	tmp, err := os.MkdirTemp("", "bucketd-bench-fanout-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	s := start(*bin, filepath.Join(tmp, "data"), "--appendonly", "no")
	defer s.Stop()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, PoolSize: *clients + 4, MaxRetries: -1,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer c.Close()
	ctx := context.Background()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "events", definition).Err())

	fmt.Printf("machine: %d cores, %s\n", runtime.NumCPU(), benchutil.CPUModel())
	fmt.Printf("%d writers, B.INSERT for %v per run, subscribers: PSUBSCRIBE %s, raw RESP2, one goroutine each\n\n",
		*clients, *duration, pattern)
	rates := make(map[int][]float64)
	for r := 0; r < *rounds; r++ {
		for _, n := range counts {
			benchutil.Check(c.Do(ctx, "B.CLEAR", "events").Err())
			before := disconnections(c)
			subs := subscribe(s.Addr, n)
			ops := writeLoad(c)
			rate := float64(ops) / duration.Seconds()
			rates[n] = append(rates[n], rate)
			delivered, drain := subs.wait(ops)
			lost := disconnections(c) - before
			fmt.Printf("round %d  %3d subscribers  %9.0f inserts/s  delivered %d/%d events (drained %v after the writers)",
				r+1, n, rate, delivered, ops*int64(n), drain.Round(time.Millisecond))
			if lost > 0 {
				fmt.Printf("  %d disconnected by the output-buffer limit", lost)
			}
			fmt.Println()
			subs.close()
		}
	}
	fmt.Println()
	base := mean(rates[counts[0]])
	fmt.Printf("%-16s %12s %10s   %s\n", "subscribers", "inserts/s", "ratio", "runs")
	for _, n := range counts {
		m := mean(rates[n])
		fmt.Printf("%-16d %12.0f %10.2f   %s\n", n, m, m/base, runs(rates[n]))
	}
}

// writeLoad runs the writers for -d and returns the inserts made.
func writeLoad(c *redis.Client) int64 {
	var ops atomic.Int64
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			rec := fmt.Sprintf(`{"name":"writer %d","status":"active","n":%d}`, w, w)
			for time.Now().Before(deadline) {
				benchutil.Check(c.Do(ctx, "B.INSERT", "events", rec).Err())
				ops.Add(1)
			}
		}(w)
	}
	wg.Wait()
	return ops.Load()
}

// subscribers are raw connections that count the messages they read.
type subscribers struct {
	conns []net.Conn
	got   []atomic.Int64
	wg    sync.WaitGroup
}

func subscribe(addr string, n int) *subscribers {
	s := &subscribers{got: make([]atomic.Int64, n)}
	for i := 0; i < n; i++ {
		nc, err := net.Dial("tcp", addr)
		benchutil.Check(err)
		_, err = fmt.Fprintf(nc, "*2\r\n$10\r\nPSUBSCRIBE\r\n$%d\r\n%s\r\n", len(pattern), pattern)
		benchutil.Check(err)
		r := bufio.NewReaderSize(nc, 64<<10)
		benchutil.Check(skipReply(r)) // the confirmation
		s.conns = append(s.conns, nc)
		s.wg.Add(1)
		go func(i int) {
			defer s.wg.Done()
			for skipReply(r) == nil {
				s.got[i].Add(1)
			}
		}(i)
	}
	return s
}

// wait waits until every subscriber has read want events, or until no
// event arrived for 2 s (a subscriber was disconnected), and returns the
// total read and how long the wait took.
func (s *subscribers) wait(want int64) (int64, time.Duration) {
	began, moved := time.Now(), time.Now()
	last := int64(-1)
	for {
		var total int64
		done := true
		for i := range s.got {
			g := s.got[i].Load()
			total += g
			done = done && g >= want
		}
		if total != last {
			last, moved = total, time.Now()
		}
		if done || time.Since(moved) > 2*time.Second {
			return total, time.Since(began)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *subscribers) close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}

// skipReply reads one RESP2 reply and throws it away.
func skipReply(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '$':
		if n >= 0 {
			_, err = r.Discard(n + 2)
		}
		return err
	case '*':
		for i := 0; i < n; i++ {
			if err := skipReply(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// disconnections returns INFO's client_output_buffer_limit_disconnections.
func disconnections(c *redis.Client) int64 {
	n, _ := strconv.ParseInt(benchutil.Info(c, "stats")["client_output_buffer_limit_disconnections"], 10, 64)
	return n
}

// server is a running bucketd.
type server struct{ *benchutil.Server }

func start(bin, dir string, args ...string) *server {
	return &server{benchutil.Start(bin, dir, args...)}
}

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func runs(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}
