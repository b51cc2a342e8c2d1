package engine

import (
	"slices"

	"github.com/tidwall/btree"

	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// read runs fn on the named bucket under its read lock, or inside t when t
// is not nil (then the transaction's own writes are visible).
func (s *Store) read(t *Tx, name string, fn func(b *Bucket, now int64) error) error {
	if t = readTx(t); t != nil {
		if t.hold != "" {
			t.now = s.Now() // each command through a Hold reads at its own time
		}
		b, err := t.bucket(name)
		if err != nil {
			return err
		}
		return s.guard(b, false, func() error { return fn(b, t.now) })
	}
	b, err := s.lockBucket(name, false)
	if err != nil {
		return err
	}
	defer b.mu.RUnlock()
	return s.guard(b, false, func() error { return fn(b, s.Now()) })
}

// readTx returns the transaction a read runs in: t, or nil when t is nil or
// is a Hold not locked yet, which reads like no Tx.
func readTx(t *Tx) *Tx {
	if t != nil && t.hold != "" && len(t.locked) == 0 {
		return nil
	}
	return t
}

// scanRead visits, in the bucket's order, the visible records of bucket
// that match f, as Bucket.scan does, once check (nil: none) accepts the
// bucket. Inside a transaction it reads the live bucket, the transaction's
// own writes included. Outside one it holds the bucket's read lock only to
// take what it reads: the frozen copy of the order tree, in O(1), or an
// index plan's candidates, in O(candidates); the scan runs without the lock,
// so writers go on meanwhile (docs/commands.md, "Reads and writes").
func (s *Store) scanRead(t *Tx, bucket string, f *filter.Filter, l *limiter, check func(b *Bucket) error, visit func(*Record) bool) error {
	if t = readTx(t); t != nil {
		return s.read(t, bucket, func(b *Bucket, now int64) error {
			if check != nil {
				if err := check(b); err != nil {
					return err
				}
			}
			return b.scan(f, now, l, func(e *entry) bool { return visit(e.rec) })
		})
	}
	var (
		b   *Bucket
		src source
	)
	if err := s.read(nil, bucket, func(bk *Bucket, now int64) (err error) {
		if check != nil {
			if err := check(bk); err != nil {
				return err
			}
		}
		b = bk
		src, err = bk.source(f, now, true)
		return err
	}); err != nil {
		return err
	}
	defer b.leave() // source entered
	b.pauseHere()
	return s.walk(b, src.len(), func() error {
		return src.each(f, l, func(e *entry) bool { return visit(e.rec) })
	})
}

// frozenRead is scanRead's first step for the reads that walk the order
// tree themselves: fn runs under the bucket's read lock (inside t, when
// there is one) and is given the tree to read after it, frozen outside a
// transaction. The walk then runs in the returned function, without the
// lock.
func (s *Store) frozenRead(t *Tx, bucket string, fn func(b *Bucket, tree *btree.BTreeG[*entry], now int64) (func() error, error)) error {
	t = readTx(t)
	var (
		b    *Bucket
		walk func() error
	)
	if err := s.read(t, bucket, func(bk *Bucket, now int64) (err error) {
		if t != nil { // inside a Tx: walk the live tree under its lock
			if walk, err = fn(bk, bk.orderTree(), now); err != nil || walk == nil {
				return err
			}
			err, walk = walk(), nil
			return err
		}
		bk.enter()
		b = bk
		if walk, err = fn(bk, bk.frozen(), now); err != nil || walk == nil {
			b, walk = nil, nil
			bk.leave()
		}
		return err
	}); err != nil || walk == nil {
		return err
	}
	defer b.leave()
	return s.unlocked(b, walk)
}

// unlocked runs fn, a read of b's frozen state without b's lock, and
// recovers a panic in it as guard does for a read.
func (s *Store) unlocked(b *Bucket, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(b, r, false)
		}
	}()
	return fn()
}

