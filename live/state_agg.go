package live

import (
	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// aggState maintains count, sum, avg, min or max over the records that
// match the filter: it remembers each member's contribution, so a change is
// folded in from the change record alone (was the old record a member, is
// the new one).
type aggState struct {
	fn      query.AggFunc
	field   string
	members map[any]contrib // key -> contribution
	acc     accum
}

func newAggState(q *query.Query, fn query.AggFunc, recs []*engine.Record) *aggState {
	s := &aggState{fn: fn, field: q.Agg.Field, members: make(map[any]contrib, len(recs))}
	s.acc = newAccum(s.fn)
	for _, r := range recs {
		c := contribOf(s.fn, s.field, r)
		s.members[r.Key()] = c
		s.acc.add(c)
	}
	return s
}

func (s *aggState) apply(c *engine.Change, in bool, _ position) (dirty, full bool) {
	if c.Op == engine.OpCleared {
		dirty = len(s.members) > 0
		clear(s.members)
		s.acc = newAccum(s.fn)
		return dirty, false
	}
	old, was := s.members[c.Key]
	var nw contrib
	if in {
		nw = contribOf(s.fn, s.field, c.New)
	}
	if was && in && old == nw {
		return false, false
	}
	if was {
		s.acc.remove(old)
		delete(s.members, c.Key)
	}
	if in {
		s.acc.add(nw)
		s.members[c.Key] = nw
	}
	return was || in, false
}

func (s *aggState) snapshot() renderer {
	v, ok, exact := s.acc.result()
	if !exact {
		return nil
	}
	return numberResult{v: v, ok: ok}
}

// numberResult is an aggregate's result: a number, or null when !ok.
type numberResult struct {
	v  float64
	ok bool
}

func (r numberResult) render(dst []byte) []byte {
	if !r.ok {
		return append(dst, "null"...)
	}
	return jsonv.AppendNumber(dst, r.v)
}
