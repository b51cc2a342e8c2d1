package filter

import (
	"slices"

	"bucketd/jsonv"
)

// Constraint is a condition on one field implied by the whole filter, for
// index planning: every record that matches the filter satisfies every
// constraint of Constraints. Constraints come from top-level fields and
// $and members (at any depth of $and), never from inside $or; conditions on
// the same field are merged into one Constraint. A constraint may be looser
// than the filter (the planner must still run Match on what an index gives),
// never tighter. An Eq list from an $in is also satisfied by an array
// holding one of its values (Satisfies): an index of scalars answers it
// only for fields that cannot hold arrays.
type Constraint struct {
	// Field is the record field the constraint is on.
	Field string
	// Eq, when non-nil, lists the values the field must equal (from a plain
	// value, $eq or $in): strings, numbers and booleans only, never null,
	// arrays or objects, deduplicated. A non-nil empty Eq means no record can
	// match (for example {"a":1,"$and":[{"a":2}]}).
	Eq []jsonv.Value
	// Lo and Hi are range bounds from $gt, $gte, $lt, $lte, $between and
	// $startsWith (a prefix p gives p <= v < the next string after every
	// string starting with p). Both are float64 or both string: a record
	// value satisfies the range only if it has that type, and strings
	// compare bytewise. HasLo and HasHi tell whether each bound is set,
	// LoIncl and HiIncl whether it is inclusive.
	Lo, Hi         jsonv.Value
	HasLo, HasHi   bool
	LoIncl, HiIncl bool
}

// Constraints returns the constraints the filter implies, one per field at
// most, in the order the fields first appear in the filter. The result is a
// fresh copy the caller may keep.
func (f *Filter) Constraints() []Constraint {
	if f == nil || len(f.cons) == 0 {
		return nil
	}
	out := make([]Constraint, len(f.cons))
	copy(out, f.cons)
	for i := range out {
		if out[i].Eq != nil {
			out[i].Eq = append(make([]jsonv.Value, 0, len(out[i].Eq)), out[i].Eq...)
		}
	}
	return out
}

// buildConstraints derives the constraints of the top-level conjunction.
func buildConstraints(g *group) []Constraint {
	var out []Constraint
	for i := range g.tests {
		if c, ok := constraintOf(&g.tests[i]); ok {
			out = append(out, c)
		}
	}
	return out
}

// rangeKind is the type of a range's bounds.
type rangeKind uint8

const (
	kindNone rangeKind = iota
	kindNum
	kindStr
)

// constraintOf merges the conditions of t into one constraint; ok is false
// when they imply nothing an index can use.
func constraintOf(t *fieldTest) (c Constraint, ok bool) {
	c.Field = t.field
	var (
		eq    []jsonv.Value
		hasEq bool
		kind  rangeKind
		unsat bool
	)
	setKind := func(k rangeKind) {
		if kind != kindNone && kind != k {
			unsat = true
		}
		kind = k
	}
	addEq := func(vals []jsonv.Value) {
		vals = dedupeScalars(vals)
		if hasEq {
			vals = intersect(eq, vals)
		}
		eq, hasEq = vals, true
	}
	lo := func(v jsonv.Value, incl bool) {
		if !c.HasLo || less(c.Lo, v) {
			c.Lo, c.HasLo, c.LoIncl = v, true, incl
		} else if !less(v, c.Lo) {
			c.LoIncl = c.LoIncl && incl
		}
	}
	hi := func(v jsonv.Value, incl bool) {
		if !c.HasHi || less(v, c.Hi) {
			c.Hi, c.HasHi, c.HiIncl = v, true, incl
		} else if !less(c.Hi, v) {
			c.HiIncl = c.HiIncl && incl
		}
	}
	for i := range t.conds {
		x := &t.conds[i]
		if x.neg {
			continue
		}
		switch x.op {
		case opEq:
			if isScalar(x.val) {
				addEq([]jsonv.Value{x.val})
			}
		case opIn:
			if allScalars(x.set.all) {
				addEq(x.set.all)
			}
		case opGt, opGte, opLt, opLte, opBetween:
			var b, b2 jsonv.Value
			if x.isStr {
				setKind(kindStr)
				b, b2 = x.str, x.str2
			} else {
				setKind(kindNum)
				b, b2 = x.num, x.num2
			}
			if unsat {
				continue
			}
			switch x.op {
			case opGt, opGte:
				lo(b, x.op == opGte)
			case opLt, opLte:
				hi(b, x.op == opLte)
			default:
				lo(b, true)
				hi(b2, true)
			}
		case opStartsWith:
			setKind(kindStr)
			if unsat {
				continue
			}
			lo(x.str, true)
			if next, ok := prefixEnd(x.str); ok {
				hi(next, false)
			}
		}
	}
	if unsat {
		c.Lo, c.Hi, c.HasLo, c.HasHi, c.LoIncl, c.HiIncl = nil, nil, false, false, false, false
		c.Eq = []jsonv.Value{}
		return c, true
	}
	if hasEq {
		c.Eq = make([]jsonv.Value, 0, len(eq))
		for _, v := range eq {
			if inRange(&c, v) {
				c.Eq = append(c.Eq, v)
			}
		}
	}
	return c, hasEq || c.HasLo || c.HasHi
}

