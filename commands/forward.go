package commands

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/tidwall/redcon"
)

// Forwarding (docs/replication.md, "Clients"): a follower runs reads
// itself and forwards to the leader every command that must run there —
// writes (FlagWrite), scripts that may write and cluster changes
// (FlagLeader) — over a connection of its own to the leader's client port
// (one per client connection that forwards, made at its first forward),
// and relays the leader's reply as it is. MULTI and WATCH are forwarded
// too, and from them on every command of the connection, until EXEC,
// DISCARD, UNWATCH or RESET: the leader runs the transaction whole. After
// a forwarded command the follower waits until it has applied what the
// leader had applied when it replied (CLUSTER.INDEX, pipelined behind the
// command), up to forwardCatchUp, so a client reads its own writes on the
// follower.

// forwardTimeout bounds a forwarded command's round trip. A command whose
// reply does not come leaves its outcome unknown: the client's connection
// is closed without a reply, as when a server dies.
const forwardTimeout = 30 * time.Second

// forwardCatchUp bounds the wait for the follower to apply a forwarded
// write.
const forwardCatchUp = 2 * time.Second

// upstream is a client connection's link to the leader.
type upstream struct {
	addr  string
	nc    net.Conn
	r     *bufio.Reader
	out   []byte
	multi bool // MULTI was forwarded and neither EXEC nor DISCARD yet
	watch bool // WATCH was forwarded and neither EXEC, DISCARD nor UNWATCH yet
}

// dialUpstream connects to a node's client port, speaking proto and
// authenticated with password (when not empty).
func dialUpstream(addr string, proto int, password string) (*upstream, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	up := &upstream{addr: addr, nc: nc, r: bufio.NewReaderSize(nc, 16<<10)}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	var hello [][]byte
	switch {
	case proto >= 3 && password != "":
		hello = [][]byte{[]byte("HELLO"), []byte("3"), []byte("AUTH"), []byte("default"), []byte(password)}
	case proto >= 3:
		hello = [][]byte{[]byte("HELLO"), []byte("3")}
	case password != "":
		hello = [][]byte{[]byte("AUTH"), []byte(password)}
	}
	if hello != nil {
		reply, err := up.do(hello)
		if err == nil && len(reply) > 0 && reply[0] == '-' {
			err = fmt.Errorf("the leader refused %s: %s", hello[0], reply)
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	nc.SetDeadline(time.Time{})
	return up, nil
}

// do sends one command and returns its reply, raw.
func (up *upstream) do(args [][]byte) ([]byte, error) {
	up.out = appendCommand(up.out[:0], args)
	if _, err := up.nc.Write(up.out); err != nil {
		return nil, err
	}
	return readReply(up.r, nil)
}

func (up *upstream) close() {
	if up != nil && up.nc != nil {
		up.nc.Close()
	}
}

// sticky says whether every command of the connection goes to the leader
// now (a transaction under way there).
func (up *upstream) sticky() bool { return up != nil && (up.multi || up.watch) }

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(dst []byte, args [][]byte) []byte {
	dst = redcon.AppendArray(dst, len(args))
	for _, a := range args {
		dst = redcon.AppendBulk(dst, a)
	}
	return dst
}

// errBadReply is a reply that is not RESP.
var errBadReply = errors.New("protocol error in the leader's reply")

// The limits readReply holds a leader's reply to: no line, bulk or
// aggregate past them is taken in (a corrupt reply must not exhaust the
// follower's memory). A bulk may be as long as the largest argument a
// client may send (--proto-max-bulk-len's ceiling).
const (
	maxReplyLine  = 64 << 20
	maxReplyBulk  = 1 << 32
	maxReplyItems = 1 << 31
)

// readReply appends one whole RESP2 or RESP3 reply from r to dst, as it
// came.
func readReply(r *bufio.Reader, dst []byte) ([]byte, error) {
	start := len(dst)
	var err error
	if dst, err = readLine(r, dst); err != nil {
		return dst, err
	}
	line := dst[start:]
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return dst, errBadReply
	}
	head := line[0]
	n := 0
	switch head {
	case '+', '-', ':', '_', ',', '#', '(':
		return dst, nil
	case '$', '!', '=', '*', '~', '>', '%', '|':
		n, err = strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || n < -1 {
			return dst, errBadReply
		}
	default:
		return dst, errBadReply
	}
	switch head {
	case '$', '!', '=':
		if n < 0 {
			return dst, nil
		}
		if int64(n) > maxReplyBulk {
			return dst, errBadReply
		}
		// Read as the bytes come, never allocating ahead of them.
		for left := int64(n) + 2; left > 0; { // 64 bits: n+2 must not wrap on 32-bit machines
			chunk := int(min(left, 64<<10))
			at := len(dst)
			dst = append(dst, make([]byte, chunk)...)
			if _, err := io.ReadFull(r, dst[at:]); err != nil {
				return dst[:at], err
			}
			left -= int64(chunk)
		}
		if dst[len(dst)-2] != '\r' || dst[len(dst)-1] != '\n' {
			return dst, errBadReply
		}
		return dst, nil
	}
	items := int64(n) // counted in 64 bits: a map's doubled count fits on 32-bit machines too
	if head == '%' || head == '|' {
		items *= 2
	}
	if items > maxReplyItems {
		return dst, errBadReply
	}
	for i := int64(0); i < items; i++ {
		if dst, err = readReply(r, dst); err != nil {
			return dst, err
		}
	}
	if head == '|' { // an attribute precedes the reply it annotates
		return readReply(r, dst)
	}
	return dst, nil
}

// readLine appends one line, \n included, from r to dst, however long it
// is up to maxReplyLine.
func readLine(r *bufio.Reader, dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		chunk, err := r.ReadSlice('\n')
		dst = append(dst, chunk...)
		switch {
		case err == nil:
			return dst, nil
		case err != bufio.ErrBufferFull:
			return dst, err
		case len(dst)-start > maxReplyLine:
			return dst, errBadReply
		}
	}
}

