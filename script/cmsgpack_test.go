package script

import (
	"strconv"
	"strings"
	"testing"
)

// bulk is the RESP2 bulk string of s.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func TestCMsgpackPack(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ v, want string }{
		{"0", "00"}, {"127", "7f"}, {"128", "cc80"}, {"255", "ccff"}, {"256", "cd0100"},
		{"65536", "ce00010000"}, {"2^32", "cf0000000100000000"},
		{"-1", "ff"}, {"-32", "e0"}, {"-33", "d0df"}, {"-129", "d1ff7f"},
		{"-32769", "d2ffff7fff"}, {"-1099511627776", "d3ffffff0000000000"},
		{"0.1", "cb3fb999999999999a"}, {"0.5", "ca3f000000"}, {"1/0", "ca7f800000"},
		{"2^63", "ca5f000000"}, {"2^63 + 2^11", "cb43e0000000000001"},
		{"true", "c3"}, {"false", "c2"}, {"nil", "c0"}, {"function() end", "c0"},
		{"'ab'", "a26162"}, {"string.rep('x', 32)", "d920" + strings.Repeat("78", 32)},
		{"string.rep('x', 256)", "da0100" + strings.Repeat("78", 256)},
		{"{}", "90"}, {"{1, 2}", "920102"}, {"{a=1}", "81a16101"}, {"{[2]=1}", "810201"},
		{"{y=5, x={z=1}}", "82a17905a17881a17a01"},
		{"1, 'a'", "01a161"},
	}
	for _, c := range cases {
		body := "local e = cmsgpack.pack(" + c.v + ") local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"
		if got := eval(t, e, body, 2); got != bulk(c.want) {
			t.Errorf("pack(%s): got %q, want %q", c.v, got, bulk(c.want))
		}
	}
}

func TestCMsgpackUnpack(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ body, want string }{
		{"return cmsgpack.unpack(cmsgpack.pack({1, 'two', {a=3}}))[3].a", ":3\r\n"},
		{"return cmsgpack.unpack(cmsgpack.pack(-1099511627776)) == -1099511627776", ":1\r\n"},
		{"return tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))", bulk("0.1")},
		{"return {cmsgpack.unpack(cmsgpack.pack(1, 2, 3))}", "*3\r\n:1\r\n:2\r\n:3\r\n"},
		{"return select('#', cmsgpack.unpack(''))", ":0\r\n"},
		{"return {cmsgpack.unpack_one(cmsgpack.pack(7, 8))}", "*2\r\n:1\r\n:7\r\n"},
		{"return {cmsgpack.unpack_one(cmsgpack.pack(7, 8), 1)}", "*2\r\n:-1\r\n:8\r\n"},
		{"return {cmsgpack.unpack_limit(cmsgpack.pack(7, 8, 9), 2)}", "*3\r\n:2\r\n:7\r\n:8\r\n"},
		{"return cmsgpack.unpack('\\196\\2hi')", bulk("hi")}, // bin 8
		{"return cmsgpack.unpack('\\208\\255')", ":-1\r\n"},
		{"return cmsgpack.unpack('\\146\\192\\1')[2]", ":1\r\n"}, // nil leaves a hole
		{"local a = {y=5} a.x = {x=a} return cmsgpack.unpack(cmsgpack.pack(a)).x.x.y", ":5\r\n"},
		{"return cmsgpack._VERSION", bulk("lua-cmsgpack 0.4.0")},
	}
	for _, c := range cases {
		if got := eval(t, e, c.body, 2); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.body, got, c.want)
		}
	}
	errs := []struct{ body, want string }{
		{"cmsgpack.pack()", "MessagePack pack needs input."},
		{"cmsgpack.unpack('\\205\\1')", "Missing bytes in input."},
		{"cmsgpack.unpack('\\221\\255\\255\\255\\255')", "Missing bytes in input."},
		{"cmsgpack.unpack('\\193')", "Bad data format in input."},
		{"cmsgpack.unpack(string.rep('\\145', 2000) .. '\\1')", "Bad data format in input."},
		{"cmsgpack.unpack_one('\\1', 5)", "Start offset 5 greater than input length 1."},
		{"cmsgpack.unpack_limit('\\1', -1)", "Invalid request to unpack with offset of 0 and limit of -1."},
		{"cmsgpack.pack = nil", "Attempt to modify a readonly table"},
	}
	for _, c := range errs {
		if got := eval(t, e, c.body, 2); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want an error with %q", c.body, got, c.want)
		}
	}
}
