package query

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// testRec is a Record backed by a parsed JSON object.
type testRec struct{ o *jsonv.Object }

func (r testRec) Get(f string) (jsonv.Value, bool) { return r.o.Get(f) }
func (r testRec) AppendJSON(dst []byte) []byte     { return jsonv.Append(dst, r.o) }

// recs parses a JSON array of objects into records.
func recs(t testing.TB, s string) []Record {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatalf("records %s: %v", s, err)
	}
	var out []Record
	for _, e := range v.([]jsonv.Value) {
		out = append(out, testRec{e.(*jsonv.Object)})
	}
	return out
}

func mustQuery(t testing.TB, s string) *Query {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatalf("query %s: %v", s, err)
	}
	q, err := Parse(v)
	if err != nil {
		t.Fatalf("query %s: %v", s, err)
	}
	return q
}

func TestParse(t *testing.T) {
	q := mustQuery(t, `{"bucket":"users","filter":{"role":"admin"},"sort":{"age":"desc","name":"ASC"},`+
		`"limit":10,"offset":5,"fields":["id","name","id"]}`)
	if q.Bucket != "users" || q.Limit != 10 || q.Offset != 5 {
		t.Errorf("parsed %+v", q)
	}
	if !reflect.DeepEqual(q.Sort, []SortKey{{"age", true}, {"name", false}}) {
		t.Errorf("sort %+v", q.Sort)
	}
	if !reflect.DeepEqual(q.Fields, []string{"id", "name"}) {
		t.Errorf("fields %q", q.Fields)
	}
	if q.Filter == nil || q.Filter.MatchAll() || q.Agg != nil {
		t.Errorf("filter %v agg %v", q.Filter, q.Agg)
	}
	if _, ok := q.Raw.(*jsonv.Object); !ok {
		t.Errorf("raw %v", q.Raw)
	}

	q = mustQuery(t, `{"bucket":"b"}`)
	if q.Filter == nil || !q.Filter.MatchAll() || q.Sort != nil || q.Fields != nil || q.Limit != 0 || q.Agg != nil {
		t.Errorf("minimal query %+v", q)
	}
	q = mustQuery(t, `{"bucket":"b","filter":null,"sort":null,"limit":null,"offset":null,"fields":null,"aggregate":null}`)
	if q.Filter == nil || !q.Filter.MatchAll() || q.Sort != nil || q.Fields != nil || q.Agg != nil {
		t.Errorf("null keys %+v", q)
	}
	q = mustQuery(t, `{"bucket":"b","fields":[],"sort":{}}`)
	if q.Fields != nil || q.Sort != nil {
		t.Errorf("empty fields/sort %+v", q)
	}

	aggs := map[string]Aggregate{
		`{"function":"count"}`:                                   {Func: "count"},
		`{"function":"count","field":"x"}`:                       {Func: "count"},
		`{"function":"sum","field":"age"}`:                       {Func: "sum", Field: "age"},
		`{"function":"avg","field":"age","groupBy":"role"}`:      {Func: "avg", Field: "age", GroupBy: []string{"role"}},
		`{"function":"max","field":"a","groupBy":["x","y","x"]}`: {Func: "max", Field: "a", GroupBy: []string{"x", "y"}},
		`{"groupBy":null,"function":"min","field":"a"}`:          {Func: "min", Field: "a"},
	}
	for s, want := range aggs {
		q := mustQuery(t, `{"bucket":"b","aggregate":`+s+`}`)
		if q.Agg == nil || !reflect.DeepEqual(*q.Agg, want) {
			t.Errorf("aggregate %s: %+v, want %+v", s, q.Agg, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ query, msg string }{
		{`[]`, `invalid query: expected an object`},
		{`null`, `invalid query: expected an object`},
		{`{}`, `invalid query: missing "bucket"`},
		{`{"bucket":null}`, `invalid query: missing "bucket"`},
		{`{"bucket":1}`, `invalid query: "bucket" expects a bucket name`},
		{`{"bucket":"a.b"}`, `invalid query: "bucket" expects a bucket name`},
		{`{"bucket":"1a"}`, `invalid query: "bucket" expects a bucket name`},
		{`{"bucket":"` + strings.Repeat("a", 129) + `"}`, `invalid query: "bucket" expects a bucket name`},
		{`{"bucket":"b","foo":1}`, `invalid query: unknown key "foo"`},
		{`{"bucket":"b","Filter":{}}`, `invalid query: unknown key "Filter"`},
		{`{"bucket":"b","filter":[]}`, `invalid filter: expected an object`},
		{`{"bucket":"b","filter":{"a":{"$foo":1}}}`, `invalid filter: unknown operator "$foo"`},
		{`{"bucket":"b","sort":"age"}`, `invalid query: "sort" expects an object like {"field": "asc"}`},
		{`{"bucket":"b","sort":{"age":"up"}}`, `invalid query: sort direction of "age" must be "asc" or "desc"`},
		{`{"bucket":"b","sort":{"age":1}}`, `invalid query: sort direction of "age" must be "asc" or "desc"`},
		{`{"bucket":"b","limit":0}`, `invalid query: "limit" expects a positive integer`},
		{`{"bucket":"b","limit":-1}`, `invalid query: "limit" expects a positive integer`},
		{`{"bucket":"b","limit":1.5}`, `invalid query: "limit" expects a positive integer`},
		{`{"bucket":"b","limit":"10"}`, `invalid query: "limit" expects a positive integer`},
		{`{"bucket":"b","limit":1e300}`, `invalid query: "limit" expects a positive integer`},
		{`{"bucket":"b","offset":-1}`, `invalid query: "offset" expects a non-negative integer`},
		{`{"bucket":"b","offset":true}`, `invalid query: "offset" expects a non-negative integer`},
		{`{"bucket":"b","fields":"id"}`, `invalid query: "fields" expects an array of field names`},
		{`{"bucket":"b","fields":["id",1]}`, `invalid query: "fields" expects an array of field names`},
		{`{"bucket":"b","aggregate":"count"}`, `invalid query: "aggregate" expects an object`},
		{`{"bucket":"b","aggregate":{}}`, `invalid query: missing "aggregate.function"`},
		{`{"bucket":"b","aggregate":{"function":"median","field":"a"}}`, `invalid query: "aggregate.function" must be one of count, sum, avg, min, max`},
		{`{"bucket":"b","aggregate":{"function":"COUNT"}}`, `invalid query: "aggregate.function" must be one of count, sum, avg, min, max`},
		{`{"bucket":"b","aggregate":{"function":"sum"}}`, `invalid query: "aggregate.field" is required for "sum"`},
		{`{"bucket":"b","aggregate":{"function":"sum","field":3}}`, `invalid query: "aggregate.field" expects a field name`},
		{`{"bucket":"b","aggregate":{"function":"count","groupBy":[]}}`, `invalid query: "aggregate.groupBy" expects a field name or a non-empty array of field names`},
		{`{"bucket":"b","aggregate":{"function":"count","groupBy":3}}`, `invalid query: "aggregate.groupBy" expects a field name or a non-empty array of field names`},
		{`{"bucket":"b","aggregate":{"function":"count","by":"x"}}`, `invalid query: unknown key "aggregate.by"`},
	}
	for _, c := range cases {
		v, err := jsonv.Parse([]byte(c.query))
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		_, err = Parse(v)
		if err == nil || err.Error() != c.msg {
			t.Errorf("%s: error %v, want %q", c.query, err, c.msg)
			continue
		}
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, filter.ErrInvalid) {
			t.Errorf("%s: %T wraps neither ErrInvalid nor filter.ErrInvalid", c.query, err)
		}
	}
}

func evalString(t testing.TB, query, records string) string {
	t.Helper()
	return string(mustQuery(t, query).Eval(recs(t, records), nil))
}

const people = `[
	{"id":1,"name":"Cy","age":30,"role":"admin"},
	{"id":2,"name":"Al","age":25,"role":"user"},
	{"id":3,"name":"Bo","role":"user"},
	{"id":4,"name":"Di","age":30,"role":"guest"},
	{"id":5,"name":"Ed","age":null,"role":"admin"},
	{"id":6,"name":"Al","age":40,"role":"user"}
]`

// ids runs query on people and returns the ids of the result, in order.
func ids(t *testing.T, query string) string {
	t.Helper()
	out := evalString(t, query, people)
	v, err := jsonv.Parse([]byte(out))
	if err != nil {
		t.Fatalf("%s: result %s: %v", query, out, err)
	}
	var b []byte
	for i, e := range v.([]jsonv.Value) {
		if i > 0 {
			b = append(b, ',')
		}
		id, _ := e.(*jsonv.Object).Get("id")
		b = jsonv.Append(b, id)
	}
	return string(b)
}

func TestEvalSort(t *testing.T) {
	cases := []struct{ query, want string }{
		{`{"bucket":"p"}`, `1,2,3,4,5,6`},
		{`{"bucket":"p","sort":{"age":"asc"}}`, `2,1,4,6,3,5`},  // stable ties, null/absent last
		{`{"bucket":"p","sort":{"age":"desc"}}`, `6,1,4,2,3,5`}, // still last when descending
		{`{"bucket":"p","sort":{"age":"desc","name":"asc"}}`, `6,1,4,2,3,5`},
		{`{"bucket":"p","sort":{"age":"desc","name":"desc"}}`, `6,4,1,2,5,3`},
		{`{"bucket":"p","sort":{"name":"asc","age":"desc"}}`, `6,2,3,1,4,5`},
		{`{"bucket":"p","sort":{"name":"asc","age":"asc"}}`, `2,6,3,1,4,5`},
		{`{"bucket":"p","sort":{"role":"asc","id":"desc"}}`, `5,1,4,6,3,2`},
		{`{"bucket":"p","sort":{"missing":"desc"}}`, `1,2,3,4,5,6`},
		{`{"bucket":"p","sort":{"age":"asc"},"limit":2}`, `2,1`},
		{`{"bucket":"p","sort":{"age":"asc"},"offset":3,"limit":2}`, `6,3`},
	}
	for _, c := range cases {
		if got := ids(t, c.query); got != c.want {
			t.Errorf("%s: ids %s, want %s", c.query, got, c.want)
		}
	}
}

func TestEvalSortMixedTypes(t *testing.T) {
	rs := `[{"id":1,"v":"b"},{"id":2,"v":2},{"id":3,"v":true},{"id":4,"v":null},{"id":5,"v":[1]},` +
		`{"id":6,"v":"a"},{"id":7,"v":{"x":1}},{"id":8,"v":false},{"id":9,"v":10},{"id":10}]`
	get := func(q string) string {
		out := evalString(t, q, rs)
		v, _ := jsonv.Parse([]byte(out))
		var b []byte
		for i, e := range v.([]jsonv.Value) {
			if i > 0 {
				b = append(b, ',')
			}
			id, _ := e.(*jsonv.Object).Get("id")
			b = jsonv.Append(b, id)
		}
		return string(b)
	}
	if got, want := get(`{"bucket":"b","sort":{"v":"asc"}}`), `8,3,2,9,6,1,5,7,4,10`; got != want {
		t.Errorf("asc: %s, want %s", got, want)
	}
	if got, want := get(`{"bucket":"b","sort":{"v":"desc"}}`), `7,5,1,6,9,2,3,8,4,10`; got != want {
		t.Errorf("desc: %s, want %s", got, want)
	}
}

func TestEvalStability(t *testing.T) {
	// Many equal keys: the output must keep bucket order among them.
	var b strings.Builder
	b.WriteString("[")
	for i := range 500 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":` + itoa(i) + `,"k":` + itoa(i%3) + `}`)
	}
	b.WriteString("]")
	rs := recs(t, b.String())
	out := mustQuery(t, `{"bucket":"b","sort":{"k":"desc"},"fields":["id"]}`).Eval(rs, nil)
	v, _ := jsonv.Parse(out)
	arr := v.([]jsonv.Value)
	prevK, prevID := 3.0, -1.0
	for _, e := range arr {
		id, _ := e.(*jsonv.Object).Get("id")
		k := float64(int(id.(float64)) % 3)
		if k > prevK || k == prevK && id.(float64) < prevID {
			t.Fatalf("not a stable descending sort at id %v", id)
		}
		prevK, prevID = k, id.(float64)
	}
	if len(arr) != 500 {
		t.Fatalf("%d results", len(arr))
	}
}

