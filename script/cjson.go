package script

// The cjson library: lua-cjson 2.1.0 as Redis bundles it, for gopher-lua. The
// JSON written, the inputs accepted and the error texts are Redis's (checked
// against redis-server). Deliberate differences, besides those OpenCJSON
// lists: a table with an integer key above 2^31-1 is always an object
// (lua-cjson casts such keys to a C int, undefined behaviour, and its output
// then depends on the iteration order); argument errors use gopher-lua's
// wording ("bad argument #1 to encode (...)", Redis: "to 'encode'").

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// lua-cjson's defaults: nesting depth (encode and decode), sparse arrays (a
// table whose largest index is above both safe and ratio times its number of
// keys is refused), number precision.
const (
	cjsonMaxDepth    = 1000
	cjsonSparseRatio = 2
	cjsonSparseSafe  = 10
	cjsonPrecision   = 14
	cjsonMaxIndex    = math.MaxInt32 // the largest array index (a C int)
	cjsonKeepBuffer  = 64 << 10      // the largest scratch buffer kept
)

// cjsonNullValue is the Value of the userdata that stands for JSON null
// (lua-cjson's NULL lightuserdata). Any userdata holding it encodes as null.
type cjsonNullValue struct{}

// cjsonIsNull reports whether v is cjson.null.
func cjsonIsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return false
	}
	_, ok = ud.Value.(cjsonNullValue)
	return ok
}

// cjsonLib is the scratch space behind one cjson table, reused by encode and
// decode. An LState is used by one goroutine at a time, and neither encode nor
// decode calls back into Lua, so it needs no lock.
type cjsonLib struct {
	enc cjsonEncoder
	dec cjsonDecoder
}

// OpenCJSON installs the global table `cjson` (encode, decode, null, and the
// encode_* / decode_* configuration functions as no-ops-with-same-return where
// Redis allows them) into L, as Redis 7.2's Lua has it.
//
// cjson.null is a userdata (lua-cjson uses a NULL lightuserdata); decode
// returns that same value for JSON null, so `cjson.decode('null') ==
// cjson.null`; cjsonIsNull recognises it. The configuration functions check
// their arguments and return what lua-cjson returns, but the defaults stay in
// force (depth 1000, precision 14, sparse arrays refused, NaN and Inf refused
// by encode and accepted by decode): in Redis a setting leaks into every later
// script. Object keys are encoded in sorted order, number keys ascending then
// string keys bytewise (lua-cjson's order is lua_next's, unspecified). The
// cjson table is not made read-only (Redis 7 does that to all its globals).
func OpenCJSON(L *lua.LState) {
	null := L.NewUserData()
	null.Value = cjsonNullValue{}
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	null.Metatable = mt
	L.SetGlobal("cjson", cjsonNewTable(L, null))
}

// cjsonNewTable builds one cjson module table around the null sentinel.
func cjsonNewTable(L *lua.LState, null *lua.LUserData) *lua.LTable {
	lib := &cjsonLib{}
	lib.dec.null = null
	t := L.CreateTable(0, 14)
	funcs := []struct {
		name string
		fn   lua.LGFunction
	}{
		{"encode", lib.encode},
		{"decode", lib.decode},
		{"encode_sparse_array", cjsonEncodeSparseArray},
		{"encode_max_depth", cjsonIntOption(cjsonMaxDepth, 1, math.MaxInt32)},
		{"decode_max_depth", cjsonIntOption(cjsonMaxDepth, 1, math.MaxInt32)},
		{"encode_number_precision", cjsonIntOption(cjsonPrecision, 1, 14)},
		{"encode_keep_buffer", cjsonEnumOption(1, cjsonOnOff)},
		{"encode_invalid_numbers", cjsonEnumOption(0, []string{"off", "on", "null"})},
		{"decode_invalid_numbers", cjsonEnumOption(1, cjsonOnOff)},
		{"new", func(L *lua.LState) int {
			L.Push(cjsonNewTable(L, null))
			return 1
		}},
	}
	for _, f := range funcs {
		t.RawSetString(f.name, L.NewFunction(f.fn))
	}
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// ===== configuration =====

var cjsonOnOff = []string{"off", "on"}

// cjsonArgInit checks the argument count like lua-cjson's json_arg_init.
func cjsonArgInit(L *lua.LState, n int) {
	if L.GetTop() > n {
		L.ArgError(n+1, "found too many arguments")
	}
}

// cjsonIntOption returns a configuration function taking one optional integer
// in [lo, hi]; it returns the integer given, or def.
func cjsonIntOption(def, lo, hi int) lua.LGFunction {
	return func(L *lua.LState) int {
		cjsonArgInit(L, 1)
		L.Push(lua.LNumber(cjsonCheckInt(L, 1, def, lo, hi)))
		return 1
	}
}

// cjsonCheckInt reads optional integer argument n as lua-cjson's
// json_integer_option does (which reports range errors against argument 1).
func cjsonCheckInt(L *lua.LState, n, def, lo, hi int) int {
	if L.Get(n) == lua.LNil {
		return def
	}
	v := int64(L.CheckNumber(n))
	if v < int64(lo) || v > int64(hi) {
		L.ArgError(1, fmt.Sprintf("expected integer between %d and %d", lo, hi))
	}
	return int(v)
}

// cjsonEnumOption returns a configuration function taking one optional
// boolean or option name; it returns the setting as lua-cjson does: a boolean
// for off/on, the name otherwise.
func cjsonEnumOption(def int, names []string) lua.LGFunction {
	return func(L *lua.LState) int {
		cjsonArgInit(L, 1)
		L.Push(cjsonCheckEnum(L, 1, def, names))
		return 1
	}
}

func cjsonCheckEnum(L *lua.LState, n, def int, names []string) lua.LValue {
	setting := def
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
	case lua.LBool:
		setting = 0
		if v {
			setting = 1
		}
	default:
		name := L.CheckString(n)
		setting = slices.Index(names, name)
		if setting < 0 {
			L.ArgError(n, fmt.Sprintf("invalid option '%s'", name))
		}
	}
	if setting <= 1 {
		return lua.LBool(setting == 1)
	}
	return lua.LString(names[setting])
}

