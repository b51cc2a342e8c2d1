// Command persist measures what persistence costs bucketd on this machine:
//
//   - write throughput (B.INSERT from 50 concurrent clients for a fixed
//     time) with --appendonly no (in memory) and with appendfsync no,
//     everysec and always, each on a fresh temp data dir, and the ratio of
//     each to in-memory; the same for redis-server (HSET of the same
//     fields; -no-redis skips it), side by side; the modes are run in
//     turn, several times, and the median is shown, so that a change in
//     the machine's load does not favour one mode;
//
//   - start-up time with 1,000,000 records: loaded with pipelined
//     B.INSERTMANY batches, then the server is stopped and the time from
//     exec to "ready to accept connections" is taken, once replaying the
//     append-only file (SHUTDOWN NOSAVE) and once loading a snapshot
//     (SHUTDOWN SAVE).
//
//     go run ./bench/persist                          # builds bucketd
//     go run ./bench/persist -d 2s -rounds 1 -records 200000    # a shorter run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
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
	clients  = flag.Int("c", 50, "concurrent clients of the write load")
	duration = flag.Duration("d", 4*time.Second, "length of each write run")
	rounds   = flag.Int("rounds", 3, "write runs per mode, interleaved; the median is shown")
	records  = flag.Int("records", 1000000, "records for the start-up measurement (0: skip it)")
	batch    = flag.Int("batch", 1000, "records per B.INSERTMANY when loading")
	loaders  = flag.Int("loaders", 4, "connections loading in parallel, each pipelining")
	keepDir  = flag.Bool("keep", false, "keep the temp data dirs")
	noRedis  = flag.Bool("no-redis", false, "skip the redis-server runs")
)

