package filter

import (
	"math/rand/v2"
	"testing"

	"bucketd/jsonv"
)

func TestOrsAsIn(t *testing.T) {
	cases := []struct {
		filter string
		want   int
	}{
		{`{}`, 0},
		{`{"$or":[]}`, 0},
		{`{"$or":[{"a":1}]}`, 1},
		{`{"$or":[{"a":1},{"a":"x"},{"a":{"$eq":null}},{"a":{"$eq":[1]}}]}`, 1},
		{`{"$or":[{"a":1},{"a":{"$in":[[1],{"k":2}]}}]}`, 0}, // an $in matches elements
		{`{"$or":[{"a":1},{"b":1}]}`, 0},
		{`{"$or":[{"a":1},{"a":1,"b":1}]}`, 0},
		{`{"$or":[{"a":1},{"a":{"$neq":1}}]}`, 0},
		{`{"$or":[{"a":1},{"a":{"$nin":[1]}}]}`, 0},
		{`{"$or":[{"a":1},{"a":{"$eq":1,"$gt":0}}]}`, 0},
		{`{"$or":[{"a":1},{"$or":[{"a":2}]}]}`, 1}, // the inner $or is an $in first
		{`{"$or":[{"a":1},{}]}`, 0},
		{`{"$and":[{"$or":[{"a":1},{"a":2}]},{"$or":[{"b":1},{"b":2}]}]}`, 2},
		{`{"$or":[{"$or":[{"a":1},{"a":2}]},{"b":3}]}`, 1},
	}
	for _, tc := range cases {
		if got := mustParse(t, tc.filter).OrsAsIn(); got != tc.want {
			t.Errorf("%s: OrsAsIn %d, want %d", tc.filter, got, tc.want)
		}
	}
	if (*Filter)(nil).OrsAsIn() != 0 {
		t.Error("nil filter: OrsAsIn not 0")
	}
}

// randOrOfEqualities builds {"$or":[{f:v1},{f:{"$eq":v2}},…]}
// on one random field, small or past largeSet members.
func randOrOfEqualities(rnd *rand.Rand) jsonv.Value {
	f := randFields[rnd.IntN(len(randFields))]
	n := 1 + rnd.IntN(4)
	if rnd.IntN(4) == 0 {
		n = largeSet + rnd.IntN(8)
	}
	alts := make([]jsonv.Value, n)
	for i := range alts {
		o := jsonv.NewObject(1)
		v := randValue(rnd)
		switch rnd.IntN(2) {
		case 0:
			if vo, ok := v.(*jsonv.Object); ok && vo.Len() == 0 {
				v = 1.0
			}
			o.Set(f, v)
		default:
			ops := jsonv.NewObject(1)
			ops.Set("$eq", v)
			o.Set(f, ops)
		}
		alts[i] = o
	}
	out := jsonv.NewObject(1)
	out.Set("$or", alts)
	return out
}

// TestOrAsInModel checks an $or of equalities on one field, compiled as an
// $in, against the reference evaluator and its constraints (what the
// planner reads an index with) against the records that match, alone and
// inside random filters.
func TestOrAsInModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		fv := randOrOfEqualities(rnd)
		if i%2 == 1 {
			fv = jsonv.NewObject(1)
			fv.(*jsonv.Object).Set("$and", []jsonv.Value{randOrOfEqualities(rnd), randFilter(rnd, 1)})
		}
		f, err := Parse(fv)
		if err != nil {
			t.Fatalf("filter %s: %v", jsonv.Marshal(fv), err)
		}
		if f.OrsAsIn() == 0 {
			t.Fatalf("filter %s: $or not compiled as $in", jsonv.Marshal(fv))
		}
		for range 20 {
			r := randRecord(rnd)
			if got, want := f.Match(r), refMatch(fv, r); got != want {
				t.Fatalf("case %d: filter %s record %s: Match %v, reference %v",
					i, jsonv.Marshal(fv), jsonv.Marshal(r), got, want)
			}
			checkConstraints(t, f, r, string(jsonv.Marshal(fv)))
		}
	}
}
