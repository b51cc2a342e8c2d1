package jsonv

import (
	"strconv"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects Parse accepts: 512
// nested arrays parse, 513 are rejected with "nesting too deep".
const MaxDepth = 512

// linearKeys is the object size up to which duplicate keys are found by a
// linear scan; larger objects get a map so hostile input stays linear.
const linearKeys = 32

// smallInts holds the numbers 0 to 1023 already stored in a Value, so parsing
// common small numbers (counts, versions, flags) does not allocate.
var smallInts = func() (t [1024]Value) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// Parse decodes exactly one JSON value (RFC 8259, strict) from data,
// optionally surrounded by whitespace (space, tab, newline, carriage return).
//
// Numbers become float64 (a number too large for float64, such as 1e400, is
// an error; one too small becomes 0). Strings must be valid UTF-8; \u escapes
// naming a lone UTF-16 surrogate become U+FFFD. Objects keep their keys in
// document order; when a key repeats, it keeps its first position and takes
// the last value, as JavaScript's JSON.parse does. Arrays are []Value, never
// nil. Nesting deeper than MaxDepth is an error.
//
// Errors are *SyntaxError. The result never shares memory with data.
func Parse(data []byte) (Value, error) {
	p := getParser(data)
	v, err := p.document()
	putParser(p)
	return v, err
}

// ParseString is Parse for a string, without copying s.
func ParseString(s string) (Value, error) {
	// Safe: the parser never writes to its input and copies every string it
	// returns, so nothing aliases s after the call.
	return Parse(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// ParseObject is Parse for documents whose top-level value must be an
// object. Syntax errors are reported first; a valid document holding another
// type fails with the message "expected a JSON object".
func ParseObject(data []byte) (*Object, error) {
	return parseObject(data, false, nil)
}

// parseObject is ParseObject, with string values pointing into data when
// alias is set (see ParseObjectAliased), and the top-level object built in
// *dst when dst is not nil.
func parseObject(data []byte, alias bool, dst *Object) (*Object, error) {
	return parseObjectInto(data, alias, dst, false)
}

// parseObjectInto is parseObject, with the top-level object's values in
// dst.Vals's array when reuse is set (ParseObjectReuse).
func parseObjectInto(data []byte, alias bool, dst *Object, reuse bool) (*Object, error) {
	p := getParser(data)
	p.alias, p.top, p.reuseTop = alias, dst, reuse
	v, err := p.document()
	putParser(p)
	o, ok := v.(*Object)
	if err != nil || !ok {
		if dst != nil {
			*dst = Object{} // it may hold part of the input
		}
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		off := 0
		for off < len(data) && isSpace(data[off]) {
			off++
		}
		return nil, errAt(off, msgNotObject)
	}
	return o, nil
}

// document parses the whole input: one value, then only whitespace.
func (p *parser) document() (Value, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, errAt(p.pos, msgTrailing)
	}
	return v, nil
}

// value parses one value after optional whitespace.
func (p *parser) value() (Value, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.eof()
	}
	switch c := p.data[p.pos]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		raw, err := p.str()
		if err != nil {
			return nil, err
		}
		if p.alias && len(raw) > 0 && p.inData(raw) {
			return unsafe.String(&raw[0], len(raw)), nil
		}
		return string(raw), nil
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		if c == '-' || isDigit(c) {
			return p.number()
		}
		return nil, p.unexpected(p.pos)
	}
}

// literal consumes word (true, false or null) at the current position.
func (p *parser) literal(word string) error {
	for i := 0; i < len(word); i++ {
		at := p.pos + i
		if at >= len(p.data) {
			return p.eof()
		}
		if p.data[at] != word[i] {
			return p.unexpected(at)
		}
	}
	p.pos += len(word)
	return nil
}

// array parses an array; the current byte is '['.
func (p *parser) array() (Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return []Value{}, nil
	}
	base := len(p.vals)
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.vals = append(p.vals, v)
		if done, err := p.next(']'); err != nil {
			return nil, err
		} else if done {
			break
		}
	}
	out := make([]Value, len(p.vals)-base)
	copy(out, p.vals[base:])
	p.popVals(base)
	p.depth--
	return out, nil
}

