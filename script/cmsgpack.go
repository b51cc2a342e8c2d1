package script

// The cmsgpack library: lua-cmsgpack 0.4.0 as Redis bundles it, for
// gopher-lua. pack(...) encodes each argument and concatenates them;
// unpack(s) decodes every object of s; unpack_one(s [, offset]) and
// unpack_limit(s, limit [, offset]) decode one or limit objects and return
// first the offset of the rest (-1 when s is consumed).
//
// Encoding follows lua-cmsgpack: a number equal to an int64 is an integer
// in the smallest format, another number is a float 32 when that is exact
// and a float 64 otherwise; a table whose keys are exactly 1..n is an array,
// any other table a map (keys in iteration order); a table nested 16 deep is
// encoded as nil, which is how circular references end; a value of another
// type (function, userdata) is nil. Decoding takes every MessagePack type
// but ext; bin is a string, a 64-bit integer becomes a Lua number.
//
// Where it differs: decoding refuses objects nested more than
// cmsgpackMaxDecodeDepth deep (the C version recurses on the C stack).

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

const (
	// cmsgpackMaxNesting is LUACMSGPACK_MAX_NESTING: deeper tables encode
	// as nil.
	cmsgpackMaxNesting = 16
	// cmsgpackMaxDecodeDepth bounds the nesting unpack accepts.
	cmsgpackMaxDecodeDepth = 1000
	errMsgpackEOF          = "Missing bytes in input."
	errMsgpackFormat       = "Bad data format in input."
)

// OpenCMsgpack registers the cmsgpack table as a global of L.
func OpenCMsgpack(L *lua.LState) {
	t := L.CreateTable(0, 8)
	for name, fn := range map[string]lua.LGFunction{
		"pack":         cmsgpackPack,
		"unpack":       func(L *lua.LState) int { return cmsgpackUnpack(L, 0, 0) },
		"unpack_one":   func(L *lua.LState) int { return cmsgpackUnpack(L, 1, L.OptInt(2, 0)) },
		"unpack_limit": func(L *lua.LState) int { return cmsgpackUnpack(L, L.CheckInt(2), L.OptInt(3, 0)) },
	} {
		t.RawSetString(name, L.NewFunction(fn))
	}
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	L.SetGlobal("cmsgpack", t)
}

func cmsgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		L.ArgError(1, "MessagePack pack needs input.")
	}
	var b []byte
	for i := 1; i <= n; i++ {
		b = msgpackEncode(b, L.Get(i), 0)
	}
	L.Push(lua.LString(b))
	return 1
}

// msgpackEncode appends v, at nesting level level, to b.
func msgpackEncode(b []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LBool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		return msgpackNumber(b, float64(v))
	case lua.LString:
		return msgpackString(b, string(v))
	case *lua.LTable:
		if level == cmsgpackMaxNesting {
			return append(b, 0xc0)
		}
		return msgpackTable(b, v, level)
	}
	return append(b, 0xc0)
}

func msgpackNumber(b []byte, n float64) []byte {
	if n >= -(1<<63) && n < 1<<63 && float64(int64(n)) == n {
		return msgpackInt(b, int64(n))
	}
	if f := float32(n); float64(f) == n {
		return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(f))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(n))
}

func msgpackInt(b []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= 127:
		return append(b, byte(n))
	case n >= 0 && n <= 0xff:
		return append(b, 0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n >= 0 && n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	case n >= 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(n))
	case n >= -32:
		return append(b, byte(int8(n)))
	case n >= -128:
		return append(b, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(n)))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func msgpackString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= 0xff:
		b = append(b, 0xd9, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// msgpackHeader appends an array (fix 0x90, 0xdc, 0xdd) or map (fix 0x80,
// 0xde, 0xdf) header for n elements.
func msgpackHeader(b []byte, n int, fix, h16, h32 byte) []byte {
	switch {
	case n <= 15:
		return append(b, fix|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, h16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, h32), uint32(n))
}

// msgpackTable encodes t as an array when its keys are exactly 1..n
// (lua-cmsgpack's table_is_an_array), as a map otherwise.
func msgpackTable(b []byte, t *lua.LTable, level int) []byte {
	count, maxKey, isArray := 0, 0.0, true
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		count++
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || n != lua.LNumber(math.Trunc(float64(n))) || float64(n) > math.MaxInt32 {
			isArray = false
			continue
		}
		maxKey = max(maxKey, float64(n))
	}
	if isArray && float64(count) == maxKey {
		b = msgpackHeader(b, count, 0x90, 0xdc, 0xdd)
		for i := 1; i <= count; i++ {
			b = msgpackEncode(b, t.RawGetInt(i), level+1)
		}
		return b
	}
	b = msgpackHeader(b, count, 0x80, 0xde, 0xdf)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		b = msgpackEncode(b, k, level+1)
		b = msgpackEncode(b, v, level+1)
	}
	return b
}

