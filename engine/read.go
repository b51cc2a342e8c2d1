package engine

import (
	"slices"

	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// read runs fn on the named bucket under its read lock, or inside t when t
// is not nil (then the transaction's own writes are visible).
func (s *Store) read(t *Tx, name string, fn func(b *Bucket, now int64) error) error {
	if t != nil && t.hold != "" && len(t.locked) == 0 {
		t = nil // a Hold not locked yet reads like no Tx
	}
	if t != nil {
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
		e = b.st.strKeys[string(arg)]
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
	err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
		return b.scan(f, now, l, func(e *entry) bool {
			out = append(out, e.rec)
			return true
		})
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
	err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
		return b.scan(f, now, l, func(e *entry) bool {
			rec = e.rec
			return false
		})
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
	l := r.s.newLimiter(r.lim, f)
	err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
		if f == nil || f.MatchAll() {
			n = b.countVisible(now)
			return nil
		}
		return b.scan(f, now, l, func(*entry) bool {
			n++
			return true
		})
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
	err := s.read(t, bucket, func(b *Bucket, now int64) error {
		if n <= 0 {
			return nil
		}
		visit := func(e *entry) bool {
			if !e.rec.expired(now) {
				out = append(out, e.rec)
			}
			return len(out) < n
		}
		if last {
			b.orderTree().Reverse(visit)
			slices.Reverse(out)
		} else {
			b.orderTree().Scan(visit)
		}
		return nil
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
	err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
		var pivot *entry
		if hasAfter {
			k, err := b.parseKey(after)
			if err != nil {
				return err
			}
			if pivot = b.st.get(k); pivot == nil {
				return nil
			}
		}
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
			b.orderTree().Ascend(pivot, visit)
		} else {
			b.orderTree().Scan(visit)
		}
		if err := l.stopped(); err != nil {
			return err
		}
		if p.HasMore && len(p.Records) > 0 {
			p.Next = p.Records[len(p.Records)-1].Key()
		}
		return nil
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
	err = r.s.read(t, bucket, func(b *Bucket, now int64) error {
		if err := checkAggregate(b, fn, field); err != nil {
			return err
		}
		return b.scan(f, now, l, func(e *entry) bool {
			agg.Add(e.rec)
			return true
		})
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
	err := r.s.read(t, bucket, func(b *Bucket, now int64) error {
		if err := checkFields(b, "groupBy", fields...); err != nil {
			return err
		}
		if err := checkAggregate(b, fn, field); err != nil {
			return err
		}
		return b.scan(f, now, l, func(e *entry) bool {
			recs = append(recs, e.rec)
			return true
		})
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
	err := r.s.read(t, q.Bucket, func(b *Bucket, now int64) error {
		if err := checkQuery(b, q); err != nil {
			return err
		}
		return b.scan(q.Filter, now, l, func(e *entry) bool {
			recs = append(recs, e.rec)
			return true
		})
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
	if err := checkFilter(b, f); err != nil {
		return err
	}
	if f != nil && !f.MatchAll() {
		if cands, ok := b.plan(f); ok {
			for _, e := range cands {
				if !l.step() {
					return l.stopped()
				}
				if !e.rec.expired(now) && f.Match(e.rec) && !visit(e) {
					return nil
				}
			}
			return nil
		}
	}
	b.orderTree().Scan(func(e *entry) bool {
		if !l.step() {
			return false
		}
		if e.rec.expired(now) || (f != nil && !f.Match(e.rec)) {
			return true
		}
		return visit(e)
	})
	return l.stopped()
}

// plan picks the cheapest index that the filter's constraints allow and
// returns its candidate entries, deduplicated, in the bucket's order. ok is
// false when no index applies. b.mu must be held.
func (b *Bucket) plan(f *filter.Filter) (cands []*entry, ok bool) {
	best := -1
	var bestEq []jsonv.Value
	var bestField string
	var rangeC *filter.Constraint
	cons := f.Constraints()
	for i := range cons {
		c := &cons[i]
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
	slices.SortFunc(cands, func(x, y *entry) int {
		switch {
		case x == y:
			return 0
		case b.lessOrder(x, y):
			return -1
		default:
			return 1
		}
	})
	return slices.Compact(cands), true
}
