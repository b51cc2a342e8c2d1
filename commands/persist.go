package commands

import (
	"strconv"

	"bucketd/script"
	"bucketd/snapshot"
)

func persistCommands() []*Command {
	const g = "server"
	return []*Command{
		{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoMulti, Group: g, Since: "1.0.0", Summary: "Writes a snapshot and starts a new append-only file, synchronously.", Run: cmdSave},
		{Name: "bgsave", Arity: -1, Flags: FlagAdmin, Group: g, Since: "1.0.0", Syntax: "[SCHEDULE]", Summary: "Writes a snapshot in the background.", Run: cmdBgSave},
		{Name: "bgrewriteaof", Arity: 1, Flags: FlagAdmin, Group: g, Since: "1.0.0", Summary: "Compacts the append-only file into a snapshot, in the background.", Run: cmdBgRewriteAOF},
		{Name: "lastsave", Arity: 1, Flags: FlagFast, Group: g, Since: "1.0.0", Summary: "Returns the Unix time of the last successful snapshot.", Run: cmdLastSave},
	}
}

// SetPersistence connects the server to the persistence layer (nil when
// --appendonly no): from then on query definitions are logged too.
func (s *Server) SetPersistence(p *snapshot.Persistence) {
	s.persist = p
	if p != nil {
		s.queries.OnDefinitionChange = p.QueryDefined
		p.SetSavePoints(savePoints(s.Config().Save))
	}
}

func (c *Ctx) persistence() *snapshot.Persistence {
	if c.S.persist == nil {
		c.ErrMsg("persistence is off (--appendonly no): data lives in memory only")
		return nil
	}
	return c.S.persist
}

func cmdSave(c *Ctx) {
	p := c.persistence()
	if p == nil {
		return
	}
	if err := p.Rewrite(true); err != nil {
		c.ErrMsg(err.Error())
		return
	}
	c.W.OK()
}

func cmdBgSave(c *Ctx) {
	p := c.persistence()
	if p == nil {
		return
	}
	if err := p.Rewrite(false); err != nil {
		if err == snapshot.ErrRewriteInProgress {
			c.ErrMsg("Background save already in progress")
			return
		}
		c.ErrMsg(err.Error())
		return
	}
	c.W.Simple("Background saving started")
}

func cmdBgRewriteAOF(c *Ctx) {
	p := c.persistence()
	if p == nil {
		return
	}
	if err := p.Rewrite(false); err != nil {
		c.ErrMsg(err.Error())
		return
	}
	c.W.Simple("Background append only file rewriting started")
}

func cmdLastSave(c *Ctx) {
	if c.S.persist == nil {
		c.W.Int(c.S.started.Unix())
		return
	}
	t := c.S.persist.LastSave()
	if t.IsZero() {
		t = c.S.started
	}
	c.W.Int(t.Unix())
}

// misconf is the reply to writes while the disk refuses them.
func misconf(err error) string {
	return "MISCONF Errors writing to the AOF file: " + oneLine(err.Error())
}

func infoPersistenceFields(s *Server, field func(string, any)) {
	p := s.persist
	if p == nil {
		field("aof_enabled", 0)
		return
	}
	in := p.Info()
	field("aof_enabled", 1)
	field("aof_fsync", in.Fsync)
	field("aof_rewrite_in_progress", boolInt(in.RewriteInProgress))
	field("aof_last_rewrite_time_sec", in.LastRewriteMs/1000)
	field("aof_last_bgrewrite_status", in.LastRewriteStatus)
	field("aof_last_write_status", in.LastWriteStatus)
	field("aof_pending_bytes", in.PendingBytes)
	field("aof_current_size", in.CurrentSize)
	field("aof_base_size", in.BaseSize)
	field("rdb_changes_since_last_save", in.ChangesSinceSave)
	field("rdb_bgsave_in_progress", boolInt(in.RewriteInProgress))
	field("rdb_last_bgsave_status", in.LastRewriteStatus)
	last := in.LastSave
	if last.IsZero() {
		last = s.started
	}
	field("rdb_last_save_time", last.Unix())
	field("loaded_records", in.LoadedRecords)
	field("loading_time_ms", strconv.FormatInt(in.LoadTime.Milliseconds(), 10))
	field("data_files", joinComma(in.Files))
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// FunctionPersistence is how persistence saves and restores the function
// libraries: as one FUNCTION DUMP payload, restored with the FLUSH policy.
// A snapshot has them only when there are libraries.
func (s *Server) FunctionPersistence() snapshot.Functions {
	return snapshot.Functions{
		Dump: func() []byte {
			if libs, _ := s.scripts.LibraryCounts(); libs == 0 {
				return nil
			}
			return s.scripts.Dump()
		},
		Restore: func(payload []byte) error { return s.scripts.Restore(payload, script.RestoreFlush) },
	}
}

// QueryPersistence returns how persistence lists and restores the reactive
// query definitions.
func (s *Server) QueryPersistence() snapshot.Queries {
	return snapshot.Queries{
		List: func() []snapshot.NamedDef {
			defs := s.queries.Definitions()
			out := make([]snapshot.NamedDef, len(defs))
			for i, d := range defs {
				out[i] = snapshot.NamedDef{Name: d.Name, JSON: d.JSON}
			}
			return out
		},
		Restore: s.queries.Restore,
	}
}
