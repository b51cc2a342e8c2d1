package index

import (
	"cmp"
	"slices"

	"github.com/tidwall/btree"
)

const (
	// maxSlice is the most items a posting keeps in a sorted slice; the
	// item after that moves the posting into a B-tree.
	maxSlice = 64
	// minTree is the size at which a B-tree posting that shrinks moves back
	// into a slice. The gap between minTree and maxSlice keeps a posting that
	// hovers around the threshold from converting on every operation.
	minTree = 32
	// shrinkMin is the smallest high-water mark at which a map that lost
	// three quarters of its entries is rebuilt to give the memory back (Go
	// maps never shrink by themselves).
	shrinkMin = 256
)

// order is the item order shared by every posting of an Index.
type order[T comparable] struct {
	// pos gives an item's order position.
	pos func(T) uint64
	// less orders items by pos; it is the less function of tree postings.
	less func(a, b T) bool
}

// search finds the place of position p in items, sorted by pos.
func (o *order[T]) search(items []T, p uint64) (int, bool) {
	return slices.BinarySearchFunc(items, p, func(x T, p uint64) int {
		return cmp.Compare(o.pos(x), p)
	})
}

// newTree returns an empty B-tree without locks.
func newTree[E any](less func(a, b E) bool) *btree.BTreeG[E] {
	return btree.NewBTreeGOptions(less, btree.Options{NoLocks: true})
}

// posting holds the items of a value that has two or more of them: in a
// sorted slice up to maxSlice items, in a B-tree ordered by pos beyond that.
// Exactly one of items and tree is in use.
type posting[T comparable] struct {
	items []T
	tree  *btree.BTreeG[T]
}

// add inserts it and reports whether the posting grew; an item with the same
// pos as it is replaced by it.
func (p *posting[T]) add(it T, o *order[T]) bool {
	if p.tree != nil {
		// Load appends in O(height) when it has the largest pos and
		// falls back to an ordinary insert otherwise.
		_, replaced := p.tree.Load(it)
		return !replaced
	}
	ip := o.pos(it)
	n := len(p.items)
	if n < maxSlice && o.pos(p.items[n-1]) < ip {
		p.items = append(p.items, it)
		return true
	}
	i, found := o.search(p.items, ip)
	if found {
		p.items[i] = it
		return false
	}
	if n < maxSlice {
		p.items = slices.Insert(p.items, i, it)
		return true
	}
	tr := newTree(o.less)
	for _, x := range p.items {
		tr.Load(x)
	}
	tr.Set(it)
	p.items, p.tree = nil, tr
	return true
}

// remove deletes it and reports whether it was there.
func (p *posting[T]) remove(it T, o *order[T]) bool {
	if p.tree != nil {
		prev, ok := p.tree.Delete(it)
		if !ok {
			return false
		}
		if prev != it {
			// Another item with the same pos: put it back.
			p.tree.Set(prev)
			return false
		}
		if p.tree.Len() <= minTree {
			items := make([]T, 0, maxSlice)
			p.tree.Scan(func(x T) bool {
				items = append(items, x)
				return true
			})
			p.items, p.tree = items, nil
		}
		return true
	}
	i, found := o.search(p.items, o.pos(it))
	if !found || p.items[i] != it {
		return false
	}
	p.items = slices.Delete(p.items, i, i+1)
	if n, c := len(p.items), cap(p.items); c > 8 && n <= c/4 {
		p.items = append(make([]T, 0, 2*n), p.items...)
	}
	return true
}

// slot is what the hash holds for a value: the single item inline (no
// allocation for unique-ish fields), or the posting of two or more items.
type slot[T comparable] struct {
	// one is the only item when more is nil, and the zero T otherwise.
	one T
	// more holds the items when there are two or more.
	more *posting[T]
}

// each calls fn for the items of the slot in pos order and reports whether
// fn always returned true.
func (sl slot[T]) each(fn func(T) bool) bool {
	p := sl.more
	switch {
	case p == nil:
		return fn(sl.one)
	case p.tree == nil:
		for _, x := range p.items {
			if !fn(x) {
				return false
			}
		}
		return true
	default:
		ok := true
		p.tree.Scan(func(x T) bool {
			ok = fn(x)
			return ok
		})
		return ok
	}
}

// count is the number of items in the slot.
func (sl slot[T]) count() int {
	p := sl.more
	switch {
	case p == nil:
		return 1
	case p.tree == nil:
		return len(p.items)
	default:
		return p.tree.Len()
	}
}

