package tests

import (
	"strings"
	"testing"
)

// Dot paths, nested schemas and $in over array fields, over a real socket
// (docs/commands.md, "Paths and nested schemas").

const pathsDef = `{"key":"id","indexes":["address.city"],"schema":{
  "id":{"type":"string"},
  "address":{"type":"object","schema":{"city":{"type":"string","required":true},
    "zip":{"type":"string","pattern":"^[0-9]{5}$"},"geo":{"type":"object","schema":{"lat":{"type":"number"}}}}},
  "tags":{"type":"array"},
  "meta":{"type":"object"}}}`

func pathsSetup(t *testing.T, s *Server) *rc {
	r := newRC(t, s, 2)
	r.define("p", pathsDef)
	r.define("sp", `{"strict":true,`+pathsDef[1:])
	r.insert("p",
		`{"id":"p1","address":{"city":"Paris","zip":"75001","geo":{"lat":48.8}},"tags":["x","y"]}`,
		`{"id":"p2","address":{"city":"Berlin","zip":"10115","geo":{"lat":52.5}},"tags":["y"]}`,
		`{"id":"p3","address":{"city":"Paris"},"tags":[]}`,
		`{"id":"p4","tags":["z","x"],"meta":{"any":{"thing":1}}}`)
	return r
}

// ids returns the ids of a list of records.
func ids(recs []string) string {
	var out []string
	for _, rec := range recs {
		i := strings.Index(rec, `"id":"`) + 6
		out = append(out, rec[i:i+strings.IndexByte(rec[i:], '"')])
	}
	return strings.Join(out, " ")
}

func TestPathsReads(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := pathsSetup(t, s)
	for _, tc := range []struct{ filter, want string }{
		{`{"address.city":"Paris"}`, "p1 p3"},
		{`{"address.geo.lat":{"$gte":50}}`, "p2"},
		{`{"tags":{"$in":["x"]}}`, "p1 p4"},
		{`{"tags":{"$in":["y","z"]},"address.city":"Paris"}`, "p1"},
		{`{"tags":{"$nin":["y"]}}`, "p3 p4"},
		{`{"tags":"x"}`, ""},
		{`{"tags.0":"z"}`, "p4"},
		{`{"meta.any.thing":1}`, "p4"},
	} {
		if got := ids(r.list("B.WHERE", "p", tc.filter)); got != tc.want {
			t.Errorf("B.WHERE %s = %q, want %q", tc.filter, got, tc.want)
		}
	}
	eq(t, "B.SUM by a path", r.str("B.SUM", "p", "address.geo.lat"), "101.3")
	eq(t, "B.GROUPBY by a path", r.str("B.GROUPBY", "p", "address.city", "count"),
		`[{"key":{"address.city":"Paris"},"value":2},{"key":{"address.city":"Berlin"},"value":1},{"key":{"address.city":null},"value":1}]`)
	eq(t, "B.FIND with paths", r.str("B.FIND", "p", `{"filter":{"address.city":{"$exists":true}},"sort":{"address.geo.lat":"desc"},"fields":["id","address.city"]}`),
		`[{"id":"p2","address":{"city":"Berlin"}},{"id":"p1","address":{"city":"Paris"}},{"id":"p3","address":{"city":"Paris"}}]`)
	info := r.str("BUCKET.INFO", "p")
	if !strings.Contains(info, `"schema":{"city":{"type":"string","required":true}`) {
		t.Errorf("BUCKET.INFO does not show the nested schema: %s", info)
	}
}

