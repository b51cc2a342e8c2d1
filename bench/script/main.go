// Command script runs bucketd and redis-server side by side on this machine
// and prints what Lua scripts cost (issue 17), in one run:
//
//   - the seed's inventory transaction as EVALSHA, -c clients, pipelines
//     -P: in bucketd a script over the buckets inventory and orders that
//     B.GETs the item, checks its quantity, B.INSERTs an order (two indexed
//     fields, an autoincrement id) and B.UPDATEs the quantity (two events,
//     read by one PSUBSCRIBE bucket.* subscriber); in Redis the same logic
//     on hashes: HGET, check, HINCRBY, HSET, two SADDs for the "indexes" and
//     two PUBLISHes for the "events" (one PSUBSCRIBE * subscriber). The
//     ratio bucketd/Redis is printed (target: at least 0.50), and, for
//     reference, bucketd running the script's three commands unscripted
//     (-plain), which tells the script layer's cost from the commands';
//   - an empty script (return 1) by EVALSHA against PING on each server,
//     pipelines -emptyP: the ratio EVALSHA/PING and the server CPU per
//     command, whose difference is what running a script costs.
//
// Each row runs -rounds pairs (a bucketd run, then a redis run, -d each)
// and prints the median rates and the median of the pairs' ratios, with
// each server's CPU per operation read from /proc (steadier than rates when
// the load generator and other work share the machine). The load comes
// from raw pipelined RESP2 connections, one goroutine each.
//
//	go run ./bench/script                                # builds bucketd, needs redis-server
//	go run ./bench/script -d 1s -rounds 1                # a quick run
//	go run ./bench/script -cpuprofile /tmp/script.pprof -memprofile /tmp/script.allocs  # profiles bucketd's inventory run
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
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
	bin        = flag.String("bucketd", "", "bucketd binary (empty: go build it)")
	clients    = flag.Int("c", 50, "concurrent clients (one connection each)")
	duration   = flag.Duration("d", 1500*time.Millisecond, "length of each measured run")
	rounds     = flag.Int("rounds", 2, "bucketd/redis pairs per row; medians are printed")
	pipes      = flag.String("P", "1,16", "pipelines of the inventory transaction")
	emptyPipes = flag.String("emptyP", "16", "pipelines of the empty EVALSHA vs PING rows")
	items      = flag.Int("items", 1000, "SKUs in the inventory")
	users      = flag.Int("users", 10000, "distinct user ids in orders")
	plain      = flag.Bool("plain", true, "also run bucketd's three commands without a script (at the largest pipeline), for reference")
	cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of bucketd during its first inventory run at the largest pipeline to this file (serves --metrics-addr for it)")
	memProfile = flag.String("memprofile", "", "write an allocation profile of bucketd during the same run to this file")
)

