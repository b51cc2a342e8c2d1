package commands

import (
	"strconv"
	"strings"
	"time"
)

func debugCommands() []*Command {
	return []*Command{
		{Name: "debug", Arity: -2, Flags: FlagAdmin | FlagNoMulti, Group: "server", Since: "1.0.0", Syntax: "PANIC-BUCKET bucket | SLEEP seconds | HELP", Summary: "Debugging commands, allowed with --enable-debug-command yes.", Run: cmdDebug},
	}
}

func cmdDebug(c *Ctx) {
	if !c.S.Config().EnableDebug {
		c.ErrMsg(`DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`)
		return
	}
	switch strings.ToLower(c.Arg(1)) {
	case "panic-bucket":
		if len(c.Args) != 3 {
			c.ErrMsg("wrong number of arguments for 'debug|panic-bucket' command")
			return
		}
		if err := c.S.store.PanicBucket(c.Arg(2)); err != nil {
			c.Err(err)
			return
		}
		c.W.OK()
	case "sleep":
		if len(c.Args) != 3 {
			c.ErrMsg("wrong number of arguments for 'debug|sleep' command")
			return
		}
		secs, err := strconv.ParseFloat(c.Arg(2), 64)
		if err != nil || secs < 0 || secs > 3600 {
			c.ErrMsg("value is not a valid float")
			return
		}
		time.Sleep(time.Duration(secs * float64(time.Second)))
		c.W.OK()
	case "help":
		lines := []string{
			"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"PANIC-BUCKET <bucket>", "    Make the bucket's next write crash, to exercise supervision.",
			"SLEEP <seconds>", "    Stop the connection for <seconds> (may be fractional).",
			"HELP", "    Print this help.",
		}
		c.W.Array(len(lines))
		for _, l := range lines {
			c.W.Simple(l)
		}
	default:
		c.W.Error("ERR unknown subcommand '" + abbreviate(c.Args[1]) + "'. Try DEBUG HELP.")
	}
}