// Get returns the record with that key, or nil. It is the hottest read,
// so it takes the bucket's read lock itself, looks a string key up without
// converting it, and reads the clock only for a record that can expire.
func (s *Store) Get(t *Tx, bucket, key string) (rec *Record, err error) {
	return s.GetBytes(t, []byte(bucket), []byte(key))
}

// GetBytes is Get with the arguments as the connection read them, so that
// the look-ups convert nothing.
func (s *Store) GetBytes(t *Tx, bucket, key []byte) (rec *Record, err error) {
	if t != nil {
		err = s.read(t, string(bucket), func(b *Bucket, now int64) error {
			rec, err = b.getArg(key, func() int64 { return now })
			return err
		})
		return rec, err
	}
	// lockBucket's steps, but looking the name up as bytes converts nothing.
	b := s.snapshot()[string(bucket)]
	if b == nil {
		return nil, &NoBucketError{Bucket: string(bucket)}
	}
	if err := b.acquire(false); err != nil {
		return nil, err
	}
	defer b.mu.RUnlock()
	if b.sup.failed.Load() {
		return nil, &UnavailableError{Bucket: b.name}
	}
	defer func() {
		if r := recover(); r != nil {
			rec, err = nil, s.recovered(b, r, false)
		}
	}()
	return b.getArg(key, s.Now)
}

// getArg returns the visible record whose key is the argument arg. b.mu
// must be held.
func (b *Bucket) getArg(arg []byte, now func() int64) (*Record, error) {
	var e *entry
	if b.st.strKeys != nil {
		e = b.st.strKeys.getBytes(arg)
	} else {
		k, err := b.parseKey(string(arg))
		if err != nil {
			return nil, err
		}
		e = b.st.get(k)
	}
	if e == nil || (e.rec.ExpiresAt != 0 && e.rec.expired(now())) {
		return nil, nil
	}
	return e.rec, nil
}

// MGet returns the records with those keys, nil where there is none.
func (s *Store) MGet(t *Tx, bucket string, keys []string) ([]*Record, error) {
	out := make([]*Record, len(keys))
	err := s.read(t, bucket, func(b *Bucket, now int64) error {
		for i, key := range keys {
			k, err := b.parseKey(key)
			if err != nil {
				return err
			}
			if e := b.visible(k, now); e != nil {
				out[i] = e.rec
			}
		}
		return nil
	})
	return out, err
}

// All returns every record in the bucket's order.
func (s *Store) All(t *Tx, bucket string) ([]*Record, error) {
	return s.Where(t, bucket, nil)
}

// All is Store.All under r's limit.
func (r Limited) All(t *Tx, bucket string) ([]*Record, error) {
	return r.Where(t, bucket, nil)
}

// Where returns the records that match f (nil: all) in the bucket's order.
func (s *Store) Where(t *Tx, bucket string, f *filter.Filter) ([]*Record, error) {
	return s.Limit(ReadLimit{}).Where(t, bucket, f)
}

