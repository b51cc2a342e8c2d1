package snapshot

import (
	"fmt"
	"testing"

	"bucketd/engine"
)

// benchLoadDir returns a data dir holding n records of a 5-field bucket
// with two indexes: in the append-only file alone (snapshot false), or in
// a snapshot.
func benchLoadDir(b testing.TB, n int, snapshot bool) string {
	b.Helper()
	dir := b.TempDir()
	o, err := openDir(dir, FsyncNo, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	fillUsers(b, o.store, n)
	if err := o.p.Close(snapshot); err != nil {
		b.Fatal(err)
	}
	return dir
}

// fillUsers defines the bucket "users" in s, 5 fields and two indexes,
// and inserts n records.
func fillUsers(b testing.TB, s *engine.Store, n int) {
	b.Helper()
	def := `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"email":{"type":"string"},` +
		`"age":{"type":"number"},"role":{"type":"string"}},"indexes":["role","age"]}`
	if err := s.Define("users", []byte(def)); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		rec := fmt.Sprintf(`{"id":"u%d","name":"User %d","email":"user%d@example.com","age":%d,"role":"%s"}`,
			i, i, i, 18+i%60, []string{"admin", "user", "guest"}[i%3])
		if _, err := s.Insert(nil, "users", obj(b, rec), engine.InsertOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures start-up's loading of 200,000 records, from the
// append-only file alone and from a snapshot (bench/persist measures the
// whole start-up with a million; this is the profile's entry point:
// go test -run x -bench Load -cpuprofile /tmp/load.pprof ./snapshot).
func BenchmarkLoad(b *testing.B) {
	for _, snap := range []bool{false, true} {
		name := "aof"
		if snap {
			name = "snapshot"
		}
		b.Run(name, func(b *testing.B) {
			dir := benchLoadDir(b, 200_000, snap)
			b.ResetTimer()
			for range b.N {
				o, err := openDir(dir, FsyncNo, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				o.p.Close(false)
				b.StartTimer()
			}
		})
	}
}
