package script

import (
	"strings"
	"testing"
)

func TestStruct(t *testing.T) {
	e := newTestEngine(t)
	hex := func(expr string) string {
		return "local e = " + expr + " local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"
	}
	packs := []struct{ expr, want string }{
		{"struct.pack('>I', 1)", "00000001"},
		{"struct.pack('<I', 1)", "01000000"},
		{"struct.pack('I', 1)", "01000000"}, // little endian by default
		{"struct.pack('>i2', -2)", "fffe"},
		{"struct.pack('>I2', 65535)", "ffff"},
		{"struct.pack('>bBhH', -1, 255, -2, 2)", "ffff" + "fffe" + "0002"},
		{"struct.pack('>l', -1)", "ffffffffffffffff"},
		{"struct.pack('>i10', -1)", "0000ffffffffffffffff"}, // no sign extension past 8 bytes, as in C
		{"struct.pack('>d', 0.1)", "3fb999999999999a"},
		{"struct.pack('<f', 0.5)", "0000003f"},
		{"struct.pack('xc3s', 'abcd', 'hi')", "00" + "616263" + "686900"},
		{"struct.pack('c0', 'hello')", "68656c6c6f"},
		{"struct.pack('!4 b I', 1, 2)", "01000000" + "02000000"},
		{"struct.pack('!b d', 1, 0)", "01" + strings.Repeat("00", 7) + strings.Repeat("00", 8)},
	}
	for _, c := range packs {
		if got := eval(t, e, hex(c.expr), 2); got != bulk(c.want) {
			t.Errorf("%s: got %q, want %q", c.expr, got, bulk(c.want))
		}
	}
	cases := []struct{ body, want string }{
		{"return {struct.unpack('>I', struct.pack('>I', 258))}", "*2\r\n:258\r\n:5\r\n"},
		{"return {struct.unpack('>i2', '\\255\\254')}", "*2\r\n:-2\r\n:3\r\n"},
		{"return {struct.unpack('<H', '\\255\\254')}", "*2\r\n:65279\r\n:3\r\n"},
		{"return {struct.unpack('b', 'x\\128', 2)}", "*2\r\n:-128\r\n:3\r\n"},
		{"return {struct.unpack('s', 'hi\\0rest')}", "*2\r\n$2\r\nhi\r\n:4\r\n"},
		{"return {struct.unpack('Bc0', '\\3abcde')}", "*2\r\n$3\r\nabc\r\n:5\r\n"},
		{"return {struct.unpack('c2c1', 'abc')}", "*3\r\n$2\r\nab\r\n$1\r\nc\r\n:4\r\n"},
		{"return tostring(struct.unpack('>d', struct.pack('>d', 0.1)))", bulk("0.1")},
		{"return struct.size('>!4 b I d')", ":16\r\n"},
		{"return struct.size('i3c5x')", ":9\r\n"},
	}
	for _, c := range cases {
		if got := eval(t, e, c.body, 2); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.body, got, c.want)
		}
	}
	errs := []struct{ body, want string }{
		{"struct.pack('i33', 1)", "integral size 33 is larger than limit of 32"},
		{"struct.pack('!3 i', 1)", "alignment 3 is not a power of 2"},
		{"struct.pack('y', 1)", "invalid format option 'y'"},
		{"struct.pack('c5', 'ab')", "string too short"},
		{"struct.pack('i')", "bad argument #2"},
		{"struct.unpack('I', 'ab')", "data string too short"},
		{"struct.unpack('s', 'abc')", "unfinished string in data"},
		{"struct.unpack('c0', 'abc')", "format 'c0' needs a previous size"},
		{"struct.unpack('B', 'a', 0)", "offset must be 1 or greater"},
		{"struct.size('s')", "options 's' has no fixed size"},
		{"struct.size('c0')", "options 'c0' has no fixed size"},
		{"struct.pack = nil", "Attempt to modify a readonly table"},
	}
	for _, c := range errs {
		if got := eval(t, e, c.body, 2); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want an error with %q", c.body, got, c.want)
		}
	}
}
