package script

// The cjson decoder (cjson.go has the library and the encoder).

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

type cjsonTokenType uint8

// The token types, in lua-cjson's order: their names appear in error texts.
const (
	cjsonObjBegin cjsonTokenType = iota
	cjsonObjEnd
	cjsonArrBegin
	cjsonArrEnd
	cjsonString
	cjsonNumber
	cjsonBoolean
	cjsonNull
	cjsonColon
	cjsonComma
	cjsonEnd
	cjsonWhitespace
	cjsonErrTok
)

var cjsonTokenNames = [...]string{
	"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END",
	"T_WHITESPACE", "T_ERROR",
}

// cjsonPunctuation maps the one-byte tokens to their types.
var cjsonPunctuation = [256]cjsonTokenType{'{': cjsonObjBegin, '}': cjsonObjEnd,
	'[': cjsonArrBegin, ']': cjsonArrEnd, ',': cjsonComma, ':': cjsonColon}

// cjsonToken is one token; for cjsonErrTok, str is the reason ("invalid
// token") and index where the fault is.
type cjsonToken struct {
	typ   cjsonTokenType
	index int // 0-based offset into the input
	str   string
	num   float64
}

// cjsonDecoder parses JSON text into Lua values.
type cjsonDecoder struct {
	L     *lua.LState
	null  lua.LValue
	data  string // the input, cut at its first NUL byte (where C stops)
	pos   int
	depth int
	// vals and keys are stacks of the members of the arrays and objects being
	// parsed; each uses the part above where it started.
	vals []lua.LValue
	keys []string
	tmp  []byte // unescaped string being built
}

// decode is cjson.decode(text).
func (lib *cjsonLib) decode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	s := L.CheckString(1)
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		cjsonRaise(L, cjsonError("JSON parser does not support UTF-16 or UTF-32"))
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	d := &lib.dec
	d.L, d.data, d.pos, d.depth = L, s, 0, 0
	v, err := d.value(d.next())
	if tok := d.next(); err == nil && tok.typ != cjsonEnd {
		err = cjsonParseError("the end", tok)
	}
	d.L, d.data = nil, ""
	d.vals, d.keys = cjsonShrink(d.vals, cjsonKeepBuffer/16), cjsonShrink(d.keys, cjsonKeepBuffer/16)
	d.tmp = cjsonShrink(d.tmp, cjsonKeepBuffer)
	if err != nil {
		cjsonRaise(L, err)
	}
	L.Push(v)
	return 1
}

// cjsonParseError is lua-cjson's json_throw_parse_error text.
func cjsonParseError(expected string, tok cjsonToken) error {
	found := cjsonTokenNames[tok.typ]
	if tok.typ == cjsonErrTok {
		found = tok.str
	}
	return cjsonError(fmt.Sprintf("Expected %s but found %s at character %d", expected, found, tok.index+1))
}

func (d *cjsonDecoder) value(tok cjsonToken) (lua.LValue, error) {
	switch tok.typ {
	case cjsonString:
		return lua.LString(tok.str), nil
	case cjsonNumber:
		return lua.LNumber(tok.num), nil
	case cjsonBoolean:
		return lua.LBool(tok.num != 0), nil
	case cjsonNull:
		return d.null, nil
	case cjsonObjBegin:
		return d.object()
	case cjsonArrBegin:
		return d.array()
	}
	return nil, cjsonParseError("value", tok)
}

// descend enters an array or object, whose opening token was just read.
func (d *cjsonDecoder) descend() error {
	d.depth++
	if d.depth > cjsonMaxDepth {
		return cjsonError(fmt.Sprintf("Found too many nested data structures (%d) at character %d", d.depth, d.pos))
	}
	return nil
}

func (d *cjsonDecoder) array() (lua.LValue, error) {
	if err := d.descend(); err != nil {
		return nil, err
	}
	base := len(d.vals)
	tok := d.next()
	if tok.typ != cjsonArrEnd {
		for {
			v, err := d.value(tok)
			if err != nil {
				return nil, err
			}
			d.vals = append(d.vals, v)
			if tok = d.next(); tok.typ == cjsonArrEnd {
				break
			}
			if tok.typ != cjsonComma {
				return nil, cjsonParseError("comma or array end", tok)
			}
			tok = d.next()
		}
	}
	t := d.L.CreateTable(len(d.vals)-base, 0)
	for _, v := range d.vals[base:] {
		t.Append(v)
	}
	clear(d.vals[base:])
	d.vals = d.vals[:base]
	d.depth--
	return t, nil
}

