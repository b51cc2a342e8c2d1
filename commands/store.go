package commands

func storeCommands() []*Command {
	const g = "store"
	return []*Command{
		{Name: "store.purgettl", Arity: 1, Flags: FlagWrite | FlagNoMulti, Group: g, Summary: "Deletes every expired record now and returns the count.", Run: cmdPurgeTTL},
	}
}

func cmdPurgeTTL(c *Ctx) {
	c.W.Int(int64(c.S.store.PurgeExpired()))
}
