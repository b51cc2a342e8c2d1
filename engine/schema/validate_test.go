package schema

import (
	"errors"
	"math"
	"strings"
	"testing"

	"bucketd/jsonv"
)

// issuesText renders issues as "field/code/message; …" for comparison.
func issuesText(iss []Issue) string {
	var parts []string
	for _, i := range iss {
		parts = append(parts, i.Field+"/"+i.Code+"/"+i.Message)
	}
	return strings.Join(parts, "; ")
}

func TestValidateTypes(t *testing.T) {
	values := map[string]string{
		"string": `"s"`, "number": `1.5`, "boolean": `false`, "object": `{"a":1}`, "array": `[1]`,
		"dateStr": `"2024-01-15"`, "dateNum": `1700000000000`, "badDate": `"2024-02-30"`, "null": `null`,
	}
	gotName := map[string]string{
		"string": "string", "number": "number", "boolean": "boolean", "object": "object", "array": "array",
		"dateStr": "string", "dateNum": "number", "badDate": "string",
	}
	accepts := map[Type][]string{
		TypeString:  {"string", "dateStr", "badDate"},
		TypeNumber:  {"number", "dateNum"},
		TypeBoolean: {"boolean"},
		TypeObject:  {"object"},
		TypeArray:   {"array"},
		TypeDate:    {"dateStr", "dateNum", "number"},
	}
	for typ, ok := range accepts {
		d := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"},"f":{"type":"`+string(typ)+`"}}}`)
		for name, text := range values {
			iss := d.Validate(mustObject(t, `{"id":"k","f":`+text+`}`))
			want := ""
			if name != "null" && !contains(ok, name) {
				want = `f/type/Expected type "` + string(typ) + `", got ` + gotName[name]
			}
			if got := issuesText(iss); got != want {
				t.Errorf("type %s, value %s: %q, want %q", typ, text, got, want)
			}
		}
		// Absent is fine too.
		if iss := d.Validate(mustObject(t, `{"id":"k"}`)); iss != nil {
			t.Errorf("type %s absent: %v", typ, iss)
		}
	}
	// Values that cannot come from JSON are still rejected.
	d := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"},"d":{"type":"date"},"o":{"type":"object"}}}`)
	for _, v := range []jsonv.Value{math.NaN(), math.Inf(1), math.Inf(-1)} {
		o := jsonv.NewObject(3)
		o.Set("id", "k")
		o.Set("n", v)
		o.Set("d", v)
		if got := issuesText(d.Validate(o)); got != `n/type/Expected type "number", got number; d/type/Expected type "date", got number` {
			t.Errorf("%v: %s", v, got)
		}
	}
	o := jsonv.NewObject(2)
	o.Set("id", "k")
	o.Set("o", (*jsonv.Object)(nil))
	if got := issuesText(d.Validate(o)); got != `o/type/Expected type "object", got object` {
		t.Errorf("nil object: %s", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestValidateConstraints(t *testing.T) {
	tests := []struct {
		field, value, want string
	}{
		// required
		{`{"type":"string","required":true}`, ``, `f/required/Field is required`},
		{`{"type":"string","required":true}`, `null`, `f/required/Field is required`},
		{`{"type":"string","required":true}`, `""`, ``},
		{`{"type":"string","required":true,"minLength":3}`, `null`, `f/required/Field is required`},
		{`{"type":"number","min":5}`, `null`, ``},
		// type stops the other checks
		{`{"type":"string","minLength":5,"enum":["a"],"pattern":"x"}`, `1`, `f/type/Expected type "string", got number`},
		// enum
		{`{"type":"string","enum":["a","b"]}`, `"a"`, ``},
		{`{"type":"string","enum":["a","b"]}`, `"c"`, `f/enum/Value must be one of: a, b`},
		{`{"type":"number","enum":[1,2.5,1e21]}`, `3`, `f/enum/Value must be one of: 1, 2.5, 1e+21`},
		{`{"type":"number","enum":[0]}`, `-0`, ``},
		{`{"type":"boolean","enum":[true]}`, `false`, `f/enum/Value must be one of: true`},
		{`{"type":"date","enum":[0,"2024-01-01"]}`, `"2024-01-02"`, `f/enum/Value must be one of: 0, 2024-01-01`},
		// lengths in code points
		{`{"type":"string","minLength":2}`, `"a"`, `f/minLength/Minimum length is 2`},
		{`{"type":"string","minLength":2}`, `"ab"`, ``},
		{`{"type":"string","maxLength":2}`, `"abc"`, `f/maxLength/Maximum length is 2`},
		{`{"type":"string","maxLength":2}`, `"žé"`, ``},
		{`{"type":"string","maxLength":1}`, `"😀"`, ``},
		{`{"type":"string","minLength":2}`, `"😀"`, `f/minLength/Minimum length is 2`},
		{`{"type":"string","minLength":0,"maxLength":0}`, `""`, ``},
		// pattern, unanchored
		{`{"type":"string","pattern":"^[a-z]+$"}`, `"abc"`, ``},
		{`{"type":"string","pattern":"^[a-z]+$"}`, `"aBc"`, `f/pattern/Value must match pattern "^[a-z]+$"`},
		{`{"type":"string","pattern":"b"}`, `"abc"`, ``},
		// format
		{`{"type":"string","format":"email"}`, `"a@b.co"`, ``},
		{`{"type":"string","format":"email"}`, `"a@b"`, `f/format/Invalid email format`},
		{`{"type":"string","format":"url"}`, `"https://x.io/p?q#f"`, ``},
		{`{"type":"string","format":"url"}`, `"x.io"`, `f/format/Invalid url format`},
		{`{"type":"string","format":"iso-date"}`, `"2024-02-29"`, ``},
		{`{"type":"string","format":"iso-date"}`, `"2024-02-30"`, `f/format/Invalid iso-date format`},
		// min / max inclusive
		{`{"type":"number","min":0,"max":150}`, `0`, ``},
		{`{"type":"number","min":0,"max":150}`, `150`, ``},
		{`{"type":"number","min":0,"max":150}`, `-1`, `f/min/Minimum value is 0`},
		{`{"type":"number","min":0,"max":150}`, `150.5`, `f/max/Maximum value is 150`},
		{`{"type":"number","min":0.5,"max":1e21}`, `0.25`, `f/min/Minimum value is 0.5`},
		{`{"type":"number","max":1e21}`, `2e21`, `f/max/Maximum value is 1e+21`},
		{`{"type":"number","min":-2.5}`, `-3`, `f/min/Minimum value is -2.5`},
		// date fields take string checks for strings and number checks for numbers
		{`{"type":"date","min":0,"minLength":20}`, `-5`, `f/min/Minimum value is 0`},
		{`{"type":"date","min":0,"minLength":20}`, `"2024-01-01"`, `f/minLength/Minimum length is 20`},
		{`{"type":"date","format":"iso-date"}`, `"2024-01-01T10:00"`, `f/format/Invalid iso-date format`},
		{`{"type":"date","format":"iso-date"}`, `"2024-01-01T10:00:00Z"`, ``},
		// several issues on one field, in order: enum, minLength, maxLength, pattern, format
		{`{"type":"string","enum":["abcdefgh@x.io"],"minLength":5,"pattern":"^z","format":"email"}`, `"ab"`,
			`f/enum/Value must be one of: abcdefgh@x.io; f/minLength/Minimum length is 5; f/pattern/Value must match pattern "^z"; f/format/Invalid email format`},
		{`{"type":"string","maxLength":1,"pattern":"^z"}`, `"abc"`, `f/maxLength/Maximum length is 1; f/pattern/Value must match pattern "^z"`},
		{`{"type":"number","enum":[100],"min":0,"max":10}`, `-1`, `f/enum/Value must be one of: 100; f/min/Minimum value is 0`},
		{`{"type":"number","enum":[100],"min":0,"max":10}`, `100`, `f/max/Maximum value is 10`},
	}
	for _, tt := range tests {
		d := mustParse(t, `{"key":"id","schema":{"id":{"type":"string"},"f":`+tt.field+`}}`)
		rec := `{"id":"k"}`
		if tt.value != "" {
			rec = `{"id":"k","f":` + tt.value + `}`
		}
		if got := issuesText(d.Validate(mustObject(t, rec))); got != tt.want {
			t.Errorf("field %s value %s:\n got %q\nwant %q", tt.field, tt.value, got, tt.want)
		}
	}
}

func TestValidateOrderAndFormat(t *testing.T) {
	d := mustParse(t, usersDef)
	rec := mustObject(t, `{"age":-3,"extra":{"anything":true},"email":"nope","birth":"someday","role":"root","_version":"x","name":""}`)
	iss := d.Validate(rec)
	want := `id/required/Field is required; name/minLength/Minimum length is 1; email/format/Invalid email format; ` +
		`age/min/Minimum value is 0; role/enum/Value must be one of: admin, user, guest; birth/type/Expected type "date", got string`
	if got := issuesText(iss); got != want {
		t.Errorf("issues\n got %s\nwant %s", got, want)
	}
	msg := FormatIssues("users", iss)
	wantMsg := `Validation failed for bucket "users": id: Field is required; name: Minimum length is 1; email: Invalid email format; ` +
		`age: Minimum value is 0; role: Value must be one of: admin, user, guest; birth: Expected type "date", got string`
	if msg != wantMsg {
		t.Errorf("FormatIssues\n got %s\nwant %s", msg, wantMsg)
	}
	err := error(&ValidationError{Bucket: "users", Issues: iss})
	if err.Error() != wantMsg || !errors.Is(err, ErrValidation) {
		t.Errorf("ValidationError: %v", err)
	}
	if got := FormatIssues("b", []Issue{{Field: "f", Code: CodeEnum, Message: "Value must be one of: a\nb"}}); got != `Validation failed for bucket "b": f: Value must be one of: a\nb` {
		t.Errorf("control characters: %q", got)
	}
	// A valid record, in canonical order or not.
	for _, s := range []string{
		`{"id":"k","name":"Ann","email":"ann@x.io","age":30,"role":"admin","tags":[],"birth":"1990-05-01"}`,
		`{"birth":631152000000,"tags":["x"],"role":"user","age":0,"email":null,"name":"B","id":"k","other":1}`,
	} {
		if iss := d.Validate(mustObject(t, s)); iss != nil {
			t.Errorf("Validate(%s) = %v", s, iss)
		}
	}
}

func TestEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"a@b.c": true, "first.last+tag@sub.example.org": true, "ü@ñ.es": true, "a@b.c.d": true, "a@.b.c": true,
		"": false, "a": false, "@b.c": false, "a@": false, "a@b": false, "a@b.": false, "a@.b": false,
		"a@@b.c": false, "a@b@c.d": false, "a b@c.d": false, "a@b.c ": false, " a@b.c": false, "a@b.c\n": false,
		"a\u00a0@b.c": false, "a@b\u3000.c": false, "a@b.\ufeffc": false, "a\u0085@b.c": true,
	} {
		if got := isEmail(s); got != want {
			t.Errorf("isEmail(%q) = %v", s, got)
		}
	}
}

func TestURL(t *testing.T) {
	for s, want := range map[string]bool{
		"http://example.com": true, "https://a.b/c?d=e#f": true, "https://user:pw@host:8080/p": true,
		"http://localhost": true, "http://127.0.0.1:80": true, "http://[::1]:3000/": true, "ftp://files.x": true,
		"ws://x": true, "HTTP://X.COM": true, "http:example.com": true, "  http://x.io  ": true,
		"mailto:someone@x.io": true, "urn:isbn:123": true, "file:///etc/hosts": true, "foo://": true,
		"a:": true, "git+ssh://git@github.com/x.git": true, "http://münchen.de": true, "http://1.2.3": true,
		"": false, "foo": false, "example.com": false, "/relative/path": false, "http://": false,
		"https://": false, "http://:80": false, "http://host:99999": false, "http://host:8a": false,
		"http://a b.com": false, "http://[::1": false, "http://[xyz]": false, "1http://x": false,
		"://x": false, "http://1.2.3.256": false, "http://999": true, "http://4294967296": false, "http://09.1.1.1": false,
		"http://a<b": false, "http://a%20b": false, "foo://a b": false,
	} {
		if got := isURL(s); got != want {
			t.Errorf("isURL(%q) = %v", s, got)
		}
	}
}

func TestISODate(t *testing.T) {
	for s, want := range map[string][2]bool{ // [format iso-date, type date]
		"2024-01-15":                    {true, true},
		"2024-02-29":                    {true, true},
		"2023-02-29":                    {false, false},
		"2024-02-30":                    {false, false},
		"1900-02-29":                    {false, false},
		"2000-02-29":                    {true, true},
		"2024-04-31":                    {false, false},
		"2024-12-31":                    {true, true},
		"2024-13-01":                    {false, false},
		"2024-00-10":                    {false, false},
		"2024-01-00":                    {false, false},
		"0999-01-01":                    {true, true},
		"2024-01-15T10:30:00":           {true, true},
		"2024-01-15T10:30:00Z":          {true, true},
		"2024-01-15T10:30:00.123Z":      {true, true},
		"2024-01-15T10:30:00.1234567Z":  {true, true},
		"2024-01-15T23:00:00-05:00":     {true, true},
		"2024-01-15T10:30:00+14:00":     {true, true},
		"2024-01-15T10:30":              {false, true},
		"2024-01-15T10:30Z":             {false, true},
		"2024-01-15T24:00:00Z":          {false, false},
		"2024-01-15T10:60:00Z":          {false, false},
		"2024-01-15T10:30:60Z":          {false, false},
		"2024-01-15T10:30:00.Z":         {false, false},
		"2024-01-15T10:30:00+0500":      {false, false},
		"2024-01-15T10:30:00+24:00":     {false, false},
		"2024-01-15 10:30:00":           {false, false},
		"2024-01-15t10:30:00":           {false, false},
		"2024-01-15T10:30:00ZZ":         {false, false},
		"2024-1-15":                     {false, false},
		"24-01-15":                      {false, false},
		"2024/01/15":                    {false, false},
		"2024-01-15T":                   {false, false},
		"":                              {false, false},
		"yesterday":                     {false, false},
		"２０２４-01-15":                    {false, false},
		"2024-01-15T10:30:00.000+05:30": {true, true},
	} {
		if got := isDate(s, true); got != want[0] {
			t.Errorf("iso-date %q = %v", s, got)
		}
		if got := isDate(s, false); got != want[1] {
			t.Errorf("date type %q = %v", s, got)
		}
	}
}

func TestValidateNoAlloc(t *testing.T) {
	d, rec := benchDef(t)
	if n := testing.AllocsPerRun(100, func() { d.Validate(rec) }); n != 0 {
		t.Errorf("Validate of a valid record allocates %v times", n)
	}
}

// benchDef returns a typical 5-field definition and a valid record in
// canonical order.
func benchDef(t testing.TB) (*Definition, *jsonv.Object) {
	d := mustParse(t, `{"key":"id","schema":{
		"id":{"type":"string","generated":"uuid"},
		"name":{"type":"string","required":true,"minLength":1,"maxLength":100},
		"email":{"type":"string","format":"email","unique":true,"pattern":"@"},
		"age":{"type":"number","min":0,"max":150},
		"role":{"type":"string","enum":["admin","user","guest"],"default":"user"}}}`)
	rec := mustObject(t, `{"id":"6f1c2d3e-0000-4000-8000-000000000001","name":"Ann Example","email":"ann@example.com","age":42,"role":"user"}`)
	return d, rec
}

func BenchmarkValidate(b *testing.B) {
	d, rec := benchDef(b)
	b.ReportAllocs()
	for b.Loop() {
		if d.Validate(rec) != nil {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkValidateInvalid(b *testing.B) {
	d, _ := benchDef(b)
	rec := mustObject(b, `{"id":"k","name":"","email":"nope","age":-1,"role":"x"}`)
	b.ReportAllocs()
	for b.Loop() {
		if d.Validate(rec) == nil {
			b.Fatal("valid")
		}
	}
}

type constIDs struct{}

func (constIDs) UUID() string { return "6f1c2d3e-0000-4000-8000-000000000001" }
func (constIDs) CUID() string { return "c00000000000000000000000000000000" }

func BenchmarkFill(b *testing.B) {
	d, _ := benchDef(b)
	rec := jsonv.NewObject(8)
	b.ReportAllocs()
	for b.Loop() {
		rec.Keys = append(rec.Keys[:0], "name", "email", "age")
		rec.Vals = append(rec.Vals[:0], "Ann", "ann@example.com", 42.0)
		d.Fill(rec, 0, 1700000000000, constIDs{})
	}
}

func BenchmarkFillUUID(b *testing.B) {
	d, _ := benchDef(b)
	rec := jsonv.NewObject(8)
	b.ReportAllocs()
	for b.Loop() {
		rec.Keys = append(rec.Keys[:0], "name", "email", "age")
		rec.Vals = append(rec.Vals[:0], "Ann", "ann@example.com", 42.0)
		d.Fill(rec, 0, 1700000000000, nil)
	}
}

func BenchmarkCanonical(b *testing.B) {
	d, rec := benchDef(b)
	b.ReportAllocs()
	for b.Loop() {
		d.Canonical(rec)
	}
}
