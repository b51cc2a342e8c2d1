// Command compare runs bucketd and redis-server side by side on this
// machine and prints the ratios of issues 10 and 23: B.GET vs GET
// (pipelined and not); B.UPSERT with validation, two indexes and an event vs
// an EVAL of HSET + 2 SADD + PUBLISH, in three workloads (rewrites whose
// indexed values repeat; fresh records with an e-mail index, keys from 10^8;
// rewrites of 100,000 existing records with an e-mail index), with the
// garbage collector's share of the fresh records' CPU profiles; and memory
// per record after 200,000 inserts and after rewriting each once. Every figure
// comes from redis-benchmark (or from INFO) in the same run, so the ratios
// compare like with like on the same machine.
//
//	go run ./bench/compare            # builds bucketd, needs redis-server and redis-benchmark
//	go run ./bench/compare -n 2000000 # longer runs
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"bucketd/bench/internal/benchutil"
)

var (
	n        = flag.Int("n", 1000000, "requests per redis-benchmark run")
	clients  = flag.Int("c", 50, "redis-benchmark clients")
	records  = flag.Int("records", 200000, "records for the memory comparison")
	bin      = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	floorBin = flag.String("floor", "", "redcon floor binary (empty: go build ./bench/floor)")
	threads  = flag.String("threads", "auto,0,1", "bucketd --threads values to run the rate scenarios with (auto: follow the load; 0: Go's default, the server's default)")
	rounds   = flag.Int("rounds", 5, "paired bucketd/redis runs per scenario; the median ratio is printed")
)

const definition = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true,"minLength":1},"email":{"type":"string","format":"email"},"age":{"type":"number","min":0,"max":150},"role":{"type":"string","enum":["admin","user","guest"]}},"indexes":["role","age"]}`

// emailDefinition is the same record with a realistic unique-valued index:
// an e-mail per user (not a unique constraint), beside the role.
const emailDefinition = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true,"minLength":1},"email":{"type":"string","format":"email"},"age":{"type":"number","min":0,"max":150},"role":{"type":"string","enum":["admin","user","guest"]}},"indexes":["role","email"]}`

const record = `{"id":"42","name":"Alice Smith","email":"alice@example.com","age":31,"role":"admin"}`

// upsertScript is what a Redis user writes by hand for one B.UPSERT: the
// record as a hash, two index sets and an event.
const upsertScript = `redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'email', ARGV[3], 'age', ARGV[4], 'role', ARGV[5])
redis.call('SADD', 'idx:role:' .. ARGV[5], ARGV[1])
redis.call('SADD', 'idx:age:' .. ARGV[4], ARGV[1])
redis.call('PUBLISH', 'bucket.users.updated', ARGV[1])
return 1`

// emailScript is upsertScript for emailDefinition: the index sets are the
// role's and the e-mail's.
const emailScript = `redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'email', ARGV[3], 'age', ARGV[4], 'role', ARGV[5])
redis.call('SADD', 'idx:role:' .. ARGV[5], ARGV[1])
redis.call('SADD', 'idx:email:' .. ARGV[3], ARGV[1])
redis.call('PUBLISH', 'bucket.people.updated', ARGV[1])
return 1`