const (
	inventoryDef = `{"key":"sku","schema":{"sku":{"type":"string"},"name":{"type":"string","required":true},` +
		`"qty":{"type":"number","min":0}},"persistent":false}`
	ordersDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
		`"userId":{"type":"string","required":true},"sku":{"type":"string","required":true},"qty":{"type":"number","min":1}},` +
		`"indexes":["userId","sku"],"persistent":false}`
	stock = 1_000_000_000 // enough that the check always passes

	// bucketdInventory is the seed's transaction as a bucketd script.
	// KEYS: inventory, orders; ARGV: userId, sku, quantity.
	bucketdInventory = `local raw = redis.call('B.GET', KEYS[1], ARGV[2])
if not raw then return redis.error_reply('NOTFOUND no item ' .. ARGV[2]) end
local item = cjson.decode(raw)
local n = tonumber(ARGV[3])
if item.qty < n then return redis.error_reply('SOLDOUT ' .. ARGV[2]) end
local order = redis.call('B.INSERT', KEYS[2], cjson.encode({userId = ARGV[1], sku = ARGV[2], qty = n}))
redis.call('B.UPDATE', KEYS[1], ARGV[2], cjson.encode({qty = item.qty - n}))
return order`

	// redisInventory is what a Redis user writes for it: the item and the
	// order as hashes, a set per indexed value, a PUBLISH per event. The
	// client names the order (ARGV[1]): Redis has no autoincrement field.
	// KEYS: item:<sku>, order:<id>; ARGV: id, userId, sku, quantity.
	redisInventory = `local n = tonumber(ARGV[4])
local qty = tonumber(redis.call('HGET', KEYS[1], 'qty'))
if not qty then return redis.error_reply('NOTFOUND no item ' .. ARGV[3]) end
if qty < n then return redis.error_reply('SOLDOUT ' .. ARGV[3]) end
local left = redis.call('HINCRBY', KEYS[1], 'qty', -n)
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'userId', ARGV[2], 'sku', ARGV[3], 'qty', n)
redis.call('SADD', 'idx:orders:userId:' .. ARGV[2], ARGV[1])
redis.call('SADD', 'idx:orders:sku:' .. ARGV[3], ARGV[1])
local order = cjson.encode({id = ARGV[1], userId = ARGV[2], sku = ARGV[3], qty = n})
redis.call('PUBLISH', 'bucket.orders.inserted', order)
redis.call('PUBLISH', 'bucket.inventory.updated', cjson.encode({sku = ARGV[3], qty = left}))
return order`

	emptyScript = `return 1`
)

// orderIDs names Redis's orders: what bucketd's autoincrement does.
var orderIDs atomic.Int64

// server is one of the two servers under test, with its scripts loaded
// and its event subscriber connected.
type server struct {
	name      string
	addr      string
	pid       int
	inventory string // SHA1 of its inventory script
	empty     string // SHA1 of emptyScript
	sub       *subscriber
	// inventoryCmd appends one inventory EVALSHA to b.
	inventoryCmd func(b []byte, r *rand.Rand) []byte
	// plainCmds appends B.GET, B.INSERT and B.UPDATE as the script runs
	// them (bucketd only).
	plainCmds func(b []byte, r *rand.Rand) []byte
}

