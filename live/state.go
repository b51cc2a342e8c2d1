package live

import (
	"math"
	"math/bits"

	"github.com/tidwall/btree"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// state is the incrementally maintained form of one channel's result. Its
// methods run with the bucket watch's lock held (bucketWatch.mu); build runs
// on a state nobody else sees yet.
type state interface {
	// apply folds one committed change into the state. in reports whether
	// c.New is visible and matches the filter; pos is the position of the
	// change's key in the bucket's order (set only for states that need
	// positions, and only when c.New is not nil). dirty reports that the
	// result may have changed; full that the state can no longer be
	// maintained from changes and must be rebuilt by a full read.
	apply(c *engine.Change, in bool, pos position) (dirty, full bool)
	// snapshot returns an immutable value from which the result can be
	// rendered without the lock, or nil when the state cannot produce the
	// exact bytes of a fresh evaluation (a full read is needed then).
	snapshot() renderer
}

// renderer writes a result; it runs without locks.
type renderer interface {
	render(dst []byte) []byte
}

// kind says how a query's result is maintained.
type kind uint8

const (
	kindAgg   kind = iota + 1 // count, sum, avg, min or max over the filter
	kindGroup                 // aggregate with groupBy
	kindList                  // records (sorted, paged, projected)
)

// kindOf returns how q's result is maintained.
func kindOf(q *query.Query) kind {
	switch {
	case q.Agg != nil && len(q.Agg.GroupBy) > 0:
		return kindGroup
	case q.Agg != nil:
		return kindAgg
	}
	return kindList
}

// needsPos reports whether the states of kind k order records by their
// place in the bucket (first appearance, ties of a sort), so that changes
// must carry positions.
func (k kind) needsPos() bool { return k != kindAgg }

// modeOf names how q's result is maintained, for QUERY.INFO.
func modeOf(q *query.Query) string {
	switch kindOf(q) {
	case kindGroup:
		return "incremental:groupBy"
	case kindAgg:
		return "incremental:" + q.Agg.Func
	}
	if q.Limit > 0 {
		return "incremental:bounded-list"
	}
	return "incremental:list"
}

// aggFuncOf returns the aggregate function of q (AggCount, unused, when q
// has no aggregate). The error, query.ParseAggFunc's, is for a function
// query.Parse would have refused: a Query built by hand.
func aggFuncOf(q *query.Query) (query.AggFunc, error) {
	if q.Agg == nil {
		return query.AggCount, nil
	}
	return query.ParseAggFunc(q.Agg.Func)
}

// newState builds the state of q, whose aggregate function (if any) is fn,
// from the records that match its filter, in bucket order; pos holds their
// positions when the kind needs them.
func newState(q *query.Query, fn query.AggFunc, ordered bool, recs []*engine.Record, pos []position) state {
	switch kindOf(q) {
	case kindGroup:
		return newGroupState(q, fn, ordered, recs, pos)
	case kindAgg:
		return newAggState(q, fn, recs)
	}
	return newListState(q, ordered, recs, pos)
}

// position is a record's place in its bucket's order: its key in an ordered
// bucket, else the rank of its insertion (ranks grow with insertion order
// and an update keeps its record's rank).
type position struct {
	rank uint64
	key  jsonv.Value
	ok   bool // the position is known
}

// comparePos orders two positions of one bucket.
func comparePos(ordered bool, a, b position) int {
	if ordered {
		return jsonv.Compare(a.key, b.key)
	}
	switch {
	case a.rank < b.rank:
		return -1
	case a.rank > b.rank:
		return 1
	}
	return 0
}

// visible reports whether rec has not expired at now (Unix ms).
func visible(rec *engine.Record, now int64) bool {
	return rec.ExpiresAt == 0 || rec.ExpiresAt > now
}

// contrib is what one record adds to an aggregate: a number of the field,
// or nothing (num false: absent, null or not a number).
type contrib struct {
	x   float64
	num bool
}

// contribOf returns rec's contribution to fn over field.
func contribOf(fn query.AggFunc, field string, rec *engine.Record) contrib {
	if fn == query.AggCount {
		return contrib{}
	}
	v, _ := rec.Get(field)
	x, ok := v.(float64)
	return contrib{x: x, num: ok}
}

// maxExact is 2^53: integers up to it in magnitude are exact in a float64.
const maxExact = 1 << 53

// accum is an aggregate that supports removal. count counts records; sum
// and avg keep an exact integer sum while every number is an integer and
// the sum of magnitudes stays within 2^53, because then every partial sum
// of a fresh evaluation, in any order, is exact and equals it; otherwise
// the result is not renderable from the state (floating-point addition is
// not associative, and a result must equal QUERY.RUN's bytes). min and max
// keep an ordered multiset of the numbers.
type accum struct {
	fn      query.AggFunc
	n       int    // records (count) or numbers (the others)
	sum     int64  // exact sum of the integer numbers (wrapping)
	absHi   uint64 // 128-bit sum of their magnitudes
	absLo   uint64
	inexact int                        // numbers that are not integers within 2^53
	vals    *btree.BTreeG[*valueCount] // min and max: the numbers held
}

// valueCount is one distinct number of a min/max multiset.
type valueCount struct {
	x float64
	n int
}

func lessValue(a, b *valueCount) bool { return a.x < b.x }

func newAccum(fn query.AggFunc) accum {
	a := accum{fn: fn}
	if fn == query.AggMin || fn == query.AggMax {
		a.vals = btree.NewBTreeGOptions(lessValue, btree.Options{NoLocks: true})
	}
	return a
}

// exactInt reports whether x is an integer of magnitude at most 2^53.
func exactInt(x float64) bool { return x == math.Trunc(x) && math.Abs(x) <= maxExact }

func (a *accum) add(c contrib) {
	if a.fn == query.AggCount {
		a.n++
		return
	}
	if !c.num {
		return
	}
	a.n++
	switch a.fn {
	case query.AggSum, query.AggAvg:
		if !exactInt(c.x) {
			a.inexact++
			return
		}
		a.sum += int64(c.x)
		var carry uint64
		a.absLo, carry = bits.Add64(a.absLo, uint64(math.Abs(c.x)), 0)
		a.absHi += carry
	default:
		if vc, ok := a.vals.Get(&valueCount{x: c.x}); ok {
			vc.n++
		} else {
			a.vals.Set(&valueCount{x: c.x, n: 1})
		}
	}
}

func (a *accum) remove(c contrib) {
	if a.fn == query.AggCount {
		a.n--
		return
	}
	if !c.num {
		return
	}
	a.n--
	switch a.fn {
	case query.AggSum, query.AggAvg:
		if !exactInt(c.x) {
			a.inexact--
			return
		}
		a.sum -= int64(c.x)
		var borrow uint64
		a.absLo, borrow = bits.Sub64(a.absLo, uint64(math.Abs(c.x)), 0)
		a.absHi -= borrow
	default:
		if vc, ok := a.vals.Get(&valueCount{x: c.x}); ok {
			if vc.n--; vc.n == 0 {
				a.vals.Delete(vc)
			}
		}
	}
}

// result returns the aggregate as query.Agg computes it over the same
// records: value and ok (false: min or max of no numbers); exact is false
// when the state cannot give the exact bits of a fresh evaluation.
func (a *accum) result() (value float64, ok, exact bool) {
	switch a.fn {
	case query.AggCount:
		return float64(a.n), true, true
	case query.AggSum, query.AggAvg:
		if a.inexact > 0 || a.absHi != 0 || a.absLo > maxExact {
			return 0, false, false
		}
		if a.fn == query.AggSum {
			return float64(a.sum), true, true
		}
		if a.n == 0 {
			return 0, true, true
		}
		return float64(a.sum) / float64(a.n), true, true
	case query.AggMin:
		if vc, ok := a.vals.Min(); ok {
			return vc.x, true, true
		}
	case query.AggMax:
		if vc, ok := a.vals.Max(); ok {
			return vc.x, true, true
		}
	}
	return 0, false, true
}
