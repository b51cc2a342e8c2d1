package engine_test

import (
	"strconv"
	"sync"
	"testing"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// The benchmark bucket: 5-field records, 2 secondary indexes, 1 unique field.
const benchDef = `{"key":"id","schema":{
	"id":{"type":"string"},
	"email":{"type":"string","unique":true},
	"name":{"type":"string"},
	"age":{"type":"number"},
	"role":{"type":"string"}},
	"indexes":["role","age"]}`

// benchRecord returns record i: 1000 distinct ages and names (100 records
// each in 100,000), 10 roles.
func benchRecord(i int) *jsonv.Object {
	o := jsonv.NewObject(5)
	o.Keys = append(o.Keys, "id", "email", "name", "age", "role")
	o.Vals = append(o.Vals,
		"k"+strconv.Itoa(i),
		"u"+strconv.Itoa(i)+"@x.io",
		"n"+strconv.Itoa(i%1000),
		float64(i%1000),
		"r"+strconv.Itoa(i%10))
	return o
}

func benchStore(tb testing.TB, def string) (*engine.Store, *fakeClock) {
	clock := newFakeClock(startMs)
	s := engine.New(engine.Options{Now: clock.Now, IDs: &seqIDs{}})
	s.AddObserver(&nopObserver{})
	if err := s.Define("b", []byte(def)); err != nil {
		tb.Fatal(err)
	}
	return s, clock
}

// nopObserver stands for the real consumers, which copy what they need.
type nopObserver struct{ n int }

func (o *nopObserver) Committed(cs []engine.Change) { o.n += len(cs) }

// fill inserts records [from, to) made by mk, in batches.
func fill(tb testing.TB, s *engine.Store, from, to int, mk func(int) *jsonv.Object) {
	const batch = 10_000
	for i := from; i < to; i += batch {
		objs := buildObjects(i, min(i+batch, to), mk)
		if _, err := s.InsertMany(nil, "b", objs); err != nil {
			tb.Fatal(err)
		}
	}
}

func buildObjects(from, to int, mk func(int) *jsonv.Object) []*jsonv.Object {
	objs := make([]*jsonv.Object, 0, to-from)
	for i := from; i < to; i++ {
		objs = append(objs, mk(i))
	}
	return objs
}

// cached builds big stores once per test binary: a benchmark function runs
// several times with growing b.N.
var (
	cacheMu sync.Mutex
	cache   = map[string]*engine.Store{}
	clocks  = map[string]*fakeClock{}
)

func cachedStore(b *testing.B, name string, build func() (*engine.Store, *fakeClock)) (*engine.Store, *fakeClock) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s := cache[name]; s != nil {
		return s, clocks[name]
	}
	s, c := build()
	cache[name], clocks[name] = s, c
	return s, c
}

func store100k(b *testing.B) *engine.Store {
	s, _ := cachedStore(b, "100k", func() (*engine.Store, *fakeClock) {
		s, c := benchStore(b, benchDef)
		fill(b, s, 0, 100_000, benchRecord)
		return s, c
	})
	return s
}

