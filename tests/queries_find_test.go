package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docs/commands.md, "Records", the reads: B.ALL, B.FIRST, B.LAST, B.WHERE,
// B.FINDONE, B.COUNT, B.PAGINATE, B.SUM, B.AVG, B.MIN, B.MAX, B.GROUPBY and
// B.FIND, over peopleRows (helpers_records_test.go).

func TestAllFirstLastOrder(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	w := newRC(t, s, 2)
	key := `{"id":{"type":"string"},"v":{"type":"number"}}`
	w.define("seq", `{"key":"id","schema":`+key+`,"persistent":false}`)
	w.define("nums", `{"key":"id","schema":{"id":{"type":"number"},"v":{"type":"number"}},"ordered":true,"persistent":false}`)
	w.define("strs", `{"key":"id","schema":`+key+`,"ordered":true,"persistent":false}`)
	for _, k := range []string{"c", "a", "b"} {
		w.insert("seq", `{"id":"`+k+`"}`)
	}
	for _, k := range []string{"5", "1", "3", "10", "2"} {
		w.insert("nums", `{"id":`+k+`}`)
	}
	for _, k := range []string{"b", "a", "c", "B", "aa"} {
		w.insert("strs", `{"id":"`+k+`"}`)
	}
	// An update does not move a record.
	w.str("B.UPDATE", "seq", "c", `{"v":1}`)
	w.str("B.UPDATE", "nums", "1", `{"v":1}`)
	protos(t, s, func(t *testing.T, r *rc) {
		for _, c := range []struct {
			args []any
			want []string
		}{
			{[]any{"B.ALL", "seq"}, []string{"c", "a", "b"}},
			{[]any{"B.FIRST", "seq", "2"}, []string{"c", "a"}},
			{[]any{"B.LAST", "seq", "2"}, []string{"a", "b"}},
			{[]any{"B.FIRST", "seq", "0"}, []string{}},
			{[]any{"B.LAST", "seq", "0"}, []string{}},
			{[]any{"B.FIRST", "seq", "10"}, []string{"c", "a", "b"}},
			{[]any{"B.LAST", "seq", "10"}, []string{"c", "a", "b"}},
			{[]any{"B.ALL", "nums"}, []string{"1", "2", "3", "5", "10"}},
			{[]any{"B.FIRST", "nums", "2"}, []string{"1", "2"}},
			{[]any{"B.LAST", "nums", "2"}, []string{"5", "10"}},
			{[]any{"B.ALL", "strs"}, []string{"B", "a", "aa", "b", "c"}},
			{[]any{"B.LAST", "strs", "3"}, []string{"aa", "b", "c"}},
			{[]any{"B.WHERE", "nums", `{"id":{"$gte":3}}`}, []string{"3", "5", "10"}},
		} {
			eq(t, cmdText(c.args), r.keys("id", c.args...), c.want)
		}
	})
	// An ordered bucket answers from an index in key order.
	w.define("onums", `{"key":"id","schema":{"id":{"type":"number"},"v":{"type":"number"}},"indexes":["v"],"ordered":true,"persistent":false}`)
	for _, rec := range []string{`{"id":5,"v":1}`, `{"id":1,"v":1}`, `{"id":3,"v":2}`, `{"id":-2,"v":3}`} {
		w.insert("onums", rec)
	}
	eq(t, "indexed $in on an ordered bucket", w.keys("id", "B.WHERE", "onums", `{"v":{"$in":[2,1]}}`), []string{"1", "3", "5"})
	eq(t, "indexed range on an ordered bucket", w.keys("id", "B.WHERE", "onums", `{"v":{"$gte":1}}`), []string{"-2", "1", "3", "5"})
	eq(t, "indexed equality on an ordered bucket", w.keys("id", "B.WHERE", "onums", `{"v":1}`), []string{"1", "5"})

	// Deleting and inserting again puts a record last (insertion order).
	w.integer(1, "B.DELETE", "seq", "a")
	w.insert("seq", `{"id":"a"}`)
	eq(t, "B.ALL seq after reinsert", w.keys("id", "B.ALL", "seq"), []string{"c", "b", "a"})
	w.define("empty", `{"key":"id","schema":`+key+`,"persistent":false}`)
	eq(t, "B.ALL of an empty bucket", w.list("B.ALL", "empty"), []string{})
	eq(t, "B.FIRST of an empty bucket", w.list("B.FIRST", "empty", "3"), []string{})
	eq(t, "B.LAST of an empty bucket", w.list("B.LAST", "empty", "3"), []string{})
}

