package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are extra FuzzParse seeds besides validCases and errorCases.
var fuzzSeeds = []string{
	recordJSON,
	`{"a":{"b":[1,{"c":null}],"d":"\u00e9\ud83d\ude00"},"e":-1.5e-7}`,
	`[1e308,1e309]`,
	`[-1e-400,1E+2,0.0e0]`,
	"[\"\\ud800\\udbff\\udc00\"]",
	"{\"a\":1,\"a\":2,\"b\":[],\"a\":3}",
	"\"\u2028\u2029\x7f\"",
	"[\"\\u0000\",\"\\/\"]",
	"1.79769373457e308623157e308", // out of range, then trailing data
}

func FuzzParse(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c.in))
	}
	for _, c := range errorCases {
		f.Add([]byte(c.in))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			checkParseError(t, data, err)
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which encoding/json rejects", data)
		}
		out := Marshal(v)
		if !json.Valid(out) {
			t.Fatalf("Marshal wrote invalid JSON %q", out)
		}
		v2, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output %q does not parse: %v", out, err)
		}
		if !Equal(v, v2) || Compare(v, v2) != 0 {
			t.Fatalf("round trip changed %q: %q", data, out)
		}
		if out2 := Marshal(v2); !bytes.Equal(out, out2) {
			t.Fatalf("encoding not idempotent: %q then %q", out, out2)
		}
	})
}

// checkParseError checks an error from Parse(data) and that encoding/json
// also rejects data, except where the two parsers are meant to differ.
func checkParseError(t *testing.T, data []byte, err error) {
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %T, want *SyntaxError", err)
	}
	if se.Offset < 0 || se.Offset > len(data) || strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("bad error for %q: %#v", data, se)
	}
	switch se.Msg {
	case msgRange: // encoding/json does not convert numbers
		if tok := numberAt(data, se.Offset); !isRangeErr(tok) {
			t.Fatalf("number %q at %d reported out of range", tok, se.Offset)
		}
		return
	case msgTooDeep: // encoding/json allows 10000 levels
		if n := bytes.Count(data[:se.Offset+1], []byte("[")) + bytes.Count(data[:se.Offset+1], []byte("{")); n <= MaxDepth {
			t.Fatalf("nesting too deep at %d with only %d brackets", se.Offset, n)
		}
		return
	}
	if utf8.Valid(data) && json.Valid(data) { // encoding/json allows bad UTF-8 in strings
		t.Fatalf("rejected %q, which encoding/json accepts: %v", data, err)
	}
}

// numberAt returns the number token starting at off, by the JSON grammar.
func numberAt(data []byte, off int) string {
	i := off
	digits := func() {
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits()
	if i < len(data) && data[i] == '.' {
		i++
		digits()
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		digits()
	}
	return string(data[off:i])
}

func isRangeErr(tok string) bool {
	_, err := strconv.ParseFloat(tok, 64)
	return errors.Is(err, strconv.ErrRange)
}

func FuzzNumber(f *testing.F) {
	for _, x := range []float64{
		0, 1, -1, 2.5, 0.1, 1e21, 1e-6, 1e-7, 9.999999999999999e-7, 5e-324,
		math.MaxFloat64, 1 << 53, 1<<53 + 2, 999999999999999868928, 0.000001234,
	} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		s := FormatNumber(x)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			if s != "null" {
				t.Fatalf("FormatNumber(%v) = %q, want null", x, s)
			}
			return
		}
		y, err := strconv.ParseFloat(s, 64)
		if err != nil || y != x {
			t.Fatalf("FormatNumber(%v) = %q, reads back as %v, %v", x, s, y, err)
		}
		if x == 0 {
			if s != "0" {
				t.Fatalf("FormatNumber(%v) = %q, want 0", x, s)
			}
			return
		}
		// ECMAScript uses plain notation for 1e-6 <= |x| < 1e21.
		abs := math.Abs(x)
		if plain := abs >= 1e-6 && abs < 1e21; plain == strings.Contains(s, "e") {
			t.Fatalf("FormatNumber(%v) = %q: wrong notation", x, s)
		}
		if v, err := ParseString(s); err != nil || v != x {
			t.Fatalf("FormatNumber(%v) = %q, which Parse reads as %v, %v", x, s, v, err)
		}
		// The digits are the shortest that round-trip.
		e := strconv.FormatFloat(abs, 'e', -1, 64)
		want := strings.Replace(e[:strings.IndexByte(e, 'e')], ".", "", 1)
		got := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(strings.SplitN(s, "e", 2)[0]), "0")
		if got = strings.TrimRight(got, "0"); got != strings.TrimRight(want, "0") {
			t.Fatalf("FormatNumber(%v) = %q: digits %q, want %q", x, s, got, want)
		}
	})
}

func FuzzCompare(f *testing.F) {
	f.Add([]byte(`[1,"a"]`), []byte(`[1,"b"]`))
	f.Add([]byte(`{"a":1,"b":2}`), []byte(`{"b":2,"a":1}`))
	f.Add([]byte(`-0`), []byte(`0`))
	f.Add([]byte(`"\uffff"`), []byte(`"😀"`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		x, err1 := Parse(a)
		y, err2 := Parse(b)
		if err1 != nil || err2 != nil {
			return
		}
		c := Compare(x, y)
		if c < -1 || c > 1 || Compare(y, x) != -c {
			t.Fatalf("Compare(%s, %s) = %d, reverse %d", a, b, c, Compare(y, x))
		}
		// Parsed values keep key order, so equal canonical forms mean equal.
		if same := bytes.Equal(Marshal(x), Marshal(y)); same != (c == 0) {
			t.Fatalf("Compare(%s, %s) = %d, canonical forms equal: %v", a, b, c, same)
		}
		if c == 0 && !Equal(x, y) {
			t.Fatalf("Compare(%s, %s) = 0 but not Equal", a, b)
		}
	})
}

// recordJSON is a typical stored record.
const recordJSON = `{"id":"3f2a9c1e-7b4d-4e8a-9f0c-2d5b6a8e1c3f","name":"Alice Smith","email":"alice@example.com","age":31,"role":"admin","_version":1,"_createdAt":1764000000000,"_updatedAt":1764000000000}`

func BenchmarkParseRecord(b *testing.B) {
	data := []byte(recordJSON)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	v, err := ParseString(recordJSON)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(recordJSON)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], v)
	}
}
