package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication over Raft (docs/replication.md): three processes on loopback.

func TestClusterReplicatesEveryChange(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	l, f := c.Leader(), c.Follower()
	lc, fc := c.client(l), c.client(f)
	must := func(cl *redis.Client, args ...any) any {
		t.Helper()
		v, err := cl.Do(ctx(t), args...).Result()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	must(lc, "BUCKET.DEFINE", "users", `{"key":"id","schema":{"id":{"type":"string","generated":"uuid"},"email":{"type":"string","unique":true},"n":{"type":"number"}},"indexes":["n"]}`)
	must(fc, "BUCKET.DEFINE", "orders", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"user":{"type":"string"},"at":{"type":"number","generated":"timestamp"}},"maxSize":3}`)
	must(lc, "BUCKET.DEFINE", "scratch", `{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`)
	// Writes on the leader and, forwarded, on a follower.
	for i := 0; i < 5; i++ {
		cl := lc
		if i%2 == 1 {
			cl = fc
		}
		must(cl, "B.INSERT", "users", fmt.Sprintf(`{"email":"u%d@x","n":%d}`, i, i))
		must(cl, "B.INSERT", "orders", fmt.Sprintf(`{"user":"u%d"}`, i)) // maxSize 3: the leader evicts
		must(cl, "B.INSERT", "scratch", fmt.Sprintf(`{"id":"s%d"}`, i))
	}
	// Read your own write on the follower, at once.
	rec := must(fc, "B.INSERT", "users", `{"id":"fixed","email":"f@x","n":9}`).(string)
	if got := must(fc, "B.GET", "users", "fixed"); got != rec {
		t.Fatalf("B.GET on the follower right after its forwarded insert: %v, want %v", got, rec)
	}
	must(fc, "B.UPDATE", "users", "fixed", `{"n":10}`)
	must(lc, "B.UPSERT", "users", `{"id":"up","email":"up@x","n":1}`)
	must(fc, "B.DELETE", "users", "up")
	must(fc, "EXPIRE", "users:fixed", "1000")
	must(fc, "DEL", "scratch:s0")
	// The same failures on the follower as on the leader.
	_, err := fc.Do(ctx(t), "B.INSERT", "users", `{"email":"f@x","n":1}`).Result()
	if err == nil || !strings.HasPrefix(err.Error(), "UNIQUE") {
		t.Fatalf("a unique violation through the follower: %v", err)
	}
	_, err = fc.Do(ctx(t), "B.UPDATE", "users", "fixed", `{"n":11}`, "IFVERSION", "1").Result()
	if err == nil || !strings.HasPrefix(err.Error(), "CONFLICT") {
		t.Fatalf("a stale IFVERSION through the follower: %v", err)
	}
	// A transaction through the follower, whole, with a WATCH.
	must(fc, "WATCH", "users:fixed")
	pipe := fc.TxPipeline()
	pipe.Do(ctx(t), "B.UPDATE", "users", "fixed", `{"n":12}`)
	pipe.Do(ctx(t), "B.INSERT", "orders", `{"user":"tx"}`)
	if _, err := pipe.Exec(ctx(t)); err != nil {
		t.Fatalf("MULTI/EXEC through the follower: %v", err)
	}
	// Scripts, functions, queries and definitions.
	must(fc, "EVAL", `redis.call('B.INSERT', 'users', '{"id":"lua","email":"lua@x","n":3}') return 1`, "1", "users:lua")
	must(fc, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('bump', function(keys, args) return redis.call('B.UPDATE', 'users', args[1], '{\"n\":99}') end)")
	must(fc, "FCALL", "bump", "1", "users:fixed", "fixed")
	must(fc, "QUERY.DEFINE", "big", `{"bucket":"users","filter":{"n":{"$gte":5}}}`)
	must(fc, "BUCKET.ALTER", "users", `{"addIndexes":["email"]}`)
	must(fc, "B.CLEAR", "scratch")
	state := c.SameState()
	if !strings.Contains(state, `"n":99`) || !strings.Contains(state, "query big") {
		t.Fatalf("the state lacks the function's write or the query:\n%s", state)
	}
	// Every node has the library.
	for i, s := range c.Nodes {
		if got := s.Raw(t).Do("FUNCTION", "LIST"); !strings.Contains(got, "bump") {
			t.Errorf("node %d's FUNCTION LIST lacks the library: %q", i, got)
		}
	}
}

// TestClusterGroupCommit holds the pump's rule (cluster/journal.go): while
// a proposal is in flight, the commits of other clients queue and go to
// Raft together as one log entry, so that 40 clients writing at once cost
// Raft far fewer entries than writes (at least 8 commits an entry). Each write is still acknowledged,
// and every node ends with every record.
func TestClusterGroupCommit(t *testing.T) {
	t.Parallel()
	// A longer timeout than the others' 1 s: under -race, beside the other
	// tests on 2 CPUs, the burst once delayed heartbeats past 300ms (the
	// test clusters' timeout then) and the leader lost its leadership with
	// the writes in flight.
	c := StartCluster(t, 3, "--cluster-timeout", "2s")
	l := c.Leader()
	lc := redis.NewClient(&redis.Options{Addr: c.Nodes[l].Addr, MaxRetries: -1, PoolSize: 40})
	defer lc.Close()
	if err := lc.Do(ctx(t), "BUCKET.DEFINE", "g", `{"key":"id","schema":{"id":{"type":"number"}}}`).Err(); err != nil {
		t.Fatal(err)
	}
	before := infoFields(t, lc, "replication")
	const clients, each = 40, 25
	errs := make(chan error, clients)
	for w := 0; w < clients; w++ {
		go func() {
			for i := 0; i < each; i++ {
				if err := lc.Do(ctx(t), "B.INSERT", "g", fmt.Sprintf(`{"id":%d}`, w*each+i)).Err(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < clients; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	after := infoFields(t, lc, "replication")
	delta := func(name string) int {
		a, _ := strconv.Atoi(after[name])
		b, _ := strconv.Atoi(before[name])
		return a - b
	}
	commits, entries := delta("raft_commits_proposed"), delta("raft_entries_proposed")
	if commits != clients*each {
		t.Fatalf("%d commits proposed for %d writes", commits, clients*each)
	}
	// One proposal in flight: about half the clients' writes an entry (17
	// here); 64 in flight gave 6.
	if entries*8 > commits {
		t.Fatalf("%d writes from %d clients at once went to Raft as %d log entries: fewer than 8 commits an entry", commits, clients, entries)
	}
	t.Logf("%d commits in %d log entries", commits, entries)
	for i := range c.Nodes {
		cl := c.client(i)
		eventually(t, 10*time.Second, fmt.Sprintf("node %d to hold every record", i), func() bool {
			n, err := cl.Do(ctx(t), "B.COUNT", "g").Int()
			return err == nil && n == clients*each
		})
	}
}

func TestClusterEventsOnFollower(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	l, f := c.Leader(), c.Follower()
	lc := c.client(l)
	if err := lc.Do(ctx(t), "BUCKET.DEFINE", "users", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`).Err(); err != nil {
		t.Fatal(err)
	}
	sub := c.Nodes[f].Raw(t)
	if got := sub.Do("PSUBSCRIBE", "bucket.users.*"); !strings.Contains(got, "psubscribe") {
		t.Fatalf("PSUBSCRIBE: %q", got)
	}
	for _, args := range [][]any{
		{"B.INSERT", "users", `{"id":"a","n":1}`},
		{"B.UPDATE", "users", "a", `{"n":2}`},
		{"B.DELETE", "users", "a"},
	} {
		if err := lc.Do(ctx(t), args...).Err(); err != nil {
			t.Fatalf("%v: %v", args[0], err)
		}
	}
	for i, want := range []string{"bucket.users.inserted", "bucket.users.updated", "bucket.users.deleted"} {
		msg := sub.Read()
		if !strings.Contains(msg, want) || !strings.Contains(msg, `"seq":`+strconv.Itoa(i+1)) {
			t.Fatalf("event %d on the follower: %q, want %s with seq %d", i, msg, want, i+1)
		}
	}
	// Expiry is the leader's: its sweep's delete reaches the follower with
	// its reason.
	if err := lc.Do(ctx(t), "B.INSERT", "users", `{"id":"short","n":1}`, "PX", "50").Err(); err != nil {
		t.Fatal(err)
	}
	if msg := sub.Read(); !strings.Contains(msg, "bucket.users.inserted") {
		t.Fatalf("the insert's event on the follower: %q", msg)
	}
	if msg := sub.Read(); !strings.Contains(msg, "bucket.users.deleted") || !strings.Contains(msg, `"reason":"expired"`) || !strings.Contains(msg, `"seq":5`) {
		t.Fatalf("the expiry's event on the follower: %q", msg)
	}
}

