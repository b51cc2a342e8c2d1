package snapshot

import (
	"os"
	"path/filepath"
	"time"

	"bucketd/engine"
)

// Rewrite writes a new snapshot and starts a new append-only file
// (BGREWRITEAOF, BGSAVE, SAVE). Writers are held only while the buckets'
// trees are frozen and the file is switched; the snapshot is written after
// that, from the frozen trees (engine.Store.Capture), while writes go on
// into the new file. With wait false it returns once the switch is done and the
// snapshot is written in the background.
func (p *Persistence) Rewrite(wait bool) error { return p.rewrite(wait, false) }

// rewrite is Rewrite; final is Close's own (SHUTDOWN SAVE), the one rewrite
// that starts once Close has begun. Close waits for the others, so that
// none writes in the directory after its lock is released.
func (p *Persistence) rewrite(wait, final bool) error {
	p.mu.Lock()
	if p.closing && !final {
		p.mu.Unlock()
		return errClosed
	}
	if p.rewriting {
		p.mu.Unlock()
		return ErrRewriteInProgress
	}
	p.rewriting = true
	p.wg.Add(1) // Close waits for this part too
	defer p.wg.Done()
	gen := p.man.Generation + 1
	p.mu.Unlock()

	started := time.Now()
	// O_EXCL: a rewrite never truncates a file it did not create.
	nextPath := filepath.Join(p.opts.Dir, aofName(gen))
	next, err := os.OpenFile(nextPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		p.finishRewrite(started, err)
		return err
	}
	// The manifest names the new file before anything is written to it:
	// the chain is then old snapshot, old files, new file. A crash before
	// the switch leaves the new file empty, and the last file with data
	// is read as the last (lastWithData). If the manifest cannot be
	// written, nothing switches. It is written before Capture, so that
	// its fsyncs hold no writer.
	p.mu.Lock()
	man := *p.man
	man.AOF = append(append([]string(nil), p.man.AOF...), aofName(gen))
	man.Generation = gen
	p.mu.Unlock()
	if err := writeManifest(p.opts.Dir, &man); err != nil {
		next.Close()
		p.manifestNotWritten(gen, nextPath)
		p.finishRewrite(started, err)
		return err
	}
	var queries []NamedDef
	var functions []byte
	var rerr error
	images := p.store.Capture(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		old := p.aof.size() // the old file's size with what is buffered for it
		if rerr = p.aof.rotate(next); rerr != nil {
			// The manifest lists an empty new file after the old one,
			// which loads as it is; keep it, and keep appending to the old.
			p.man.AOF, p.man.Generation = man.AOF[:len(man.AOF)-1], gen
			return
		}
		*p.man = man
		p.olderSize += old
		if p.queries.List != nil {
			queries = p.queries.List()
		}
		if p.opts.Functions.Dump != nil {
			functions = p.opts.Functions.Dump()
		}
	})
	if rerr != nil {
		engine.ReleaseImages(images)
		next.Close() // the manifest names it: it stays, empty
		p.finishRewrite(started, rerr)
		return rerr
	}
	now := p.opts.Now()
	do := func() error {
		size, err := writeSnapshot(p.opts.Dir, snapshotName(gen), images, queries, functions, now)
		engine.ReleaseImages(images)
		if err == nil {
			p.mu.Lock()
			old := append([]string{p.man.Snapshot}, p.man.AOF[:len(p.man.AOF)-1]...)
			p.man.Snapshot = snapshotName(gen)
			p.man.AOF = []string{aofName(gen)}
			err = writeManifest(p.opts.Dir, p.man)
			if err == nil {
				p.snapSize, p.olderSize = size, 0
				p.baseSize = size + p.aof.size()
			}
			p.mu.Unlock()
			if err == nil {
				for _, f := range old {
					if f != "" {
						os.Remove(filepath.Join(p.opts.Dir, f))
					}
				}
			}
		}
		p.finishRewrite(started, err)
		return err
	}
	if wait {
		return do()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		do()
	}()
	return nil
}

// manifestNotWritten undoes a rewrite whose manifest naming its new file,
// nextPath of generation gen, failed: the file is removed, unless the
// manifest was renamed into place and only the directory's fsync failed.
// The manifest on disk may then name the (empty) file, so it stays, and
// the next rewrite takes the generation after it; appends go on into the
// current file either way.
func (p *Persistence) manifestNotWritten(gen int, nextPath string) {
	if m, err := readManifest(p.opts.Dir); err == nil && m != nil && m.named(filepath.Base(nextPath)) {
		p.mu.Lock()
		p.man.Generation = gen
		p.mu.Unlock()
		return
	}
	os.Remove(nextPath) // ours, and no manifest names it
}

