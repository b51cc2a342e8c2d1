package engine_test

import (
	"strconv"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

// refPath is the reference for Record.Get's paths, written from the rule
// in docs/commands.md ("Paths and nested schemas") rather than from the
// code: a top-level field of that exact name wins; otherwise split at every
// dot, take the first part as a top-level field, then for each further part
// go into an object by key, or into an array by a plain decimal index.
func refPath(obj *jsonv.Object, path string) (jsonv.Value, bool) {
	if v, ok := obj.Get(path); ok {
		return v, true
	}
	parts := strings.Split(path, ".")
	if len(parts) < 2 || parts[0] == "" {
		return nil, false
	}
	v, ok := obj.Get(parts[0])
	for _, p := range parts[1:] {
		if !ok {
			return nil, false
		}
		switch x := v.(type) {
		case *jsonv.Object:
			v, ok = x.Get(p)
		case []jsonv.Value:
			n, err := strconv.Atoi(p)
			plain := p != "" && strings.Trim(p, "0123456789") == "" && (p == "0" || p[0] != '0')
			if err != nil || !plain || n >= len(x) {
				return nil, false
			}
			v, ok = x[n], true
		default:
			return nil, false
		}
	}
	return v, ok
}

// FuzzRecordPath compares Record.Get with refPath on any record a schemaless
// bucket accepts and any path.
func FuzzRecordPath(f *testing.F) {
	for _, seed := range []struct{ rec, path string }{
		{`{"id":"a","address":{"city":"Paris","geo":{"lat":1}}}`, "address.geo.lat"},
		{`{"id":"a","tags":["x","y"]}`, "tags.1"},
		{`{"id":"a","tags":["x","y"]}`, "tags.01"},
		{`{"id":"a","a.b":1,"a":{"b":2}}`, "a.b"},
		{`{"id":"a","m":{"k":[10,{"v":"deep"}]}}`, "m.k.1.v"},
		{`{"id":"a","m":{"":{"":1}}}`, "m.."},
		{`{"id":"a","t":[1]}`, "t.-0"},
		{`{"id":"a","t":[1]}`, "t.+0"},
		{`{"id":"a","t":[1,2,3,4,5,6,7,8,9,10,11]}`, "t.10"},
	} {
		f.Add(seed.rec, seed.path)
	}
	s := engine.New(engine.Options{})
	if err := s.Define("b", []byte(`{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rec, path string) {
		obj, err := jsonv.ParseObject([]byte(rec))
		if err != nil {
			return
		}
		r, err := s.Upsert(nil, "b", obj)
		if err != nil {
			return
		}
		got, gotOK := r.Get(path)
		stored, err := jsonv.ParseObject(r.JSON())
		if err != nil {
			t.Fatal(err)
		}
		want, wantOK := refPath(stored, path)
		if gotOK != wantOK || (gotOK && !jsonv.Equal(got, want)) {
			t.Fatalf("record %s path %q: Get = %s %v, reference %s %v", r.JSON(), path, jsonv.Marshal(got), gotOK, jsonv.Marshal(want), wantOK)
		}
	})
}
