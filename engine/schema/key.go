package schema

import (
	"strconv"

	"bucketd/jsonv"
)

// ParseKey converts a primary-key command argument to the key field's type:
// for a string key the argument as it is; for a number key a strict decimal
// number in JSON number syntax ("3", "-3", "3.5", "1e3"; not "", " 3",
// "+3", "03", "0x10", "NaN" or "Infinity"), with -0 read as 0. An argument
// that does not convert is a *KeyError:
//
//	invalid key "abc": the key field "id" is a number
func (d *Definition) ParseKey(arg string) (jsonv.Value, error) {
	if d.key.Type == TypeString {
		return arg, nil
	}
	if n, ok := parseNumber(arg); ok {
		return n, nil
	}
	return nil, &KeyError{Arg: arg, Field: d.Key, Type: d.key.Type}
}

// parseNumber parses s as a JSON number (RFC 8259 grammar) to a finite
// float64, -0 becoming 0.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range: ±Inf
		return 0, false
	}
	if n == 0 {
		n = 0 // -0 is the same key as 0
	}
	return n, true
}