func itoa(i int) string { return string(jsonv.AppendNumber(nil, float64(i))) }

func TestEvalLimitOffset(t *testing.T) {
	cases := []struct{ query, want string }{
		{`{"bucket":"p","limit":1}`, `1`},
		{`{"bucket":"p","limit":6}`, `1,2,3,4,5,6`},
		{`{"bucket":"p","limit":100}`, `1,2,3,4,5,6`},
		{`{"bucket":"p","offset":0}`, `1,2,3,4,5,6`},
		{`{"bucket":"p","offset":2}`, `3,4,5,6`},
		{`{"bucket":"p","offset":5}`, `6`},
		{`{"bucket":"p","offset":6}`, ``},
		{`{"bucket":"p","offset":1000}`, ``},
		{`{"bucket":"p","offset":2,"limit":2}`, `3,4`},
		{`{"bucket":"p","offset":4,"limit":10}`, `5,6`},
		{`{"bucket":"p","offset":9007199254740991,"limit":9007199254740991}`, ``},
		{`{"bucket":"p","offset":1,"limit":9007199254740991}`, `2,3,4,5,6`},
	}
	for _, c := range cases {
		if got := ids(t, c.query); got != c.want {
			t.Errorf("%s: ids %s, want %s", c.query, got, c.want)
		}
	}
	if got := evalString(t, `{"bucket":"p","limit":3}`, `[]`); got != `[]` {
		t.Errorf("no records: %s", got)
	}
	// A hand-built query with a negative offset is clamped.
	q := &Query{Bucket: "p", Offset: -3, Limit: 1}
	if got := string(q.Eval(recs(t, people), nil)); !strings.HasPrefix(got, `[{"id":1,`) {
		t.Errorf("negative offset: %s", got)
	}
}