// whereCases are filters over peopleRows with the keys they select, in
// insertion order: every operator of section 4.
var whereCases = []struct {
	filter string
	want   []string
}{
	{`{}`, []string{"p3", "p1", "p5", "p2", "p4", "p6"}},
	{`{"role":"admin"}`, []string{"p3", "p4"}},
	{`{"role":{"$eq":"user"}}`, []string{"p1", "p2", "p6"}},
	{`{"role":{"$neq":"user"}}`, []string{"p3", "p5", "p4"}},
	{`{"age":30}`, []string{"p1", "p2"}},
	{`{"age":{"$gt":30}}`, []string{"p3", "p4"}},
	{`{"age":{"$gte":30}}`, []string{"p3", "p1", "p2", "p4"}},
	{`{"age":{"$lt":30}}`, []string{"p5"}},
	{`{"age":{"$lte":30}}`, []string{"p1", "p5", "p2"}},
	{`{"age":{"$gt":20,"$lt":50}}`, []string{"p3", "p1", "p2"}},
	{`{"age":{"$between":[17,30]}}`, []string{"p1", "p5", "p2"}},
	{`{"age":{"$neq":30}}`, []string{"p3", "p5", "p4", "p6"}},
	{`{"role":{"$in":["guest","admin"]}}`, []string{"p3", "p5", "p4"}},
	{`{"role":{"$nin":["guest","admin"]}}`, []string{"p1", "p2", "p6"}},
	{`{"age":{"$in":[65,17,99]}}`, []string{"p5", "p4"}},
	{`{"id":{"$in":["p4","p1","zz"]}}`, []string{"p1", "p4"}},
	{`{"id":"p2"}`, []string{"p2"}},
	{`{"name":{"$contains":"ALI"}}`, []string{"p1", "p2"}},
	{`{"name":{"$startsWith":"B"}}`, []string{"p5"}},
	{`{"name":{"$startsWith":"a"}}`, []string{"p1"}},
	{`{"email":{"$endsWith":"@y.org"}}`, []string{"p2", "p4"}},
	{`{"email":{"$exists":true}}`, []string{"p3", "p1", "p2", "p4", "p6"}},
	{`{"email":{"$exists":false}}`, []string{"p5"}},
	{`{"score":{"$exists":false}}`, []string{"p1", "p5", "p6"}},
	{`{"score":null}`, []string{"p1"}},
	{`{"active":true}`, []string{"p3", "p5", "p2"}},
	{`{"active":false,"role":"user"}`, []string{"p1", "p6"}},
	{`{"tags":["b"]}`, []string{"p1"}},
	{`{"name":{"$gte":"a"}}`, []string{"p1", "p6"}},
	{`{"name":{"$between":["B","D"]}}`, []string{"p3", "p5"}},
	{`{"score":{"$gte":3,"$lte":7.5}}`, []string{"p3", "p2"}},
	{`{"$or":[{"role":"guest"},{"age":{"$gte":60}}]}`, []string{"p5", "p4"}},
	{`{"$and":[{"active":true},{"age":{"$lt":40}}]}`, []string{"p5", "p2"}},
	{`{"$or":[{"role":"admin","active":false},{"$and":[{"role":"user"},{"age":{"$exists":false}}]}]}`, []string{"p4", "p6"}},
	{`{"role":"user","$or":[{"age":30,"$or":[{"active":true},{"score":{"$exists":true}}]},{"name":{"$endsWith":"k"}}]}`, []string{"p2", "p6"}},
	{`{"$and":[{"role":"admin"},{"$and":[{"age":{"$gt":50}}]}]}`, []string{"p4"}},
	{`{"$or":[]}`, []string{}},
	{`{"role":"nobody"}`, []string{}},
	{`{"age":"30"}`, []string{}},
	{`{"name":{"$startsWith":""}}`, []string{"p3", "p1", "p5", "p2", "p4", "p6"}},
	{`{"name":{"$startsWith":"Dave"}}`, []string{"p2"}},
	{`{"name":{"$lt":"C"}}`, []string{"p5"}},
	{`{"active":{"$in":[true]}}`, []string{"p3", "p5", "p2"}},
	{`{"active":"true"}`, []string{}},
	{`{"score":{"$in":[null,3]}}`, []string{"p1", "p2"}},
	{`{"age":{"$gt":30},"role":"admin"}`, []string{"p3", "p4"}},
	{`{"age":{"$between":[30,30]}}`, []string{"p1", "p2"}},
	{`{"age":{"$between":[40,20]}}`, []string{}},
	{`{"age":{"$gte":30,"$in":[17,30,65]}}`, []string{"p1", "p2", "p4"}},
	{`{"role":{"$in":[]}}`, []string{}},
	{`{"role":{"$nin":[]}}`, []string{"p3", "p1", "p5", "p2", "p4", "p6"}},
	{`{"id":{"$gt":"p4"}}`, []string{"p5", "p6"}},
	{`{"$and":[{"age":30},{"age":{"$in":[30,41]}}]}`, []string{"p1", "p2"}},
	{`{"$and":[{"age":30},{"age":41}]}`, []string{}},
	{`{"age":{"$exists":true,"$lt":20}}`, []string{"p5"}},
	{`{"$or":[{"age":30},{"role":"admin"}],"active":true}`, []string{"p3", "p2"}},
	{`{"email":"eve@y.org"}`, []string{"p4"}},
	{`{"email":{"$in":["eve@y.org","carol@x.io","no@x.io"]}}`, []string{"p3", "p4"}},
	{`{"score":{"$gt":3}}`, []string{"p3", "p4"}},
	{`{"score":{"$neq":null}}`, []string{"p3", "p5", "p2", "p4", "p6"}},
}