// valueSet indexes the values of one JSON type (K is string, float64 or
// bool): a hash from value to slot, and, once a range has needed it, a
// B-tree of the distinct values.
type valueSet[K comparable, T comparable] struct {
	m map[K]slot[T]
	// keys orders the distinct values; nil until the Index is ordered
	// (see Index.ordered), then kept in step with m by every change.
	keys *btree.BTreeG[K]
	less func(a, b K) bool
	// peak is the most entries m has held since it was made; Go maps keep
	// their capacity, so memory follows peak rather than len(m).
	peak int

	// Accounting for MemoryBytes, kept up to date by every change.
	postings  int // posting structs
	sliceCap  int // sum of cap(items) over slice postings
	trees     int // tree postings
	treeItems int // items in tree postings
}

// newValueSet returns an empty set whose values are ordered by less, with
// its value tree when ordered is true.
func newValueSet[K comparable, T comparable](less func(a, b K) bool, ordered bool) *valueSet[K, T] {
	s := &valueSet[K, T]{m: make(map[K]slot[T]), less: less}
	if ordered {
		s.keys = newTree(less)
	}
	return s
}

// order builds the value tree from the hash, if it is not built: the
// distinct values sorted, then loaded in order, each an append to the
// rightmost leaf. O(d log d) once; every change maintains it from then on.
func (s *valueSet[K, T]) order() {
	if s == nil || s.keys != nil {
		return
	}
	tr := newTree(s.less)
	for _, k := range s.sortedKeys() {
		tr.Load(k)
	}
	s.keys = tr
}

// sortedKeys returns the distinct values of the hash in ascending order.
func (s *valueSet[K, T]) sortedKeys() []K {
	ks := make([]K, 0, len(s.m))
	for k := range s.m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b K) int {
		if s.less(a, b) {
			return -1
		}
		return 1 // values in a hash are distinct
	})
	return ks
}

// account adds (sign 1) or takes away (sign -1) the footprint of p.
func (s *valueSet[K, T]) account(p *posting[T], sign int) {
	if p.tree != nil {
		s.trees += sign
		s.treeItems += sign * p.tree.Len()
	} else {
		s.sliceCap += sign * cap(p.items)
	}
}

// add indexes it under k and reports whether the index gained an item.
func (s *valueSet[K, T]) add(k K, it T, o *order[T]) bool {
	sl, ok := s.m[k]
	if !ok {
		s.m[k] = slot[T]{one: it}
		if s.keys != nil {
			s.keys.Load(k) // appends cheaply when values arrive in order
		}
		s.peak = max(s.peak, len(s.m))
		return true
	}
	if p := sl.more; p != nil {
		s.account(p, -1)
		added := p.add(it, o)
		s.account(p, +1)
		return added
	}
	if sl.one == it {
		return false
	}
	a, b := sl.one, it
	pa, pb := o.pos(a), o.pos(b)
	if pa == pb {
		s.m[k] = slot[T]{one: it}
		return false
	}
	if pb < pa {
		a, b = b, a
	}
	p := &posting[T]{items: []T{a, b}}
	s.m[k] = slot[T]{more: p}
	s.postings++
	s.account(p, +1)
	return true
}

// remove takes it out of k's slot and reports whether it was there.
func (s *valueSet[K, T]) remove(k K, it T, o *order[T]) bool {
	sl, ok := s.m[k]
	if !ok {
		return false
	}
	p := sl.more
	if p == nil {
		if sl.one != it {
			return false
		}
		delete(s.m, k)
		if s.keys != nil {
			s.keys.Delete(k)
		}
		s.maybeShrink()
		return true
	}
	s.account(p, -1)
	removed := p.remove(it, o)
	if p.tree == nil && len(p.items) == 1 {
		s.m[k] = slot[T]{one: p.items[0]}
		s.postings--
		return removed
	}
	s.account(p, +1)
	return removed
}

// maybeShrink rebuilds m once it holds a quarter of its high-water mark, so
// that a bucket that shrank does not keep the hash of its largest size. The
// rebuild is O(len) and follows at least 3*len deletions: O(1) amortised.
func (s *valueSet[K, T]) maybeShrink() {
	if s.peak < shrinkMin || len(s.m) > s.peak/4 {
		return
	}
	m := make(map[K]slot[T], len(s.m))
	for k, sl := range s.m {
		m[k] = sl
	}
	s.m, s.peak = m, len(m)
}

// span visits the items whose value lies within the bounds, values in
// ascending order, and reports whether fn always returned true. The value
// tree must be built (Index.ensureOrdered).
func (s *valueSet[K, T]) span(lo, hi K, hasLo, hasHi, loIncl, hiIncl bool, fn func(T) bool) bool {
	ok := true
	visit := func(k K) bool {
		if hasLo && !loIncl && !s.keys.Less(lo, k) {
			return true // k == lo
		}
		if hasHi && (s.keys.Less(hi, k) || (!hiIncl && !s.keys.Less(k, hi))) {
			return false
		}
		ok = s.m[k].each(fn)
		return ok
	}
	if hasLo {
		s.keys.Ascend(lo, visit)
	} else {
		s.keys.Scan(visit)
	}
	return ok
}