func TestEvalFields(t *testing.T) {
	cases := []struct{ query, want string }{
		{`{"bucket":"p","fields":["name","id"],"limit":2}`, `[{"name":"Cy","id":1},{"name":"Al","id":2}]`},
		{`{"bucket":"p","fields":["age"],"offset":2,"limit":3}`, `[{},{"age":30},{"age":null}]`},
		{`{"bucket":"p","fields":["nope"],"limit":1}`, `[{}]`},
		{`{"bucket":"p","fields":["id","id"],"limit":1}`, `[{"id":1}]`},
		{`{"bucket":"p","fields":[],"limit":1}`, `[{"id":1,"name":"Cy","age":30,"role":"admin"}]`},
		{`{"bucket":"p","fields":["name"],"sort":{"age":"desc"},"limit":2}`, `[{"name":"Al"},{"name":"Cy"}]`},
	}
	for _, c := range cases {
		if got := evalString(t, c.query, people); got != c.want {
			t.Errorf("%s: %s, want %s", c.query, got, c.want)
		}
	}
	// Projection escapes field names.
	if got := evalString(t, `{"bucket":"p","fields":["a\"b"]}`, `[{"a\"b":"\n"}]`); got != `[{"a\"b":"\n"}]` {
		t.Errorf("escaping: %s", got)
	}
}

