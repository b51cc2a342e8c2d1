package schema

import (
	"errors"
	"strings"
	"testing"

	"bucketd/jsonv"
)

// usersDef is the example definition of docs/commands.md, "Bucket definition".
const usersDef = `{
  "key": "id",
  "schema": {
    "id":    {"type": "string", "generated": "uuid"},
    "name":  {"type": "string", "required": true, "minLength": 1, "maxLength": 100},
    "email": {"type": "string", "format": "email", "unique": true},
    "age":   {"type": "number", "min": 0, "max": 150},
    "role":  {"type": "string", "enum": ["admin", "user", "guest"], "default": "user"},
    "tags":  {"type": "array", "default": []},
    "birth": {"type": "date"}
  },
  "indexes": ["role"],
  "ttl": "30m",
  "maxSize": 10000,
  "persistent": true,
  "ordered": false
}`

func mustParse(t testing.TB, s string) *Definition {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return d
}

func mustObject(t testing.TB, s string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(s))
	if err != nil {
		t.Fatalf("ParseObject(%s): %v", s, err)
	}
	return o
}

func TestParseExample(t *testing.T) {
	d := mustParse(t, usersDef)
	if d.Key != "id" || len(d.Fields) != 7 || d.TTL != 30*60*1000 || d.MaxSize != 10000 || !d.Persistent || d.Ordered {
		t.Fatalf("bad definition: %+v", d)
	}
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "id,name,email,age,role,tags,birth" {
		t.Errorf("field order %s", got)
	}
	if f := d.Field("age"); f == nil || *f.Min != 0 || *f.Max != 150 || f.Type != TypeNumber {
		t.Errorf("age: %+v", f)
	}
	if d.Field("nope") != nil {
		t.Error("Field(nope) != nil")
	}
	if !d.Field("id").Required || d.KeyField() != d.Field("id") {
		t.Error("key field not required")
	}
	if got := d.UniqueFields(); len(got) != 1 || got[0] != "email" {
		t.Errorf("UniqueFields = %v", got)
	}
	want := `{"key":"id","schema":{"id":{"type":"string","required":true,"generated":"uuid"},` +
		`"name":{"type":"string","required":true,"minLength":1,"maxLength":100},` +
		`"email":{"type":"string","unique":true,"format":"email"},"age":{"type":"number","min":0,"max":150},` +
		`"role":{"type":"string","enum":["admin","user","guest"],"default":"user"},"tags":{"type":"array","default":[]},` +
		`"birth":{"type":"date"}},"indexes":["role"],"ttl":1800000,"maxSize":10000,"persistent":true,"ordered":false}`
	if got := string(d.JSON()); got != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	d := mustParse(t, `{"key":"n","schema":{"n":{"type":"number"}}}`)
	if !d.Persistent || d.Ordered || d.TTL != 0 || d.MaxSize != 0 || d.Indexes != nil {
		t.Errorf("%+v", d)
	}
	if got := string(d.JSON()); got != `{"key":"n","schema":{"n":{"type":"number","required":true}},"indexes":[],"persistent":true,"ordered":false}` {
		t.Errorf("JSON %s", got)
	}
	d = mustParse(t, `{"key":"n","schema":{"n":{"type":"number"}},"ttl":null,"maxSize":null,"etsType":"ordered_set","persistent":false}`)
	if !d.Ordered || d.Persistent || d.TTL != 0 {
		t.Errorf("%+v", d)
	}
}

