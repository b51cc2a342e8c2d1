package live

import (
	"runtime/debug"
	"sync"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// bucketWatch is the manager's bookkeeping for one bucket that live
// channels read: their registrations, and the insertion ranks of the
// bucket's records while some registration needs positions.
type bucketWatch struct {
	name string

	// mu guards every field below and the fields of the registrations.
	// The observer holds it (under the bucket's write lock) while it folds
	// one commit's changes into every registration, so a worker never sees
	// half a transaction.
	mu        sync.Mutex
	regs      []*reg
	waiting   []*channel // channels whose bucket did not exist when read
	ranks     map[any]uint64
	nextRank  uint64
	rankUsers int  // registrations that need positions
	ordered   bool // the bucket is ordered by key (known once read)
	dead      bool // retired: a new watch replaces it

	// The read sets of function channels (readset.go): registrations that
	// read every record, by key read, filters indexed by an equality they
	// imply (field, value), and the other filters.
	fregs  map[*fnReg]struct{}
	fwhole map[*fnReg]struct{}
	fkeys  map[any]map[*fnReg]struct{}
	feq    map[string]map[any]map[*fnFilter]struct{}
	fscan  map[*fnFilter]struct{}
}

// reg is a channel's registration with its bucket watch. Its fields are
// guarded by the watch's mu.
type reg struct {
	ch      *channel
	bw      *bucketWatch
	q       *query.Query
	needPos bool
	st      state // nil until the first full read completes

	full       bool       // the state cannot be maintained: read the bucket
	rebuilding bool       // a full read is in progress: changes go to log
	log        []logEntry // changes since the full read's reading
	touched    bool       // changed during the current commit
}

// logEntry is a change recorded while the state is being rebuilt, with
// what the observer knew when it happened.
type logEntry struct {
	c   engine.Change
	in  bool
	pos position
}

// pos returns the position of key in the bucket's order. bw.mu must be
// held.
func (bw *bucketWatch) pos(key jsonv.Value) position {
	if bw.ordered {
		return position{key: key, ok: true}
	}
	r, ok := bw.ranks[key]
	return position{rank: r, ok: ok}
}

// Committed implements engine.Observer: it folds the changes into the
// state of every live channel that reads their buckets and schedules the
// channels whose result may have changed. It runs with the written buckets
// locked, so it only does map look-ups, filter matches and small updates;
// it never blocks and never evaluates a query. A bucket no live channel
// reads costs one map look-up.
func (m *Manager) Committed(changes []engine.Change) {
	if len(changes) == 0 {
		return
	}
	watches := *m.watches.Load()
	if len(watches) == 0 {
		return
	}
	first := changes[0].Bucket
	single := true
	for i := 1; i < len(changes); i++ {
		if changes[i].Bucket != first {
			single = false
			break
		}
	}
	if single {
		if bw := watches[first]; bw != nil {
			m.observe(bw, changes, false)
		}
		return
	}
	// A transaction over several buckets: each watch takes all of its
	// bucket's changes under one hold of its lock.
	var seen []string
	for i := range changes {
		name := changes[i].Bucket
		dup := false
		for _, s := range seen {
			if s == name {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		seen = append(seen, name)
		if bw := watches[name]; bw != nil {
			m.observe(bw, changes, true)
		}
	}
}

// observe folds the changes of bw's bucket (all of changes unless filter)
// into bw's registrations.
func (m *Manager) observe(bw *bucketWatch, changes []engine.Change, filter bool) {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			m.log.Error().Str("bucket", bw.name).Interface("panic", r).Bytes("stack", debug.Stack()).
				Msg("panic while folding changes into reactive queries; they will be re-read")
			for _, rg := range bw.regs {
				rg.full, rg.rebuilding, rg.log = true, false, nil
				m.poke(rg.ch)
			}
		}
	}()
	if bw.dead {
		return
	}
	var now int64
	for i := range changes {
		c := &changes[i]
		if filter && c.Bucket != bw.name {
			continue
		}
		if bw.ranks != nil && c.Op == engine.OpInserted {
			bw.ranks[c.Key] = bw.nextRank
			bw.nextRank++
		}
		for _, rg := range bw.regs {
			if rg.full && !rg.rebuilding {
				rg.touched = true // a full read will rebuild it: just make sure one is due
				continue
			}
			in := false
			if c.New != nil && rg.q.Filter.Match(c.New) {
				if c.New.ExpiresAt != 0 && now == 0 {
					now = m.store.Now()
				}
				in = visible(c.New, now)
			}
			var pos position
			if rg.needPos && c.New != nil {
				pos = bw.pos(c.Key)
			}
			if rg.rebuilding {
				rg.log = append(rg.log, logEntry{c: *c, in: in, pos: pos})
				rg.touched = true
				continue
			}
			if rg.st == nil {
				continue
			}
			dirty, full := rg.st.apply(c, in, pos)
			if full {
				rg.full, rg.touched = true, true
			} else if dirty {
				rg.touched = true
			}
		}
		if len(bw.fregs) > 0 && !m.observeFunctions(bw, c) {
			m.skipped.Add(1)
		}
		if bw.ranks != nil {
			switch c.Op {
			case engine.OpDeleted:
				delete(bw.ranks, c.Key)
			case engine.OpCleared:
				clear(bw.ranks)
			}
		}
	}
	for _, rg := range bw.regs {
		if rg.touched {
			rg.touched = false
			m.poke(rg.ch)
		}
	}
	for _, ch := range bw.waiting {
		m.poke(ch)
	}
}

// watchFor returns the live watch of bucket, creating it, with its lock
// held. It is called inside Store.ReadView's callback, under the bucket's
// read lock, so no change of the bucket commits between the reading and
// the registration the caller makes.
func (m *Manager) watchFor(bucket string) *bucketWatch {
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	old := *m.watches.Load()
	bw := old[bucket]
	if bw == nil {
		bw = &bucketWatch{name: bucket}
		next := make(map[string]*bucketWatch, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[bucket] = bw
		m.watches.Store(&next)
	}
	bw.mu.Lock()
	return bw
}

// retire removes bw from the watches when nothing uses it any more (or
// always, when force: its bucket was dropped). m.watchMu and bw.mu must be
// held.
func (m *Manager) retire(bw *bucketWatch, force bool) {
	if !force && (len(bw.regs) > 0 || len(bw.waiting) > 0 || len(bw.fregs) > 0) {
		return
	}
	bw.dead = true
	old := *m.watches.Load()
	if old[bw.name] != bw {
		return
	}
	next := make(map[string]*bucketWatch, len(old))
	for k, v := range old {
		if k != bw.name {
			next[k] = v
		}
	}
	m.watches.Store(&next)
}

// detach unregisters ch from its bucket watch (and from the one it waits
// on): the channel is dead, so its state goes and its bucket's changes
// stop costing anything for it. Called by the worker that owns ch.
func (m *Manager) detach(ch *channel) {
	if rg := ch.reg; rg != nil {
		ch.reg = nil
		m.watchMu.Lock()
		bw := rg.bw
		bw.mu.Lock()
		for i, x := range bw.regs {
			if x == rg {
				bw.regs = append(bw.regs[:i], bw.regs[i+1:]...)
				break
			}
		}
		if rg.needPos {
			if bw.rankUsers--; bw.rankUsers == 0 {
				bw.ranks = nil
			}
		}
		rg.st, rg.log = nil, nil
		m.retire(bw, false)
		bw.mu.Unlock()
		m.watchMu.Unlock()
	}
	m.removeRegs(ch.fregs)
	ch.fregs = nil
	m.stopWaiting(ch)
}

// stopWaiting removes ch from the watch it waits on. Called by the worker
// that owns ch.
func (m *Manager) stopWaiting(ch *channel) {
	bw := ch.waiting
	if bw == nil {
		return
	}
	ch.waiting = nil
	m.watchMu.Lock()
	bw.mu.Lock()
	for i, x := range bw.waiting {
		if x == ch {
			bw.waiting = append(bw.waiting[:i], bw.waiting[i+1:]...)
			break
		}
	}
	m.retire(bw, false)
	bw.mu.Unlock()
	m.watchMu.Unlock()
}

// wait registers ch as waiting for its bucket to be defined: any change of
// a bucket of that name schedules it again. Called by the worker that owns
// ch.
func (m *Manager) wait(ch *channel, bucket string) {
	if ch.waiting != nil {
		return
	}
	bw := m.watchFor(bucket)
	bw.waiting = append(bw.waiting, ch)
	ch.waiting = bw
	bw.mu.Unlock()
}

// forceFull makes ch's next evaluation a full read. Called by the worker
// that owns ch.
func (m *Manager) forceFull(ch *channel) {
	if rg := ch.reg; rg != nil {
		rg.bw.mu.Lock()
		rg.full, rg.rebuilding, rg.log = true, false, nil
		rg.bw.mu.Unlock()
	}
}