func main() {
	flag.Parse()
	invPipes, emptyPs := pipelines(*pipes), pipelines(*emptyPipes)
	tmp, err := os.MkdirTemp("", "bucketd-bench-script-")
	benchutil.Check(err)
	defer os.RemoveAll(tmp)
	*bin = benchutil.Bucketd(*bin, tmp)
	args := []string{"--appendonly", "no"}
	metricsAddr := ""
	if *cpuProfile != "" || *memProfile != "" {
		metricsAddr = "127.0.0.1:" + benchutil.FreePort()
		args = append(args, "--metrics-addr", metricsAddr)
	}
	bs := benchutil.Start(*bin, filepath.Join(tmp, "data"), args...)
	defer bs.Stop()
	rd, rport := benchutil.StartRedis(tmp)
	defer func() { rd.Process.Kill(); rd.Wait() }()

	b := setupBucketd(bs)
	r := setupRedis("127.0.0.1:"+rport, rd.Process.Pid)
	defer b.sub.close()
	defer r.sub.close()

	fmt.Printf("machine: %d cores, %s; %s\n", runtime.NumCPU(), benchutil.CPUModel(), redisVersion(r.addr))
	fmt.Printf("%d clients (raw RESP2), %v per run, %d rounds of a bucketd run then a redis run per row; medians\n",
		*clients, *duration, *rounds)
	fmt.Printf("inventory: %d SKUs, random sku and user per call; one pattern subscriber on each server\n", *items)
	if metricsAddr != "" {
		fmt.Println("(bucketd serves --metrics-addr for the profile: its per-command metrics cost a little)")
	}

	// Warm up both: pooled interpreters, connection buffers, the heap.
	run(b, 16, time.Second/2, 1, b.inventoryCmd)
	run(r, 16, time.Second/2, 1, r.inventoryCmd)

	fmt.Printf("\n%-34s %11s %11s %7s %7s  %-14s %s\n", "EVALSHA inventory transaction", "bucketd/s", "redis/s", "ratio", "target",
		"ratio per pair", "server CPU µs/op: bucketd, redis, their ratio redis/bucketd")
	for i, p := range invPipes {
		profile := ""
		if metricsAddr != "" && i == len(invPipes)-1 {
			profile = metricsAddr
		}
		var bRates, rRates, ratios, bCPU, rCPU, cpuRatios []float64
		for round := range *rounds {
			var profs []chan error
			if round == 0 && profile != "" {
				if *cpuProfile != "" {
					profs = append(profs, benchutil.StartProfile(profile, "profile", *cpuProfile, *duration))
				}
				if *memProfile != "" {
					profs = append(profs, benchutil.StartProfile(profile, "allocs", *memProfile, *duration))
				}
			}
			br, bc := run(b, p, *duration, 1, b.inventoryCmd)
			for _, prof := range profs {
				benchutil.Check(<-prof)
			}
			rr, rc := run(r, p, *duration, 1, r.inventoryCmd)
			bRates, rRates, ratios = append(bRates, br), append(rRates, rr), append(ratios, br/rr)
			bCPU, rCPU, cpuRatios = append(bCPU, bc), append(rCPU, rc), append(cpuRatios, rc/bc)
		}
		fmt.Printf("%-34s %11.0f %11.0f %7.2f %7s  %-14s %6.1f, %.1f, %.2f\n", fmt.Sprintf("pipeline %d", p),
			benchutil.Median(bRates), benchutil.Median(rRates), benchutil.Median(ratios), ">=0.50", benchutil.List(ratios, 2), benchutil.Median(bCPU), benchutil.Median(rCPU), benchutil.Median(cpuRatios))
	}
	for _, f := range []string{*cpuProfile, *memProfile} {
		if f != "" {
			fmt.Printf("(bucketd profile of the first pipeline-%d run: go tool pprof -top %s)\n", invPipes[len(invPipes)-1], f)
		}
	}
	if *plain {
		// The script's commands sent as they are (not atomic: the update
		// does not depend on the read), to tell the script layer's cost
		// from the commands'.
		p := invPipes[len(invPipes)-1]
		var rates, cpu []float64
		for range *rounds {
			rate, c := run(b, p, *duration, 3, b.plainCmds)
			rates, cpu = append(rates, rate), append(cpu, c)
		}
		fmt.Printf("%-34s %11.0f %11s %7s %7s  %-14s %6.1f\n", fmt.Sprintf("bucketd: its 3 commands unscripted, P%d", p),
			benchutil.Median(rates), "", "", "", "", benchutil.Median(cpu))
	}

	fmt.Printf("\n%-34s %11s %11s %7s  %-14s %s\n", "empty script vs PING", "EVALSHA/s", "PING/s", "ratio", "ratio per run",
		"server CPU µs/op EVALSHA, PING, difference")
	for _, p := range emptyPs {
		for _, s := range []*server{b, r} {
			empty := func(buf []byte, _ *rand.Rand) []byte {
				return appendCommand(buf, "EVALSHA", s.empty, "0")
			}
			ping := func(buf []byte, _ *rand.Rand) []byte { return appendCommand(buf, "PING") }
			var eRates, pRates, ratios, eCPU, pCPU []float64
			for range *rounds {
				er, ec := run(s, p, *duration, 1, empty)
				pr, pc := run(s, p, *duration, 1, ping)
				eRates, pRates, ratios = append(eRates, er), append(pRates, pr), append(ratios, er/pr)
				eCPU, pCPU = append(eCPU, ec), append(pCPU, pc)
			}
			fmt.Printf("%-34s %11.0f %11.0f %7.2f  %-14s %6.2f, %.2f, %.2f\n", fmt.Sprintf("%s, pipeline %d", s.name, p),
				benchutil.Median(eRates), benchutil.Median(pRates), benchutil.Median(ratios), benchutil.List(ratios, 2), benchutil.Median(eCPU), benchutil.Median(pCPU), benchutil.Median(eCPU)-benchutil.Median(pCPU))
		}
	}

	fmt.Println()
	for _, s := range []*server{b, r} {
		fmt.Printf("%s: %d events received by its subscriber (%s)\n", s.name, s.sub.got.Load(), s.sub.state())
	}
}