// forwards says whether a follower sends cmd to the leader.
func (s *Server) forwards(c *Ctx, cmd *Command) bool {
	n := s.cluster
	if n == nil || n.IsLeader() {
		return false
	}
	if c.Sess.up.sticky() {
		switch cmd.Name {
		case "hello", "auth", "quit", "client", "select":
			return false
		case "reset":
			s.dropUpstream(c.Sess) // the leader forgets the transaction with the link
			return false
		}
		if cmd.parent != nil && cmd.parent.Name == "client" {
			return false
		}
		return true
	}
	switch cmd.Name {
	case "multi", "watch":
		return true
	}
	if c.Sess.strong && cmd.Flags&FlagReadOnly != 0 {
		return true // a strong read is the leader's (CLIENT CONSISTENCY)
	}
	return cmd.Flags&(FlagWrite|FlagLeader) != 0 || cmd.Name == "script|load"
}

// leaderReady makes a write, or a strong read, on a leader just elected
// wait until it has applied what the leaders before it committed
// (cluster.Node.WaitWritable), so that it never runs against an older
// state; it replies CLUSTERDOWN and returns false when that does not come.
func (s *Server) leaderReady(c *Ctx, cmd *Command) bool {
	n := s.cluster
	needs := cmd.Flags&(FlagWrite|FlagLeader) != 0 || c.Sess.strong && cmd.Flags&FlagReadOnly != 0
	if !needs || n.Writable() || !n.IsLeader() || c.Sess.inMulti {
		return true
	}
	c.Sess.hold.release()
	if n.WaitWritable(leaderReadyWait) {
		return true
	}
	c.W.Error("CLUSTERDOWN the leader is not ready: it has not applied its predecessors' writes yet")
	return false
}

// leaderReadyWait bounds the wait of leaderReady.
const leaderReadyWait = 5 * time.Second

// forward runs c's command on the leader and relays its reply.
func (s *Server) forward(c *Ctx, cmd *Command) {
	sess := c.Sess
	sess.hold.release() // no bucket stays locked across the round trip
	at := len(c.W.B)
	_, addr := s.cluster.Leader()
	up := sess.up
	if addr == "" {
		if up.sticky() {
			s.dropUpstream(sess)
		}
		c.W.Error("CLUSTERDOWN no leader: writes are refused until one is elected; reads go on")
		return
	}
	if up != nil && up.addr != addr {
		sticky := up.sticky()
		s.dropUpstream(sess)
		if sticky {
			c.W.Error("CLUSTERDOWN the leader changed during the transaction: it was discarded")
			return
		}
		up = nil
	}
	if up == nil {
		var err error
		if up, err = dialUpstream(addr, c.Conn.Proto(), s.Config().RequirePass); err == nil && sess.strong {
			var reply []byte
			if reply, err = up.do([][]byte{[]byte("CLIENT"), []byte("CONSISTENCY"), []byte("STRONG")}); err == nil && reply[0] == '-' {
				err = errors.New(string(reply))
			}
		}
		if err != nil {
			up.close()
			c.W.Error("CLUSTERDOWN cannot reach the leader at " + addr + ": " + oneLine(err.Error()))
			return
		}
		sess.up = up
	}
	if cmd.Name == "script|load" {
		cmd.Run(c) // cached here too, for EVALSHA_RO; the leader's reply is the one relayed
	}
	name := cmd.Name
	if cmd.parent != nil {
		name = cmd.parent.Name
	}
	inTx := up.multi || name == "multi"
	up.out = appendCommand(up.out[:0], c.Args)
	index := !inTx && cmd.Flags&(FlagWrite|FlagLeader) != 0
	if index {
		up.out = appendCommand(up.out, [][]byte{[]byte("CLUSTER.INDEX")})
	}
	up.nc.SetDeadline(time.Now().Add(forwardTimeout))
	_, err := up.nc.Write(up.out)
	var reply []byte
	if err == nil {
		reply, err = readReply(up.r, nil)
	}
	var applied []byte
	if err == nil && index {
		applied, err = readReply(up.r, nil)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("leader", addr).Str("command", cmd.Name).Msg("a forwarded command got no reply: closing the client without one (its outcome is unknown)")
		s.dropUpstream(sess)
		c.W.Truncate(at)
		c.Conn.Abort()
		return
	}
	up.nc.SetDeadline(time.Time{})
	c.W.Truncate(at)
	c.W.Raw(reply)
	if reply[0] == '-' {
		c.failed = errPlain
	}
	switch name {
	case "multi":
		up.multi = reply[0] == '+'
	case "watch":
		up.watch = up.watch || reply[0] == '+'
	case "exec", "discard", "reset":
		up.multi, up.watch = false, false
	case "unwatch":
		up.watch = false
	}
	if index && len(applied) > 1 && applied[0] == ':' {
		if idx, err := strconv.ParseUint(string(applied[1:len(applied)-2]), 10, 64); err == nil {
			s.cluster.WaitApplied(idx, forwardCatchUp)
		}
	}
}

// dropUpstream closes a connection's link to the leader.
func (s *Server) dropUpstream(sess *Session) {
	sess.up.close()
	sess.up = nil
}
