package commands

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The CLIENT subcommands that change how the server treats connections
// (docs/commands.md, "CLIENT"): REPLY, PAUSE and UNPAUSE, NO-EVICT and
// NO-TOUCH.

// cmdClientReply is CLIENT REPLY ON|OFF|SKIP. OFF drops the replies from
// this one on, SKIP this one's and the next command's (Serve drops them);
// ON replies OK. Pushed messages (pub/sub, MONITOR) still arrive.
func cmdClientReply(c *Ctx) {
	switch strings.ToLower(c.Arg(2)) {
	case "on":
		c.Sess.replyOff, c.Sess.skipThis, c.Sess.skipNext = false, false, false
		c.W.OK()
	case "off":
		c.Sess.replyOff = true
	case "skip":
		c.Sess.skipThis, c.Sess.skipNext = true, true
	default:
		c.ErrMsg("syntax error")
	}
}

// cmdClientOnOff is CLIENT NO-EVICT and CLIENT NO-TOUCH: accepted, as
// bucketd evicts no client for memory and tracks no access times.
func cmdClientOnOff(c *Ctx) {
	switch strings.ToLower(c.Arg(2)) {
	case "on", "off":
		c.W.OK()
	default:
		c.ErrMsg("syntax error")
	}
}

// pause is CLIENT PAUSE's state: until allUntil every command waits, until
// writeUntil the writes (and commands with effects beyond the connection:
// PUBLISH, a script that may write, an EXEC with writes queued). A new
// pause never shortens or loosens one under way, as in Redis.
type pause struct {
	mu         sync.Mutex
	allUntil   time.Time
	writeUntil time.Time
	changed    chan struct{} // closed and replaced when the pause changes
	waiting    atomic.Int64  // commands waiting (INFO blocked_clients)
	// set is true from a pause's start until a command finds it over or
	// UNPAUSE: every command reads it, without the lock.
	on atomic.Bool
}

// set starts a pause of d, of every command (all) or of the writes.
func (p *pause) set(d time.Duration, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	until := time.Now().Add(d)
	if all && until.After(p.allUntil) {
		p.allUntil = until
	}
	if until.After(p.writeUntil) {
		p.writeUntil = until
	}
	p.on.Store(true)
	p.signalLocked()
}

// end ends the pause (CLIENT UNPAUSE).
func (p *pause) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allUntil, p.writeUntil = time.Time{}, time.Time{}
	p.on.Store(false)
	p.signalLocked()
}

func (p *pause) signalLocked() {
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

// wait returns once the pause lets a command through: any command, or
// only one that writes.
func (p *pause) wait(write bool) {
	counted := false
	for {
		p.mu.Lock()
		until := p.allUntil
		if write && p.writeUntil.After(until) {
			until = p.writeUntil
		}
		left := time.Until(until)
		ch := p.changed
		p.mu.Unlock()
		if left <= 0 {
			if counted {
				p.waiting.Add(-1)
			}
			return
		}
		if !counted {
			counted = true
			p.waiting.Add(1)
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// paused reports whether a pause may be under way, with one atomic load
// while none is.
func (p *pause) paused() bool {
	if !p.on.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Now().Before(p.writeUntil) {
		return true
	}
	p.on.Store(false)
	return false
}

// writes reports whether cmd, with its arguments, counts as a write for
// CLIENT PAUSE WRITE: a write or a command with effects beyond the
// connection, or an EXEC with one of those queued.
func (sess *Session) writes(cmd *Command) bool {
	if cmd.Name == "exec" {
		for _, q := range sess.queue {
			if q.cmd.Flags&(FlagWrite|FlagMayReplicate) != 0 {
				return true
			}
		}
		return false
	}
	return cmd.Flags&(FlagWrite|FlagMayReplicate) != 0
}

// cmdClientPause is CLIENT PAUSE timeout [WRITE|ALL], Redis's texts for
// its errors.
func cmdClientPause(c *Ctx) {
	ms, err := strconv.ParseInt(c.Arg(2), 10, 64)
	if err != nil || ms > int64(time.Duration(1<<62)/time.Millisecond) {
		c.ErrMsg("timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.ErrMsg("timeout is negative")
		return
	}
	all := true
	if len(c.Args) == 4 {
		switch strings.ToLower(c.Arg(3)) {
		case "all":
		case "write":
			all = false
		default:
			c.ErrMsg("CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(c.Args) > 4 {
		c.ErrMsg("syntax error")
		return
	}
	c.S.pause.set(time.Duration(ms)*time.Millisecond, all)
	c.W.OK()
}

func cmdClientUnpause(c *Ctx) {
	c.S.pause.end()
	c.W.OK()
}