func (p *Persistence) finishRewrite(started time.Time, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewriting = false
	p.lastRewriteMs = time.Since(started).Milliseconds()
	if err != nil {
		p.lastStatus = "err"
		p.log.Error().Err(err).Msg("rewrite (snapshot + new append-only file) failed")
		return
	}
	p.lastStatus = "ok"
	p.lastSave = time.Now()
	p.log.Info().Int64("took_ms", p.lastRewriteMs).Str("snapshot", p.man.Snapshot).Msg("snapshot written; append-only file restarted")
}

// autoRewrite starts a rewrite when the data files have passed the
// minimum size and grown by the percentage since the last start-up or
// rewrite (rewriteDue), or when a save point is reached.
func (p *Persistence) autoRewrite() {
	defer p.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		size := p.aof.size()
		switch {
		case p.rewriteDue(size):
			p.log.Info().Int64("aof_size", size).Int64("data_size", p.Info().CurrentSize).Msg("starting automatic rewrite")
			p.Rewrite(false)
		case p.saveDue(time.Now()):
			p.log.Info().Msg("starting a snapshot for a save point")
			p.Rewrite(false)
		}
	}
}

// rewriteDue says whether a current append-only file of size bytes calls
// for an automatic rewrite. The rule is Redis 7's (serverCron): the data
// files together (snapshot and append-only files: Redis's base and
// increments, its aof_current_size) are past auto-aof-rewrite-min-size
// and have grown by auto-aof-rewrite-percentage over their size at the
// last start-up or rewrite (aof_base_size).
func (p *Persistence) rewriteDue(size int64) bool {
	minSize, pct := p.autoMin.Load(), p.autoPct.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	total := p.snapSize + p.olderSize + size
	return pct > 0 && !p.rewriting && total > minSize && total*100 >= max(p.baseSize, 1)*(100+pct)
}

// SavePoint is one of Redis's save points: a snapshot is due when at least
// Changes entries were appended since the last one and Seconds have
// passed since it.
type SavePoint struct {
	Seconds, Changes int64
}

// SetSavePoints sets the save points (CONFIG SET save); none turns them
// off. The automatic-rewrite goroutine checks them each second.
func (p *Persistence) SetSavePoints(points []SavePoint) {
	cp := append([]SavePoint(nil), points...)
	p.savePoints.Store(&cp)
}

// saveDue says whether a save point calls for a snapshot now.
func (p *Persistence) saveDue(now time.Time) bool {
	points := p.savePoints.Load()
	if points == nil || len(*points) == 0 {
		return false
	}
	p.aof.mu.Lock()
	changes := p.aof.entries
	p.aof.mu.Unlock()
	p.mu.Lock()
	since, rewriting := now.Sub(p.lastSave), p.rewriting
	p.mu.Unlock()
	if rewriting || changes == 0 {
		return false
	}
	for _, sp := range *points {
		if changes >= sp.Changes && since >= time.Duration(sp.Seconds)*time.Second {
			return true
		}
	}
	return false
}

// SetAutoRewrite sets when automatic rewrites start (see
// Options.AutoRewriteMinSize): percent 0 turns them off.
func (p *Persistence) SetAutoRewrite(minSize, percent int64) {
	p.autoMin.Store(minSize)
	p.autoPct.Store(percent)
}

// QueryDefined logs a query definition (definition nil: dropped). It is
// ordered with rotation, so a definition is in the snapshot or after it.
func (p *Persistence) QueryDefined(name string, definition []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.aof.queryDefined(name, definition); err != nil {
		p.log.Error().Err(err).Str("query", name).Msg("could not journal a query definition")
	}
}

// LogFunctions logs the function libraries after a change (payload: all
// of them). It is ordered with rotation, so a change is in the snapshot or
// after it; under appendfsync always it returns once the entry is on disk.
func (p *Persistence) LogFunctions(payload []byte) error {
	p.mu.Lock()
	err := p.aof.functionsChanged(payload)
	mark := p.aof.mark()
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if p.aof.pol() == FsyncAlways {
		return p.aof.waitDurable(mark)
	}
	return nil
}

