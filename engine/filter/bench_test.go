package filter

import (
	"testing"

	"bucketd/jsonv"
)

// mapRecord is a map-backed Getter, closer to a stored record than a
// *jsonv.Object's linear key search.
type mapRecord map[string]jsonv.Value

func (m mapRecord) Get(f string) (jsonv.Value, bool) { v, ok := m[f]; return v, ok }

func benchRecord(b *testing.B) mapRecord {
	o := rec(b, `{"id":"u123","name":"Alice Smith","email":"alice@example.com","role":"admin","age":34}`)
	m := mapRecord{}
	for i, k := range o.Keys {
		m[k] = o.Vals[i]
	}
	return m
}

func benchMatch(b *testing.B, filter string, want bool) {
	f := mustParse(b, filter)
	r := benchRecord(b)
	if f.Match(r) != want {
		b.Fatalf("Match != %v", want)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(r)
	}
}

func BenchmarkMatchEq(b *testing.B) { benchMatch(b, `{"role":"admin"}`, true) }

func BenchmarkMatchAllFields(b *testing.B) {
	benchMatch(b, `{"role":"admin","age":{"$gte":18,"$lt":65},"name":{"$contains":"smith"},`+
		`"email":{"$endsWith":"@example.com"},"id":{"$in":["u1","u2","u123"]}}`, true)
}

func BenchmarkMatchOr(b *testing.B) {
	benchMatch(b, `{"$or":[{"role":"guest"},{"age":{"$lt":18}},{"name":{"$startsWith":"Al"}}]}`, true)
}

func BenchmarkMatchMiss(b *testing.B) { benchMatch(b, `{"role":"user","age":{"$gt":40}}`, false) }

func BenchmarkParse(b *testing.B) {
	data := []byte(`{"role":"admin","age":{"$gte":18,"$lt":65},"$or":[{"vip":true},{"score":{"$gt":90}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