const mixed = `[
	{"role":"admin","v":10},
	{"role":"user","v":"5"},
	{"role":"admin","v":-2.5},
	{"role":"user"},
	{"role":"guest","v":null},
	{"role":"admin","v":true},
	{"role":"user","v":4}
]`

func TestEvalAggregate(t *testing.T) {
	cases := []struct{ agg, records, want string }{
		{`{"function":"count"}`, mixed, `7`},
		{`{"function":"count","field":"v"}`, mixed, `7`},
		{`{"function":"sum","field":"v"}`, mixed, `11.5`},
		{`{"function":"avg","field":"v"}`, mixed, `3.8333333333333335`},
		{`{"function":"min","field":"v"}`, mixed, `-2.5`},
		{`{"function":"max","field":"v"}`, mixed, `10`},
		{`{"function":"count"}`, `[]`, `0`},
		{`{"function":"sum","field":"v"}`, `[]`, `0`},
		{`{"function":"avg","field":"v"}`, `[]`, `0`},
		{`{"function":"min","field":"v"}`, `[]`, `null`},
		{`{"function":"max","field":"v"}`, `[]`, `null`},
		{`{"function":"sum","field":"v"}`, `[{"v":"1"},{"v":null}]`, `0`},
		{`{"function":"avg","field":"v"}`, `[{"v":"1"},{}]`, `0`},
		{`{"function":"min","field":"v"}`, `[{"v":"1"},{"v":[1]}]`, `null`},
		{`{"function":"max","field":"v"}`, `[{"v":{"a":1}}]`, `null`},
		{`{"function":"sum","field":"v"}`, `[{"v":0.1},{"v":0.2}]`, `0.30000000000000004`},
		{`{"function":"sum","field":"v"}`, `[{"v":1e308},{"v":1e308}]`, `null`}, // overflow to Infinity: JSON null
		{`{"function":"avg","field":"v"}`, `[{"v":1},{"v":2}]`, `1.5`},
		{`{"function":"min","field":"v"}`, `[{"v":-0},{"v":0}]`, `0`},
		{`{"function":"max","field":"v"}`, `[{"v":1e21},{"v":2}]`, `1e+21`},

		{`{"function":"count","groupBy":"role"}`, mixed,
			`[{"key":{"role":"admin"},"value":3},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":1}]`},
		{`{"function":"sum","field":"v","groupBy":"role"}`, mixed,
			`[{"key":{"role":"admin"},"value":7.5},{"key":{"role":"user"},"value":4},{"key":{"role":"guest"},"value":0}]`},
		{`{"function":"avg","field":"v","groupBy":["role"]}`, mixed,
			`[{"key":{"role":"admin"},"value":3.75},{"key":{"role":"user"},"value":4},{"key":{"role":"guest"},"value":0}]`},
		{`{"function":"min","field":"v","groupBy":"role"}`, mixed,
			`[{"key":{"role":"admin"},"value":-2.5},{"key":{"role":"user"},"value":4},{"key":{"role":"guest"},"value":0}]`},
		{`{"function":"max","field":"v","groupBy":"role"}`, mixed,
			`[{"key":{"role":"admin"},"value":10},{"key":{"role":"user"},"value":4},{"key":{"role":"guest"},"value":0}]`},
		{`{"function":"count","groupBy":"role"}`, `[]`, `[]`},
		{`{"function":"count","groupBy":["a","b"]}`,
			`[{"a":1,"b":"x"},{"b":"x","a":1},{"a":"1","b":"x"},{"a":1,"b":"y"},{"b":"x","a":1}]`,
			`[{"key":{"a":1,"b":"x"},"value":3},{"key":{"a":"1","b":"x"},"value":1},{"key":{"a":1,"b":"y"},"value":1}]`},
		{`{"function":"count","groupBy":"g"}`,
			`[{"g":null},{},{"g":"null"},{"g":false},{"g":0},{"g":-0},{"g":""}]`,
			`[{"key":{"g":null},"value":2},{"key":{"g":"null"},"value":1},{"key":{"g":false},"value":1},{"key":{"g":0},"value":2},{"key":{"g":""},"value":1}]`},
		{`{"function":"count","groupBy":"g"}`,
			`[{"g":{"x":1,"y":[1,2]}},{"g":{"y":[1,2],"x":1}},{"g":{"x":1}},{"g":[1,2]},{"g":[2,1]},{"g":[1,2]}]`,
			`[{"key":{"g":{"x":1,"y":[1,2]}},"value":2},{"key":{"g":{"x":1}},"value":1},{"key":{"g":[1,2]},"value":2},{"key":{"g":[2,1]},"value":1}]`},
		// groupBy key strings that could collide in a naive encoding
		{`{"function":"count","groupBy":["a","b"]}`,
			`[{"a":"x","b":"yz"},{"a":"xy","b":"z"},{"a":"x\u0000","b":"z"}]`,
			`[{"key":{"a":"x","b":"yz"},"value":1},{"key":{"a":"xy","b":"z"},"value":1},{"key":{"a":"x\u0000","b":"z"},"value":1}]`},
	}
	for _, c := range cases {
		q := `{"bucket":"b","aggregate":` + c.agg + `,"sort":{"v":"asc"},"limit":1,"fields":["x"]}`
		if got := evalString(t, q, c.records); got != c.want {
			t.Errorf("%s over %s:\n got %s\nwant %s", c.agg, c.records, got, c.want)
		}
	}
}

