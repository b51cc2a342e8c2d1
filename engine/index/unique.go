package index

import (
	"strings"

	"bucketd/jsonv"
)

// Unique maps each distinct scalar value of a unique field to the one item
// that holds it. Values match as in Index: 1 and 1.0 are the same value,
// "1" and 1 are not; values that are not Indexable are never stored.
//
// A Unique is not safe for concurrent use: the caller holds the lock of the
// bucket it belongs to.
type Unique[T comparable] struct {
	bools umap[bool, T]
	nums  umap[float64, T]
	strs  umap[string, T]
}

// NewUnique returns an empty Unique.
func NewUnique[T comparable]() *Unique[T] { return &Unique[T]{} }

// Get returns the item that holds v, and whether there is one.
func (u *Unique[T]) Get(v jsonv.Value) (T, bool) {
	switch x := v.(type) {
	case string:
		return u.strs.get(x)
	case float64:
		if f, ok := numKey(x); ok {
			return u.nums.get(f)
		}
	case bool:
		return u.bools.get(x)
	}
	var zero T
	return zero, false
}

// Set maps v to it, replacing any item v mapped to: the caller checks for
// conflicts with Get first. It is a no-op when v is not Indexable.
func (u *Unique[T]) Set(v jsonv.Value, it T) {
	switch x := v.(type) {
	case string:
		if _, ok := u.strs.m[x]; !ok {
			// The map outlives the item: a string pointing into the
			// item's memory would keep it alive.
			x = strings.Clone(x)
		}
		u.strs.set(x, it)
	case float64:
		if f, ok := numKey(x); ok {
			u.nums.set(f, it)
		}
	case bool:
		u.bools.set(x, it)
	}
}

// Delete removes v's mapping if v maps to it; otherwise it does nothing, so a
// stale delete cannot drop the entry of the item that now holds v.
func (u *Unique[T]) Delete(v jsonv.Value, it T) {
	switch x := v.(type) {
	case string:
		u.strs.del(x, it)
	case float64:
		if f, ok := numKey(x); ok {
			u.nums.del(f, it)
		}
	case bool:
		u.bools.del(x, it)
	}
}

// Len returns the number of mapped values.
func (u *Unique[T]) Len() int { return len(u.bools.m) + len(u.nums.m) + len(u.strs.m) }

// MemoryBytes returns an estimate of the heap held by u: its hashes, sized
// by the most entries they held since they were last rebuilt. The bytes of
// string values are not counted: they are shared with the records.
func (u *Unique[T]) MemoryBytes() int64 {
	return int64(sizeOf[Unique[T]]()) +
		mapBytes[bool, T](u.bools.peak) +
		mapBytes[float64, T](u.nums.peak) +
		mapBytes[string, T](u.strs.peak)
}

// umap is a map that is rebuilt smaller once it loses three quarters of its
// entries, and dropped when empty.
type umap[K comparable, T comparable] struct {
	m    map[K]T
	peak int // most entries m held since it was made
}

func (u *umap[K, T]) get(k K) (T, bool) {
	it, ok := u.m[k]
	return it, ok
}

func (u *umap[K, T]) set(k K, it T) {
	if u.m == nil {
		u.m = make(map[K]T)
	}
	u.m[k] = it
	u.peak = max(u.peak, len(u.m))
}

func (u *umap[K, T]) del(k K, it T) {
	if cur, ok := u.m[k]; !ok || cur != it {
		return
	}
	delete(u.m, k)
	switch {
	case len(u.m) == 0:
		u.m, u.peak = nil, 0
	case u.peak >= shrinkMin && len(u.m) <= u.peak/4:
		m := make(map[K]T, len(u.m))
		for k, v := range u.m {
			m[k] = v
		}
		u.m, u.peak = m, len(m)
	}
}
