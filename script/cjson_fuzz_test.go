package script

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// cjsonFuzzErrors are the only messages decode may fail with; anything else
// (a Go runtime error turned into a Lua error, say) is a bug.
var cjsonFuzzErrors = regexp.MustCompile(`^(` +
	`Expected (value|the end|object key string|colon|comma or array end|comma or object end) but found ` +
	`(T_[A-Z_]+|invalid token|invalid number|invalid escape code|invalid unicode escape code|unexpected end of string) at character \d+|` +
	`Found too many nested data structures \(1001\) at character \d+|` +
	`JSON parser does not support UTF-16 or UTF-32)$`)

// cjsonFuzzSurrogate matches what may be a \u escape of a UTF-16 surrogate.
var cjsonFuzzSurrogate = regexp.MustCompile(`\\u[dD]`)

// cjsonFuzzCall calls cjson.<fn>(arg) and returns its result or error text.
func cjsonFuzzCall(L *lua.LState, fn string, arg lua.LValue) (lua.LValue, string) {
	f := L.GetGlobal("cjson").(*lua.LTable).RawGetString(fn)
	if err := L.CallByParam(lua.P{Fn: f, NRet: 1, Protect: true}, arg); err != nil {
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) {
			return nil, apiErr.Object.String()
		}
		return nil, err.Error()
	}
	v := L.Get(-1)
	L.Pop(1)
	return v, ""
}

// cjsonFuzzNonFinite reports whether v holds a NaN or an infinity.
func cjsonFuzzNonFinite(v lua.LValue) bool {
	switch v := v.(type) {
	case lua.LNumber:
		return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)
	case *lua.LTable:
		found := false
		v.ForEach(func(_, e lua.LValue) { found = found || cjsonFuzzNonFinite(e) })
		return found
	}
	return false
}

// FuzzCJSONDecode checks that decode never fails but with one of lua-cjson's
// messages, accepts all small valid JSON, and that what it decodes encodes,
// decodes to an equal value and encodes to the same text again.
func FuzzCJSONDecode(f *testing.F) {
	for _, seed := range []string{
		`null`, `true`, `[1,2,3]`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}`,
		`-0x1.8p1`, `nan(x)`, `-Infinity`, `1e400`, `"\u0000"`, "1 \x00x", `[[[[]]]]`,
		`{"a":1,"a":2}`, `"\/\b\f\n\r\t"`, `01.5e-3`, `+.5`, `"\uD800\uDC00"`,
		strings.Repeat("[", 1001),
	} {
		f.Add(seed)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	OpenCJSON(L)
	f.Fuzz(func(t *testing.T, in string) {
		v1, errMsg := cjsonFuzzCall(L, "decode", lua.LString(in))
		if errMsg != "" {
			if !cjsonFuzzErrors.MatchString(errMsg) {
				t.Fatalf("decode(%q): unexpected error %q", in, errMsg)
			}
			// lua-cjson accepts all JSON nested at most 1000 deep (no input
			// that short is deeper), but lone UTF-16 surrogates, which it
			// refuses and which are hard to tell from pairs here.
			if len(in) <= 2000 && json.Valid([]byte(in)) && !cjsonFuzzSurrogate.MatchString(in) {
				t.Fatalf("decode(%q) refused valid JSON: %s", in, errMsg)
			}
			return
		}
		j1, errMsg := cjsonFuzzCall(L, "encode", v1)
		if errMsg != "" {
			if !strings.HasSuffix(errMsg, "Cannot serialise number: must not be NaN or Inf") || !cjsonFuzzNonFinite(v1) {
				t.Fatalf("decode(%q) then encode: %s", in, errMsg)
			}
			return
		}
		v2, errMsg := cjsonFuzzCall(L, "decode", j1)
		if errMsg != "" {
			t.Fatalf("decode(%q) = encode %q, which does not decode: %s", in, j1, errMsg)
		}
		if !cjsonTestEqual(v1, v2) {
			t.Fatalf("decode(%q) encoded as %q decodes to another value", in, j1)
		}
		if j2, errMsg := cjsonFuzzCall(L, "encode", v2); errMsg != "" || j2 != j1 {
			t.Fatalf("decode(%q): encoded %q, then %q (error %q)", in, j1, j2, errMsg)
		}
	})
}
