package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// sortedRecs returns n records in ascending pos order.
func sortedRecs(n int) []*rec {
	rs := make([]*rec, n)
	for i := range rs {
		rs[i] = &rec{id: i, pos: uint64(i)}
	}
	return rs
}

// BenchmarkAddAppend adds items with ever larger pos to one value: the
// common insert of a low-cardinality field.
func BenchmarkAddAppend(b *testing.B) {
	rs := sortedRecs(b.N)
	ix := New(recPos, recVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		put(ix, "user", rs[i])
	}
}

// BenchmarkAddRemoveLargePosting removes an item from the middle of a
// 100,000-item posting and adds it back.
func BenchmarkAddRemoveLargePosting(b *testing.B) {
	const n = 100000
	rs := sortedRecs(n)
	ix := New(recPos, recVal)
	for _, r := range rs {
		put(ix, "user", r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := rs[n/4+rng.IntN(n/2)]
		ix.Remove("user", r)
		put(ix, "user", r)
	}
}

// BenchmarkAddRemoveDistinct removes and adds back an item whose value no
// other item holds (a unique-ish field) in an index of 100,000 values.
func BenchmarkAddRemoveDistinct(b *testing.B) {
	const n = 100000
	rs := sortedRecs(n)
	vs := make([]string, n)
	ix := New(recPos, recVal)
	for i, r := range rs {
		vs[i] = fmt.Sprintf("user%08d@example.com", i)
		put(ix, vs[i], r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		i := rng.IntN(n)
		ix.Remove(vs[i], rs[i])
		put(ix, vs[i], rs[i])
	}
}

// BenchmarkEq looks up values: a unique-ish one (1 item), one with 100 items
// (all visited), and CountEq on a 100,000-item posting.
func BenchmarkEq(b *testing.B) {
	const n = 100000
	rs := sortedRecs(n)
	distinct := New(recPos, recVal)
	for i, r := range rs {
		put(distinct, float64(i), r)
	}
	grouped := New(recPos, recVal)
	for i, r := range rs {
		put(grouped, float64(i%1000), r)
	}
	big := New(recPos, recVal)
	for _, r := range rs {
		put(big, true, r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("1item", func(b *testing.B) {
		b.ReportAllocs()
		sum := 0
		for b.Loop() {
			distinct.Eq(float64(rng.IntN(n)), func(r *rec) bool { sum += r.id; return true })
		}
	})
	b.Run("100items", func(b *testing.B) {
		b.ReportAllocs()
		sum := 0
		for b.Loop() {
			grouped.Eq(float64(rng.IntN(1000)), func(r *rec) bool { sum += r.id; return true })
		}
	})
	b.Run("CountEq100k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if big.CountEq(true) != n {
				b.Fatal("count")
			}
		}
	})
}

// BenchmarkRange visits 1,000 distinct numbers: a window of an index of
// 100,000 distinct numbers (1 item each), and a whole index of 1,000
// numbers holding 10 items each.
func BenchmarkRange(b *testing.B) {
	const n = 100000
	rs := sortedRecs(n)
	wide := New(recPos, recVal)
	for i, r := range rs {
		put(wide, float64(i), r)
	}
	narrow := New(recPos, recVal)
	for i, r := range rs[:10000] {
		put(narrow, float64(i%1000), r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("1000of100k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lo := float64(rng.IntN(n - 1000))
			visited := 0
			wide.Range(lo, lo+1000, true, true, true, false, func(*rec) bool { visited++; return true })
			if visited != 1000 {
				b.Fatal(visited)
			}
		}
	})
	b.Run("1000x10items", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			visited := 0
			narrow.Range(-1.0, 1e9, true, true, false, false, func(*rec) bool { visited++; return true })
			if visited != 10000 {
				b.Fatal(visited)
			}
		}
	})
}

// BenchmarkMemory builds indexes of 200,000 items and reports the heap they
// hold per item (B/item, from runtime.MemStats) beside MemoryBytes' estimate
// (est-B/item). The records and the values themselves are allocated before
// the measurement: strings are shared with the records.
func BenchmarkMemory(b *testing.B) {
	const n = 200000
	for _, shape := range memShapes {
		b.Run(shape.name, func(b *testing.B) {
			items, values := shape.build(n)
			var used, est int64
			for b.Loop() {
				before := heapAlloc()
				ix := New(recPos, recVal)
				for i, r := range items {
					put(ix, values[i], r)
				}
				used = heapAlloc() - before
				est = ix.MemoryBytes()
				runtime.KeepAlive(ix)
			}
			b.ReportMetric(float64(used)/n, "B/item")
			b.ReportMetric(float64(est)/n, "est-B/item")
		})
	}
	b.Run("unique-strings", func(b *testing.B) {
		items, values := memShapes[1].build(n)
		var used, est int64
		for b.Loop() {
			before := heapAlloc()
			u := NewUnique[*rec]()
			for i, r := range items {
				u.Set(values[i], r)
			}
			used = heapAlloc() - before
			est = u.MemoryBytes()
			runtime.KeepAlive(u)
		}
		b.ReportMetric(float64(used)/n, "B/item")
		b.ReportMetric(float64(est)/n, "est-B/item")
	})
	// Random insertion order into 3 values, as after updates.
	b.Run("3values-random-order", func(b *testing.B) {
		items, values := memShapes[0].build(n)
		perm := rand.New(rand.NewPCG(3, 3)).Perm(n)
		var used, est int64
		for b.Loop() {
			before := heapAlloc()
			ix := New(recPos, recVal)
			for _, i := range perm {
				put(ix, values[i], items[i])
			}
			used = heapAlloc() - before
			est = ix.MemoryBytes()
			runtime.KeepAlive(ix)
		}
		b.ReportMetric(float64(used)/n, "B/item")
		b.ReportMetric(float64(est)/n, "est-B/item")
	})
}

// BenchmarkStrings is Eq and Range over string values (hashed, each match
// confirmed on the item, see valueSet): 100,000 e-mail-like values of one
// item each, and a role-like index of 3 values.
func BenchmarkStrings(b *testing.B) {
	const n = 100000
	rs := sortedRecs(n)
	mail := func(i int) string { return fmt.Sprintf("user%06d@example.com", i) }
	distinct := New(recPos, recVal)
	for i, r := range rs {
		put(distinct, mail(i), r)
	}
	rs = sortedRecs(n) // a record holds one value (recVal)
	roles := New(recPos, recVal)
	for i, r := range rs {
		put(roles, []string{"admin", "user", "guest"}[i%3], r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	probes := make([]string, 4096)
	for i := range probes {
		probes[i] = mail(rng.IntN(n))
	}
	b.Run("Eq1of100k", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if distinct.CountEq(probes[i%len(probes)]) != 1 {
				b.Fatal("missing")
			}
			i++
		}
	})
	b.Run("EqMiss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if distinct.CountEq("nobody@example.com") != 0 {
				b.Fatal("found")
			}
		}
	})
	b.Run("Range1000of100k", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			lo := mail(i % (n - 1000))
			hi := mail(i%(n-1000) + 1000)
			visited := 0
			distinct.Range(lo, hi, true, true, true, false, func(*rec) bool { visited++; return true })
			if visited != 1000 {
				b.Fatal(visited)
			}
			i += 997
		}
	})
	b.Run("EqRole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if roles.CountEq("user") != n/3 {
				b.Fatal("count")
			}
		}
	})
}
