package index

import (
	"math/bits"
	"unsafe"

	"github.com/tidwall/btree"
)

// The estimates below follow the layouts of the Go runtime's swiss-table maps
// (Go 1.24 and later) and of tidwall/btree v1.8; they were calibrated against
// runtime.MemStats (see BenchmarkMemory) and are within about 25% for large
// structures.

// sizeOf returns the size of a value of type X.
func sizeOf[X any]() uintptr {
	var x X
	return unsafe.Sizeof(x)
}

// sizeClasses are the Go allocator's small size classes up to 32 KiB.
var sizeClasses = [...]int64{
	8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
	240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896,
	1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456,
	4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880,
	12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
	28672, 32768,
}

// alloc returns the bytes the allocator hands out for a request of n bytes.
func alloc(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > sizeClasses[len(sizeClasses)-1] {
		const page = 8192
		return (n + page - 1) / page * page
	}
	lo, hi := 0, len(sizeClasses)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if sizeClasses[mid] < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return sizeClasses[lo]
}

// nextPow2 returns the smallest power of two >= n (n >= 1).
func nextPow2(n int64) int64 {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len64(uint64(n-1))
}

// mapBytes estimates the heap held by a map[K]V that has held up to peak
// entries: a header, and groups of 8 slots plus a control word, at most 7/8
// full, in tables of up to 1024 slots.
func mapBytes[K comparable, V any](peak int) int64 {
	if peak == 0 {
		return 0
	}
	const (
		header     = 48 // maps.Map
		tableSize  = 32 // maps.table
		maxTable   = 1024
		groupSlots = 8
	)
	group := int64(8 + groupSlots*sizeOf[struct {
		k K
		v V
	}]())
	if peak <= groupSlots {
		return header + alloc(group)
	}
	slots := nextPow2((int64(peak)*8 + 6) / 7)
	if slots <= maxTable {
		return header + 8 + tableSize + alloc(slots/groupSlots*group)
	}
	tables := slots / maxTable
	return header + alloc(tables*8) + tables*(tableSize+alloc(maxTable/groupSlots*group))
}

// btreeBytes estimates the heap held by a BTreeG[E] of n items with the
// default degree (at most 63 items a node): nodes hold about 36 items on
// average, in arrays sized for 64.
func btreeBytes[E any](n int) int64 {
	tree := alloc(int64(sizeOf[btree.BTreeG[E]]()))
	if n == 0 {
		return tree
	}
	const (
		nodeSize = 48 // btree.node: isoid, count, items, children
		maxItems = 63
		avgItems = 36
	)
	size := int64(sizeOf[E]())
	if n <= maxItems {
		return tree + nodeSize + alloc(nextPow2(int64(n))*size)
	}
	nodes := (int64(n) + avgItems - 1) / avgItems
	inner := nodes/avgItems + 1 // children arrays of the inner nodes
	return tree + nodes*(nodeSize+alloc((maxItems+1)*size)) + inner*(24+alloc((maxItems+1)*8))
}

// memoryBytes estimates the heap held by the set; ordered tells whether it
// has its value tree (s.keys and s.treeOwned are not read otherwise: a
// Range may be building them).
func (s *valueSet[K, H, T]) memoryBytes(ordered bool) int64 {
	if s == nil {
		return 0
	}
	b := alloc(int64(sizeOf[valueSet[K, H, T]]()))
	b += mapBytes[H, T](s.peak[0]) + mapBytes[H, *group[K, T]](s.peak[1]) + mapBytes[K, *group[K, T]](len(s.coll))
	if ordered {
		b += btreeBytes[K](s.distinct()) + s.treeOwned
	}
	b += int64(s.postings)*alloc(int64(sizeOf[group[K, T]]())) + s.owned
	b += int64(s.sliceCap) * int64(sizeOf[T]())
	if s.trees > 0 {
		// Each tree posting holds more than minTree items: share the
		// items out evenly and estimate one tree.
		b += int64(s.trees) * btreeBytes[T](s.treeItems/s.trees)
	}
	return b
}

// MemoryBytes returns an estimate of the heap held by the index: hashes
// (sized by the most entries they held since last rebuilt), value trees
// (once built), postings and their slices and trees. The bytes of string
// values are not counted: the index reads those of single items from the
// items, and keeps copies only of values with two or more items and in its
// value trees. The estimate takes O(1) time.
func (ix *Index[T]) MemoryBytes() int64 {
	o := ix.ordered.Load()
	return alloc(int64(sizeOf[Index[T]]())) +
		ix.bools.memoryBytes(o) + ix.nums.memoryBytes(o) + ix.strs.memoryBytes(o)
}
