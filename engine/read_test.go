package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

func TestReads(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	e.insert("users", `{"id":"u0","name":"Zed","email":"zed@x.io","age":20,"role":"admin","tags":["a"]}`)
	for _, js := range []string{`{"n":5,"v":"e"}`, `{"n":-2,"v":"a"}`, `{"n":10,"v":"b"}`, `{"n":1.5,"v":"c"}`} {
		e.insert("nums", js)
	}
	whereTests := []struct{ bucket, filter, want string }{
		{"users", `{}`, `"u1","u2","u3","u0"`},
		{"users", `{"role":"admin"}`, `"u1","u0"`},
		{"users", `{"role":{"$in":["guest","admin"]}}`, `"u1","u3","u0"`},
		{"users", `{"age":20}`, `"u2","u0"`},
		{"users", `{"age":{"$gt":20,"$lte":40}}`, `"u1","u3"`},
		{"users", `{"age":{"$between":[20,30]},"role":"admin"}`, `"u1","u0"`},
		{"users", `{"email":"bob@x.io"}`, `"u2"`},
		{"users", `{"id":{"$in":["u3","u1","zz"]}}`, `"u1","u3"`},
		{"users", `{"email":{"$exists":false}}`, `"u3"`},
		{"users", `{"name":{"$contains":"N"}}`, `"u1"`},
		{"users", `{"name":{"$startsWith":"Z"}}`, `"u0"`},
		{"users", `{"$or":[{"age":40},{"role":"admin"}]}`, `"u1","u3","u0"`},
		{"users", `{"tags":["a"]}`, `"u0"`},
		{"users", `{"role":{"$nin":["admin"]},"age":{"$neq":40}}`, `"u2"`},
		{"users", `{"_version":1,"seq":{"$lte":2}}`, `"u1","u2"`},
		{"users", `{"role":"admin","$and":[{"role":"guest"}]}`, ``},
		{"nums", `{}`, `-2,1.5,5,10`},
		{"nums", `{"n":{"$gte":1.5}}`, `1.5,5,10`},
		{"nums", `{"n":{"$in":[10,-2]}}`, `-2,10`},
		{"nobody", `{}`, "nobucket"},
	}
	for _, tc := range whereTests {
		recs, err := e.s.Where(nil, tc.bucket, flt(t, tc.filter))
		got := keys(recs)
		if err != nil {
			got = errKind(err)
		}
		if got != tc.want {
			t.Errorf("Where(%s, %s) = %s, want %s", tc.bucket, tc.filter, got, tc.want)
		}
		if err != nil {
			continue
		}
		n, _ := e.s.Count(nil, tc.bucket, flt(t, tc.filter))
		if n != len(recs) {
			t.Errorf("Count(%s, %s) = %d, want %d", tc.bucket, tc.filter, n, len(recs))
		}
		one, _ := e.s.FindOne(nil, tc.bucket, flt(t, tc.filter))
		if (one == nil) != (len(recs) == 0) || (one != nil && one != recs[0]) {
			t.Errorf("FindOne(%s, %s) = %v, want the first of Where", tc.bucket, tc.filter, one)
		}
	}
	if _, err := e.s.Count(nil, "nobody", nil); errKind(err) != "nobucket" {
		t.Errorf("Count on no bucket: %v", err)
	}

	edgeTests := []struct {
		bucket string
		n      int
		last   bool
		want   string
	}{
		{"users", 2, false, `"u1","u2"`},
		{"users", 2, true, `"u3","u0"`},
		{"users", 10, false, `"u1","u2","u3","u0"`},
		{"users", 0, false, ``},
		{"users", -1, true, ``},
		{"nums", 3, false, `-2,1.5,5`},
		{"nums", 1, true, `10`},
	}
	for _, tc := range edgeTests {
		get := e.s.First
		if tc.last {
			get = e.s.Last
		}
		recs, err := get(nil, tc.bucket, tc.n)
		if err != nil || keys(recs) != tc.want {
			t.Errorf("First/Last(%s, %d, last=%v) = %s, %v; want %s", tc.bucket, tc.n, tc.last, keys(recs), err, tc.want)
		}
	}
	if _, err := e.s.First(nil, "nobody", 1); errKind(err) != "nobucket" {
		t.Errorf("First on no bucket: %v", err)
	}
}

