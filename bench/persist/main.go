// Command persist measures what persistence costs bucketd on this machine,
// beside redis-server doing the same work in the same run:
//
//   - write throughput: *clients connections insert new records for a
//     fixed time, each keeping -pipelines commands in flight, into one
//     bucket or ten (-buckets), with --appendonly no (in memory) and with
//     appendfsync no, everysec and always, each on a fresh temp data dir;
//     every figure is shown with its ratio to in-memory. redis-server runs
//     the same load (HSET of the same five fields; -no-redis skips it).
//     Each server runs each mode -rounds times, every run between two
//     in-memory runs (writeRuns); the median rate is shown, and the median
//     over the rounds of each run's ratio to the mean of the in-memory
//     runs on either side, so that a change in the machine's load does not
//     favour one mode. "per write" is how many commits one write(2) of the
//     append-only file covered (INFO persistence: aof_commits / aof_writes;
//     under always each write is also an fsync);
//
//   - start-up with 1,000,000 records (5 fields, 2 indexes): loaded with
//     pipelined B.INSERTMANY batches, with automatic rewrites off so that
//     the append-only file alone holds them; RSS after MEMORY PURGE (a GC)
//     of the data written live; then the time from exec to "ready to
//     accept connections" and the RSS after a GC, once replaying the
//     append-only file alone (after SHUTDOWN NOSAVE) and once loading the
//     snapshot alone (after SHUTDOWN SAVE); beside it Redis with the same
//     data as hashes: its RSS, its RDB's size and load time, and its
//     append-only file's load time.
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
	bin       = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	clients   = flag.Int("c", 50, "concurrent clients of the write load")
	duration  = flag.Duration("d", 3*time.Second, "length of each write run")
	rounds    = flag.Int("rounds", 3, "write runs per mode, each between two in-memory runs; the median is shown (0: skip the write runs)")
	pipelines = flag.String("pipelines", "1,16", "commands each client keeps in flight, one write run set each")
	bucketsN  = flag.String("buckets", "1,10", "buckets the writes spread over, one write run set each")
	records   = flag.Int("records", 1000000, "records for the start-up measurement (0: skip it)")
	batch     = flag.Int("batch", 1000, "records per B.INSERTMANY (and HSETs per pipeline for Redis) when loading")
	loaders   = flag.Int("loaders", 4, "connections loading in parallel, each pipelining")
	keepDir   = flag.Bool("keep", false, "keep the temp data dirs")
	noRedis   = flag.Bool("no-redis", false, "skip the redis-server runs")
)

