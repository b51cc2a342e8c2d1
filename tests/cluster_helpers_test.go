package tests

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() {
	// go-redis's failover client logs every sentinel it asks; the tests
	// check what matters.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Cluster is a replicated cluster of bucketd processes on loopback, each
// with a fixed client port and Raft port (kept across restarts) and a data
// directory of its own.
type Cluster struct {
	t     *testing.T
	ID    string
	Nodes []*Server // nil while a node is stopped
	args  [][]string
	dirs  []string
}

// stablePorts hands out the ports of cluster nodes: below the system's
// range of ephemeral ports (32768–60999 on Linux), each once per test
// process. A node restarts on its ports, and its peers keep dialling its
// Raft address meanwhile; with ports from bind(":0"), another test's node
// or any connection's source port could take them while it was down
// (TestClusterSnapshotCatchUp's restart failed with "address already in
// use", and the cluster that took the port got the first cluster's Raft
// traffic and never settled).
var stablePorts struct {
	sync.Mutex
	next int
}

// stablePort returns a port from stablePorts that is free now.
func stablePort(t testing.TB) string {
	t.Helper()
	stablePorts.Lock()
	defer stablePorts.Unlock()
	if stablePorts.next == 0 {
		// Two test processes at once (go test -count, a load repro) start
		// apart.
		stablePorts.next = 20000 + os.Getpid()%8000
	}
	for tries := 0; tries < 12000; tries++ {
		p := stablePorts.next
		if stablePorts.next++; stablePorts.next >= 32768 {
			stablePorts.next = 20000
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			l.Close()
			return strconv.Itoa(p)
		}
	}
	t.Fatal("no free port between 20000 and 32767")
	return ""
}

// StartCluster starts n nodes: the first bootstraps the cluster, the
// others join through it. It returns once every node is a voter with its
// client address on record and sees the leader.
func StartCluster(t *testing.T, n int, extra ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, ID: "c" + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)}
	for i := 0; i < n; i++ {
		// 1 s: at 300 ms, nodes of a busy machine under -race missed
		// heartbeats and leaders changed in the middle of tests' writes.
		// extra may set another.
		args := []string{"--cluster-id", c.ID, "--node-id", "n" + strconv.Itoa(i+1),
			"--port", stablePort(t), "--raft-addr", "127.0.0.1:" + stablePort(t), "--cluster-timeout", "1s"}
		if i == 0 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", c.Nodes[0].Addr)
		}
		args = append(args, extra...)
		c.dirs = append(c.dirs, t.TempDir())
		s := StartIn(t, c.dirs[i], args...)
		c.Nodes = append(c.Nodes, s)
		c.args = append(c.args, args) // the same ports for restarts
		if i == 0 {
			c.Leader()
		}
	}
	c.WaitMembers(n)
	return c
}

// WaitMembers waits until the leader lists want voters, each with its
// client address, and every running node sees that leader.
func (c *Cluster) WaitMembers(want int) {
	c.t.Helper()
	eventually(c.t, 20*time.Second, strconv.Itoa(want)+" members", func() bool {
		l := c.tryLeader()
		if l < 0 {
			return false
		}
		nodes := c.Nodes[l].Raw(c.t).Do("CLUSTER.NODES")
		if strings.Count(nodes, "voter") != want {
			return false
		}
		for _, s := range c.Nodes {
			if s == nil {
				continue
			}
			role := s.Raw(c.t).Do("ROLE")
			if !strings.Contains(role, "master") && !strings.Contains(role, c.Nodes[l].Addr[strings.LastIndex(c.Nodes[l].Addr, ":")+1:]) {
				return false
			}
		}
		for _, s := range c.Nodes {
			if s == nil {
				continue
			}
			seen := s.Raw(c.t).Do("CLUSTER.NODES") // every node knows every address
			for _, o := range c.Nodes {
				if o != nil && !strings.Contains(seen, o.Addr) {
					return false
				}
			}
		}
		return true
	})
}

// tryLeader returns the index of the running node that says it is the
// master and can write, or -1.
func (c *Cluster) tryLeader() int {
	for i, s := range c.Nodes {
		if s == nil || s.Exited() {
			continue
		}
		nc, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			continue
		}
		nc.SetDeadline(time.Now().Add(2 * time.Second))
		rc := &RawConn{t: c.t, Conn: nc, r: bufio.NewReader(nc)}
		_, err = io.WriteString(nc, "*1\r\n$4\r\nROLE\r\n")
		var role string
		if err == nil {
			role, err = rc.ReadErr(2 * time.Second)
		}
		nc.Close()
		if err == nil && strings.HasPrefix(role, "*3\r\n$6\r\nmaster") {
			return i
		}
	}
	return -1
}

// Leader waits for a leader and returns its index.
func (c *Cluster) Leader() int {
	c.t.Helper()
	l := -1
	eventually(c.t, 20*time.Second, "a leader", func() bool { l = c.tryLeader(); return l >= 0 })
	return l
}

// Follower returns the index of a running node that is not the leader.
func (c *Cluster) Follower() int {
	l := c.Leader()
	for i, s := range c.Nodes {
		if i != l && s != nil {
			return i
		}
	}
	c.t.Fatal("no follower running")
	return -1
}

// Kill kills node i (SIGKILL).
func (c *Cluster) Kill(i int) {
	c.Nodes[i].Kill()
	c.Nodes[i] = nil
}

// Restart starts node i again over its data directory, with its ports.
func (c *Cluster) Restart(i int) *Server {
	c.t.Helper()
	c.Nodes[i] = StartIn(c.t, c.dirs[i], c.args[i]...)
	return c.Nodes[i]
}

// Addrs returns the running nodes' client addresses.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range c.Nodes {
		if s != nil {
			out = append(out, s.Addr)
		}
	}
	return out
}

// SameState waits until every running node's state (dump) is the
// leader's.
func (c *Cluster) SameState() string {
	c.t.Helper()
	l := c.Leader()
	var want, got string
	deadline := time.Now().Add(20 * time.Second)
	for {
		want = dump(c.t, c.client(l))
		same := true
		for i, s := range c.Nodes {
			if s == nil || i == l {
				continue
			}
			if got = dump(c.t, c.client(i)); got != want {
				same = false
				break
			}
		}
		if same {
			// No follower skipped a change of the leader's as held
			// already: that would mean their states had parted.
			for i, s := range c.Nodes {
				if s != nil && !strings.Contains(s.Raw(c.t).Do("INFO", "replication"), "raft_changes_skipped:0\r\n") {
					c.t.Errorf("node %d skipped replicated changes:\n%s", i, s.Raw(c.t).Do("INFO", "replication"))
				}
			}
			return want
		}
		if time.Now().After(deadline) {
			sameState(c.t, "a follower's state", want, got)
			return want
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client returns a go-redis client of node i.
func (c *Cluster) client(i int) *redis.Client { return c.Nodes[i].Client(c.t, 2) }