func (d *cjsonDecoder) object() (lua.LValue, error) {
	if err := d.descend(); err != nil {
		return nil, err
	}
	base, kbase := len(d.vals), len(d.keys)
	tok := d.next()
	if tok.typ != cjsonObjEnd {
		for {
			if tok.typ != cjsonString {
				return nil, cjsonParseError("object key string", tok)
			}
			key := tok.str
			if tok = d.next(); tok.typ != cjsonColon {
				return nil, cjsonParseError("colon", tok)
			}
			v, err := d.value(d.next())
			if err != nil {
				return nil, err
			}
			d.keys = append(d.keys, key)
			d.vals = append(d.vals, v)
			if tok = d.next(); tok.typ == cjsonObjEnd {
				break
			}
			if tok.typ != cjsonComma {
				return nil, cjsonParseError("comma or object end", tok)
			}
			tok = d.next()
		}
	}
	t := d.L.CreateTable(0, len(d.vals)-base)
	for i, v := range d.vals[base:] {
		t.RawSetString(d.keys[kbase+i], v) // a repeated key: the last wins
	}
	clear(d.vals[base:])
	clear(d.keys[kbase:])
	d.vals, d.keys = d.vals[:base], d.keys[:kbase]
	d.depth--
	return t, nil
}

var cjsonLiterals = []struct {
	text string
	typ  cjsonTokenType
	num  float64
}{{"true", cjsonBoolean, 1}, {"false", cjsonBoolean, 0}, {"null", cjsonNull, 0}}

// next reads the next token (lua-cjson's json_next_token).
func (d *cjsonDecoder) next() cjsonToken {
	for {
		if c := cjsonAt(d.data, d.pos); c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		d.pos++
	}
	tok := cjsonToken{index: d.pos}
	c := cjsonAt(d.data, d.pos)
	switch c {
	case 0:
		tok.typ = cjsonEnd
		return tok
	case '{', '}', '[', ']', ',', ':':
		tok.typ = cjsonPunctuation[c]
		d.pos++
		return tok
	case '"':
		return d.stringToken()
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return d.numberToken()
	case 't', 'f', 'n', 'i', 'I', 'N', '+':
		rest := d.data[d.pos:]
		for _, lit := range cjsonLiterals {
			if strings.HasPrefix(rest, lit.text) {
				tok.typ, tok.num = lit.typ, lit.num
				d.pos += len(lit.text)
				return tok
			}
		}
		// decode_invalid_numbers is on: strtod gets '+', Inf and NaN.
		if c == '+' || cjsonHasPrefixFold(rest, "inf") || cjsonHasPrefixFold(rest, "nan") {
			return d.numberToken()
		}
	}
	tok.typ, tok.str = cjsonErrTok, "invalid token"
	return tok
}

// cjsonUnescape maps the byte after a backslash to what it stands for; 'u'
// starts a \uXXXX escape and 0 marks an invalid escape.
var cjsonUnescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f',
	'n': '\n', 'r': '\r', 't': '\t', 'u': 'u'}

// stringToken reads a string; d.pos is at its opening quote.
func (d *cjsonDecoder) stringToken() cjsonToken {
	start := d.pos + 1
	i := start
	for i < len(d.data) && d.data[i] != '"' && d.data[i] != '\\' {
		i++
	}
	if cjsonAt(d.data, i) == '"' { // no escapes: share the input's bytes
		d.pos = i + 1
		return cjsonToken{typ: cjsonString, index: start - 1, str: d.data[start:i]}
	}
	d.tmp = append(d.tmp[:0], d.data[start:i]...)
	for {
		c := cjsonAt(d.data, i)
		switch c {
		case '"':
			d.pos = i + 1
			return cjsonToken{typ: cjsonString, index: start - 1, str: string(d.tmp)}
		case 0:
			return cjsonToken{typ: cjsonErrTok, index: i, str: "unexpected end of string"}
		case '\\':
			r := cjsonUnescape[cjsonAt(d.data, i+1)]
			switch r {
			case 'u':
				n, ok := d.unicodeEscape(i)
				if !ok {
					return cjsonToken{typ: cjsonErrTok, index: i, str: "invalid unicode escape code"}
				}
				i += n
				continue
			case 0:
				return cjsonToken{typ: cjsonErrTok, index: i, str: "invalid escape code"}
			}
			d.tmp = append(d.tmp, r)
			i += 2
		default:
			d.tmp = append(d.tmp, c)
			i++
		}
	}
}