func TestPaginate(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	for _, n := range []int{9, 3, 7, 1, 5} {
		e.insert("nums", fmt.Sprintf(`{"n":%d}`, n))
	}
	tests := []struct {
		bucket   string
		limit    int
		after    string
		hasAfter bool
		want     string // keys|hasMore|next, or an error kind
	}{
		{"nums", 2, "", false, "1,3|true|3"},
		{"nums", 2, "3", true, "5,7|true|7"},
		{"nums", 2, "7", true, "9|false|null"},
		{"nums", 5, "", false, "1,3,5,7,9|false|null"},
		{"nums", 4, "", false, "1,3,5,7|true|7"},
		{"nums", 2, "9", true, "|false|null"},
		{"nums", 2, "4", true, "|false|null"}, // a cursor that does not exist
		{"nums", 2, "x", true, "arg"},
		{"users", 2, "", false, `"u1","u2"|true|"u2"`},
		{"users", 2, "u2", true, `"u3"|false|null`},
		{"nobody", 2, "", false, "nobucket"},
	}
	for _, tc := range tests {
		p, err := e.s.Paginate(nil, tc.bucket, tc.limit, tc.after, tc.hasAfter)
		got := errKind(err)
		if err == nil {
			got = fmt.Sprintf("%s|%v|%s", keys(p.Records), p.HasMore, jsonv.Marshal(p.Next))
		}
		if got != tc.want {
			t.Errorf("Paginate(%s, %d, %q) = %s, want %s", tc.bucket, tc.limit, tc.after, got, tc.want)
		}
	}
}

func TestAggregates(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	e.insert("users", `{"id":"u4","name":"Dan","role":"admin"}`)
	tests := []struct {
		fn, field, filter string
		want              string // value|ok or an error kind
	}{
		{"sum", "age", `{}`, "90|true"},
		{"avg", "age", `{}`, "30|true"},
		{"min", "age", `{}`, "20|true"},
		{"max", "age", `{"role":"admin"}`, "30|true"},
		{"count", "", `{"role":"admin"}`, "2|true"},
		{"min", "age", `{"role":"nobody"}`, "0|false"},
		{"max", "age", `{"id":"u4"}`, "0|false"},
		{"sum", "age", `{"role":"nobody"}`, "0|true"},
		{"avg", "age", `{"role":"nobody"}`, "0|true"},
		{"median", "age", `{}`, "arg"},
		{"sum", "", `{}`, "arg"},
	}
	for _, tc := range tests {
		v, ok, err := e.s.Aggregate(nil, "users", tc.fn, tc.field, flt(t, tc.filter))
		got := errKind(err)
		if err == nil {
			got = fmt.Sprintf("%s|%v", jsonv.FormatNumber(v), ok)
		}
		if got != tc.want {
			t.Errorf("Aggregate(%s, %s, %s) = %s, want %s", tc.fn, tc.field, tc.filter, got, tc.want)
		}
	}
	if _, _, err := e.s.Aggregate(nil, "nobody", "sum", "age", nil); errKind(err) != "nobucket" {
		t.Errorf("Aggregate on no bucket: %v", err)
	}

	groupTests := []struct {
		fields       []string
		fn, field    string
		filter, want string
	}{
		{[]string{"role"}, "count", "", `{}`,
			`[{"key":{"role":"admin"},"value":2},{"key":{"role":"user"},"value":1},{"key":{"role":"guest"},"value":1}]`},
		{[]string{"role"}, "sum", "age", `{"age":{"$gte":25}}`,
			`[{"key":{"role":"admin"},"value":30},{"key":{"role":"guest"},"value":40}]`},
		{[]string{"role"}, "bogus", "age", `{}`, "arg"},
	}
	for _, tc := range groupTests {
		out, err := e.s.GroupBy(nil, "users", tc.fields, tc.fn, tc.field, flt(t, tc.filter), nil)
		got := string(out)
		if err != nil {
			got = errKind(err)
		}
		if got != tc.want {
			t.Errorf("GroupBy(%v, %s, %s) =\n %s\nwant\n %s", tc.fields, tc.fn, tc.filter, got, tc.want)
		}
	}
	if _, err := e.s.GroupBy(nil, "nobody", []string{"a"}, "count", "", nil, nil); errKind(err) != "nobucket" {
		t.Errorf("GroupBy on no bucket: %v", err)
	}

	findTests := []struct{ q, want string }{
		{`{"bucket":"users","filter":{"age":{"$gte":20}},"sort":{"age":"desc"},"fields":["id","age"]}`,
			`[{"id":"u3","age":40},{"id":"u1","age":30},{"id":"u2","age":20}]`},
		{`{"bucket":"users","aggregate":{"function":"count"}}`, `4`},
		{`{"bucket":"users","filter":{"role":"admin"},"limit":1,"fields":["id"]}`, `[{"id":"u1"}]`},
		{`{"bucket":"nobody"}`, "nobucket"},
	}
	for _, tc := range findTests {
		v, err := jsonv.Parse([]byte(tc.q))
		if err != nil {
			t.Fatal(err)
		}
		q, err := query.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.s.Find(nil, q, nil)
		got := string(out)
		if err != nil {
			got = errKind(err)
		}
		if got != tc.want {
			t.Errorf("Find(%s) =\n %s\nwant\n %s", tc.q, got, tc.want)
		}
	}
}

