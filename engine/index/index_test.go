package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"bucketd/jsonv"
)

// rec stands for the engine's record slot.
type rec struct {
	id  int
	pos uint64
	v   jsonv.Value // the value it is indexed under (see New)
}

func (r *rec) String() string { return fmt.Sprintf("rec%d@%d", r.id, r.pos) }

func recPos(r *rec) uint64 { return r.pos }

func recVal(r *rec) jsonv.Value { return r.v }

// put indexes r under v, which becomes its value.
func put(ix *Index[*rec], v jsonv.Value, r *rec) {
	r.v = v
	ix.Add(v, r)
}

// recs returns n records whose positions are a random permutation, so that
// id order and pos order differ.
func recs(n int, rng *rand.Rand) []*rec {
	out := make([]*rec, n)
	for i, p := range rng.Perm(n) {
		out[i] = &rec{id: i, pos: uint64(p) * 3}
	}
	return out
}

// pairs adapts a model to Check.
func pairs(model map[*rec]jsonv.Value) func(func(jsonv.Value, *rec) bool) {
	return func(yield func(jsonv.Value, *rec) bool) {
		for r, v := range model {
			if !yield(v, r) {
				return
			}
		}
	}
}

func mustCheck(t *testing.T, ix *Index[*rec], model map[*rec]jsonv.Value) {
	t.Helper()
	if err := ix.Check(pairs(model)); err != nil {
		t.Fatal(err)
	}
}

func collectEq(ix *Index[*rec], v jsonv.Value) []*rec {
	var out []*rec
	ix.Eq(v, func(r *rec) bool { out = append(out, r); return true })
	return out
}

type bounds struct {
	lo, hi                       jsonv.Value
	hasLo, hasHi, loIncl, hiIncl bool
}

func (b bounds) String() string {
	s := "("
	if b.hasLo {
		op := ">"
		if b.loIncl {
			op = ">="
		}
		s += fmt.Sprintf("%s %#v", op, b.lo)
	}
	if b.hasHi {
		op := "<"
		if b.hiIncl {
			op = "<="
		}
		s += fmt.Sprintf(" %s %#v", op, b.hi)
	}
	return s + ")"
}

func collectRange(ix *Index[*rec], b bounds) []*rec {
	var out []*rec
	ix.Range(b.lo, b.hi, b.hasLo, b.hasHi, b.loIncl, b.hiIncl, func(r *rec) bool {
		out = append(out, r)
		return true
	})
	return out
}

// modelEq is what Eq should visit.
func modelEq(model map[*rec]jsonv.Value, v jsonv.Value) []*rec {
	var out []*rec
	if !Indexable(v) {
		return nil
	}
	for r, w := range model {
		if Indexable(w) && jsonv.Equal(w, v) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *rec) int { return int(a.pos) - int(b.pos) })
	return out
}

// inBounds reports whether w matches b under the documented rules.
func inBounds(w jsonv.Value, b bounds) bool {
	if !Indexable(w) {
		return false
	}
	for _, bd := range []struct {
		v   jsonv.Value
		has bool
	}{{b.lo, b.hasLo}, {b.hi, b.hasHi}} {
		if bd.has && (!Indexable(bd.v) || jsonv.TypeName(bd.v) != jsonv.TypeName(w)) {
			return false
		}
	}
	if b.hasLo {
		c := jsonv.Compare(w, b.lo)
		if c < 0 || (c == 0 && !b.loIncl) {
			return false
		}
	}
	if b.hasHi {
		c := jsonv.Compare(w, b.hi)
		if c > 0 || (c == 0 && !b.hiIncl) {
			return false
		}
	}
	return true
}

// modelRange is what Range should visit: values in jsonv.Compare order,
// items of a value in pos order.
func modelRange(model map[*rec]jsonv.Value, b bounds) []*rec {
	var out []*rec
	for r, w := range model {
		if inBounds(w, b) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y *rec) int {
		if c := jsonv.Compare(model[x], model[y]); c != 0 {
			return c
		}
		return int(x.pos) - int(y.pos)
	})
	return out
}

