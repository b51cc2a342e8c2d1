package jsonv

import (
	"math"
	"strings"
	"testing"
)

// The expected strings come from Node.js (JSON.stringify).
func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{180, "180"},
		{100, "100"},
		{2.5, "2.5"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{0.30000000000000004, "0.30000000000000004"},
		{0.5, "0.5"},
		{1.0 / 3, "0.3333333333333333"},
		{-1.0 / 3, "-0.3333333333333333"},
		{123.456, "123.456"},
		{100.5, "100.5"},
		{4.35, "4.35"},
		{1.0000000000000002, "1.0000000000000002"},
		{1e15 + 0.3, "1000000000000000.2"},
		// Integers around 2^53 and beyond.
		{9007199254740991, "9007199254740991"},
		{9007199254740992, "9007199254740992"},
		{9007199254740993, "9007199254740992"},
		{-9007199254740992, "-9007199254740992"},
		{9007199254740994, "9007199254740994"},
		{1e16, "10000000000000000"},
		{1 << 63, "9223372036854776000"},
		{1 << 64, "18446744073709552000"},
		{12345678901234567890, "12345678901234567000"},
		{1e20, "100000000000000000000"},
		{1.2345678901234568e20, "123456789012345680000"},
		{999999999999999900000, "999999999999999900000"},
		// The switch to exponent form at 1e21.
		{999999999999999999999, "1e+21"},
		{1e21, "1e+21"},
		{1.1e21, "1.1e+21"},
		{1e22, "1e+22"},
		{1e300, "1e+300"},
		{1.5e300, "1.5e+300"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		// Small numbers: plain down to 1e-6, exponent form below.
		{1e-5, "0.00001"},
		{3e-5, "0.00003"},
		{1e-6, "0.000001"},
		{0.000001234, "0.000001234"},
		{1.25e-6, "0.00000125"},
		{1e-7, "1e-7"},
		{-1e-7, "-1e-7"},
		{1.5e-7, "1.5e-7"},
		{5e-7, "5e-7"},
		{1.2e-300, "1.2e-300"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		{2.225073858507201e-308, "2.225073858507201e-308"},
		{5e-324, "5e-324"},
		// Not JSON numbers.
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.in); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(AppendNumber([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendNumber(x, %v) = %q", tt.in, got)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"abc", `"abc"`},
		{`"\`, `"\"\\"`},
		{"/", `"/"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1a\x1f", `"\u0000\u0001\u001a\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
		{"é€😀", `"é€😀"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"\uFFFD", "\"\uFFFD\""},
		// Invalid UTF-8: one U+FFFD per invalid byte.
		{"a\xffb", "\"a\uFFFDb\""},
		{"\xc3", "\"\uFFFD\""},
		{"\xe2\x82", "\"\uFFFD\uFFFD\""},
		{"\xed\xa0\x80", "\"\uFFFD\uFFFD\uFFFD\""},
		{"\xc0\xaf\n", "\"\uFFFD\uFFFD\\n\""},
	}
	for _, tt := range tests {
		if got := string(AppendString([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendString(%q) = %q, want %q", tt.in, got, "x"+tt.want)
		}
	}
}

func TestMarshal(t *testing.T) {
	nested := &Object{Keys: []string{"z", "a"}, Vals: []Value{1.5, []Value{nil, true, false}}}
	tests := []struct {
		in   Value
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{false, "false"},
		{2.0, "2"},
		{"s", `"s"`},
		{[]Value{}, "[]"},
		{[]Value(nil), "[]"},
		{&Object{}, "{}"},
		{(*Object)(nil), "{}"},
		{[]Value{1.0, "a", nil, []Value{}}, `[1,"a",null,[]]`},
		{nested, `{"z":1.5,"a":[null,true,false]}`},
		{&Object{Keys: []string{"q\"k\n"}, Vals: []Value{nested}}, `{"q\"k\n":{"z":1.5,"a":[null,true,false]}}`},
	}
	for _, tt := range tests {
		if got := string(Marshal(tt.in)); got != tt.want {
			t.Errorf("Marshal(%#v) = %s, want %s", tt.in, got, tt.want)
		}
		if got := string(Append([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("Append(x, %#v) = %s", tt.in, got)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	in := `{"id":"3f2a","n":[1,2.5,-0.001,1e+21,1e-7],"s":"\u0000\"\\é\u2028","o":{"":{}}}`
	v, err := ParseString(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(Marshal(v)); got != strings.Replace(in, `\u2028`, "\u2028", 1) {
		t.Errorf("round trip = %s", got)
	}
}

func TestAppendUnsupported(t *testing.T) {
	for _, v := range []Value{1, int64(1), float32(1), map[string]any{}, []string{}, Object{}, []Value{struct{}{}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Marshal(%#v) did not panic", v)
				}
			}()
			Marshal(v)
		}()
	}
}

func TestAppendAllocs(t *testing.T) {
	v, err := ParseString(`{"a":[2.5,1e+21,1e-7,-3,"x\n\u00e9\ud83d\ude00"],"b":{"c":null,"d":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], v) }); n != 0 {
		t.Errorf("Append allocates %v times, want 0", n)
	}
}
