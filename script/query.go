package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// A reactive query written in Lua (docs/commands.md, "Function queries") is
// run by Query: a chunk compiled with CompileQuery, which reads its
// parameters from the global table params, or a library function flagged
// no-writes, called with the parameters table as its argument. Its return
// value is the query's result as JSON text, by cjson's rules; a string is
// the result as it is.

// QueryChunk is a compiled query chunk (QUERY.DEFINE … LUA). It is not
// in the EVAL script cache: SCRIPT FLUSH does not drop it.
type QueryChunk struct {
	s *Script
}

// CompileQuery compiles a query chunk. Errors are *Error, worded as
// EVAL's compile errors.
func (e *Engine) CompileQuery(code string) (*QueryChunk, error) {
	proto, err := compile(code, "user_query")
	if err != nil {
		return nil, &Error{Text: "ERR Error compiling query: " + err.Error()}
	}
	// The key under which interpreters keep the compiled function: never
	// an EVAL script's SHA1 (40 hex digits).
	return &QueryChunk{s: &Script{SHA: "query:" + SHA1([]byte(code)), Body: code, proto: proto}}, nil
}

// Query runs a query, a chunk (chunk not nil) or the function f, with
// params, the JSON text of an object ("" for none), and returns its result
// as JSON text. c.Caller runs its reads; c.TimeLimit bounds it. Errors are
// *Error: the run's error as EVAL words it, a result cjson cannot encode,
// or an error reply returned by the query.
func (e *Engine) Query(chunk *QueryChunk, f *Function, params string, c *Call) ([]byte, error) {
	st := e.get()
	var fn *lua.LFunction
	name, source := "", "@user_query"
	if chunk != nil {
		fn = st.function(chunk.s)
		name = "query"
	} else {
		fns := st.libs[f.Library]
		if fns == nil {
			var err error
			if fns, err = st.instantiate(f.Library, false); err != nil {
				return nil, err
			}
		}
		fn = fns[strings.ToLower(f.Name)]
		name, source = f.Name, "@user_function"
	}
	var out []byte
	err := e.executeWith(st, fn, c, KindQuery, name, source,
		func(L *lua.LState) int {
			p, err := st.decodeParams(params)
			if err != nil {
				p = L.NewTable() // checked by the caller: cannot happen
			}
			if chunk != nil {
				st.sb.real.RawSetString("params", p)
				return 0
			}
			L.Push(p)
			return 1
		},
		func(_ *run, ret lua.LValue) error {
			var err error
			out, err = queryResult(ret)
			return err
		})
	return out, err
}

// decodeParams turns the parameters' JSON text into a Lua table, JSON
// null being cjson.null.
func (st *state) decodeParams(params string) (lua.LValue, error) {
	if params == "" {
		return st.L.NewTable(), nil
	}
	d := &cjsonDecoder{L: st.L, null: st.null, data: params}
	v, err := d.value(d.next())
	if tok := d.next(); err == nil && tok.typ != cjsonEnd {
		err = cjsonParseError("the end", tok)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// queryResult is the JSON text of a query's return value: a string as it
// is, anything else by cjson's rules. A table with an err field (what
// redis.error_reply returns) is the run's error.
func queryResult(v lua.LValue) ([]byte, error) {
	switch v := v.(type) {
	case lua.LString:
		return []byte(v), nil
	case *lua.LTable:
		if msg, ok := v.RawGetString("err").(lua.LString); ok {
			text := oneLine(string(msg))
			if !isErrorCode(text) {
				text = "ERR " + text
			}
			return nil, &Error{Text: text}
		}
	}
	var enc cjsonEncoder
	if err := enc.value(v, 0); err != nil {
		return nil, &Error{Text: "ERR query result cannot be encoded as JSON: " + err.Error()}
	}
	return enc.buf, nil
}

// isErrorCode reports whether text starts with an error code: a word of
// capitals followed by a space, as in "NOSCRIPT …".
func isErrorCode(text string) bool {
	word, _, found := strings.Cut(text, " ")
	if word == "" || !found {
		return false
	}
	for i := 0; i < len(word); i++ {
		if word[i] < 'A' || word[i] > 'Z' {
			return false
		}
	}
	return true
}