// cjsonEncodeSparseArray is cjson.encode_sparse_array([convert[, ratio[, safe]]]).
func cjsonEncodeSparseArray(L *lua.LState) int {
	cjsonArgInit(L, 3)
	convert := cjsonCheckEnum(L, 1, 0, cjsonOnOff)
	ratio := cjsonCheckInt(L, 2, cjsonSparseRatio, 0, math.MaxInt32)
	safe := cjsonCheckInt(L, 3, cjsonSparseSafe, 0, math.MaxInt32)
	L.Push(convert)
	L.Push(lua.LNumber(ratio))
	L.Push(lua.LNumber(safe))
	return 3
}

// ===== encoding =====

// cjsonEncoder turns Lua values into JSON text in a reused buffer.
type cjsonEncoder struct {
	buf []byte
	// pairs is a stack of the entries of the tables being encoded; each table
	// uses the part above where it started and truncates it when done.
	pairs []cjsonPair
}

type cjsonPair struct {
	k, v lua.LValue
}

// encode is cjson.encode(value).
func (lib *cjsonLib) encode(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.ArgError(1, "expected 1 argument")
	}
	e := &lib.enc
	e.buf = e.buf[:0]
	if err := e.value(L.Get(1), 0); err != nil {
		cjsonRaise(L, err)
	}
	out := string(e.buf)
	e.buf, e.pairs = cjsonShrink(e.buf, cjsonKeepBuffer), cjsonShrink(e.pairs, cjsonKeepBuffer/16)
	L.Push(lua.LString(out))
	return 1
}

// cjsonShrink empties a scratch slice for the next call (they are non-empty
// only after an error), dropping it if it grew past limit.
func cjsonShrink[T any](s []T, limit int) []T {
	if cap(s) > limit {
		return nil
	}
	clear(s)
	return s[:0]
}

// cjsonError is an error raised to the script, worded as lua-cjson words it.
type cjsonError string

func (e cjsonError) Error() string { return string(e) }

// cjsonRaise raises err as luaL_error does: prefixed with the position of
// the calling Lua function ("user_script:1: "), if a Lua function called.
func cjsonRaise(L *lua.LState, err error) {
	if dbg, ok := L.GetStack(1); ok {
		if _, e := L.GetInfo("S", dbg, lua.LNil); e == nil && dbg.What != "G" {
			L.RaiseError("%s", err.Error())
		}
	}
	L.Error(lua.LString(err.Error()), 0)
}

// cjsonEncodeError is lua-cjson's json_encode_exception text.
func cjsonEncodeError(v lua.LValue, reason string) error {
	return cjsonError(fmt.Sprintf("Cannot serialise %s: %s", v.Type(), reason))
}