// rewriteKeys is the key space of the rewrite rows: every record is loaded
// first, so every upsert rewrites one.
const rewriteKeys = 100000

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bucketd-bench-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	if *bin == "" {
		*bin = filepath.Join(tmp, "bucketd")
		build(*bin, ".")
	}
	if *floorBin == "" {
		*floorBin = filepath.Join(tmp, "floor")
		build(*floorBin, "./bench/floor")
	}
	rd, rport := benchutil.StartRedis(tmp)
	defer rd.Process.Kill()
	fl, fport := startFloor(*floorBin)
	defer fl.Process.Kill()

	ctx := context.Background()
	r := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + rport, Protocol: 2})
	benchutil.Check(r.Set(ctx, "user:42", record, 0).Err())

	fmt.Printf("machine: %d cores, %s; redis-benchmark -c %d -n %d\n", runtime.NumCPU(), benchutil.CPUModel(), *clients, *n)
	fmt.Printf("each row: %d rounds of a bucketd run then a redis run; the medians of the rates and of the rounds' ratios\n", *rounds)
	fmt.Println("(pipeline 1 runs use a quarter of -n: they are ten times slower)")
	header := func() {
		fmt.Printf("%-50s %12s %12s %7s %7s  %s\n", "scenario", "bucketd rps", "redis rps", "ratio", "target", "ratio per round")
	}
	// pair runs the scenario on both servers -rounds times and prints it.
	pair := func(name, target string, bucketd, redis func() float64) {
		var bs, rs, ratios []float64
		for range *rounds {
			b, r := bucketd(), redis()
			bs, rs, ratios = append(bs, b), append(rs, r), append(ratios, b/r)
		}
		each := make([]string, len(ratios))
		for i, x := range ratios {
			each[i] = fmt.Sprintf("%.2f", x)
		}
		fmt.Printf("%-50s %12.0f %12.0f %7.2f %7s  %s\n", name, benchutil.Median(bs), benchutil.Median(rs), benchutil.Median(ratios), target, strings.Join(each, " "))
	}
	firstThreads := strings.Split(*threads, ",")[0]
	for _, th := range strings.Split(*threads, ",") {
		label := "--threads " + th
		switch th {
		case "auto":
			label += " (the default: follows the load)"
		case "0":
			label = fmt.Sprintf("--threads 0 (all %d CPUs)", runtime.NumCPU())
		}
		fmt.Printf("\nbucketd %s\n", label)
		header()
		mport := benchutil.FreePort()
		bd := startBucketd(*bin, tmp, "--threads", th, "--metrics-addr", "127.0.0.1:"+mport)
		bport := bucketdPort
		b := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + bport, Protocol: 2})
		benchutil.Check(b.Do(ctx, "BUCKET.DEFINE", "users", definition).Err())
		benchutil.Check(b.Do(ctx, "B.INSERT", "users", record).Err())
		for _, p := range []int{16, 1} {
			target := ">=0.75"
			if p == 1 {
				target = ">=0.90"
			}
			pair(fmt.Sprintf("B.GET vs GET, pipeline %d", p), target,
				func() float64 { return bench(bport, p, "B.GET", "users", "42") },
				func() float64 { return bench(rport, p, "GET", "user:42") })
		}
		up := `{"id":"__rand_int__","name":"User __rand_int__","email":"u__rand_int__@example.com","age":42,"role":"user"}`
		pair("B.UPSERT vs EVAL HSET+2 SADD+PUBLISH, P16", ">=1.50",
			func() float64 { return bench(bport, 16, "-r", "100000", "B.UPSERT", "users", up) },
			func() float64 {
				return bench(rport, 16, "-r", "100000", "EVAL", upsertScript, "1", "user:__rand_int__",
					"__rand_int__", "User __rand_int__", "u__rand_int__@example.com", "42", "user")
			})
		// Issue 23's rows: an e-mail index, whose values are all distinct.
		benchutil.Check(b.Do(ctx, "BUCKET.DEFINE", "fresh", emailDefinition).Err())
		benchutil.Check(b.Do(ctx, "BUCKET.DEFINE", "people", emailDefinition).Err())
		// Every record the rewrite row will upsert, keyed as
		// redis-benchmark's __rand_int__ (12 digits); Redis keeps its
		// copy from the first configuration on.
		rr := r
		if th != firstThreads {
			rr = nil
		}
		load(ctx, b, rr, "people", "p:", ids(rewriteKeys, "%012d"), "")
		var gcShares []float64 // the collector's share of a CPU profile of each round
		var gcSum, cpuSum float64
		pair("  fresh records, e-mail index, keys from 10^8", ">=1.50",
			func() float64 {
				prof := profileDuring(mport, 5)
				rate := bench(bport, 16, "-r", "100000000", "B.UPSERT", "fresh", up)
				gc, total := gcSeconds(*bin, <-prof)
				gcShares, gcSum, cpuSum = append(gcShares, 100*gc/total), gcSum+gc, cpuSum+total
				return rate
			},
			func() float64 {
				return bench(rport, 16, "-r", "100000000", "EVAL", emailScript, "1", "f:__rand_int__",
					"__rand_int__", "User __rand_int__", "u__rand_int__@example.com", "42", "user")
			})
		pair(fmt.Sprintf("  rewrites of %d records, e-mail index", rewriteKeys), ">=1.50",
			func() float64 { return bench(bport, 16, "-r", strconv.Itoa(rewriteKeys), "B.UPSERT", "people", up) },
			func() float64 {
				return bench(rport, 16, "-r", strconv.Itoa(rewriteKeys), "EVAL", emailScript, "1", "p:__rand_int__",
					"__rand_int__", "User __rand_int__", "u__rand_int__@example.com", "42", "user")
			})
		each := make([]string, len(gcShares))
		for i, x := range gcShares {
			each[i] = fmt.Sprintf("%.1f", x)
		}
		fmt.Printf("(fresh records: the garbage collector took %.1f%% of the server's CPU in 5 s profiles of the rounds, target <10%%; per round %s)\n",
			100*gcSum/cpuSum, strings.Join(each, " "))
		if th == "auto" {
			fmt.Printf("(threads changed %d times in these runs)\n", infoInt(ctx, b, "server", "threads_changes"))
		}
		b.Close()
		bd.Process.Kill()
		bd.Wait()
	}
	fmt.Println()
	header()
	for _, p := range []int{16, 1} {
		pair(fmt.Sprintf("redcon constant server vs GET, pipeline %d", p), "(floor)",
			func() float64 { return bench(fport, p, "B.GET", "users", "42") },
			func() float64 { return bench(rport, p, "GET", "user:42") })
	}

	// Memory: fresh servers so earlier runs do not count.
	rd.Process.Kill()
	rd.Wait()
	bd := startBucketd(*bin, tmp)
	defer bd.Process.Kill()
	rd, rport = benchutil.StartRedis(tmp)
	defer rd.Process.Kill()
	b := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + bucketdPort, Protocol: 2})
	r = redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + rport, Protocol: 2})
	benchutil.Check(b.Do(ctx, "BUCKET.DEFINE", "people", emailDefinition).Err())
	bRSS0, bHeap0 := purged(ctx, b)
	r0 := infoInt(ctx, r, "memory", "used_memory")
	fmt.Printf("\n%-50s %12s %12s %7s %7s\n", fmt.Sprintf("memory per record, %d records (2 indexes)", *records), "bucketd", "redis", "ratio", "target")
	row := func(name string) {
		bRSS, bHeap := purged(ctx, b)
		rUsed := infoInt(ctx, r, "memory", "used_memory")
		rPer := float64(rUsed-r0) / float64(*records)
		for _, m := range []struct {
			what string
			b    int64
		}{{"RSS", bRSS - bRSS0}, {"heap", bHeap - bHeap0}} {
			per := float64(m.b) / float64(*records)
			fmt.Printf("%-50s %12.0f %12.0f %7.2f %7s\n", name+", bucketd "+m.what, per, rPer, per/rPer, "<=1.30")
		}
	}
	memIDs := ids(*records, "%d")
	load(ctx, b, r, "people", "m:", memIDs, "")
	row("after inserts")
	load(ctx, b, r, "people", "m:", memIDs, "v2")
	row("after rewriting each once")
	fmt.Println("\n(bucketd: growth of used_memory_rss, and of used_memory (live heap), after MEMORY PURGE;")
	fmt.Println(" redis: used_memory growth for the hashes and the two index sets)")
}

