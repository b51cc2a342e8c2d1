package script

// The bit library: Lua BitOp 1.0.2 as Redis bundles it (with Redis's fix
// for bit.tohex(x, -2^31)). Every operation works on 32-bit integers: an
// argument is converted as BitOp does (rounded to the nearest integer, ties
// to even, then taken modulo 2^32) and a result is a signed 32-bit number.

import (
	"math"
	"math/bits"

	lua "github.com/yuin/gopher-lua"
)

// bitFuncs are the functions of the bit table.
var bitFuncs = map[string]lua.LGFunction{
	"tobit":   func(L *lua.LState) int { return bitPush(L, bitArg(L, 1)) },
	"bnot":    func(L *lua.LState) int { return bitPush(L, ^bitArg(L, 1)) },
	"band":    bitFold(func(a, b uint32) uint32 { return a & b }),
	"bor":     bitFold(func(a, b uint32) uint32 { return a | b }),
	"bxor":    bitFold(func(a, b uint32) uint32 { return a ^ b }),
	"lshift":  bitShift(func(b uint32, n uint) uint32 { return b << n }),
	"rshift":  bitShift(func(b uint32, n uint) uint32 { return b >> n }),
	"arshift": bitShift(func(b uint32, n uint) uint32 { return uint32(int32(b) >> n) }),
	"rol":     bitShift(func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, int(n)) }),
	"ror":     bitShift(func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, -int(n)) }),
	"bswap":   func(L *lua.LState) int { return bitPush(L, bits.ReverseBytes32(bitArg(L, 1))) },
	"tohex":   bitToHex,
}

// OpenBit registers the bit table as a global of L.
func OpenBit(L *lua.LState) {
	t := L.CreateTable(0, len(bitFuncs))
	for name, fn := range bitFuncs {
		t.RawSetString(name, L.NewFunction(fn))
	}
	L.SetGlobal("bit", t)
}

// bitToBit converts a Lua number as BitOp's barg does: BitOp adds 2^52+2^51
// and keeps the low 32 bits of the mantissa, which rounds to the nearest
// integer (ties to even) and wraps modulo 2^32.
func bitToBit(n float64) uint32 {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return 0
	}
	r := math.RoundToEven(n)
	if math.Abs(r) < 1<<63 {
		return uint32(int64(r))
	}
	return uint32(int64(math.Mod(r, 1<<32)))
}

// bitArg is argument i as a 32-bit integer; like BitOp it takes a number
// or a string that converts to one.
func bitArg(L *lua.LState, i int) uint32 {
	return bitToBit(float64(L.CheckNumber(i)))
}

func bitPush(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

// bitFold is band, bor or bxor: op over all the arguments (at least one).
func bitFold(op func(a, b uint32) uint32) lua.LGFunction {
	return func(L *lua.LState) int {
		b := bitArg(L, 1)
		for i := 2; i <= L.GetTop(); i++ {
			b = op(b, bitArg(L, i))
		}
		return bitPush(L, b)
	}
}

// bitShift is a shift or rotation by the second argument's low 5 bits.
func bitShift(op func(b uint32, n uint) uint32) lua.LGFunction {
	return func(L *lua.LState) int {
		b, n := bitArg(L, 1), uint(bitArg(L, 2)&31)
		return bitPush(L, op(b, n))
	}
}

// bitToHex is bit.tohex(x [, n]): the low n hex digits of x (8 when n is
// absent or above 8), upper case when n is negative.
func bitToHex(L *lua.LState) int {
	b := bitArg(L, 1)
	n := int32(8)
	if L.GetTop() >= 2 {
		n = int32(bitArg(L, 2))
	}
	digits := "0123456789abcdef"
	if n == math.MinInt32 {
		n++ // Redis's fix: BitOp would negate it into a negative length
	}
	if n < 0 {
		n, digits = -n, "0123456789ABCDEF"
	}
	n = min(n, 8)
	buf := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
