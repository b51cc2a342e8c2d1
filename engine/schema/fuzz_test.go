package schema

import (
	"bytes"
	"strings"
	"testing"

	"bucketd/jsonv"
)

var defSeeds = []string{
	usersDef,
	`{"key":"n","schema":{"n":{"type":"number","generated":"autoincrement"}},"ordered":true}`,
	`{"key":"id","schema":{"id":{"type":"string"},"d":{"type":"date","min":0,"format":"iso-date","pattern":"^2"},"u":{"type":"string","format":"url"}}}`,
	`{"key":"id","schema":{"id":{"type":"string","generated":"cuid"},"o":{"type":"object","default":{"a":[1,2]}},"b":{"type":"boolean","enum":[true]}},"ttl":1500,"maxSize":3,"persistent":false,"etsType":"ordered_set"}`,
	`{"key":"id","schema":{"id":{"type":"string"}},"indexes":["id","id"],"ttl":"1.5h"}`,
	`{"key":"k","schema":{"k":{"type":"number","enum":[1,2,3],"default":2}}}`,
	`{"key":"id","schema":{"id":{"type":"int"}}}`,
	`{"key":"x","schema":{"id":{"type":"string"}}}`,
	`{"key":"id","strict":true,"indexes":["a.b"],"schema":{"id":{"type":"string"},"a":{"type":"object","required":true,"schema":{"b":{"type":"string","pattern":"^x"},"c":{"type":"object","schema":{"d":{"type":"number","max":3}}}}}}}`,
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("multi-line error %q", err)
	}
}

func FuzzParseDefinition(f *testing.F) {
	for _, s := range defSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		oneLine(t, err)
		if err != nil {
			return
		}
		j := d.JSON()
		d2, err := Parse(j)
		if err != nil {
			t.Fatalf("JSON() %s does not parse: %v", j, err)
		}
		if j2 := d2.JSON(); !bytes.Equal(j, j2) {
			t.Fatalf("JSON() not stable:\n%s\n%s", j, j2)
		}
		if d.KeyField() == nil || d.Field(d.Key) != d.KeyField() || !d.KeyField().Required {
			t.Fatal("bad key field")
		}
		// A record filled from defaults and generators must not panic
		// anywhere, and a default-only record passes the checks of the
		// filled fields.
		obj := jsonv.NewObject(0)
		d.Fill(obj, 0, 1700000000000, constIDs{})
		iss := d.Validate(obj)
		for _, i := range iss {
			if f := d.Field(i.Field); f != nil && f.HasDefault {
				t.Fatalf("default of %q fails: %v", i.Field, i)
			}
		}
		_ = FormatIssues("b", iss)
		d.Canonical(obj)
		if _, err := d.Alter([]byte(`{"addIndexes":[` + string(jsonv.Marshal(d.Key)) + `],"ttl":null}`)); err != nil {
			t.Fatalf("Alter: %v", err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	recs := []string{
		`{"id":"k","name":"Ann","email":"a@b.co","age":3,"role":"user","tags":[],"birth":"2024-02-29"}`,
		`{"name":null,"age":-1,"email":"x","birth":"2024-02-30T10:00:00Z","role":"r","zzz":[1,{"a":null}]}`,
		`{"n":1,"d":"2024-01-01T00:00:00.5+01:00","u":"http://[::1]:80/"}`,
		`{"id":1,"o":[],"b":"true","_version":1,"_expiresAt":2}`,
		`[]`, `{}`, `{"k":"😀"}`,
	}
	for i, r := range recs {
		f.Add([]byte(defSeeds[i%len(defSeeds)]), []byte(r))
	}
	f.Add([]byte(defSeeds[len(defSeeds)-1]), []byte(`{"id":"x","a":{"b":"xy","c":{"d":5,"e":1},"z":1}}`))
	f.Fuzz(func(t *testing.T, def, rec []byte) {
		d, err := Parse(def)
		if err != nil {
			d = mustParse(t, usersDef)
		}
		v, err := jsonv.Parse(rec)
		if err != nil {
			return
		}
		obj, ok := v.(*jsonv.Object)
		if !ok {
			return
		}
		iss := d.Validate(obj)
		// Issues name schema fields, in schema order.
		last := -1
		for _, i := range iss {
			p := -1
			for j, f := range d.Fields {
				if f.Name == i.Field {
					p = j
				}
			}
			if p < last {
				t.Fatalf("issues out of order: %v", iss)
			}
			last = p
			if i.Code == "" || i.Message == "" {
				t.Fatalf("empty issue %v", i)
			}
		}
		if s := FormatIssues("b", iss); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("multi-line %q", s)
		}
		// Field order does not change the outcome.
		c := d.Canonical(obj)
		if got, want := issuesText(d.Validate(c)), issuesText(iss); got != want {
			t.Fatalf("canonical order changes issues:\n%s\n%s", got, want)
		}
		for _, k := range c.Keys {
			if IsMeta(k) {
				t.Fatalf("Canonical kept %s", k)
			}
		}
		before := d.Fill(obj, 5, 0, constIDs{})
		if before < 5 {
			t.Fatal("counter went back")
		}
		for _, k := range []string{"", "0", "-1.5", "x", "1e400"} {
			_, err := d.ParseKey(k)
			oneLine(t, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "5m", "1.5h", "7d", "30 s", "0s", "1e3", "5000", "-1", `"1h"`, "null", "0.0001s", "99999999999999999999d", "1\u00a0d"} {
		f.Add(s)
	}
	check := func(t *testing.T, ms int64, err error) {
		t.Helper()
		oneLine(t, err)
		if err == nil && (ms < 1 || ms > 1<<53) {
			t.Fatalf("duration %d out of range", ms)
		}
		if err != nil && !strings.HasPrefix(err.Error(), `Invalid TTL format "`) {
			t.Fatalf("error %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseDuration(s)
		check(t, ms, err)
		ms2, err2 := ParseDurationArg(s)
		check(t, ms2, err2)
		if err == nil && (err2 != nil || ms2 != ms) {
			t.Fatalf("ParseDurationArg(%q) = %d, %v; ParseDuration = %d", s, ms2, err2, ms)
		}
		if v, err := jsonv.Parse([]byte(s)); err == nil {
			ms, err := ParseDuration(v)
			check(t, ms, err)
		}
	})
}
