package commands

import (
	"strconv"
	"strings"

	"bucketd/engine"
	"bucketd/tracking"
)

// Client-side caching (docs/commands.md, "Client-side caching"): CLIENT
// TRACKING, CACHING, GETREDIR and TRACKINGINFO over package tracking, and
// what a tracking client's commands do more: their key reads register
// before they run (trackReads), and their replies are queued before the
// invalidations their command causes or meets (Serve holds the output),
// so that an invalidation never reaches the client before the value it
// invalidates.

// trackTarget is a session as a tracking.Target.
type trackTarget struct{ sess *Session }

func (t trackTarget) Proto() int             { return t.sess.conn.Proto() }
func (t trackTarget) Push(frame []byte) bool { return t.sess.conn.Push(frame) }
func (t trackTarget) Subscribed() bool       { return t.sess.subs.count() > 0 }

// findTarget returns the connection with that id as a tracking target.
func (s *Server) findTarget(id uint64) tracking.Target {
	if s.net == nil {
		return nil
	}
	c := s.net.Conn(id)
	if c == nil {
		return nil
	}
	sess, ok := c.Session.(*Session)
	if !ok {
		return nil
	}
	return trackTarget{sess}
}

// cmdClientTracking is CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p …]
// [BCAST] [OPTIN] [OPTOUT] [NOLOOP], with Redis's checks in Redis's order.
func cmdClientTracking(c *Ctx) {
	var o tracking.Options
	for j := 3; j < len(c.Args); j++ {
		more := j+1 < len(c.Args)
		switch opt := strings.ToLower(c.Arg(j)); {
		case opt == "redirect" && more:
			j++
			if o.Redirect != 0 {
				c.ErrMsg("A client can only redirect to a single other client")
				return
			}
			id, err := strconv.ParseInt(c.Arg(j), 10, 64)
			if err != nil {
				c.ErrMsg("value is not an integer or out of range")
				return
			}
			if id <= 0 || c.S.findTarget(uint64(id)) == nil {
				c.ErrMsg("The client ID you want redirect to does not exist")
				return
			}
			o.Redirect = uint64(id)
		case opt == "bcast":
			o.BCAST = true
		case opt == "optin":
			o.OptIn = true
		case opt == "optout":
			o.OptOut = true
		case opt == "noloop":
			o.NoLoop = true
		case opt == "prefix" && more:
			j++
			o.Prefixes = append(o.Prefixes, c.Arg(j))
		default:
			c.ErrMsg("syntax error")
			return
		}
	}
	id := c.Conn.ID()
	switch strings.ToLower(c.Arg(2)) {
	case "on":
		if err := c.S.tracking.Enable(id, trackTarget{c.Sess}, o); err != nil {
			c.ErrMsg(err.Error())
			return
		}
		c.Conn.EnableAsync() // invalidations are pushed to it
		c.Sess.tracking = true
	case "off":
		c.S.tracking.Disable(id)
		c.Sess.tracking = false
	default:
		c.ErrMsg("syntax error")
		return
	}
	c.W.OK()
}

// cmdClientCaching is CLIENT CACHING YES|NO: in OPTIN mode YES tracks the
// next command's reads, in OPTOUT mode NO leaves them untracked. The mark
// lasts until a command other than a CLIENT one runs, or until EXEC.
func cmdClientCaching(c *Ctx) {
	o, on, _ := c.S.tracking.Info(c.Conn.ID())
	if !on {
		c.ErrMsg("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		return
	}
	switch strings.ToLower(c.Arg(2)) {
	case "yes":
		if !o.OptIn {
			c.ErrMsg("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case "no":
		if !o.OptOut {
			c.ErrMsg("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		c.ErrMsg("syntax error")
		return
	}
	c.Sess.caching = true
	c.W.OK()
}

// cmdClientGetRedir is CLIENT GETREDIR: -1 without tracking, 0 without a
// redirection, else the client it redirects to.
func cmdClientGetRedir(c *Ctx) {
	o, on, _ := c.S.tracking.Info(c.Conn.ID())
	switch {
	case !on:
		c.W.Int(-1)
	default:
		c.W.Int(int64(o.Redirect))
	}
}

// cmdClientTrackingInfo is CLIENT TRACKINGINFO: flags, redirect, prefixes.
func cmdClientTrackingInfo(c *Ctx) {
	o, on, broken := c.S.tracking.Info(c.Conn.ID())
	var flags []string
	redirect := int64(-1)
	if !on {
		flags = []string{"off"}
	} else {
		redirect = int64(o.Redirect)
		flags = append(flags, "on")
		if o.BCAST {
			flags = append(flags, "bcast")
		}
		if o.OptIn {
			flags = append(flags, "optin")
			if c.Sess.caching {
				flags = append(flags, "caching-yes")
			}
		}
		if o.OptOut {
			flags = append(flags, "optout")
			if c.Sess.caching {
				flags = append(flags, "caching-no")
			}
		}
		if o.NoLoop {
			flags = append(flags, "noloop")
		}
		if broken {
			flags = append(flags, "broken_redirect")
		}
	}
	c.W.Map(3)
	c.W.BulkString("flags")
	c.W.Set(len(flags))
	for _, f := range flags {
		c.W.BulkString(f)
	}
	c.W.BulkString("redirect")
	c.W.Int(redirect)
	c.W.BulkString("prefixes")
	c.W.Array(len(o.Prefixes))
	for _, p := range o.Prefixes {
		c.W.BulkString(p)
	}
}

// trackReads registers, before a tracking client's read runs, the key
// names it reads: those of the key-space reads (GET, EXISTS, TTL, …) and
// of B.GET and B.MGET, unless OPTIN without CLIENT CACHING YES or OPTOUT
// with CLIENT CACHING NO says otherwise. Other reads are not tracked: a
// client that caches them uses BCAST with the bucket's prefix.
func (s *Server) trackReads(c *Ctx, cmd *Command) {
	if cmd.Flags&FlagReadOnly == 0 {
		return
	}
	o, on, _ := s.tracking.Info(c.Conn.ID())
	if !on || o.BCAST || o.OptIn && !c.Sess.caching || o.OptOut && c.Sess.caching {
		return
	}
	var names []string
	switch {
	case cmd.Flags&FlagKeys != 0:
		last := cmd.LastKey
		if last < 0 {
			last += len(c.Args)
		}
		for i := cmd.FirstKey; i <= last && i < len(c.Args); i += max(cmd.Step, 1) {
			if bucket, key, ok := engine.SplitKeyName(string(c.Args[i])); ok {
				names = append(names, s.keyName(bucket, key))
			}
		}
	case cmd.Name == "b.get" || cmd.Name == "b.mget":
		for _, k := range c.Args[2:] {
			names = append(names, s.keyName(string(c.Args[1]), string(k)))
		}
	}
	if len(names) > 0 {
		s.tracking.Read(c.Conn.ID(), names...)
	}
}

// keyName returns the canonical key name of bucket's key given as text:
// a number key in its JSON form ("orders:2" for "2.0"), as changes name it.
func (s *Server) keyName(bucket, key string) string {
	k, err := s.store.ParseKey(bucket, key)
	if err != nil {
		return bucket + ":" + key
	}
	return string(engine.AppendKeyName(nil, bucket, k))
}
