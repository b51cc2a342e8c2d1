package jsonv

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"testing"
)

// validCases are accepted documents and their canonical encoding (with
// \ufffd standing for a raw U+FFFD). FuzzParse uses them as seeds.
var validCases = []struct {
	in   string
	want string
}{
	{`null`, `null`},
	{`true`, `true`},
	{`false`, `false`},
	{" \t\r\n 1 \t\r\n ", `1`},
	{`0`, `0`},
	{`-0`, `0`},
	{`-1`, `-1`},
	{`123456789012345`, `123456789012345`},
	{`1234567890123456789`, `1234567890123456800`},
	{`2.5`, `2.5`},
	{`-0.0`, `0`},
	{`1e2`, `100`},
	{`1E+2`, `100`},
	{`1e-2`, `0.01`},
	{`10.50e1`, `105`},
	{`1e21`, `1e+21`},
	{`1e-400`, `0`},
	{`-1e-400`, `0`},
	{`1.7976931348623157e308`, `1.7976931348623157e+308`},
	{`""`, `""`},
	{`"abc"`, `"abc"`},
	{`"\"\\\/\b\f\n\r\t"`, `"\"\\/\b\f\n\r\t"`},
	{`"\u0041\u00e9\u20AC"`, `"Aé€"`},
	{`"\u0000\u001f\u007f"`, `"\u0000\u001f` + "\x7f" + `"`},
	{`"\ud83d\ude00"`, `"😀"`},
	{`"\uD83D\uDE00"`, `"😀"`},
	{`"\ud800"`, `"\ufffd"`},
	{`"\udc00"`, `"\ufffd"`},
	{`"\ud800x"`, `"\ufffdx"`},
	{`"\ud800\u0041"`, `"\ufffdA"`},
	{`"\ud800\ud800\udc00"`, `"\ufffd𐀀"`},
	{`"\ude00\ud83d"`, `"\ufffd\ufffd"`},
	{`"é😀\u2028"`, "\"é😀\u2028\""},
	{`"<>&"`, `"<>&"`},
	{`[]`, `[]`},
	{`[ ]`, `[]`},
	{`[1, "a" ,[true,null] ]`, `[1,"a",[true,null]]`},
	{`{}`, `{}`},
	{`{ }`, `{}`},
	{`{"b":1,"a":2}`, `{"b":1,"a":2}`},
	{` { "a" : [ ] , "b" : { } } `, `{"a":[],"b":{}}`},
	{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
	{`{"a":1,"a":{"x":1},"a":null}`, `{"a":null}`},
	{`{"\u0061":1,"a":2}`, `{"a":2}`},
	{`{"":0}`, `{"":0}`},
}

func TestParseValid(t *testing.T) {
	for _, tt := range validCases {
		v, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := string(Marshal(v)); got != strings.ReplaceAll(tt.want, `\ufffd`, "\uFFFD") {
			t.Errorf("Parse(%q) encodes as %q, want %q", tt.in, got, tt.want)
		}
	}
}

// errorCases are rejected documents and the error text. FuzzParse uses
// them as seeds.
var errorCases = []struct {
	in   string
	want string
}{
	{``, `unexpected end of input`},
	{`   `, `unexpected end of input`},
	{`x`, `unexpected character 'x' at offset 0`},
	{`nul`, `unexpected end of input`},
	{`nulx`, `unexpected character 'x' at offset 3`},
	{`True`, `unexpected character 'T' at offset 0`},
	{`truex`, `unexpected data after value at offset 4`},
	{`1 2`, `unexpected data after value at offset 2`},
	{`{"a":1}x`, `unexpected data after value at offset 7`},
	{`{} {}`, `unexpected data after value at offset 3`},
	{"\x01", `unexpected character '\x01' at offset 0`},
	{"\u00a01", `unexpected character '\u00a0' at offset 0`},
	{"\ufeff1", `unexpected character '\ufeff' at offset 0`},
	{"\f1", `unexpected character '\f' at offset 0`},
	{"'a'", `unexpected character '\'' at offset 0`},
	{"é", `unexpected character 'é' at offset 0`},
	// Numbers.
	{`01`, `unexpected data after value at offset 1`},
	{`[01]`, `unexpected character '1' at offset 2`},
	{`-01`, `unexpected data after value at offset 2`},
	{`+1`, `unexpected character '+' at offset 0`},
	{`.5`, `unexpected character '.' at offset 0`},
	{`5.`, `unexpected end of input`},
	{`[5.]`, `unexpected character ']' at offset 3`},
	{`5.e3`, `unexpected character 'e' at offset 2`},
	{`5e`, `unexpected end of input`},
	{`5e+`, `unexpected end of input`},
	{`5e+x`, `unexpected character 'x' at offset 3`},
	{`-`, `unexpected end of input`},
	{`-a`, `unexpected character 'a' at offset 1`},
	{`--1`, `unexpected character '-' at offset 1`},
	{`NaN`, `unexpected character 'N' at offset 0`},
	{`Infinity`, `unexpected character 'I' at offset 0`},
	{`-Infinity`, `unexpected character 'I' at offset 1`},
	{`0x10`, `unexpected data after value at offset 1`},
	{`1e400`, `number out of range at offset 0`},
	{`[1,-1e400]`, `number out of range at offset 3`},
	{`1` + strings.Repeat("0", 309), `number out of range at offset 0`},
	// Strings.
	{`"abc`, `unexpected end of input`},
	{`"abc\`, `unexpected end of input`},
	{`"\x"`, `unexpected character 'x' in escape at offset 2`},
	{`"\'"`, `unexpected character '\'' in escape at offset 2`},
	{`"\u12"`, `unexpected character '"' in \u escape at offset 5`},
	{`"\u12`, `unexpected end of input`},
	{`"\u12g4"`, `unexpected character 'g' in \u escape at offset 5`},
	{`"\ud800\u12"`, `unexpected character '"' in \u escape at offset 11`},
	{"\"a\x00\"", `unexpected character '\x00' in string at offset 2`},
	{"\"a\nb\"", `unexpected character '\n' in string at offset 2`},
	{"\"\\n\t\"", `unexpected character '\t' in string at offset 3`},
	{"\"\xff\"", `invalid UTF-8 at offset 1`},
	{"\"\\n\xc3\"", `invalid UTF-8 at offset 3`},
	{"\"\xed\xa0\x80\"", `invalid UTF-8 at offset 1`},     // UTF-8 encoded surrogate
	{"\"\xc0\xaf\"", `invalid UTF-8 at offset 1`},         // overlong
	{"\"\xf4\x90\x80\x80\"", `invalid UTF-8 at offset 1`}, // above U+10FFFF
	{"\xff", `invalid UTF-8 at offset 0`},
	{"[1,\xe2\x82]", `invalid UTF-8 at offset 3`},
	// Arrays and objects.
	{`[`, `unexpected end of input`},
	{`[1`, `unexpected end of input`},
	{`[1,`, `unexpected end of input`},
	{`[1,]`, `unexpected character ']' at offset 3`},
	{`[,1]`, `unexpected character ',' at offset 1`},
	{`[1 2]`, `unexpected character '2' at offset 3`},
	{`[1}`, `unexpected character '}' at offset 2`},
	{`]`, `unexpected character ']' at offset 0`},
	{`{`, `unexpected end of input`},
	{`{"a"`, `unexpected end of input`},
	{`{"a":`, `unexpected end of input`},
	{`{"a":1`, `unexpected end of input`},
	{`{"a":1,}`, `unexpected character '}' at offset 7`},
	{`{,}`, `unexpected character ',' at offset 1`},
	{`{a:1}`, `unexpected character 'a' at offset 1`},
	{`{"a" 1}`, `unexpected character '1' at offset 5`},
	{`{"a"::1}`, `unexpected character ':' at offset 5`},
	{`{"a":1]`, `unexpected character ']' at offset 6`},
	{`{1:1}`, `unexpected character '1' at offset 1`},
	{`{"a":1 "b":2}`, `unexpected character '"' at offset 7`},
	{strings.Repeat("[", 513), `nesting too deep at offset 512`},
	{strings.Repeat(`{"a":`, 600), `nesting too deep at offset 2560`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorCases {
		v, err := Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error %q", tt.in, Marshal(v), tt.want)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T, want *SyntaxError", tt.in, err)
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error %q, want %q", tt.in, err, tt.want)
		}
		if v != nil {
			t.Errorf("Parse(%q) returned %v with an error", tt.in, v)
		}
	}
}

func TestParseDepth(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("%d nested arrays: %v", MaxDepth, err)
	}
	mixed := strings.Repeat(`[{"k":`, MaxDepth/2) + "1" + strings.Repeat(`}]`, MaxDepth/2)
	if _, err := Parse([]byte(mixed)); err != nil {
		t.Errorf("%d nested arrays and objects: %v", MaxDepth, err)
	}
	// Hostile input must fail cleanly, not overflow the stack.
	deep := strings.Repeat("[", 10_000_000)
	if _, err := ParseString(deep); err == nil || err.Error() != "nesting too deep at offset 512" {
		t.Errorf("10M nested arrays: %v", err)
	}
}

