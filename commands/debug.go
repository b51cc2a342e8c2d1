package commands

import (
	"strconv"
	"strings"
	"time"
)

func debugCommands() []*Command {
	return []*Command{
		{Name: "debug", Arity: -2, Flags: FlagAdmin, Group: "server", Since: "1.0.0", Syntax: "PANIC-BUCKET bucket | SCAN-PAUSE bucket | SCAN-PAUSED bucket | SCAN-RESUME bucket | SLEEP seconds | HELP", Summary: "Debugging commands, allowed with --enable-debug-command yes.", Run: cmdDebug},
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
	case "scan-pause", "scan-paused", "scan-resume":
		sub := strings.ToLower(c.Arg(1))
		if len(c.Args) != 3 {
			c.ErrMsg("wrong number of arguments for 'debug|" + sub + "' command")
			return
		}
		var n int
		var err error
		switch sub {
		case "scan-pause":
			err = c.S.store.PauseScans(c.Arg(2))
		case "scan-paused":
			n, err = c.S.store.PausedScans(c.Arg(2))
		default:
			n, err = c.S.store.ResumeScans(c.Arg(2))
		}
		switch {
		case err != nil:
			c.Err(err)
		case sub == "scan-pause":
			c.W.OK()
		default:
			c.W.Int(int64(n))
		}
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
			"SCAN-PAUSE <bucket>", "    Stop the bucket's next read that scans without its lock, until SCAN-RESUME.",
			"SCAN-PAUSED <bucket>", "    Return how many reads of the bucket are stopped now.",
			"SCAN-RESUME <bucket>", "    Let the stopped reads go on; return how many there were.",
			"SLEEP <seconds>", "    Stop the connection for <seconds> (may be fractional).",
			"HELP", "    Print this help.",
		}
		c.helpLines(lines)
	default:
		c.W.Error("ERR unknown subcommand '" + abbreviate(c.Args[1]) + "'. Try DEBUG HELP.")
	}
}
