package commands

import (
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

func serverCommands() []*Command {
	return []*Command{
		{Name: "command", Arity: -1, Flags: FlagNoStore, Group: "server", Since: "2.8.13", Summary: "Returns detailed information about all commands.", Run: cmdCommand, Subs: map[string]*Command{
			"count":           {Arity: 2, Summary: "Returns a count of commands.", Run: cmdCommandCount},
			"info":            {Arity: -2, Summary: "Returns information about one, multiple or all commands.", Run: cmdCommandInfo},
			"docs":            {Arity: -2, Summary: "Returns documentary information about one, multiple or all commands.", Run: cmdCommandDocs},
			"list":            {Arity: -2, Summary: "Returns a list of command names.", Run: cmdCommandList},
			"getkeys":         {Arity: -3, Summary: "Extracts the key names from an arbitrary command.", Run: cmdCommandGetKeys(false)},
			"getkeysandflags": {Arity: -3, Summary: "Extracts the key names and access flags for an arbitrary command.", Run: cmdCommandGetKeys(true)},
			"help":            {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdCommandHelp},
		}},
		{Name: "info", Arity: -1, Group: "server", Since: "1.0.0", Syntax: "[section [section ...]]", Summary: "Returns information and statistics about the server.", Run: cmdInfo},
		{Name: "config", Arity: -2, Flags: FlagAdmin, Group: "server", Since: "2.0.0", Summary: "A container for server configuration commands.", Run: cmdConfigHelp, Subs: map[string]*Command{
			"get":       {Arity: -3, Summary: "Returns the effective values of configuration parameters.", Run: cmdConfigGet},
			"set":       {Arity: -4, Summary: "Sets configuration parameters in-flight.", Run: cmdConfigSet},
			"resetstat": {Arity: 2, Summary: "Resets the server's statistics.", Run: cmdConfigResetStat},
			"rewrite":   {Arity: 2, Summary: "Persists the effective configuration to file.", Run: cmdConfigRewrite},
			"help":      {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdConfigHelp},
		}},
		{Name: "dbsize", Arity: 1, Flags: FlagReadOnly | FlagFast, Group: "server", Since: "1.0.0", Summary: "Returns the number of records in all buckets.", Run: cmdDBSize},
		{Name: "flushdb", Arity: -1, Flags: FlagWrite, Group: "server", Since: "1.0.0", Syntax: "[ASYNC|SYNC]", Summary: "Empties every bucket, keeping the definitions (the one database: as FLUSHALL).", Run: cmdFlushAll},
		{Name: "flushall", Arity: -1, Flags: FlagWrite, Group: "server", Since: "1.0.0", Syntax: "[ASYNC|SYNC]", Summary: "Empties every bucket, keeping the definitions.", Run: cmdFlushAll},
		{Name: "monitor", Arity: 1, Flags: FlagAdmin | FlagNoMulti, Group: "server", Since: "1.0.0", Summary: "Streams every command the server runs, as Redis does.", Run: cmdMonitor},
		{Name: "time", Arity: 1, Flags: FlagNoStore | FlagFast | FlagScript, Group: "server", Since: "2.6.0", Summary: "Returns the server time.", Run: cmdTime},
		{Name: "shutdown", Arity: -1, Flags: FlagAdmin | FlagNoMulti, Group: "server", Since: "1.0.0", Syntax: "[NOSAVE|SAVE] [NOW] [FORCE]", Summary: "Stops the server after flushing what it persists.", Run: cmdShutdown},
		{Name: "slowlog", Arity: -2, Flags: FlagAdmin, Group: "server", Since: "2.2.12", Summary: "A container for slow log commands.", Run: cmdSlowlogHelp, Subs: map[string]*Command{
			"get":   {Arity: -2, Summary: "Returns the slow log's entries.", Run: cmdSlowlogGet},
			"len":   {Arity: 2, Summary: "Returns the number of entries in the slow log.", Run: cmdSlowlogLen},
			"reset": {Arity: 2, Summary: "Clears all entries from the slow log.", Run: cmdSlowlogReset},
			"help":  {Arity: 2, Summary: "Show helpful text about the different subcommands.", Run: cmdSlowlogHelp},
		}},
	}
}

// writeCommandInfo writes COMMAND's 10-element description of cmd.
func writeCommandInfo(c *Ctx, cmd *Command) {
	c.W.Array(10)
	c.W.BulkString(cmd.Name)
	c.W.Int(int64(cmd.Arity))
	flags := cmd.Flags.names()
	c.W.Set(len(flags))
	for _, f := range flags {
		c.W.Simple(f)
	}
	c.W.Int(int64(cmd.FirstKey))
	c.W.Int(int64(cmd.LastKey))
	c.W.Int(int64(cmd.Step))
	cats := aclCategories(cmd)
	c.W.Set(len(cats))
	for _, cat := range cats {
		c.W.Simple("@" + cat)
	}
	c.W.Set(0) // tips
	c.W.Array(0)
	subs := sortedSubs(cmd)
	c.W.Array(len(subs))
	for _, s := range subs {
		writeCommandInfo(c, s)
	}
}

func sortedSubs(cmd *Command) []*Command {
	out := make([]*Command, 0, len(cmd.Subs))
	for _, s := range cmd.Subs {
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func cmdCommand(c *Ctx) {
	all := c.S.table.Sorted()
	c.W.Array(len(all))
	for _, cmd := range all {
		writeCommandInfo(c, cmd)
	}
}

func cmdCommandCount(c *Ctx) { c.W.Int(int64(c.S.table.Len())) }

func cmdCommandInfo(c *Ctx) {
	if len(c.Args) == 2 {
		cmdCommand(c)
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, a := range c.Args[2:] {
		if cmd := c.S.table.lookup(a); cmd != nil {
			writeCommandInfo(c, cmd)
		} else {
			c.W.Null()
		}
	}
}

func writeDocs(c *Ctx, cmd *Command) {
	n := 3
	if cmd.Syntax != "" {
		n++
	}
	if len(cmd.Subs) > 0 {
		n++
	}
	if len(cmd.Arguments) > 0 {
		n++
	}
	c.W.Map(n)
	c.W.BulkString("summary")
	c.W.BulkString(cmd.Summary)
	c.W.BulkString("since")
	since := cmd.Since
	if since == "" {
		since = "0.1.0"
	}
	c.W.BulkString(since)
	c.W.BulkString("group")
	group := cmd.Group
	if group == "" {
		group = "server"
	}
	c.W.BulkString(group)
	if cmd.Syntax != "" {
		// bucketd's own field: the syntax in one line.
		c.W.BulkString("syntax")
		c.W.BulkString(cmd.Syntax)
	}
	if len(cmd.Arguments) > 0 {
		// redis-cli builds its help and hints from these.
		c.W.BulkString("arguments")
		writeArgs(c, cmd.Arguments)
	}
	if len(cmd.Subs) > 0 {
		subs := sortedSubs(cmd)
		c.W.BulkString("subcommands")
		c.W.Map(len(subs))
		for _, s := range subs {
			c.W.BulkString(s.Name)
			sub := *s
			sub.Group, sub.Since = cmd.Group, cmd.Since
			sub.Subs = nil
			writeDocs(c, &sub)
		}
	}
}

func cmdCommandDocs(c *Ctx) {
	var cmds []*Command
	if len(c.Args) == 2 {
		cmds = c.S.table.Sorted()
	} else {
		for _, a := range c.Args[2:] {
			if cmd := c.S.table.lookup(a); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.W.Map(len(cmds))
	for _, cmd := range cmds {
		c.W.BulkString(cmd.Name)
		writeDocs(c, cmd)
	}
}

func cmdCommandHelp(c *Ctx) {
	lines := []string{
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands in this server.",
		"LIST", "    Return a list of all commands in this server.",
		"INFO [<command-name> ...]", "    Return details about multiple commands.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
		"HELP", "    Print this help.",
	}
	c.helpLines(lines)
}

func cmdDBSize(c *Ctx) {
	total := 0
	for _, name := range c.S.store.List() {
		if n, err := c.S.store.Count(nil, name, nil); err == nil {
			total += n
		}
	}
	c.W.Int(int64(total))
}

func cmdFlushAll(c *Ctx) {
	if len(c.Args) > 2 {
		c.W.Error("ERR syntax error")
		return
	}
	if len(c.Args) == 2 {
		if m := strings.ToLower(c.Arg(1)); m != "async" && m != "sync" {
			c.W.Error("ERR syntax error")
			return
		}
	}
	if _, err := c.S.store.FlushAll(); err != nil {
		c.Err(err)
		return
	}
	c.W.OK()
}

func cmdTime(c *Ctx) {
	now := time.Now()
	c.W.Array(2)
	c.W.BulkString(strconv.FormatInt(now.Unix(), 10))
	c.W.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func cmdShutdown(c *Ctx) {
	save := true
	for _, a := range c.Args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			save = false
		case "save", "now", "force":
		case "abort":
			c.W.Error("ERR No shutdown in progress.")
			return
		default:
			c.W.Error("ERR syntax error")
			return
		}
	}
	c.S.shutdownMu.Lock()
	fn := c.S.onShutdown
	c.S.shutdownMu.Unlock()
	if fn == nil {
		c.W.Error("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	c.S.log.Info().Bool("save", save).Uint64("client", c.Conn.ID()).Msg("SHUTDOWN requested by a client")
	// Like Redis, no reply: the connection closes when the server stops.
	go fn(save)
	c.Conn.CloseAfterReply()
}

// applyLogLevel applies the configured log level.
func (s *Server) applyLogLevel() {
	lvl := zerolog.InfoLevel
	switch s.Config().LogLevel {
	case "debug", "verbose":
		lvl = zerolog.DebugLevel
	case "warn", "warning":
		lvl = zerolog.WarnLevel
	case "error":
		lvl = zerolog.ErrorLevel
	}
	zerolog.SetGlobalLevel(lvl)
}
