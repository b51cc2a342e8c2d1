package script

import (
	"bytes"
	"errors"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"bucketd/resp"
)

// Conversions between replies and Lua values, with Redis's rules
// (docs/scripting.md, "Conversions").

// maxDepth bounds the nesting of a converted value, both ways.
const maxDepth = 1000

var errReplyDepth = errors.New("reached lua stack limit")

// replyToLua converts the reply in b, written in RESP version proto, to a
// Lua value, and reports whether it is an error reply. A reply the
// command layer wrote is always well formed; a malformed one is a bug and
// becomes an error value.
func replyToLua(L *lua.LState, b []byte, proto int) (v lua.LValue, isErr bool) {
	v, rest, err := parseReply(L, b, proto, 0)
	if err != nil || len(rest) != 0 {
		msg := "ERR the command's reply could not be converted"
		if err != nil {
			msg += ": " + err.Error()
		}
		return errorTable(L, msg), true
	}
	if t, ok := v.(*lua.LTable); ok && len(b) > 0 && b[0] == '-' {
		return t, true
	}
	return v, false
}

// line returns the text of b's first line, after its type byte, and the
// rest.
func line(b []byte) (text, rest []byte, err error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return nil, nil, errors.New("truncated reply")
	}
	return b[1:i], b[i+2:], nil
}

