package commands

import "runtime/debug"

func memoryCommands() []*Command {
	return []*Command{
		{Name: "memory", Arity: -2, Group: "server", Since: "4.0.0", Summary: "A container for memory diagnostics commands.", Run: cmdMemoryHelp, Subs: map[string]*Command{
			"usage": {Arity: -3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Summary: "Estimates the memory a record takes.", Run: cmdMemoryUsage},
			"purge": {Arity: 2, Summary: "Collects garbage and returns the freed memory to the operating system.", Run: cmdMemoryPurge},
			"help":  {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdMemoryHelp},
		}},
	}
}

// cmdMemoryPurge runs a garbage collection and returns what it frees to
// the operating system, so that used_memory_rss then counts live data
// only (Redis's MEMORY PURGE asks its allocator the same). It blocks this
// connection for the collection, not the others.
func cmdMemoryPurge(c *Ctx) {
	debug.FreeOSMemory()
	c.W.OK()
}

func cmdMemoryHelp(c *Ctx) {
	lines := []string{
		"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"USAGE <key> [SAMPLES <count>]", "    Return the estimated bytes a record takes (SAMPLES is accepted and ignored).",
		"PURGE", "    Collect garbage and return the freed memory to the operating system.",
		"HELP", "    Print this help.",
	}
	c.helpLines(lines)
}
