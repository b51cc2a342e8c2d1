// Command cluster measures a replicated bucketd cluster of three nodes on
// loopback (docs/replication.md) against a single node, in one run:
//
//   - writes: -c clients insert new records for -d, each keeping
//     -pipelines commands in flight, into a single node under appendfsync
//     always, then into the cluster's leader; the ratio is the cluster's
//     rate over the single node's (a replicated write is acknowledged once
//     a majority has it on disk, as an always write once it is on disk);
//     -rounds times in turns, both kept running, and the median ratio;
//
//   - reads: B.GET of random records by -c clients for -d against one node,
//     then spread over the three nodes (followers serve reads);
//
//   - failover: -kills times, the leader is killed (SIGKILL) and the time
//     until a write through another node is acknowledged is measured; the
//     killed node is restarted and rejoins before the next kill.
//
//     go run ./bench/cluster
//     go run ./bench/cluster -d 2s -kills 5
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
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
	bin       = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	clients   = flag.Int("c", 50, "concurrent clients")
	duration  = flag.Duration("d", 3*time.Second, "length of each write and read run")
	pipelines = flag.String("pipelines", "1,16", "commands each client keeps in flight, one write run each")
	kills     = flag.Int("kills", 10, "leader kills for the failover time (0: skip)")
	readRecs  = flag.Int("records", 10000, "records the read runs read")
	timeout   = flag.String("cluster-timeout", "500ms", "the nodes' --cluster-timeout")
	rounds    = flag.Int("rounds", 3, "write runs on each side, taken in turns")
	profile   = flag.String("profile", "", "write CPU profiles of each write run's servers into this folder")
)

