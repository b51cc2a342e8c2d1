package commands

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"bucketd/resp"
)

// MONITOR (docs/commands.md, "MONITOR"): every command the server runs is
// sent to the monitoring connections as Redis sends it, a status line
// `+<unix-time>.<µs> [0 <client address>] "arg" …`, once it has run (so
// that EXEC's commands come before the EXEC), except the scripts' EVAL
// and FCALL, sent before the commands they call, which say `[0 lua]`.
// Administrative commands are not sent, and the passwords of AUTH and
// HELLO … AUTH show as "(redacted)", as in Redis. Commands refused before
// they run (unknown, wrong arity, queued in MULTI) are not sent. A monitor
// is fed through its output queue, under the replica class's output limit.

// monitors holds the connections in MONITOR mode.
type monitors struct {
	n     atomic.Int32 // len(conns), read on every command
	mu    sync.Mutex
	conns map[*resp.Conn]struct{}
}

func (m *monitors) add(c *resp.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns == nil {
		m.conns = make(map[*resp.Conn]struct{})
	}
	m.conns[c] = struct{}{}
	m.n.Store(int32(len(m.conns)))
}

func (m *monitors) remove(c *resp.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.conns[c]; ok {
		delete(m.conns, c)
		m.n.Store(int32(len(m.conns)))
	}
}

// active reports whether anybody monitors; it costs one atomic load.
func (m *monitors) active() bool { return m.n.Load() > 0 }

// feed sends one command, run by the client at addr ("lua" for a script),
// to every monitor.
func (m *monitors) feed(addr string, cmd *Command, args [][]byte) {
	if cmd.Flags&FlagAdmin != 0 {
		return
	}
	now := time.Now()
	b := make([]byte, 0, 64)
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := now.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	b = append(b, " [0 "...)
	b = append(b, addr...)
	b = append(b, ']')
	secret := secretArgs(cmd.Name, args)
	for i, a := range args {
		b = append(b, ' ')
		if secret[i] {
			a = []byte("(redacted)")
		}
		b = appendRepr(b, a)
	}
	b = append(b, "\r\n"...)
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		c.Push(b)
	}
}

// appendRepr appends a quoted as Redis's sdscatrepr does: escapes for the
// quote, the backslash and \n \r \t \a \b, \xHH for other bytes that are
// not printable ASCII.
func appendRepr(b, a []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range a {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch < ' ' || ch > '~' {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			} else {
				b = append(b, ch)
			}
		}
	}
	return append(b, '"')
}

// feedsFirst reports whether a command is sent to the monitors before it
// runs: the scripts, whose commands follow them.
func feedsFirst(cmd *Command) bool {
	switch cmd.Name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		return true
	}
	return false
}

func cmdMonitor(c *Ctx) {
	if c.Sess.monitoring {
		c.W.OK()
		return
	}
	c.Conn.EnableAsync()
	c.Sess.monitoring = true
	c.Sess.monitorFlag.Store(true)
	c.Sess.setOutputClass()
	c.S.monitors.add(c.Conn)
	c.W.OK()
}

// stopMonitoring takes sess out of MONITOR mode (RESET, a closed
// connection).
func (s *Server) stopMonitoring(sess *Session) {
	if sess.monitoring {
		sess.monitoring = false
		sess.monitorFlag.Store(false)
		sess.setOutputClass()
		s.monitors.remove(sess.conn)
	}
}
