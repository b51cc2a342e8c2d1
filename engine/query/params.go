package query

import "bucketd/jsonv"

// Substitute returns v with every placeholder replaced by a deep copy of its
// parameter. A placeholder is a string value (an object value or an array
// element, at any depth; never an object key) that is exactly "{{",
// optional whitespace, "params.", a name of ASCII letters, digits and '_',
// optional whitespace, "}}": "{{ params.minAge }}", "{{params.minAge}}".
// A string that merely contains one ("age > {{ params.x }}") is left alone.
// Whitespace is space, tab, newline, carriage return, form feed or vertical
// tab.
//
// A placeholder whose name is not a key of params (params may be nil) is an
// error, *ParamError: `missing query parameter "x"`. v is not modified; the
// result shares the parts of v that hold no placeholder (v itself when it
// holds none), so both must be treated as immutable.
func Substitute(v jsonv.Value, params *jsonv.Object) (jsonv.Value, error) {
	out, _, err := substitute(v, params)
	return out, err
}

// substitute returns the substituted value and whether it differs from v.
func substitute(v jsonv.Value, params *jsonv.Object) (jsonv.Value, bool, error) {
	switch t := v.(type) {
	case string:
		name, ok := paramName(t)
		if !ok {
			return v, false, nil
		}
		var p jsonv.Value
		found := false
		if params != nil {
			p, found = params.Get(name)
		}
		if !found {
			return nil, false, &ParamError{Name: name}
		}
		return jsonv.Clone(p), true, nil
	case []jsonv.Value:
		var out []jsonv.Value
		for i, e := range t {
			ne, changed, err := substitute(e, params)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = make([]jsonv.Value, len(t))
				copy(out, t[:i])
			}
			if out != nil {
				out[i] = ne
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case *jsonv.Object:
		if t == nil {
			return v, false, nil
		}
		var out *jsonv.Object
		for i, e := range t.Vals {
			ne, changed, err := substitute(e, params)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = &jsonv.Object{Keys: append([]string(nil), t.Keys...), Vals: make([]jsonv.Value, len(t.Vals))}
				copy(out.Vals, t.Vals[:i])
			}
			if out != nil {
				out.Vals[i] = ne
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	}
	return v, false, nil
}

// HasParams reports whether v holds at least one placeholder (see
// Substitute).
func HasParams(v jsonv.Value) bool {
	switch t := v.(type) {
	case string:
		_, ok := paramName(t)
		return ok
	case []jsonv.Value:
		for _, e := range t {
			if HasParams(e) {
				return true
			}
		}
	case *jsonv.Object:
		if t != nil {
			for _, e := range t.Vals {
				if HasParams(e) {
					return true
				}
			}
		}
	}
	return false
}

// paramName returns x when s is exactly a placeholder "{{ params.x }}".
func paramName(s string) (string, bool) {
	if len(s) < len("{{params.x}}") || s[:2] != "{{" || s[len(s)-2:] != "}}" {
		return "", false
	}
	s = trimSpace(s[2 : len(s)-2])
	const prefix = "params."
	if len(s) <= len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	name := s[len(prefix):]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return "", false
		}
	}
	return name, true
}

// trimSpace trims ASCII whitespace from both ends of s.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