const definition = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"email":{"type":"string","format":"email"},"age":{"type":"number","min":0,"max":150},` +
	`"role":{"type":"string","enum":["admin","user","guest"]}},"indexes":["role","age"]}`

func record(i int) string {
	id := strconv.Itoa(i)
	return `{"id":"` + id + `","name":"User ` + id + `","email":"user` + id + `@example.com","age":` +
		strconv.Itoa(18+i%60) + `,"role":"` + []string{"admin", "user", "guest"}[i%3] + `"}`
}

// hset returns Redis's HSET of record i's fields under key.
func hset(ctx context.Context, c redis.Cmdable, key string, i int) *redis.IntCmd {
	id := strconv.Itoa(i)
	return c.HSet(ctx, key, "id", id, "name", "User "+id, "email", "user"+id+"@example.com",
		"age", 18+i%60, "role", []string{"admin", "user", "guest"}[i%3])
}

// quiet drops go-redis's own log lines (a SHUTDOWN closes the connection
// on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func ints(list string) []int {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		benchutil.Check(err)
		out = append(out, n)
	}
	return out
}

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
	if *rounds > 0 {
		fmt.Printf("write load: %d clients inserting new records, %d runs of %v per mode, each between two in-memory runs (median shown)\n\n",
			*clients, *rounds, *duration)
		fmt.Printf("%-9s %-8s %-28s %10s %7s %26s %9s %10s %7s\n", "pipeline", "buckets", "mode", "ops/s", "×mem", "runs", "per write", "redis", "×mem")
		for _, p := range ints(*pipelines) {
			for _, nb := range ints(*bucketsN) {
				writeRuns(tmp, p, nb)
			}
		}
	}
	if *records > 0 {
		startup(tmp)
	}
	fmt.Printf("\nload average at the end %s\n", loadAvg())
}

// writeRuns measures the modes with pipeline p over nb buckets. Each
// server runs its modes one after another, every one between two
// in-memory runs of the same server (memory, no, memory, everysec,
// memory, always, memory, then the next round's no...), and a mode's
// ratio in a round is its rate over the mean of the two in-memory rates
// around it. The rule: the machine's speed moves by 10–40% within a
// minute here, so a mode is compared with the runs next to it in time,
// where a steady drift cancels out. Before, each round ran the four modes
// once, bucketd's and Redis's in turn, and compared a mode with an
// in-memory run three to six runs earlier: at pipeline 1 into one bucket
// a round's everysec ratio ranged over 0.74–1.05 within one run, where
// ten bracketed runs gave 0.85–1.01 (2026-12-06). The ratios shown are
// the medians over the rounds.
func writeRuns(tmp string, p, nb int) {
	modes := []string{"no", "everysec", "always"}
	perWrite := map[string][]float64{} // commits one write(2) covered, each run's (INFO persistence)
	ours := &bracket{run: func(mode string, r int) float64 {
		args := []string{"--appendonly", "yes", "--appendfsync", mode}
		if mode == "memory" {
			args = []string{"--appendonly", "no"}
		}
		dir := filepath.Join(tmp, fmt.Sprintf("w-%s-%d", mode, r))
		s := start(*bin, dir, args...)
		defer os.RemoveAll(dir)
		defer s.stop(false)
		for b := 0; b < nb; b++ {
			benchutil.Check(s.client.Do(context.Background(), "BUCKET.DEFINE", fmt.Sprint("users", b), definition).Err())
		}
		rate := writeLoad(s.client, p, func(ctx context.Context, c redis.Pipeliner, w, i int) {
			c.Do(ctx, "B.INSERT", fmt.Sprint("users", w%nb), record(i))
		})
		if mode != "memory" {
			in := benchutil.Info(s.client, "persistence")
			if w := atof(in["aof_writes"]); w > 0 {
				perWrite[mode] = append(perWrite[mode], atof(in["aof_commits"])/w)
			}
		}
		return rate
	}}
	theirs := &bracket{run: func(mode string, r int) float64 {
		rdir := filepath.Join(tmp, fmt.Sprintf("r-%s-%d", mode, r))
		benchutil.Check(os.MkdirAll(rdir, 0o755))
		defer os.RemoveAll(rdir)
		cmd, rc := startRedis(rdir, mode)
		defer cmd.Wait()
		defer cmd.Process.Kill()
		defer rc.Close()
		return writeLoad(rc, p, func(ctx context.Context, c redis.Pipeliner, w, i int) {
			hset(ctx, c, fmt.Sprintf("users%d:%d", w%nb, i), i)
		})
	}}
	for r := 0; r < *rounds; r++ {
		ours.round(modes, r)
		if !*noRedis {
			theirs.round(modes, r)
		}
	}
	for _, mode := range append([]string{"memory"}, modes...) {
		name := "appendfsync " + mode
		if mode == "memory" {
			name = "in memory (--appendonly no)"
		}
		pw := "-"
		if len(perWrite[mode]) > 0 {
			pw = strconv.FormatFloat(benchutil.Median(perWrite[mode]), 'f', 1, 64)
		}
		runs := benchutil.List(ours.rates[mode], 0)
		if mode == "memory" {
			runs = fmt.Sprintf("%d runs: %.0f–%.0f", len(ours.rates[mode]), slices.Min(ours.rates[mode]), slices.Max(ours.rates[mode]))
		}
		fmt.Printf("%-9d %-8d %-28s %10.0f %7s %26s %9s", p, nb, name, benchutil.Median(ours.rates[mode]),
			ours.ratio(mode), runs, pw)
		if !*noRedis {
			fmt.Printf(" %10.0f %7s", benchutil.Median(theirs.rates[mode]), theirs.ratio(mode))
		}
		fmt.Println()
	}
}

// bracket runs one server's modes, each between two in-memory runs
// (writeRuns).
type bracket struct {
	run    func(mode string, round int) float64 // one run's acknowledged writes a second
	last   float64                              // the latest in-memory rate
	rates  map[string][]float64                 // every run's rate, by mode
	ratios map[string][]float64                 // each round's ratio to in-memory, by mode
}

// round runs each mode once, each followed by an in-memory run (the
// first round starts with one too).
func (b *bracket) round(modes []string, r int) {
	if b.rates == nil {
		b.rates, b.ratios = map[string][]float64{}, map[string][]float64{}
		b.last = b.memory(r)
	}
	for _, mode := range modes {
		v := b.run(mode, r)
		after := b.memory(r)
		b.rates[mode] = append(b.rates[mode], v)
		b.ratios[mode] = append(b.ratios[mode], v/((b.last+after)/2))
		b.last = after
	}
}

// memory makes an in-memory run and records its rate.
func (b *bracket) memory(r int) float64 {
	v := b.run("memory", r)
	b.rates["memory"] = append(b.rates["memory"], v)
	return v
}

// ratio returns the median of mode's ratios, "1.00" for memory itself.
func (b *bracket) ratio(mode string) string {
	if mode == "memory" {
		return "1.00"
	}
	return strconv.FormatFloat(benchutil.Median(b.ratios[mode]), 'f', 2, 64)
}

// startup measures loading *records records into bucketd and Redis, and
// their restarts.
func startup(tmp string) {
	ctx := context.Background()
	fmt.Printf("\nstart-up with %d records (5 fields, 2 indexes; Redis: the same fields as hashes)\n", *records)
	dir := filepath.Join(tmp, "startup")
	s := start(*bin, dir, "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0")
	began := time.Now()
	load(s.client, *records)
	fmt.Printf("  bucketd load (B.INSERTMANY x%d, %d pipelines): %v, %.0f records/s\n", *batch, *loaders, round(time.Since(began)),
		float64(*records)/time.Since(began).Seconds())
	liveRSS := purgedRSS(s.client)
	fmt.Printf("  bucketd written live: RSS after MEMORY PURGE %s MB\n", mb(liveRSS))
	s.stop(false) // SHUTDOWN NOSAVE: the writes stay in the append-only file alone
	for i, how := range []string{"from the append-only file alone", "from the snapshot alone"} {
		loading := files(dir)
		s := start(*bin, dir)
		n, _ := s.client.DBSize(ctx).Result()
		if n != int64(*records) {
			panic(fmt.Sprintf("after the restart DBSIZE is %d, want %d", n, *records))
		}
		rss := purgedRSS(s.client)
		fmt.Printf("  bucketd %s: %v to ready (INFO loading_time_ms %s), RSS after MEMORY PURGE %s MB (%.2f× live)\n    loading %s\n",
			how, round(s.Ready), info(s.client, "persistence", "loading_time_ms"), mb(rss), atof(rss)/atof(liveRSS), loading)
		s.stop(i == 0) // SHUTDOWN SAVE the first time: a snapshot alone for the second
	}
	snapBytes := int64(0)
	for _, e := range must(os.ReadDir(dir)) {
		if strings.HasPrefix(e.Name(), "snapshot.") {
			snapBytes = must(e.Info()).Size()
		}
	}
	if *noRedis {
		return
	}
	for _, aof := range []bool{false, true} {
		rdir := filepath.Join(tmp, fmt.Sprint("redis-startup-", aof))
		benchutil.Check(os.MkdirAll(rdir, 0o755))
		args := []string{}
		if aof {
			args = []string{"--appendonly", "yes", "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0"}
		}
		cmd, rc := startRedis(rdir, "", args...)
		began := time.Now()
		loadRedis(rc, *records)
		if !aof {
			fmt.Printf("  redis load (HSET, %d pipelines of %d): %v\n", *loaders, *batch, round(time.Since(began)))
			fmt.Printf("  redis written live: RSS after MEMORY PURGE %s MB\n", mb(purgedRSS(rc)))
			benchutil.Check(rc.Save(ctx).Err())
		}
		// SHUTDOWN NOSAVE, not a kill: the RDB (SAVE) or the append-only
		// file, which shutdown writes and fsyncs, holds the data. Killed,
		// Redis can lose acknowledged writes under everysec: it postpones
		// its write by up to 2 s while a background fsync runs, and replies
		// meanwhile (one killed run restarted with 997,516 of 1,000,000 keys).
		rc.ShutdownNoSave(ctx) // its error is the closed connection
		rc.Close()
		cmd.Wait()
		loading := files(rdir)
		began = time.Now()
		cmd, rc = startRedis(rdir, "", args...)
		for {
			if err := rc.Ping(ctx).Err(); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		ready := time.Since(began)
		n, _ := rc.DBSize(ctx).Result()
		how := "from its RDB"
		if aof {
			how = "from its append-only file"
		}
		fmt.Printf("  redis %s: %v to ready (%d keys), RSS after MEMORY PURGE %s MB\n    loading %s\n", how, round(ready), n, mb(purgedRSS(rc)), loading)
		if !aof {
			rdb := must(os.Stat(filepath.Join(rdir, "dump.rdb"))).Size()
			fmt.Printf("  snapshot bytes: bucketd %.1f MB, redis RDB %.1f MB: %.2f×\n", float64(snapBytes)/(1<<20), float64(rdb)/(1<<20),
				float64(snapBytes)/float64(rdb))
		}
		rc.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}
}

func must[T any](v T, err error) T {
	benchutil.Check(err)
	return v
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
// ("memory" or "": none) and extra args, and returns it with a client.
func startRedis(dir, mode string, extra ...string) (*exec.Cmd, *redis.Client) {
	var args []string
	if mode != "memory" && mode != "" {
		args = []string{"--appendonly", "yes", "--appendfsync", mode}
	}
	cmd, port := benchutil.StartRedis(dir, append(args, extra...)...)
	return cmd, redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Protocol: 2, PoolSize: *clients + *loaders,
		MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
}

// writeLoad runs write (queue an insert of new record i by client w) from
// *clients goroutines for *duration, each sending p at a time, and returns
// the acknowledged writes per second.
func writeLoad(c *redis.Client, p int, write func(ctx context.Context, c redis.Pipeliner, w, i int)) float64 {
	ctx := context.Background()
	var ops atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); {
				pipe := c.Pipeline()
				for range p {
					write(ctx, pipe, w, i)
					i += *clients
				}
				cmds, err := pipe.Exec(ctx)
				benchutil.Check(err)
				ops.Add(int64(len(cmds)))
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
	parallel(count, func(from, to int) {
		p := c.Pipeline()
		var b strings.Builder
		for lo := from; lo < to; lo += *batch {
			b.Reset()
			b.WriteByte('[')
			for i := lo; i < min(lo+*batch, to); i++ {
				if i > lo {
					b.WriteByte(',')
				}
				b.WriteString(record(i))
			}
			b.WriteByte(']')
			p.Do(ctx, "B.INSERTMANY", "users", b.String())
		}
		_, err := p.Exec(ctx)
		benchutil.Check(err)
	})
}

// loadRedis writes count records as hashes, *batch HSETs per pipeline.
func loadRedis(c *redis.Client, count int) {
	ctx := context.Background()
	parallel(count, func(from, to int) {
		for lo := from; lo < to; lo += *batch {
			p := c.Pipeline()
			for i := lo; i < min(lo+*batch, to); i++ {
				hset(ctx, p, "user:"+strconv.Itoa(i), i)
			}
			_, err := p.Exec(ctx)
			benchutil.Check(err)
		}
	})
}

// parallel calls fn for ranges of [0, count) of 8 batches each, from
// *loaders goroutines.
func parallel(count int, fn func(from, to int)) {
	next := atomic.Int64{}
	step := int64(8 * *batch)
	var wg sync.WaitGroup
	for l := 0; l < *loaders; l++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := next.Add(step) - step
				if from >= int64(count) {
					return
				}
				fn(int(from), int(min(from+step, int64(count))))
			}
		}()
	}
	wg.Wait()
}

// purgedRSS runs MEMORY PURGE and returns INFO's used_memory_rss.
func purgedRSS(c *redis.Client) string {
	benchutil.Check(c.Do(context.Background(), "MEMORY", "PURGE").Err())
	return info(c, "memory", "used_memory_rss")
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
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

func files(dir string) string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		var size int64
		filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if st, err := d.Info(); err == nil {
					size += st.Size()
				}
			}
			return nil
		})
		out = append(out, fmt.Sprintf("%s %.1f MB", e.Name(), float64(size)/(1<<20)))
	}
	return strings.Join(out, ", ")
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