func TestAgg(t *testing.T) {
	rs := recs(t, mixed)
	want := map[string]struct {
		v  float64
		ok bool
	}{"count": {7, true}, "sum": {11.5, true}, "avg": {11.5 / 3, true}, "min": {-2.5, true}, "max": {10, true}}
	for fn, w := range want {
		a, err := NewAgg(fn, "v")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			a.Add(r)
		}
		if v, ok := a.Result(); v != w.v || ok != w.ok {
			t.Errorf("%s: %v %v, want %v %v", fn, v, ok, w.v, w.ok)
		}
		e, _ := NewAgg(fn, "v")
		v, ok := e.Result()
		if fn == "min" || fn == "max" {
			if ok {
				t.Errorf("%s of nothing: ok", fn)
			}
		} else if !ok || v != 0 {
			t.Errorf("%s of nothing: %v %v", fn, v, ok)
		}
	}
	if _, err := NewAgg("count", ""); err != nil {
		t.Errorf("count without field: %v", err)
	}
	errs := []struct{ fn, field, msg string }{
		{"median", "v", `unknown aggregate function "median"`},
		{"", "v", `unknown aggregate function ""`},
		{"Sum", "v", `unknown aggregate function "Sum"`},
		{"sum", "", `aggregate function "sum" needs a field`},
		{"min", "", `aggregate function "min" needs a field`},
	}
	for _, e := range errs {
		_, err := NewAgg(e.fn, e.field)
		var ae *AggError
		if err == nil || err.Error() != e.msg || !errors.As(err, &ae) || !errors.Is(err, ErrAggregate) {
			t.Errorf("NewAgg(%q, %q): %v, want %q", e.fn, e.field, err, e.msg)
		}
		dst := []byte("x")
		out, err := GroupBy(rs, []string{"role"}, e.fn, e.field, dst)
		if err == nil || err.Error() != e.msg || string(out) != "x" {
			t.Errorf("GroupBy(%q, %q): %q %v", e.fn, e.field, out, err)
		}
	}
	if _, err := GroupBy(rs, nil, "count", "", nil); err == nil || err.Error() != "group by needs at least one field" {
		t.Errorf("GroupBy without fields: %v", err)
	}
	out, err := GroupBy(rs, []string{"role", "role"}, "count", "", []byte("prefix:"))
	if err != nil || string(out) != `prefix:[{"key":{"role":"admin"},"value":3},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":1}]` {
		t.Errorf("GroupBy appends: %s %v", out, err)
	}
}

