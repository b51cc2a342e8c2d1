package jsonv

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Marshal returns the canonical encoding of v; see Append.
func Marshal(v Value) []byte {
	return Append(make([]byte, 0, 128), v)
}

// Append appends the canonical JSON encoding of v to dst and returns the
// extended slice. The output is what JavaScript's JSON.stringify produces for
// the same value: no whitespace, object keys in their stored order, strings
// as AppendString writes them and numbers as AppendNumber writes them.
//
// A nil []Value is written as [] and a nil *Object as {}. Append panics if v
// holds a Go type that is not part of the Value model; v must not contain
// cycles.
func Append(dst []byte, v Value) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if t {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case float64:
		return AppendNumber(dst, t)
	case string:
		return AppendString(dst, t)
	case []Value:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = Append(dst, e)
		}
		return append(dst, ']')
	case *Object:
		dst = append(dst, '{')
		if t != nil {
			for i, k := range t.Keys {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = AppendString(dst, k)
				dst = append(dst, ':')
				dst = Append(dst, t.Vals[i])
			}
		}
		return append(dst, '}')
	}
	panic(fmt.Sprintf("jsonv: unsupported type %T in Value", v))
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal, as JSON.stringify writes
// it: '"' and '\\' are escaped, as are the control characters U+0000 to
// U+001F (\b \f \n \r \t in short form, the others as \u00xx with lowercase
// hex). Everything else, including '<', '>', '&', U+007F, U+2028 and U+2029,
// is written unchanged. Each byte of s that is not part of valid UTF-8 is
// written as U+FFFD, as encoding/json does.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) { // skip plain bytes 8 at a time
			m := special8(load64(s, i))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] { // the same bytes are plain when parsing
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// load64 returns the 8 bytes of s at i as a little-endian number.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// FormatNumber returns f formatted as AppendNumber does.
func FormatNumber(f float64) string {
	var buf [32]byte
	return string(AppendNumber(buf[:0], f))
}

// maxExact is 2^53: integers below it in magnitude are exact in a float64.
const maxExact = 1 << 53

// AppendNumber appends f as ECMAScript's Number::toString(10) writes it,
// which is also what JSON.stringify writes: the shortest digits that read
// back as f, in plain notation when 1e-7 <= |f| < 1e21 (180, 2.5, 0.000001)
// and in exponent notation otherwise (1e+21, 1e-7, 5e-324). -0 is written
// as 0, and NaN and ±Inf as null.
func AppendNumber(dst []byte, f float64) []byte {
	if f > -maxExact && f < maxExact {
		if i := int64(f); float64(i) == f { // also turns -0 into 0
			return strconv.AppendInt(dst, i, 10)
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	// "-d.ddde±x": split into the digits and the exponent.
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	e := len(b) - 1
	for b[e] != 'e' {
		e--
	}
	exp, _ := strconv.Atoi(string(b[e+1:]))
	digits := b[:e]
	if len(digits) > 1 { // drop the decimal point: "d.ddd" -> "dddd"
		digits[1] = digits[0]
		digits = digits[1:]
	}
	return appendDecimal(dst, digits, exp+1)
}

// appendDecimal appends the number 0.digits × 10^n per ECMAScript's
// Number::toString: k is the digit count and n the position of the decimal
// point relative to the first digit.
func appendDecimal(dst, digits []byte, n int) []byte {
	k := len(digits)
	switch {
	case k <= n && n <= 21: // integer: digits then zeros
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21: // the point falls inside the digits
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0: // small: "0.", zeros, digits
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default: // exponent form: d[.ddd]e±x
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
