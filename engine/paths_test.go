package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

const peopleDef = `{"key":"id","indexes":["address.city","tags"],"schema":{
  "id":{"type":"string"},
  "address":{"type":"object","schema":{"city":{"type":"string"},"zip":{"type":"string"},
    "geo":{"type":"object","schema":{"lat":{"type":"number"}}}}},
  "tags":{"type":"array"},
  "a.b":{"type":"number"},
  "meta":{"type":"object"}}}`

func peopleEnv(t *testing.T) *env {
	e := newEnv(t)
	e.define("p", peopleDef)
	e.insert("p", `{"id":"p1","address":{"city":"Paris","zip":"75001","geo":{"lat":48.8}},"tags":["x","y"],"a.b":1,"meta":{"k":[10,{"v":"deep"}]}}`)
	e.insert("p", `{"id":"p2","address":{"city":"Berlin","zip":"10115","geo":{"lat":52.5}},"tags":["y"]}`)
	e.insert("p", `{"id":"p3","address":{"city":"Paris"},"tags":[]}`)
	e.insert("p", `{"id":"p4","tags":["z","x"]}`)
	return e
}

// TestRecordPaths: Record.Get resolves dot paths into objects and arrays;
// a top-level field whose name has a dot wins.
func TestRecordPaths(t *testing.T) {
	e := peopleEnv(t)
	recs, err := e.s.MGet(nil, "p", []string{"p1"})
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	for _, tc := range []struct{ path, want string }{
		{"address.city", `"Paris"`},
		{"address.geo.lat", `48.8`},
		{"address.geo", `{"lat":48.8}`},
		{"tags.0", `"x"`},
		{"tags.1", `"y"`},
		{"tags.2", "absent"},
		{"tags.01", "absent"},
		{"tags.-1", "absent"},
		{"tags.+1", "absent"},
		{"meta.k.1.v", `"deep"`},
		{"a.b", `1`},
		{"address.nope", "absent"},
		{"address.city.x", "absent"},
		{"nope.x", "absent"},
		{"address.", "absent"},
	} {
		v, ok := r.Get(tc.path)
		got := "absent"
		if ok {
			got = string(jsonv.Marshal(v))
		}
		if got != tc.want {
			t.Errorf("Get(%q) = %s, want %s", tc.path, got, tc.want)
		}
	}
}

