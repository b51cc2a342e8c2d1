package jsonv

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// plainASCII marks the ASCII bytes that stand for themselves inside a JSON
// string: everything from 0x20 up except '"' and '\\'.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Byte masks for special8.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 looks at 8 bytes of a string packed little-endian in x, and
// returns 0 if they are all plain ASCII (see plainASCII). Otherwise the
// lowest set bit of the result is the high bit of the first byte that is
// below 0x20, '"', '\\' or 0x80 and up. (Borrows can mark later bytes
// wrongly, never earlier ones.)
func special8(x uint64) uint64 {
	ctl := (x - 0x20*ones) &^ x // high bit set where a byte < 0x20
	quote := ((x ^ '"'*ones) - ones) &^ (x ^ '"'*ones)
	bslash := ((x ^ '\\'*ones) - ones) &^ (x ^ '\\'*ones)
	return (ctl | quote | bslash | x) & highs
}

// str parses a string; the current byte is '"'. The result is the string's
// content, either a slice of the input or of p.buf: valid only until the
// next call, so callers copy it.
func (p *parser) str() ([]byte, error) {
	d := p.data
	start := p.pos + 1
	for i := start; i < len(d); {
		if i+8 <= len(d) { // skip plain bytes 8 at a time
			m := special8(binary.LittleEndian.Uint64(d[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := d[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			switch {
			case c == '"':
				p.pos = i + 1
				return d[start:i], nil
			case c == '\\':
				return p.unescape(start, i)
			}
			return nil, errUnexpected(d, i, " in string")
		}
		r, size := utf8.DecodeRune(d[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, errAt(i, msgInvalidUTF8)
		}
		i += size
	}
	return nil, p.eof()
}

// unescape is the slow path of str for strings with escapes: the content
// starts at start and the first backslash is at i.
func (p *parser) unescape(start, i int) ([]byte, error) {
	d := p.data
	b := append(p.buf[:0], d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = b
			return b, nil
		case c == '\\':
			if i+1 >= len(d) {
				return nil, p.eof()
			}
			var err error
			if b, i, err = p.escape(b, i); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, errUnexpected(d, i, " in string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, errAt(i, msgInvalidUTF8)
			}
			b = append(b, d[i:i+size]...)
			i += size
		}
	}
	return nil, p.eof()
}

// escape decodes the escape sequence whose backslash is at i (with at least
// one byte after it), appends its text to b and returns the offset after it.
func (p *parser) escape(b []byte, i int) ([]byte, int, error) {
	d := p.data
	switch e := d[i+1]; e {
	case '"', '\\', '/':
		return append(b, e), i + 2, nil
	case 'b':
		return append(b, '\b'), i + 2, nil
	case 'f':
		return append(b, '\f'), i + 2, nil
	case 'n':
		return append(b, '\n'), i + 2, nil
	case 'r':
		return append(b, '\r'), i + 2, nil
	case 't':
		return append(b, '\t'), i + 2, nil
	case 'u':
	default:
		return nil, 0, errUnexpected(d, i+1, " in escape")
	}
	r, err := p.hex4(i + 2)
	if err != nil {
		return nil, 0, err
	}
	i += 6
	if r >= 0xD800 && r < 0xE000 { // a UTF-16 surrogate
		r1 := r
		r = utf8.RuneError
		if r1 < 0xDC00 && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
			r2, err := p.hex4(i + 2)
			if err != nil {
				return nil, 0, err
			}
			if r2 >= 0xDC00 && r2 < 0xE000 {
				r = 0x10000 + (r1-0xD800)<<10 + (r2 - 0xDC00)
				i += 6
			}
		}
	}
	return utf8.AppendRune(b, r), i, nil
}

// hex4 decodes the four hex digits of a \u escape starting at i.
func (p *parser) hex4(i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(p.data) {
			return 0, p.eof()
		}
		c := p.data[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errUnexpected(p.data, j, " in \\u escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
