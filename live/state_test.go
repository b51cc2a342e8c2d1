package live

import (
	"math"
	"testing"

	"bucketd/engine/query"
)

// TestAccumExactness: sums and averages are rendered from the state only
// when every float order gives the same bits.
func TestAccumExactness(t *testing.T) {
	num := func(x float64) contrib { return contrib{x: x, num: true} }
	for _, tc := range []struct {
		name    string
		fn      query.AggFunc
		add     []contrib
		remove  []contrib
		want    float64
		ok      bool
		inexact bool
	}{
		{"count", query.AggCount, []contrib{{}, {}, {}}, []contrib{{}}, 2, true, false},
		{"sum of integers", query.AggSum, []contrib{num(3), num(-7), num(10)}, nil, 6, true, false},
		{"sum skips non-numbers", query.AggSum, []contrib{num(3), {}, num(4)}, nil, 7, true, false},
		{"sum of nothing", query.AggSum, nil, nil, 0, true, false},
		{"sum with a fraction", query.AggSum, []contrib{num(0.1), num(0.2)}, nil, 0, false, true},
		{"fraction removed again", query.AggSum, []contrib{num(0.5), num(2)}, []contrib{num(0.5)}, 2, true, false},
		{"magnitudes past 2^53", query.AggSum, []contrib{num(1 << 52), num(1 << 52), num(1)}, nil, 0, false, true},
		{"back under 2^53", query.AggSum, []contrib{num(1 << 52), num(1 << 52), num(-1)}, []contrib{num(1 << 52)}, 1<<52 - 1, true, false},
		{"avg", query.AggAvg, []contrib{num(1), num(2), {}}, nil, 1.5, true, false},
		{"avg of nothing", query.AggAvg, nil, nil, 0, true, false},
		{"min", query.AggMin, []contrib{num(5), num(-2), num(-2), num(9)}, []contrib{num(-2)}, -2, true, false},
		{"min after its last holder left", query.AggMin, []contrib{num(5), num(-2), num(9)}, []contrib{num(-2)}, 5, true, false},
		{"max of nothing", query.AggMax, []contrib{num(3)}, []contrib{num(3)}, 0, false, false},
		{"max of fractions", query.AggMax, []contrib{num(0.25), num(1e300)}, nil, 1e300, true, false},
	} {
		a := newAccum(tc.fn)
		for _, c := range tc.add {
			a.add(c)
		}
		for _, c := range tc.remove {
			a.remove(c)
		}
		v, ok, exact := a.result()
		if exact == tc.inexact || (exact && (v != tc.want || ok != tc.ok)) {
			t.Errorf("%s: result() = %v, %v, exact %v; want %v, %v, exact %v", tc.name, v, ok, exact, tc.want, tc.ok, !tc.inexact)
		}
	}
	if !exactInt(1<<53) || exactInt(1<<53+2) || exactInt(0.5) || !exactInt(math.Copysign(0, -1)) {
		t.Error("exactInt")
	}
}