// Mark returns a position in the append-only stream that covers every
// commit so far.
func (p *Persistence) Mark() int64 { return p.aof.mark() }

// WaitDurable waits until the commits up to mark are on disk (under
// appendfsync always) and returns the write error that prevents it.
func (p *Persistence) WaitDurable(mark int64) error { return p.aof.waitDurable(mark) }

// Failure returns the standing write error, if any: writes are refused
// while it lasts.
func (p *Persistence) Failure() error { return p.aof.failure() }

// WaitWritten waits until the commits up to mark are written to the
// append-only file (under everysec and no; see aof.waitWritten), or
// returns the standing write error.
func (p *Persistence) WaitWritten(mark int64) error { return p.aof.waitWritten(mark) }

// Policy returns the appendfsync policy.
func (p *Persistence) Policy() string { return p.aof.pol() }

// SetPolicy changes the appendfsync policy at run time (CONFIG SET
// appendfsync).
func (p *Persistence) SetPolicy(policy string) { p.aof.setPolicy(policy) }

// LastSave returns the time of the last successful snapshot (zero: none
// since start).
func (p *Persistence) LastSave() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastSave
}

// Info is what INFO persistence reports.
type Info struct {
	RewriteInProgress bool
	LastRewriteStatus string
	LastRewriteMs     int64
	LastWriteStatus   string
	// PendingBytes are appended (committed) and not yet written to the
	// file: during a write failure, the commits waiting for a retry.
	PendingBytes int64
	// Commits, Writes and Fsyncs count the entries appended, the write
	// calls and the fsyncs of the append-only file since start-up.
	Commits, Writes, Fsyncs int64
	// SnapshotSize and AOFSize are the bytes of the snapshot and of the
	// append-only files (buffered bytes included); CurrentSize is their
	// sum and BaseSize the sum at the last start-up or rewrite: Redis's
	// aof_current_size and aof_base_size, which the automatic rewrite
	// compares.
	SnapshotSize, AOFSize int64
	CurrentSize           int64
	BaseSize              int64
	ChangesSinceSave      int64
	LastSave              time.Time
	Fsync                 string
	LoadedRecords         int64
	LoadTime              time.Duration
	// LoadHugePages is the heap advised for huge pages during the load
	// (adviseLoad), 0 when none was.
	LoadHugePages int64
	Files         []string
}

// Info returns the persistence figures.
func (p *Persistence) Info() Info {
	size := p.aof.size()
	wstatus := "ok"
	if p.aof.failure() != nil {
		wstatus = "err"
	}
	p.aof.mu.Lock()
	changes := p.aof.entries
	pending := p.aof.appended - p.aof.written
	commits, writes, fsyncs := p.aof.commits, p.aof.writes, p.aof.fsyncs
	p.aof.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	files := append([]string{}, p.man.AOF...)
	if p.man.Snapshot != "" {
		files = append([]string{p.man.Snapshot}, files...)
	}
	return Info{
		RewriteInProgress: p.rewriting, LastRewriteStatus: p.lastStatus, LastRewriteMs: p.lastRewriteMs,
		LastWriteStatus: wstatus, PendingBytes: pending,
		Commits: commits, Writes: writes, Fsyncs: fsyncs, SnapshotSize: p.snapSize, AOFSize: p.olderSize + size,
		CurrentSize: p.snapSize + p.olderSize + size, BaseSize: p.baseSize, ChangesSinceSave: changes,
		LastSave: p.lastSave, Fsync: p.aof.pol(), LoadedRecords: p.loadedRecords, LoadTime: p.loadTime,
		LoadHugePages: p.hugeAdvised, Files: files,
	}
}

// Close stops automatic rewrites, refuses new ones and waits for a running
// one, writes a snapshot when save is true, then flushes, fsyncs and
// closes the append-only file: nothing acknowledged is lost by a clean
// stop.
func (p *Persistence) Close(save bool) error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	if save {
		if err := p.rewrite(true, true); err != nil {
			p.log.Error().Err(err).Msg("snapshot at shutdown failed; the append-only file still holds every change")
		}
	}
	err := p.aof.close()
	p.lock.Unlock()
	return err
}

// Unsynced returns the bytes appended but not yet known to be on disk
// (the persistence lag).
func (p *Persistence) Unsynced() int64 {
	p.aof.mu.Lock()
	defer p.aof.mu.Unlock()
	return p.aof.appended - p.aof.synced
}
