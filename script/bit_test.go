package script

import (
	"strconv"
	"strings"
	"testing"
)

func TestBit(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ expr, want string }{
		{"bit.tobit(1)", "1"},
		{"bit.tobit(2^32 + 5)", "5"},
		{"bit.tobit(2^31)", "-2147483648"},
		{"bit.tobit(-1)", "-1"},
		{"bit.tobit(0xffffffff)", "-1"},
		{"bit.tobit(2.5)", "2"}, // ties to even, as BitOp's 2^52+2^51 trick
		{"bit.tobit(3.5)", "4"},
		{"bit.tobit(-2.5)", "-2"},
		{"bit.tobit('7')", "7"},
		{"bit.tobit(2^40 + 3)", "3"},
		{"bit.tobit(1e300)", "0"},
		{"bit.bnot(0)", "-1"},
		{"bit.bnot(-1)", "0"},
		{"bit.band(1)", "1"},
		{"bit.band(0xff, 0x0f, 0x3c)", "12"},
		{"bit.bor(1,2,4,8,16,32,64,128)", "255"},
		{"bit.bxor(1,2)", "3"},
		{"bit.bxor(5,5,1)", "1"},
		{"bit.lshift(1, 31)", "-2147483648"},
		{"bit.lshift(1, 32)", "1"}, // the count is taken modulo 32
		{"bit.lshift(1, 33)", "2"},
		{"bit.rshift(-1, 28)", "15"},
		{"bit.rshift(256, 4)", "16"},
		{"bit.arshift(-256, 4)", "-16"},
		{"bit.arshift(256, 4)", "16"},
		{"bit.rol(0x12345678, 8)", "878082066"},  // 0x34567812
		{"bit.ror(0x12345678, 8)", "2014458966"}, // 0x78123456
		{"bit.bswap(0x12345678)", "2018915346"},  // 0x78563412
		{"bit.tohex(255)", "000000ff"},
		{"bit.tohex(255, 2)", "ff"},
		{"bit.tohex(255, -4)", "00FF"},
		{"bit.tohex(-1, 12)", "ffffffff"},
		{"bit.tohex(65535, -2147483648)", "0000FFFF"},
		{"bit.tohex(1, 0)", ""},
		{"bit.band(bit.rshift(0x070206, 16), 0xff)", "7"},
	}
	for _, c := range cases {
		got := eval(t, e, "return tostring("+c.expr+")", 2)
		want := "$" + strconv.Itoa(len(c.want)) + "\r\n" + c.want + "\r\n"
		if got != want {
			t.Errorf("%s: got %q, want %q", c.expr, got, want)
		}
	}
	errs := []struct{ body, want string }{
		{"return bit.band()", "bad argument #1"},
		{"return bit.tobit('x')", "bad argument #1"},
		{"return bit.lshift(1)", "bad argument #2"},
		{"bit.lshift = nil", "Attempt to modify a readonly table"},
		{"rawset(bit, 'x', 1)", "Attempt to modify a readonly table"},
	}
	for _, c := range errs {
		if got := eval(t, e, c.body, 2); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want an error with %q", c.body, got, c.want)
		}
	}
}
