package snapshot

import (
	"os"
	"path/filepath"
	"slices"
	"time"

	"bucketd/engine"
)

// Start begins persisting a store that is already in memory (CONFIG SET
// appendonly yes, docs/persistence.md "Turning the append-only file on
// and off"), as Redis does: what opts.Dir held is replaced by a snapshot
// of the store's state and a new append-only file, and every commit from
// then on is logged. The switch to logging happens inside
// engine.Store.Capture, so that the snapshot and the new file meet
// exactly; Start returns once the snapshot is written and the manifest
// names it. A crash before that leaves the old files as they were, beside
// the new generation's, which start-up refuses until they are moved away
// (docs/persistence.md, "Turning the append-only file on and off"). A
// directory that would not load (files without a manifest, a manifest
// naming missing files) is refused, and nothing changes.
func Start(store *engine.Store, queries Queries, opts Options) (*Persistence, error) {
	p, err := newPersistence(store, queries, opts)
	if err != nil {
		return nil, err
	}
	opts = p.opts
	fail := func(err error) (*Persistence, error) {
		p.lock.Unlock()
		return nil, err
	}
	old, err := readManifest(opts.Dir)
	if err != nil {
		return fail(err)
	}
	leftovers, err := checkDir(opts.Dir, old)
	if err != nil {
		return fail(err)
	}
	gen := 1
	if old != nil {
		gen = old.Generation + 1
		leftovers = append(leftovers, old.AOF...)
		if old.Snapshot != "" {
			leftovers = append(leftovers, old.Snapshot)
		}
	}
	aofPath := filepath.Join(opts.Dir, aofName(gen))
	if i := slices.Index(leftovers, aofName(gen)); i >= 0 {
		// An interrupted rewrite's empty file (checkDir) has the name: it
		// goes now, and is no leftover to remove once the new one is named.
		os.Remove(aofPath)
		leftovers = slices.Delete(leftovers, i, i+1)
	}
	f, err := os.OpenFile(aofPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(err)
	}
	p.aof = newAOF(f, 0, opts.Fsync, p.log)
	p.man = &manifest{Version: 1, Generation: gen, Snapshot: snapshotName(gen), AOF: []string{aofName(gen)}}
	var defs []NamedDef
	var functions []byte
	images := store.Capture(func() {
		store.SetJournal(p.aof) // from here every commit is logged, after the image
		if queries.List != nil {
			defs = queries.List()
		}
		if opts.Functions.Dump != nil {
			functions = opts.Functions.Dump()
		}
	})
	size, err := writeSnapshot(opts.Dir, p.man.Snapshot, images, defs, functions, opts.Now())
	engine.ReleaseImages(images)
	if err == nil {
		err = writeManifest(opts.Dir, p.man)
	}
	if err != nil {
		// Stop logging (under the same critical section), and leave the
		// directory as it was.
		store.Quiesce(func() { store.SetJournal(nil) })
		p.aof.close()
		os.Remove(aofPath)
		os.Remove(filepath.Join(opts.Dir, p.man.Snapshot))
		return fail(err)
	}
	for _, name := range leftovers {
		os.Remove(filepath.Join(opts.Dir, name))
	}
	p.snapSize, p.olderSize, p.baseSize = size, 0, size
	p.lastSave = time.Now()
	p.wg.Add(1)
	go p.autoRewrite()
	p.log.Info().Str("dir", opts.Dir).Int("generation", gen).Str("appendfsync", opts.Fsync).
		Msg("append-only file started from the data in memory")
	return p, nil
}

// Stop ends persistence at run time (CONFIG SET appendonly no): commits
// stop being logged, inside engine.Store.Quiesce so that none is half
// logged, then the files are flushed, fsynced and closed, and kept, with
// everything logged until then.
func (p *Persistence) Stop() error {
	p.store.Quiesce(func() { p.store.SetJournal(nil) })
	return p.Close(false)
}
