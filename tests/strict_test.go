package tests

import (
	"strings"
	"testing"
)

// Strict buckets, and the schema checks of reads in every bucket, over a
// real socket: each refusal is an error that changes nothing.
func TestStrictBuckets(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	def := `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"age":{"type":"number"},"tags":{"type":"array"}},"indexes":["age"],"strict":true}`
	r.define("st", def)
	r.define("loose", strings.Replace(def, `,"strict":true`, "", 1))
	if info := r.str("BUCKET.INFO", "st"); !strings.Contains(info, `"strict":true`) {
		t.Errorf("BUCKET.INFO of a strict bucket: %s", info)
	}
	if info := r.str("BUCKET.INFO", "loose"); strings.Contains(info, `"strict"`) {
		t.Errorf("BUCKET.INFO of a loose bucket: %s", info)
	}
	r.insert("st", `{"id":"a","name":"Ann","age":30,"_version":9}`) // metadata is ignored
	r.insert("loose", `{"id":"a","name":"Ann","age":30,"nickname":"A"}`)
	for _, c := range []struct {
		want string
		args []any
	}{
		{`VALIDATION Validation failed for bucket "st": nickname: Unknown field (the bucket is strict); x: Unknown field (the bucket is strict)`,
			[]any{"B.INSERT", "st", `{"id":"b","name":"Bo","nickname":"B","x":1}`}},
		{`VALIDATION Validation failed for bucket "st": nickname: Unknown field (the bucket is strict)`, []any{"B.UPDATE", "st", "a", `{"nickname":"A"}`}},
		{`VALIDATION Validation failed for bucket "st": nick: Unknown field (the bucket is strict)`, []any{"B.UPDATE", "st", "a", `{"$set":{"nick":"A"}}`}},
		{`ERR invalid filter: unknown field "nosuchfield": bucket "st" is strict`, []any{"B.WHERE", "st", `{"nosuchfield":1}`}},
		{`ERR invalid filter: unknown field "profile.city": bucket "st" is strict`, []any{"B.COUNT", "st", `{"$or":[{"name":"x"},{"profile.city":"Paris"}]}`}},
		{`ERR unknown field "nope" in sort: bucket "st" is strict`, []any{"B.FIND", "st", `{"sort":{"nope":"asc"}}`}},
		{`ERR unknown field "nope" in fields: bucket "st" is strict`, []any{"B.FIND", "st", `{"fields":["id","nope"]}`}},
		{`ERR unknown field "nope" in aggregate: bucket "st" is strict`, []any{"B.MAX", "st", "nope"}},
		{`ERR unknown field "nope" in groupBy: bucket "st" is strict`, []any{"B.GROUPBY", "st", "nope", "count"}},
		{`ERR invalid filter: $gte on "age" compares with a string, but the schema says "age" is a number`, []any{"B.WHERE", "loose", `{"age":{"$gte":"abc"}}`}},
		{`ERR invalid filter: $lt on "name" compares with a number, but the schema says "name" is a string`, []any{"B.DELETEMANY", "loose", `{"name":{"$lt":5}}`}},
		{`ERR invalid filter: $gt on "tags": the schema says "tags" is an array, which has no order`, []any{"B.COUNT", "loose", `{"tags":{"$gt":5}}`}},
		{`ERR cannot sum "name": the schema says it is a string, not a number`, []any{"B.SUM", "loose", "name"}},
		{`ERR cannot avg "tags": the schema says it is an array, not a number`, []any{"B.GROUPBY", "loose", "name", "avg", "tags"}},
		{`ERR cannot sum "name": the schema says it is a string, not a number`, []any{"B.FIND", "loose", `{"aggregate":{"function":"sum","field":"name"}}`}},
	} {
		r.failsUnchanged(c.want, c.args...)
	}
	// What a loose bucket still allows, and metadata in a strict one.
	r.integer(0, "B.COUNT", "loose", `{"nosuchfield":1}`)
	r.integer(1, "B.COUNT", "loose", `{"nickname":"A"}`)
	r.integer(1, "B.COUNT", "st", `{"_version":{"$gte":1}}`)
	r.integer(1, "B.COUNT", "st", `{"age":{"$gte":18}}`)
	eq(t, "B.SUM of a number", r.do("B.SUM", "st", "age"), "30")
}
