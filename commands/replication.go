package commands

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"bucketd/cluster"
	"bucketd/engine"
	"bucketd/snapshot"
)

// Replication (docs/replication.md): a node started with --raft-addr is a
// member of a Raft cluster (package cluster). The leader runs the writes;
// the followers apply the leader's commits through replTarget and forward
// the writes they are sent (forward.go).

// replTarget is the state the cluster replicates: the store, the queries
// and the function libraries (cluster.Target).
type replTarget struct{ s *Server }

func (t replTarget) Changes(c []engine.Replicated) error { return t.s.store.ApplyReplicated(c) }

func (t replTarget) Define(name string, def []byte, altered bool) error {
	if err := t.s.store.RestoreDefine(name, def); err != nil {
		return err
	}
	t.s.queries.BucketChanged(name)
	return nil
}

func (t replTarget) Drop(name string) error {
	if t.s.store.DropReplicated(name) {
		t.s.queries.BucketDropped(name)
		t.s.tracking.Dropped(name)
	}
	return nil
}

func (t replTarget) Query(name string, def []byte) error { return t.s.queries.Restore(name, def) }

func (t replTarget) Functions(payload []byte) error {
	t.s.fnMu.Lock()
	defer t.s.fnMu.Unlock()
	if err := t.s.FunctionPersistence().Restore(payload); err != nil {
		return err
	}
	t.s.queries.FunctionsChanged()
	return nil
}

func (t replTarget) Decoder() *engine.RecordDecoder { return t.s.store.NewRecordDecoder() }

func (t replTarget) Capture(during func()) (func(w io.Writer) error, func()) {
	var queries []snapshot.NamedDef
	var functions []byte
	qp, fp := t.s.QueryPersistence(), t.s.FunctionPersistence()
	images := t.s.store.CaptureAll(func() {
		during()
		queries = qp.List()
		functions = fp.Dump()
	})
	now := t.s.store.Now()
	write := func(w io.Writer) error {
		_, err := snapshot.WriteImage(w, images, queries, functions, now)
		return err
	}
	return write, func() { engine.ReleaseImages(images) }
}

func (t replTarget) Reset() {
	// The skips counted so far were against the state thrown away here: a
	// deposed leader applies the new leader's first entries over its own
	// uncommitted writes until its rebuild (cluster/fsm.go) empties it.
	t.s.store.ResetReplicatedSkipped()
	for _, name := range t.s.store.List() {
		t.Drop(name)
	}
	for _, d := range t.s.queries.Definitions() {
		t.s.queries.Restore(d.Name, nil)
	}
	t.s.fnMu.Lock()
	t.s.FunctionPersistence().Restore(nil)
	t.s.fnMu.Unlock()
}

func (t replTarget) Restore(data []byte) error {
	return snapshot.LoadImage(t.s.store, t.s.QueryPersistence(), t.s.FunctionPersistence(), data, t.s.log, t.s.Config().LoadHugePages)
}

// StartCluster makes the server a replicated node as its configuration
// says (--raft-addr and the others), reachable by clients at clientAddr;
// with --join it asks that member to add it, in the background, until one
// does. The store's journal is then the cluster's log: call it instead of
// opening an append-only file.
func (s *Server) StartCluster(clientAddr string) error {
	cfg := s.Config()
	node, err := cluster.Open(cluster.Options{
		ClusterID: cfg.ClusterID, NodeID: cfg.NodeID, RaftAddr: cfg.RaftAddr, ClientAddr: clientAddr,
		Dir: cfg.Dir, Bootstrap: cfg.Bootstrap, Target: replTarget{s}, Log: s.log,
		SnapshotThreshold: uint64(cfg.RaftSnapshotEvery), Timeout: cfg.ClusterTimeout,
		OnLeader: func(oldAddr, newAddr string) { s.switchMaster(cfg.ClusterID, oldAddr, newAddr) },
	})
	if err != nil {
		return err
	}
	s.cluster = node
	s.store.SetJournal(node)
	go s.joinLoop(cfg.Join, clientAddr)
	return nil
}

// Cluster returns the replicated node, nil on a single node.
func (s *Server) Cluster() *cluster.Node { return s.cluster }

