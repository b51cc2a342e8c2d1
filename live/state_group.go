package live

import (
	"slices"

	"github.com/tidwall/btree"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// groupState maintains an aggregate with groupBy: each member remembers its
// group and contribution, and each group keeps its members ordered by
// position, because the groups are listed in order of first appearance and
// a group's key shows its first record's values (query.GroupBy's rules).
type groupState struct {
	fn      aggFn
	field   string
	fields  []string
	ordered bool
	groups  map[string]*group
	members map[any]*groupMember
	buf     []byte
}

// group is one group of a groupState.
type group struct {
	id      string
	members *btree.BTreeG[*groupMember] // by position; Min is the first
	acc     accum
}

// groupMember is one record of a group.
type groupMember struct {
	rec *engine.Record
	pos position
	g   *group
	c   contrib
}

func newGroupState(q *query.Query, ordered bool, recs []*engine.Record, pos []position) *groupState {
	s := &groupState{
		fn: parseAggFn(q.Agg.Func), field: q.Agg.Field, fields: q.Agg.GroupBy, ordered: ordered,
		groups: make(map[string]*group), members: make(map[any]*groupMember, len(recs)),
	}
	for i, r := range recs {
		s.add(r, pos[i])
	}
	return s
}

// groupID returns the group key of rec: the injective encoding of its
// groupBy values in which deeply equal values encode alike.
func (s *groupState) groupID(rec *engine.Record) []byte {
	b := s.buf[:0]
	for _, f := range s.fields {
		v, _ := rec.Get(f)
		b = query.AppendGroupKey(b, v)
	}
	s.buf = b
	return b
}

func (s *groupState) add(rec *engine.Record, pos position) {
	id := s.groupID(rec)
	g := s.groups[string(id)]
	if g == nil {
		g = &group{id: string(id), acc: newAccum(s.fn)}
		ordered := s.ordered
		g.members = btree.NewBTreeGOptions(func(a, b *groupMember) bool {
			return comparePos(ordered, a.pos, b.pos) < 0
		}, btree.Options{NoLocks: true})
		s.groups[g.id] = g
	}
	m := &groupMember{rec: rec, pos: pos, g: g, c: contribOf(s.fn, s.field, rec)}
	g.members.Set(m)
	g.acc.add(m.c)
	s.members[rec.Key()] = m
}

func (s *groupState) remove(m *groupMember) {
	g := m.g
	g.members.Delete(m)
	g.acc.remove(m.c)
	if g.members.Len() == 0 {
		delete(s.groups, g.id)
	}
	delete(s.members, m.rec.Key())
}

func (s *groupState) apply(c *engine.Change, in bool, pos position) (dirty, full bool) {
	if c.Op == engine.OpCleared {
		dirty = len(s.members) > 0
		clear(s.groups)
		clear(s.members)
		return dirty, false
	}
	old := s.members[c.Key]
	if old != nil && in && string(s.groupID(c.New)) == old.g.id {
		// Same group: swap the record in place (the position is unchanged).
		nc := contribOf(s.fn, s.field, c.New)
		first, _ := old.g.members.Min()
		dirty = nc != old.c || first == old
		old.g.acc.remove(old.c)
		old.g.acc.add(nc)
		old.c, old.rec = nc, c.New
		return dirty, false
	}
	if old != nil {
		if !pos.ok {
			pos = old.pos // an update keeps its record's place
		}
		s.remove(old)
		dirty = true
	}
	if in {
		if !pos.ok {
			return true, true
		}
		s.add(c.New, pos)
		dirty = true
	}
	return dirty, false
}

func (s *groupState) snapshot() renderer {
	out := make([]groupRow, 0, len(s.groups))
	for _, g := range s.groups {
		first, _ := g.members.Min()
		v, _, exact := g.acc.result() // min/max of a group without numbers: 0
		if !exact {
			return nil
		}
		out = append(out, groupRow{first: first.rec, pos: first.pos, v: v})
	}
	ordered := s.ordered
	slices.SortFunc(out, func(a, b groupRow) int { return comparePos(ordered, a.pos, b.pos) })
	return groupResultFields{rows: out, fields: s.fields}
}

// groupRow is one group of a rendered result.
type groupRow struct {
	first *engine.Record
	pos   position
	v     float64
}

// groupResultFields renders groups as query.GroupBy does:
// [{"key":{"f":v,…},"value":N},…].
type groupResultFields struct {
	rows   []groupRow
	fields []string
}

func (r groupResultFields) render(dst []byte) []byte {
	dst = append(dst, '[')
	for i, g := range r.rows {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":{`...)
		for j, f := range r.fields {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonv.AppendString(dst, f)
			dst = append(dst, ':')
			v, _ := g.first.Get(f)
			dst = jsonv.Append(dst, v)
		}
		dst = append(dst, `},"value":`...)
		dst = jsonv.AppendNumber(dst, g.v)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
