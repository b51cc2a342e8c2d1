package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"

	"bucketd/engine"
	"bucketd/snapshot"
)

// Target is the replicated state machine: the store with the registries
// of queries and functions, as the command layer holds them.
type Target interface {
	snapshot.State
	// Decoder returns a record decoder for the store (the applying
	// goroutine's own).
	Decoder() *engine.RecordDecoder
	// Capture takes an image of the whole state, calling during while no
	// write can commit; write writes the image later (snapshot.WriteImage),
	// from another goroutine, and release ends the image's hold on the
	// buckets once it is written or not wanted (engine.BucketImage).
	Capture(during func()) (write func(w io.Writer) error, release func())
	// Reset empties the state: no bucket, query or function library.
	Reset()
	// Restore loads an image that Capture's write wrote into the empty
	// state.
	Restore(data []byte) error
}

// Options configure a Node.
type Options struct {
	// ClusterID names the cluster (SENTINEL's master name).
	ClusterID string
	// NodeID names this node; unique in the cluster, stable across
	// restarts.
	NodeID string
	// RaftAddr is the host:port the node's Raft transport listens on and
	// that the others reach it at.
	RaftAddr string
	// ClientAddr is the host:port clients reach the node's RESP server at.
	ClientAddr string
	// Dir holds the Raft log, stable store and snapshots (Dir/raft).
	Dir string
	// Bootstrap makes the node the first member of a new cluster (it is
	// ignored when the directory holds a cluster already).
	Bootstrap bool
	// Target is the state the node replicates.
	Target Target
	// Log receives structured logs.
	Log zerolog.Logger
	// SnapshotThreshold is how many log entries make a snapshot due (0:
	// 8192).
	SnapshotThreshold uint64
	// Timeout is Raft's heartbeat and election timeout (0: 500ms).
	Timeout time.Duration
	// OnLeader is called on every node when it sees a new leader, with
	// the old and new leaders' client addresses ("" when unknown): the
	// Sentinel +switch-master message.
	OnLeader func(oldAddr, newAddr string)
}

// DownError is a write refused because the cluster cannot take it here
// now; its text is the RESP error, CLUSTERDOWN code first.
type DownError struct{ Msg string }

// Error implements error.
func (e *DownError) Error() string { return "CLUSTERDOWN " + e.Msg }

// maxNodeID is the longest node id: a log entry's header gives its
// length in one byte (appendHeader).
const maxNodeID = 255

// logCacheEntries is how many of the last log entries the cache keeps.
const logCacheEntries = 512

// ErrNotLeader is the journal's refusal on a node that is not the leader:
// the commit is rolled back and the command fails with it.
var ErrNotLeader = &DownError{Msg: "this node is not the leader: the write was not applied"}

// Node is one member of a replicated cluster.
type Node struct {
	opts  Options
	log   zerolog.Logger
	rp    atomic.Pointer[raft.Raft] // the Raft instance: a rebuild replaces it
	logs  raft.LogStore             // the log, behind a cache of its last entries
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore // Raft's stable store (term, vote)
	wal   *wal.WAL              // the log (logstore.go)
	snaps *raft.FileSnapshotStore
	fsm   *fsm
	rconf *raft.Config
	hl    hclog.Logger
	epoch atomic.Uint64 // entries this node proposes carry it (see doc.go)
	// applied is the index of the last command entry applied, set before
	// the replies waiting on it are woken (Raft's own count follows later).
	applied atomic.Uint64
	closed  atomic.Bool
	// readyTerm is the term in which the node, leader, has applied every
	// entry of the terms before (the barrier after its election), so that
	// writes may run against its state; 0: none. Writable compares it
	// with the current term, so that no stale "ready" outlives a term.
	readyTerm atomic.Uint64

	// mu guards the queue of entries and the marks below. Lock order:
	// engine locks, then mu.
	mu         sync.Mutex
	cond       *sync.Cond
	buf        []byte // entries queued and not proposed yet
	queued     int64  // the local mark of the last entry queued
	done       int64  // the last mark applied (committed)
	failedUpTo int64  // marks up to this one failed (leadership lost)
	failErr    error
	kick       chan struct{}
	inflight   chan proposal
	slots      chan struct{} // proposals in flight (pump, settle)
	proposals  atomic.Int64  // log entries proposed (pump)
	proposed   atomic.Int64  // the mark of the last commit proposed
	rebuilding bool

	members membersMap // node id -> client address, replicated

	peersMu    sync.Mutex
	down       map[string]bool // followers whose heartbeats fail (seen by the leader)
	lastLeader string          // the last leader seen (its id)

	rebuildMu sync.Mutex    // held by a rebuild, and by Close
	watchDone chan struct{} // closed to stop the watch of the Raft instance in force

	stop chan struct{}
	wg   sync.WaitGroup
}

