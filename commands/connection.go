package commands

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"bucketd/resp"
)

func connectionCommands() []*Command {
	return []*Command{
		{Name: "ping", Arity: -1, Flags: FlagNoStore | FlagFast | FlagPubSub | FlagScript, Group: "connection", Since: "1.0.0", Syntax: "[message]", Summary: "Returns the server's liveliness response.", Run: cmdPing},
		{Name: "echo", Arity: 2, Flags: FlagNoStore | FlagFast, Group: "connection", Since: "1.0.0", Syntax: "message", Summary: "Returns the given string.", Run: cmdEcho},
		{Name: "hello", Arity: -1, Flags: FlagNoStore | FlagFast | FlagNoAuth, Group: "connection", Since: "6.0.0", Syntax: "[protover [AUTH username password] [SETNAME clientname]]", Summary: "Handshakes with the server.", Run: cmdHello},
		{Name: "auth", Arity: -2, Flags: FlagNoStore | FlagFast | FlagNoAuth, Group: "connection", Since: "1.0.0", Syntax: "[username] password", Summary: "Authenticates the connection.", Run: cmdAuth},
		{Name: "select", Arity: 2, Flags: FlagNoStore | FlagFast, Group: "connection", Since: "1.0.0", Syntax: "index", Summary: "Changes the selected database (only 0 exists).", Run: cmdSelect},
		{Name: "quit", Arity: -1, Flags: FlagFast | FlagNoAuth | FlagPubSub | FlagTxControl, Group: "connection", Since: "1.0.0", Summary: "Closes the connection.", Run: cmdQuit},
		{Name: "reset", Arity: 1, Flags: FlagFast | FlagNoAuth | FlagPubSub | FlagTxControl, Group: "connection", Since: "6.2.0", Summary: "Resets the connection.", Run: cmdReset},
		{Name: "client", Arity: -2, Flags: FlagNoStore, Group: "connection", Since: "2.4.0", Summary: "A container for client connection commands.", Run: cmdClientHelp, Subs: map[string]*Command{
			"id":           {Arity: 2, Flags: FlagFast, Summary: "Returns the unique client ID of the connection.", Run: cmdClientID},
			"setname":      {Arity: 3, Flags: FlagFast, Summary: "Sets the connection name.", Run: cmdClientSetName},
			"getname":      {Arity: 2, Flags: FlagFast, Summary: "Returns the name of the connection.", Run: cmdClientGetName},
			"setinfo":      {Arity: 4, Flags: FlagFast, Summary: "Sets information specific to the client or connection.", Run: cmdClientSetInfo},
			"list":         {Arity: -2, Flags: FlagAdmin, Summary: "Lists open connections.", Run: cmdClientList},
			"info":         {Arity: 2, Flags: FlagFast, Summary: "Returns information about the connection.", Run: cmdClientInfo},
			"kill":         {Arity: -3, Flags: FlagAdmin, Summary: "Terminates open connections.", Run: cmdClientKill},
			"tracking":     {Arity: -3, Summary: "Controls server-assisted client-side caching for the connection.", Run: cmdClientTracking},
			"caching":      {Arity: 3, Flags: FlagFast, Summary: "Instructs the server whether to track the keys in the next request.", Run: cmdClientCaching},
			"getredir":     {Arity: 2, Flags: FlagFast, Summary: "Returns the client ID to which the connection's tracking notifications are redirected.", Run: cmdClientGetRedir},
			"trackinginfo": {Arity: 2, Summary: "Returns information about server-assisted client-side caching for the connection.", Run: cmdClientTrackingInfo},
			"reply":        {Arity: 3, Flags: FlagFast, Summary: "Instructs the server whether to reply to commands.", Run: cmdClientReply},
			"pause":        {Arity: -3, Flags: FlagAdmin, Summary: "Suspends commands processing.", Run: cmdClientPause},
			"unpause":      {Arity: 2, Flags: FlagAdmin, Summary: "Resumes processing commands from paused clients.", Run: cmdClientUnpause},
			"no-evict":     {Arity: 3, Flags: FlagAdmin, Summary: "Accepted: bucketd evicts no client for memory.", Run: cmdClientOnOff},
			"no-touch":     {Arity: 3, Flags: FlagFast, Summary: "Accepted: bucketd tracks no access times.", Run: cmdClientOnOff},
			"consistency":  {Arity: -2, Flags: FlagFast, Summary: "Sets or shows the connection's read consistency on a replicated node: eventual or strong.", Run: cmdClientConsistency},
			"help":         {Arity: 2, Flags: FlagFast, Summary: "Returns helpful text about the different subcommands.", Run: cmdClientHelp},
		}},
	}
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.W.Error("ERR wrong number of arguments for 'ping' command")
		return
	}
	if c.Conn.Proto() == 2 && c.Sess.subs.count() > 0 {
		// RESP2 subscribed mode: ["pong", message-or-empty].
		c.W.Array(2)
		c.W.BulkString("pong")
		if len(c.Args) == 2 {
			c.W.Bulk(c.Args[1])
		} else {
			c.W.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.W.Bulk(c.Args[1])
		return
	}
	c.W.Simple("PONG")
}