func parseReply(L *lua.LState, b []byte, proto, depth int) (lua.LValue, []byte, error) {
	if depth > maxDepth {
		return nil, nil, errReplyDepth
	}
	text, rest, err := line(b)
	if err != nil {
		return nil, nil, err
	}
	switch b[0] {
	case '+':
		t := L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(text))
		return t, rest, nil
	case '-':
		return errorTable(L, string(text)), rest, nil
	case ':':
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			return nil, nil, err
		}
		return lua.LNumber(n), rest, nil
	case '$', '=':
		n, err := strconv.Atoi(string(text))
		if err != nil {
			return nil, nil, err
		}
		if n < 0 {
			return lua.LFalse, rest, nil
		}
		if len(rest) < n+2 {
			return nil, nil, errors.New("truncated bulk")
		}
		s := lua.LString(rest[:n])
		rest = rest[n+2:]
		if b[0] == '$' {
			return s, rest, nil
		}
		// A verbatim string: {verbatim_string={format=…, string=…}}.
		inner := L.CreateTable(0, 2)
		if len(s) >= 4 {
			inner.RawSetString("format", s[:3])
			inner.RawSetString("string", s[4:])
		} else {
			inner.RawSetString("format", lua.LString("txt"))
			inner.RawSetString("string", s)
		}
		t := L.CreateTable(0, 1)
		t.RawSetString("verbatim_string", inner)
		return t, rest, nil
	case '*', '~', '%', '>':
		n, err := strconv.Atoi(string(text))
		if err != nil {
			return nil, nil, err
		}
		if n < 0 {
			return lua.LFalse, rest, nil
		}
		switch b[0] {
		case '%':
			m := L.CreateTable(0, n)
			for range n {
				var k, v lua.LValue
				if k, rest, err = parseReply(L, rest, proto, depth+1); err != nil {
					return nil, nil, err
				}
				if v, rest, err = parseReply(L, rest, proto, depth+1); err != nil {
					return nil, nil, err
				}
				m.RawSet(k, v)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("map", m)
			return t, rest, nil
		case '~':
			m := L.CreateTable(0, n)
			for range n {
				var k lua.LValue
				if k, rest, err = parseReply(L, rest, proto, depth+1); err != nil {
					return nil, nil, err
				}
				m.RawSet(k, lua.LTrue)
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("set", m)
			return t, rest, nil
		}
		t := L.CreateTable(n, 0)
		for i := range n {
			var v lua.LValue
			if v, rest, err = parseReply(L, rest, proto, depth+1); err != nil {
				return nil, nil, err
			}
			t.RawSetInt(i+1, v)
		}
		return t, rest, nil
	case '|':
		// An attribute: scripts do not see it (as in Redis); the reply
		// it annotates follows.
		n, err := strconv.Atoi(string(text))
		if err != nil {
			return nil, nil, err
		}
		for range 2 * n {
			if _, rest, err = parseReply(L, rest, proto, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return parseReply(L, rest, proto, depth)
	case '_':
		return lua.LNil, rest, nil
	case '#':
		return lua.LBool(len(text) == 1 && text[0] == 't'), rest, nil
	case ',':
		f, err := parseDouble(string(text))
		if err != nil {
			return nil, nil, err
		}
		t := L.CreateTable(0, 1)
		t.RawSetString("double", lua.LNumber(f))
		return t, rest, nil
	case '(':
		t := L.CreateTable(0, 1)
		t.RawSetString("big_number", lua.LString(text))
		return t, rest, nil
	}
	return nil, nil, errors.New("unknown reply type " + strconv.QuoteRune(rune(b[0])))
}

// writeDouble writes a double as Redis does: %.17g, inf, -inf, nan; a
// bulk string in RESP2.
func writeDouble(w *resp.Writer, f float64) {
	var tmp [32]byte
	var b []byte
	switch {
	case math.IsInf(f, 1):
		b = append(tmp[:0], "inf"...)
	case math.IsInf(f, -1):
		b = append(tmp[:0], "-inf"...)
	case f != f:
		b = append(tmp[:0], "nan"...)
	default:
		b = strconv.AppendFloat(tmp[:0], f, 'g', 17, 64)
	}
	if w.Proto >= 3 {
		w.Raw([]byte(","))
		w.Raw(b)
		w.Raw([]byte("\r\n"))
		return
	}
	w.Bulk(b)
}

func parseDouble(s string) (float64, error) {
	switch s {
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// errorTable returns {err=msg}.
func errorTable(L *lua.LState, msg string) *lua.LTable {
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(msg))
	return t
}

// writeLua writes the Lua value v as a reply to w, by Redis's rules: a
// string is a bulk string, a number an integer (truncated), true the
// integer 1 (a RESP3 true after redis.setresp(3)), false and nil a null,
// a table with err an error, with ok a status, with double, map, set,
// big_number or verbatim_string that RESP3 type, and any other table an
// array of its elements 1..n up to the first nil.
func writeLua(w *resp.Writer, v lua.LValue, scriptProto, depth int) {
	if depth > maxDepth {
		w.Error("ERR reached lua stack limit")
		return
	}
	switch v := v.(type) {
	case lua.LString:
		w.BulkString(string(v))
	case lua.LNumber:
		w.Int(luaInt(v))
	case lua.LBool:
		switch {
		case scriptProto >= 3:
			w.Bool(bool(v))
		case bool(v):
			w.Int(1)
		default:
			w.Null()
		}
	case *lua.LTable:
		writeTable(w, v, scriptProto, depth)
	default: // nil, cjson.null, functions, coroutines: a null, as in Redis
		w.Null()
	}
}

// luaInt truncates a Lua number to an integer as Redis does (a C cast),
// saturating where the cast is undefined.
func luaInt(n lua.LNumber) int64 {
	f := float64(n)
	switch {
	case f != f:
		return math.MinInt64
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

func writeTable(w *resp.Writer, t *lua.LTable, scriptProto, depth int) {
	if e, ok := t.RawGetString("err").(lua.LString); ok {
		w.Error(oneLine(string(e)))
		return
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		w.Simple(oneLine(string(s)))
		return
	}
	if d := t.RawGetString("double"); d.Type() == lua.LTNumber {
		writeDouble(w, float64(d.(lua.LNumber)))
		return
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		// lua_next order, as Redis: gopher-lua's Next is deterministic
		// (array part, then keys in insertion order), ForEach is not.
		var keys, vals []lua.LValue
		for k, v := m.Next(lua.LNil); k != lua.LNil; k, v = m.Next(k) {
			keys = append(keys, k)
			vals = append(vals, v)
		}
		w.Map(len(keys))
		for i := range keys {
			writeLua(w, keys[i], scriptProto, depth+1)
			writeLua(w, vals[i], scriptProto, depth+1)
		}
		return
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		var keys []lua.LValue
		for k, _ := s.Next(lua.LNil); k != lua.LNil; k, _ = s.Next(k) {
			keys = append(keys, k)
		}
		w.Set(len(keys))
		for _, k := range keys {
			writeLua(w, k, scriptProto, depth+1)
		}
		return
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		if w.Proto >= 3 {
			w.Raw([]byte("(" + oneLine(string(s)) + "\r\n"))
		} else {
			w.BulkString(oneLine(string(s)))
		}
		return
	}
	if vs, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		f, _ := vs.RawGetString("format").(lua.LString)
		s, _ := vs.RawGetString("string").(lua.LString)
		w.Verbatim(string(f), string(s))
		return
	}
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	w.Array(n)
	for i := 1; i <= n; i++ {
		writeLua(w, t.RawGetInt(i), scriptProto, depth+1)
	}
}

// oneLine replaces line breaks with spaces, as an error or status reply
// must not contain them.
func oneLine(s string) string {
	if !bytes.ContainsAny([]byte(s), "\r\n") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}