func TestIndexable(t *testing.T) {
	tests := []struct {
		v    jsonv.Value
		want bool
	}{
		{"", true},
		{"x", true},
		{0.0, true},
		{math.Copysign(0, -1), true},
		{1.5, true},
		{math.Inf(1), true},
		{math.NaN(), false},
		{true, true},
		{false, true},
		{nil, false},
		{[]jsonv.Value{1.0}, false},
		{&jsonv.Object{}, false},
		{1, false}, // not a jsonv.Value number
	}
	for _, tt := range tests {
		if got := Indexable(tt.v); got != tt.want {
			t.Errorf("Indexable(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// fixture returns an index over a fixed set of mixed values.
func fixture(t *testing.T) (*Index[*rec], map[*rec]jsonv.Value, []*rec) {
	t.Helper()
	values := []jsonv.Value{
		1.0, "1", true, false, math.Copysign(0, -1), 0.0, -2.5, 10.0, 1.0,
		"a", "b", "ab", "", "B", nil, []jsonv.Value{1.0}, &jsonv.Object{}, math.NaN(), true, "a",
	}
	ix := New(recPos, recVal)
	model := map[*rec]jsonv.Value{}
	rs := recs(len(values), rand.New(rand.NewPCG(1, 2)))
	for i, v := range values {
		put(ix, v, rs[i])
		model[rs[i]] = v
		mustCheck(t, ix, model)
	}
	return ix, model, rs
}

func TestEq(t *testing.T) {
	ix, model, _ := fixture(t)
	tests := []struct {
		v    jsonv.Value
		want int
	}{
		{1.0, 2},
		{"1", 1},
		{0.0, 2}, // 0 and -0
		{math.Copysign(0, -1), 2},
		{true, 2},
		{false, 1},
		{"a", 2},
		{"A", 0},
		{"", 1},
		{nil, 0},
		{math.NaN(), 0},
		{[]jsonv.Value{1.0}, 0},
		{3.0, 0},
	}
	for _, tt := range tests {
		got := collectEq(ix, tt.v)
		if want := modelEq(model, tt.v); !slices.Equal(got, want) || len(got) != tt.want {
			t.Errorf("Eq(%#v) = %v, want %v (%d items)", tt.v, got, want, tt.want)
		}
		if n := ix.CountEq(tt.v); n != tt.want {
			t.Errorf("CountEq(%#v) = %d, want %d", tt.v, n, tt.want)
		}
	}
	if ix.Len() != 16 || ix.Distinct() != 12 {
		t.Errorf("Len, Distinct = %d, %d, want 16, 12", ix.Len(), ix.Distinct())
	}
}

func TestRange(t *testing.T) {
	ix, model, _ := fixture(t)
	tests := []struct {
		b    bounds
		want int
	}{
		{bounds{}, 16},
		{bounds{lo: 0.0, hasLo: true, loIncl: true}, 5},
		{bounds{lo: 0.0, hasLo: true}, 3},
		{bounds{lo: math.Copysign(0, -1), hasLo: true}, 3},
		{bounds{hi: 1.0, hasHi: true}, 3},
		{bounds{hi: 1.0, hasHi: true, hiIncl: true}, 5},
		{bounds{lo: -3.0, hi: 10.0, hasLo: true, hasHi: true}, 5},
		{bounds{lo: -3.0, hi: 10.0, hasLo: true, hasHi: true, hiIncl: true}, 6},
		{bounds{lo: 5.0, hi: 1.0, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}, 0},
		{bounds{lo: 1.0, hi: 1.0, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}, 2},
		{bounds{lo: 1.0, hi: 1.0, hasLo: true, hasHi: true, loIncl: true}, 0},
		{bounds{lo: "a", hasLo: true, loIncl: true}, 4},
		{bounds{lo: "", hasLo: true}, 6},
		{bounds{hi: "b", hasHi: true}, 6},
		{bounds{lo: "A", hi: "a", hasLo: true, hasHi: true, hiIncl: true}, 3},
		{bounds{lo: false, hasLo: true}, 2},
		{bounds{hi: true, hasHi: true}, 1},
		{bounds{lo: 0.0, hi: "z", hasLo: true, hasHi: true}, 0}, // crosses types
		{bounds{lo: nil, hasLo: true, loIncl: true}, 0},
		{bounds{hi: []jsonv.Value{}, hasHi: true}, 0},
		{bounds{lo: math.NaN(), hasLo: true}, 0},
		{bounds{lo: math.Inf(-1), hi: math.Inf(1), hasLo: true, hasHi: true}, 6},
	}
	for _, tt := range tests {
		got := collectRange(ix, tt.b)
		if want := modelRange(model, tt.b); !slices.Equal(got, want) || len(got) != tt.want {
			t.Errorf("Range%v = %v, want %v (%d items)", tt.b, got, want, tt.want)
		}
	}
}

func TestStopEarly(t *testing.T) {
	ix := New(recPos, recVal)
	rs := recs(300, rand.New(rand.NewPCG(3, 4)))
	for i, r := range rs {
		put(ix, []jsonv.Value{true, 1.0, "s"}[i%3], r)
	}
	for _, tc := range []struct {
		name string
		run  func(fn func(*rec) bool)
	}{
		{"eq", func(fn func(*rec) bool) { ix.Eq(1.0, fn) }},
		{"range", func(fn func(*rec) bool) { ix.Range(0.0, nil, true, false, true, false, fn) }},
		{"all", func(fn func(*rec) bool) { ix.Range(nil, nil, false, false, false, false, fn) }},
	} {
		for _, stop := range []int{1, 5, 99, 100} {
			calls := 0
			tc.run(func(*rec) bool { calls++; return calls < stop })
			if calls != stop {
				t.Errorf("%s: fn called %d times after returning false at %d", tc.name, calls, stop)
			}
		}
	}
}

func TestAddRemoveIdempotent(t *testing.T) {
	ix := New(recPos, recVal)
	model := map[*rec]jsonv.Value{}
	rs := recs(3, rand.New(rand.NewPCG(5, 6)))
	steps := []struct {
		op  string
		v   jsonv.Value
		r   int
		len int
	}{
		{"add", "x", 0, 1},
		{"add", "x", 0, 1}, // duplicate
		{"add", "x", 1, 2},
		{"add", "x", 1, 2},
		{"remove", "y", 0, 2}, // wrong value
		{"remove", 7.0, 0, 2}, // absent type
		{"remove", "x", 2, 2}, // not indexed
		{"remove", "x", 0, 1},
		{"remove", "x", 0, 1},
		{"add", nil, 2, 1}, // not indexable
		{"remove", nil, 2, 1},
		{"remove", "x", 1, 0},
	}
	for i, s := range steps {
		r := rs[s.r]
		switch s.op {
		case "add":
			put(ix, s.v, r)
			model[r] = s.v
		case "remove":
			ix.Remove(s.v, r)
			if w, ok := model[r]; ok && Indexable(s.v) && jsonv.Equal(w, s.v) {
				delete(model, r)
			}
		}
		if err := ix.Check(pairs(model)); err != nil {
			t.Fatalf("step %d %s %#v rec%d: %v", i, s.op, s.v, s.r, err)
		}
		if ix.Len() != s.len {
			t.Fatalf("step %d: Len %d, want %d", i, ix.Len(), s.len)
		}
	}
	if ix.strs != nil || ix.MemoryBytes() > alloc(int64(sizeOf[Index[*rec]]())) {
		t.Errorf("empty index still holds %d bytes", ix.MemoryBytes())
	}
}

func TestSamePosReplaces(t *testing.T) {
	ix := New(recPos, recVal)
	a, b := &rec{id: 1, pos: 5}, &rec{id: 2, pos: 5}
	put(ix, "v", a)
	put(ix, "v", b)
	if got := collectEq(ix, "v"); !slices.Equal(got, []*rec{b}) || ix.Len() != 1 {
		t.Fatalf("Eq = %v, Len %d; want [b], 1", got, ix.Len())
	}
	ix.Remove("v", a) // stale item: no-op
	if ix.Len() != 1 {
		t.Fatalf("stale Remove removed the current item")
	}
}

// TestPostingForms drives one posting across the slice/tree threshold both
// ways, with inserts and deletes at the ends and in the middle.
func TestPostingForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ix := New(recPos, recVal)
	model := map[*rec]jsonv.Value{}
	rs := recs(500, rng)
	form := func() string {
		sl, _ := ix.strs.get("role")
		switch {
		case sl.more == nil:
			return "one"
		case sl.more.tree == nil:
			return "slice"
		}
		return "tree"
	}
	var forms []string
	note := func() {
		if f := form(); len(forms) == 0 || forms[len(forms)-1] != f {
			forms = append(forms, f)
		}
	}
	for _, r := range rs[:200] {
		put(ix, "role", r)
		model[r] = "role"
		mustCheck(t, ix, model)
		note()
	}
	order := rng.Perm(200)
	for _, i := range order[:199] {
		ix.Remove("role", rs[i])
		delete(model, rs[i])
		mustCheck(t, ix, model)
		note()
	}
	// Ascending pos appends, then back out from the middle.
	slices.SortFunc(rs, func(a, b *rec) int { return int(a.pos) - int(b.pos) })
	for _, r := range rs {
		if _, ok := model[r]; !ok {
			put(ix, "role", r)
			model[r] = "role"
		}
	}
	mustCheck(t, ix, model)
	note()
	for len(model) > 1 {
		mid := rs[len(rs)/2]
		for r := range model {
			if r.pos >= mid.pos {
				mid = r
				break
			}
		}
		ix.Remove("role", mid)
		delete(model, mid)
		rs = slices.DeleteFunc(rs, func(r *rec) bool { return r == mid })
		mustCheck(t, ix, model)
		note()
	}
	want := []string{"one", "slice", "tree", "slice", "one", "tree", "slice", "one"}
	if !slices.Equal(forms, want) {
		t.Errorf("posting went through %v, want %v", forms, want)
	}
}

func TestCheckDetects(t *testing.T) {
	ix, model, rs := fixture(t)
	extra := &rec{id: 99, pos: 1000}
	cases := map[string]map[*rec]jsonv.Value{
		"missing pair": func() map[*rec]jsonv.Value {
			m := maps(model)
			m[extra] = "zz"
			return m
		}(),
		"extra pair": func() map[*rec]jsonv.Value {
			m := maps(model)
			delete(m, rs[0])
			return m
		}(),
		"wrong value": func() map[*rec]jsonv.Value {
			m := maps(model)
			m[rs[0]] = 2.0
			return m
		}(),
	}
	for name, m := range cases {
		if err := ix.Check(pairs(m)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Check = %v, want ErrCorrupt", name, err)
		}
	}
	// Corrupt the structure itself.
	ix.ensureOrdered()
	ix.strs.keys.Set("ghost")
	if err := ix.Check(pairs(model)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ghost tree value: Check = %v, want ErrCorrupt", err)
	}
}

func maps(m map[*rec]jsonv.Value) map[*rec]jsonv.Value {
	out := make(map[*rec]jsonv.Value, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestUnique(t *testing.T) {
	u := NewUnique[*rec]()
	a, b, c := &rec{id: 1}, &rec{id: 2}, &rec{id: 3}
	steps := []struct {
		op   string
		v    jsonv.Value
		it   *rec
		get  jsonv.Value // value to Get after the step
		want *rec
		len  int
	}{
		{"set", "x", a, "x", a, 1},
		{"set", 1.0, b, 1.0, b, 2},
		{"set", nil, c, nil, nil, 2},
		{"set", []jsonv.Value{}, c, []jsonv.Value{}, nil, 2},
		{"set", math.NaN(), c, math.NaN(), nil, 2},
		{"get", nil, nil, "1", nil, 2},
		{"set", math.Copysign(0, -1), c, 0.0, c, 3},
		{"set", true, a, true, a, 4},
		{"get", nil, nil, false, nil, 4},
		{"delete", "x", b, "x", a, 4}, // not b's
		{"delete", "x", a, "x", nil, 3},
		{"set", 1.0, c, 1.0, c, 3}, // replace
		{"delete", 1.0, b, 1.0, c, 3},
		{"delete", 0.0, c, math.Copysign(0, -1), nil, 2},
		{"delete", true, a, true, nil, 1},
		{"delete", 1.0, c, 1.0, nil, 0},
	}
	for i, s := range steps {
		switch s.op {
		case "set":
			u.Set(s.v, s.it)
		case "delete":
			u.Delete(s.v, s.it)
		}
		got, ok := u.Get(s.get)
		if ok != (s.want != nil) || got != s.want {
			t.Errorf("step %d: Get(%#v) = %v, %v; want %v", i, s.get, got, ok, s.want)
		}
		if u.Len() != s.len {
			t.Errorf("step %d: Len = %d, want %d", i, u.Len(), s.len)
		}
	}
	if n := u.MemoryBytes(); n != int64(sizeOf[Unique[*rec]]()) {
		t.Errorf("empty Unique holds %d bytes", n)
	}
}

func TestUniqueShrinks(t *testing.T) {
	u := NewUnique[*rec]()
	rs := recs(10000, rand.New(rand.NewPCG(9, 10)))
	for i, r := range rs {
		u.Set(fmt.Sprint(i), r)
	}
	full := u.MemoryBytes()
	for i, r := range rs[:9900] {
		u.Delete(fmt.Sprint(i), r)
	}
	if small := u.MemoryBytes(); small*10 > full {
		t.Errorf("MemoryBytes %d after deleting 99%% of %d-byte map", small, full)
	}
	for i, r := range rs[9900:] {
		if got, ok := u.Get(fmt.Sprint(9900 + i)); !ok || got != r {
			t.Fatalf("lost %d after shrink", 9900+i)
		}
	}
}

// randomValue draws from a small domain of mixed types, so that values
// collide, plus values that are not indexable.
func randomValue(rng *rand.Rand) jsonv.Value {
	domain := []jsonv.Value{
		0.0, math.Copysign(0, -1), 1.0, 1.5, -3.0, 2.0, 1e9, math.Inf(-1),
		"", "a", "b", "1", "A", "é", "role",
		true, false,
		nil, []jsonv.Value{1.0}, &jsonv.Object{},
	}
	return domain[rng.IntN(len(domain))]
}

func randomBounds(rng *rand.Rand) bounds {
	pick := func() jsonv.Value {
		if rng.IntN(3) == 0 {
			return float64(rng.IntN(7) - 3)
		}
		return randomValue(rng)
	}
	b := bounds{lo: pick(), hi: pick(), hasLo: rng.IntN(4) > 0, hasHi: rng.IntN(4) > 0,
		loIncl: rng.IntN(2) == 0, hiIncl: rng.IntN(2) == 0}
	if rng.IntN(2) == 0 && Indexable(b.lo) {
		// Same type most of the time, so ranges are not mostly empty.
		switch b.lo.(type) {
		case float64:
			b.hi = b.lo.(float64) + float64(rng.IntN(5))
		case string:
			b.hi = b.lo.(string) + "z"
		case bool:
			b.hi = true
		}
	}
	return b
}

// TestModel runs random adds, removes and updates of items with random
// values of mixed types against a plain map, checking the invariants and
// comparing Eq, CountEq and Range with the model after every step. Phases
// pour most items into one hot value and then drain it, so postings cross
// the slice/tree threshold both ways. Seeds 4 and 5 give the index a weak
// string hash, so that distinct strings collide and take the collision path.
func TestModel(t *testing.T) {
	steps := 12000
	if testing.Short() || raceEnabled {
		steps = 4000
	}
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel() // each on its own index
			rng := rand.New(rand.NewPCG(seed, 42))
			ix := New(recPos, recVal)
			weak := seed > 3
			if weak {
				ix.kinds.strs.hash = func(s string) uint64 { return uint64(len(s) % 4) }
			}
			maxColl := 0
			model := map[*rec]jsonv.Value{}
			rs := recs(160, rng)
			hots := []jsonv.Value{"role", 1.0, true, "a"}
			var hot jsonv.Value
			sawTree, sawDemote := false, false
			for step := range steps {
				phase := step / 1000
				bias := 0.0
				if phase%2 == 0 {
					hot, bias = hots[(phase/2)%len(hots)], 0.95
				}
				value := func() jsonv.Value {
					if rng.Float64() < bias {
						return hot
					}
					return randomValue(rng)
				}
				r := rs[rng.IntN(len(rs))]
				old, indexed := model[r]
				op := "add"
				switch {
				case !indexed:
					v := value()
					put(ix, v, r)
					model[r] = v
				case rng.IntN(10) == 0:
					op = "re-add"
					put(ix, old, r)
				case rng.IntN(10) == 0:
					op = "remove other value"
					v := value()
					ix.Remove(v, r)
					if Indexable(v) && jsonv.Equal(v, old) {
						delete(model, r)
					}
				case rng.IntN(3) == 0 || bias == 0:
					op = "remove"
					ix.Remove(old, r)
					delete(model, r)
				default:
					op = "update"
					v := value()
					ix.Remove(old, r)
					put(ix, v, r)
					model[r] = v
				}
				if err := ix.Check(pairs(model)); err != nil {
					t.Fatalf("step %d %s %v: %v", step, op, r, err)
				}
				if ix.strs != nil {
					maxColl = max(maxColl, len(ix.strs.coll))
				}
				if hot != nil {
					if sl, ok := ix.lookup(hot); ok && sl.more != nil {
						if sl.more.tree != nil {
							sawTree = true
						} else if sawTree && len(sl.more.items) <= minTree {
							sawDemote = true
						}
					}
				}
				probes := []jsonv.Value{value(), randomValue(rng)}
				if step%500 == 0 {
					probes = append(probes, hots...)
				}
				for _, v := range probes {
					want := modelEq(model, v)
					if got := collectEq(ix, v); !slices.Equal(got, want) {
						t.Fatalf("step %d: Eq(%#v) = %v, want %v", step, v, got, want)
					}
					if n := ix.CountEq(v); n != len(want) {
						t.Fatalf("step %d: CountEq(%#v) = %d, want %d", step, v, n, len(want))
					}
				}
				// No Range in the first third: the index works
				// unordered (hashes only), then the first Range
				// builds the value trees over a populated index.
				if ordered := ix.Ordered(); ordered != (step > steps/3) {
					t.Fatalf("step %d: Ordered() = %v", step, ordered)
				}
				for range 2 {
					if step < steps/3 {
						break
					}
					b := randomBounds(rng)
					if got, want := collectRange(ix, b), modelRange(model, b); !slices.Equal(got, want) {
						t.Fatalf("step %d: Range%v = %v, want %v", step, b, got, want)
					}
				}
			}
			if !sawTree || !sawDemote {
				t.Errorf("postings did not cross the threshold both ways: tree %v, back %v", sawTree, sawDemote)
			}
			if weak != (maxColl > 0) {
				t.Errorf("weak hash %v, yet at most %d colliding values", weak, maxColl)
			}
		})
	}
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestMemoryBytes checks that the estimate is within a factor of 1.5 of what
// the heap says, for the shapes the benchmark measures.
func TestMemoryBytes(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures the heap")
	}
	for _, shape := range memShapes {
		for _, ordered := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ordered=%v", shape.name, ordered), func(t *testing.T) {
				testMemoryBytes(t, shape.build, ordered)
			})
		}
	}
}