func TestClusterFailover(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	l := c.Leader()
	fo := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: c.ID, SentinelAddrs: c.Addrs(), MaxRetries: -1})
	t.Cleanup(func() { fo.Close() })
	if err := fo.Do(ctx(t), "BUCKET.DEFINE", "kv", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}}}`).Err(); err != nil {
		t.Fatalf("through the failover client: %v", err)
	}
	acked := map[string]bool{}
	for i := 0; i < 20; i++ {
		id := "a" + strconv.Itoa(i)
		if err := fo.Do(ctx(t), "B.INSERT", "kv", `{"id":"`+id+`","v":1}`).Err(); err != nil {
			t.Fatalf("insert %s: %v", id, err)
		}
		acked[id] = true
	}
	old := c.Nodes[l].Addr
	start := time.Now()
	c.Kill(l)
	// The failover client finds the new leader (SENTINEL
	// get-master-addr-by-name, +switch-master) and writes go on.
	var took time.Duration
	eventually(t, 20*time.Second, "a write after the leader's kill", func() bool {
		if fo.Do(ctx(t), "B.INSERT", "kv", `{"id":"after","v":2}`).Err() != nil {
			return false
		}
		took = time.Since(start)
		return true
	})
	acked["after"] = true
	t.Logf("first acknowledged write %v after the leader's kill", took)
	nl := c.Leader()
	if c.Nodes[nl].Addr == old {
		t.Fatal("the killed node is still the leader")
	}
	addr, err := redis.NewSentinelClient(&redis.Options{Addr: c.Nodes[nl].Addr}).GetMasterAddrByName(ctx(t), c.ID).Result()
	if err != nil || strings.Join(addr, ":") != c.Nodes[nl].Addr {
		t.Fatalf("SENTINEL get-master-addr-by-name after the failover: %v %v, want %s", addr, err, c.Nodes[nl].Addr)
	}
	// The killed node comes back, catches up and every acknowledged write
	// is on every node.
	c.Restart(l)
	c.WaitMembers(3)
	state := c.SameState()
	for id := range acked {
		if !strings.Contains(state, `"id":"`+id+`"`) {
			t.Fatalf("acknowledged write %s lost:\n%s", id, state)
		}
	}
}

func TestClusterSnapshotCatchUp(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3, "--raft-snapshot-entries", "16")
	l := c.Leader()
	lc := c.client(l)
	if err := lc.Do(ctx(t), "BUCKET.DEFINE", "kv", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}},"indexes":["v"]}`).Err(); err != nil {
		t.Fatal(err)
	}
	f := c.Follower()
	behind := infoFields(t, c.client(f), "replication")["raft_applied_index"]
	c.Kill(f)
	for i := 0; i < 200; i++ {
		if err := lc.Do(ctx(t), "B.INSERT", "kv", fmt.Sprintf(`{"id":"k%d","v":%d}`, i, i%7)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := lc.Do(ctx(t), "SAVE").Err(); err != nil {
		t.Fatalf("SAVE (a Raft snapshot): %v", err)
	}
	// The leader's log no longer holds what the follower lacks: it
	// catches up from a snapshot.
	first, _ := strconv.Atoi(infoFields(t, lc, "replication")["raft_first_log_index"])
	if had, _ := strconv.Atoi(behind); first <= had+1 {
		t.Fatalf("the leader's log starts at %d, the follower had applied %d: no snapshot needed", first, had)
	}
	c.Restart(f)
	c.WaitMembers(3)
	c.SameState()
}

func TestClusterMinority(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	l := c.Leader()
	for _, args := range [][]any{
		{"BUCKET.DEFINE", "kv", `{"key":"id","schema":{"id":{"type":"string"}}}`},
		{"B.INSERT", "kv", `{"id":"x"}`},
	} {
		if err := c.client(l).Do(ctx(t), args...).Err(); err != nil {
			t.Fatalf("%v: %v", args[0], err)
		}
	}
	c.SameState()
	f := c.Follower()
	for i := range c.Nodes {
		if i != f {
			c.Kill(i)
		}
	}
	fc := c.Nodes[f].Raw(t)
	eventually(t, 10*time.Second, "CLUSTERDOWN on the minority", func() bool {
		return strings.HasPrefix(fc.Do("B.INSERT", "kv", `{"id":"y"}`), "-CLUSTERDOWN")
	})
	if got := fc.Do("B.GET", "kv", "x"); !strings.Contains(got, `"id":"x"`) {
		t.Fatalf("a read on the minority: %q", got)
	}
	if got := fc.Do("ROLE"); !strings.Contains(got, "slave") {
		t.Fatalf("ROLE on the minority: %q", got)
	}
}

func TestClusterReplies(t *testing.T) {
	t.Parallel()
	single := Start(t).Raw(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"CLUSTER.NODES"}, "-ERR this node is not replicated"},
		{[]string{"CLUSTER.ADD", "x"}, "-ERR wrong number of arguments for 'cluster.add' command"},
		{[]string{"SENTINEL", "masters"}, "-ERR this node is not replicated"},
		{[]string{"ROLE"}, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"},
		{[]string{"SENTINEL", "nope"}, "-ERR unknown subcommand 'nope'. Try SENTINEL HELP."},
	} {
		if got := single.Do(tc.args...); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v on a single node: %q, want %q", tc.args, got, tc.want)
		}
	}
	c := StartCluster(t, 3)
	l := c.Leader()
	lr := c.Nodes[l].Raw(t)
	fr := c.Nodes[c.Follower()].Raw(t)
	for _, tc := range []struct {
		conn *RawConn
		args []string
		want string
	}{
		{lr, []string{"SENTINEL", "get-master-addr-by-name", "other"}, "*-1\r\n"},
		{fr, []string{"SENTINEL", "get-master-addr-by-name", c.ID}, "*2\r\n$9\r\n127.0.0.1\r\n"},
		{fr, []string{"SENTINEL", "master", "other"}, "-ERR No such master with that name"},
		{fr, []string{"CLUSTER.ADD", "n9", "not-an-address"}, "-ERR raft-addr must be host:port"},
		{lr, []string{"CONFIG", "SET", "appendonly", "yes"}, "-ERR CONFIG SET failed"},
	} {
		if got := tc.conn.Do(tc.args...); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
	info := c.Nodes[l].Raw(t).Do("INFO", "replication")
	for _, want := range []string{"role:master", "connected_slaves:2", "slave0:ip=127.0.0.1", "cluster_id:" + c.ID, "raft_state:leader"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO replication on the leader lacks %q:\n%s", want, info)
		}
	}
	info = fr.Do("INFO", "replication")
	for _, want := range []string{"role:slave", "master_host:127.0.0.1", "master_link_status:up", "raft_state:follower"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO replication on a follower lacks %q:\n%s", want, info)
		}
	}
	// Strong reads on a follower are the leader's.
	before := infoFields(t, c.client(l), "commandstats")["cmdstat_b.count"]
	for _, tc := range [][2]string{{"CLIENT CONSISTENCY STRONG", "+OK\r\n"}, {"CLIENT CONSISTENCY", "$6\r\nstrong\r\n"}, {"B.COUNT nosuch", "-NOBUCKET"}, {"CLIENT CONSISTENCY bad", "-ERR CLIENT CONSISTENCY mode must be EVENTUAL or STRONG"}} {
		if got := fr.Do(strings.Fields(tc[0])...); !strings.HasPrefix(got, tc[1]) {
			t.Errorf("%s on a follower: %q, want %q", tc[0], got, tc[1])
		}
	}
	if after := infoFields(t, c.client(l), "commandstats")["cmdstat_b.count"]; after == before {
		t.Errorf("a strong B.COUNT on a follower did not run on the leader (its stats: %q)", after)
	}
	if got := lr.Do("CLIENT", "CONSISTENCY", "STRONG"); got != "+OK\r\n" {
		t.Errorf("CLIENT CONSISTENCY STRONG on the leader: %q", got)
	}
	if got := lr.Do("B.COUNT", "nosuch"); !strings.HasPrefix(got, "-NOBUCKET") {
		t.Errorf("a strong read on the leader: %q", got)
	}
	replicas := fr.Do("SENTINEL", "replicas", c.ID)
	if strings.Count(replicas, "flags") != 2 {
		t.Errorf("SENTINEL replicas: %q", replicas)
	}
	// Membership through a follower (forwarded): the other follower out.
	f := c.Follower()
	other := 3 - l - f
	id := "n" + strconv.Itoa(other+1)
	if got := fr.Do("CLUSTER.REMOVE", id); got != "+OK\r\n" {
		t.Fatalf("CLUSTER.REMOVE %s through a follower: %q", id, got)
	}
	if nodes := lr.Do("CLUSTER.NODES"); strings.Count(nodes, "voter") != 2 || strings.Contains(nodes, "$2\r\n"+id+"\r\n") {
		t.Errorf("CLUSTER.NODES after the removal of %s: %q", id, nodes)
	}
	if got := lr.Do("CLUSTER.REMOVE"); !strings.HasPrefix(got, "-ERR wrong number of arguments") {
		t.Errorf("CLUSTER.REMOVE without an id: %q", got)
	}
}

