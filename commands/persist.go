package commands

import (
	"errors"
	"strconv"

	"bucketd/cluster"
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

// pers returns the persistence layer, nil when appendonly is off; CONFIG
// SET appendonly may change it at any time, so a caller reads it once.
func (s *Server) pers() *snapshot.Persistence { return s.persistPtr.Load() }

// SetPersistence connects the server to the persistence layer (nil when
// --appendonly no): from then on query definitions are logged too.
func (s *Server) SetPersistence(p *snapshot.Persistence) {
	s.persistPtr.Store(p)
	if p != nil {
		p.SetSavePoints(savePoints(s.Config().Save))
	}
}

// queryDefined is the live manager's OnDefinitionChange hook: a query
// definition is logged when persistence is on, whichever is in force.
func (s *Server) queryDefined(name string, definition []byte) {
	if s.cluster != nil {
		if err := s.cluster.LogQuery(name, definition); err != nil {
			s.log.Warn().Err(err).Str("query", name).Msg("the query's definition was not replicated")
		}
		return
	}
	if p := s.pers(); p != nil {
		p.QueryDefined(name, definition)
	}
}

// Persistence returns the persistence layer in force, nil when appendonly
// is off (main closes it at shutdown).
func (s *Server) Persistence() *snapshot.Persistence { return s.pers() }

// setAppendOnly turns the append-only file on or off at run time (CONFIG
// SET appendonly), as Redis does: on, a snapshot of the data in memory
// replaces what the directory held and every later commit is logged
// (snapshot.Start); off, logging stops and the files are flushed and kept
// (Persistence.Stop).
func (s *Server) setAppendOnly(cfg Config) error {
	if s.cluster != nil && cfg.AppendOnly {
		return errors.New("a replicated node keeps its data in its Raft log and snapshots, not an append-only file")
	}
	cur := s.pers()
	switch {
	case cfg.AppendOnly && cur == nil:
		p, err := snapshot.Start(s.store, s.QueryPersistence(), snapshot.Options{Dir: cfg.Dir, Fsync: cfg.AppendFsync, Log: s.log,
			Functions: s.FunctionPersistence(), AutoRewriteMinSize: cfg.AutoAOFRewriteMinSize, AutoRewritePercent: cfg.AutoAOFRewritePercentage})
		if err != nil {
			return err
		}
		p.SetSavePoints(savePoints(cfg.Save)) // not SetPersistence: CONFIG SET holds the config's lock
		s.persistPtr.Store(p)
	case !cfg.AppendOnly && cur != nil:
		s.persistPtr.Store(nil)
		return cur.Stop()
	}
	return nil
}

func (c *Ctx) persistence() *snapshot.Persistence {
	if c.S.pers() == nil {
		c.ErrMsg("persistence is off (--appendonly no): data lives in memory only")
		return nil
	}
	return c.S.pers()
}

// raftSnapshot is SAVE, BGSAVE and BGREWRITEAOF on a replicated node: a
// Raft snapshot, which lets Raft drop the log before it. It reports
// whether the node is replicated (and the reply written).
func raftSnapshot(c *Ctx, wait bool, started string) bool {
	n := c.S.cluster
	if n == nil {
		return false
	}
	if !wait {
		log := c.S.log // c is reused once this returns
		go func() {
			if err := n.Snapshot(); err != nil && !cluster.NothingToSnapshot(err) {
				log.Warn().Err(err).Msg("raft snapshot failed")
			}
		}()
		c.W.Simple(started)
		return true
	}
	if err := n.Snapshot(); err != nil && !cluster.NothingToSnapshot(err) {
		c.ErrMsg(err.Error())
		return true
	}
	c.W.OK()
	return true
}

func cmdSave(c *Ctx) {
	if raftSnapshot(c, true, "") {
		return
	}
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
	if raftSnapshot(c, false, "Background saving started") {
		return
	}
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
	if raftSnapshot(c, false, "Background append only file rewriting started") {
		return
	}
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
	if c.S.pers() == nil {
		c.W.Int(c.S.started.Unix())
		return
	}
	t := c.S.pers().LastSave()
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
	p := s.pers()
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
	field("aof_commits", in.Commits)
	field("aof_writes", in.Writes)
	field("aof_fsyncs", in.Fsyncs)
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
	field("loading_huge_pages_bytes", in.LoadHugePages)
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
