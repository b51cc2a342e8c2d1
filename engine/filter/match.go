package filter

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"bucketd/jsonv"
)

// Match reports whether the record behind g satisfies the filter. It does
// not allocate and reads each field it needs with one Get call per field test
// (a field that appears in several $or members may be read more than once).
// A nil *Filter matches every record.
func (f *Filter) Match(g Getter) bool {
	if f == nil {
		return true
	}
	return f.root.match(g)
}

// match evaluates the conjunction g. Recursion depth is bounded by
// MaxNesting.
func (g *group) match(r Getter) bool {
	for i := range g.tests {
		t := &g.tests[i]
		v, present := r.Get(t.field)
		for j := range t.conds {
			if !t.conds[j].match(v, present) {
				return false
			}
		}
	}
	for _, alts := range g.ors {
		ok := false
		for j := range alts {
			if alts[j].match(r) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// match evaluates c on a field value; present is false when the field is
// absent from the record.
func (c *cond) match(v jsonv.Value, present bool) bool {
	if c.op == opNot {
		return !allMatch(c.sub, v, present)
	}
	return (present && c.test(v)) != c.neg
}

// allMatch reports whether every cond matches v.
func allMatch(conds []cond, v jsonv.Value, present bool) bool {
	for i := range conds {
		if !conds[i].match(v, present) {
			return false
		}
	}
	return true
}

// test evaluates the positive form of c on a present value.
func (c *cond) test(v jsonv.Value) bool {
	switch c.op {
	case opEq:
		return jsonv.Equal(c.val, v)
	case opIn:
		if c.set.has(v) {
			return true
		}
		// An array field matches when one of its elements is a member,
		// except for an $in made of an $or of equalities, which compare
		// whole values as plain equalities do.
		if arr, ok := v.([]jsonv.Value); ok && !c.fromOr {
			for _, e := range arr {
				if c.set.has(e) {
					return true
				}
			}
		}
		return false
	case opExists:
		return v != nil
	case opRegex:
		s, ok := v.(string)
		return ok && c.re.MatchString(s)
	case opSize:
		arr, ok := v.([]jsonv.Value)
		return ok && float64(len(arr)) == c.num
	case opHas:
		return hasElement(v, c.val)
	case opElemMatch:
		arr, _ := v.([]jsonv.Value)
		for _, x := range arr {
			if c.elem != nil {
				if o, ok := x.(*jsonv.Object); ok && c.elem.Match(o) {
					return true
				}
			} else if allMatch(c.sub, x, true) {
				return true
			}
		}
		return false
	case opContains:
		if _, ok := v.([]jsonv.Value); ok {
			return hasElement(v, c.val)
		}
		s, ok := v.(string)
		return ok && containsLower(s, c.str)
	case opStartsWith, opEndsWith:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if c.op == opStartsWith {
			return strings.HasPrefix(s, c.str)
		}
		return strings.HasSuffix(s, c.str)
	}
	// Comparisons: only number with number and string with string.
	if c.isStr {
		s, ok := v.(string)
		if !ok {
			return false
		}
		switch c.op {
		case opGt:
			return s > c.str
		case opGte:
			return s >= c.str
		case opLt:
			return s < c.str
		case opLte:
			return s <= c.str
		}
		return s >= c.str && s <= c.str2
	}
	n, ok := v.(float64)
	if !ok {
		return false
	}
	switch c.op {
	case opGt:
		return n > c.num
	case opGte:
		return n >= c.num
	case opLt:
		return n < c.num
	case opLte:
		return n <= c.num
	}
	return n >= c.num && n <= c.num2
}

// hasElement reports whether v is an array with an element equal to x.
func hasElement(v, x jsonv.Value) bool {
	arr, _ := v.([]jsonv.Value)
	for _, e := range arr {
		if jsonv.Equal(e, x) {
			return true
		}
	}
	return false
}

// valueSet holds the members of an $in or $nin list.
type valueSet struct {
	// all holds every member, in order; small sets are scanned linearly.
	all []jsonv.Value
	// strs, nums and rest are built for sets of largeSet members or more:
	// strings and numbers are looked up in maps, other members (null,
	// booleans, arrays, objects) scanned in rest.
	strs map[string]struct{}
	nums map[float64]struct{}
	rest []jsonv.Value
}

// newValueSet builds the set of the members of an $in/$nin operand.
func newValueSet(members []jsonv.Value) *valueSet {
	s := &valueSet{all: members}
	if len(members) < largeSet {
		return s
	}
	s.strs = make(map[string]struct{})
	s.nums = make(map[float64]struct{})
	for _, m := range members {
		switch t := m.(type) {
		case string:
			s.strs[t] = struct{}{}
		case float64:
			s.nums[t] = struct{}{}
		default:
			s.rest = append(s.rest, m)
		}
	}
	return s
}

// has reports whether v is deeply equal to a member.
func (s *valueSet) has(v jsonv.Value) bool {
	if s.strs != nil {
		switch t := v.(type) {
		case string:
			_, ok := s.strs[t]
			return ok
		case float64:
			_, ok := s.nums[t]
			return ok
		}
		for _, m := range s.rest {
			if jsonv.Equal(m, v) {
				return true
			}
		}
		return false
	}
	for _, m := range s.all {
		if jsonv.Equal(m, v) {
			return true
		}
	}
	return false
}

// lowerRune is the simple (one rune to one rune) Unicode lower-case mapping,
// with a fast path for ASCII.
func lowerRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

// decodeRune decodes the first rune of s (non-empty), with a fast path for
// ASCII. Invalid bytes decode to utf8.RuneError, one byte at a time.
func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

// lowerString maps every rune of s through lowerRune.
func lowerString(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, w := decodeRune(s[i:])
		b = utf8.AppendRune(b, lowerRune(r))
		i += w
	}
	return string(b)
}

// containsLower reports whether lowerString(s) contains low, which is
// already lower-cased, without allocating.
func containsLower(s, low string) bool {
	if low == "" {
		return true
	}
	first, fw := decodeRune(low)
	rest := low[fw:]
	for i := 0; i < len(s); {
		r, w := decodeRune(s[i:])
		i += w
		if lowerRune(r) == first && hasPrefixLower(s[i:], rest) {
			return true
		}
	}
	return false
}

// hasPrefixLower reports whether lowerString(s) starts with low.
func hasPrefixLower(s, low string) bool {
	for len(low) > 0 {
		if len(s) == 0 {
			return false
		}
		lr, lw := decodeRune(low)
		r, w := decodeRune(s)
		if lowerRune(r) != lr {
			return false
		}
		s, low = s[w:], low[lw:]
	}
	return true
}