// TestEventSeq checks that sequence numbers are per bucket and grow by one
// per change, and that records in changes are the stored ones.
func TestEventSeq(t *testing.T) {
	e := newEnv(t)
	seedUsers(e) // users seq 1..3 taken already
	r := e.insert("nums", `{"n":1}`)
	u, _ := e.s.Update(nil, "users", "u1", obj(t, `{"age":31}`), -1)
	e.s.Delete(nil, "nums", "1", -1)
	got := e.obs.take()
	if len(got) != 3 {
		t.Fatalf("changes = %q", changeTexts(got))
	}
	if got[0].Seq != 1 || got[0].New != r || got[0].Old != nil || got[0].Bucket != "nums" {
		t.Errorf("insert change = %s", changeText(got[0]))
	}
	if got[1].Seq != 4 || got[1].New != u || got[1].Old == nil || got[1].Old.Version != 1 {
		t.Errorf("update change = %s", changeText(got[1]))
	}
	if got[2].Seq != 2 || got[2].Old != r || got[2].New != nil || got[2].Reason != engine.ReasonDeleted {
		t.Errorf("delete change = %s", changeText(got[2]))
	}
	info, err := e.s.Info("users")
	if err != nil || info.EventSeq != 4 || info.Records != 3 || info.Counter != 3 {
		t.Errorf("Info = %+v, %v", info, err)
	}
}

func TestAlter(t *testing.T) {
	e := newEnv(t)
	e.define("a", `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number"}},"ordered":true}`)
	for _, js := range []string{`{"id":"c","v":1}`, `{"id":"a","v":2}`, `{"id":"b","v":1}`} {
		e.insert("a", js)
	}
	e.obs.take()
	if err := e.s.Alter("a", []byte(`{"addFields":{"w":{"type":"string","unique":true}},"addIndexes":["v"],"ttl":"1m"}`)); err != nil {
		t.Fatal(err)
	}
	e.check()
	if recs, _ := e.s.Where(nil, "a", flt(t, `{"v":1}`)); keys(recs) != `"b","c"` {
		t.Errorf("Where on the new index = %s", keys(recs))
	}
	old, _ := e.s.Get(nil, "a", "a")
	if old.ExpiresAt != 0 {
		t.Errorf("existing record got a TTL")
	}
	if r := e.insert("a", `{"id":"d","w":"x"}`); r.ExpiresAt != startMs+60_000 {
		t.Errorf("new record _expiresAt = %d", r.ExpiresAt)
	}
	if _, err := e.s.Update(nil, "a", "a", obj(t, `{"w":"x"}`), -1); errKind(err) != "unique" {
		t.Errorf("new unique field not enforced: %v", err)
	}
	if _, err := e.s.Update(nil, "a", "a", obj(t, `{"w":"y"}`), -1); err != nil {
		t.Fatal(err)
	}
	e.s.Update(nil, "a", "b", obj(t, `{"z":"y"}`), -1)
	e.s.Update(nil, "a", "c", obj(t, `{"z":"y"}`), -1)
	before := e.all("a")
	if err := e.s.Alter("a", []byte(`{"addFields":{"z":{"type":"string","unique":true}}}`)); errKind(err) != "arg" {
		t.Errorf("unique field over duplicate values: %v", err)
	}
	if err := e.s.Alter("a", []byte(`{"addIndexes":["nope"]}`)); errKind(err) != "arg" {
		t.Errorf("index on an unknown field: %v", err)
	}
	if err := e.s.Alter("nobody", []byte(`{}`)); errKind(err) != "nobucket" {
		t.Errorf("Alter of no bucket: %v", err)
	}
	if after := e.all("a"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("a refused Alter changed records")
	}
	if _, err := e.s.Insert(nil, "a", obj(t, `{"id":"e","z":"y"}`), engine.InsertOptions{}); err != nil {
		t.Errorf("refused unique field enforced anyway: %v", err)
	}
}
