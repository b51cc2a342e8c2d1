package index

import (
	"cmp"
	"sync"
	"sync/atomic"

	"bucketd/jsonv"
)

// Index is a secondary index on one field: a hash from each distinct scalar
// value to its posting list (for equality and $in), plus, from the first
// Range on, an ordered tree of the distinct values. Items within a posting
// are kept in ascending pos order.
//
// An Index is not safe for concurrent use: the caller holds the lock of the
// bucket it belongs to for every call, reads included (a write lock for Add
// and Remove; readers may share a read lock), and must not change the index
// from inside a visiting function.
type Index[T comparable] struct {
	ord   order[T]
	bools *valueSet[bool, bool, T]       // nil while no boolean is indexed
	nums  *valueSet[float64, float64, T] // nil while no number is indexed
	strs  *valueSet[string, uint64, T]   // nil while no string is indexed
	n     int                            // indexed items
	kinds *kinds[T]

	// ordered is set by the first Range: from then on every value set
	// keeps its value tree. Until then an Add or Remove costs hash
	// operations only. Range runs under a read lock that readers share,
	// so the build is serialised by orderMu and published by ordered;
	// Add and Remove run under the write lock, with no reader beside them.
	ordered atomic.Bool
	orderMu sync.Mutex
}

// New returns an empty index. pos gives an item's order position: unique per
// item and stable while the item is indexed. Postings and the results of Eq
// and Range are in ascending pos order. val gives the value an item is
// indexed under, as it was given to Add, for as long as the item is indexed
// (the index keeps no copy of a string that one item holds: it reads the
// item's).
func New[T comparable](pos func(T) uint64, val func(T) jsonv.Value) *Index[T] {
	return &Index[T]{
		ord: order[T]{
			pos:  pos,
			less: func(a, b T) bool { return pos(a) < pos(b) },
		},
		kinds: &kinds[T]{
			bools: scalarKind[bool, T](lessBool),
			nums:  scalarKind[float64, T](lessOrdered[float64]),
			strs: stringKind(func(it T) string {
				s, _ := val(it).(string)
				return s
			}),
		},
	}
}

// kinds are the kinds of the value sets of an Index.
type kinds[T comparable] struct {
	bools *kind[bool, bool, T]
	nums  *kind[float64, float64, T]
	strs  *kind[string, uint64, T]
}

// Indexable reports whether v is indexed: strings, numbers and booleans are;
// null (or an absent field), arrays, objects and NaN are not.
func Indexable(v jsonv.Value) bool {
	switch x := v.(type) {
	case string, bool:
		return true
	case float64:
		return x == x
	}
	return false
}

// lessOrdered is the value order of strings and numbers.
func lessOrdered[K cmp.Ordered](a, b K) bool { return a < b }

// lessBool orders false before true.
func lessBool(a, b bool) bool { return !a && b }

// numKey returns the hash key of number f, folding -0 into 0, and false
// for NaN.
func numKey(f float64) (float64, bool) {
	if f != f {
		return 0, false
	}
	if f == 0 {
		f = 0
	}
	return f, true
}

// Add indexes it under v. It is a no-op when v is not Indexable or when it is
// already indexed under v; an item with the same pos as it is replaced by it.
func (ix *Index[T]) Add(v jsonv.Value, it T) {
	added := false
	switch x := v.(type) {
	case string:
		if ix.strs == nil {
			ix.strs = newValueSet(ix.kinds.strs, ix.ordered.Load())
		}
		added = ix.strs.add(x, it, &ix.ord)
	case float64:
		f, ok := numKey(x)
		if !ok {
			return
		}
		if ix.nums == nil {
			ix.nums = newValueSet(ix.kinds.nums, ix.ordered.Load())
		}
		added = ix.nums.add(f, it, &ix.ord)
	case bool:
		if ix.bools == nil {
			ix.bools = newValueSet(ix.kinds.bools, ix.ordered.Load())
		}
		added = ix.bools.add(x, it, &ix.ord)
	}
	if added {
		ix.n++
	}
}

// Remove takes it out of v's posting. It is a no-op when it is not indexed
// under v.
func (ix *Index[T]) Remove(v jsonv.Value, it T) {
	removed := false
	switch x := v.(type) {
	case string:
		if ix.strs != nil {
			removed = ix.strs.remove(x, it, &ix.ord)
			if ix.strs.distinct() == 0 {
				ix.strs = nil
			}
		}
	case float64:
		f, ok := numKey(x)
		if ok && ix.nums != nil {
			removed = ix.nums.remove(f, it, &ix.ord)
			if ix.nums.distinct() == 0 {
				ix.nums = nil
			}
		}
	case bool:
		if ix.bools != nil {
			removed = ix.bools.remove(x, it, &ix.ord)
			if ix.bools.distinct() == 0 {
				ix.bools = nil
			}
		}
	}
	if removed {
		ix.n--
	}
}