func TestWhereOperatorsIndexedAndNot(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	loadPeople(newRC(t, s, 2))
	// Comparing a schema field across types is an error, with or without
	// an index (docs/commands.md, "Strict buckets").
	for _, b := range []string{"people", "peopleIx"} {
		newRC(t, s, 2).failsUnchanged(`ERR invalid filter: $lt on "age" compares with a string, but the schema says "age" is a number`, "B.WHERE", b, `{"age":{"$lt":"a"}}`)
	}
	check := func(t *testing.T, r *rc, stage string, cases []struct {
		filter string
		want   []string
	}) {
		for _, c := range cases {
			plain := r.list("B.WHERE", "people", c.filter)
			indexed := r.list("B.WHERE", "peopleIx", c.filter)
			eq(t, stage+" B.WHERE people "+c.filter, recKeys(t, "id", plain), c.want)
			eq(t, stage+" B.WHERE peopleIx "+c.filter, recKeys(t, "id", indexed), c.want)
			for i := range plain {
				if i < len(indexed) && withoutMeta(t, plain[i]) != withoutMeta(t, indexed[i]) {
					t.Errorf("%s %s: record %d differs:\n%s\n%s", stage, c.filter, i, plain[i], indexed[i])
				}
			}
			r.integer(int64(len(c.want)), "B.COUNT", "peopleIx", c.filter)
			r.integer(int64(len(c.want)), "B.COUNT", "people", c.filter)
		}
	}
	protos(t, s, func(t *testing.T, r *rc) { check(t, r, "", whereCases) })

	// Updates move index entries; the reply stays in bucket order, not in
	// the index's value order.
	r := newRC(t, s, 2)
	for _, b := range []string{"people", "peopleIx"} {
		r.str("B.UPDATE", b, "p2", `{"age":31,"role":"admin","name":"Zed"}`)
		r.str("B.UPDATE", b, "p4", `{"age":null}`)
		r.integer(1, "B.DELETE", b, "p3")
		r.insert(b, `{"id":"p3","name":"Carol","role":"guest","age":41}`)
	}
	check(t, r, "after updates:", []struct {
		filter string
		want   []string
	}{
		{`{}`, []string{"p1", "p5", "p2", "p4", "p6", "p3"}},
		{`{"age":30}`, []string{"p1"}},
		{`{"age":{"$gt":30}}`, []string{"p2", "p3"}},
		{`{"age":{"$gte":0}}`, []string{"p1", "p5", "p2", "p3"}},
		{`{"age":null}`, []string{"p4"}},
		{`{"role":"admin"}`, []string{"p2", "p4"}},
		{`{"role":{"$in":["guest","admin"]}}`, []string{"p5", "p2", "p4", "p3"}},
		{`{"name":{"$startsWith":"Z"}}`, []string{"p2"}},
		{`{"name":"Dave Alison"}`, []string{}},
	})
}

