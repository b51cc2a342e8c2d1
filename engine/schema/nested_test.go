package schema

import (
	"strings"
	"testing"

	"bucketd/jsonv"
)

const nestedDef = `{"key":"id","indexes":["address.city"],"schema":{
  "id":{"type":"string"},
  "address":{"type":"object","required":true,"schema":{
    "city":{"type":"string","required":true},
    "zip":{"type":"string","pattern":"^[0-9]{5}$"},
    "geo":{"type":"object","schema":{"lat":{"type":"number","min":-90,"max":90}}}}},
  "meta":{"type":"object"},
  "tags":{"type":"array"}}}`

// TestNestedParse: a nested schema parses, round-trips through the
// canonical JSON, and its fields are found by path.
func TestNestedParse(t *testing.T) {
	d, err := Parse([]byte(nestedDef))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(d.JSON())
	if err != nil {
		t.Fatalf("canonical JSON does not parse: %v\n%s", err, d.JSON())
	}
	if string(again.JSON()) != string(d.JSON()) {
		t.Fatalf("canonical JSON changes on a round trip:\n%s\n%s", d.JSON(), again.JSON())
	}
	if !strings.Contains(string(d.JSON()), `"address":{"type":"object","required":true,"schema":{"city":{"type":"string","required":true}`) {
		t.Errorf("canonical JSON: %s", d.JSON())
	}
	for _, tc := range []struct {
		name  string
		typ   Type // "" when no field
		known bool
	}{
		{"address", TypeObject, true},
		{"address.city", TypeString, true},
		{"address.geo.lat", TypeNumber, true},
		{"address.nope", "", false},
		{"address.geo.nope", "", false},
		{"meta.anything.deep", "", true}, // an object without a nested schema
		{"tags.0", "", true},             // into an array
		{"nope.x", "", false},
		{"_version", "", true},
	} {
		f := d.Field(tc.name)
		if (f == nil) != (tc.typ == "") || (f != nil && f.Type != tc.typ) {
			t.Errorf("Field(%q) = %+v, want type %q", tc.name, f, tc.typ)
		}
		if got := d.Known(tc.name); got != tc.known {
			t.Errorf("Known(%q) = %v, want %v", tc.name, got, tc.known)
		}
	}
}

// TestNestedDefinitionErrors: what nested schemas refuse, each with a
// message naming the field by its path.
func TestNestedDefinitionErrors(t *testing.T) {
	for _, tc := range []struct{ schema, want string }{
		{`{"a":{"type":"string","schema":{"b":{"type":"string"}}}}`, `schema field "a": "schema" applies only to "object" fields`},
		{`{"a":{"type":"object","schema":{}}}`, `schema field "a": "schema" must be a non-empty object of field definitions`},
		{`{"a":{"type":"object","schema":[1]}}`, `schema field "a": "schema" must be a non-empty object of field definitions`},
		{`{"a":{"type":"object","schema":{"b":{"type":"nope"}}}}`, `schema field "a.b": unknown type "nope"`},
		{`{"a":{"type":"object","schema":{"b.c":{"type":"string"}}}}`, `schema field "a.b.c": a nested field's name must not contain '.'`},
		{`{"a":{"type":"object","schema":{"":{"type":"string"}}}}`, `schema field "a.": the name must not be empty`},
		{`{"a":{"type":"object","schema":{"b":{"type":"string","unique":true}}}}`, `schema field "a.b": "unique" is not supported in a nested schema`},
		{`{"a":{"type":"object","schema":{"b":{"type":"string","generated":"uuid"}}}}`, `schema field "a.b": "generated" is not supported in a nested schema`},
		{`{"a":{"type":"object","schema":{"b":{"type":"string","default":"x"}}}}`, `schema field "a.b": "default" is not supported in a nested schema`},
		{`{"a":{"type":"object","schema":{"b":{"type":"object","schema":{"c":{"type":"number","min":"x"}}}}}}`, `schema field "a.b.c": "min" must be a number`},
	} {
		_, err := Parse([]byte(`{"key":"id","schema":{"id":{"type":"string"},` + tc.schema[1:] + `}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.schema, err, tc.want)
		}
	}
	if _, err := Parse([]byte(`{"key":"id","indexes":["a.nope"],"schema":{"id":{"type":"string"},"a":{"type":"object","schema":{"b":{"type":"string"}}}}}`)); err == nil ||
		!strings.Contains(err.Error(), `index field "a.nope" is not in the schema`) {
		t.Errorf("an index on an undeclared path: %v", err)
	}
}

// TestNestedValidate: nested fields are validated as top-level ones are,
// issues naming them by path; strict refuses unknown nested keys.
func TestNestedValidate(t *testing.T) {
	for _, strict := range []bool{false, true} {
		def := nestedDef
		if strict {
			def = `{"strict":true,` + def[1:]
		}
		d, err := Parse([]byte(def))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			rec, want, wantStrict string // issues as field:code, space-separated
		}{
			{`{"id":"a","address":{"city":"Paris"}}`, "", ""},
			{`{"id":"a"}`, "address:required", "address:required"},
			{`{"id":"a","address":{}}`, "address.city:required", "address.city:required"},
			{`{"id":"a","address":{"city":1}}`, "address.city:type", "address.city:type"},
			{`{"id":"a","address":{"city":"P","zip":"1"}}`, "address.zip:pattern", "address.zip:pattern"},
			{`{"id":"a","address":{"city":"P","geo":{"lat":100}}}`, "address.geo.lat:max", "address.geo.lat:max"},
			{`{"id":"a","address":{"city":"P","geo":null}}`, "", ""},
			{`{"id":"a","address":{"city":"P","x":1}}`, "", "address.x:unknown"},
			{`{"id":"a","address":{"city":"P","geo":{"lat":1,"y":2}}}`, "", "address.geo.y:unknown"},
			{`{"id":"a","address":{"city":"P"},"meta":{"free":{"deep":1}}}`, "", ""},
			{`{"id":"a","address":"Paris"}`, "address:type", "address:type"},
		} {
			obj, err := jsonv.ParseObject([]byte(tc.rec))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, iss := range d.Validate(obj) {
				got = append(got, iss.Field+":"+iss.Code)
			}
			want := tc.want
			if strict {
				want = tc.wantStrict
			}
			if strings.Join(got, " ") != want {
				t.Errorf("strict=%v %s: issues %v, want %q", strict, tc.rec, got, want)
			}
		}
	}
}