func TestJSONEquivalent(t *testing.T) {
	groups := [][]string{
		{
			`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","min":0}},"indexes":["a","id"],"ttl":"1h"}`,
			`{"ordered":false,"ttl":3600000,"persistent":true,"indexes":["a","id","a"],"schema":{"id":{"required":true,"type":"string"},"a":{"min":0.0,"type":"number","required":false,"unique":false}},"key":"id"}`,
			`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","min":-0}},"indexes":["a","id"],"ttl":"60m","etsType":"set"}`,
			`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","min":0}},"indexes":["a","id","id"],"ttl":"0.041666666666666664d"}`,
		},
		{
			`{"key":"id","schema":{"id":{"type":"number"},"e":{"type":"string","enum":["a","b","a"],"default":"b"}}}`,
			`{"key":"id","schema":{"id":{"type":"number"},"e":{"type":"string","default":"b","enum":["a","b"]}},"ordered":false}`,
		},
	}
	var prev string
	for gi, g := range groups {
		first := string(mustParse(t, g[0]).JSON())
		for _, s := range g[1:] {
			if got := string(mustParse(t, s).JSON()); got != first {
				t.Errorf("group %d: %s\n  gives %s\n  want  %s", gi, s, got, first)
			}
		}
		if first == prev {
			t.Errorf("group %d equals the previous one", gi)
		}
		prev = first
		// Round trip.
		again := mustParse(t, first)
		if string(again.JSON()) != first {
			t.Errorf("round trip changed %s to %s", first, again.JSON())
		}
	}
	// Different definitions differ.
	diff := []string{
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}}}`,
		`{"key":"id","schema":{"a":{"type":"number"},"id":{"type":"string"}}}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}},"ordered":true}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}},"persistent":false}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","unique":true}}}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","required":true}}}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}},"indexes":["a"]}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}},"ttl":1000}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number"}},"maxSize":5}`,
		`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"number","default":1}}}`,
		`{"key":"id","schema":{"id":{"type":"string","pattern":"^a"},"a":{"type":"number"}}}`,
	}
	seen := map[string]string{}
	for _, s := range diff {
		j := string(mustParse(t, s).JSON())
		if o, ok := seen[j]; ok {
			t.Errorf("%s and %s give the same JSON", o, s)
		}
		seen[j] = s
	}
}

