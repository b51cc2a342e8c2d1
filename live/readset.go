package live

import (
	"errors"
	"strconv"
	"strings"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// Tracker records what one run of a function query reads: its read set.
// The command layer reports each read to it before the read happens: Open
// when a command names a bucket, then the finest grain the command allows
// (Keys, Filter), or Whole. For a live channel every report is also
// installed in the bucket's watch at once, before the read, so that no
// change committed after the read can go unseen (watch.go, observeFunctions).
//
// A Tracker belongs to one run, on one goroutine.
type Tracker struct {
	m     *Manager
	ch    *channel // nil: a one-off run (QUERY.RUN), nothing is installed
	depth int      // nesting of function queries run by QUERY.RUN
	held  []string // the buckets of the run's transaction, when it has one

	reads   int // read commands
	noted   bool
	buckets []*trackedBucket
	unheld  []string // buckets read that the transaction does not hold
}

// trackedBucket is what a run read from one bucket.
type trackedBucket struct {
	name    string
	version engine.Version // before the first read
	moved   bool           // a later read found another version
	whole   bool
	keys    []jsonv.Value
	keySet  map[any]struct{}
	filters []trackedFilter
	reg     *fnReg // installed registration (live channels)
}

type trackedFilter struct {
	f    *filter.Filter
	text string
}

// maxWords bounds the keys QUERY.INFO lists for one bucket.
const maxWords = 10

// Open reports a read command on bucket, before it reads.
func (tr *Tracker) Open(bucket string) {
	tr.reads++
	tr.noted = false
	tb := tr.bucket(bucket)
	v := tr.m.store.Version(bucket)
	if v != tb.version {
		tb.moved = true
	}
	if v == (engine.Version{}) {
		// No such bucket: the read fails, and defining the bucket is
		// what changes the result.
		tr.Whole(bucket)
		tr.noted = false
	} else {
		// Registered before the read, even before it says what it reads:
		// a drop of the bucket in between finds the channel and runs it
		// again (BucketDropped).
		tr.reg(tb)
	}
	if tr.held != nil && !contains(tr.held, bucket) && !contains(tr.unheld, bucket) {
		tr.unheld = append(tr.unheld, bucket)
	}
}

// Noted reports whether the read opened last reported what it reads; the
// command layer calls Whole after a command that did not.
func (tr *Tracker) Noted() bool { return tr.noted }

// Whole reports a read of every record of bucket.
func (tr *Tracker) Whole(bucket string) {
	tr.noted = true
	tb := tr.bucket(bucket)
	if tb.whole {
		return
	}
	tb.whole = true
	if r := tr.reg(tb); r != nil {
		bw := r.bw
		bw.mu.Lock()
		r.whole = true
		if bw.fwhole == nil {
			bw.fwhole = make(map[*fnReg]struct{})
		}
		bw.fwhole[r] = struct{}{}
		bw.mu.Unlock()
	}
}

// Keys reports reads of the records with these keys, as the command's
// arguments give them; a key that does not exist is read too (its insert
// changes the result).
func (tr *Tracker) Keys(bucket string, args [][]byte) {
	tr.noted = true
	tb := tr.bucket(bucket)
	var add []jsonv.Value
	for _, a := range args {
		k, err := tr.m.store.ParseKey(bucket, string(a))
		if err != nil {
			var nb *engine.NoBucketError
			if errors.As(err, &nb) {
				tr.Whole(bucket) // dropped since Open: its creation matters
				return
			}
			continue // the read fails on this key
		}
		if tb.keySet == nil {
			tb.keySet = make(map[any]struct{})
		}
		if _, dup := tb.keySet[k]; dup {
			continue
		}
		tb.keySet[k] = struct{}{}
		tb.keys = append(tb.keys, k)
		add = append(add, k)
	}
	if r := tr.reg(tb); r != nil && len(add) > 0 {
		bw := r.bw
		bw.mu.Lock()
		if bw.fkeys == nil {
			bw.fkeys = make(map[any]map[*fnReg]struct{})
		}
		for _, k := range add {
			set := bw.fkeys[k]
			if set == nil {
				set = make(map[*fnReg]struct{})
				bw.fkeys[k] = set
			}
			set[r] = struct{}{}
			r.keys = append(r.keys, k)
		}
		bw.mu.Unlock()
	}
}

// Filter reports a read of the records of bucket that match f (nil: every
// record); text is the filter as the query gave it, for QUERY.INFO.
func (tr *Tracker) Filter(bucket string, f *filter.Filter, text string) {
	if f == nil || f.MatchAll() {
		tr.Whole(bucket)
		return
	}
	tr.noted = true
	tb := tr.bucket(bucket)
	tb.filters = append(tb.filters, trackedFilter{f: f, text: text})
	r := tr.reg(tb)
	if r == nil {
		return
	}
	ff := &fnFilter{reg: r, f: f}
	for _, c := range f.Constraints() {
		if c.Eq != nil {
			ff.field, ff.vals = c.Field, c.Eq
			break
		}
	}
	if ff.field != "" && len(ff.vals) == 0 {
		return // no record can match it: no change can change what it read
	}
	bw := r.bw
	bw.mu.Lock()
	bw.addFilter(ff)
	r.filters = append(r.filters, ff)
	bw.mu.Unlock()
}

// bucket returns the tracked bucket of that name, adding it (and taking
// its Version) on its first read.
func (tr *Tracker) bucket(name string) *trackedBucket {
	for _, tb := range tr.buckets {
		if tb.name == name {
			return tb
		}
	}
	tb := &trackedBucket{name: name, version: tr.m.store.Version(name)}
	tr.buckets = append(tr.buckets, tb)
	return tb
}

// reg returns tb's registration with its bucket's watch, installing it,
// or nil for a one-off run.
func (tr *Tracker) reg(tb *trackedBucket) *fnReg {
	if tr.ch == nil {
		return nil
	}
	if tb.reg == nil {
		bw := tr.m.watchFor(tb.name)
		tb.reg = &fnReg{ch: tr.ch, bw: bw}
		if bw.fregs == nil {
			bw.fregs = make(map[*fnReg]struct{})
		}
		bw.fregs[tb.reg] = struct{}{}
		bw.mu.Unlock()
	}
	return tb.reg
}

// unchanged reports whether no bucket the run read changed since its first
// read of it: then every read saw one state of the store.
func (tr *Tracker) unchanged() bool {
	for _, tb := range tr.buckets {
		if tb.moved || tr.m.store.Version(tb.name) != tb.version {
			return false
		}
	}
	return true
}

// names returns the buckets read, and those the transaction lacked.
func (tr *Tracker) names() []string {
	out := make([]string, 0, len(tr.buckets))
	for _, tb := range tr.buckets {
		out = append(out, tb.name)
	}
	return out
}

// regs returns the registrations the run installed.
func (tr *Tracker) regs() []*fnReg {
	var out []*fnReg
	for _, tb := range tr.buckets {
		if tb.reg != nil {
			out = append(out, tb.reg)
		}
	}
	return out
}

// words describes the read set, one line per bucket, for QUERY.INFO.
func (tr *Tracker) words() []string {
	out := make([]string, 0, len(tr.buckets))
	for _, tb := range tr.buckets {
		var parts []string
		switch {
		case tb.whole:
			parts = append(parts, "every record")
		default:
			if len(tb.keys) > 0 {
				var b strings.Builder
				b.WriteString("keys ")
				for i, k := range tb.keys {
					if i == maxWords {
						b.WriteString(", … (" + strconv.Itoa(len(tb.keys)) + " keys)")
						break
					}
					if i > 0 {
						b.WriteString(", ")
					}
					b.Write(jsonv.Marshal(k))
				}
				parts = append(parts, b.String())
			}
			for _, f := range tb.filters {
				parts = append(parts, "records matching "+f.text)
			}
		}
		out = append(out, tb.name+": "+strings.Join(parts, "; "))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fnReg is a live function channel's registration with one bucket's watch:
// what its last run read there. Its fields are guarded by the watch's mu.
type fnReg struct {
	ch      *channel
	bw      *bucketWatch
	whole   bool
	keys    []jsonv.Value
	filters []*fnFilter
}

// fnFilter is one filter a function channel read with. A filter that
// implies field ∈ vals is indexed by those values (bucketWatch.feq): a
// change is matched against it only when the old or new record holds one
// of them. Others are matched against every change (bucketWatch.fscan).
type fnFilter struct {
	reg   *fnReg
	f     *filter.Filter
	field string
	vals  []jsonv.Value
}

// functionChannels returns the channels with a function registration in
// bw, reads noted or not yet. bw.mu must be held.
func (bw *bucketWatch) functionChannels() []*channel {
	seen := make(map[*channel]struct{}, len(bw.fregs))
	out := make([]*channel, 0, len(bw.fregs))
	for r := range bw.fregs {
		if _, dup := seen[r.ch]; !dup {
			seen[r.ch] = struct{}{}
			out = append(out, r.ch)
		}
	}
	return out
}

// addFilter indexes ff. bw.mu must be held.
func (bw *bucketWatch) addFilter(ff *fnFilter) {
	if ff.field == "" {
		if bw.fscan == nil {
			bw.fscan = make(map[*fnFilter]struct{})
		}
		bw.fscan[ff] = struct{}{}
		return
	}
	if bw.feq == nil {
		bw.feq = make(map[string]map[any]map[*fnFilter]struct{})
	}
	byVal := bw.feq[ff.field]
	if byVal == nil {
		byVal = make(map[any]map[*fnFilter]struct{})
		bw.feq[ff.field] = byVal
	}
	for _, v := range ff.vals {
		set := byVal[v]
		if set == nil {
			set = make(map[*fnFilter]struct{})
			byVal[v] = set
		}
		set[ff] = struct{}{}
	}
}

// removeReg takes r out of bw's indexes. bw.mu must be held.
func (bw *bucketWatch) removeReg(r *fnReg) {
	delete(bw.fwhole, r)
	for _, k := range r.keys {
		if set := bw.fkeys[k]; set != nil {
			delete(set, r)
			if len(set) == 0 {
				delete(bw.fkeys, k)
			}
		}
	}
	for _, ff := range r.filters {
		if ff.field == "" {
			delete(bw.fscan, ff)
			continue
		}
		byVal := bw.feq[ff.field]
		for _, v := range ff.vals {
			if set := byVal[v]; set != nil {
				delete(set, ff)
				if len(set) == 0 {
					delete(byVal, v)
				}
			}
		}
		if len(byVal) == 0 {
			delete(bw.feq, ff.field)
		}
	}
	r.keys, r.filters, r.whole = nil, nil, false
	delete(bw.fregs, r)
}

// observeFunctions pokes the function channels whose read set c touches,
// and reports whether there was one. bw.mu must be held.
func (m *Manager) observeFunctions(bw *bucketWatch, c *engine.Change) bool {
	hit := false
	for r := range bw.fwhole {
		m.poke(r.ch)
		hit = true
	}
	if c.Op == engine.OpCleared {
		// Every record went: every read of the bucket changed.
		for _, set := range bw.fkeys {
			for r := range set {
				m.poke(r.ch)
				hit = true
			}
		}
		for _, byVal := range bw.feq {
			for _, set := range byVal {
				for ff := range set {
					m.poke(ff.reg.ch)
					hit = true
				}
			}
		}
		for ff := range bw.fscan {
			m.poke(ff.reg.ch)
			hit = true
		}
		return hit
	}
	for r := range bw.fkeys[c.Key] {
		m.poke(r.ch)
		hit = true
	}
	for field, byVal := range bw.feq {
		for _, rec := range [2]*engine.Record{c.Old, c.New} {
			if rec == nil {
				continue
			}
			v, ok := rec.Get(field)
			if !ok {
				continue
			}
			vals := []jsonv.Value{v}
			if arr, isArr := v.([]jsonv.Value); isArr {
				vals = arr // an $in matches an array's elements
			}
			for _, v := range vals {
				if !scalar(v) {
					continue
				}
				for ff := range byVal[v] {
					if matches(ff.f, c.Old) || matches(ff.f, c.New) {
						m.poke(ff.reg.ch)
						hit = true
					}
				}
			}
		}
	}
	for ff := range bw.fscan {
		if matches(ff.f, c.Old) || matches(ff.f, c.New) {
			m.poke(ff.reg.ch)
			hit = true
		}
	}
	return hit
}

// matches reports whether rec exists and matches f.
func matches(f *filter.Filter, rec *engine.Record) bool { return rec != nil && f.Match(rec) }

// scalar reports whether v can be a map key of the filter index.
func scalar(v jsonv.Value) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}
