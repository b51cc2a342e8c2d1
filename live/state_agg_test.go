package live

import (
	"errors"
	"testing"

	"bucketd/engine"
	"bucketd/engine/query"
)

// TestAggFunctionRefused: a function query.Parse does not know is refused
// when the query is defined, or, when a parameter names it, when the query
// is run or subscribed; it never stands in for count.
func TestAggFunctionRefused(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	for _, fn := range []string{"median", "COUNT", "", "countx"} {
		def := `{"bucket":"items","aggregate":{"function":"` + fn + `","field":"n"}}`
		var qe *query.Error
		if err := e.m.Define("bad", []byte(def)); !errors.As(err, &qe) || qe.Key != "aggregate.function" {
			t.Errorf("Define(%s) = %v; want a *query.Error on aggregate.function", def, err)
		}
	}
	if got := e.m.List(); len(got) != 0 {
		t.Errorf("refused definitions were kept: %v", got)
	}

	e.define("p", `{"bucket":"items","aggregate":{"function":"{{ params.fn }}","field":"n","groupBy":"g"}}`)
	e.insert("items", `{"id":"a","g":"x","n":2}`)
	e.insert("items", `{"id":"b","g":"x","n":5}`)
	var qe *query.Error
	if _, err := e.m.Run("p", []byte(`{"fn":"median"}`), engine.ReadLimit{}); !errors.As(err, &qe) {
		t.Errorf("Run with function median: %v; want a *query.Error", err)
	}
	if _, err := e.m.ChannelFor("p", []byte(`{"fn":"median"}`), true); !errors.As(err, &qe) {
		t.Errorf("ChannelFor with function median: %v; want a *query.Error", err)
	}
	if got := e.run("p", `{"fn":"max"}`); got != `[{"key":{"g":"x"},"value":5}]` {
		t.Errorf("Run with function max: %s", got)
	}
}

// TestAggFuncOf: the live states take query's functions; a Query built by
// hand with an unknown function is an error, not a count.
func TestAggFuncOf(t *testing.T) {
	for _, tc := range []struct {
		agg  *query.Aggregate
		want query.AggFunc
		err  bool
	}{
		{nil, query.AggCount, false},
		{&query.Aggregate{Func: "count"}, query.AggCount, false},
		{&query.Aggregate{Func: "sum", Field: "n"}, query.AggSum, false},
		{&query.Aggregate{Func: "avg", Field: "n"}, query.AggAvg, false},
		{&query.Aggregate{Func: "min", Field: "n"}, query.AggMin, false},
		{&query.Aggregate{Func: "max", Field: "n", GroupBy: []string{"g"}}, query.AggMax, false},
		{&query.Aggregate{Func: "median", Field: "n"}, 0, true},
		{&query.Aggregate{Func: "", Field: "n"}, 0, true},
	} {
		fn, err := aggFuncOf(&query.Query{Bucket: "items", Agg: tc.agg})
		if tc.err {
			if !errors.Is(err, query.ErrAggregate) {
				t.Errorf("%+v: %v, %v; want an error wrapping query.ErrAggregate", tc.agg, fn, err)
			}
			continue
		}
		if err != nil || fn != tc.want {
			t.Errorf("%+v: %v, %v; want %v", tc.agg, fn, err, tc.want)
		}
	}
}

// TestGroupedLiveEqualsRun: a live group-by result, kept from the changes,
// renders QUERY.RUN's bytes: groups in order of first appearance (not map
// order), null and absent grouped together, keys with the first record's
// values, after the first record of a group leaves it.
func TestGroupedLiveEqualsRun(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	queries := map[string]string{
		"gc": `{"bucket":"items","aggregate":{"function":"count","groupBy":"g"}}`,
		"gs": `{"bucket":"items","aggregate":{"function":"sum","field":"n","groupBy":["g","g"]}}`,
		"ga": `{"bucket":"items","aggregate":{"function":"avg","field":"n","groupBy":["g","id"]}}`,
		"gm": `{"bucket":"items","aggregate":{"function":"min","field":"n","groupBy":"g"}}`,
		"gx": `{"bucket":"items","filter":{"n":{"$gt":0}},"aggregate":{"function":"max","field":"n","groupBy":"g"}}`,
	}
	subs := map[string]*fakeSub{}
	for name, def := range queries {
		e.define(name, def)
		subs[name] = e.subscribe("query." + name)
	}
	check := func(step string) {
		t.Helper()
		e.quiesce()
		for name, s := range subs {
			got, _ := s.last(t)
			if want := e.run(name, ""); got != want {
				t.Errorf("%s, %s: live %s, QUERY.RUN %s", step, name, got, want)
			}
		}
	}
	for _, rec := range []string{
		`{"id":"k1","g":"z","n":3}`, `{"id":"k2","n":4}`, `{"id":"k3","g":"a","n":1}`,
		`{"id":"k4","g":"z"}`, `{"id":"k5","g":"m","n":-2}`, `{"id":"k6","n":7}`,
	} {
		e.insert("items", rec)
	}
	check("after inserts")
	e.update("items", "k1", `{"g":"a"}`) // the first of group z leaves it
	check("after a move")
	if _, err := e.store.Delete(nil, "items", "k2", -1); err != nil {
		t.Fatal(err)
	}
	check("after a delete")
}