// setupBucketd defines the buckets, loads the inventory and the scripts
// and connects the subscriber.
func setupBucketd(bs *benchutil.Server) *server {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: bs.Addr, Protocol: 2, MaxRetries: -1})
	defer c.Close()
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "inventory", inventoryDef).Err())
	benchutil.Check(c.Do(ctx, "BUCKET.DEFINE", "orders", ordersDef).Err())
	p := c.Pipeline()
	for i := range *items {
		p.Do(ctx, "B.INSERT", "inventory", fmt.Sprintf(`{"sku":"%s","name":"Item %d","qty":%d}`, sku(i), i, stock))
	}
	_, err := p.Exec(ctx)
	benchutil.Check(err)
	s := &server{name: "bucketd", addr: bs.Addr, pid: bs.Cmd.Process.Pid}
	s.inventory = scriptLoad(c, bucketdInventory)
	s.empty = scriptLoad(c, emptyScript)
	s.inventoryCmd = func(b []byte, r *rand.Rand) []byte {
		return appendCommand(b, "EVALSHA", s.inventory, "2", "inventory", "orders",
			"u"+strconv.Itoa(r.IntN(*users)), sku(r.IntN(*items)), "1")
	}
	s.plainCmds = func(b []byte, r *rand.Rand) []byte {
		k := sku(r.IntN(*items))
		b = appendCommand(b, "B.GET", "inventory", k)
		b = appendCommand(b, "B.INSERT", "orders", `{"userId":"u`+strconv.Itoa(r.IntN(*users))+`","sku":"`+k+`","qty":1}`)
		return appendCommand(b, "B.UPDATE", "inventory", k, `{"qty":`+strconv.Itoa(stock-1-r.IntN(1000))+`}`)
	}
	s.sub = subscribe(bs.Addr, "bucket.*")
	// One transaction by hand proves the script and the subscriber work.
	benchutil.Check(c.EvalSha(ctx, s.inventory, []string{"inventory", "orders"}, "u0", sku(0), 1).Err())
	s.sub.wait(2)
	return s
}

// setupRedis loads the inventory hashes and the scripts and connects the
// subscriber.
func setupRedis(addr string, pid int) *server {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1})
	defer c.Close()
	p := c.Pipeline()
	for i := range *items {
		p.HSet(ctx, "item:"+sku(i), "sku", sku(i), "name", "Item "+strconv.Itoa(i), "qty", stock)
	}
	_, err := p.Exec(ctx)
	benchutil.Check(err)
	s := &server{name: "redis", addr: addr, pid: pid}
	s.inventory = scriptLoad(c, redisInventory)
	s.empty = scriptLoad(c, emptyScript)
	s.inventoryCmd = func(b []byte, r *rand.Rand) []byte {
		id := strconv.FormatInt(orderIDs.Add(1), 10)
		k := sku(r.IntN(*items))
		return appendCommand(b, "EVALSHA", s.inventory, "2", "item:"+k, "order:"+id,
			id, "u"+strconv.Itoa(r.IntN(*users)), k, "1")
	}
	s.sub = subscribe(addr, "*")
	benchutil.Check(c.EvalSha(ctx, s.inventory, []string{"item:" + sku(0), "order:setup"}, "setup", "u0", sku(0), 1).Err())
	s.sub.wait(2)
	return s
}

func sku(i int) string { return "sku" + strconv.Itoa(i) }

func scriptLoad(c *redis.Client, body string) string {
	sha, err := c.ScriptLoad(context.Background(), body).Result()
	benchutil.Check(err)
	return sha
}