func TestFindOneAndCount(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	loadPeople(newRC(t, s, 2))
	protos(t, s, func(t *testing.T, r *rc) {
		for _, b := range []string{"people", "peopleIx"} {
			eq(t, "B.FINDONE role user", recKeys(t, "id", []string{r.str("B.FINDONE", b, `{"role":"user"}`)}), []string{"p1"})
			eq(t, "B.FINDONE age>=30", recKeys(t, "id", []string{r.str("B.FINDONE", b, `{"age":{"$gte":30}}`)}), []string{"p3"})
			eq(t, "B.FINDONE {}", r.str("B.FINDONE", b, `{}`), r.list("B.ALL", b)[0])
			r.null("B.FINDONE", b, `{"role":"nobody"}`)
			eq(t, "raw nil", rawProto(t, s, r.proto).Do("B.FINDONE", b, `{"age":1000}`), map[int]string{2: "$-1\r\n", 3: "_\r\n"}[r.proto])
			r.integer(6, "B.COUNT", b)
			r.integer(6, "B.COUNT", b, `{}`)
			r.integer(3, "B.COUNT", b, `{"role":"user"}`)
			r.integer(0, "B.COUNT", b, `{"role":"nobody"}`)
			r.err("ERR syntax error", "B.COUNT", b, `{}`, "x")
		}
	})
}