// TestPathReads: filters, sorts, projections, groups, aggregates and the
// index on a path; $in over array fields, with and without an index.
func TestPathReads(t *testing.T) {
	e := peopleEnv(t)
	for _, tc := range []struct{ filter, want string }{
		{`{"address.city":"Paris"}`, `"p1","p3"`},
		{`{"address.city":{"$in":["Berlin","Rome"]}}`, `"p2"`},
		{`{"address.geo.lat":{"$gt":50}}`, `"p2"`},
		{`{"address.zip":{"$exists":false}}`, `"p3","p4"`},
		{`{"tags":{"$in":["x"]}}`, `"p1","p4"`},
		{`{"tags":{"$in":["y","z"]}}`, `"p1","p2","p4"`},
		{`{"tags":{"$nin":["x"]}}`, `"p2","p3"`},
		{`{"tags":"x"}`, ``}, // a plain value is whole-value equality
		{`{"tags":["y"]}`, `"p2"`},
		{`{"$or":[{"tags":"x"},{"tags":["y"]}]}`, `"p2"`},
		{`{"tags.0":"z"}`, `"p4"`},
		{`{"meta.k.0":10}`, `"p1"`},
	} {
		recs, err := e.s.Where(nil, "p", flt(t, tc.filter))
		if err != nil {
			t.Fatalf("Where %s: %v", tc.filter, err)
		}
		if got := keys(recs); got != tc.want {
			t.Errorf("Where %s = %s, want %s", tc.filter, got, tc.want)
		}
	}
	sum, ok, err := e.s.Aggregate(nil, "p", "sum", "address.geo.lat", nil)
	if err != nil || !ok || sum != 48.8+52.5 {
		t.Errorf("sum of address.geo.lat = %v %v %v", sum, ok, err)
	}
	out, err := e.s.GroupBy(nil, "p", []string{"address.city"}, "count", "", nil, nil)
	if err != nil || !strings.Contains(string(out), `{"key":{"address.city":"Paris"},"value":2}`) {
		t.Errorf("groupBy address.city = %s %v", out, err)
	}
	q, err := query.Parse(mustJSON(t, `{"bucket":"p","sort":{"address.geo.lat":"desc"},"fields":["id","address.city","address.geo.lat","a.b"],"limit":2}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.s.Find(nil, q, nil)
	if want := `[{"id":"p2","address":{"city":"Berlin","geo":{"lat":52.5}}},{"id":"p1","address":{"city":"Paris","geo":{"lat":48.8}},"a.b":1}]`; err != nil || string(res) != want {
		t.Errorf("Find = %s %v\nwant %s", res, err, want)
	}
	// A whole object and one of its paths: the record's object is copied,
	// never changed.
	q, _ = query.Parse(mustJSON(t, `{"bucket":"p","filter":{"id":"p1"},"fields":["address","address.zip"]}`))
	if res, _ := e.s.Find(nil, q, nil); string(res) != `[{"address":{"city":"Paris","zip":"75001","geo":{"lat":48.8}}}]` {
		t.Errorf("Find of an object and its path = %s", res)
	}
	if got := e.all("p")[0]; !strings.Contains(got, `"address":{"city":"Paris","zip":"75001","geo":{"lat":48.8}}`) {
		t.Errorf("the record changed: %s", got)
	}
}

// TestPathIndexPlans: the index on a path gives the same answers as a full
// scan through writes that move records between values, and $in on an
// array field (whose index holds no arrays) is never answered from it.
func TestPathIndexPlans(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"ix", "noix"} {
		def := peopleDef
		if name == "noix" {
			def = strings.Replace(peopleDef, `"indexes":["address.city","tags"],`, "", 1)
		}
		e.define(name, def)
	}
	cities := []string{"Paris", "Berlin", "Rome"}
	for i := range 60 {
		for _, b := range []string{"ix", "noix"} {
			js := fmt.Sprintf(`{"id":"k%02d","address":{"city":"%s","zip":"%05d"},"tags":["t%d","u"]}`, i, cities[i%3], i, i%4)
			if i%5 == 0 {
				js = fmt.Sprintf(`{"id":"k%02d","tags":"t%d"}`, i, i%4) // no address; tags not an array: refused
			}
			if _, err := e.s.Insert(nil, b, obj(t, js), engineInsertOptions()); err != nil && i%5 != 0 {
				t.Fatal(err)
			}
		}
	}
	for i := 1; i < 60; i += 7 {
		if i%5 == 0 {
			continue
		}
		for _, b := range []string{"ix", "noix"} {
			if _, err := e.s.Update(nil, b, fmt.Sprintf("k%02d", i), obj(t, `{"$set":{"address.city":"Oslo"}}`), -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range []string{
		`{"address.city":"Paris"}`, `{"address.city":{"$in":["Oslo","Rome"]}}`, `{"address.city":{"$gte":"Paris"}}`,
		`{"tags":{"$in":["t1","t3"]}}`, `{"tags":{"$in":["u"]},"address.city":"Rome"}`,
	} {
		a, err1 := e.s.Where(nil, "ix", flt(t, f))
		b, err2 := e.s.Where(nil, "noix", flt(t, f))
		if err1 != nil || err2 != nil || keys(a) != keys(b) || len(a) == 0 {
			t.Errorf("%s: with the index %s (%v), without %s (%v)", f, keys(a), err1, keys(b), err2)
		}
	}
}

// TestPathStrictErrors: a strict bucket refuses unknown nested fields in
// records and unknown paths in reads; a range on a nested field checks the
// operand's type in every bucket.
func TestPathStrictErrors(t *testing.T) {
	e := newEnv(t)
	e.define("s", `{"strict":true,`+peopleDef[1:])
	e.define("n", peopleDef)
	if _, err := e.s.Insert(nil, "s", obj(t, `{"id":"a","address":{"city":"P","street":"x"}}`), engineInsertOptions()); err == nil ||
		!strings.Contains(err.Error(), "address.street: Unknown field") {
		t.Errorf("strict insert with an unknown nested field: %v", err)
	}
	e.insert("s", `{"id":"a","address":{"city":"P"},"meta":{"any":{"thing":1}}}`)
	for _, tc := range []struct{ bucket, filter, want string }{
		{"s", `{"address.street":"x"}`, `invalid filter: unknown field "address.street": bucket "s" is strict`},
		{"s", `{"meta.any.thing":1}`, ``},
		{"s", `{"tags.0":"x"}`, ``},
		{"n", `{"address.street":"x"}`, ``},
		{"s", `{"address.geo.lat":{"$gt":"north"}}`, `invalid filter: $gt on "address.geo.lat" compares with a string, but the schema says "address.geo.lat" is a number`},
		{"n", `{"address.geo.lat":{"$gt":"north"}}`, `invalid filter: $gt on "address.geo.lat" compares with a string`},
		{"n", `{"address":{"$gt":1}}`, `the schema says "address" is an object, which has no order`},
	} {
		_, err := e.s.Where(nil, tc.bucket, flt(t, tc.filter))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %s: %v, want %q", tc.bucket, tc.filter, err, tc.want)
		}
	}
	if _, _, err := e.s.Aggregate(nil, "n", "sum", "address.city", nil); err == nil {
		t.Error("sum of a nested string field: no error")
	}
	if _, _, err := e.s.Aggregate(nil, "s", "max", "address.nope", nil); err == nil {
		t.Error("strict max of an unknown path: no error")
	}
}

func engineInsertOptions() engine.InsertOptions { return engine.InsertOptions{} }
