package commands

import (
	"strconv"
	"strings"

	"bucketd/cluster"
)

// Sentinel (docs/replication.md, "Sentinel clients"): every node of a
// replicated cluster answers the SENTINEL commands that clients use to
// find the master — the master being the Raft leader and its name the
// cluster id — and publishes +switch-master when it sees a new leader, so
// that go-redis's NewFailoverClient, redis-py's Sentinel and ioredis's
// sentinels work unchanged, given the nodes' client addresses as the
// sentinels'.

func sentinelCommand() *Command {
	const g = "sentinel"
	sub := func(arity int, summary string, run func(*Ctx)) *Command {
		return &Command{Arity: arity, Flags: FlagNoStore | FlagFast, Group: g, Since: "2.8.4", Summary: summary, Run: run}
	}
	replicas := sub(3, "Lists the followers of the named cluster, as Sentinel lists a master's replicas.", cmdSentinelReplicas)
	return &Command{Name: "sentinel", Arity: -2, Flags: FlagNoStore, Group: g, Since: "2.8.4", Summary: "Sentinel's commands for finding the master: the cluster's leader.",
		Subs: map[string]*Command{
			"get-master-addr-by-name": sub(3, "Returns the leader's client host and port, or null.", cmdSentinelMasterAddr),
			"masters":                 sub(2, "Lists the one master: the cluster, named by its id.", cmdSentinelMasters),
			"master":                  sub(3, "Describes the named cluster's master.", cmdSentinelMaster),
			"replicas":                replicas,
			"slaves":                  sub(3, "Lists the followers (an older name of REPLICAS).", cmdSentinelReplicas),
			"sentinels":               sub(3, "Lists the other nodes, each of which answers as a sentinel.", cmdSentinelSentinels),
			"myid":                    sub(2, "Returns this node's id.", cmdSentinelMyID),
			"help":                    sub(2, "Shows the subcommands.", helpCommand(sentinelHelp)),
		}}
}

var sentinelHelp = []string{
	"SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET-MASTER-ADDR-BY-NAME <cluster-id>",
	"    Return the client host and port of the cluster's leader.",
	"MASTERS",
	"    Show the cluster as Sentinel shows its masters.",
	"MASTER <cluster-id>",
	"    Show the cluster's master (the leader).",
	"REPLICAS <cluster-id>",
	"    Show the followers.",
	"SENTINELS <cluster-id>",
	"    Show the other nodes, which answer these commands too.",
	"MYID",
	"    Return this node's id.",
	"HELP",
	"    Print this help.",
}

// sentinelNode returns the cluster node, or replies the error of a node
// that is not replicated.
func sentinelNode(c *Ctx) *cluster.Node {
	if c.S.cluster == nil {
		c.W.Error(notClustered)
	}
	return c.S.cluster
}

// knownMaster says whether name is the cluster's id, replying Sentinel's
// error when it is not (as `SENTINEL master` does).
func knownMaster(c *Ctx, n *cluster.Node, name string) bool {
	if name != n.ClusterID() {
		c.W.Error("ERR No such master with that name")
		return false
	}
	return true
}

func cmdSentinelMasterAddr(c *Ctx) {
	n := sentinelNode(c)
	if n == nil {
		return
	}
	_, addr := n.Leader()
	host, port := splitAddr(addr)
	if c.Arg(2) != n.ClusterID() || addr == "" {
		c.W.NullArray()
		return
	}
	c.W.Array(2)
	c.W.BulkString(host)
	c.W.BulkString(port)
}

// writeMaster writes the map Sentinel gives for a master.
func writeMaster(c *Ctx, n *cluster.Node) {
	members, _ := n.Members()
	lid, addr := n.Leader()
	host, port := splitAddr(addr)
	flags := "master"
	if addr == "" {
		flags = "master,s_down,o_down"
	}
	fields := [][2]string{
		{"name", n.ClusterID()}, {"ip", host}, {"port", port}, {"runid", lid}, {"flags", flags},
		{"num-slaves", strconv.Itoa(max(len(members)-1, 0))}, {"num-other-sentinels", strconv.Itoa(max(len(members)-1, 0))},
		{"quorum", strconv.Itoa(len(members)/2 + 1)},
	}
	writeFields(c, fields)
}

func writeFields(c *Ctx, fields [][2]string) {
	c.W.Map(len(fields))
	for _, f := range fields {
		c.W.BulkString(f[0])
		c.W.BulkString(f[1])
	}
}

func cmdSentinelMasters(c *Ctx) {
	n := sentinelNode(c)
	if n == nil {
		return
	}
	c.W.Array(1)
	writeMaster(c, n)
}

func cmdSentinelMaster(c *Ctx) {
	n := sentinelNode(c)
	if n == nil || !knownMaster(c, n, c.Arg(2)) {
		return
	}
	writeMaster(c, n)
}

func cmdSentinelReplicas(c *Ctx) {
	n := sentinelNode(c)
	if n == nil || !knownMaster(c, n, c.Arg(2)) {
		return
	}
	members, _ := n.Members()
	_, laddr := n.Leader()
	mhost, mport := splitAddr(laddr)
	var out []cluster.Member
	for _, m := range members {
		if !m.Leader && m.ClientAddr != "" {
			out = append(out, m)
		}
	}
	c.W.Array(len(out))
	for _, m := range out {
		host, port := splitAddr(m.ClientAddr)
		flags, link := "slave", "ok"
		if m.Down {
			flags, link = "slave,s_down,disconnected", "err"
		}
		writeFields(c, [][2]string{
			{"name", m.ClientAddr}, {"ip", host}, {"port", port}, {"runid", m.ID}, {"flags", flags},
			{"master-host", mhost}, {"master-port", mport}, {"master-link-status", link},
		})
	}
}

func cmdSentinelSentinels(c *Ctx) {
	n := sentinelNode(c)
	if n == nil || !knownMaster(c, n, c.Arg(2)) {
		return
	}
	members, _ := n.Members()
	var out []cluster.Member
	for _, m := range members {
		if m.ID != n.ID() && m.ClientAddr != "" {
			out = append(out, m)
		}
	}
	c.W.Array(len(out))
	for _, m := range out {
		host, port := splitAddr(m.ClientAddr)
		writeFields(c, [][2]string{{"name", m.ID}, {"ip", host}, {"port", port}, {"runid", m.ID}, {"flags", "sentinel"}})
	}
}

func cmdSentinelMyID(c *Ctx) {
	if n := sentinelNode(c); n != nil {
		c.W.BulkString(n.ID())
	}
}

// switchMaster publishes Sentinel's +switch-master message for a new
// leader: "<cluster-id> <old-ip> <old-port> <new-ip> <new-port>".
func (s *Server) switchMaster(clusterID, oldAddr, newAddr string) {
	if newAddr == "" {
		return
	}
	oh, op := splitAddr(oldAddr)
	nh, np := splitAddr(newAddr)
	if oh == "" {
		oh, op = nh, np // no old one known: Sentinel names the new one twice
	}
	msg := strings.Join([]string{clusterID, oh, op, nh, np}, " ")
	s.hub.Publish("+switch-master", []byte(msg))
}