func TestPaginate(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	w := newRC(t, s, 2)
	loadPeople(w)
	w.define("nums", `{"key":"n","schema":{"n":{"type":"number"}},"ordered":true,"persistent":false}`)
	for _, n := range []string{"40", "7", "300", "12", "5", "1000", "2"} {
		w.insert("nums", `{"n":`+n+`}`)
	}
	type page struct {
		keys    []string
		hasMore int64
		next    any
	}
	get := func(r *rc, keyField string, args ...any) page {
		r.t.Helper()
		v, ok := r.do(args...).([]any)
		if !ok || len(v) != 3 {
			r.t.Fatalf("%s: got %#v, want [records, hasMore, nextCursor]", cmdText(args), v)
		}
		more, ok := v[1].(int64)
		if !ok {
			r.t.Fatalf("%s: hasMore %#v is not an integer", cmdText(args), v[1])
		}
		return page{recKeys(r.t, keyField, asList(r.t, v[0], cmdText(args))), more, v[2]}
	}
	protos(t, s, func(t *testing.T, r *rc) {
		// Walk every page; together they are B.ALL.
		for _, c := range []struct {
			bucket, key string
			limit       int
			want        []page
		}{
			{"people", "id", 4, []page{{[]string{"p3", "p1", "p5", "p2"}, 1, "p2"}, {[]string{"p4", "p6"}, 0, nil}}},
			{"peopleIx", "id", 3, []page{{[]string{"p3", "p1", "p5"}, 1, "p5"}, {[]string{"p2", "p4", "p6"}, 0, nil}}},
			{"people", "id", 10, []page{{[]string{"p3", "p1", "p5", "p2", "p4", "p6"}, 0, nil}}},
			{"nums", "n", 3, []page{{[]string{"2", "5", "7"}, 1, "7"}, {[]string{"12", "40", "300"}, 1, "300"}, {[]string{"1000"}, 0, nil}}},
			{"people", "id", 1, []page{{[]string{"p3"}, 1, "p3"}, {[]string{"p1"}, 1, "p1"}, {[]string{"p5"}, 1, "p5"},
				{[]string{"p2"}, 1, "p2"}, {[]string{"p4"}, 1, "p4"}, {[]string{"p6"}, 0, nil}}},
		} {
			args := []any{"B.PAGINATE", c.bucket, "LIMIT", fmt.Sprint(c.limit)}
			var all []string
			for i, want := range c.want {
				got := get(r, c.key, args...)
				eq(t, fmt.Sprintf("%s page %d", cmdText(args), i+1), got, want)
				all = append(all, got.keys...)
				if got.next == nil {
					break
				}
				args = []any{"B.PAGINATE", c.bucket, "limit", fmt.Sprint(c.limit), "after", got.next}
			}
			eq(t, "pages of "+c.bucket, all, r.keys(c.key, "B.ALL", c.bucket))
		}
		// A cursor key that does not exist gives an empty page.
		empty := page{[]string{}, 0, nil}
		eq(t, "AFTER an unknown key", get(r, "id", "B.PAGINATE", "people", "LIMIT", "2", "AFTER", "zz"), empty)
		eq(t, "AFTER an unknown number", get(r, "n", "B.PAGINATE", "nums", "LIMIT", "2", "AFTER", "8"), empty)
		eq(t, "AFTER the last key", get(r, "id", "B.PAGINATE", "people", "LIMIT", "2", "AFTER", "p6"), empty)
		c := rawProto(t, s, r.proto)
		eq(t, "raw empty page", c.Do("B.PAGINATE", "people", "LIMIT", "2", "AFTER", "zz"),
			map[int]string{2: "*3\r\n*0\r\n:0\r\n$-1\r\n", 3: "*3\r\n*0\r\n:0\r\n_\r\n"}[r.proto])
		nilR := map[int]string{2: "$-1\r\n", 3: "_\r\n"}[r.proto]
		r1000, r300 := r.list("B.MGET", "nums", "1000")[0], r.list("B.MGET", "nums", "300")[0]
		eq(t, "raw last page", c.Do("B.PAGINATE", "nums", "LIMIT", "1", "AFTER", "300"), "*3\r\n*1\r\n"+bulk(r1000)+":0\r\n"+nilR)
		eq(t, "raw page with more", c.Do("B.PAGINATE", "nums", "LIMIT", "1", "AFTER", "40"), "*3\r\n*1\r\n"+bulk(r300)+":1\r\n$3\r\n300\r\n")
		eq(t, "numeric cursor", get(r, "n", "B.PAGINATE", "nums", "LIMIT", "1", "AFTER", "12").next, "40")

		r.err("ERR LIMIT must be a positive integer", "B.PAGINATE", "people", "LIMIT", "0")
		r.err(notInt, "B.PAGINATE", "people", "LIMIT", "x")
		r.err("ERR syntax error", "B.PAGINATE", "people", "COUNT", "2")
		r.err("ERR syntax error", "B.PAGINATE", "people", "LIMIT", "2", "AFTER")
		r.err("ERR syntax error", "B.PAGINATE", "people", "LIMIT", "2", "BEFORE", "p1")
		r.err(`ERR invalid key "x": the key field "n" is a number`, "B.PAGINATE", "nums", "LIMIT", "2", "AFTER", "x")
	})
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	loadPeople(newRC(t, s, 2))
	// Ages 41 30 17 30 65 (p6 has none); scores 7.5 null - 3 9 -.
	cases := []struct {
		cmd, field, filter string
		want               string // "" is nil
	}{
		{"B.SUM", "age", "", "183"},
		{"B.AVG", "age", "", "36.6"},
		{"B.MIN", "age", "", "17"},
		{"B.MAX", "age", "", "65"},
		{"B.SUM", "score", "", "19.5"},
		{"B.AVG", "score", "", "6.5"},
		{"B.MIN", "score", "", "3"},
		{"B.MAX", "score", "", "9"},
		{"B.SUM", "age", `{"role":"user"}`, "60"},
		{"B.AVG", "age", `{"role":"user"}`, "30"},
		{"B.MIN", "age", `{"active":true}`, "17"},
		{"B.MAX", "age", `{"active":false}`, "65"},
		{"B.SUM", "age", `{"role":"nobody"}`, "0"},
		{"B.AVG", "age", `{"role":"nobody"}`, "0"},
		{"B.MIN", "age", `{"role":"nobody"}`, ""},
		{"B.MAX", "age", `{"role":"nobody"}`, ""},
		{"B.SUM", "nothing", "", "0"},
		{"B.MIN", "nothing", "", ""},
		{"B.MAX", "age", `{"id":"p6"}`, ""},
	}
	protos(t, s, func(t *testing.T, r *rc) {
		c := rawProto(t, s, r.proto)
		for _, b := range []string{"people", "peopleIx"} {
			for _, a := range cases {
				args := []any{a.cmd, b, a.field}
				if a.filter != "" {
					args = append(args, a.filter)
				}
				raw := make([]string, len(args))
				for i, x := range args {
					raw[i] = x.(string)
				}
				got := c.Do(raw...)
				var want string
				var wantV any
				switch {
				case a.want == "" && r.proto == 2:
					want = "$-1\r\n"
				case a.want == "":
					want = "_\r\n"
				case r.proto == 2:
					want, wantV = bulk(a.want), a.want
				default:
					want = "," + a.want + "\r\n"
					var f float64
					fmt.Sscan(a.want, &f)
					wantV = f
				}
				eq(t, fmt.Sprintf("RESP%d raw %s", r.proto, cmdText(args)), got, want)
				eq(t, fmt.Sprintf("RESP%d go-redis %s", r.proto, cmdText(args)), r.do(args...), wantV)
			}
			r.err("ERR syntax error", "B.SUM", b, "age", "{}", "x")
		}
	})
}

