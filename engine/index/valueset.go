package index

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/tidwall/btree"
)

// strSeed seeds the hash of string values; it is random per process, so a
// client cannot choose values that collide.
var strSeed = maphash.MakeSeed()

// strHash hashes a string value. Tests give an index a weak hash instead
// (its kinds.strs.hash) to drive the collision path (see valueSet.coll).
func strHash(s string) uint64 { return maphash.String(strSeed, s) }

// kind is what a valueSet needs to know of its values' JSON type.
type kind[K comparable, H comparable, T comparable] struct {
	// hash gives a value's key in the hashes.
	hash func(K) H
	// value gives the value of an item stored under key h: h itself for
	// numbers and booleans; the item's own value for strings.
	value func(h H, it T) K
	// own returns a copy of a value that the set may keep: a string given
	// to Add points into its item's memory, which the set must not keep
	// alive.
	own func(K) K
	// less orders values.
	less func(a, b K) bool
	// size is the heap an owned copy of a value holds apart from itself.
	size func(K) int64
}

// group is a value with two or more items (or a colliding value, with one
// or more), and the value itself, which the set owns.
type group[K comparable, T comparable] struct {
	val K
	posting[T]
}

// len is the number of items in the group.
func (g *group[K, T]) len() int { return slot[T]{more: &g.posting}.count() }

// valueSet indexes the values of one JSON type (K is string, float64 or
// bool): hashes from value to items, and, once a range has needed it, a
// B-tree of the distinct values.
//
// The hashes are keyed by H: the value itself for numbers and booleans; a
// 64-bit hash of the value for strings, so that a string held by one item
// costs the set a 16-byte hash entry and no copy of the string. The item's
// own value (kind.value, which reads the record) confirms a match. A string
// whose hash is taken by another value goes to coll, keyed by the string:
// with a random 64-bit hash that does not happen by chance, and the
// collision tests force it with a weak hash. Every distinct value is in
// exactly one of one, more and coll; a hash is a key of one or of more,
// never both.
type valueSet[K comparable, H comparable, T comparable] struct {
	k    *kind[K, H, T]
	one  map[H]T            // values with a single item, inline; nil while none
	more map[H]*group[K, T] // values with two or more items; nil while none
	coll map[K]*group[K, T] // colliding values; nil while there are none
	keys *btree.BTreeG[K]   // the distinct values in order once the Index is ordered (see Index.ordered), else nil; owned copies
	peak [2]int             // the most entries one and more have held since made: Go maps keep their capacity

	// Accounting for MemoryBytes, kept up to date by every change.
	postings int   // groups
	owned    int64 // bytes of the strings owned by groups
	// treeOwned is the bytes of the strings owned by the value tree. order
	// writes it under a read lock (see Index.ordered), so MemoryBytes
	// reads it only once the Index is ordered; owned is changed under the
	// write lock alone.
	treeOwned int64
	sliceCap  int // sum of cap(items) over slice postings
	trees     int // tree postings
	treeItems int // items in tree postings
}

// newValueSet returns an empty set of kind k, with its value tree when
// ordered is true.
func newValueSet[K comparable, H comparable, T comparable](k *kind[K, H, T], ordered bool) *valueSet[K, H, T] {
	s := &valueSet[K, H, T]{k: k}
	if ordered {
		s.keys = newTree(k.less)
	}
	return s
}

// distinct is the number of distinct values.
func (s *valueSet[K, H, T]) distinct() int { return len(s.one) + len(s.more) + len(s.coll) }

// get returns the items of value k.
func (s *valueSet[K, H, T]) get(k K) (slot[T], bool) {
	if s.coll != nil {
		if g, ok := s.coll[k]; ok {
			return slot[T]{more: &g.posting}, true
		}
	}
	h := s.k.hash(k)
	if it, ok := s.one[h]; ok && s.k.value(h, it) == k {
		return slot[T]{one: it}, true
	}
	if g, ok := s.more[h]; ok && g.val == k {
		return slot[T]{more: &g.posting}, true
	}
	return slot[T]{}, false
}