const definition = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"n":{"type":"number"}},"indexes":["n"]}`

func record(i int) string {
	return fmt.Sprintf(`{"id":"u%d","name":"user %d","n":%d}`, i, i, i%100)
}

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bench-cluster-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	fmt.Printf("bench/cluster: %s, %d CPUs, Go %s, %d clients, %v a run\n\n", benchutil.CPUModel(), runtime.NumCPU(), runtime.Version(), *clients, *duration)

	fmt.Printf("writes (B.INSERT of new records), per second: %d rounds, each a run on the single node then one on the cluster\n", *rounds)
	for _, ps := range strings.Split(*pipelines, ",") {
		var p int
		fmt.Sscan(ps, &p)
		mport := benchutil.FreePort()
		single := benchutil.Start(*bin, filepath.Join(tmp, "single-"+ps), "--appendonly", "yes", "--appendfsync", "always", "--metrics-addr", "127.0.0.1:"+mport)
		sc := single.Client(*clients)
		benchutil.Check(sc.Do(context.Background(), "BUCKET.DEFINE", "users", definition).Err())
		c := startCluster(filepath.Join(tmp, "cluster-"+ps))
		lc := c.nodes[c.leader()].Client(*clients)
		benchutil.Check(lc.Do(context.Background(), "BUCKET.DEFINE", "users", definition).Err())
		var ratios []float64
		for r := 0; r < *rounds; r++ {
			base := r * 100_000_000
			cpu0 := cpuOf(single)
			profiles := profileRun(fmt.Sprintf("single-p%s-r%d", ps, r), mport)
			one := writeLoad(sc, p, base)
			profiles()
			oneCPU := float64((cpuOf(single) - cpu0).Microseconds()) / (one * duration.Seconds())
			cpu0 = cpuOf(c.nodes...)
			entries0, commits0 := proposed(lc)
			profiles = profileRun(fmt.Sprintf("cluster-p%s-r%d", ps, r), c.metrics...)
			three := writeLoad(lc, p, base)
			profiles()
			threeCPU := float64((cpuOf(c.nodes...) - cpu0).Microseconds()) / (three * duration.Seconds())
			entries1, commits1 := proposed(lc)
			ratios = append(ratios, three/one)
			fmt.Printf("  pipeline %-3d single node (always) %9.0f   three nodes %9.0f   ratio %.2f   server CPU per write: %.0f µs vs %.0f µs (all three nodes); Raft log entries %.0f/s, %.1f commits each\n",
				p, one, three, three/one, oneCPU, threeCPU,
				float64(entries1-entries0)/duration.Seconds(), float64(commits1-commits0)/float64(max(1, entries1-entries0)))
		}
		sort.Float64s(ratios)
		fmt.Printf("  pipeline %-3d ratio: median %.2f of %d rounds (%s)\n", p, benchutil.Median(ratios), *rounds, benchutil.List(ratios, 2))
		sc.Close()
		single.Stop()
		lc.Close()
		c.stop()
	}

	fmt.Println("\nreads (B.GET of random records), per second")
	c := startCluster(filepath.Join(tmp, "reads"))
	lc := c.nodes[c.leader()].Client(8)
	benchutil.Check(lc.Do(context.Background(), "BUCKET.DEFINE", "users", definition).Err())
	for lo := 0; lo < *readRecs; lo += 500 {
		var b strings.Builder
		b.WriteByte('[')
		for i := lo; i < min(lo+500, *readRecs); i++ {
			if i > lo {
				b.WriteByte(',')
			}
			b.WriteString(record(i))
		}
		b.WriteByte(']')
		benchutil.Check(lc.Do(context.Background(), "B.INSERTMANY", "users", b.String()).Err())
	}
	lc.Close()
	c.settle()
	oneNode := readLoad(c.nodes[c.leader():][:1])
	allNodes := readLoad(c.nodes)
	fmt.Printf("  one node %9.0f   three nodes together %9.0f   ratio %.2f (the nodes share this machine's %d CPUs)\n", oneNode, allNodes, allNodes/oneNode, runtime.NumCPU())
	c.stop()

	if *kills > 0 {
		fmt.Printf("\nfailover: leader killed (SIGKILL) -> first acknowledged write through another node, %d kills\n", *kills)
		c := startCluster(filepath.Join(tmp, "failover"))
		cl := c.nodes[c.leader()].Client(2)
		benchutil.Check(cl.Do(context.Background(), "BUCKET.DEFINE", "users", definition).Err())
		cl.Close()
		var took []float64
		for k := 0; k < *kills; k++ {
			l := c.leader()
			other := c.nodes[(l+1)%3]
			oc := redis.NewClient(&redis.Options{Addr: other.Addr, MaxRetries: -1, ReadTimeout: 5 * time.Second})
			began := time.Now()
			c.nodes[l].Cmd.Process.Kill()
			<-c.nodes[l].Done
			for i := 0; ; i++ {
				if oc.Do(context.Background(), "B.INSERT", "users", record(1_000_000+k*10_000+i)).Err() == nil {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			took = append(took, float64(time.Since(began).Milliseconds()))
			oc.Close()
			c.restart(l)
			c.settle()
		}
		sort.Float64s(took)
		fmt.Printf("  p50 %.0f ms   min %.0f ms   max %.0f ms   (all: %s ms; --cluster-timeout %s)\n", benchutil.Median(took), took[0], took[len(took)-1], benchutil.List(took, 0), *timeout)
		c.stop()
	}
}

// proposed returns the leader's raft_entries_proposed and
// raft_commits_proposed (INFO replication).
func proposed(c *redis.Client) (entries, commits int64) {
	info := benchutil.Info(c, "replication")
	entries, _ = strconv.ParseInt(info["raft_entries_proposed"], 10, 64)
	commits, _ = strconv.ParseInt(info["raft_commits_proposed"], 10, 64)
	return entries, commits
}

// cpuOf returns the CPU time the servers have used so far.
func cpuOf(servers ...*benchutil.Server) time.Duration {
	var t time.Duration
	for _, s := range servers {
		t += benchutil.CPUTime(s.Cmd.Process.Pid)
	}
	return t
}

// profileRun starts CPU profiles of the next *duration of the servers
// whose metrics listen on ports, when -profile names a folder, and returns
// the function that waits for them: they are written to
// <folder>/<name>-<i>.pprof.
func profileRun(name string, ports ...string) func() {
	if *profile == "" {
		return func() {}
	}
	benchutil.Check(os.MkdirAll(*profile, 0o755))
	var outs []chan error
	for i, port := range ports {
		outs = append(outs, benchutil.StartProfile("127.0.0.1:"+port, "profile", filepath.Join(*profile, fmt.Sprintf("%s-%d.pprof", name, i)), *duration-time.Second))
	}
	return func() {
		for _, out := range outs {
			benchutil.Check(<-out)
		}
	}
}

// cluster is three nodes started by this program.
type cluster struct {
	dir     string
	nodes   []*benchutil.Server
	args    [][]string
	metrics []string // the nodes' --metrics-addr ports
}

func startCluster(dir string) *cluster {
	c := &cluster{dir: dir}
	for i := 0; i < 3; i++ {
		args := []string{"--port", benchutil.FreePort(), "--cluster-id", "bench", "--node-id", fmt.Sprint("n", i+1),
			"--raft-addr", "127.0.0.1:" + benchutil.FreePort(), "--cluster-timeout", *timeout}
		c.metrics = append(c.metrics, benchutil.FreePort())
		args = append(args, "--metrics-addr", "127.0.0.1:"+c.metrics[i])
		if i == 0 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", c.nodes[0].Addr)
		}
		c.args = append(c.args, args)
		c.nodes = append(c.nodes, benchutil.Start(*bin, filepath.Join(dir, fmt.Sprint("n", i+1)), args...))
		if i == 0 {
			c.leader()
		}
	}
	c.settle()
	return c
}

// leader waits for a leader and returns its index.
func (c *cluster) leader() int {
	for {
		for i, s := range c.nodes {
			cl := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
			role, err := cl.Do(context.Background(), "ROLE").Slice()
			cl.Close()
			if err == nil && len(role) > 0 && role[0] == "master" {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until every node is a member and has applied the leader's
// log.
func (c *cluster) settle() {
	for {
		l := c.leader()
		lc := c.nodes[l].Client(1)
		nodes, _ := lc.Do(context.Background(), "CLUSTER.NODES").Slice()
		idx, _ := lc.Do(context.Background(), "CLUSTER.INDEX").Int64()
		lc.Close()
		ok := len(nodes) == 3
		for _, s := range c.nodes {
			sc := s.Client(1)
			i, err := sc.Do(context.Background(), "CLUSTER.INDEX").Int64()
			sc.Close()
			ok = ok && err == nil && i >= idx
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) restart(i int) {
	c.nodes[i] = benchutil.Start(*bin, filepath.Join(c.dir, fmt.Sprint("n", i+1)), c.args[i]...)
}

func (c *cluster) stop() {
	for _, s := range c.nodes {
		s.Cmd.Process.Kill()
		<-s.Done
	}
}

// writeLoad runs *clients writers, each keeping p inserts in flight, for
// *duration and returns the rate; the records' ids count from base.
func writeLoad(c *redis.Client, p, base int) float64 {
	ctx := context.Background()
	var ops atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := base + w; time.Now().Before(deadline); {
				pipe := c.Pipeline()
				for range p {
					pipe.Do(ctx, "B.INSERT", "users", record(i))
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

// readLoad runs *clients readers spread over nodes for *duration and
// returns the rate.
func readLoad(nodes []*benchutil.Server) float64 {
	ctx := context.Background()
	var cls []*redis.Client
	for _, s := range nodes {
		cls = append(cls, s.Client(*clients/len(nodes)+1))
	}
	defer func() {
		for _, c := range cls {
			c.Close()
		}
	}()
	var ops atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(*duration)
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cls[w%len(cls)]
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(deadline) {
				benchutil.Check(c.Do(ctx, "B.GET", "users", fmt.Sprint("u", rng.IntN(*readRecs))).Err())
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(began).Seconds()
}
