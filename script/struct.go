package script

// The struct library: Roberto Ierusalimschy's struct 0.2 as Redis bundles
// it, for gopher-lua. struct.pack(fmt, ...) packs values into a binary
// string, struct.unpack(fmt, s [, pos]) reads them back (and then the
// position after them), struct.size(fmt) is the size fmt packs to.
//
// Format: '<' little endian (the default, as on the machines Redis runs
// on), '>' big endian, '!n' align to n (a power of 2; 8 without n), ' '
// ignored; b/B char, h/H short, l/L long, T size_t, i/I[n] an n-byte int
// (4 by default, at most 32), lower case signed; f float, d double; x one
// zero byte; c[n] n bytes (c0: the whole string; at unpack, the length is
// the number read just before); s a zero-terminated string.

import (
	"encoding/binary"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

const structMaxIntSize = 32

// OpenStruct registers the struct table as a global of L.
func OpenStruct(L *lua.LState) {
	t := L.CreateTable(0, 3)
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	L.SetGlobal("struct", t)
}

// structFormat walks a format string.
type structFormat struct {
	L     *lua.LState
	fmt   string
	i     int
	big   bool
	align int
}

// num reads the digits after an option, or returns def.
func (f *structFormat) num(def int) int {
	start := f.i
	for f.i < len(f.fmt) && f.fmt[f.i] >= '0' && f.fmt[f.i] <= '9' && f.i-start < 9 {
		f.i++
	}
	if f.i == start {
		return def
	}
	n, _ := strconv.Atoi(f.fmt[start:f.i])
	return n
}

// size is the size of option opt (reading its digits).
func (f *structFormat) size(opt byte) int {
	switch opt {
	case 'B', 'b', 'x':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'c':
		return f.num(1)
	case 'i', 'I':
		n := f.num(4)
		if n > structMaxIntSize {
			f.L.RaiseError("integral size %d is larger than limit of %d", n, structMaxIntSize)
		}
		return n
	}
	return 0
}

// toAlign is the padding before an option of size at position pos.
func (f *structFormat) toAlign(pos, size int, opt byte) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	size = min(size, f.align)
	return (size - (pos & (size - 1))) & (size - 1)
}

// control handles a non-data option: endianness, alignment, space.
func (f *structFormat) control(opt byte) {
	switch opt {
	case ' ':
	case '>':
		f.big = true
	case '<':
		f.big = false
	case '!':
		a := f.num(8)
		if a <= 0 || a&(a-1) != 0 {
			f.L.ArgError(1, "alignment "+strconv.Itoa(a)+" is not a power of 2")
		}
		f.align = a
	default:
		f.L.ArgError(1, "invalid format option '"+string(rune(opt))+"'")
	}
}

func newStructFormat(L *lua.LState) *structFormat {
	return &structFormat{L: L, fmt: L.CheckString(1), align: 1}
}

func structPack(L *lua.LState) int {
	f := newStructFormat(L)
	arg := 2
	var b []byte
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.size(opt)
		for range f.toAlign(len(b), size, opt) {
			b = append(b, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := float64(L.CheckNumber(arg))
			arg++
			var v uint64
			switch {
			case n < 0 && n >= math.MinInt64:
				v = uint64(int64(n))
			case n >= 0 && n < 1<<64:
				v = uint64(n)
			}
			buf := make([]byte, size)
			for i := range size {
				j := i
				if f.big {
					j = size - 1 - i
				}
				buf[j] = byte(v)
				v >>= 8
			}
			b = append(b, buf...)
		case 'x':
			b = append(b, 0)
		case 'f':
			v := math.Float32bits(float32(L.CheckNumber(arg)))
			arg++
			if f.big {
				b = binary.BigEndian.AppendUint32(b, v)
			} else {
				b = binary.LittleEndian.AppendUint32(b, v)
			}
		case 'd':
			v := math.Float64bits(float64(L.CheckNumber(arg)))
			arg++
			if f.big {
				b = binary.BigEndian.AppendUint64(b, v)
			} else {
				b = binary.LittleEndian.AppendUint64(b, v)
			}
		case 'c', 's':
			s := L.CheckString(arg)
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				L.ArgError(arg, "string too short")
			}
			arg++
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			f.control(opt)
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func structUnpack(L *lua.LState) int {
	f := newStructFormat(L)
	data := L.CheckString(2)
	pos := L.OptInt(3, 1) - 1
	if pos < 0 || pos > len(data) {
		L.ArgError(3, "offset must be 1 or greater")
	}
	var out []lua.LValue
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.size(opt)
		pos += f.toAlign(pos, size, opt)
		if pos+size > len(data) {
			L.ArgError(2, "data string too short")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var v uint64
			for i := range size {
				j := size - 1 - i
				if f.big {
					j = i
				}
				v = v<<8 | uint64(data[pos+j])
			}
			if opt >= 'a' && size > 0 && size < 8 && v&(1<<(size*8-1)) != 0 {
				v |= ^uint64(0) << (size * 8) // sign extension
			}
			if opt >= 'a' {
				out = append(out, lua.LNumber(int64(v)))
			} else {
				out = append(out, lua.LNumber(v))
			}
		case 'x':
		case 'f':
			p := []byte(data[pos : pos+4])
			v := binary.LittleEndian.Uint32(p)
			if f.big {
				v = binary.BigEndian.Uint32(p)
			}
			out = append(out, lua.LNumber(math.Float32frombits(v)))
		case 'd':
			p := []byte(data[pos : pos+8])
			v := binary.LittleEndian.Uint64(p)
			if f.big {
				v = binary.BigEndian.Uint64(p)
			}
			out = append(out, lua.LNumber(math.Float64frombits(v)))
		case 'c':
			if size == 0 {
				var n lua.LNumber
				ok := len(out) > 0
				if ok {
					n, ok = out[len(out)-1].(lua.LNumber)
				}
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				out = out[:len(out)-1]
				if n < 0 || float64(n) > float64(len(data)-pos) {
					L.ArgError(2, "data string too short")
				}
				size = int(n)
			}
			out = append(out, lua.LString(data[pos:pos+size]))
		case 's':
			end := pos
			for end < len(data) && data[end] != 0 {
				end++
			}
			if end == len(data) {
				L.RaiseError("unfinished string in data")
			}
			size = end - pos + 1
			out = append(out, lua.LString(data[pos:end]))
		default:
			f.control(opt)
		}
		pos += size
	}
	for _, v := range out {
		L.Push(v)
	}
	L.Push(lua.LNumber(pos + 1))
	return len(out) + 1
}

func structSize(L *lua.LState) int {
	f := newStructFormat(L)
	pos := 0
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.size(opt)
		pos += f.toAlign(pos, size, opt)
		switch {
		case opt == 's':
			L.ArgError(1, "options 's' has no fixed size")
		case opt == 'c' && size == 0:
			L.ArgError(1, "options 'c0' has no fixed size")
		case !isAlnum(opt):
			f.control(opt)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
