package filter

import (
	"errors"
	"slices"
	"testing"

	"bucketd/jsonv"
)

// addSeeds adds every filter of the match table (and some broken ones) to
// the corpus.
func filterSeeds() []string {
	seeds := []string{`{"a":{"$foo":1}}`, `{"$or":{}}`, `{"a":{"$between":[1]}}`, `[]`, `{`,
		`{"a":{"$gt":1,"b":2}}`, `{"a":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,14]}}`}
	for _, c := range matchCases {
		seeds = append(seeds, c.filter)
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range filterSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := ParseJSON(data)
		if err != nil {
			var se *jsonv.SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T) is neither a syntax error nor ErrInvalid", err, err)
			}
			return
		}
		fields := flt.Fields()
		if !slices.IsSorted(fields) || len(slices.Compact(slices.Clone(fields))) != len(fields) {
			t.Fatalf("Fields %q not sorted and unique", fields)
		}
		for _, c := range flt.Constraints() {
			if !slices.Contains(fields, c.Field) {
				t.Fatalf("constraint on %q, a field the filter does not read", c.Field)
			}
			if c.HasLo && c.HasHi && !sameKind(c.Lo, c.Hi) {
				t.Fatalf("constraint %+v mixes bound types", c)
			}
		}
		flt.MatchAll()
		flt.Match(jsonv.NewObject(0))
	})
}

func FuzzMatch(f *testing.F) {
	records := []string{`{}`, `{"a":1,"b":"x"}`, `{"role":"admin","age":30}`, `{"n":"Alice","tags":["a"]}`,
		`{"a":null,"b":[1,2],"c":{"x":1}}`}
	for i, s := range filterSeeds() {
		f.Add([]byte(s), []byte(records[i%len(records)]))
	}
	for _, c := range matchCases {
		f.Add([]byte(c.filter), []byte(c.record))
	}
	f.Fuzz(func(t *testing.T, filterJSON, recordJSON []byte) {
		flt, err := ParseJSON(filterJSON)
		if err != nil {
			return
		}
		r, err := jsonv.ParseObject(recordJSON)
		if err != nil {
			return
		}
		got := flt.Match(r)
		fv, _ := jsonv.Parse(filterJSON)
		if want := refMatch(fv, r); got != want {
			t.Fatalf("Match %v, reference %v", got, want)
		}
		checkConstraints(t, flt, r, string(filterJSON))
	})
}