func TestSubstitute(t *testing.T) {
	params := mustValue(t, `{"role":"admin","min":18,"ids":[1,2],"obj":{"k":[true]},"n":null,"s":"{{ params.role }}"}`).(*jsonv.Object)
	cases := []struct{ in, want string }{
		{`{"a":"{{ params.role }}"}`, `{"a":"admin"}`},
		{`{"a":"{{params.role}}"}`, `{"a":"admin"}`},
		{`{"a":"{{   params.min\t}}"}`, `{"a":18}`},
		{`{"a":"{{\nparams.min\n}}"}`, `{"a":18}`},
		{`{"a":{"$in":"{{ params.ids }}"}}`, `{"a":{"$in":[1,2]}}`},
		{`{"a":["x","{{ params.obj }}",["{{ params.n }}"]]}`, `{"a":["x",{"k":[true]},[null]]}`},
		{`{"filter":{"$or":[{"a":{"$gte":"{{ params.min }}"}}]},"limit":"{{params.min}}"}`,
			`{"filter":{"$or":[{"a":{"$gte":18}}]},"limit":18}`},
		{`{"a":"{{ params.s }}"}`, `{"a":"{{ params.role }}"}`}, // not substituted twice
		{`"{{ params.role }}"`, `"admin"`},
		// not placeholders
		{`{"a":"role is {{ params.role }}"}`, `{"a":"role is {{ params.role }}"}`},
		{`{"a":"{{ params.role }} "}`, `{"a":"{{ params.role }} "}`},
		{`{"a":" {{ params.role }}"}`, `{"a":" {{ params.role }}"}`},
		{`{"a":"{{ params. role }}"}`, `{"a":"{{ params. role }}"}`},
		{`{"a":"{{ param.role }}"}`, `{"a":"{{ param.role }}"}`},
		{`{"a":"{{ params.ro-le }}"}`, `{"a":"{{ params.ro-le }}"}`},
		{`{"a":"{{ params. }}"}`, `{"a":"{{ params. }}"}`},
		{`{"a":"{ params.role }"}`, `{"a":"{ params.role }"}`},
		{`{"a":"{{ PARAMS.role }}"}`, `{"a":"{{ PARAMS.role }}"}`},
		{`{"{{ params.role }}":1}`, `{"{{ params.role }}":1}`}, // keys are never replaced
		{`{"a":"{{\u00a0params.role}}"}`, `{"a":"{{\u00a0params.role}}"}`},
	}
	for _, c := range cases {
		in := mustValue(t, c.in)
		before := string(jsonv.Marshal(in))
		out, err := Substitute(in, params)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := string(jsonv.Marshal(out)); got != string(jsonv.Marshal(mustValue(t, c.want))) {
			t.Errorf("%s: %s, want %s", c.in, got, c.want)
		}
		if string(jsonv.Marshal(in)) != before {
			t.Errorf("%s: input modified", c.in)
		}
		if HasParams(in) != (before != string(jsonv.Marshal(out))) && c.in != `{"a":"{{ params.s }}"}` {
			t.Errorf("%s: HasParams %v", c.in, HasParams(in))
		}
	}

	// The parameter is deep-copied.
	out, err := Substitute(mustValue(t, `{"a":"{{ params.obj }}"}`), params)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := out.(*jsonv.Object).Get("a")
	o.(*jsonv.Object).Set("k", "changed")
	if p, _ := params.Get("obj"); string(jsonv.Marshal(p)) != `{"k":[true]}` {
		t.Errorf("parameter shared with the result: %s", jsonv.Marshal(p))
	}

	// Missing parameters.
	for _, s := range []string{`{"a":"{{ params.nope }}"}`, `[1,{"b":["{{params.nope}}"]}]`} {
		for _, p := range []*jsonv.Object{params, nil} {
			_, err := Substitute(mustValue(t, s), p)
			var pe *ParamError
			if err == nil || err.Error() != `missing query parameter "nope"` || !errors.As(err, &pe) ||
				pe.Name != "nope" || !errors.Is(err, ErrMissingParam) {
				t.Errorf("%s: error %v", s, err)
			}
		}
	}
	if out, err := Substitute(mustValue(t, `{"a":1}`), nil); err != nil || string(jsonv.Marshal(out)) != `{"a":1}` {
		t.Errorf("no placeholders, nil params: %v %v", out, err)
	}
	if !HasParams(mustValue(t, `[{"x":[1,"{{params.a}}"]}]`)) || HasParams(mustValue(t, `[{"x":[1,"{{params.a}"]}]`)) {
		t.Error("HasParams nested")
	}
}

