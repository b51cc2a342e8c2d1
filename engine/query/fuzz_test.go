package query

import (
	"errors"
	"testing"

	"bucketd/engine/filter"
	"bucketd/jsonv"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"bucket":"users","filter":{"role":"admin"},"sort":{"age":"desc","name":"asc"},"limit":10,"offset":2,"fields":["id","name"]}`,
		`{"bucket":"b","aggregate":{"function":"count","groupBy":["role","age"]}}`,
		`{"bucket":"b","aggregate":{"function":"avg","field":"age","groupBy":"role"}}`,
		`{"bucket":"b","aggregate":{"function":"min","field":"age"}}`,
		`{"bucket":"b","filter":{"age":{"$gte":"{{ params.min }}"}},"limit":"{{params.n}}"}`,
		`{"bucket":"b","sort":{"x":"up"}}`, `{"bucket":"1"}`, `[]`, `{"bucket":"b","limit":0}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte(`{"min":18,"n":3}`))
	}
	rs := []Record{}
	for _, s := range []string{`{"age":3,"role":"a","name":"x"}`, `{"age":"3"}`, `{}`, `{"role":null,"age":-1}`,
		`{"age":[1],"role":{"x":1}}`} {
		o, _ := jsonv.ParseObject([]byte(s))
		rs = append(rs, testRec{o})
	}
	f.Fuzz(func(t *testing.T, data, paramsJSON []byte) {
		v, err := jsonv.Parse(data)
		if err != nil {
			return
		}
		params, _ := jsonv.ParseObject(paramsJSON)
		has := HasParams(v)
		before := string(jsonv.Marshal(v))
		sv, err := Substitute(v, params)
		if string(jsonv.Marshal(v)) != before {
			t.Fatal("Substitute modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMissingParam) || !has {
				t.Fatalf("Substitute error %v (HasParams %v)", err, has)
			}
			return
		}
		q, err := Parse(sv)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, filter.ErrInvalid) {
				t.Fatalf("Parse error %v (%T)", err, err)
			}
			return
		}
		var sel []Record
		for _, r := range rs {
			if q.Filter.Match(r) {
				sel = append(sel, r)
			}
		}
		out := q.Eval(sel, nil)
		if _, err := jsonv.Parse(out); err != nil {
			t.Fatalf("Eval wrote invalid JSON %s: %v", out, err)
		}
		if again := q.Eval(sel, nil); string(again) != string(out) {
			t.Fatalf("Eval not deterministic: %s vs %s", out, again)
		}
	})
}