// proposal is an entry handed to Raft, with the mark of its last commit.
type proposal struct {
	f     raft.ApplyFuture
	last  int64
	epoch uint64
}

// Open starts a node: it opens (or creates) the Raft state under
// opts.Dir/raft, restores the last snapshot and, with Bootstrap on a new
// directory, makes the node a cluster of one. A node that is not
// bootstrapped waits to be added by a member (Join).
func Open(opts Options) (*Node, error) {
	if opts.NodeID == "" || opts.RaftAddr == "" {
		return nil, errors.New("a replicated node needs --node-id and --raft-addr")
	}
	if len(opts.NodeID) > maxNodeID {
		return nil, fmt.Errorf("--node-id is %d bytes long: at most %d", len(opts.NodeID), maxNodeID)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	n := &Node{opts: opts, log: opts.Log.With().Str("node", opts.NodeID).Logger(), kick: make(chan struct{}, 1),
		inflight: make(chan proposal, maxInflight), slots: make(chan struct{}, maxInflight), stop: make(chan struct{})}
	n.cond = sync.NewCond(&n.mu)
	n.members.m = map[string]string{}
	n.newEpoch()
	dir := filepath.Join(opts.Dir, "raft")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: n.log})
	var err error
	// Raft's stable store, and the log of older versions (logstore.go).
	// The freelist is not written at each commit (BoltDB rebuilds it at
	// open), as Consul runs it: a commit writes fewer pages.
	n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
	if err != nil {
		return nil, fmt.Errorf("raft store %s: %w", dir, err)
	}
	n.wal, err = openLog(dir, n.store, hl)
	if err != nil {
		n.store.Close()
		return nil, err
	}
	// The entries being replicated are read from memory, not decoded from
	// the log again for each follower.
	logs, err := raft.NewLogCache(logCacheEntries, n.wal)
	if err != nil {
		n.closeStores()
		return nil, err
	}
	n.logs = logs
	n.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, 2, hl)
	if err != nil {
		n.closeStores()
		return nil, err
	}
	addr, err := net.ResolveTCPAddr("tcp", opts.RaftAddr)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("--raft-addr %s: %w", opts.RaftAddr, err)
	}
	n.hl = hl
	n.trans, err = newTransport(addr.String(), hl)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("raft transport on %s: %w", opts.RaftAddr, err)
	}
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(opts.NodeID)
	c.Logger = hl
	c.HeartbeatTimeout = opts.Timeout
	c.ElectionTimeout = opts.Timeout
	c.LeaderLeaseTimeout = opts.Timeout / 2
	c.CommitTimeout = 5 * time.Millisecond
	if opts.SnapshotThreshold > 0 {
		c.SnapshotThreshold = opts.SnapshotThreshold
		c.TrailingLogs = opts.SnapshotThreshold
		c.SnapshotInterval = time.Second
	}
	n.rconf = c
	n.fsm = &fsm{n: n, dec: opts.Target.Decoder()}
	if opts.Bootstrap {
		has, err := raft.HasExistingState(n.logs, n.store, n.snaps)
		if err != nil {
			n.Close()
			return nil, err
		}
		if !has {
			cfg := raft.Configuration{Servers: []raft.Server{{ID: c.LocalID, Address: n.trans.LocalAddr()}}}
			if err := raft.BootstrapCluster(c, n.logs, n.store, n.snaps, n.trans, cfg); err != nil {
				n.Close()
				return nil, err
			}
		}
	}
	r, err := raft.NewRaft(c, n.fsm, n.logs, n.store, n.snaps, n.trans)
	if err != nil {
		n.Close()
		return nil, err
	}
	n.rp.Store(r)
	n.watchDone = make(chan struct{})
	n.wg.Add(3)
	go n.pump()
	go n.settle()
	go n.watchLeadership(r, n.watchDone)
	return n, nil
}