func TestDefinitionErrors(t *testing.T) {
	f := func(props string) string {
		return `{"key":"id","schema":{"id":{"type":"string"},"x":` + props + `}}`
	}
	tests := []struct {
		def   string
		field string
		msg   string
	}{
		{`[]`, "", "expected a JSON object"},
		{`{"key":"id"`, "", "unexpected end of input"},
		{`{"schema":{"id":{"type":"string"}}}`, "", `invalid definition: "key" is required`},
		{`{"key":1,"schema":{"id":{"type":"string"}}}`, "", `invalid definition: "key" must be a string naming a schema field`},
		{`{"key":"id"}`, "", `invalid definition: "schema" is required`},
		{`{"key":"id","schema":{}}`, "", `invalid definition: "schema" must be a non-empty object of field definitions`},
		{`{"key":"id","schema":[]}`, "", `invalid definition: "schema" must be a non-empty object of field definitions`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"extra":1}`, "", `invalid definition: unknown key "extra" (expected one of: key, schema, indexes, ttl, maxSize, persistent, ordered, strict)`},
		{`{"key":"idx","schema":{"id":{"type":"string"}}}`, "idx", `invalid definition: key field "idx" is not in the schema`},
		{`{"key":"id","schema":{"id":{"type":"date"}}}`, "id", `invalid definition: key field "id" must have type "string" or "number", not "date"`},
		{`{"key":"id","schema":{"id":{"type":"boolean"}}}`, "id", `invalid definition: key field "id" must have type "string" or "number", not "boolean"`},
		{`{"key":"id","schema":{"id":{"type":"string","default":null}}}`, "id", `invalid definition: key field "id" cannot default to null`},
		{`{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string"}},"indexes":["rol"]}`, "rol", `invalid definition: index field "rol" is not in the schema`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"indexes":"id"}`, "", `invalid definition: "indexes" must be an array of field names`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"indexes":[1]}`, "", `invalid definition: "indexes" must be an array of field names`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"ttl":"5x"}`, "", `Invalid TTL format "5x". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"ttl":0}`, "", `Invalid TTL format "0". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"maxSize":0}`, "", `invalid definition: "maxSize" must be a positive integer`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"maxSize":1.5}`, "", `invalid definition: "maxSize" must be a positive integer`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"maxSize":"5"}`, "", `invalid definition: "maxSize" must be a positive integer`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"persistent":"yes"}`, "", `invalid definition: "persistent" must be a boolean`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"ordered":null}`, "", `invalid definition: "ordered" must be a boolean`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"etsType":"tree"}`, "", `invalid definition: "etsType" must be one of: set, ordered_set, bag, duplicate_bag`},
		{`{"key":"id","schema":{"id":{"type":"string"}},"etsType":"set","ordered":true}`, "", `invalid definition: "etsType" contradicts "ordered"`},
		{`{"key":"id","schema":{"id":{"type":"string"},"_version":{"type":"number"}}}`, "_version", `invalid definition: schema field "_version": the name is reserved for metadata`},
		{`{"key":"id","schema":{"id":{"type":"string"},"":{"type":"number"}}}`, "", `invalid definition: schema field "": the name must not be empty`},
		{`{"key":"id","schema":{"id":{"type":"string"},"a\nb":{"type":"number"}}}`, "a\nb", `invalid definition: schema field "a\nb": the name must not contain control characters`},
		{f(`"string"`), "x", `invalid definition: schema field "x": the field definition must be an object`},
		{f(`{}`), "x", `invalid definition: schema field "x": "type" is required`},
		{f(`{"type":"int"}`), "x", `invalid definition: schema field "x": unknown type "int" (expected string, number, boolean, object, array or date)`},
		{f(`{"type":3}`), "x", `invalid definition: schema field "x": "type" must be a string`},
		{f(`{"type":"string","minimum":3}`), "x", `invalid definition: schema field "x": unknown property "minimum" (expected one of: type, required, enum, default, generated, unique, min, max, minLength, maxLength, pattern, format, schema)`},
		{f(`{"type":"object","properties":{}}`), "x", `invalid definition: schema field "x": "properties" is not supported`},
		{f(`{"type":"array","items":{"type":"string"}}`), "x", `invalid definition: schema field "x": "items" is not supported`},
		{f(`{"type":"string","ref":"users"}`), "x", `invalid definition: schema field "x": "ref" is not supported`},
		{f(`{"type":"string","required":1}`), "x", `invalid definition: schema field "x": "required" must be a boolean`},
		{f(`{"type":"string","unique":"no"}`), "x", `invalid definition: schema field "x": "unique" must be a boolean`},
		{f(`{"type":"string","enum":[]}`), "x", `invalid definition: schema field "x": "enum" must be a non-empty array`},
		{f(`{"type":"string","enum":"a"}`), "x", `invalid definition: schema field "x": "enum" must be a non-empty array`},
		{f(`{"type":"string","enum":["a",null]}`), "x", `invalid definition: schema field "x": enum value null is not a string, number or boolean`},
		{f(`{"type":"string","enum":[["a"]]}`), "x", `invalid definition: schema field "x": enum value ["a"] is not a string, number or boolean`},
		{f(`{"type":"number","enum":[1,"2"]}`), "x", `invalid definition: schema field "x": enum value "2" is not of type "number"`},
		{f(`{"type":"date","enum":["yesterday"]}`), "x", `invalid definition: schema field "x": enum value "yesterday" is not of type "date"`},
		{f(`{"type":"string","enum":["admin","user"],"default":"x"}`), "x", `invalid definition: schema field "x": default "x" is not one of the enum values`},
		{f(`{"type":"number","min":0,"default":-1}`), "x", `invalid definition: schema field "x": default -1 is invalid: Minimum value is 0`},
		{f(`{"type":"number","default":"1"}`), "x", `invalid definition: schema field "x": default "1" is invalid: Expected type "number", got string`},
		{f(`{"type":"string","required":true,"default":null}`), "x", `invalid definition: schema field "x": default null is invalid: Field is required`},
		{f(`{"type":"string","pattern":"^a","default":"b"}`), "x", `invalid definition: schema field "x": default "b" is invalid: Value must match pattern "^a"`},
		{f(`{"type":"string","format":"email","default":"nope"}`), "x", `invalid definition: schema field "x": default "nope" is invalid: Invalid email format`},
		{f(`{"type":"string","generated":"uuid","default":"a"}`), "x", `invalid definition: schema field "x": "default" and "generated" cannot be combined`},
		{f(`{"type":"string","generated":"serial"}`), "x", `invalid definition: schema field "x": "generated" must be one of: uuid, cuid, autoincrement, timestamp`},
		{f(`{"type":"number","generated":"uuid"}`), "x", `invalid definition: schema field "x": generated "uuid" needs type "string", not "number"`},
		{f(`{"type":"number","generated":"cuid"}`), "x", `invalid definition: schema field "x": generated "cuid" needs type "string", not "number"`},
		{f(`{"type":"string","generated":"autoincrement"}`), "x", `invalid definition: schema field "x": generated "autoincrement" needs type "number", not "string"`},
		{f(`{"type":"date","generated":"autoincrement"}`), "x", `invalid definition: schema field "x": generated "autoincrement" needs type "number", not "date"`},
		{f(`{"type":"string","generated":"timestamp"}`), "x", `invalid definition: schema field "x": generated "timestamp" needs type "number" or "date", not "string"`},
		{f(`{"type":"number","min":"0"}`), "x", `invalid definition: schema field "x": "min" must be a number`},
		{f(`{"type":"number","max":null}`), "x", `invalid definition: schema field "x": "max" must be a number`},
		{f(`{"type":"number","min":5,"max":1}`), "x", `invalid definition: schema field "x": "min" (5) is greater than "max" (1)`},
		{f(`{"type":"string","min":1}`), "x", `invalid definition: schema field "x": "min" applies only to "number" and "date" fields`},
		{f(`{"type":"string","minLength":-1}`), "x", `invalid definition: schema field "x": "minLength" must be a non-negative integer`},
		{f(`{"type":"string","maxLength":2.5}`), "x", `invalid definition: schema field "x": "maxLength" must be a non-negative integer`},
		{f(`{"type":"string","minLength":3,"maxLength":2}`), "x", `invalid definition: schema field "x": "minLength" is greater than "maxLength"`},
		{f(`{"type":"array","minLength":1}`), "x", `invalid definition: schema field "x": "minLength" applies only to "string" and "date" fields`},
		{f(`{"type":"string","pattern":"(a"}`), "x", "invalid definition: schema field \"x\": invalid pattern \"(a\": error parsing regexp: missing closing ): `(a`"},
		{f(`{"type":"string","pattern":"(?=a)"}`), "x", "invalid definition: schema field \"x\": invalid pattern \"(?=a)\": error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
		{f(`{"type":"string","pattern":1}`), "x", `invalid definition: schema field "x": "pattern" must be a string`},
		{f(`{"type":"number","pattern":"a"}`), "x", `invalid definition: schema field "x": "pattern" applies only to "string" and "date" fields`},
		{f(`{"type":"string","format":"phone"}`), "x", `invalid definition: schema field "x": "format" must be one of: email, url, iso-date`},
		{f(`{"type":"boolean","format":"email"}`), "x", `invalid definition: schema field "x": "format" applies only to "string" and "date" fields`},
	}
	for _, tt := range tests {
		d, err := Parse([]byte(tt.def))
		if err == nil {
			t.Errorf("Parse(%s) = %s, want error", tt.def, d.JSON())
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("Parse(%s)\n error %s\n want  %s", tt.def, err, tt.msg)
		}
		var de *DefinitionError
		if errors.As(err, &de) {
			if de.Field != tt.field {
				t.Errorf("Parse(%s): Field = %q, want %q", tt.def, de.Field, tt.field)
			}
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Errorf("Parse(%s): not ErrInvalidDefinition", tt.def)
			}
		} else if strings.HasPrefix(tt.msg, "Invalid TTL") != errors.Is(err, ErrInvalidTTL) {
			t.Errorf("Parse(%s): error %T", tt.def, err)
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Parse(%s): multi-line error %q", tt.def, err)
		}
	}
	var se *jsonv.SyntaxError
	if _, err := Parse([]byte(`{`)); !errors.As(err, &se) {
		t.Errorf("syntax error is %T", err)
	}
}

func TestParseAccepts(t *testing.T) {
	f := func(props string) string {
		return `{"key":"id","schema":{"id":{"type":"string"},"x":` + props + `}}`
	}
	for _, def := range []string{
		f(`{"type":"date","generated":"timestamp"}`),
		f(`{"type":"number","generated":"timestamp"}`),
		f(`{"type":"number","generated":"autoincrement","unique":true}`),
		f(`{"type":"string","generated":"cuid"}`),
		f(`{"type":"date","min":0,"minLength":10,"pattern":"^2","format":"iso-date"}`),
		f(`{"type":"boolean","enum":[true],"default":true}`),
		f(`{"type":"number","enum":[1,2.5],"default":2.5,"min":1,"max":1e3}`),
		f(`{"type":"string","default":null}`),
		f(`{"type":"object","default":{"a":[1,{"b":null}]}}`),
		f(`{"type":"date","default":"2024-02-29T12:00:00Z"}`),
		f(`{"type":"date","default":0}`),
		f(`{"type":"string","minLength":0,"maxLength":0,"default":""}`),
		f(`{"type":"string","pattern":"\\p{L}+","default":"žluť"}`),
		`{"key":"_id","schema":{"_id":{"type":"number"}}}`,
	} {
		if _, err := Parse([]byte(def)); err != nil {
			t.Errorf("Parse(%s): %v", def, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	num := mustParse(t, `{"key":"id","schema":{"id":{"type":"number"}}}`)
	str := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"}}}`)
	for _, tt := range []struct {
		arg string
		n   float64
	}{{"3", 3}, {"-3", -3}, {"3.5", 3.5}, {"1e3", 1000}, {"1E+3", 1000}, {"2.5e-1", 0.25}, {"0", 0}, {"-0", 0}, {"9007199254740993", 9007199254740992}} {
		v, err := num.ParseKey(tt.arg)
		if err != nil || v != tt.n {
			t.Errorf("ParseKey(%q) = %v, %v; want %v", tt.arg, v, err, tt.n)
		}
	}
	if v, _ := num.ParseKey("-0"); v.(float64) != 0 || 1/v.(float64) < 0 {
		t.Error("-0 not normalised")
	}
	for _, arg := range []string{"", " 3", "3 ", "+3", "03", "0x10", "NaN", "Infinity", "-Infinity", "1e999", "3.", ".5", "1e", "1e+", "-", "abc", "1_000"} {
		_, err := num.ParseKey(arg)
		if err == nil {
			t.Errorf("ParseKey(%q) succeeded", arg)
			continue
		}
		want := `invalid key "` + arg + `": the key field "id" is a number`
		if err.Error() != want || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParseKey(%q): %v", arg, err)
		}
	}
	if _, err := num.ParseKey("a\r\nb"); err == nil || strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("control characters: %q", err)
	}
	for _, arg := range []string{"", "3", "abc", " x "} {
		if v, err := str.ParseKey(arg); err != nil || v != arg {
			t.Errorf("string ParseKey(%q) = %v, %v", arg, v, err)
		}
	}
}

type fakeIDs struct{ n int }

func (g *fakeIDs) UUID() string { g.n++; return "uuid-" + string(rune('0'+g.n)) }
func (g *fakeIDs) CUID() string { g.n++; return "cuid-" + string(rune('0'+g.n)) }

func TestFill(t *testing.T) {
	d := mustParse(t, `{"key":"id","schema":{
		"id":{"type":"number","generated":"autoincrement"},
		"u":{"type":"string","generated":"uuid"},
		"c":{"type":"string","generated":"cuid"},
		"seq":{"type":"number","generated":"autoincrement"},
		"at":{"type":"date","generated":"timestamp"},
		"tags":{"type":"array","default":["a",{"b":[1]}]},
		"role":{"type":"string","default":"user"},
		"n":{"type":"number","default":null},
		"plain":{"type":"string"}}}`)
	if !d.NeedsFill() {
		t.Fatal("NeedsFill false")
	}
	gen := &fakeIDs{}
	o := mustObject(t, `{"extra":1}`)
	c := d.Fill(o, 41, 1700000000000, gen)
	if c != 43 {
		t.Errorf("counter %d, want 43", c)
	}
	want := `{"extra":1,"id":42,"u":"uuid-1","c":"cuid-2","seq":43,"at":1700000000000,"tags":["a",{"b":[1]}],"role":"user","n":null}`
	if got := string(jsonv.Marshal(o)); got != want {
		t.Errorf("Fill\n got %s\nwant %s", got, want)
	}
	if iss := d.Validate(o); iss != nil {
		t.Errorf("filled record invalid: %v", iss)
	}

	// Present values, null included, are kept; the counter does not move
	// for a supplied autoincrement field.
	o2 := mustObject(t, `{"id":7,"u":null,"seq":8,"tags":[],"role":"admin","n":5,"at":1}`)
	if c := d.Fill(o2, 10, 5, gen); c != 10 {
		t.Errorf("counter %d, want 10", c)
	}
	if got := string(jsonv.Marshal(o2)); got != `{"id":7,"u":null,"seq":8,"tags":[],"role":"admin","n":5,"at":1,"c":"cuid-3"}` {
		t.Errorf("Fill kept: %s", got)
	}

	// Defaults are fresh copies.
	a := jsonv.NewObject(0)
	d.Fill(a, 0, 0, gen)
	tags, _ := a.Get("tags")
	tags.([]jsonv.Value)[0] = "changed"
	tags.([]jsonv.Value)[1].(*jsonv.Object).Set("b", "changed")
	b := jsonv.NewObject(0)
	d.Fill(b, 0, 0, gen)
	if got, _ := b.Get("tags"); string(jsonv.Marshal(got)) != `["a",{"b":[1]}]` {
		t.Errorf("default shared: %s", jsonv.Marshal(got))
	}
	if string(jsonv.Marshal(d.Field("tags").Default)) != `["a",{"b":[1]}]` {
		t.Error("definition default modified")
	}

	// Default generator.
	d2 := mustParse(t, `{"key":"id","schema":{"id":{"type":"string","generated":"uuid"},"c":{"type":"string","generated":"cuid"}}}`)
	o3 := jsonv.NewObject(0)
	d2.Fill(o3, 0, 0, nil)
	id, _ := o3.Get("id")
	cu, _ := o3.Get("c")
	if s := id.(string); len(s) != 36 || s[14] != '4' || strings.ToLower(s) != s {
		t.Errorf("uuid %q", s)
	}
	if s := cu.(string); len(s) != 33 || s[0] != 'c' || strings.Trim(s[1:], "0123456789abcdef") != "" {
		t.Errorf("cuid %q", s)
	}
	o4 := jsonv.NewObject(0)
	d2.Fill(o4, 0, 0, nil)
	if id2, _ := o4.Get("id"); id2 == id {
		t.Error("uuid repeated")
	}

	// Nothing to fill.
	d3 := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"}}}`)
	o5 := jsonv.NewObject(0)
	if d3.NeedsFill() || d3.Fill(o5, 3, 0, nil) != 3 || o5.Len() != 0 {
		t.Error("Fill changed a record without generated fields")
	}
}

func TestCanonical(t *testing.T) {
	d := mustParse(t, `{"key":"id","schema":{"a":{"type":"number"},"b":{"type":"string"},"id":{"type":"string"},"c":{"type":"boolean"}}}`)
	for _, tt := range []struct{ in, want string }{
		{`{"z":1,"c":true,"_version":3,"b":"x","id":"k","y":2,"a":1,"_createdAt":1,"_updatedAt":2,"_expiresAt":3}`,
			`{"id":"k","a":1,"b":"x","c":true,"z":1,"y":2}`},
		{`{}`, `{}`},
		{`{"b":"x","q":null}`, `{"b":"x","q":null}`},
		{`{"id":"k","a":1,"b":"x","c":true}`, `{"id":"k","a":1,"b":"x","c":true}`},
	} {
		in := mustObject(t, tt.in)
		before := string(jsonv.Marshal(in))
		got := d.Canonical(in)
		if s := string(jsonv.Marshal(got)); s != tt.want {
			t.Errorf("Canonical(%s) = %s, want %s", tt.in, s, tt.want)
		}
		if string(jsonv.Marshal(in)) != before {
			t.Errorf("Canonical modified its input")
		}
	}
	for _, name := range []string{"_version", "_createdAt", "_updatedAt", "_expiresAt"} {
		if !IsMeta(name) {
			t.Errorf("IsMeta(%s) false", name)
		}
	}
	for _, name := range []string{"_id", "version", "_Version", ""} {
		if IsMeta(name) {
			t.Errorf("IsMeta(%s) true", name)
		}
	}
}

func TestAlter(t *testing.T) {
	d := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string"}},"indexes":["role"],"ttl":"1m"}`)
	before := string(d.JSON())
	n, err := d.Alter([]byte(`{"addFields":{"age":{"type":"number","min":0},"tags":{"type":"array","default":[]}},"addIndexes":["age","role"],"ttl":"1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(d.JSON()) != before || d.Field("age") != nil || len(d.Fields) != 2 {
		t.Error("Alter changed the original")
	}
	want := `{"key":"id","schema":{"id":{"type":"string","required":true},"role":{"type":"string"},"age":{"type":"number","min":0},"tags":{"type":"array","default":[]}},"indexes":["role","age"],"ttl":3600000,"persistent":true,"ordered":false}`
	if got := string(n.JSON()); got != want {
		t.Errorf("Alter\n got %s\nwant %s", got, want)
	}
	if n.Field("age") == nil || !n.NeedsFill() || n.KeyField().Name != "id" {
		t.Error("altered definition incomplete")
	}
	if got := n.Validate(mustObject(t, `{"id":"a","age":-1}`)); len(got) != 1 || got[0].Code != CodeMin {
		t.Errorf("altered validation: %v", got)
	}
	// ttl null removes it; ttl absent keeps it; empty changes are fine.
	if n2, err := n.Alter([]byte(`{"ttl":null}`)); err != nil || n2.TTL != 0 {
		t.Errorf("ttl null: %v %v", n2, err)
	}
	if n2, err := n.Alter([]byte(`{}`)); err != nil || string(n2.JSON()) != string(n.JSON()) {
		t.Errorf("empty alter: %v", err)
	}

	for _, tt := range []struct{ changes, field, msg string }{
		{`{"addFields":{"role":{"type":"string"}}}`, "role", `invalid changes: field "role" already exists in the schema`},
		{`{"addFields":{"x":{"type":"int"}}}`, "x", `invalid changes: schema field "x": unknown type "int" (expected string, number, boolean, object, array or date)`},
		{`{"addFields":{"_version":{"type":"number"}}}`, "_version", `invalid changes: schema field "_version": the name is reserved for metadata`},
		{`{"addFields":[]}`, "", `invalid changes: "addFields" must be an object of field definitions`},
		{`{"addIndexes":["nope"]}`, "nope", `invalid changes: index field "nope" is not in the schema`},
		{`{"addIndexes":"role"}`, "", `invalid changes: "addIndexes" must be an array of field names`},
		{`{"addIndexes":[true]}`, "", `invalid changes: "addIndexes" must be an array of field names`},
		{`{"removeFields":["role"]}`, "", `invalid changes: unknown key "removeFields" (expected one of: addFields, addIndexes, ttl)`},
		{`{"ttl":"soon"}`, "", `Invalid TTL format "soon". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`},
		{`[1]`, "", `expected a JSON object`},
	} {
		_, err := d.Alter([]byte(tt.changes))
		if err == nil {
			t.Errorf("Alter(%s) succeeded", tt.changes)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("Alter(%s)\n error %v\n want  %s", tt.changes, err, tt.msg)
		}
		var de *DefinitionError
		if errors.As(err, &de) && (de.Field != tt.field || !de.Alter || !errors.Is(err, ErrInvalidDefinition)) {
			t.Errorf("Alter(%s): %+v", tt.changes, de)
		}
	}
	if string(d.JSON()) != before {
		t.Error("failed Alter changed the original")
	}
}

func TestAlterKeyCopy(t *testing.T) {
	// The key field is marked required on a copy; altering must not touch
	// the shared Field of the original definition.
	d := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"}}}`)
	n, err := d.Alter([]byte(`{"addFields":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if n.Fields[0] != d.Fields[0] || n.KeyField() != n.Fields[0] || !n.KeyField().Required {
		t.Error("key field not shared or not required")
	}
}
