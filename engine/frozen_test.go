package engine

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tidwall/btree"

	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// frozenStore returns a store whose bucket "b" (ordered or not) holds
// records k000…k099 with n = 0…99, n indexed.
func frozenStore(t *testing.T, ordered bool) *Store {
	t.Helper()
	s := New(Options{})
	def := fmt.Sprintf(`{"key":"id","ordered":%v,"indexes":["n"],"schema":{"id":{"type":"string"},"n":{"type":"number"},"g":{"type":"number"}}}`, ordered)
	if err := s.Define("b", []byte(def)); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.Insert(nil, "b", mustObj(t, fmt.Sprintf(`{"id":"k%03d","n":%d,"g":0}`, i, i)), InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func mustObj(t *testing.T, js string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustFilter(t *testing.T, js string) *filter.Filter {
	t.Helper()
	f, err := filter.ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeDuring is what the tests below do in the middle of a frozen read:
// the bucket's write lock must be free, and an update, a delete, an insert
// and a rolled-back update all commit (or roll back) at once.
func writeDuring(t *testing.T, s *Store) {
	t.Helper()
	b := s.snapshot()["b"]
	if !b.mu.TryLock() {
		t.Fatal("a frozen read holds the bucket's lock while it walks")
	}
	b.mu.Unlock()
	if _, err := s.Update(nil, "b", "k050", mustObj(t, `{"n":1000}`), -1); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Delete(nil, "b", "k060", -1); !ok || err != nil {
		t.Fatalf("Delete: %v %v", ok, err)
	}
	if _, err := s.Insert(nil, "b", mustObj(t, `{"id":"k999","n":5}`), InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Begin([]string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range []string{`{"n":-1}`, `{"n":-2}`} {
		if _, err := s.Update(tx, "b", "k070", mustObj(t, js), -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(tx, "b", "k050", mustObj(t, `{"n":2000}`), -1); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// wantBefore checks that a frozen read saw the bucket exactly as it was
// when the read began: seen maps keys to n.
func wantBefore(t *testing.T, seen map[string]float64, from int) {
	t.Helper()
	if len(seen) != 100-from {
		t.Errorf("the read saw %d records, want %d", len(seen), 100-from)
	}
	for i := from; i < 100; i++ {
		k := fmt.Sprintf("k%03d", i)
		if n, ok := seen[k]; !ok || n != float64(i) {
			t.Errorf("the read saw %s as %v (present %v), want n=%d", k, n, ok, i)
		}
	}
}

// TestFrozenReadsLetWritersIn: a read outside a transaction walks a frozen
// copy without the bucket's lock; writes commit meanwhile and the read
// sees the bucket as it was when it began, for full scans and index plans,
// in both orders; afterwards the bucket agrees with every write.
func TestFrozenReadsLetWritersIn(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		for _, flt := range []string{`{}`, `{"n":{"$gte":0}}`, `{"n":{"$in":[0,1,2,3,4,5,6,7,8,9,10,11,12,50,60,70,99]}}`} {
			t.Run(fmt.Sprintf("ordered=%v/%s", ordered, flt), func(t *testing.T) {
				s := frozenStore(t, ordered)
				f := mustFilter(t, flt)
				seen := map[string]float64{}
				err := s.scanRead(nil, "b", f, nil, nil, func(rec *Record) bool {
					n, _ := rec.Get("n")
					seen[rec.Key().(string)] = n.(float64)
					if len(seen) == 10 {
						writeDuring(t, s)
					}
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				if flt == `{}` || flt == `{"n":{"$gte":0}}` {
					wantBefore(t, seen, 0)
				} else if len(seen) != 17 || seen["k050"] != 50 || seen["k070"] != 70 {
					t.Errorf("the $in read saw %v", seen)
				}
				after, err := s.Where(nil, "b", mustFilter(t, `{"id":{"$in":["k050","k060","k070","k999"]}}`))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range after {
					n, _ := r.Get("n")
					got = append(got, fmt.Sprintf("%v=%v", r.Key(), n))
				}
				if want := "[k050=1000 k070=70 k999=5]"; fmt.Sprint(got) != want {
					t.Errorf("after the read: %v, want %s", got, want)
				}
				if b := s.snapshot()["b"]; b.readers.Load() != 0 {
					t.Errorf("%d readers left entered", b.readers.Load())
				}
			})
		}
	}
}

// TestFrozenTreeWalks: the reads that walk the order tree themselves
// (B.PAGINATE, B.FIRST, B.LAST) do so without the lock too.
func TestFrozenTreeWalks(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		s := frozenStore(t, ordered)
		seen := map[string]float64{}
		err := s.frozenRead(nil, "b", func(_ *Bucket, tree *btree.BTreeG[*entry], _ int64) (func() error, error) {
			return func() error {
				tree.Scan(func(e *entry) bool {
					n, _ := e.rec.Get("n")
					seen[e.rec.Key().(string)] = n.(float64)
					if len(seen) == 3 {
						writeDuring(t, s)
					}
					return true
				})
				return nil
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantBefore(t, seen, 0)
		p, err := s.Paginate(nil, "b", 200, "k010", true)
		if err != nil || len(p.Records) != 89 { // k011…k099 without k060, and k999
			t.Errorf("ordered=%v: Paginate after k010: %d records, %v", ordered, len(p.Records), err)
		}
	}
}

// TestSlotsChangeInPlaceWithoutReaders: the copy-on-write of slots costs
// nothing when nobody reads a frozen copy: an update keeps the record's
// slot, and a read that ended does not hold slots any more.
func TestSlotsChangeInPlaceWithoutReaders(t *testing.T) {
	s := frozenStore(t, false)
	b := s.snapshot()["b"]
	slot := func() *entry {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.st.get("k001")
	}
	before := slot()
	if _, err := s.Where(nil, "b", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(nil, "b", "k001", mustObj(t, `{"n":-5}`), -1); err != nil {
		t.Fatal(err)
	}
	if slot() != before {
		t.Error("an update with no frozen reader replaced the slot")
	}
	b.mu.RLock()
	b.enter()
	b.mu.RUnlock()
	if _, err := s.Update(nil, "b", "k001", mustObj(t, `{"n":-6}`), -1); err != nil {
		t.Fatal(err)
	}
	b.leave()
	if slot() == before {
		t.Error("an update under a frozen reader changed the slot in place")
	}
	if n, _ := before.rec.Get("n"); n != float64(-5) {
		t.Errorf("the old slot's record changed: n=%v", n)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestFrozenReadsConsistent: while a writer rewrites every record in one
// transaction after another, reads outside transactions (scans,
// aggregates, snapshots for persistence) each see one transaction's
// result, never a mix. Run with -race, it also checks that the frozen
// reads and the writers share no memory unsynchronised.
func TestFrozenReadsConsistent(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		s := frozenStore(t, ordered)
		const rounds = 60
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			for g := 1; g <= rounds; g++ {
				if _, err := s.UpdateMany(nil, "b", nil, mustObj(t, fmt.Sprintf(`{"g":%d}`, g))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		uniform := func(what string, recs []*Record) {
			if len(recs) != 100 {
				t.Errorf("%s: %d records", what, len(recs))
				return
			}
			g0, _ := recs[0].Get("g")
			for _, r := range recs {
				if g, _ := r.Get("g"); g != g0 {
					t.Errorf("%s mixes transactions: g=%v and g=%v", what, g0, g)
					return
				}
			}
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					recs, err := s.Where(nil, "b", nil)
					if err != nil {
						t.Error(err)
						return
					}
					uniform("Where", recs)
					indexed, err := s.Where(nil, "b", mustFilter(t, `{"n":{"$gte":0}}`))
					if err != nil {
						t.Error(err)
						return
					}
					uniform("an index plan", indexed)
					images := s.Capture(nil)
					for i := range images {
						var recs []*Record
						if err := images[i].Scan(7, func(batch []*Record) error {
							recs = append(recs, batch...)
							return nil
						}); err != nil || len(recs) != images[i].Len {
							t.Errorf("Capture: %d records of %d, %v", len(recs), images[i].Len, err)
						}
						uniform("Capture", recs)
					}
					ReleaseImages(images)
					sum, _, err := s.Aggregate(nil, "b", "sum", "g", nil)
					if err != nil || int(sum)%100 != 0 {
						t.Errorf("Aggregate mixes transactions: sum %v, %v", sum, err)
					}
				}
			}()
		}
		wg.Wait()
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if b := s.snapshot()["b"]; b.readers.Load() != 0 {
			t.Errorf("%d readers left entered", b.readers.Load())
		}
	}
}