// inRange reports whether v satisfies the range of c (true when c has no
// range): v must have the bounds' type and lie between them.
func inRange(c *Constraint, v jsonv.Value) bool {
	if c.HasLo {
		if !sameKind(v, c.Lo) || less(v, c.Lo) || !c.LoIncl && !less(c.Lo, v) {
			return false
		}
	}
	if c.HasHi {
		if !sameKind(v, c.Hi) || less(c.Hi, v) || !c.HiIncl && !less(v, c.Hi) {
			return false
		}
	}
	return true
}

// Satisfies reports whether a field value satisfies c; present is false
// when the field is absent. It is the definition of what a constraint
// means, for tests and for planners that want to check an index entry.
func (c *Constraint) Satisfies(v jsonv.Value, present bool) bool {
	if !present {
		return false
	}
	if c.Eq != nil {
		found := false
		arr, isArr := v.([]jsonv.Value)
		for _, e := range c.Eq {
			if jsonv.Equal(e, v) || (isArr && slices.ContainsFunc(arr, func(x jsonv.Value) bool { return jsonv.Equal(e, x) })) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if (c.HasLo || c.HasHi) && !inRange(c, v) {
		return false
	}
	return true
}

// less reports a < b when both are numbers or both strings (bytewise);
// false otherwise.
func less(a, b jsonv.Value) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x < y
	case string:
		y, ok := b.(string)
		return ok && x < y
	}
	return false
}

// sameKind reports whether a and b are both numbers or both strings.
func sameKind(a, b jsonv.Value) bool {
	switch a.(type) {
	case float64:
		_, ok := b.(float64)
		return ok
	case string:
		_, ok := b.(string)
		return ok
	}
	return false
}

// isScalar reports whether v is a string, number or boolean.
func isScalar(v jsonv.Value) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

// allScalars reports whether every member of vals is a scalar.
func allScalars(vals []jsonv.Value) bool {
	for _, v := range vals {
		if !isScalar(v) {
			return false
		}
	}
	return true
}

// scalarKey identifies a scalar value in a map (1 and "1" differ; 0 and -0
// do not, as with jsonv.Equal).
type scalarKey struct {
	kind byte
	s    string
	n    float64
}

// keyOf returns the map key of a scalar.
func keyOf(v jsonv.Value) scalarKey {
	switch t := v.(type) {
	case string:
		return scalarKey{kind: 's', s: t}
	case float64:
		if t == 0 {
			t = 0 // fold -0 into 0
		}
		return scalarKey{kind: 'n', n: t}
	case bool:
		if t {
			return scalarKey{kind: 't'}
		}
		return scalarKey{kind: 'f'}
	}
	return scalarKey{}
}

// dedupeScalars returns the scalars of vals without repeats, in order.
func dedupeScalars(vals []jsonv.Value) []jsonv.Value {
	seen := make(map[scalarKey]struct{}, len(vals))
	out := make([]jsonv.Value, 0, len(vals))
	for _, v := range vals {
		k := keyOf(v)
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, v)
		}
	}
	return out
}

// intersect returns the members of a that are also in b, in a's order.
func intersect(a, b []jsonv.Value) []jsonv.Value {
	in := make(map[scalarKey]struct{}, len(b))
	for _, v := range b {
		in[keyOf(v)] = struct{}{}
	}
	out := make([]jsonv.Value, 0, len(a))
	for _, v := range a {
		if _, ok := in[keyOf(v)]; ok {
			out = append(out, v)
		}
	}
	return out
}

// prefixEnd returns the least string greater than every string that starts
// with p, in byte order; ok is false when there is none (p empty or all
// 0xFF bytes). The result need not be valid UTF-8.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