func redisVersion(addr string) string {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	if v := benchutil.Info(c, "server")["redis_version"]; v != "" {
		return "redis-server " + v
	}
	return "redis-server"
}

// run sends the operations cmd makes (per commands each) from -c
// connections, pipeline p deep, for d, and returns the operations per
// second and the server's CPU time per operation in µs. An error reply
// stops the program.
func run(s *server, p int, d time.Duration, per int, cmd func(b []byte, r *rand.Rand) []byte) (rate, cpuPerOp float64) {
	conns := make([]net.Conn, *clients)
	for i := range conns {
		nc, err := net.Dial("tcp", s.addr)
		benchutil.Check(err)
		conns[i] = nc
	}
	var ops atomic.Int64
	var wg sync.WaitGroup
	cpu0 := cpuTime(s.pid)
	began := time.Now()
	deadline := began.Add(d)
	for i, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer nc.Close()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(began.UnixNano())))
			rd := bufio.NewReaderSize(nc, 64<<10)
			var buf []byte
			for time.Now().Before(deadline) {
				buf = buf[:0]
				for range p {
					buf = cmd(buf, rng)
				}
				_, err := nc.Write(buf)
				benchutil.Check(err)
				for range p * per {
					benchutil.Check(readReply(rd))
				}
				ops.Add(int64(p))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	cpu := cpuTime(s.pid) - cpu0
	n := float64(ops.Load())
	return n / elapsed.Seconds(), cpu.Seconds() * 1e6 / n
}

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readReply reads one RESP2 reply; an error reply is returned as an error.
func readReply(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 3 {
		return fmt.Errorf("short reply line %q", line)
	}
	switch line[0] {
	case '-':
		return errors.New("error reply: " + string(line[1:len(line)-2]))
	case '$', '*':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return fmt.Errorf("bad reply line %q", line)
		}
		if line[0] == '$' {
			if n >= 0 {
				_, err = r.Discard(n + 2)
			}
			return err
		}
		for range n {
			if err := readReply(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// subscriber is one raw pattern subscriber that reads and counts every
// message.
type subscriber struct {
	conn net.Conn
	got  atomic.Int64
	err  atomic.Value // error: why reading stopped
	done chan struct{}
}

func subscribe(addr, pattern string) *subscriber {
	nc, err := net.Dial("tcp", addr)
	benchutil.Check(err)
	_, err = nc.Write(appendCommand(nil, "PSUBSCRIBE", pattern))
	benchutil.Check(err)
	r := bufio.NewReaderSize(nc, 256<<10)
	benchutil.Check(readReply(r)) // the confirmation
	s := &subscriber{conn: nc, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			if err := readReply(r); err != nil {
				s.err.Store(err)
				return
			}
			s.got.Add(1)
		}
	}()
	return s
}

// wait waits until the subscriber has read n messages.
func (s *subscriber) wait(n int64) {
	deadline := time.Now().Add(10 * time.Second)
	for s.got.Load() < n {
		select {
		case <-s.done:
			panic(fmt.Sprintf("subscriber stopped: %v", s.err.Load()))
		default:
		}
		if time.Now().After(deadline) {
			panic(fmt.Sprintf("subscriber got %d of %d messages in 10s", s.got.Load(), n))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// state says whether the subscriber is still connected.
func (s *subscriber) state() string {
	select {
	case <-s.done:
		return fmt.Sprintf("DISCONNECTED: %v", s.err.Load())
	default:
		return "still connected"
	}
}

func (s *subscriber) close() {
	s.conn.Close()
	<-s.done
}

// cpuTime returns the process's CPU time so far (user + system).
func cpuTime(pid int) time.Duration { return benchutil.CPUTime(pid) }

func pipelines(s string) []int {
	var ps []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		benchutil.Check(err)
		if p < 1 {
			panic("pipeline must be at least 1: " + f)
		}
		ps = append(ps, p)
	}
	return ps
}