func cmdEcho(c *Ctx) { c.W.Bulk(c.Args[1]) }

// checkPassword reports whether user/pass are the default user's
// credentials.
func (s *Server) checkPassword(user, pass string) bool {
	want := s.Config().RequirePass
	if user != "default" {
		return false
	}
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
}

const wrongPass = "WRONGPASS invalid username-password pair or user is disabled."

func cmdAuth(c *Ctx) {
	if len(c.Args) > 3 {
		c.W.Error("ERR syntax error")
		return
	}
	user, pass := "default", c.Arg(1)
	if len(c.Args) == 3 {
		user, pass = c.Arg(1), c.Arg(2)
	} else if c.S.Config().RequirePass == "" {
		c.W.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if !c.S.checkPassword(user, pass) {
		c.W.Error(wrongPass)
		return
	}
	c.Conn.Authed = true
	c.W.OK()
}

func cmdHello(c *Ctx) {
	proto := c.Conn.Proto()
	i := 1
	if len(c.Args) >= 2 {
		v, err := strconv.ParseInt(c.Arg(1), 10, 64)
		if err != nil {
			c.W.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 && v != 3 {
			c.W.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = int(v)
		i = 2
	}
	var name string
	setName := false
	authed := c.Conn.Authed
	for ; i < len(c.Args); i++ {
		opt := strings.ToLower(c.Arg(i))
		switch {
		case opt == "auth" && i+2 < len(c.Args):
			if !c.S.checkPassword(c.Arg(i+1), c.Arg(i+2)) {
				c.W.Error(wrongPass)
				return
			}
			authed = true
			i += 2
		case opt == "setname" && i+1 < len(c.Args):
			name = c.Arg(i + 1)
			if !validClientName(name) {
				c.W.Error("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			setName = true
			i++
		default:
			c.W.Error("ERR Syntax error in HELLO option '" + abbreviate(c.Args[i]) + "'")
			return
		}
	}
	if !authed {
		c.W.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.Conn.Authed = true
	if setName {
		c.Conn.SetName(name)
	}
	c.Conn.SetProto(proto)
	c.W.Map(7)
	c.W.BulkString("server")
	c.W.BulkString("bucketd")
	c.W.BulkString("version")
	c.W.BulkString(RedisVersion)
	c.W.BulkString("proto")
	c.W.Int(int64(proto))
	c.W.BulkString("id")
	c.W.Int(int64(c.Conn.ID()))
	c.W.BulkString("mode")
	c.W.BulkString("standalone")
	c.W.BulkString("role")
	c.W.BulkString("master")
	c.W.BulkString("modules")
	c.W.Array(0)
}

func cmdSelect(c *Ctx) {
	n, err := strconv.ParseInt(c.Arg(1), 10, 64)
	if err != nil {
		c.W.Error("ERR value is not an integer or out of range")
		return
	}
	if n != 0 {
		c.W.Error("ERR DB index is out of range")
		return
	}
	c.W.OK()
}

func cmdQuit(c *Ctx) {
	c.W.OK()
	c.Conn.CloseAfterReply()
}

func cmdReset(c *Ctx) {
	c.Sess.resetMulti()
	c.S.unsubscribeAll(c.Sess, false)
	c.S.stopMonitoring(c.Sess)
	if c.Sess.tracking {
		c.S.tracking.Disable(c.Conn.ID())
		c.Sess.tracking, c.Sess.caching = false, false
	}
	c.Sess.replyOff, c.Sess.skipNext = false, false
	c.Conn.SetProto(2)
	c.Conn.SetName("")
	c.Conn.Authed = c.S.Config().RequirePass == ""
	c.W.Simple("RESET")
}

func validClientName(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] < '!' || name[i] > '~' {
			return false
		}
	}
	return true
}

func cmdClientID(c *Ctx) { c.W.Int(int64(c.Conn.ID())) }

func cmdClientSetName(c *Ctx) {
	name := c.Arg(2)
	if !validClientName(name) {
		c.W.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		return
	}
	c.Conn.SetName(name)
	c.W.OK()
}

func cmdClientGetName(c *Ctx) {
	name, _, _, _, _ := c.Conn.Info()
	if name == "" {
		c.W.Null()
		return
	}
	c.W.BulkString(name)
}

func cmdClientSetInfo(c *Ctx) {
	val := c.Arg(3)
	for i := 0; i < len(val); i++ {
		if val[i] < '!' || val[i] > '~' {
			c.W.Error("ERR " + c.Arg(2) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	switch strings.ToLower(c.Arg(2)) {
	case "lib-name":
		c.Conn.SetLibName(val)
	case "lib-ver":
		c.Conn.SetLibVer(val)
	default:
		c.W.Error("ERR Unrecognized option '" + abbreviate(c.Args[2]) + "'")
		return
	}
	c.W.OK()
}

// clientLine is one CLIENT LIST / CLIENT INFO line.
func (s *Server) clientLine(conn *resp.Conn, self bool, b *strings.Builder) {
	name, lib, ver, _, _ := conn.Info()
	sess, _ := conn.Session.(*Session)
	now := time.Now()
	var sub, psub, ssub, argvMem, multiMem int64
	multi, redir := int64(-1), int64(-1)
	cmd := "NULL"
	flags := ""
	if sess != nil {
		sub, psub, ssub = sess.subs.nChannels.Load(), sess.subs.nPatterns.Load(), sess.subs.nShards.Load()
		multi = sess.multiLen.Load()
		argvMem, multiMem = sess.argvMem.Load(), sess.multiMem.Load()
		if c := sess.lastCmd.Load(); c != nil {
			cmd = c.Name
		}
		// Redis's letters: O monitor, P subscribed, x in MULTI, t
		// tracking, R its redirection broken, B broadcast tracking.
		if sess.monitorFlag.Load() {
			flags += "O"
		}
		if sub+psub+ssub > 0 {
			flags += "P"
		}
		if multi >= 0 {
			flags += "x"
		}
		if o, on, broken := s.tracking.Info(conn.ID()); on {
			flags += "t"
			redir = int64(o.Redirect)
			if broken {
				flags += "R"
			}
			if o.BCAST {
				flags += "B"
			}
		}
	}
	if flags == "" {
		flags = "N"
	}
	b.WriteString("id=" + strconv.FormatUint(conn.ID(), 10))
	b.WriteString(" addr=" + conn.RemoteAddr())
	b.WriteString(" laddr=" + conn.LocalAddr())
	b.WriteString(" fd=-1 name=" + name)
	b.WriteString(" age=" + strconv.FormatInt(int64(now.Sub(conn.Created())/time.Second), 10))
	b.WriteString(" idle=" + strconv.FormatInt(int64(now.Sub(conn.LastActive())/time.Second), 10))
	b.WriteString(" flags=" + flags + " db=0")
	b.WriteString(" sub=" + strconv.FormatInt(sub, 10))
	b.WriteString(" psub=" + strconv.FormatInt(psub, 10))
	b.WriteString(" ssub=" + strconv.FormatInt(ssub, 10) + " multi=" + strconv.FormatInt(multi, 10))
	qbuf, qbufFree := conn.QueryBuffer()
	rbs, rbp := conn.ReadBuffer()
	oll, omem := conn.OutputQueue()
	obl := 0
	if self {
		obl = len(conn.W.B) // another connection's is empty between its commands
	}
	events := "r"
	if omem > 0 {
		events = "rw"
	}
	// tot-mem: the buffers above and the connection's own state (about
	// 2 KB: the session, the reader, the writer).
	totMem := argvMem + multiMem + rbs + int64(conn.OutputMemory()+obl) + 2048
	b.WriteString(" qbuf=" + strconv.FormatInt(qbuf, 10))
	b.WriteString(" qbuf-free=" + strconv.FormatInt(qbufFree, 10))
	b.WriteString(" argv-mem=" + strconv.FormatInt(argvMem, 10))
	b.WriteString(" multi-mem=" + strconv.FormatInt(multiMem, 10))
	b.WriteString(" rbs=" + strconv.FormatInt(rbs, 10))
	b.WriteString(" rbp=" + strconv.FormatInt(rbp, 10))
	b.WriteString(" obl=" + strconv.Itoa(obl))
	b.WriteString(" oll=" + strconv.Itoa(oll))
	b.WriteString(" omem=" + strconv.Itoa(omem))
	b.WriteString(" tot-mem=" + strconv.FormatInt(totMem, 10))
	b.WriteString(" events=" + events)
	b.WriteString(" cmd=" + cmd + " user=default redir=" + strconv.FormatInt(redir, 10))
	b.WriteString(" resp=" + strconv.Itoa(conn.Proto()))
	b.WriteString(" lib-name=" + lib + " lib-ver=" + ver + "\n")
}

func cmdClientInfo(c *Ctx) {
	var b strings.Builder
	c.S.clientLine(c.Conn, true, &b)
	c.W.Verbatim("txt", b.String())
}

func cmdClientList(c *Ctx) {
	var typ string
	var ids map[uint64]bool
	for i := 2; i < len(c.Args); i++ {
		switch strings.ToLower(c.Arg(i)) {
		case "type":
			if i+1 >= len(c.Args) {
				c.W.Error("ERR syntax error")
				return
			}
			typ = strings.ToLower(c.Arg(i + 1))
			if typ != "normal" && typ != "pubsub" && typ != "master" && typ != "replica" {
				c.W.Error("ERR Unknown client type '" + c.Arg(i+1) + "'")
				return
			}
			i++
		case "id":
			if i+1 >= len(c.Args) {
				c.W.Error("ERR syntax error")
				return
			}
			ids = map[uint64]bool{}
			for i++; i < len(c.Args); i++ {
				id, err := strconv.ParseUint(c.Arg(i), 10, 64)
				if err != nil || id == 0 {
					c.W.Error("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.W.Error("ERR syntax error")
			return
		}
	}
	var b strings.Builder
	for _, conn := range c.S.net.Conns() {
		if ids != nil && !ids[conn.ID()] {
			continue
		}
		if typ != "" {
			sess, _ := conn.Session.(*Session)
			isPubSub := sess != nil && sess.subs.nChannels.Load()+sess.subs.nPatterns.Load() > 0
			if (typ == "pubsub") != isPubSub || typ == "master" || typ == "replica" {
				continue
			}
		}
		c.S.clientLine(conn, conn == c.Conn, &b)
	}
	c.W.Verbatim("txt", b.String())
}

func cmdClientKill(c *Ctx) {
	if len(c.Args) == 3 {
		// Old form: CLIENT KILL addr:port.
		for _, conn := range c.S.net.Conns() {
			if conn.RemoteAddr() == c.Arg(2) {
				if conn == c.Conn {
					c.Conn.CloseAfterReply()
				} else {
					conn.Kill()
				}
				c.W.OK()
				return
			}
		}
		c.W.Error("ERR No such client")
		return
	}
	if len(c.Args)%2 != 0 {
		c.W.Error("ERR syntax error")
		return
	}
	var id uint64
	var addr, laddr, typ string
	skipMe := true
	for i := 2; i < len(c.Args); i += 2 {
		v := c.Arg(i + 1)
		switch strings.ToLower(c.Arg(i)) {
		case "id":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				c.W.Error("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "type":
			typ = strings.ToLower(v)
			if typ != "normal" && typ != "pubsub" && typ != "master" && typ != "replica" && typ != "slave" {
				c.W.Error("ERR Unknown client type '" + v + "'")
				return
			}
		case "user":
			if v != "default" {
				c.W.Error("ERR No such user '" + v + "'")
				return
			}
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.W.Error("ERR syntax error")
				return
			}
		default:
			c.W.Error("ERR syntax error")
			return
		}
	}
	killed := 0
	for _, conn := range c.S.net.Conns() {
		if (id != 0 && conn.ID() != id) || (addr != "" && conn.RemoteAddr() != addr) || (laddr != "" && conn.LocalAddr() != laddr) {
			continue
		}
		if typ != "" {
			sess, _ := conn.Session.(*Session)
			isPubSub := sess != nil && sess.subs.nChannels.Load()+sess.subs.nPatterns.Load() > 0
			if (typ == "pubsub") != isPubSub || typ == "master" || typ == "replica" || typ == "slave" {
				continue
			}
		}
		if skipMe && conn == c.Conn {
			continue
		}
		if conn == c.Conn {
			c.Conn.CloseAfterReply()
		} else {
			conn.Kill()
		}
		killed++
	}
	c.W.Int(int64(killed))
}

func cmdClientHelp(c *Ctx) {
	if len(c.Args) == 1 || strings.ToLower(c.Arg(1)) != "help" {
		c.W.Error("ERR wrong number of arguments for 'client' command")
		return
	}
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
		"LIST [TYPE (NORMAL|PUBSUB)] [ID <id> [<id> ...]]", "    Return information about client connections.",
		"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]", "    Control server assisted client side caching.",
		"CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
		"TRACKINGINFO", "    Report tracking status for the current connection.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
		"UNPAUSE", "    Stop the current client pause, resuming traffic.",
		"NO-EVICT (ON|OFF)", "    Accepted: bucketd evicts no client for memory.",
		"NO-TOUCH (ON|OFF)", "    Accepted: bucketd tracks no access times.",
		"CONSISTENCY [EVENTUAL|STRONG]", "    Set (or show) how this connection's reads are served on a replicated node: STRONG reads are linearizable, served by the leader.",
		"HELP", "    Print this help.",
	}
	c.helpLines(lines)
}
