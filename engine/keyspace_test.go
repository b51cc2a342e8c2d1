package engine_test

import (
	"fmt"
	"slices"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

func TestKeyNames(t *testing.T) {
	for _, c := range []struct {
		bucket string
		key    jsonv.Value
		name   string
	}{
		{"users", "u1", "users:u1"}, {"users", "a:b", "users:a:b"}, {"users", "", "users:"},
		{"orders", 6.0, "orders:6"}, {"orders", 2.5, "orders:2.5"}, {"orders", -1e21, "orders:-1e+21"},
	} {
		if got := string(engine.AppendKeyName(nil, c.bucket, c.key)); got != c.name {
			t.Errorf("AppendKeyName(%s, %v) = %q, want %q", c.bucket, c.key, got, c.name)
		}
		b, k, ok := engine.SplitKeyName(c.name)
		if !ok || b != c.bucket {
			t.Errorf("SplitKeyName(%q) = %q, %q, %v", c.name, b, k, ok)
		}
	}
	for _, name := range []string{"plain", ":u1", ""} {
		if _, _, ok := engine.SplitKeyName(name); ok {
			t.Errorf("SplitKeyName(%q) accepted a name without a bucket", name)
		}
	}
}

// scanKeys runs a whole Scan with count and returns the names it visited.
func scanKeys(t *testing.T, s *engine.Store, count int, want func(string) bool) []string {
	t.Helper()
	var out []string
	cursor := uint64(0)
	for i := 0; ; i++ {
		next, err := s.Scan(cursor, count, want, func(bucket string, rec *engine.Record) {
			out = append(out, string(engine.AppendKeyName(nil, bucket, rec.Key())))
		})
		if err != nil {
			t.Fatal(err)
		}
		if next == 0 {
			return out
		}
		if next <= cursor && i > 0 && cursor>>40 == next>>40 {
			t.Fatalf("cursor went back: %d after %d", next, cursor)
		}
		cursor = next
	}
}

// Scan visits buckets in creation order and records in insertion order,
// each once, count records per call; a bucket dropped between calls is
// skipped, one defined after the cursor passed is still visited; expired
// records are looked at but not visited.
func TestScan(t *testing.T) {
	e := newEnv(t)
	e.define("b", `{"key":"n","schema":{"n":{"type":"number"}},"ordered":true}`)
	e.define("a", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	for _, k := range []int{5, 3, 9} {
		e.insert("b", fmt.Sprintf(`{"n":%d}`, k))
	}
	for _, k := range []string{"z", "y"} {
		e.insert("a", fmt.Sprintf(`{"id":%q}`, k))
	}
	want := []string{"b:5", "b:3", "b:9", "a:z", "a:y"}
	for _, count := range []int{1, 2, 3, 10, 0} {
		if got := scanKeys(t, e.s, count, nil); !slices.Equal(got, want) {
			t.Errorf("count %d: %v, want %v", count, got, want)
		}
	}
	if got := scanKeys(t, e.s, 1, func(b string) bool { return b == "a" }); !slices.Equal(got, want[3:]) {
		t.Errorf("bucket a only: %v", got)
	}

	// Two records into the scan, b is dropped and c defined: the scan
	// goes on with a and c.
	var seen []string
	visit := func(bucket string, rec *engine.Record) {
		seen = append(seen, string(engine.AppendKeyName(nil, bucket, rec.Key())))
	}
	cursor, err := e.s.Scan(0, 2, nil, visit)
	if err != nil || cursor == 0 {
		t.Fatalf("first call: %d, %v", cursor, err)
	}
	if _, err := e.s.Drop("b"); err != nil {
		t.Fatal(err)
	}
	e.define("c", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	e.insert("c", `{"id":"x"}`)
	for cursor != 0 {
		if cursor, err = e.s.Scan(cursor, 2, nil, visit); err != nil {
			t.Fatal(err)
		}
	}
	if w := []string{"b:5", "b:3", "a:z", "a:y", "c:x"}; !slices.Equal(seen, w) {
		t.Errorf("scan across a drop: %v, want %v", seen, w)
	}

	// An expired record counts against COUNT but is not visited.
	if _, err := e.s.Insert(nil, "c", obj(t, `{"id":"old"}`), engine.InsertOptions{TTL: 10}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20)
	if got := scanKeys(t, e.s, 1, func(b string) bool { return b == "c" }); !slices.Equal(got, []string{"c:x"}) {
		t.Errorf("with an expired record: %v", got)
	}
	seen = nil
	if err := e.s.Each(nil, func(bucket string, rec *engine.Record) bool { visit(bucket, rec); return len(seen) < 2 }); err != nil {
		t.Fatal(err)
	}
	if w := []string{"a:z", "a:y"}; !slices.Equal(seen, w) {
		t.Errorf("Each stopping after two: %v, want %v", seen, w)
	}
}

// Random gives every record in time, and nothing from an empty store.
func TestRandom(t *testing.T) {
	e := newEnv(t)
	if _, rec, err := e.s.Random(); rec != nil || err != nil {
		t.Fatalf("empty store: %v, %v", rec, err)
	}
	e.define("a", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	e.define("b", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	for _, k := range []string{"1", "2", "3"} {
		e.insert("a", `{"id":"`+k+`"}`)
	}
	e.insert("b", `{"id":"4"}`)
	seen := map[string]bool{}
	for i := 0; i < 500 && len(seen) < 4; i++ {
		bucket, rec, err := e.s.Random()
		if err != nil || rec == nil {
			t.Fatalf("Random: %v, %v", rec, err)
		}
		seen[string(engine.AppendKeyName(nil, bucket, rec.Key()))] = true
	}
	if len(seen) != 4 {
		t.Errorf("Random gave %v in 500 draws", seen)
	}
}