func BenchmarkInsert(b *testing.B) {
	s, _ := benchStore(b, benchDef)
	objs := buildObjects(0, b.N, benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Insert(nil, "b", objs[i], engine.InsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := store100k(b)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i*24%100_000)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if r, err := s.Get(nil, "b", keys[i%len(keys)]); r == nil || err != nil {
			b.Fatal("missing record", err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s, _ := benchStore(b, benchDef)
	const n = 10_000
	fill(b, s, 0, n, benchRecord)
	changes := make([]*jsonv.Object, 16)
	for i := range changes {
		changes[i] = &jsonv.Object{Keys: []string{"age", "role"}, Vals: []jsonv.Value{float64(i), "r" + strconv.Itoa(i%3)}}
	}
	keys := benchKeys(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Update(nil, "b", keys[i%n], changes[i%len(changes)], -1); err != nil {
			b.Fatal(err)
		}
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return keys
}

// BenchmarkUpsert alternates updates of existing records and inserts of
// new ones.
func BenchmarkUpsert(b *testing.B) {
	s, _ := benchStore(b, benchDef)
	const n = 10_000
	fill(b, s, 0, n, benchRecord)
	objs := make([]*jsonv.Object, b.N)
	for i := range objs {
		if i%2 == 0 {
			objs[i] = benchRecord(i / 2 % n)
			objs[i].Set("age", float64(i%97))
		} else {
			objs[i] = benchRecord(n + i)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Upsert(nil, "b", objs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertDrafted is B.INSERT of fresh records with an e-mail
// index (bench/compare's fresh-records row): each record's text drafted,
// then inserted. Its allocations per op are issue 23's count.
func BenchmarkInsertDrafted(b *testing.B) {
	s, _ := benchStore(b, emailDef)
	texts := make([][]byte, b.N)
	for i := range texts {
		texts[i] = emailRecord(i, "")
	}
	bucket := []byte("b")
	b.ReportAllocs()
	b.ResetTimer()
	var d engine.Draft
	for i := range b.N {
		if err := s.Draft(&d, bucket, texts[i], true); err != nil {
			b.Fatal(err)
		}
		if _, err := s.InsertDraft(nil, "b", &d, engine.InsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpsertDrafted is the pipelined B.UPSERT: each record's text
// drafted (parsed, validated, encoded) then written, over 10,000 records,
// replacing one every other time.
func BenchmarkUpsertDrafted(b *testing.B) {
	s, _ := benchStore(b, benchDef)
	const n = 10_000
	fill(b, s, 0, n, benchRecord)
	texts := make([][]byte, 1024)
	for i := range texts {
		k := i / 2 % n
		if i%2 == 1 {
			k = n + i
		}
		o := benchRecord(k)
		o.Set("age", float64(i%97))
		texts[i] = jsonv.Marshal(o)
	}
	bucket := []byte("b")
	b.ReportAllocs()
	b.ResetTimer()
	var d engine.Draft
	for i := range b.N {
		if err := s.Draft(&d, bucket, texts[i%len(texts)], false); err != nil {
			b.Fatal(err)
		}
		if _, err := s.UpsertDraft(nil, "b", &d); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWhere(b *testing.B, js string) {
	s := store100k(b)
	f, err := filter.ParseJSON([]byte(js))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		recs, err := s.Where(nil, "b", f)
		if err != nil || len(recs) != 100 {
			b.Fatalf("Where = %d records, %v", len(recs), err)
		}
	}
}

// BenchmarkWhereIndexed and BenchmarkWhereScan select the same number of
// records (100 of 100,000), by an indexed field and by an unindexed one.
func BenchmarkWhereIndexed(b *testing.B) { benchWhere(b, `{"age":42}`) }

func BenchmarkWhereScan(b *testing.B) { benchWhere(b, `{"name":"n42"}`) }

// The purge benchmarks time PurgeExpired when one record of the bucket has
// expired: its cost must not grow with the bucket's size.
const purgeDef = `{"key":"id","schema":{"id":{"type":"number"},"g":{"type":"string"}},"indexes":["g"]}`

func purgeRecord(i int) *jsonv.Object {
	return &jsonv.Object{Keys: []string{"id", "g"}, Vals: []jsonv.Value{float64(i), "g" + strconv.Itoa(i%100)}}
}

func benchPurgeOneOf(b *testing.B, size int) {
	s, clock := cachedStore(b, "purge"+strconv.Itoa(size), func() (*engine.Store, *fakeClock) {
		s, c := benchStore(b, purgeDef)
		fill(b, s, 0, size, purgeRecord)
		return s, c
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := s.Insert(nil, "b", purgeRecord(size+i), engine.InsertOptions{TTL: 1}); err != nil {
			b.Fatal(err)
		}
		clock.Advance(2)
		b.StartTimer()
		if n := s.PurgeExpired(); n != 1 {
			b.Fatalf("PurgeExpired = %d, want 1", n)
		}
	}
	b.StopTimer()
	if n, _ := s.Count(nil, "b", nil); n != size {
		b.Fatalf("bucket has %d records, want %d", n, size)
	}
}

func BenchmarkPurgeExpiredOneOfMillion(b *testing.B) { benchPurgeOneOf(b, 1_000_000) }

func BenchmarkPurgeExpiredOneOfTenThousand(b *testing.B) { benchPurgeOneOf(b, 10_000) }

// BenchmarkRecordAppendJSON is what B.GET does with a record: its length,
// then its text with the metadata.
func BenchmarkRecordAppendJSON(b *testing.B) {
	s, _ := benchStore(b, benchDef)
	fill(b, s, 0, 1, benchRecord)
	rec, err := s.Get(nil, "b", "k0")
	if err != nil || rec == nil {
		b.Fatal(rec, err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		n := rec.JSONLen()
		buf = rec.AppendJSON(buf[:0])
		if len(buf) != n {
			b.Fatal(n, len(buf))
		}
	}
}