// purged runs MEMORY PURGE (a collection, freed memory given back) and
// returns bucketd's used_memory_rss and used_memory.
func purged(ctx context.Context, b *redis.Client) (rss, heap int64) {
	benchutil.Check(b.Do(ctx, "MEMORY", "PURGE").Err())
	return infoInt(ctx, b, "memory", "used_memory_rss"), infoInt(ctx, b, "memory", "used_memory")
}

var bucketdPort string

// rpsField finds the requests-per-second column of redis-benchmark --csv.
var rpsField = regexp.MustCompile(`","([0-9]+(?:\.[0-9]+)?)","`)

func build(out, pkg string) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	benchutil.Check(cmd.Run())
}

func startBucketd(bin, dir string, args ...string) *exec.Cmd {
	bs := benchutil.Start(bin, dir, append([]string{"--appendonly", "no"}, args...)...)
	_, bucketdPort, _ = net.SplitHostPort(bs.Addr)
	return bs.Cmd
}

func startFloor(bin string) (*exec.Cmd, string) {
	port := benchutil.FreePort()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:"+port)
	benchutil.Check(cmd.Start())
	benchutil.WaitPort(port)
	return cmd, port
}

// bench runs redis-benchmark and returns requests per second.
func bench(port string, pipeline int, args ...string) float64 {
	requests := *n
	if pipeline == 1 {
		requests /= 4
	}
	full := append([]string{"-p", port, "-c", strconv.Itoa(*clients), "-n", strconv.Itoa(requests),
		"-P", strconv.Itoa(pipeline), "--csv"}, args...)
	out, err := exec.Command("redis-benchmark", full...).Output()
	if err != nil {
		panic(fmt.Sprintf("redis-benchmark %v: %v\n%s", args, err, out))
	}
	// The first field is the command line, whose JSON quotes redis-benchmark
	// does not escape: read the first quoted number instead of parsing CSV.
	for _, line := range strings.Split(string(out), "\n") {
		if m := rpsField.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			benchutil.Check(err)
			return v
		}
	}
	panic("no figure in redis-benchmark output: " + string(out))
}

