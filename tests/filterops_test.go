package tests

import "testing"

// The filter operators for arrays and patterns over a real socket, with
// their errors (which change nothing).
func TestFilterOperators(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("docs", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"tags":{"type":"array"},"items":{"type":"array"},"age":{"type":"number"}},"indexes":["name"]}`)
	r.insert("docs",
		`{"id":"a","name":"Alice","tags":["x","y"],"items":[{"sku":"p","qty":1},{"sku":"q","qty":5}],"age":30}`,
		`{"id":"b","name":"bob","tags":["y"],"items":[{"sku":"p","qty":3}]}`,
		`{"id":"c","name":"Carol","tags":[],"age":70}`)
	keys := func(filter string) []string {
		t.Helper()
		var out []string
		for _, rec := range r.list("B.WHERE", "docs", filter) {
			out = append(out, parseRec(t, rec)["id"].(string))
		}
		return out
	}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`{"tags":{"$contains":"x"}}`, []string{"a"}},
		{`{"tags":{"$contains":"y"}}`, []string{"a", "b"}},
		{`{"name":{"$contains":"o"}}`, []string{"b", "c"}},
		{`{"name":{"$regex":"^[ab]"}}`, []string{"b"}},
		{`{"name":{"$regex":"^[ab]","$options":"i"}}`, []string{"a", "b"}},
		{`{"tags":{"$size":0}}`, []string{"c"}},
		{`{"tags":{"$size":1}}`, []string{"b"}},
		{`{"items":{"$elemMatch":{"sku":"p","qty":{"$gte":2}}}}`, []string{"b"}},
		{`{"items":{"$elemMatch":{"sku":"q"}}}`, []string{"a"}},
		{`{"age":{"$not":{"$gt":50}}}`, []string{"a", "b"}},
		{`{"name":{"$not":{"$regex":"o"}},"tags":{"$contains":"x"}}`, []string{"a"}},
	} {
		eq(t, "B.WHERE "+c.filter, keys(c.filter), c.want)
		r.integer(int64(len(c.want)), "B.COUNT", "docs", c.filter)
	}
	for _, c := range []struct{ want, filter string }{
		{"ERR invalid filter: $regex: error parsing regexp: missing closing ): `(`", `{"name":{"$regex":"("}}`},
		{`ERR invalid filter: $options may only be "i" (ignore case)`, `{"name":{"$regex":"a","$options":"g"}}`},
		{"ERR invalid filter: $size expects a non-negative integer", `{"tags":{"$size":"1"}}`},
		{`ERR invalid filter: $not expects an operator object, as in {"$not":{"$gt":5}}`, `{"age":{"$not":50}}`},
		{"ERR invalid filter: $contains expects a string, or a number or boolean element of an array", `{"tags":{"$contains":["x"]}}`},
	} {
		r.failsUnchanged(c.want, "B.WHERE", "docs", c.filter)
		r.failsUnchanged(c.want, "B.DELETEMANY", "docs", c.filter)
	}
}