func TestGroupBy(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	loadPeople(newRC(t, s, 2))
	protos(t, s, func(t *testing.T, r *rc) {
		for _, b := range []string{"people", "peopleIx"} {
			for _, c := range []struct {
				args []any
				want string
			}{
				{[]any{"role", "count"},
					`[{"key":{"role":"admin"},"value":2},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":1}]`},
				{[]any{"role", "COUNT"},
					`[{"key":{"role":"admin"},"value":2},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":1}]`},
				{[]any{"role", "sum", "age"},
					`[{"key":{"role":"admin"},"value":106},{"key":{"role":"user"},"value":60},{"key":{"role":"guest"},"value":17}]`},
				{[]any{"role", "avg", "age"},
					`[{"key":{"role":"admin"},"value":53},{"key":{"role":"user"},"value":30},{"key":{"role":"guest"},"value":17}]`},
				{[]any{"role", "max", "age"},
					`[{"key":{"role":"admin"},"value":65},{"key":{"role":"user"},"value":30},{"key":{"role":"guest"},"value":17}]`},
				{[]any{"role", "min", "score"},
					`[{"key":{"role":"admin"},"value":7.5},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":0}]`},
				{[]any{"role,active", "count"},
					`[{"key":{"role":"admin","active":true},"value":1},{"key":{"role":"user","active":false},"value":2},` +
						`{"key":{"role":"guest","active":true},"value":1},{"key":{"role":"user","active":true},"value":1},` +
						`{"key":{"role":"admin","active":false},"value":1}]`},
				{[]any{"active,role", "sum", "age", `{"age":{"$gte":30}}`},
					`[{"key":{"active":true,"role":"admin"},"value":41},{"key":{"active":false,"role":"user"},"value":30},` +
						`{"key":{"active":true,"role":"user"},"value":30},{"key":{"active":false,"role":"admin"},"value":65}]`},
				{[]any{"role", "sum", "age", `{"active":true}`},
					`[{"key":{"role":"admin"},"value":41},{"key":{"role":"guest"},"value":17},{"key":{"role":"user"},"value":30}]`},
				{[]any{"role", "count", `{"role":"admin"}`}, `[{"key":{"role":"admin"},"value":2}]`},
				{[]any{"email", "count", `{"role":{"$neq":"user"}}`},
					`[{"key":{"email":"carol@x.io"},"value":1},{"key":{"email":null},"value":1},{"key":{"email":"eve@y.org"},"value":1}]`},
				{[]any{"role", "count", `{"role":"nobody"}`}, `[]`},
			} {
				args := append([]any{"B.GROUPBY", b}, c.args...)
				eq(t, cmdText(args), r.str(args...), c.want)
			}
			r.err(`ERR unknown aggregate function "median"`, "B.GROUPBY", b, "role", "median", "age")
			r.err("ERR sum needs a field to aggregate", "B.GROUPBY", b, "role", "sum")
			r.err("ERR syntax error: empty group field", "B.GROUPBY", b, "role,", "count")
			r.err("ERR syntax error", "B.GROUPBY", b, "role", "count", "{}", "x")
		}
	})
}