// load writes records with the given ids into bucket, and into Redis under
// prefix unless r is nil, with pipelines: 5 fields, indexed by role and by a
// distinct e-mail each. A non-empty version rewrites them: new name and
// e-mail, and in Redis the record leaves its old e-mail's index set, as
// bucketd's index does.
func load(ctx context.Context, b, r *redis.Client, bucket, prefix string, ids []string, version string) {
	roles := []string{"admin", "user", "guest"}
	email := func(id, v string) string {
		if v == "" {
			return "user" + id + "@example.com"
		}
		return "user" + id + "." + v + "@example.com"
	}
	const batch = 1000
	for i := 0; i < len(ids); i += batch {
		bp := b.Pipeline()
		var rp redis.Pipeliner
		if r != nil {
			rp = r.Pipeline()
		}
		for j := i; j < i+batch && j < len(ids); j++ {
			id := ids[j]
			role := roles[j%3]
			age := strconv.Itoa(18 + j%60)
			name, mail := "User "+id, email(id, version)
			if version != "" {
				name += " " + version
			}
			rec := `{"id":"` + id + `","name":"` + name + `","email":"` + mail + `","age":` + age + `,"role":"` + role + `"}`
			bp.Do(ctx, "B.UPSERT", bucket, rec)
			if rp == nil {
				continue
			}
			rp.HSet(ctx, prefix+id, "id", id, "name", name, "email", mail, "age", age, "role", role)
			rp.SAdd(ctx, "idx:role:"+role, id)
			if version != "" {
				rp.SRem(ctx, "idx:email:"+email(id, ""), id)
			}
			rp.SAdd(ctx, "idx:email:"+mail, id)
		}
		_, err := bp.Exec(ctx)
		benchutil.Check(err)
		if rp != nil {
			_, err = rp.Exec(ctx)
			benchutil.Check(err)
		}
	}
}

// ids returns the keys 0..count-1, formatted by format.
func ids(count int, format string) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// profileDuring starts a CPU profile of secs seconds from bucketd's
// profiler on 127.0.0.1:port and returns where its file will be sent.
func profileDuring(port string, secs int) <-chan string {
	out := make(chan string, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%s/debug/pprof/profile?seconds=%d", port, secs))
		benchutil.Check(err)
		defer resp.Body.Close()
		f, err := os.CreateTemp("", "bucketd-cpu-")
		benchutil.Check(err)
		_, err = io.Copy(f, resp.Body)
		benchutil.Check(err)
		benchutil.Check(f.Close())
		out <- f.Name()
	}()
	return out
}

// gcSeconds returns the CPU seconds a profile's samples spent in the
// garbage collector (its mark workers, and the marking allocations assist
// with: go tool pprof's cumulative figures) and in all.
func gcSeconds(bin, profile string) (gc, total float64) {
	defer os.Remove(profile)
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-unit", "ms", bin, profile).Output()
	benchutil.Check(err)
	ms := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "ms"), 64)
		benchutil.Check(err)
		return v / 1000
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 5 && f[0] == "Duration:" && f[2] == "Total" && f[3] == "samples":
			total = ms(f[5])
		case len(f) == 6 && (f[5] == "runtime.gcBgMarkWorker" || f[5] == "runtime.gcAssistAlloc"):
			gc += ms(f[3])
		}
	}
	return gc, total
}

func infoInt(ctx context.Context, c *redis.Client, section, field string) int64 {
	text, err := c.Info(ctx, section).Result()
	benchutil.Check(err)
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	panic("no " + field + " in INFO " + section)
}