// clusterPyScript finds the leader through redis-py's Sentinel, writes
// through it and reads the write back through a replica, once it has it;
// argv: cluster-id host:port….
const clusterPyScript = `
import sys, time
from redis.sentinel import Sentinel
nodes = [(a.split(':')[0], int(a.split(':')[1])) for a in sys.argv[2:]]
s = Sentinel(nodes, socket_timeout=2)
print('%s:%d' % s.discover_master(sys.argv[1]))
print(len(s.discover_slaves(sys.argv[1])))
m = s.master_for(sys.argv[1], socket_timeout=2, decode_responses=True)
print(m.execute_command('B.INSERT', 'kv', '{"id":"py","v":1}'))
r = s.slave_for(sys.argv[1], socket_timeout=2, decode_responses=True)
for _ in range(200):
    got = r.execute_command('B.GET', 'kv', 'py')
    if got:
        break
    time.sleep(0.01)
print(got)
`

func TestClusterRedisPySentinel(t *testing.T) {
	t.Parallel()
	py := scPython(t)
	c := StartCluster(t, 3)
	l := c.Leader()
	if err := c.client(l).Do(ctx(t), "BUCKET.DEFINE", "kv", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}}}`).Err(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, append([]string{"-c", clusterPyScript, c.ID}, c.Addrs()...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != c.Nodes[l].Addr || lines[1] != "2" || !strings.HasPrefix(lines[2], `{"id":"py","v":1,"_version":1`) || lines[3] != lines[2] {
		t.Fatalf("redis-py through Sentinel: %q (leader %s)", lines, c.Nodes[l].Addr)
	}
}

// ioredisDir returns the directory where ioredis is installed for the
// tests (.ci/run: npm ci --prefix tests/clients/ioredis) and the node
// binary, or skips (fails where BUCKETD_REQUIRE_IOREDIS is set, as in CI).
func ioredisDir(t *testing.T) (dir, node string) {
	t.Helper()
	dir, _ = filepath.Abs(filepath.Join("clients", "ioredis"))
	node, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat(filepath.Join(dir, "node_modules", "ioredis")); err == nil {
			return dir, node
		}
	}
	if os.Getenv("BUCKETD_REQUIRE_IOREDIS") != "" {
		t.Fatalf("node with ioredis is required here (BUCKETD_REQUIRE_IOREDIS) but missing: %v (npm ci --prefix tests/clients/ioredis)", err)
	}
	t.Skipf("node with ioredis not installed (%v): npm ci --prefix tests/clients/ioredis", err)
	return "", ""
}

func TestClusterIoredisSentinel(t *testing.T) {
	t.Parallel()
	dir, node := ioredisDir(t)
	c := StartCluster(t, 3)
	l := c.Leader()
	if err := c.client(l).Do(ctx(t), "BUCKET.DEFINE", "kv", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}}}`).Err(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "sentinel.js"), c.ID}, c.Addrs()...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ioredis: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"id":"io","v":1,"_version":1`) || lines[1] != "master" {
		t.Fatalf("ioredis through Sentinel: %q", lines)
	}
}

// A replicated node's flags are checked at start: it exits with a clear
// error and status 1.
func TestClusterFlagErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--raft-addr", "127.0.0.1:0"}, "needs --node-id and --raft-addr"},
		{[]string{"--raft-addr", "127.0.0.1:0", "--node-id", strings.Repeat("n", 256)}, "--node-id is 256 bytes long: at most 255"},
		{[]string{"--raft-addr", "nowhere", "--node-id", "n1"}, "--raft-addr nowhere"},
		{[]string{"--cluster-timeout", "1ms"}, "a duration of 10ms or more"},
	} {
		cmd := exec.Command(binPath, append([]string{"--port", "0", "--dir", t.TempDir()}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), tc.want) {
			t.Errorf("bucketd %v: %v\n%s\nwant an exit with %q", tc.args, err, out, tc.want)
		}
	}
}
