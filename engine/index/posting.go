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
