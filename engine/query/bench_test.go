package query

import (
	"testing"

	"bucketd/jsonv"
)

// mapRec is a map-backed Record with a pre-encoded JSON form, like a stored
// record.
type mapRec struct {
	m    map[string]jsonv.Value
	json []byte
}

func (r *mapRec) Get(f string) (jsonv.Value, bool) { v, ok := r.m[f]; return v, ok }
func (r *mapRec) AppendJSON(dst []byte) []byte     { return append(dst, r.json...) }

var roles = []string{"admin", "user", "guest", "owner", "bot"}

// benchRecords returns n five-field records.
func benchRecords(tb testing.TB, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		o := jsonv.NewObject(5)
		o.Set("id", float64(i))
		o.Set("name", "user"+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
		o.Set("role", roles[i%len(roles)])
		if i%10 != 0 {
			o.Set("age", float64((i*7919)%90))
		}
		o.Set("email", "u@example.com")
		m := make(map[string]jsonv.Value, 5)
		for j, k := range o.Keys {
			m[k] = o.Vals[j]
		}
		out[i] = &mapRec{m: m, json: jsonv.Marshal(o)}
	}
	return out
}

func benchEval(b *testing.B, query string) {
	rs := benchRecords(b, 50000)
	q := mustQuery(b, query)
	dst := q.Eval(rs, nil)
	b.ReportAllocs()
	for b.Loop() {
		dst = q.Eval(rs, dst[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/record")
}

func BenchmarkEvalAll(b *testing.B) { benchEval(b, `{"bucket":"b"}`) }
func BenchmarkEvalSort(b *testing.B) {
	benchEval(b, `{"bucket":"b","sort":{"age":"desc","name":"asc"}}`)
}
func BenchmarkEvalSortLimit(b *testing.B) {
	benchEval(b, `{"bucket":"b","sort":{"age":"desc"},"limit":10}`)
}
func BenchmarkEvalFields(b *testing.B) {
	benchEval(b, `{"bucket":"b","fields":["id","name"]}`)
}
func BenchmarkEvalAvg(b *testing.B) {
	benchEval(b, `{"bucket":"b","aggregate":{"function":"avg","field":"age"}}`)
}
func BenchmarkEvalGroupBy(b *testing.B) {
	benchEval(b, `{"bucket":"b","aggregate":{"function":"max","field":"age","groupBy":["role"]}}`)
}
func BenchmarkEvalGroupBy2(b *testing.B) {
	benchEval(b, `{"bucket":"b","aggregate":{"function":"count","groupBy":["role","age"]}}`)
}

func BenchmarkSubstitute(b *testing.B) {
	v := mustValue(b, `{"bucket":"users","filter":{"role":"{{ params.role }}","age":{"$gte":"{{params.min}}"}},"sort":{"age":"desc"},"limit":10}`)
	p := mustValue(b, `{"role":"admin","min":18}`).(*jsonv.Object)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Substitute(v, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	v := mustValue(b, `{"bucket":"users","filter":{"role":"admin","age":{"$gte":18}},"sort":{"age":"desc"},"limit":10,"fields":["id","name"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(v); err != nil {
			b.Fatal(err)
		}
	}
}