// cmsgpackUnpack is lua-cmsgpack's mp_unpack_full: it decodes up to limit
// objects from offset (every object when both are 0, with no offset
// returned).
func cmsgpackUnpack(L *lua.LState, limit, offset int) int {
	s := L.CheckString(1)
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, limit)
	}
	if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	all := limit == 0 && offset == 0
	if all {
		limit = math.MaxInt
	}
	d := msgpackDecoder{L: L, b: []byte(s[offset:])}
	var out []lua.LValue
	for len(d.b) > 0 && len(out) < limit {
		out = append(out, d.decode(0))
	}
	if !all {
		next := lua.LNumber(-1)
		if len(d.b) > 0 {
			next = lua.LNumber(len(s) - len(d.b))
		}
		L.Push(next)
	}
	for _, v := range out {
		L.Push(v)
	}
	if all {
		return len(out)
	}
	return len(out) + 1
}

// msgpackDecoder reads MessagePack objects from b, raising Lua errors.
type msgpackDecoder struct {
	L *lua.LState
	b []byte
}

// take consumes n bytes, raising "Missing bytes in input." when short.
func (d *msgpackDecoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.L.RaiseError(errMsgpackEOF)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *msgpackDecoder) uint(size int) uint64 {
	p := d.take(uint64(size))
	switch size {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(p))
	case 4:
		return uint64(binary.BigEndian.Uint32(p))
	}
	return binary.BigEndian.Uint64(p)
}

func (d *msgpackDecoder) decode(depth int) lua.LValue {
	if depth > cmsgpackMaxDecodeDepth {
		d.L.RaiseError(errMsgpackFormat)
	}
	c := d.take(1)[0]
	switch {
	case c <= 0x7f:
		return lua.LNumber(c)
	case c >= 0xe0:
		return lua.LNumber(int8(c))
	case c&0xf0 == 0x80:
		return d.table(uint64(c&0x0f), true, depth)
	case c&0xf0 == 0x90:
		return d.table(uint64(c&0x0f), false, depth)
	case c&0xe0 == 0xa0:
		return lua.LString(d.take(uint64(c & 0x1f)))
	}
	switch c {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(d.uint(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(d.uint(8)))
	case 0xcc, 0xcd, 0xce, 0xcf:
		return lua.LNumber(d.uint(1 << (c - 0xcc)))
	case 0xd0:
		return lua.LNumber(int8(d.uint(1)))
	case 0xd1:
		return lua.LNumber(int16(d.uint(2)))
	case 0xd2:
		return lua.LNumber(int32(d.uint(4)))
	case 0xd3:
		return lua.LNumber(int64(d.uint(8)))
	case 0xc4, 0xd9: // bin 8, str 8
		return lua.LString(d.take(d.uint(1)))
	case 0xc5, 0xda:
		return lua.LString(d.take(d.uint(2)))
	case 0xc6, 0xdb:
		return lua.LString(d.take(d.uint(4)))
	case 0xdc:
		return d.table(d.uint(2), false, depth)
	case 0xdd:
		return d.table(d.uint(4), false, depth)
	case 0xde:
		return d.table(d.uint(2), true, depth)
	case 0xdf:
		return d.table(d.uint(4), true, depth)
	}
	d.L.RaiseError(errMsgpackFormat)
	return lua.LNil
}

// table decodes n array elements or n map pairs. A nil element leaves a
// hole; a pair with a nil or NaN key is dropped.
func (d *msgpackDecoder) table(n uint64, isMap bool, depth int) *lua.LTable {
	// Each element takes at least one byte: never size for more than is left.
	hint := int(min(n, uint64(len(d.b))))
	if isMap {
		t := d.L.CreateTable(0, hint)
		for range n {
			k := d.decode(depth + 1)
			v := d.decode(depth + 1)
			if f, ok := k.(lua.LNumber); k == lua.LNil || ok && math.IsNaN(float64(f)) {
				continue
			}
			t.RawSet(k, v)
		}
		return t
	}
	t := d.L.CreateTable(hint, 0)
	for i := uint64(1); i <= n; i++ {
		if v := d.decode(depth + 1); v != lua.LNil {
			t.RawSetInt(int(i), v)
		}
	}
	return t
}