// each calls fn for every distinct value (not an owned copy) and its items,
// in no order, until fn returns false.
func (s *valueSet[K, H, T]) each(fn func(k K, sl slot[T]) bool) {
	for h, it := range s.one {
		if !fn(s.k.value(h, it), slot[T]{one: it}) {
			return
		}
	}
	for _, g := range s.more {
		if !fn(g.val, slot[T]{more: &g.posting}) {
			return
		}
	}
	for _, g := range s.coll {
		if !fn(g.val, slot[T]{more: &g.posting}) {
			return
		}
	}
}

// order builds the value tree from the hashes, if it is not built: the
// distinct values sorted, then loaded in order, each an append to the
// rightmost leaf. O(d log d) once; every change maintains it from then on.
func (s *valueSet[K, H, T]) order() {
	if s == nil || s.keys != nil {
		return
	}
	tr := newTree(s.k.less)
	for _, k := range s.sortedKeys() {
		tr.Load(s.k.own(k))
		s.treeOwned += s.k.size(k)
	}
	s.keys = tr
}

// sortedKeys returns the distinct values in ascending order.
func (s *valueSet[K, H, T]) sortedKeys() []K {
	ks := make([]K, 0, s.distinct())
	s.each(func(k K, _ slot[T]) bool {
		ks = append(ks, k)
		return true
	})
	slices.SortFunc(ks, func(a, b K) int {
		if s.k.less(a, b) {
			return -1
		}
		return 1 // the values are distinct
	})
	return ks
}

// account adds (sign 1) or takes away (sign -1) the footprint of p.
func (s *valueSet[K, H, T]) account(p *posting[T], sign int) {
	if p.tree != nil {
		s.trees += sign
		s.treeItems += sign * p.tree.Len()
	} else {
		s.sliceCap += sign * cap(p.items)
	}
}

// newValue records that k is a new distinct value.
func (s *valueSet[K, H, T]) newValue(k K) {
	if s.keys != nil {
		s.keys.Load(s.k.own(k)) // appends cheaply when values arrive in order
		s.treeOwned += s.k.size(k)
	}
}

// goneValue records that k is no longer a value, and gives memory back.
func (s *valueSet[K, H, T]) goneValue(k K) {
	if s.keys != nil {
		s.keys.Delete(k)
		s.treeOwned -= s.k.size(k)
	}
	s.maybeShrink()
}

// addTo adds it to g and reports whether g grew.
func (s *valueSet[K, H, T]) addTo(g *group[K, T], it T, o *order[T]) bool {
	s.account(&g.posting, -1)
	added := g.add(it, o)
	s.account(&g.posting, +1)
	return added
}

// newGroup makes the group of value k with the items of p.
func (s *valueSet[K, H, T]) newGroup(k K, items ...T) *group[K, T] {
	g := &group[K, T]{val: s.k.own(k), posting: posting[T]{items: items}}
	s.postings++
	s.owned += s.k.size(k)
	s.account(&g.posting, +1)
	return g
}

// add indexes it under k and reports whether the index gained an item.
func (s *valueSet[K, H, T]) add(k K, it T, o *order[T]) bool {
	if s.coll != nil {
		if g, ok := s.coll[k]; ok {
			return s.addTo(g, it, o)
		}
	}
	h := s.k.hash(k)
	if it0, ok := s.one[h]; ok {
		if s.k.value(h, it0) != k {
			return s.collide(k, it)
		}
		if it0 == it {
			return false
		}
		a, b := it0, it
		pa, pb := o.pos(a), o.pos(b)
		if pa == pb {
			s.one[h] = it
			return false
		}
		if pb < pa {
			a, b = b, a
		}
		s.deleteOne(h)
		if s.more == nil {
			s.more = make(map[H]*group[K, T])
		}
		s.more[h] = s.newGroup(k, a, b)
		s.peak[1] = max(s.peak[1], len(s.more))
		return true
	}
	if g, ok := s.more[h]; ok {
		if g.val != k {
			return s.collide(k, it)
		}
		return s.addTo(g, it, o)
	}
	s.putOne(h, it)
	s.newValue(k)
	return true
}

// putOne stores the single item of a value under h.
func (s *valueSet[K, H, T]) putOne(h H, it T) {
	if s.one == nil {
		s.one = make(map[H]T)
	}
	s.one[h] = it
	s.peak[0] = max(s.peak[0], len(s.one))
}

// deleteOne removes the single item under h; an empty hash is freed, so an
// index that is back where it was holds what it held.
func (s *valueSet[K, H, T]) deleteOne(h H) {
	delete(s.one, h)
	if len(s.one) == 0 {
		s.one, s.peak[0] = nil, 0
	}
}