// raft returns the Raft instance in force.
func (n *Node) raft() *raft.Raft { return n.rp.Load() }

// newTransport listens for Raft on addr (port 0: one is picked, and the
// transport gives the address it listens on).
func newTransport(addr string, hl hclog.Logger) (*raft.NetworkTransport, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	var advertise net.Addr = tcp
	if tcp.Port == 0 {
		advertise = nil
	}
	// MaxRPCsInFlight 1: no pipelined replication. hashicorp/raft v1.7.2's
	// pipeline can deadlock when a follower refuses an append (its decoder
	// returns, the sender parks on a channel nobody reads, and the pipeline
	// it would close is its own deferred Close): replication to that
	// follower stops, and Raft's shutdown never ends. A rebuild hung on it
	// here (a goroutine dump: netPipeline.AppendEntries parked, the
	// decoder parked on doneCh); grafana/pyroscope#5518 turned it off for
	// the same reason. Our entries are large and few (group commit), so the
	// pipeline bought little: three nodes on 2 cores, 2 pairs, writes/s
	// without it p1 6.7k/6.6k, p16 47k/44k; with it 7.4k/6.0k, 51k/42k.
	return raft.NewTCPTransportWithConfig(addr, advertise, &raft.NetworkTransportConfig{
		MaxPool: 8, Timeout: 10 * time.Second, Logger: hl, MaxRPCsInFlight: 1,
	})
}

// newEpoch picks a new random epoch for the entries this node proposes.
func (n *Node) newEpoch() {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n.epoch.Store(binary.LittleEndian.Uint64(b[:]) | 1)
}

