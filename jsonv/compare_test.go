package jsonv

import (
	"math"
	"testing"
)

func obj(kv ...Value) *Object {
	o := NewObject(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// ordered lists values in strictly increasing order.
var ordered = []Value{
	nil,
	false,
	true,
	math.Inf(-1),
	-1e300,
	-1.5,
	0.0,
	5e-324,
	1.0,
	2.0,
	10.0,
	1e21,
	math.Inf(1),
	"",
	"A",
	"B",
	"a",
	"ab",
	"b",
	"é",
	"\uE000",
	"\uFFFD",
	"😀", // after U+FFFD in code point order; JavaScript puts it before
	[]Value{},
	[]Value{nil},
	[]Value{nil, nil},
	[]Value{false},
	[]Value{1.0},
	[]Value{1.0, "a"},
	[]Value{2.0},
	[]Value{"a"},
	[]Value{[]Value{}},
	[]Value{&Object{}},
	&Object{},
	obj("b", 9.0),
	obj("a", 1.0, "b", 1.0),
	obj("a", 2.0, "b", nil),
	obj("a", 2.0, "b", false),
	obj("a", 1.0, "c", nil),
	obj("b", 1.0, "a", 2.0),
	obj("a", nil, "b", nil, "c", nil),
}

func TestCompareOrder(t *testing.T) {
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", Marshal(a), Marshal(b), got, want)
			}
			if eq := Equal(a, b); eq != (want == 0) {
				t.Errorf("Equal(%s, %s) = %v, but Compare gives %d", Marshal(a), Marshal(b), eq, want)
			}
		}
	}
}

func TestCompareEqualValues(t *testing.T) {
	tests := []struct {
		a, b Value
		want int
	}{
		{0.0, math.Copysign(0, -1), 0},
		{math.NaN(), math.NaN(), 0},
		{math.NaN(), math.Inf(-1), -1},
		{[]Value(nil), []Value{}, 0},
		{(*Object)(nil), &Object{}, 0},
		{(*Object)(nil), obj("a", nil), -1},
		{obj("a", []Value{1.0}), obj("a", []Value{1.0}), 0},
		// Same fields, other order: Equal, but ordered by keys.
		{obj("a", 1.0, "b", 2.0), obj("b", 2.0, "a", 1.0), -1},
		{obj("b", 2.0, "a", 1.0), obj("a", 1.0, "b", 2.0), 1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", Marshal(tt.a), Marshal(tt.b), got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", Marshal(tt.b), Marshal(tt.a), got, -tt.want)
		}
	}
}

func TestCompareUnsupported(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Compare(1, 1) did not panic")
		}
	}()
	Compare(1, 1)
}