// object parses an object; the current byte is '{'.
func (p *parser) object() (Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		vals, _ := p.lentVals() // kept for the next parse
		o := p.newObject(nil, vals)
		p.depth--
		return o, nil
	}
	kbase, vbase := len(p.keys), len(p.vals)
	var index map[string]int // key -> position, once the object is large
	for {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		at := -1
		if index != nil {
			if j, ok := index[key]; ok {
				at = j
			}
		} else {
			for j, k := range p.keys[kbase:] {
				if k == key {
					at = j
					break
				}
			}
		}
		if at >= 0 {
			p.vals[vbase+at] = v
		} else {
			p.keys = append(p.keys, key)
			p.vals = append(p.vals, v)
			if n := len(p.keys) - kbase; index != nil {
				index[key] = n - 1
			} else if n > linearKeys {
				index = make(map[string]int, 2*n)
				for j, k := range p.keys[kbase:] {
					index[k] = j
				}
			}
		}
		if done, err := p.next('}'); err != nil {
			return nil, err
		} else if done {
			break
		}
	}
	n := len(p.keys) - kbase
	vals, lent := p.lentVals()
	if lent {
		vals = append(vals, p.vals[vbase:]...)
	} else {
		vals = make([]Value, n)
		copy(vals, p.vals[vbase:])
	}
	o := p.newObject(p.sharedKeys(p.keys[kbase:]), vals)
	clear(p.keys[kbase:])
	p.keys = p.keys[:kbase]
	p.popVals(vbase)
	p.depth--
	return o, nil
}

// lentVals returns the caller's array for the values of the object being
// closed, emptied, when it is the top-level one and the caller lent one
// (ParseObjectReuse).
func (p *parser) lentVals() ([]Value, bool) {
	if p.depth == 1 && p.top != nil && p.reuseTop {
		return p.top.Vals[:0], true
	}
	return nil, false
}

// newObject returns an Object of keys and vals: *p.top for the top-level
// object when the caller gave one (parseObject), a new one otherwise. The
// current depth is the object's.
func (p *parser) newObject(keys []string, vals []Value) *Object {
	if p.depth == 1 && p.top != nil {
		o := p.top
		p.top = nil
		o.Keys, o.Vals = keys, vals
		return o
	}
	return &Object{Keys: keys, Vals: vals}
}

// key parses an object key and the colon after it.
func (p *parser) key() (string, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return "", p.eof()
	}
	if p.data[p.pos] != '"' {
		return "", p.unexpected(p.pos)
	}
	raw, err := p.str()
	if err != nil {
		return "", err
	}
	key := p.intern(raw)
	p.skipSpace()
	if p.pos >= len(p.data) {
		return "", p.eof()
	}
	if p.data[p.pos] != ':' {
		return "", p.unexpected(p.pos)
	}
	p.pos++
	return key, nil
}

// next consumes the separator after an element: ',' (done is false) or the
// closing byte (done is true).
func (p *parser) next(closing byte) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.eof()
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.unexpected(p.pos)
}

// enter consumes an opening bracket and checks the nesting limit.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errAt(p.pos, msgTooDeep)
	}
	p.pos++
	return nil
}

// number parses a number per the JSON grammar; the current byte is '-' or
// a digit.
func (p *parser) number() (Value, error) {
	d := p.data
	start := p.pos
	i := start
	if d[i] == '-' {
		i++
	}
	intStart := i
	var n int64 // the integer part, if short enough not to overflow
	switch {
	case i >= len(d):
		return nil, p.eof()
	case d[i] == '0':
		i++
	case isDigit(d[i]):
		for i < len(d) && isDigit(d[i]) {
			n = n*10 + int64(d[i]-'0')
			i++
		}
	default:
		return nil, p.unexpected(i)
	}
	intEnd := i
	var err error
	if i < len(d) && d[i] == '.' {
		if i, err = p.digits(i + 1); err != nil {
			return nil, err
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i, err = p.digits(i); err != nil {
			return nil, err
		}
	}
	p.pos = i
	// Fast path: up to 15 integer digits are exact in a float64.
	if i == intEnd && i-intStart <= 15 {
		if intStart != start {
			return -float64(n), nil
		}
		if n < int64(len(smallInts)) {
			return smallInts[n], nil
		}
		return float64(n), nil
	}
	f, err := strconv.ParseFloat(string(d[start:i]), 64)
	if err != nil { // the syntax is checked, so this is ErrRange
		return nil, errAt(start, msgRange)
	}
	return f, nil
}

// digits consumes one or more digits starting at i and returns the offset
// after them.
func (p *parser) digits(i int) (int, error) {
	d := p.data
	if i >= len(d) {
		return 0, p.eof()
	}
	if !isDigit(d[i]) {
		return 0, p.unexpected(i)
	}
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	return i, nil
}

// skipSpace advances past JSON whitespace.
func (p *parser) skipSpace() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

func (p *parser) eof() error { return errAt(len(p.data), msgEOF) }

func (p *parser) unexpected(off int) error { return errUnexpected(p.data, off, "") }

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func isDigit(c byte) bool { return c-'0' <= 9 }