func TestParseShapes(t *testing.T) {
	v, err := ParseString(`{"b":[],"a":{},"c":"x"}`)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if got := strings.Join(o.Keys, ","); got != "b,a,c" {
		t.Errorf("keys %q, want b,a,c", got)
	}
	if arr, ok := o.Vals[0].([]Value); !ok || arr == nil || len(arr) != 0 {
		t.Errorf("empty array is %#v, want non-nil []Value{}", o.Vals[0])
	}
	if inner, ok := o.Vals[1].(*Object); !ok || inner.Len() != 0 {
		t.Errorf("empty object is %#v", o.Vals[1])
	}
	if f, _ := ParseString(`-0`); !math.Signbit(f.(float64)) {
		t.Errorf("-0 parsed as %v, want negative zero", f)
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	data := []byte(`{"key":"value","k2":["s"]}`)
	v, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if got := string(Marshal(v)); got != `{"key":"value","k2":["s"]}` {
		t.Errorf("value changed with its input: %s", got)
	}
}

func TestParseLargeObjectDuplicates(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	const n = 200
	for i := range n {
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + ",")
	}
	for i := range n { // every key again, with a new value
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(-i) + ",")
	}
	b.WriteString(`"k0":"last"}`)
	o, err := ParseObject([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if o.Len() != n {
		t.Fatalf("Len = %d, want %d", o.Len(), n)
	}
	for i := 1; i < n; i++ {
		if o.Keys[i] != "k"+strconv.Itoa(i) || o.Vals[i] != float64(-i) {
			t.Fatalf("field %d = %q:%v", i, o.Keys[i], o.Vals[i])
		}
	}
	if o.Keys[0] != "k0" || o.Vals[0] != "last" {
		t.Errorf("field 0 = %q:%v", o.Keys[0], o.Vals[0])
	}
}

func TestParseObject(t *testing.T) {
	tests := []struct {
		in, want string // want is the error, or "" for success
	}{
		{`{"a":1}`, ""},
		{` {} `, ""},
		{`[]`, "expected a JSON object"},
		{`  "x"`, "expected a JSON object"},
		{`null`, "expected a JSON object"},
		{`[`, "unexpected end of input"},
		{`{"a":}`, "unexpected character '}' at offset 5"},
	}
	for _, tt := range tests {
		o, err := ParseObject([]byte(tt.in))
		switch {
		case tt.want == "" && (err != nil || o == nil):
			t.Errorf("ParseObject(%q) = %v, %v", tt.in, o, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want || o != nil):
			t.Errorf("ParseObject(%q) = %v, %v; want error %q", tt.in, o, err, tt.want)
		}
	}
	_, err := ParseObject([]byte("  5"))
	if se, ok := err.(*SyntaxError); !ok || se.Offset != 2 || se.Msg != msgNotObject {
		t.Errorf("ParseObject(\"  5\") error %#v", err)
	}
}

func TestParseReuseAfterError(t *testing.T) {
	// A failed parse leaves partial state in the pooled parser; the next
	// parse must not see it.
	for range 100 {
		if _, err := ParseString(`{"a":[1,2,{"b":"\n`); err == nil {
			t.Fatal("want error")
		}
		v, err := ParseString(`{"x":[3]}`)
		if err != nil || string(Marshal(v)) != `{"x":[3]}` {
			t.Fatalf("got %s, %v", Marshal(v), err)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	tests := []struct {
		err  SyntaxError
		want string
	}{
		{SyntaxError{5, "unexpected character 'x'"}, "unexpected character 'x' at offset 5"},
		{SyntaxError{3, msgEOF}, "unexpected end of input"},
		{SyntaxError{0, msgNotObject}, "expected a JSON object"},
		{SyntaxError{600, msgTooDeep}, "nesting too deep at offset 600"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// firstSpecial is the index of the first non-plain byte of w, or 8.
func firstSpecial(w []byte) int {
	for i, c := range w {
		if c >= 0x80 || !plainASCII[c] {
			return i
		}
	}
	return 8
}

func TestSpecial8(t *testing.T) {
	check := func(w []byte) {
		t.Helper()
		got := 8
		if m := special8(binary.LittleEndian.Uint64(w)); m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if want := firstSpecial(w); got != want {
			t.Fatalf("special8(%q) finds byte %d, want %d", w, got, want)
		}
	}
	// Each byte value in each position of an otherwise plain word.
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			check(w)
		}
	}
	// Pairs of neighbouring bytes, to catch borrows.
	for c1 := range 256 {
		for c2 := range 256 {
			check([]byte{' ', byte(c1), byte(c2), '~', 0, 'a', '"', 0xff})
		}
	}
}

func TestParseAllocs(t *testing.T) {
	// One object (3 allocations), 4 strings (2 each: bytes and interface),
	// 2 large numbers; keys are interned and small integers preallocated.
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	data := []byte(recordJSON)
	Parse(data) // warm the pool and the key table
	if n := testing.AllocsPerRun(100, func() { Parse(data) }); n > 13 {
		t.Errorf("Parse(record) allocates %v times, want <= 13", n)
	}
}

// TestSharedKeys: top-level objects with the same keys in the same order
// share their Keys slice, and neither Set nor Delete on one changes the
// other.
func TestSharedKeys(t *testing.T) {
	parse := func(s string) *Object {
		t.Helper()
		o, err := ParseObject([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a := parse(`{"x":1,"y":2,"z":3}`)
	b := parse(`{"x":4,"y":5,"z":6}`)
	if &a.Keys[0] != &b.Keys[0] {
		t.Log("Keys not shared (another parser from the pool): the checks below still hold")
	}
	b.Set("w", 7.0)
	b.Delete("x")
	c := parse(`{"x":8,"y":9,"z":10}`)
	c.Delete("z")
	c.Set("v", 11.0)
	for _, tc := range []struct {
		o    *Object
		want string
	}{
		{a, `{"x":1,"y":2,"z":3}`},
		{b, `{"y":5,"z":6,"w":7}`},
		{c, `{"x":8,"y":9,"v":11}`},
	} {
		if got := string(Append(nil, tc.o)); got != tc.want {
			t.Errorf("object = %s, want %s", got, tc.want)
		}
	}
	// Nested objects are not shared.
	d := parse(`{"o":{"k":1}}`)
	e := parse(`{"o":{"k":2}}`)
	do, _ := d.Get("o")
	eo, _ := e.Get("o")
	if &do.(*Object).Keys[0] == &eo.(*Object).Keys[0] {
		t.Error("nested objects share their Keys")
	}
}