// Where is Store.Where under r's limit.
func (r Limited) Where(t *Tx, bucket string, f *filter.Filter) ([]*Record, error) {
	var out []*Record
	l := r.s.newLimiter(r.lim, f)
	err := r.s.scanRead(t, bucket, f, l, nil, func(rec *Record) bool {
		out = append(out, rec)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindOne returns the first record, in the bucket's order, that matches f.
func (s *Store) FindOne(t *Tx, bucket string, f *filter.Filter) (*Record, error) {
	return s.Limit(ReadLimit{}).FindOne(t, bucket, f)
}

// FindOne is Store.FindOne under r's limit.
func (r Limited) FindOne(t *Tx, bucket string, f *filter.Filter) (*Record, error) {
	var rec *Record
	l := r.s.newLimiter(r.lim, f)
	err := r.s.scanRead(t, bucket, f, l, nil, func(found *Record) bool {
		rec = found
		return false
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// Count returns the number of records that match f (nil: all).
func (s *Store) Count(t *Tx, bucket string, f *filter.Filter) (int, error) {
	return s.Limit(ReadLimit{}).Count(t, bucket, f)
}

// Count is Store.Count under r's limit.
func (r Limited) Count(t *Tx, bucket string, f *filter.Filter) (int, error) {
	n := 0
	if f == nil || f.MatchAll() {
		err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
			n = b.countVisible(now) // O(records expired), under the lock
			return nil
		})
		return n, err
	}
	l := r.s.newLimiter(r.lim, f)
	err := r.s.scanRead(t, bucket, f, l, nil, func(*Record) bool {
		n++
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// First returns the first n records in the bucket's order.
func (s *Store) First(t *Tx, bucket string, n int) ([]*Record, error) {
	return s.edge(t, bucket, n, false)
}

// Last returns the last n records in the bucket's order, in that order.
func (s *Store) Last(t *Tx, bucket string, n int) ([]*Record, error) {
	return s.edge(t, bucket, n, true)
}

func (s *Store) edge(t *Tx, bucket string, n int, last bool) ([]*Record, error) {
	out := []*Record{}
	if n <= 0 {
		return out, s.read(t, bucket, func(*Bucket, int64) error { return nil })
	}
	err := s.frozenRead(t, bucket, func(_ *Bucket, tree *btree.BTreeG[*entry], now int64) (func() error, error) {
		return func() error {
			visit := func(e *entry) bool {
				if !e.rec.expired(now) {
					out = append(out, e.rec)
				}
				return len(out) < n
			}
			if last {
				tree.Reverse(visit)
				slices.Reverse(out)
			} else {
				tree.Scan(visit)
			}
			return nil
		}, nil
	})
	return out, err
}

// Page is one page of B.PAGINATE.
type Page struct {
	Records []*Record
	HasMore bool
	// Next is the key to pass as AFTER for the next page, or nil.
	Next jsonv.Value
}

// Paginate returns up to limit records in the bucket's order, starting
// after the record whose key is after (when hasAfter). A cursor key that
// does not exist gives an empty page.
func (s *Store) Paginate(t *Tx, bucket string, limit int, after string, hasAfter bool) (Page, error) {
	return s.Limit(ReadLimit{}).Paginate(t, bucket, limit, after, hasAfter)
}

// Paginate is Store.Paginate under r's limit.
func (r Limited) Paginate(t *Tx, bucket string, limit int, after string, hasAfter bool) (Page, error) {
	p := Page{Records: []*Record{}}
	l := r.s.newLimiter(r.lim, nil)
	err := r.s.frozenRead(t, bucket, func(b *Bucket, tree *btree.BTreeG[*entry], now int64) (func() error, error) {
		var pivot *entry
		if hasAfter {
			k, err := b.parseKey(after)
			if err != nil {
				return nil, err
			}
			if pivot = b.st.get(k); pivot == nil {
				return nil, nil
			}
		}
		return func() error {
			visit := func(e *entry) bool {
				if !l.step() {
					return false
				}
				if e == pivot || e.rec.expired(now) {
					return true
				}
				if len(p.Records) == limit {
					p.HasMore = true
					return false
				}
				p.Records = append(p.Records, e.rec)
				return true
			}
			if pivot != nil {
				tree.Ascend(pivot, visit)
			} else {
				tree.Scan(visit)
			}
			if err := l.stopped(); err != nil {
				return err
			}
			if p.HasMore && len(p.Records) > 0 {
				p.Next = p.Records[len(p.Records)-1].Key()
			}
			return nil
		}, nil
	})
	if err != nil {
		return Page{}, err
	}
	return p, nil
}

// Aggregate computes sum, avg, min or max of field over the records that
// match f. ok is false for min or max of no numbers.
func (s *Store) Aggregate(t *Tx, bucket, fn, field string, f *filter.Filter) (value float64, ok bool, err error) {
	return s.Limit(ReadLimit{}).Aggregate(t, bucket, fn, field, f)
}

// Aggregate is Store.Aggregate under r's limit.
func (r Limited) Aggregate(t *Tx, bucket, fn, field string, f *filter.Filter) (value float64, ok bool, err error) {
	agg, err := query.NewAgg(fn, field)
	if err != nil {
		return 0, false, &ArgError{Msg: err.Error()}
	}
	l := r.s.newLimiter(r.lim, f)
	err = r.s.scanRead(t, bucket, f, l, func(b *Bucket) error {
		return checkAggregate(b, fn, field)
	}, func(rec *Record) bool {
		agg.Add(rec)
		return true
	})
	if err != nil {
		return 0, false, err
	}
	value, ok = agg.Result()
	return value, ok, nil
}

// GroupBy groups the records that match f by the values of fields and
// appends the JSON result `[{"key":{…},"value":N},…]` to dst.
func (s *Store) GroupBy(t *Tx, bucket string, fields []string, fn, field string, f *filter.Filter, dst []byte) ([]byte, error) {
	return s.Limit(ReadLimit{}).GroupBy(t, bucket, fields, fn, field, f, dst)
}

// GroupBy is Store.GroupBy under r's limit.
func (r Limited) GroupBy(t *Tx, bucket string, fields []string, fn, field string, f *filter.Filter, dst []byte) ([]byte, error) {
	var recs []query.Record
	l := r.s.newLimiter(r.lim, f)
	err := r.s.scanRead(t, bucket, f, l, func(b *Bucket) error {
		if err := checkFields(b, "groupBy", fields...); err != nil {
			return err
		}
		return checkAggregate(b, fn, field)
	}, func(rec *Record) bool {
		recs = append(recs, rec)
		return true
	})
	if err != nil {
		return dst, err
	}
	out, err := query.GroupBy(recs, fields, fn, field, dst)
	if err != nil {
		return dst, &ArgError{Msg: err.Error()}
	}
	return out, nil
}

// Find evaluates a declarative query and appends its JSON result to dst.
func (s *Store) Find(t *Tx, q *query.Query, dst []byte) ([]byte, error) {
	return s.Limit(ReadLimit{}).Find(t, q, dst)
}

// Find is Store.Find under r's limit.
func (r Limited) Find(t *Tx, q *query.Query, dst []byte) ([]byte, error) {
	var recs []query.Record
	l := r.s.newLimiter(r.lim, q.Filter)
	err := r.s.scanRead(t, q.Bucket, q.Filter, l, func(b *Bucket) error {
		return checkQuery(b, q)
	}, func(rec *Record) bool {
		recs = append(recs, rec)
		return true
	})
	if err != nil {
		return dst, err
	}
	return q.Eval(recs, dst), nil
}

// countVisible returns the number of records not expired at now. b.mu must
// be held.
func (b *Bucket) countVisible(now int64) int {
	n := b.st.len()
	b.st.byExp.Scan(func(e *entry) bool {
		if !e.rec.expired(now) {
			return false
		}
		n--
		return true
	})
	return n
}

// matching returns the entries whose records match f, in the bucket's
// order, or l's error when l stopped the scan. b.mu must be held.
func (b *Bucket) matching(f *filter.Filter, now int64, l *limiter) ([]*entry, error) {
	var out []*entry
	if err := b.scan(f, now, l, func(e *entry) bool {
		out = append(out, e)
		return true
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// scan visits, in the bucket's order, the unexpired entries whose records
// match f (nil: all), until visit returns false. It reads candidates from
// an index when the filter allows; the result is the same as a full scan's.
// l (nil: none) may stop the scan early: scan returns its error then.
// b.mu must be held.
func (b *Bucket) scan(f *filter.Filter, now int64, l *limiter, visit func(*entry) bool) error {
	src, err := b.source(f, now, false)
	if err != nil {
		return err
	}
	return src.each(f, l, visit)
}

// source is what a scan reads: an index plan's candidates, or an order
// tree.
type source struct {
	tree    *btree.BTreeG[*entry] // nil when planned
	cands   []*entry              // the plan's candidates, in no order
	planned bool
	ordered bool // the bucket's order is key order
	now     int64
}

// len returns how many entries src holds.
func (src *source) len() int {
	if src.planned {
		return len(src.cands)
	}
	return src.tree.Len()
}

// source checks f against the bucket's schema and returns what a scan of
// f reads. With frozen, it may be read after b.mu is released: the tree is
// the frozen copy, and the reader has entered (Bucket.enter) when there is
// no error, so that the slots it holds keep their records; the caller must
// leave when done. b.mu must be held.
func (b *Bucket) source(f *filter.Filter, now int64, frozen bool) (source, error) {
	if err := checkFilter(b, f); err != nil {
		return source{}, err
	}
	src := source{ordered: b.def.Ordered, now: now}
	if frozen {
		b.enter()
	}
	if f != nil && !f.MatchAll() {
		if src.cands, src.planned = b.plan(f); src.planned {
			return src, nil
		}
	}
	if frozen {
		src.tree = b.frozen()
	} else {
		src.tree = b.orderTree()
	}
	return src, nil
}

// each visits, in the bucket's order, the unexpired entries of src whose
// records match f (nil: all), until visit returns false; l (nil: none) may
// stop it early, and each returns l's error then.
func (src *source) each(f *filter.Filter, l *limiter, visit func(*entry) bool) error {
	if src.planned {
		slices.SortFunc(src.cands, func(x, y *entry) int {
			switch {
			case x.seq == y.seq:
				return 0
			case src.ordered && lessKey(x, y), !src.ordered && x.seq < y.seq:
				return -1
			default:
				return 1
			}
		})
		for i, e := range src.cands {
			if i > 0 && e == src.cands[i-1] {
				continue // found through two values of an $in
			}
			if !l.step() {
				return l.stopped()
			}
			if !e.rec.expired(src.now) && f.Match(e.rec) && !visit(e) {
				return nil
			}
		}
		return nil
	}
	src.tree.Scan(func(e *entry) bool {
		if !l.step() {
			return false
		}
		if e.rec.expired(src.now) || (f != nil && !f.Match(e.rec)) {
			return true
		}
		return visit(e)
	})
	return l.stopped()
}

// plan picks the cheapest index that the filter's constraints allow and
// returns its candidates, in no order and possibly twice (source.each
// sorts them). ok is false when no index applies. b.mu must be held.
func (b *Bucket) plan(f *filter.Filter) (cands []*entry, ok bool) {
	best := -1
	var bestEq []jsonv.Value
	var bestField string
	var rangeC *filter.Constraint
	cons := f.Constraints()
	for i := range cons {
		c := &cons[i]
		if fd := b.def.Field(c.Field); fd != nil && fd.Type == schema.TypeArray {
			// Indexes hold scalars: an $in matching array elements would
			// miss the records whose field is an array.
			continue
		}
		if c.Eq != nil {
			var cost int
			switch {
			case c.Field == b.def.Key:
				cost = len(c.Eq)
			case b.st.uniques[c.Field] != nil:
				cost = len(c.Eq)
			case b.st.indexes[c.Field] != nil:
				ix := b.st.indexes[c.Field]
				for _, v := range c.Eq {
					cost += ix.CountEq(v)
				}
			default:
				continue
			}
			if best < 0 || cost < best {
				best, bestEq, bestField = cost, c.Eq, c.Field
			}
		} else if rangeC == nil && (c.HasLo || c.HasHi) && b.st.indexes[c.Field] != nil {
			rangeC = c
		}
	}
	switch {
	case best >= 0:
		for _, v := range bestEq {
			switch {
			case bestField == b.def.Key:
				if e := b.st.get(v); e != nil {
					cands = append(cands, e)
				}
			case b.st.uniques[bestField] != nil:
				if e, ok := b.st.uniques[bestField].Get(v); ok {
					cands = append(cands, e)
				}
			default:
				b.st.indexes[bestField].Eq(v, func(e *entry) bool {
					cands = append(cands, e)
					return true
				})
			}
		}
	case rangeC != nil:
		b.st.indexes[rangeC.Field].Range(rangeC.Lo, rangeC.Hi, rangeC.HasLo, rangeC.HasHi, rangeC.LoIncl, rangeC.HiIncl, func(e *entry) bool {
			cands = append(cands, e)
			return true
		})
	default:
		return nil, false
	}
	return cands, true
}