func TestPathsWritesAndErrors(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := pathsSetup(t, s)
	// Nested validation, on insert and on an update operator.
	r.failsUnchanged(`VALIDATION Validation failed for bucket "p": address.zip: Value must match pattern "^[0-9]{5}$"`,
		"B.INSERT", "p", `{"id":"p9","address":{"city":"X","zip":"12"}}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "p": address.city: Field is required`,
		"B.INSERT", "p", `{"id":"p9","address":{}}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "p": address.geo.lat: Expected type "number", got string`,
		"B.UPDATE", "p", "p1", `{"$set":{"address.geo.lat":"north"}}`)
	r.do("B.UPDATE", "p", "p3", `{"$set":{"address.zip":"75002","address.geo.lat":48.9}}`)
	eq(t, "B.WHERE after $set into a nested object", ids(r.list("B.WHERE", "p", `{"address.zip":"75002"}`)), "p3")
	// Strict: unknown nested keys in records, unknown paths in reads.
	r.failsUnchanged(`VALIDATION Validation failed for bucket "sp": address.street: Unknown field (the bucket is strict)`,
		"B.INSERT", "sp", `{"id":"a","address":{"city":"X","street":"Main"}}`)
	r.insert("sp", `{"id":"a","address":{"city":"X"},"meta":{"free":1}}`)
	r.err(`ERR invalid filter: unknown field "address.street": bucket "sp" is strict`, "B.WHERE", "sp", `{"address.street":"x"}`)
	r.err(`ERR unknown field "address.nope" in fields: bucket "sp" is strict`, "B.FIND", "sp", `{"fields":["address.nope"]}`)
	eq(t, "strict read into a free object", ids(r.list("B.WHERE", "sp", `{"meta.free":1}`)), "a")
	r.err(`ERR invalid filter: $gt on "address.geo.lat" compares with a string, but the schema says "address.geo.lat" is a number`,
		"B.WHERE", "p", `{"address.geo.lat":{"$gt":"x"}}`)
	r.err(`ERR cannot sum "address.city": the schema says it is a string, not a number`, "B.SUM", "p", "address.city")
	// Definitions.
	for _, tc := range []struct{ def, want string }{
		{`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"string","schema":{"b":{"type":"string"}}}}}`, `schema field "a": "schema" applies only to "object" fields`},
		{`{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"object","schema":{"b":{"type":"string","unique":true}}}}}`, `schema field "a.b": "unique" is not supported in a nested schema`},
		{`{"key":"id","indexes":["a.c"],"schema":{"id":{"type":"string"},"a":{"type":"object","schema":{"b":{"type":"string"}}}}}`, `index field "a.c" is not in the schema`},
	} {
		got := r.fail("BUCKET.DEFINE", "bad", tc.def)
		if !strings.Contains(got, tc.want) {
			t.Errorf("BUCKET.DEFINE %s: %q, want it to say %q", tc.def, got, tc.want)
		}
	}
}

// TestPathsLiveAndRestart: a live query on a path and a function query
// reading an array $in follow the writes; the nested schema and the index
// on a path survive a restart.
func TestPathsLiveAndRestart(t *testing.T) {
	t.Parallel()
	s := qyStart(t)
	r := pathsSetup(t, s)
	r.ok("QUERY.DEFINE", "parisians", `{"bucket":"p","filter":{"address.city":"Paris"},"aggregate":{"function":"count"}}`)
	fqLua(r, "tagged", `return #redis.call('B.WHERE', 'p', cjson.encode({tags = {["$in"] = {params.tag}}}))`)
	sub := qySubscribe(t, newRC(t, s, 2).c, "query.parisians", `query.tagged:{"tag":"x"}`)
	fqWaitLast(t, sub, "query.parisians", "2")
	fqWaitLast(t, sub, `query.tagged:{"tag":"x"}`, "2")
	r.do("B.UPDATE", "p", "p2", `{"$set":{"address.city":"Paris"},"$push":{"tags":"x"}}`)
	fqWaitLast(t, sub, "query.parisians", "3")
	fqWaitLast(t, sub, `query.tagged:{"tag":"x"}`, "3")
	r.do("B.UPDATE", "p", "p1", `{"$pull":{"tags":"x"}}`)
	fqWaitLast(t, sub, `query.tagged:{"tag":"x"}`, "2")

	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	eq(t, "B.WHERE by the indexed path after a restart", ids(r.list("B.WHERE", "p", `{"address.city":"Paris"}`)), "p1 p2 p3")
	r.failsUnchanged(`VALIDATION Validation failed for bucket "p": address.zip: Value must match pattern "^[0-9]{5}$"`,
		"B.INSERT", "p", `{"id":"p9","address":{"city":"X","zip":"12"}}`)
}