// collide indexes it under k, a new value whose hash another value holds.
func (s *valueSet[K, H, T]) collide(k K, it T) bool {
	if s.coll == nil {
		s.coll = make(map[K]*group[K, T])
	}
	g := s.newGroup(k, it)
	s.coll[g.val] = g
	s.newValue(k)
	return true
}

// remove takes it out of k's items and reports whether it was there.
func (s *valueSet[K, H, T]) remove(k K, it T, o *order[T]) bool {
	if s.coll != nil {
		if g, ok := s.coll[k]; ok {
			s.account(&g.posting, -1)
			removed := g.remove(it, o)
			if g.len() > 0 {
				s.account(&g.posting, +1)
				return removed
			}
			delete(s.coll, k)
			if len(s.coll) == 0 {
				s.coll = nil
			}
			s.postings--
			s.owned -= s.k.size(k)
			s.goneValue(k)
			return removed
		}
	}
	h := s.k.hash(k)
	if it0, ok := s.one[h]; ok && s.k.value(h, it0) == k {
		if it0 != it {
			return false
		}
		s.deleteOne(h)
		s.goneValue(k)
		return true
	}
	g, ok := s.more[h]
	if !ok || g.val != k {
		return false
	}
	s.account(&g.posting, -1)
	removed := g.remove(it, o)
	if g.tree == nil && len(g.items) == 1 {
		delete(s.more, h)
		if len(s.more) == 0 {
			s.more, s.peak[1] = nil, 0
		}
		s.putOne(h, g.items[0])
		s.postings--
		s.owned -= s.k.size(k)
		s.maybeShrink()
		return removed
	}
	s.account(&g.posting, +1)
	return removed
}

// maybeShrink rebuilds a hash once it holds a quarter of its high-water
// mark, so that a bucket that shrank does not keep the hash of its largest
// size. The rebuild is O(len) and follows at least 3*len deletions: O(1)
// amortised.
func (s *valueSet[K, H, T]) maybeShrink() {
	if p := s.peak[0]; p >= shrinkMin && len(s.one) <= p/4 && s.one != nil {
		s.one = resized(s.one)
		s.peak[0] = len(s.one)
	}
	if p := s.peak[1]; p >= shrinkMin && len(s.more) <= p/4 && s.more != nil {
		s.more = resized(s.more)
		s.peak[1] = len(s.more)
	}
}

// resized copies m into a map sized for its entries (maps.Clone keeps
// the capacity).
func resized[H comparable, V any](m map[H]V) map[H]V {
	c := make(map[H]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// span visits the items whose value lies within the bounds, values in
// ascending order, and reports whether fn always returned true. The value
// tree must be built (Index.ensureOrdered).
func (s *valueSet[K, H, T]) span(lo, hi K, hasLo, hasHi, loIncl, hiIncl bool, fn func(T) bool) bool {
	ok := true
	visit := func(k K) bool {
		if hasLo && !loIncl && !s.keys.Less(lo, k) {
			return true // k == lo
		}
		if hasHi && (s.keys.Less(hi, k) || (!hiIncl && !s.keys.Less(k, hi))) {
			return false
		}
		sl, _ := s.get(k)
		ok = sl.each(fn)
		return ok
	}
	if hasLo {
		s.keys.Ascend(lo, visit)
	} else {
		s.keys.Scan(visit)
	}
	return ok
}

// The kinds of the three JSON types an index holds.

func identity[K any](k K) K { return k }

// scalarKind is the kind of numbers or booleans: keyed by the value.
func scalarKind[K comparable, T comparable](less func(a, b K) bool) *kind[K, K, T] {
	return &kind[K, K, T]{hash: identity[K], value: func(h K, _ T) K { return h }, own: identity[K], less: less,
		size: func(K) int64 { return 0 }}
}

// stringKind is the kind of strings: keyed by strHash, an item's value
// read by val.
func stringKind[T comparable](val func(T) string) *kind[string, uint64, T] {
	return &kind[string, uint64, T]{
		hash:  strHash,
		value: func(_ uint64, it T) string { return val(it) },
		own:   strings.Clone,
		less:  lessOrdered[string],
		size:  func(s string) int64 { return alloc(int64(len(s))) },
	}
}
