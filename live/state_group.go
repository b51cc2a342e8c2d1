package live

import (
	"sort"

	"github.com/tidwall/btree"

	"bucketd/engine"
	"bucketd/engine/query"
)

// groupState maintains an aggregate with groupBy: each member remembers its
// group and contribution, and each group keeps its members ordered by
// position, because the groups are listed in order of first appearance and
// a group's key shows its first record's values (query.GroupBy's rules).
type groupState struct {
	fn      query.AggFunc
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

func newGroupState(q *query.Query, fn query.AggFunc, ordered bool, recs []*engine.Record, pos []position) *groupState {
	s := &groupState{
		fn: fn, field: q.Agg.Field, fields: q.Agg.GroupBy, ordered: ordered,
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
	r := groupResult{fields: s.fields, ordered: s.ordered,
		rows: make([]query.GroupRow, 0, len(s.groups)), pos: make([]position, 0, len(s.groups))}
	for _, g := range s.groups {
		first, _ := g.members.Min()
		v, _, exact := g.acc.result() // min/max of a group without numbers: 0
		if !exact {
			return nil
		}
		r.rows = append(r.rows, query.GroupRow{First: first.rec, Value: v})
		r.pos = append(r.pos, first.pos)
	}
	sort.Sort(r)
	return r
}

// groupResult is a groupState's result: its groups in order of first
// appearance (sorted by the positions of their first records), rendered
// by query.AppendGroupRows as query.GroupBy renders them.
type groupResult struct {
	rows    []query.GroupRow
	pos     []position // pos[i] is the position of rows[i].First
	fields  []string
	ordered bool
}

func (r groupResult) render(dst []byte) []byte { return query.AppendGroupRows(dst, r.fields, r.rows) }

// Len, Less and Swap sort the groups by position (sort.Interface).
func (r groupResult) Len() int           { return len(r.rows) }
func (r groupResult) Less(i, j int) bool { return comparePos(r.ordered, r.pos[i], r.pos[j]) < 0 }
func (r groupResult) Swap(i, j int) {
	r.rows[i], r.rows[j] = r.rows[j], r.rows[i]
	r.pos[i], r.pos[j] = r.pos[j], r.pos[i]
}
