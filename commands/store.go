package commands

import (
	"fmt"

	"bucketd/engine"
)

func storeCommands() []*Command {
	const g = "store"
	return []*Command{
		{Name: "store.stats", Arity: 1, Flags: FlagReadOnly, Group: g, Summary: "Returns the store's statistics as JSON.", Run: cmdStoreStats},
		{Name: "store.check", Arity: 1, Flags: FlagReadOnly | FlagAdmin, Group: g, Summary: "Verifies that every bucket's indexes agree with its records.", Run: cmdStoreCheck},
		{Name: "store.purgettl", Arity: 1, Flags: FlagWrite | FlagNoMulti, Group: g, Summary: "Deletes every expired record now and returns the count.", Run: cmdPurgeTTL},
	}
}

func cmdPurgeTTL(c *Ctx) {
	c.W.Int(int64(c.S.store.PurgeExpired()))
}

func cmdStoreCheck(c *Ctx) {
	if err := c.S.store.Check(); err != nil {
		c.ErrMsg("invariant violated: " + err.Error())
		return
	}
	if n := engine.VerifyFailures(); n > 0 {
		c.ErrMsg(fmt.Sprintf("invariant violated: %d drafted writes differed from their plain build (verify mode; see the log)", n))
		return
	}
	c.W.OK()
}
