package live

import (
	"slices"

	"github.com/tidwall/btree"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// listState maintains a query whose result is records: the members in
// result order (the sort keys, null and absent last, ties in bucket order),
// bounded to the first k = offset+limit when there is a limit.
//
// Invariant: the tree holds exactly the first min(k, matching) records in
// order, and complete reports that it holds every matching record. When it
// does not (the bounded case), a record beyond the bound is unknown: if a
// member leaves and no new record takes its place within the bound, the
// state cannot tell which record moves up and asks for a full read — the
// only case that needs one ("re-read only when a member leaves").
type listState struct {
	keys     []query.SortKey
	ordered  bool
	k        int // offset+limit; 0: unbounded
	tree     *btree.BTreeG[*listItem]
	members  map[any]*listItem
	complete bool
	view     *query.Query // q without its sort: renders records already in order
}

// listItem is one member of a listState.
type listItem struct {
	rec  *engine.Record
	pos  position
	vals []jsonv.Value // sort values; nil for null and absent
}

func newListState(q *query.Query, ordered bool, recs []*engine.Record, pos []position) *listState {
	s := &listState{keys: q.Sort, ordered: ordered, members: make(map[any]*listItem, len(recs)), complete: true}
	if q.Limit > 0 {
		s.k = q.Offset + q.Limit
	}
	s.view = &query.Query{Bucket: q.Bucket, Filter: q.Filter, Offset: q.Offset, Limit: q.Limit, Fields: q.Fields}
	s.tree = btree.NewBTreeGOptions(s.less, btree.Options{NoLocks: true})
	items := make([]*listItem, len(recs))
	for i, r := range recs {
		items[i] = s.item(r, pos[i])
	}
	if len(s.keys) > 0 {
		slices.SortFunc(items, s.cmp)
	}
	if s.k > 0 && len(items) > s.k {
		items, s.complete = items[:s.k], false
	}
	for _, it := range items {
		s.tree.Load(it)
		s.members[it.rec.Key()] = it
	}
	return s
}

func (s *listState) item(rec *engine.Record, pos position) *listItem {
	it := &listItem{rec: rec, pos: pos}
	if len(s.keys) > 0 {
		it.vals = make([]jsonv.Value, len(s.keys))
		for j, sk := range s.keys {
			it.vals[j], _ = rec.Get(sk.Field)
		}
	}
	return it
}

// cmp orders items as query.Eval sorts records: key by key, null and absent
// last in both directions, other values by jsonv.Compare, then bucket order.
func (s *listState) cmp(a, b *listItem) int {
	for j, sk := range s.keys {
		x, y := a.vals[j], b.vals[j]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		c := jsonv.Compare(x, y)
		if c == 0 {
			continue
		}
		if sk.Desc {
			return -c
		}
		return c
	}
	return comparePos(s.ordered, a.pos, b.pos)
}

func (s *listState) less(a, b *listItem) bool { return s.cmp(a, b) < 0 }

func (s *listState) insert(it *listItem) {
	s.tree.Set(it)
	s.members[it.rec.Key()] = it
}

func (s *listState) evictLast() {
	if it, ok := s.tree.PopMax(); ok {
		delete(s.members, it.rec.Key())
	}
}

func (s *listState) apply(c *engine.Change, in bool, pos position) (dirty, full bool) {
	if c.Op == engine.OpCleared {
		dirty = s.tree.Len() > 0
		s.tree.Clear()
		clear(s.members)
		s.complete = true
		return dirty, false
	}
	var bound *listItem
	if !s.complete {
		bound, _ = s.tree.Max() // the k-th record: everything unknown sorts after it
	}
	old := s.members[c.Key]
	if old != nil {
		s.tree.Delete(old)
		delete(s.members, c.Key)
		dirty = true
		if !pos.ok {
			pos = old.pos // an update keeps its record's place
		}
	}
	if in {
		if !pos.ok {
			return true, true
		}
		it := s.item(c.New, pos)
		switch {
		case s.complete:
			s.insert(it)
			dirty = true
			if s.k > 0 && s.tree.Len() > s.k {
				s.evictLast()
				s.complete = false
			}
		case s.cmp(it, bound) <= 0:
			s.insert(it)
			dirty = true
			if s.tree.Len() > s.k {
				s.evictLast()
			}
		}
	}
	if !s.complete && s.tree.Len() < s.k {
		full = true
	}
	return dirty, full
}

func (s *listState) snapshot() renderer {
	recs := make([]query.Record, 0, s.tree.Len())
	s.tree.Scan(func(it *listItem) bool {
		recs = append(recs, it.rec)
		return true
	})
	return listResult{recs: recs, view: s.view}
}

// listResult renders records that are already in result order.
type listResult struct {
	recs []query.Record
	view *query.Query
}

func (r listResult) render(dst []byte) []byte { return r.view.Eval(r.recs, dst) }
