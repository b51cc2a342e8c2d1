package snapshot

import (
	"fmt"
	"io"
	"testing"

	"bucketd/engine"
)

// BenchmarkWriteImage measures taking an image of 300,000 records and
// writing it as a snapshot (to io.Discard): a rewrite's work once the
// file is switched.
func BenchmarkWriteImage(b *testing.B) {
	s := engine.New(engine.Options{})
	def := `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"email":{"type":"string"},` +
		`"age":{"type":"number"},"role":{"type":"string"}},"indexes":["role","age"]}`
	if err := s.Define("users", []byte(def)); err != nil {
		b.Fatal(err)
	}
	for i := range 300_000 {
		rec := fmt.Sprintf(`{"id":"u%d","name":"User %d","email":"user%d@example.com","age":%d,"role":"%s"}`,
			i, i, i, 18+i%60, []string{"admin", "user", "guest"}[i%3])
		if _, err := s.Insert(nil, "users", obj(b, rec), engine.InsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		images := s.Capture(nil)
		if _, err := WriteImage(io.Discard, images, nil, nil, 0); err != nil {
			b.Fatal(err)
		}
		engine.ReleaseImages(images)
	}
}