// joinLoop makes this node a member with its client address on record:
// it asks the leader (or, before one is known, the member at join) to add
// it (CLUSTER.ADD, which a follower forwards to the leader), until the
// cluster's configuration has it and the members' addresses have this
// one. A node restarted on another client port is so found again.
func (s *Server) joinLoop(join, clientAddr string) {
	cfg := s.Config()
	n := s.cluster
	for attempt := 0; !n.Closed(); attempt++ {
		if n.Knows(cfg.NodeID, clientAddr) {
			if attempt > 0 {
				s.log.Info().Msg("in the cluster, client address on record")
			}
			return
		}
		var err error
		switch _, leader := n.Leader(); {
		case n.Writable():
			err = n.Add(cfg.NodeID, n.RaftAddr(), clientAddr)
		case leader != "":
			err = askJoin(leader, cfg, n.RaftAddr(), clientAddr)
		case join != "":
			err = askJoin(join, cfg, n.RaftAddr(), clientAddr)
		default:
			err = errors.New("no leader known yet")
		}
		if err != nil && attempt%20 == 19 {
			s.log.Warn().Err(err).Str("join", join).Msg("not in the cluster yet; retrying")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// askJoin sends CLUSTER.ADD for this node to the member at addr.
func askJoin(addr string, cfg Config, raftAddr, clientAddr string) error {
	up, err := dialUpstream(addr, 2, cfg.RequirePass)
	if err != nil {
		return err
	}
	defer up.close()
	up.nc.SetDeadline(time.Now().Add(15 * time.Second))
	reply, err := up.do([][]byte{[]byte("CLUSTER.ADD"), []byte(cfg.NodeID), []byte(raftAddr), []byte(clientAddr)})
	if err != nil {
		return err
	}
	if len(reply) > 0 && reply[0] == '-' {
		return errors.New(strings.TrimSpace(string(reply[1:])))
	}
	return nil
}

func replicationCommands() []*Command {
	const g = "cluster"
	return []*Command{
		{Name: "cluster.nodes", Arity: 1, Flags: FlagNoStore, Group: g, Summary: "Lists the cluster's members: id, Raft address, client address, role, voter.", Run: cmdClusterNodes},
		{Name: "cluster.add", Arity: -3, Flags: FlagNoStore | FlagAdmin | FlagNoMulti | FlagLeader, Group: g, Syntax: "node-id raft-addr [client-addr]", Summary: "Adds a node to the cluster as a voter (run on the leader; a follower forwards it).", Run: cmdClusterAdd},
		{Name: "cluster.remove", Arity: 2, Flags: FlagNoStore | FlagAdmin | FlagNoMulti | FlagLeader, Group: g, Syntax: "node-id", Summary: "Removes a node from the cluster (run on the leader; a follower forwards it).", Run: cmdClusterRemove},
		{Name: "cluster.index", Arity: 1, Flags: FlagNoStore | FlagFast, Group: g, Summary: "Returns the index of the last log entry applied on this node, once this connection's writes are.", Run: cmdClusterIndex},
		sentinelCommand(),
		{Name: "role", Arity: 1, Flags: FlagNoStore | FlagFast, Group: "server", Since: "2.8.12", Summary: "Returns the node's replication role, as Redis's ROLE does.", Run: cmdRole},
	}
}

// notClustered is the error of a cluster command on a single node.
const notClustered = "ERR this node is not replicated (start it with --raft-addr: docs/replication.md)"

func cmdClusterNodes(c *Ctx) {
	n := c.S.cluster
	if n == nil {
		c.W.Error(notClustered)
		return
	}
	members, err := n.Members()
	if err != nil {
		c.ErrMsg(err.Error())
		return
	}
	c.W.Array(len(members))
	for _, m := range members {
		role := "follower"
		if m.Leader {
			role = "leader"
		}
		voter := "voter"
		if !m.Voter {
			voter = "nonvoter"
		}
		c.W.Array(5)
		c.W.BulkString(m.ID)
		c.W.BulkString(m.RaftAddr)
		c.W.BulkString(m.ClientAddr)
		c.W.BulkString(role)
		c.W.BulkString(voter)
	}
}

func cmdClusterAdd(c *Ctx) {
	n := c.S.cluster
	if n == nil {
		c.W.Error(notClustered)
		return
	}
	if len(c.Args) > 4 {
		c.W.Error("ERR wrong number of arguments for 'cluster.add' command")
		return
	}
	client := ""
	if len(c.Args) == 4 {
		client = c.Arg(3)
	}
	if _, _, err := net.SplitHostPort(c.Arg(2)); err != nil {
		c.ErrMsg("raft-addr must be host:port")
		return
	}
	if err := n.Add(c.Arg(1), c.Arg(2), client); err != nil {
		c.Err(err)
		return
	}
	c.W.OK()
}

func cmdClusterRemove(c *Ctx) {
	n := c.S.cluster
	if n == nil {
		c.W.Error(notClustered)
		return
	}
	if err := n.Remove(c.Arg(1)); err != nil {
		c.Err(err)
		return
	}
	c.W.OK()
}

func cmdClusterIndex(c *Ctx) {
	if c.S.cluster == nil {
		c.W.Int(0)
		return
	}
	// After this connection's writes are committed: pipelined behind a
	// write (forward.go), it gives the index that covers it.
	c.Sess.hold.release()
	c.S.waitWritten(c.Sess)
	c.W.Int(int64(c.S.cluster.AppliedIndex()))
}

// cmdRole is ROLE, as Redis answers it: ["master", offset, [[host, port,
// offset] …]] on the leader (and on a single node), ["slave", host, port,
// state, offset] on a follower; the offset is the applied log index.
func cmdRole(c *Ctx) {
	n := c.S.cluster
	if n == nil {
		c.W.Array(3)
		c.W.BulkString("master")
		c.W.Int(0)
		c.W.Array(0)
		return
	}
	offset := int64(n.AppliedIndex())
	if n.IsLeader() {
		members, _ := n.Members()
		var others []cluster.Member
		for _, m := range members {
			if m.ID != n.ID() {
				others = append(others, m)
			}
		}
		c.W.Array(3)
		c.W.BulkString("master")
		c.W.Int(offset)
		c.W.Array(len(others))
		for _, m := range others {
			host, port := splitAddr(m.ClientAddr)
			c.W.Array(3)
			c.W.BulkString(host)
			c.W.BulkString(port)
			c.W.BulkString(strconv.FormatInt(offset, 10))
		}
		return
	}
	_, addr := n.Leader()
	host, port := splitAddr(addr)
	state := "connected"
	if addr == "" {
		state, host, port = "connect", "?", "0"
	}
	c.W.Array(5)
	c.W.BulkString("slave")
	c.W.BulkString(host)
	p, _ := strconv.Atoi(port)
	c.W.Int(int64(p))
	c.W.BulkString(state)
	c.W.Int(offset)
}

// splitAddr splits host:port, leaving both empty when it cannot.
func splitAddr(addr string) (host, port string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", ""
	}
	return h, p
}

// infoReplication is INFO's replication section, as Redis's reads for
// Sentinel clients and exporters, plus the Raft state.
func infoReplication(s *Server, b *strings.Builder) {
	n := s.cluster
	if n == nil {
		field(b, "role", "master")
		field(b, "connected_slaves", 0)
		return
	}
	offset := n.AppliedIndex()
	members, _ := n.Members()
	if n.IsLeader() {
		field(b, "role", "master")
		i := 0
		for _, m := range members {
			if m.ID == n.ID() {
				continue
			}
			i++
		}
		field(b, "connected_slaves", i)
		i = 0
		for _, m := range members {
			if m.ID == n.ID() {
				continue
			}
			host, port := splitAddr(m.ClientAddr)
			field(b, "slave"+strconv.Itoa(i), "ip="+host+",port="+port+",state=online,offset="+strconv.FormatUint(offset, 10)+",lag=0")
			i++
		}
	} else {
		_, addr := n.Leader()
		host, port := splitAddr(addr)
		field(b, "role", "slave")
		field(b, "master_host", host)
		field(b, "master_port", port)
		status := "up"
		if addr == "" {
			status = "down"
		}
		field(b, "master_link_status", status)
		field(b, "slave_repl_offset", offset)
		field(b, "slave_read_only", 1)
		field(b, "connected_slaves", 0)
	}
	field(b, "master_repl_offset", offset)
	field(b, "cluster_id", n.ClusterID())
	field(b, "node_id", n.ID())
	field(b, "raft_state", strings.ToLower(n.State()))
	lid, _ := n.Leader()
	field(b, "raft_leader_id", lid)
	st := n.Stats()
	field(b, "raft_term", st["term"])
	field(b, "raft_commit_index", st["commit_index"])
	field(b, "raft_applied_index", offset)
	field(b, "raft_last_log_index", n.LastIndex())
	field(b, "raft_first_log_index", n.FirstIndex())
	field(b, "raft_last_snapshot_index", st["last_snapshot_index"])
	field(b, "raft_members", len(members))
	field(b, "raft_changes_skipped", s.store.ReplicatedSkipped())
	entries, commits := n.Proposals()
	field(b, "raft_entries_proposed", entries)
	field(b, "raft_commits_proposed", commits)
}

// cmdClientConsistency is CLIENT CONSISTENCY [EVENTUAL|STRONG]: with no
// argument, the connection's mode; with one, sets it. Strong reads are
// linearizable (docs/replication.md, "Reads"): a follower forwards them to
// the leader, and the leader replies once what the read saw is committed
// and a majority still follows it. On a single node every read is.
func cmdClientConsistency(c *Ctx) {
	if len(c.Args) == 2 {
		mode := "eventual"
		if c.Sess.strong {
			mode = "strong"
		}
		c.W.BulkString(mode)
		return
	}
	if len(c.Args) > 3 {
		c.W.Error("ERR wrong number of arguments for 'client|consistency' command")
		return
	}
	switch strings.ToLower(c.Arg(2)) {
	case "strong":
		c.Sess.strong = true
	case "eventual":
		c.Sess.strong = false
	default:
		c.ErrMsg("CLIENT CONSISTENCY mode must be EVENTUAL or STRONG")
		return
	}
	if c.S.cluster != nil && !c.Sess.up.sticky() {
		c.S.dropUpstream(c.Sess) // the next link to the leader takes the new mode
	}
	c.W.OK()
}

// strongRead makes a strong read's reply on the leader wait until every
// entry queued when it ran is committed, and then for the leader check
// (waitWritten): what the read saw is then committed, and no other leader
// can have committed anything since.
func (s *Server) strongRead(sess *Session) {
	n := s.cluster
	if m := n.Mark(); m > 0 && (m > sess.unwritten || sess.unwrittenIn != n) {
		sess.unwritten, sess.unwrittenIn = m, n
	}
	sess.verifyLeader = true
}