// lookup returns the slot of v.
func (ix *Index[T]) lookup(v jsonv.Value) (slot[T], bool) {
	switch x := v.(type) {
	case string:
		if ix.strs != nil {
			return ix.strs.get(x)
		}
	case float64:
		if f, ok := numKey(x); ok && ix.nums != nil {
			return ix.nums.get(f)
		}
	case bool:
		if ix.bools != nil {
			return ix.bools.get(x)
		}
	}
	return slot[T]{}, false
}

// Eq calls fn for each item indexed under v, in ascending pos order, until fn
// returns false. Values match as jsonv.Equal says: 1 and 1.0 are the same
// value, "1" and 1 are not. A v that is not Indexable matches nothing.
func (ix *Index[T]) Eq(v jsonv.Value, fn func(T) bool) {
	if sl, ok := ix.lookup(v); ok {
		sl.each(fn)
	}
}

// CountEq returns the number of items indexed under v.
func (ix *Index[T]) CountEq(v jsonv.Value) int {
	if sl, ok := ix.lookup(v); ok {
		return sl.count()
	}
	return 0
}

// Range calls fn, until it returns false, for each item whose value v lies
// within the bounds: lo < v (lo <= v when loIncl) if hasLo, and v < hi
// (v <= hi when hiIncl) if hasHi. Only values of the bounds' JSON type match
// (numbers with numbers, strings with strings, booleans with booleans): a
// range never crosses types, so bounds of two different types, or of a type
// that is not Indexable, match nothing. With neither bound every item is
// visited, booleans, then numbers, then strings, as jsonv.Compare orders
// them. Values are visited in ascending order, the items of a value in
// ascending pos order.
//
// The first Range builds the value trees, O(d log d) for d distinct values;
// Add and Remove maintain them from then on.
func (ix *Index[T]) Range(lo, hi jsonv.Value, hasLo, hasHi, loIncl, hiIncl bool, fn func(T) bool) {
	ix.ensureOrdered()
	if !hasLo && !hasHi {
		if ix.bools != nil && !ix.bools.span(false, false, false, false, false, false, fn) {
			return
		}
		if ix.nums != nil && !ix.nums.span(0, 0, false, false, false, false, fn) {
			return
		}
		if ix.strs != nil {
			ix.strs.span("", "", false, false, false, false, fn)
		}
		return
	}
	bound := lo
	if !hasLo {
		bound = hi
	}
	switch bound.(type) {
	case string:
		l, lok := lo.(string)
		h, hok := hi.(string)
		if (hasLo && !lok) || (hasHi && !hok) || ix.strs == nil {
			return
		}
		ix.strs.span(l, h, hasLo, hasHi, loIncl, hiIncl, fn)
	case float64:
		l, lok := lo.(float64)
		h, hok := hi.(float64)
		if (hasLo && !lok) || (hasHi && !hok) || ix.nums == nil {
			return
		}
		l, lok = numKey(l)
		h, hok = numKey(h)
		if (hasLo && !lok) || (hasHi && !hok) {
			return // NaN bound
		}
		ix.nums.span(l, h, hasLo, hasHi, loIncl, hiIncl, fn)
	case bool:
		l, lok := lo.(bool)
		h, hok := hi.(bool)
		if (hasLo && !lok) || (hasHi && !hok) || ix.bools == nil {
			return
		}
		ix.bools.span(l, h, hasLo, hasHi, loIncl, hiIncl, fn)
	}
}

// ensureOrdered builds the value trees unless they are built.
func (ix *Index[T]) ensureOrdered() {
	if ix.ordered.Load() {
		return
	}
	ix.orderMu.Lock()
	defer ix.orderMu.Unlock()
	if ix.ordered.Load() {
		return
	}
	ix.bools.order()
	ix.nums.order()
	ix.strs.order()
	ix.ordered.Store(true)
}

// Ordered reports whether the value trees are built (the first Range builds
// them).
func (ix *Index[T]) Ordered() bool { return ix.ordered.Load() }

// Len returns the number of indexed items.
func (ix *Index[T]) Len() int { return ix.n }

// Distinct returns the number of distinct indexed values.
func (ix *Index[T]) Distinct() int {
	n := 0
	if ix.bools != nil {
		n += ix.bools.distinct()
	}
	if ix.nums != nil {
		n += ix.nums.distinct()
	}
	if ix.strs != nil {
		n += ix.strs.distinct()
	}
	return n
}
