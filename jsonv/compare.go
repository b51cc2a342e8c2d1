package jsonv

import (
	"cmp"
	"fmt"
	"strings"
)

// Compare returns -1, 0 or +1 as a sorts before, with or after b in a total
// order over values, used for sorting and ordered indexes:
//
//   - Types rank null < booleans < numbers < strings < arrays < objects.
//   - false < true; numbers compare numerically (-0 equals 0; a NaN, which
//     Parse never produces, sorts before every other number and equals NaN).
//   - Strings compare by bytes, which for valid UTF-8 is Unicode code point
//     order. JavaScript compares UTF-16 code units instead, so the two orders
//     differ only between characters above U+FFFF (surrogate pairs, e.g.
//     emoji) and characters U+E000 to U+FFFF: here "\uFFFD" < "😀", in
//     JavaScript "😀" < "\uFFFD".
//   - Arrays compare element by element; when one is a prefix of the other,
//     the shorter sorts first.
//   - Objects compare by number of keys, then their keys pairwise in stored
//     order, then their values pairwise in stored order.
//
// Compare(a, b) == 0 exactly when Equal(a, b) for values whose objects list
// their keys in the same order (and that hold no NaN). Objects with the same fields in a different
// order are Equal but compare by key order, so Compare does not return 0 for
// them. A nil []Value is an empty array and a nil *Object an empty object.
// Compare panics if a or b holds a Go type outside the Value model.
func Compare(a, b Value) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case bool:
		return compareBool(x, b.(bool))
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case []Value:
		return compareArrays(x, b.([]Value))
	case *Object:
		return compareObjects(x, b.(*Object))
	}
	return 0 // both null
}

// rank orders the JSON types.
func rank(v Value) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case float64:
		return 2
	case string:
		return 3
	case []Value:
		return 4
	case *Object:
		return 5
	}
	panic(fmt.Sprintf("jsonv: unsupported type %T in Value", v))
}

func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case y:
		return -1
	}
	return 1
}

func compareArrays(x, y []Value) int {
	for i := range min(len(x), len(y)) {
		if c := Compare(x[i], y[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

func compareObjects(x, y *Object) int {
	var xk, yk []string
	var xv, yv []Value
	if x != nil {
		xk, xv = x.Keys, x.Vals
	}
	if y != nil {
		yk, yv = y.Keys, y.Vals
	}
	if c := cmp.Compare(len(xk), len(yk)); c != 0 {
		return c
	}
	for i := range xk {
		if c := strings.Compare(xk[i], yk[i]); c != 0 {
			return c
		}
	}
	for i := range xv {
		if c := Compare(xv[i], yv[i]); c != 0 {
			return c
		}
	}
	return 0
}