func TestFind(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	loadPeople(newRC(t, s, 2))
	protos(t, s, func(t *testing.T, r *rc) {
		for _, b := range []string{"people", "peopleIx"} {
			find := func(q string) string { r.t.Helper(); return r.str("B.FIND", b, q) }
			ids := func(q string) []string {
				t.Helper()
				out := find(q)
				var recs []map[string]any
				if err := json.Unmarshal([]byte(out), &recs); err != nil {
					t.Fatalf("B.FIND %s: %q is not an array of records: %v", q, out, err)
				}
				keys := make([]string, len(recs))
				for i, rec := range recs {
					keys[i] = fmt.Sprint(rec["id"])
				}
				return keys
			}
			for _, c := range []struct {
				q    string
				want []string
			}{
				{`{}`, []string{"p3", "p1", "p5", "p2", "p4", "p6"}},
				{`{"bucket":"` + b + `"}`, []string{"p3", "p1", "p5", "p2", "p4", "p6"}},
				{`{"sort":{"age":"desc","name":"asc"}}`, []string{"p4", "p3", "p2", "p1", "p5", "p6"}},
				{`{"sort":{"age":"asc","name":"desc"}}`, []string{"p5", "p1", "p2", "p3", "p4", "p6"}},
				{`{"sort":{"score":"asc"}}`, []string{"p2", "p3", "p4", "p1", "p5", "p6"}},
				{`{"sort":{"score":"DESC"}}`, []string{"p4", "p3", "p2", "p1", "p5", "p6"}},
				{`{"sort":{"role":"asc","score":"desc"}}`, []string{"p4", "p3", "p5", "p2", "p1", "p6"}},
				{`{"sort":{"age":"desc","name":"asc"},"limit":2,"offset":1}`, []string{"p3", "p2"}},
				{`{"sort":{"age":"desc"},"limit":2}`, []string{"p4", "p3"}},
				{`{"offset":4}`, []string{"p4", "p6"}},
				{`{"offset":10}`, []string{}},
				{`{"filter":{"role":"user"},"sort":{"age":"asc"}}`, []string{"p1", "p2", "p6"}},
				{`{"filter":{"age":{"$gte":30}},"sort":{"age":"asc"},"limit":3}`, []string{"p1", "p2", "p3"}},
			} {
				eq(t, "B.FIND "+b+" "+c.q, ids(c.q), c.want)
			}
			// Whole records are the stored bytes.
			eq(t, "B.FIND limit 1", find(`{"limit":1}`), "["+r.list("B.ALL", b)[0]+"]")
			for _, c := range []struct{ q, want string }{
				{`{"fields":["name","id","nope"],"sort":{"age":"desc"},"limit":3}`,
					`[{"name":"Eve","id":"p4"},{"name":"Carol","id":"p3"},{"name":"alice","id":"p1"}]`},
				{`{"fields":["score"],"filter":{"role":"user"}}`, `[{"score":null},{"score":3},{}]`},
				{`{"aggregate":{"function":"count"}}`, `6`},
				{`{"filter":{"role":"user"},"aggregate":{"function":"sum","field":"age"}}`, `60`},
				{`{"aggregate":{"function":"avg","field":"age"}}`, `36.6`},
				{`{"filter":{"role":"nobody"},"aggregate":{"function":"min","field":"age"}}`, `null`},
				{`{"filter":{"role":"nobody"},"aggregate":{"function":"sum","field":"age"}}`, `0`},
				{`{"aggregate":{"function":"count","groupBy":"role"}}`,
					`[{"key":{"role":"admin"},"value":2},{"key":{"role":"user"},"value":3},{"key":{"role":"guest"},"value":1}]`},
				{`{"filter":{"active":true},"aggregate":{"function":"sum","field":"age","groupBy":["role","active"]}}`,
					`[{"key":{"role":"admin","active":true},"value":41},{"key":{"role":"guest","active":true},"value":17},` +
						`{"key":{"role":"user","active":true},"value":30}]`},
			} {
				eq(t, "B.FIND "+b+" "+c.q, find(c.q), c.want)
			}
			for _, c := range []struct{ q, want string }{
				{`{"bucket":"other"}`, `ERR *`},
				{`{"limit":0}`, `ERR invalid query: "limit" expects a positive integer`},
				{`{"offset":-1}`, `ERR invalid query: "offset" expects a non-negative integer`},
				{`{"foo":1}`, `ERR invalid query: unknown key "foo"`},
				{`{"sort":{"age":"up"}}`, `ERR invalid query: sort direction of "age" must be "asc" or "desc"`},
				{`{"fields":"name"}`, `ERR invalid query: "fields" expects an array of field names`},
				{`{"aggregate":{"function":"median","field":"age"}}`, `ERR invalid query: *`},
				{`{"aggregate":{"function":"sum"}}`, `ERR invalid query: "aggregate.field" is required for "sum"`},
				{`{"filter":{"age":{"$bad":1}}}`, `ERR invalid filter: unknown operator "$bad"`},
				{`{"filter":[]}`, `ERR invalid filter: expected an object`},
				{`{"limit":`, `ERR invalid JSON: *`},
				{`[]`, `ERR invalid query: expected an object`},
			} {
				r.err(c.want, "B.FIND", b, c.q)
			}
		}
	})
}

