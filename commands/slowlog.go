package commands

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slowEntry is one slow log entry, as Redis keeps it.
type slowEntry struct {
	id       int64
	at       int64 // unix seconds
	micros   int64
	args     []string
	addr     string
	clientNm string
}

// slowLog records commands slower than slowlog-log-slower-than
// microseconds, at most slowlog-max-len entries. They are kept oldest first,
// so that recording one allocates nothing but its arguments.
type slowLog struct {
	slowerThan atomic.Int64 // slowlog-log-slower-than, microseconds
	maxLen     atomic.Int64 // slowlog-max-len

	mu      sync.Mutex // guards the fields below
	entries []slowEntry
	nextID  int64
}

// configure applies the slow log settings of cfg.
func (l *slowLog) configure(cfg Config) {
	l.slowerThan.Store(cfg.SlowlogSlowerThan)
	l.maxLen.Store(cfg.SlowlogMaxLen)
	l.mu.Lock()
	l.trim(cfg.SlowlogMaxLen)
	l.mu.Unlock()
}

// observe records c's command if it ran longer than the threshold.
func (l *slowLog) observe(c *Ctx, d time.Duration) {
	threshold := l.slowerThan.Load()
	if threshold < 0 || d < time.Duration(threshold)*time.Microsecond {
		return
	}
	start := time.Now().Add(-d)
	// Like Redis: at most 32 arguments, each cut at 128 bytes.
	n := len(c.Args)
	max := n
	if max > 32 {
		max = 31
	}
	args := make([]string, 0, max+1)
	secret := secretArgs(c.Cmd.Name, c.Args)
	for i, a := range c.Args[:max] {
		if secret[i] {
			args = append(args, "(redacted)")
			continue
		}
		if len(a) > 128 {
			args = append(args, string(a[:128])+"... ("+strconv.Itoa(len(a)-128)+" more bytes)")
		} else {
			args = append(args, string(a))
		}
	}
	if n > max {
		args = append(args, "... ("+strconv.Itoa(n-max)+" more arguments)")
	}
	name, _, _, _, _ := c.Conn.Info()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, slowEntry{id: l.nextID, at: start.Unix(), micros: int64(d / time.Microsecond), args: args, addr: c.Conn.RemoteAddr(), clientNm: name})
	l.nextID++
	l.trim(l.maxLen.Load())
}

// trim drops the oldest entries beyond max. l.mu must be held.
func (l *slowLog) trim(max int64) {
	if extra := int64(len(l.entries)) - max; extra > 0 {
		n := copy(l.entries, l.entries[extra:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
	}
}

func cmdSlowlogGet(c *Ctx) {
	count := int64(10)
	if len(c.Args) == 3 {
		n, err := strconv.ParseInt(c.Arg(2), 10, 64)
		if err != nil || n < -1 {
			c.W.Error("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	} else if len(c.Args) > 3 {
		c.W.Error("ERR wrong number of arguments for 'slowlog|get' command")
		return
	}
	l := &c.S.slowlog
	l.mu.Lock()
	entries := l.entries
	if count >= 0 && int64(len(entries)) > count {
		entries = entries[int64(len(entries))-count:]
	}
	entries = append([]slowEntry(nil), entries...)
	l.mu.Unlock()
	slices.Reverse(entries) // newest first
	c.W.Array(len(entries))
	for _, e := range entries {
		c.W.Array(6)
		c.W.Int(e.id)
		c.W.Int(e.at)
		c.W.Int(e.micros)
		c.W.Array(len(e.args))
		for _, a := range e.args {
			c.W.BulkString(a)
		}
		c.W.BulkString(e.addr)
		c.W.BulkString(e.clientNm)
	}
}

func cmdSlowlogLen(c *Ctx) {
	c.S.slowlog.mu.Lock()
	n := len(c.S.slowlog.entries)
	c.S.slowlog.mu.Unlock()
	c.W.Int(int64(n))
}

func cmdSlowlogReset(c *Ctx) {
	c.S.slowlog.mu.Lock()
	c.S.slowlog.entries = nil
	c.S.slowlog.mu.Unlock()
	c.W.OK()
}

func cmdSlowlogHelp(c *Ctx) {
	lines := []string{
		"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"LEN", "    Return the length of the slowlog.",
		"RESET", "    Reset the slowlog.",
		"HELP", "    Print this help.",
	}
	if len(c.Args) > 1 && !strings.EqualFold(c.Arg(1), "help") {
		c.W.Error("ERR unknown subcommand '" + abbreviate(c.Args[1]) + "'. Try SLOWLOG HELP.")
		return
	}
	c.helpLines(lines)
}

// secretArgs marks the arguments the slow log must not keep, as Redis
// redacts them: passwords of AUTH and HELLO … AUTH, and CONFIG SET of
// requirepass.
func secretArgs(name string, args [][]byte) map[int]bool {
	out := map[int]bool{}
	switch name {
	case "auth":
		for i := 1; i < len(args); i++ {
			out[i] = true
		}
	case "hello":
		for i := 2; i < len(args); i++ {
			if strings.EqualFold(string(args[i]), "auth") {
				out[i+1], out[i+2] = true, true
				i += 2
			}
		}
	case "config|set":
		for i := 2; i+1 < len(args); i += 2 {
			if strings.EqualFold(string(args[i]), "requirepass") {
				out[i+1] = true
			}
		}
	}
	return out
}