// Close stops the node: Raft shuts down and its files are closed. The
// clients waiting on entries get errors.
func (n *Node) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	close(n.stop)
	var err error
	n.mu.Lock()
	n.failedUpTo, n.failErr = n.queued, &DownError{Msg: "the node is shutting down"}
	n.cond.Broadcast()
	n.mu.Unlock()
	// No rebuild under way, none after; but a rebuild that hangs does not
	// hold the process's shutdown for ever.
	locked := false
	for deadline := time.Now().Add(15 * time.Second); !locked && time.Now().Before(deadline); {
		if locked = n.rebuildMu.TryLock(); !locked {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !locked {
		n.log.Error().Msg("a rebuild is still under way after 15 s: shutting down without it")
	}
	if r := n.raft(); r != nil {
		err = r.Shutdown().Error()
	}
	if locked {
		n.rebuildMu.Unlock()
	}
	n.wg.Wait()
	if n.trans != nil {
		n.trans.Close()
	}
	n.closeStores()
	return err
}

// closeStores closes the Raft log and stable store.
func (n *Node) closeStores() {
	if n.wal != nil {
		n.wal.Close()
	}
	if n.store != nil {
		n.store.Close()
	}
}

// ID returns the node's id.
func (n *Node) ID() string { return n.opts.NodeID }

// ClusterID returns the cluster's id.
func (n *Node) ClusterID() string { return n.opts.ClusterID }

// RaftAddr returns the address the node's Raft transport listens on.
func (n *Node) RaftAddr() string { return string(n.trans.LocalAddr()) }

// ClientAddr returns the node's own client address.
func (n *Node) ClientAddr() string { return n.opts.ClientAddr }

// IsLeader reports whether the node is the leader now.
func (n *Node) IsLeader() bool { return n.raft().State() == raft.Leader }

// Writable reports whether writes may run here: the node is the leader
// and has applied what the leaders before it committed.
func (n *Node) Writable() bool {
	r := n.raft()
	t := n.readyTerm.Load()
	return t != 0 && r.State() == raft.Leader && r.CurrentTerm() == t
}

// WaitWritable waits, at most max, until the node is Writable, while it
// is the leader: a leader just elected first applies what the leaders
// before it committed. It reports whether the node is Writable.
func (n *Node) WaitWritable(max time.Duration) bool {
	deadline := time.Now().Add(max)
	for !n.Writable() {
		if !n.IsLeader() || time.Now().After(deadline) || n.closed.Load() {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// State returns the node's Raft state: Leader, Follower, Candidate or
// Shutdown.
func (n *Node) State() string { return n.raft().State().String() }

// Leader returns the leader's id and client address ("" when there is no
// leader, or its address is not known yet).
func (n *Node) Leader() (id, clientAddr string) {
	_, lid := n.raft().LeaderWithID()
	if lid == "" {
		return "", ""
	}
	return string(lid), n.members.get(string(lid))
}

// Member is one node of the cluster's configuration.
type Member struct {
	ID         string
	RaftAddr   string
	ClientAddr string // "" until the node has told it
	Voter      bool
	Leader     bool
	// Down: the leader's heartbeats to it fail (known on the leader only).
	Down bool
}

// setDown records whether a follower's heartbeats fail.
func (n *Node) setDown(id string, down bool) {
	n.peersMu.Lock()
	if n.down == nil {
		n.down = map[string]bool{}
	}
	n.down[id] = down
	n.peersMu.Unlock()
}

// leaderChanged tells OnLeader of a new leader (id "": none now).
func (n *Node) leaderChanged(id string) {
	n.peersMu.Lock()
	old := n.lastLeader
	if id == "" || id == old {
		n.peersMu.Unlock()
		return
	}
	n.lastLeader = id
	n.down = nil // the new leader's view starts afresh
	n.peersMu.Unlock()
	if n.opts.OnLeader == nil {
		return
	}
	oldAddr := ""
	if old != "" {
		oldAddr = n.members.get(old)
	}
	go func() {
		newAddr := n.members.get(id)
		// A new leader's address may come with its first entry: wait a
		// little for it.
		for i := 0; i < 100 && newAddr == "" && !n.closed.Load(); i++ {
			time.Sleep(20 * time.Millisecond)
			newAddr = n.members.get(id)
		}
		n.opts.OnLeader(oldAddr, newAddr)
	}()
}

// Members returns the cluster's configuration, sorted by id.
func (n *Node) Members() ([]Member, error) {
	f := n.raft().GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, lid := n.raft().LeaderWithID()
	var out []Member
	for _, s := range f.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), RaftAddr: string(s.Address), ClientAddr: n.members.get(string(s.ID)),
			Voter: s.Suffrage == raft.Voter, Leader: s.ID == lid})
	}
	n.peersMu.Lock()
	for i := range out {
		out[i].Down = n.down[out[i].ID] && n.IsLeader()
	}
	n.peersMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Knows reports whether the cluster's configuration has the node id and
// the members' addresses have clientAddr for it.
func (n *Node) Knows(id, clientAddr string) bool {
	if n.members.get(id) != clientAddr {
		return false
	}
	f := n.raft().GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// Closed reports whether Close was called.
func (n *Node) Closed() bool { return n.closed.Load() }

// WaitApplied waits until the node has applied the log up to index, at
// most for max; it reports whether it has.
func (n *Node) WaitApplied(index uint64, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for n.AppliedIndex() < index {
		if time.Now().After(deadline) || n.closed.Load() {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// AppliedIndex returns the index of the last command entry applied here
// (or of the snapshot last restored). Raft's own AppliedIndex counts the
// entries handed to the state machine, which may not be applied yet.
func (n *Node) AppliedIndex() uint64 { return n.applied.Load() }

// FirstIndex returns the index of the first entry the log still holds
// (the entries before it are in the snapshot).
func (n *Node) FirstIndex() uint64 {
	i, _ := n.logs.FirstIndex()
	return i
}

// LastIndex returns the index of the last entry of the node's log.
func (n *Node) LastIndex() uint64 { return n.raft().LastIndex() }

// Stats returns Raft's own figures (INFO replication shows some).
func (n *Node) Stats() map[string]string { return n.raft().Stats() }

// Add makes a node a voting member (CLUSTER.ADD), and records its client
// address. It must run on the leader.
func (n *Node) Add(id, raftAddr, clientAddr string) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	if err := n.raft().AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, 10*time.Second).Error(); err != nil {
		return err
	}
	if clientAddr != "" {
		return n.proposeMember(id, clientAddr)
	}
	return nil
}

// Remove takes a node out of the cluster (CLUSTER.REMOVE). It must run on
// the leader.
func (n *Node) Remove(id string) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	return n.raft().RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error()
}

// VerifyLeader confirms, with a round to a majority, that the node is
// still the leader (a strong read's check).
func (n *Node) VerifyLeader() error { return n.raft().VerifyLeader().Error() }

// Barrier waits until every entry committed before it is applied here.
func (n *Node) Barrier(timeout time.Duration) error { return n.raft().Barrier(timeout).Error() }

// NothingToSnapshot reports whether err is Snapshot's "no entry since the
// last snapshot", which callers take as success.
func NothingToSnapshot(err error) bool { return errors.Is(err, raft.ErrNothingNewToSnapshot) }

// Snapshot makes Raft take a snapshot now (SAVE, BGSAVE on a replicated
// node).
func (n *Node) Snapshot() error { return n.raft().Snapshot().Error() }

// watchLeadership follows the node's leadership: a new leader records its
// client address for the others (so that they forward to it), and a
// leader that loses its leadership with entries in flight rebuilds.
func (n *Node) watchLeadership(r *raft.Raft, done chan struct{}) {
	defer n.wg.Done()
	ch := r.LeaderCh()
	obs := make(chan raft.Observation, 64)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	r.RegisterObserver(observer)
	defer r.DeregisterObserver(observer)
	for {
		select {
		case <-n.stop:
			return
		case <-done:
			return
		case o := <-obs:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				n.leaderChanged(string(d.LeaderID))
			case raft.FailedHeartbeatObservation:
				n.setDown(string(d.PeerID), true)
			case raft.ResumedHeartbeatObservation:
				n.setDown(string(d.PeerID), false)
			}
		case leader := <-ch:
			if leader {
				n.log.Info().Msg("became the leader")
				term := r.CurrentTerm()
				go func() {
					// The barrier makes every earlier entry applied here
					// before the new leader serves a write that reads them.
					if err := r.Barrier(10 * time.Second).Error(); err != nil {
						n.log.Warn().Err(err).Msg("barrier after the election failed")
						return
					}
					if r.State() == raft.Leader && r.CurrentTerm() == term && n.raft() == r {
						n.readyTerm.Store(term)
					}
					if err := n.proposeMember(n.opts.NodeID, n.opts.ClientAddr); err != nil {
						n.log.Warn().Err(err).Msg("cannot record this node's client address")
					}
				}()
			} else {
				n.log.Info().Msg("lost the leadership")
			}
		}
	}
}