// value appends v; depth is the number of tables around it.
func (e *cjsonEncoder) value(v lua.LValue, depth int) error {
	switch v := v.(type) {
	case lua.LString:
		e.appendString(string(v))
	case lua.LNumber:
		return e.appendNumber(v)
	case lua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(v))
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case *lua.LTable:
		depth++
		if depth > cjsonMaxDepth {
			return cjsonError(fmt.Sprintf("Cannot serialise, excessive nesting (%d)", depth))
		}
		return e.table(v, depth)
	case *lua.LUserData:
		if _, ok := v.Value.(cjsonNullValue); ok {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return cjsonEncodeError(v, "type not supported")
	default:
		return cjsonEncodeError(v, "type not supported")
	}
	return nil
}

// table appends t as an array when all its keys are positive integers and it
// is not excessively sparse (lua-cjson's lua_array_length), else as an object.
func (e *cjsonEncoder) table(t *lua.LTable, depth int) error {
	base := len(e.pairs)
	defer func() {
		clear(e.pairs[base:]) // let the collector have the values
		e.pairs = e.pairs[:base]
	}()
	maxIndex, items, array := 0, 0, true
	t.ForEach(func(k, v lua.LValue) {
		e.pairs = append(e.pairs, cjsonPair{k, v})
		if !array {
			return
		}
		n, ok := k.(lua.LNumber)
		switch {
		case !ok || n < 1 || n != lua.LNumber(math.Floor(float64(n))):
			array = false
		case n > cjsonMaxIndex:
			array = false // see the file comment
		default:
			maxIndex = max(maxIndex, int(n))
			items++
		}
	})
	if array && maxIndex > items*cjsonSparseRatio && maxIndex > cjsonSparseSafe {
		return cjsonEncodeError(t, "excessively sparse array")
	}
	if array && maxIndex > 0 {
		e.buf = append(e.buf, '[')
		for i := 1; i <= maxIndex; i++ {
			if i > 1 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(t.RawGet(lua.LNumber(i)), depth); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	}
	end := len(e.pairs)
	for _, p := range e.pairs[base:end] {
		if p.k.Type() != lua.LTNumber && p.k.Type() != lua.LTString {
			return cjsonEncodeError(p.k, "table key must be a number or string")
		}
	}
	slices.SortFunc(e.pairs[base:end], cjsonCompareKeys)
	e.buf = append(e.buf, '{')
	for i := base; i < end; i++ {
		if i > base {
			e.buf = append(e.buf, ',')
		}
		p := e.pairs[i] // e.pairs may be reallocated by the nested calls
		switch k := p.k.(type) {
		case lua.LNumber:
			e.buf = append(e.buf, '"')
			if err := e.appendNumber(k); err != nil {
				return err
			}
			e.buf = append(e.buf, '"', ':')
		case lua.LString:
			e.appendString(string(k))
			e.buf = append(e.buf, ':')
		}
		if err := e.value(p.v, depth); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// cjsonCompareKeys orders object keys: numbers ascending, then strings.
func cjsonCompareKeys(a, b cjsonPair) int {
	an, aNum := a.k.(lua.LNumber)
	bn, bNum := b.k.(lua.LNumber)
	switch {
	case aNum && bNum:
		return cmp.Compare(an, bn)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(string(a.k.(lua.LString)), string(b.k.(lua.LString)))
}

// appendNumber writes n as C's "%.14g" does; NaN and Inf are refused.
func (e *cjsonEncoder) appendNumber(n lua.LNumber) error {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return cjsonEncodeError(n, "must not be NaN or Inf")
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e14 && (f != 0 || !math.Signbit(f)) {
		e.buf = strconv.AppendInt(e.buf, int64(f), 10)
		return nil
	}
	// strconv's 'g' with a precision matches C's %g: the same switch to the
	// exponent form, trailing zeros dropped, at least two exponent digits.
	e.buf = strconv.AppendFloat(e.buf, f, 'g', cjsonPrecision, 64)
	return nil
}

// cjsonEscapes holds lua-cjson's char2escape table: the escape for each byte,
// or "" for a byte written as is.
var cjsonEscapes = func() (t [256]string) {
	const hex = "0123456789abcdef"
	for c := range 0x20 {
		t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	t['"'], t['\\'], t['/'], t[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return t
}()

// appendString writes s quoted; bytes other than those escaped, including
// invalid UTF-8, are copied as they are.
func (e *cjsonEncoder) appendString(s string) {
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if esc := cjsonEscapes[s[i]]; esc != "" {
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, esc...)
			start = i + 1
		}
	}
	e.buf = append(e.buf, s[start:]...)
	e.buf = append(e.buf, '"')
}

// ===== decoding =====

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