func TestEvalAllocations(t *testing.T) {
	rs := benchRecords(t, 2000)
	dst := make([]byte, 0, 1<<20)
	check := func(query string, max float64) {
		q := mustQuery(t, query)
		if n := testing.AllocsPerRun(5, func() { q.Eval(rs, dst[:0]) }); n > max {
			t.Errorf("%s: %v allocations for %d records, want at most %v", query, n, len(rs), max)
		}
	}
	check(`{"bucket":"b"}`, 0)
	check(`{"bucket":"b","fields":["name","age"],"offset":10,"limit":500}`, 0)
	check(`{"bucket":"b","aggregate":{"function":"avg","field":"age"}}`, 0)
	check(`{"bucket":"b","sort":{"age":"desc","name":"asc"}}`, 4)
	check(`{"bucket":"b","aggregate":{"function":"sum","field":"age","groupBy":"role"}}`, 12)
}

func mustValue(t testing.TB, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// TestEvalTopK checks that the bounded-heap path used for small limits gives
// exactly the slice of the full sort.
func TestEvalTopK(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	vals := []string{`null`, `1`, `2`, `2.5`, `"a"`, `"b"`, `true`, `[1]`, `-3`}
	for round := range 50 {
		var b strings.Builder
		b.WriteString("[")
		n := 50 + rnd.IntN(300)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"id":` + itoa(i))
			if rnd.IntN(5) > 0 {
				b.WriteString(`,"x":` + vals[rnd.IntN(len(vals))])
			}
			b.WriteString(`,"y":` + vals[rnd.IntN(len(vals))] + `}`)
		}
		b.WriteString("]")
		rs := recs(t, b.String())
		sort := []string{`{"x":"asc"}`, `{"x":"desc","y":"asc"}`, `{"y":"desc","x":"desc"}`}[round%3]
		full := mustQuery(t, `{"bucket":"b","fields":["id"],"sort":`+sort+`}`).Eval(rs, nil)
		fv, _ := jsonv.Parse(full)
		all := fv.([]jsonv.Value)
		for _, lim := range []int{1, 2, 5, n / 10} {
			off := rnd.IntN(5)
			q := mustQuery(t, `{"bucket":"b","fields":["id"],"sort":`+sort+`,"limit":`+itoa(lim)+`,"offset":`+itoa(off)+`}`)
			got := string(q.Eval(rs, nil))
			want := string(jsonv.Marshal(all[min(off, n):min(off+lim, n)]))
			if got != want {
				t.Fatalf("sort %s limit %d offset %d:\n got %s\nwant %s", sort, lim, off, got, want)
			}
		}
	}
}

func TestConcurrentEval(t *testing.T) {
	rs := benchRecords(t, 300)
	qs := []*Query{
		mustQuery(t, `{"bucket":"b","sort":{"age":"desc","name":"asc"},"limit":7}`),
		mustQuery(t, `{"bucket":"b","aggregate":{"function":"avg","field":"age","groupBy":["role"]}}`),
	}
	want := [][]byte{qs[0].Eval(rs, nil), qs[1].Eval(rs, nil)}
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for range 50 {
				ok = ok && string(qs[g%2].Eval(rs, nil)) == string(want[g%2])
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Eval gave a different result")
		}
	}
}

func TestParseForBucket(t *testing.T) {
	for _, c := range []struct{ query, bucket, want, err string }{
		{`{"limit":1}`, "users", "users", ""},
		{`{"bucket":"users"}`, "users", "users", ""},
		{`{"bucket":"orders"}`, "users", "", `invalid query: "bucket" is "orders" but the command names "users"`},
		{`{"bucket":"a.b"}`, "users", "", `invalid query: "bucket" expects a bucket name`},
		{`{"nope":1}`, "users", "", `invalid query: unknown key "nope"`},
	} {
		q, err := ParseForBucket(mustValue(t, c.query), c.bucket)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: error %v, want %q", c.query, err, c.err)
		case c.err == "" && (err != nil || q.Bucket != c.want):
			t.Errorf("%s: %v %v", c.query, q, err)
		}
	}
}
