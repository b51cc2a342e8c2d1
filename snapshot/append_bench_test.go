package snapshot

import (
	"strconv"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

// BenchmarkAppendCommit encodes the append-only file's entry of one
// insert of bench/persist's 5-field record, as aof.Log does in every
// commit.
func BenchmarkAppendCommit(b *testing.B) {
	s := engine.New(engine.Options{})
	log := &changeLog{}
	s.AddObserver(log)
	def := `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
		`"email":{"type":"string","format":"email"},"age":{"type":"number","min":0,"max":150},` +
		`"role":{"type":"string","enum":["admin","user","guest"]}},"indexes":["role","age"]}`
	if err := s.Define("users", []byte(def)); err != nil {
		b.Fatal(err)
	}
	for i := range 1024 {
		id := strconv.Itoa(100000 + i)
		o, err := jsonv.ParseObject([]byte(`{"id":"` + id + `","name":"User ` + id + `","email":"user` + id +
			`@example.com","age":` + strconv.Itoa(18+i%60) + `,"role":"admin"}`))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Insert(nil, "users", o, engine.InsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	batches := log.take()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		buf = AppendCommit(buf[:0], batches[i%len(batches)], false)
	}
	b.SetBytes(int64(len(buf)))
}
