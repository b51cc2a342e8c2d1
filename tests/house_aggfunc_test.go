package tests

import (
	"slices"
	"testing"
	"time"
)

// TestHouseAggFunctionRefused: a reactive query's aggregate function must
// be one the query language knows. An unknown one is refused by
// QUERY.DEFINE, or, when a parameter names it, by QUERY.RUN and
// QUERY.SUBSCRIBE; it is never taken for count. A known one given by a
// parameter is maintained live and equals QUERY.RUN.
func TestHouseAggFunctionRefused(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("items", qyItemsDef)
	const badFn = `ERR invalid query: "aggregate.function" must be one of count, sum, avg, min, max`
	for _, fn := range []string{"median", "COUNT", ""} {
		r.err(badFn, "QUERY.DEFINE", "bad", `{"bucket":"items","aggregate":{"function":"`+fn+`","field":"n"}}`)
	}
	if names := r.list("QUERY.LIST"); slices.Contains(names, "bad") {
		t.Errorf("a refused query was defined: %v", names)
	}

	r.ok("QUERY.DEFINE", "byfn", `{"bucket":"items","aggregate":{"function":"{{ params.fn }}","field":"n","groupBy":"g"}}`)
	r.err(badFn, "QUERY.RUN", "byfn", `{"fn":"median"}`)
	r.err(badFn, "QUERY.SUBSCRIBE", "byfn", `{"fn":"median"}`)

	sub := qySubscribe(t, s.Client(t, 3), `query.byfn:{"fn":"sum"}`)
	r.insert("items", `{"id":"a","g":"x","n":2}`, `{"id":"b","g":"y","n":5}`, `{"id":"c","g":"x","n":4}`)
	want := `[{"key":{"g":"x"},"value":6},{"key":{"g":"y"},"value":5}]`
	if got := qyRun(r, "byfn", `{"fn":"sum"}`); got != want {
		t.Fatalf("QUERY.RUN sum = %s, want %s", got, want)
	}
	eventually(t, 10*time.Second, "the live sum to reach "+want, func() bool {
		msgs := sub.messages(`query.byfn:{"fn":"sum"}`)
		return len(msgs) > 0 && msgs[len(msgs)-1] == want
	})
}