// TestFindSortWithLimit checks B.FIND's sort when limit+offset is small
// against the bucket (the server may keep only the first positions), and
// when it is not, against a stable sort computed here: null and absent
// values last (equal to each other, so the next sort key orders them), ties
// in insertion order.
func TestFindSortWithLimit(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("many", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"},"w":{"type":"number"}},"persistent":false}`)
	type row struct {
		id   string
		v    float64
		null bool
		w    float64
	}
	var rows []row
	var batch []string
	for i := 0; i < 64; i++ {
		x := row{id: fmt.Sprintf("m%02d", (i*37)%64), v: float64((i * 7) % 11), w: float64(i % 3), null: i%5 == 0}
		rows = append(rows, x)
		switch {
		case x.null && i%2 == 0:
			batch = append(batch, fmt.Sprintf(`{"id":"%s","w":%v}`, x.id, x.w))
		case x.null:
			batch = append(batch, fmt.Sprintf(`{"id":"%s","v":null,"w":%v}`, x.id, x.w))
		default:
			batch = append(batch, fmt.Sprintf(`{"id":"%s","v":%v,"w":%v}`, x.id, x.v, x.w))
		}
	}
	r.list("B.INSERTMANY", "many", "["+strings.Join(batch, ",")+"]")
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(a, b int) bool {
		x, y := sorted[a], sorted[b]
		switch {
		case x.null != y.null:
			return y.null
		case !x.null && x.v != y.v:
			return x.v > y.v
		}
		return x.w < y.w // nulls are equal to each other: the next key decides
	})
	for _, c := range []struct{ limit, offset int }{{1, 0}, {3, 0}, {4, 3}, {2, 5}, {7, 0}, {8, 0}, {64, 0}, {5, 60}, {10, 50}} {
		q := fmt.Sprintf(`{"sort":{"v":"desc","w":"asc"},"limit":%d,"offset":%d,"fields":["id"]}`, c.limit, c.offset)
		var want []string
		for _, x := range sorted[c.offset:min(c.offset+c.limit, len(sorted))] {
			want = append(want, `{"id":"`+x.id+`"}`)
		}
		eq(t, "B.FIND many "+q, r.str("B.FIND", "many", q), "["+strings.Join(want, ",")+"]")
	}
}
