package query

import (
	"errors"
	"testing"
)

// TestParseAggFunc: every function name parses to its AggFunc and back;
// other names (case matters) are *AggError wrapping ErrAggregate.
func TestParseAggFunc(t *testing.T) {
	for _, tc := range []struct {
		name string
		want AggFunc
	}{{"count", AggCount}, {"sum", AggSum}, {"avg", AggAvg}, {"min", AggMin}, {"max", AggMax}} {
		f, err := ParseAggFunc(tc.name)
		if err != nil || f != tc.want || f.String() != tc.name {
			t.Errorf("ParseAggFunc(%q) = %v (%s), %v; want %v", tc.name, f, f, err, tc.want)
		}
	}
	for _, name := range []string{"median", "", "Count", "MAX", " sum"} {
		var ae *AggError
		_, err := ParseAggFunc(name)
		if !errors.As(err, &ae) || !errors.Is(err, ErrAggregate) || ae.Func != name {
			t.Errorf("ParseAggFunc(%q): %v; want an *AggError", name, err)
		}
	}
	if s := AggFunc(9).String(); s != "AggFunc(9)" {
		t.Errorf("AggFunc(9).String() = %q", s)
	}
}

// TestAppendGroupRows: the rendering GroupBy uses, on rows given in order;
// absent key fields show as null, values as JSON numbers.
func TestAppendGroupRows(t *testing.T) {
	rs := recs(t, `[{"g":"b","h":{"x":[1,2]}},{"g":null},{"h":1}]`)
	rows := []GroupRow{{First: rs[0], Value: 2.5}, {First: rs[1], Value: -0}, {First: rs[2], Value: 1e21}}
	got := string(AppendGroupRows([]byte("p:"), []string{"g", "h"}, rows))
	want := `p:[{"key":{"g":"b","h":{"x":[1,2]}},"value":2.5},{"key":{"g":null,"h":null},"value":0},{"key":{"g":null,"h":1},"value":1e+21}]`
	if got != want {
		t.Errorf("AppendGroupRows:\n got %s\nwant %s", got, want)
	}
	if got := string(AppendGroupRows(nil, []string{"g"}, nil)); got != "[]" {
		t.Errorf("no rows: %s", got)
	}
	// GroupBy's output is AppendGroupRows of its groups.
	gb, err := GroupBy(rs, []string{"g", "h"}, "count", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	same := AppendGroupRows(nil, []string{"g", "h"}, []GroupRow{{rs[0], 1}, {rs[1], 1}, {rs[2], 1}})
	if string(gb) != string(same) {
		t.Errorf("GroupBy %s, AppendGroupRows %s", gb, same)
	}
}
