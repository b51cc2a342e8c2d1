package index

import (
	"fmt"

	"bucketd/jsonv"
)

// Check verifies the index against all, which yields every (value, item)
// pair that should be indexed; pairs whose value is not Indexable are
// skipped. It returns an error wrapping ErrCorrupt, describing the first
// fault found, unless the index holds exactly those pairs, the value tree is
// built exactly when the index is ordered and then holds the hash's values in
// order, every posting is sorted by
// strictly ascending pos and in the right form for its size, and the counters
// agree. It takes O(n log n) time and is meant for tests; it may run beside
// Ranges under a shared read lock.
func (ix *Index[T]) Check(all func(yield func(v jsonv.Value, it T) bool)) error {
	want := map[jsonv.Value]map[T]bool{}
	total := 0
	all(func(v jsonv.Value, it T) bool {
		if !Indexable(v) {
			return true
		}
		if f, ok := v.(float64); ok {
			v, _ = numKey(f)
		}
		set := want[v]
		if set == nil {
			set = map[T]bool{}
			want[v] = set
		}
		if !set[it] {
			set[it] = true
			total++
		}
		return true
	})
	// Readers sharing the caller's read lock may be building the value
	// trees (Range): hold the build's mutex so they stay as they are.
	ix.orderMu.Lock()
	defer ix.orderMu.Unlock()
	got := 0
	if err := checkSet(ix.bools, ix.ordered.Load(), want, &ix.ord, &got); err != nil {
		return fmt.Errorf("%w: booleans: %w", ErrCorrupt, err)
	}
	if err := checkSet(ix.nums, ix.ordered.Load(), want, &ix.ord, &got); err != nil {
		return fmt.Errorf("%w: numbers: %w", ErrCorrupt, err)
	}
	if err := checkSet(ix.strs, ix.ordered.Load(), want, &ix.ord, &got); err != nil {
		return fmt.Errorf("%w: strings: %w", ErrCorrupt, err)
	}
	for v, set := range want {
		if len(set) > 0 {
			return fmt.Errorf("%w: value %#v with %d items is missing", ErrCorrupt, v, len(set))
		}
	}
	if got != total || ix.n != total {
		return fmt.Errorf("%w: Len %d, postings hold %d items, want %d", ErrCorrupt, ix.n, got, total)
	}
	return nil
}

// checkSet checks one value set, deleting from want the pairs it finds and
// adding the items it holds to *got.
func checkSet[K comparable, H comparable, T comparable](s *valueSet[K, H, T], ordered bool, want map[jsonv.Value]map[T]bool, o *order[T], got *int) error {
	if s == nil {
		return nil
	}
	if s.distinct() == 0 {
		return fmt.Errorf("empty set left allocated")
	}
	if s.peak[0] < len(s.one) || s.peak[1] < len(s.more) {
		return fmt.Errorf("peaks %v below hash sizes %d, %d", s.peak, len(s.one), len(s.more))
	}
	if s.coll != nil && len(s.coll) == 0 {
		return fmt.Errorf("empty collision hash left allocated")
	}
	// Every entry is under its value's hash; groups are in the right form.
	for h, it := range s.one {
		if k := s.k.value(h, it); s.k.hash(k) != h {
			return fmt.Errorf("value %#v of a single item under another value's hash", k)
		}
	}
	var postings, sliceCap, trees, treeItems int
	groups := func(k K, g *group[K, T], min int) error {
		postings++
		p := &g.posting
		switch {
		case p.tree == nil && (len(p.items) < min || len(p.items) > maxSlice):
			return fmt.Errorf("value %#v: slice posting of %d items", k, len(p.items))
		case p.tree != nil && p.items != nil:
			return fmt.Errorf("value %#v: posting has both slice and tree", k)
		case p.tree != nil && p.tree.Len() <= minTree:
			return fmt.Errorf("value %#v: tree posting of %d items", k, p.tree.Len())
		}
		if p.tree != nil {
			trees++
			treeItems += p.tree.Len()
		} else {
			sliceCap += cap(p.items)
		}
		return nil
	}
	for h, g := range s.more {
		if s.k.hash(g.val) != h {
			return fmt.Errorf("value %#v of a group under another value's hash", g.val)
		}
		if err := groups(g.val, g, 2); err != nil {
			return err
		}
	}
	for k, g := range s.coll {
		if k != g.val {
			return fmt.Errorf("colliding value %#v kept under %#v", g.val, k)
		}
		if err := groups(g.val, g, 1); err != nil {
			return err
		}
	}
	if postings != s.postings || sliceCap != s.sliceCap || trees != s.trees || treeItems != s.treeItems {
		return fmt.Errorf("accounting: postings %d/%d, slice cap %d/%d, trees %d/%d, tree items %d/%d (kept/actual)",
			s.postings, postings, s.sliceCap, sliceCap, s.trees, trees, s.treeItems, treeItems)
	}
	// The values in order: from the tree when the index is ordered, else
	// from the hashes, sorted here (a value in two places shows as a pair
	// out of order).
	var ks []K
	switch {
	case ordered && s.keys == nil:
		return fmt.Errorf("ordered index without a value tree")
	case !ordered && s.keys != nil:
		return fmt.Errorf("value tree built before the index was ordered")
	case ordered:
		if s.keys.Len() != s.distinct() {
			return fmt.Errorf("tree has %d values, hashes %d", s.keys.Len(), s.distinct())
		}
		s.keys.Scan(func(k K) bool {
			ks = append(ks, k)
			return true
		})
	default:
		ks = s.sortedKeys()
	}
	var prev K
	first := true
	for _, k := range ks {
		if !first && !s.k.less(prev, k) {
			return fmt.Errorf("values %#v, %#v out of order", prev, k)
		}
		first, prev = false, k
		if f, ok := any(k).(float64); ok {
			if nk, ok := numKey(f); !ok || nk != f || (f == 0 && 1/f < 0) {
				return fmt.Errorf("number key %v not normalized", f)
			}
		}
		sl, ok := s.get(k)
		if !ok {
			return fmt.Errorf("value %#v missing from the hashes", k)
		}
		var items []T
		sl.each(func(it T) bool {
			items = append(items, it)
			return true
		})
		if len(items) != sl.count() {
			return fmt.Errorf("value %#v: count %d, visited %d", k, sl.count(), len(items))
		}
		set := want[any(k)]
		for i, it := range items {
			if i > 0 && o.pos(items[i-1]) >= o.pos(it) {
				return fmt.Errorf("value %#v: posting out of pos order at %d (%d, %d)", k, i, o.pos(items[i-1]), o.pos(it))
			}
			if !set[it] {
				return fmt.Errorf("value %#v: unexpected item %v", k, it)
			}
			delete(set, it)
		}
		*got += len(items)
	}
	return nil
}