const definition = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"email":{"type":"string","format":"email"},"age":{"type":"number","min":0,"max":150},` +
	`"role":{"type":"string","enum":["admin","user","guest"]}},"indexes":["role"]}`

func record(i int) string {
	id := strconv.Itoa(i)
	return `{"id":"` + id + `","name":"User ` + id + `","email":"user` + id + `@example.com","age":` +
		strconv.Itoa(18+i%60) + `,"role":"` + []string{"admin", "user", "guest"}[i%3] + `"}`
}

// quiet drops go-redis's own log lines (a SHUTDOWN closes the connection
// on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	flag.Parse()
	redis.SetLogger(quiet{})
	tmp, err := os.MkdirTemp("", "bucketd-bench-persist-")
	benchutil.Check(err)
	if !*keepDir {
		defer os.RemoveAll(tmp)
	}
	*bin = benchutil.Bucketd(*bin, tmp)
	fmt.Printf("machine: %d cores, %s, load average %s\n", runtime.NumCPU(), benchutil.CPUModel(), loadAvg())
	fmt.Printf("write load: %d clients, B.INSERT of new records, %d runs of %v per mode (interleaved; median shown)\n\n",
		*clients, *rounds, *duration)

	modes := []string{"memory", "no", "everysec", "always"}
	rates := map[string][]float64{}
	redisRates := map[string][]float64{}
	sizes := map[string]int64{}
	for r := 0; r < *rounds; r++ {
		for _, mode := range modes {
			args := []string{"--appendonly", "yes", "--appendfsync", mode}
			if mode == "memory" {
				args = []string{"--appendonly", "no"}
			}
			dir := filepath.Join(tmp, fmt.Sprintf("w-%s-%d", mode, r))
			s := start(*bin, dir, args...)
			benchutil.Check(s.client.Do(context.Background(), "BUCKET.DEFINE", "users", definition).Err())
			rates[mode] = append(rates[mode], writeLoad(s.client, func(ctx context.Context, c *redis.Client, i int) error {
				return c.Do(ctx, "B.INSERT", "users", record(i)).Err()
			}))
			sizes[mode] = dirSize(dir)
			s.stop(false)
			os.RemoveAll(dir)
			if *noRedis {
				continue
			}
			rdir := filepath.Join(tmp, fmt.Sprintf("r-%s-%d", mode, r))
			benchutil.Check(os.MkdirAll(rdir, 0o755))
			cmd, rc := startRedis(rdir, mode)
			redisRates[mode] = append(redisRates[mode], writeLoad(rc, func(ctx context.Context, c *redis.Client, i int) error {
				id := strconv.Itoa(i)
				return c.HSet(ctx, "user:"+id, "id", id, "name", "User "+id, "email", "user"+id+"@example.com",
					"age", 18+i%60, "role", []string{"admin", "user", "guest"}[i%3]).Err()
			}))
			rc.Close()
			cmd.Process.Kill()
			cmd.Wait()
			os.RemoveAll(rdir)
		}
	}
	fmt.Printf("%-28s %12s %10s %22s %16s %12s %10s\n", "write throughput", "ops/s", "vs memory", "runs", "data dir bytes", "redis ops/s", "vs memory")
	base := median(rates["memory"])
	rbase := median(redisRates["memory"])
	for _, mode := range modes {
		name := "appendfsync " + mode
		if mode == "memory" {
			name = "in memory (--appendonly no)"
		}
		var runs []string
		for _, v := range rates[mode] {
			runs = append(runs, strconv.FormatFloat(v, 'f', 0, 64))
		}
		m := median(rates[mode])
		fmt.Printf("%-28s %12.0f %10.2f %22s %16d", name, m, m/base, strings.Join(runs, "/"), sizes[mode])
		if rm := median(redisRates[mode]); rm > 0 {
			fmt.Printf(" %12.0f %10.2f", rm, rm/rbase)
		}
		fmt.Println()
	}

	if *records > 0 {
		fmt.Printf("\nstart-up with %d records\n", *records)
		dir := filepath.Join(tmp, "startup")
		s := start(*bin, dir, "--appendfsync", "everysec")
		began := time.Now()
		load(s.client, *records)
		fmt.Printf("  load (B.INSERTMANY x%d, %d pipelines): %v, %.0f records/s\n", *batch, *loaders, round(time.Since(began)),
			float64(*records)/time.Since(began).Seconds())
		s.stop(false) // SHUTDOWN NOSAVE: the writes stay in the append-only file
		// The first start replays the append-only file (after the snapshot
		// of the automatic rewrite, if the file passed 64 MB during the
		// load); SHUTDOWN SAVE then leaves a snapshot alone for the second.
		for i, how := range []string{"after SHUTDOWN NOSAVE", "after SHUTDOWN SAVE"} {
			loading := files(dir)
			s := start(*bin, dir)
			n, _ := s.client.DBSize(context.Background()).Result()
			if n != int64(*records) {
				panic(fmt.Sprintf("after the restart DBSIZE is %d, want %d", n, *records))
			}
			fmt.Printf("  %s: %v to ready (INFO loading_time_ms %s, RSS %s MB)\n    loading %s\n", how, round(s.Ready),
				info(s.client, "persistence", "loading_time_ms"), mb(info(s.client, "memory", "used_memory_rss")), loading)
			s.stop(i == 0)
		}
		fmt.Printf("\nload average at the end %s\n", loadAvg())
	}
}

// server is a running bucketd with a client.
type server struct {
	*benchutil.Server
	client *redis.Client
}

func start(bin, dir string, args ...string) *server {
	s := &server{Server: benchutil.Start(bin, dir, args...)}
	s.client = redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, PoolSize: *clients + *loaders,
		MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	return s
}

// stop sends SHUTDOWN (with a snapshot when save, else NOSAVE) and waits.
func (s *server) stop(save bool) {
	arg := "NOSAVE"
	if save {
		arg = "SAVE"
	}
	s.client.Do(context.Background(), "SHUTDOWN", arg) // no reply: the connection closes
	s.client.Close()
	select {
	case <-s.Done:
	case <-time.After(2 * time.Minute):
		s.Cmd.Process.Kill()
		<-s.Done
		panic("bucketd did not stop within 2 minutes")
	}
}

// startRedis starts a redis-server in dir with the persistence of mode
// ("memory": none) and returns it with a client.
func startRedis(dir, mode string) (*exec.Cmd, *redis.Client) {
	var args []string
	if mode != "memory" {
		args = []string{"--appendonly", "yes", "--appendfsync", mode}
	}
	cmd, port := benchutil.StartRedis(dir, args...)
	return cmd, redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Protocol: 2, PoolSize: *clients,
		MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
}

// writeLoad runs write (an insert of new record i) from *clients
// goroutines for *duration and returns the acknowledged writes per second.
func writeLoad(c *redis.Client, write func(ctx context.Context, c *redis.Client, i int) error) float64 {
	ctx := context.Background()
	var ops atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i += *clients {
				benchutil.Check(write(ctx, c, i))
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(began).Seconds()
}

// load inserts count records with B.INSERTMANY batches, *loaders
// connections each keeping a pipeline of batches in flight.
func load(c *redis.Client, count int) {
	ctx := context.Background()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "users", definition).Err())
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for l := 0; l < *loaders; l++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for {
				p := c.Pipeline()
				queued := 0
				for q := 0; q < 8; q++ {
					from := int(next.Add(int64(*batch))) - *batch
					if from >= count {
						break
					}
					b.Reset()
					b.WriteByte('[')
					for i := from; i < min(from+*batch, count); i++ {
						if i > from {
							b.WriteByte(',')
						}
						b.WriteString(record(i))
					}
					b.WriteByte(']')
					p.Do(ctx, "B.INSERTMANY", "users", b.String())
					queued++
				}
				if queued == 0 {
					return
				}
				_, err := p.Exec(ctx)
				benchutil.Check(err)
			}
		}()
	}
	wg.Wait()
}

func info(c *redis.Client, section, field string) string {
	text, err := c.Info(context.Background(), section).Result()
	benchutil.Check(err)
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return "?"
}

func mb(bytes string) string {
	n, err := strconv.ParseFloat(bytes, 64)
	if err != nil {
		return bytes
	}
	return strconv.FormatFloat(n/(1<<20), 'f', 0, 64)
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if st, err := e.Info(); err == nil {
			n += st.Size()
		}
	}
	return n
}

func files(dir string) string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if st, err := e.Info(); err == nil {
			out = append(out, fmt.Sprintf("%s %.1f MB", e.Name(), float64(st.Size())/(1<<20)))
		}
	}
	return strings.Join(out, ", ")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