func testMemoryBytes(t *testing.T, build func(n int) ([]*rec, []jsonv.Value), ordered bool) {
	const n = 100000
	items, values := build(n)
	before := heapAlloc()
	ix := New(recPos, recVal)
	if ordered {
		ix.Range(nil, nil, false, false, false, false, func(*rec) bool { return true })
	}
	for i, r := range items {
		put(ix, values[i], r)
	}
	used := heapAlloc() - before
	est := ix.MemoryBytes()
	t.Logf("%d items: heap %d B (%.1f B/item), estimate %d B (%.1f B/item)",
		n, used, float64(used)/n, est, float64(est)/n)
	if float64(est) < float64(used)/1.5 || float64(est) > float64(used)*1.5 {
		t.Errorf("estimate %d, heap %d", est, used)
	}
	runtime.KeepAlive(ix)
	runtime.KeepAlive(items)
	runtime.KeepAlive(values)
}

// TestConcurrentFirstRange runs the first Range of an unordered index from
// several readers at once, beside Checks and MemoryBytes, as readers sharing a bucket's read
// lock do: one builds the value trees, every one sees them whole (run with
// -race).
func TestConcurrentFirstRange(t *testing.T) {
	rs := recs(2000, rand.New(rand.NewPCG(7, 7)))
	ix := New(recPos, recVal)
	model := map[*rec]jsonv.Value{}
	for i, r := range rs {
		var v jsonv.Value = fmt.Sprintf("v%05d", (i*7919)%2000)
		if i%3 == 0 {
			v = float64(i % 50)
		}
		put(ix, v, r)
		model[r] = v
	}
	if ix.Ordered() {
		t.Fatal("ordered before any Range")
	}
	all := bounds{}
	want := modelRange(model, all)
	var wg sync.WaitGroup
	got := make([][]*rec, 8)
	checks := make([]error, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = collectRange(ix, all)
		}()
	}
	// Check also runs under the shared read lock (Store.Check), and so
	// does MemoryBytes (B.INFO, INFO memory).
	for i := range checks {
		wg.Add(2)
		go func() {
			defer wg.Done()
			checks[i] = ix.Check(pairs(model))
		}()
		go func() {
			defer wg.Done()
			ix.MemoryBytes()
		}()
	}
	wg.Wait()
	for _, err := range checks {
		if err != nil {
			t.Fatalf("Check beside the first Ranges: %v", err)
		}
	}
	for i := range got {
		if !slices.Equal(got[i], want) {
			t.Fatalf("reader %d saw %d items, want %d", i, len(got[i]), len(want))
		}
	}
	if !ix.Ordered() {
		t.Fatal("not ordered after Range")
	}
	mustCheck(t, ix, model)
}

// memShapes are the indexes whose memory is measured.
var memShapes = []struct {
	name  string
	build func(n int) ([]*rec, []jsonv.Value)
}{
	{"3values", func(n int) ([]*rec, []jsonv.Value) {
		rs := recs(n, rand.New(rand.NewPCG(1, 1)))
		slices.SortFunc(rs, func(a, b *rec) int { return int(a.pos) - int(b.pos) })
		vs := make([]jsonv.Value, n)
		for i := range vs {
			vs[i] = []jsonv.Value{"admin", "user", "guest"}[i%3]
		}
		return rs, vs
	}},
	{"distinct-strings", func(n int) ([]*rec, []jsonv.Value) {
		rs := recs(n, rand.New(rand.NewPCG(1, 1)))
		vs := make([]jsonv.Value, n)
		for i := range vs {
			vs[i] = fmt.Sprintf("user%08d@example.com", i)
		}
		return rs, vs
	}},
	{"distinct-numbers", func(n int) ([]*rec, []jsonv.Value) {
		rs := recs(n, rand.New(rand.NewPCG(1, 1)))
		vs := make([]jsonv.Value, n)
		for i := range vs {
			vs[i] = float64(i) * 1.5
		}
		return rs, vs
	}},
}