// unicodeEscape decodes the \uXXXX (or surrogate pair \uXXXX\uXXXX) at i into
// d.tmp as UTF-8 and returns its length in the input.
func (d *cjsonDecoder) unicodeEscape(i int) (int, bool) {
	cp := d.hex4(i + 2)
	if cp < 0 {
		return 0, false
	}
	n := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 || cjsonAt(d.data, i+6) != '\\' || cjsonAt(d.data, i+7) != 'u' {
			return 0, false // a low surrogate first, or a high one alone
		}
		low := d.hex4(i + 8)
		if low < 0 || low&0xFC00 != 0xDC00 {
			return 0, false
		}
		cp = ((cp&0x3FF)<<10 | (low & 0x3FF)) + 0x10000
		n = 12
	}
	d.tmp = utf8.AppendRune(d.tmp, rune(cp))
	return n, true
}

// hex4 returns the value of the four hex digits at i, or -1.
func (d *cjsonDecoder) hex4(i int) int {
	if i+4 > len(d.data) {
		return -1
	}
	v, err := strconv.ParseUint(d.data[i:i+4], 16, 16)
	if err != nil {
		return -1
	}
	return int(v)
}

// numberToken reads a number as C's strtod does; d.pos is at its first byte.
func (d *cjsonDecoder) numberToken() cjsonToken {
	start := d.pos
	f, end := cjsonStrtod(d.data, start)
	if end == start {
		return cjsonToken{typ: cjsonErrTok, index: start, str: "invalid number"}
	}
	d.pos = end
	return cjsonToken{typ: cjsonNumber, index: start, num: f}
}

// cjsonStrtod parses the longest prefix of s[start:] that glibc's strtod
// accepts (a sign, then a decimal or hex number, inf, infinity or nan(...),
// case-insensitively) and returns its value and end; end == start when there
// is none. Out-of-range values become ±Inf or 0, as with strtod.
func cjsonStrtod(s string, start int) (float64, int) {
	i := start
	if c := cjsonAt(s, i); c == '+' || c == '-' {
		i++
	}
	sign := 1.0
	if cjsonAt(s, start) == '-' {
		sign = -1
	}
	rest := s[i:]
	switch {
	case cjsonHasPrefixFold(rest, "infinity"):
		return math.Inf(int(sign)), i + 8
	case cjsonHasPrefixFold(rest, "inf"):
		return math.Inf(int(sign)), i + 3
	case cjsonHasPrefixFold(rest, "nan"):
		end := i + 3
		if cjsonAt(s, end) == '(' {
			j := end + 1
			for c := cjsonAt(s, j); c == '_' || cjsonIsDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z'; c = cjsonAt(s, j) {
				j++
			}
			if cjsonAt(s, j) == ')' {
				end = j + 1
			}
		}
		return math.NaN(), end
	}
	hex := cjsonAt(s, i) == '0' && cjsonAt(s, i+1)|0x20 == 'x'
	mantissa := i
	if hex {
		mantissa = i + 2
	}
	// The mantissa: digits, a point, digits; at least one digit.
	j, digits := mantissa, 0
	for ; cjsonIsDigit(cjsonAt(s, j)) || hex && cjsonIsHex(cjsonAt(s, j)); j++ {
		digits++
	}
	if cjsonAt(s, j) == '.' {
		for j++; cjsonIsDigit(cjsonAt(s, j)) || hex && cjsonIsHex(cjsonAt(s, j)); j++ {
			digits++
		}
	}
	if digits == 0 {
		if hex { // "0x" and no hex digit: strtod reads the "0" alone
			return math.Copysign(0, sign), i + 1
		}
		return 0, start
	}
	// The exponent, kept only when digits follow its letter and sign.
	text := s[start:j]
	if hex {
		text += "p0" // strconv requires the exponent
	}
	if c := cjsonAt(s, j); hex && c|0x20 == 'p' || !hex && c|0x20 == 'e' {
		k := j + 1
		if c := cjsonAt(s, k); c == '+' || c == '-' {
			k++
		}
		if cjsonIsDigit(cjsonAt(s, k)) {
			for cjsonIsDigit(cjsonAt(s, k)) {
				k++
			}
			j, text = k, s[start:k]
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, start // not reached: the text was checked above
	}
	return f, j
}

// cjsonAt returns s[i], or 0 past the end (the C string's terminator).
func cjsonAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func cjsonIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func cjsonIsHex(c byte) bool { return cjsonIsDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// cjsonHasPrefixFold is strncasecmp(s, prefix, len(prefix)) == 0 for an
// ASCII lower-case prefix.
func cjsonHasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if s[i]|0x20 != prefix[i] {
			return false
		}
	}
	return true
}
