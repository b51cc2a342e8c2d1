package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared definitions and helpers of the bucket, record and query tests
// (buckets_test.go, records_test.go, queries_find_test.go).

// usersDef is the example definition of docs/commands.md, "Bucket definition", without its
// TTL (records would expire) and without persistence.
const usersDef = `{"key":"id","schema":{` +
	`"id":{"type":"string","generated":"uuid"},` +
	`"name":{"type":"string","required":true,"minLength":1,"maxLength":100},` +
	`"email":{"type":"string","format":"email","unique":true},` +
	`"age":{"type":"number","min":0,"max":150},` +
	`"role":{"type":"string","enum":["admin","user","guest"],"default":"user"},` +
	`"tags":{"type":"array","default":[]},` +
	`"birth":{"type":"date"}},` +
	`"indexes":["role"],"persistent":false}`

// ordersDef has a numeric autoincrement key and the other generated kinds.
const ordersDef = `{"key":"id","schema":{` +
	`"id":{"type":"number","generated":"autoincrement"},` +
	`"item":{"type":"string","required":true},` +
	`"qty":{"type":"number","min":1},` +
	`"at":{"type":"number","generated":"timestamp"},` +
	`"ref":{"type":"string","generated":"cuid"}},"persistent":false}`

// peopleSchema is the schema of the filter and query tests' buckets.
const peopleSchema = `{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"role":{"type":"string","enum":["admin","user","guest"]},"age":{"type":"number"},` +
	`"active":{"type":"boolean"},"email":{"type":"string","unique":true},` +
	`"tags":{"type":"array"},"score":{"type":"number"}}`

// peopleDef is people without indexes; peopleIxDef the same with an index
// on every filtered field (email is unique, so indexed too).
const (
	peopleDef   = `{"key":"id","schema":` + peopleSchema + `,"persistent":false}`
	peopleIxDef = `{"key":"id","schema":` + peopleSchema +
		`,"indexes":["role","age","name","active","score"],"persistent":false}`
)

// peopleRows are inserted in this order, which is neither key order nor the
// order of any indexed field.
var peopleRows = []string{
	`{"id":"p3","name":"Carol","role":"admin","age":41,"active":true,"email":"carol@x.io","tags":["a","b"],"score":7.5}`,
	`{"id":"p1","name":"alice","role":"user","age":30,"active":false,"email":"alice@x.io","tags":["b"],"score":null}`,
	`{"id":"p5","name":"Bob","role":"guest","age":17,"active":true,"tags":[]}`,
	`{"id":"p2","name":"Dave Alison","role":"user","age":30,"active":true,"email":"dave@y.org","score":3}`,
	`{"id":"p4","name":"Eve","role":"admin","age":65,"active":false,"email":"eve@y.org","score":9,"nick":"ev"}`,
	`{"id":"p6","name":"frank","role":"user","active":false,"email":"frank@x.io"}`,
}

// rc is a go-redis client bound to one test, for terse assertions.
type rc struct {
	t     *testing.T
	c     *redis.Client
	proto int
}

// newRC returns a client of s speaking proto (2 or 3).
func newRC(t *testing.T, s *Server, proto int) *rc {
	t.Helper()
	return &rc{t: t, c: s.Client(t, proto), proto: proto}
}

// sub returns r bound to the subtest t.
func (r *rc) sub(t *testing.T) *rc { return &rc{t: t, c: r.c, proto: r.proto} }

func cmdText(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	return strings.Join(parts, " ")
}

// do runs a command that must succeed; a nil reply gives nil.
func (r *rc) do(args ...any) any {
	r.t.Helper()
	v, err := r.c.Do(ctx(r.t), args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		r.t.Fatalf("RESP%d %s: unexpected error %q", r.proto, cmdText(args), err)
	}
	return v
}

// fail runs a command that must fail and returns the error text.
func (r *rc) fail(args ...any) string {
	r.t.Helper()
	v, err := r.c.Do(ctx(r.t), args...).Result()
	if err == nil || errors.Is(err, redis.Nil) {
		r.t.Fatalf("RESP%d %s: got %#v, want an error", r.proto, cmdText(args), v)
	}
	return err.Error()
}

// errMatches reports whether got is want, or starts with want minus its
// last byte when want ends with '*'.
func errMatches(got, want string) bool {
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

// err runs a command that must fail with want (see errMatches).
func (r *rc) err(want string, args ...any) {
	r.t.Helper()
	if got := r.fail(args...); !errMatches(got, want) {
		r.t.Errorf("RESP%d %s:\n got error %q\nwant error %q", r.proto, cmdText(args), got, want)
	}
}

// ok runs a command whose reply must be OK.
func (r *rc) ok(args ...any) {
	r.t.Helper()
	if v := r.do(args...); v != "OK" {
		r.t.Errorf("RESP%d %s: got %#v, want OK", r.proto, cmdText(args), v)
	}
}

// integer runs a command whose reply must be the integer want.
func (r *rc) integer(want int64, args ...any) {
	r.t.Helper()
	v := r.do(args...)
	if n, ok := v.(int64); !ok || n != want {
		r.t.Errorf("RESP%d %s: got %#v, want integer %d", r.proto, cmdText(args), v, want)
	}
}

// str runs a command whose reply must be a bulk string.
func (r *rc) str(args ...any) string {
	r.t.Helper()
	v := r.do(args...)
	s, ok := v.(string)
	if !ok {
		r.t.Fatalf("RESP%d %s: got %#v, want a bulk string", r.proto, cmdText(args), v)
	}
	return s
}

// null runs a command whose reply must be nil.
func (r *rc) null(args ...any) {
	r.t.Helper()
	if v := r.do(args...); v != nil {
		r.t.Errorf("RESP%d %s: got %#v, want nil", r.proto, cmdText(args), v)
	}
}

// list runs a command whose reply must be an array of bulk strings or nils
// (nil becomes "<nil>").
func (r *rc) list(args ...any) []string {
	r.t.Helper()
	return asList(r.t, r.do(args...), cmdText(args))
}

func asList(t *testing.T, v any, what string) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: got %#v, want an array", what, v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case nil:
			out[i] = "<nil>"
		case string:
			out[i] = x
		default:
			t.Fatalf("%s: element %d is %#v, want a bulk string", what, i, e)
		}
	}
	return out
}

// define defines a bucket.
func (r *rc) define(name, def string) {
	r.t.Helper()
	r.ok("BUCKET.DEFINE", name, def)
}

// insert inserts each record and returns the replies.
func (r *rc) insert(bucket string, recs ...string) []string {
	r.t.Helper()
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = r.str("B.INSERT", bucket, rec)
	}
	return out
}

// keys returns the key field of each record of a list reply.
func (r *rc) keys(keyField string, args ...any) []string {
	r.t.Helper()
	return recKeys(r.t, keyField, r.list(args...))
}

// state is what a failed write must leave unchanged: BUCKET.INFO (records,
// indexes, memory, autoincrement counter, event seq) and every record.
func (r *rc) state(bucket string) string {
	r.t.Helper()
	return r.str("BUCKET.INFO", bucket) + "\n" + strings.Join(r.list("B.ALL", bucket), "\n")
}

// storeState is the state of every bucket (see state), and the list of
// buckets.
func (r *rc) storeState() string {
	r.t.Helper()
	names := r.list("BUCKET.LIST")
	out := strings.Join(names, ",")
	for _, n := range names {
		out += "\n" + r.state(n)
	}
	return out
}

// failsUnchanged runs a command that must fail with want (see errMatches)
// and checks that no bucket changed: "a failed command changes nothing".
func (r *rc) failsUnchanged(want string, args ...any) {
	r.t.Helper()
	before := r.storeState()
	r.err(want, args...)
	if after := r.storeState(); after != before {
		r.t.Errorf("RESP%d %s failed but changed the store:\nbefore %s\nafter  %s", r.proto, cmdText(args), before, after)
	}
}

// parseRec parses a record's JSON text; numbers become float64.
func parseRec(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("record %q is not a JSON object: %v", s, err)
	}
	return m
}

// jsonKeys returns the top-level keys of a JSON object in document order.
func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q is not a JSON object", s)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	return keys
}

// recKeys returns each record's key field as text ("<nil>" for a nil
// element); numbers print as Go's %v of float64 does ("3").
func recKeys(t *testing.T, keyField string, recs []string) []string {
	t.Helper()
	out := make([]string, len(recs))
	for i, s := range recs {
		if s == "<nil>" {
			out[i] = s
			continue
		}
		out[i] = fmt.Sprint(parseRec(t, s)[keyField])
	}
	return out
}

// withoutMeta returns a record's JSON with the metadata fields removed,
// other fields kept in order.
func withoutMeta(t *testing.T, s string) string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, k := range jsonKeys(t, s) {
		switch k {
		case "_version", "_createdAt", "_updatedAt", "_expiresAt":
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(raw[k])
	}
	b.WriteByte('}')
	return b.String()
}

// num returns a record field that must be a number.
func num(t *testing.T, rec map[string]any, field string) float64 {
	t.Helper()
	f, ok := rec[field].(float64)
	if !ok {
		t.Fatalf("field %q is %#v, want a number (record %v)", field, rec[field], rec)
	}
	return f
}

// near reports whether ms is within 5s of now (Unix ms).
func near(ms float64, now time.Time) bool {
	return math.Abs(ms-float64(now.UnixMilli())) < 5000
}

// bulk is the RESP encoding of a bulk string.
func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// rawProto opens a raw connection speaking proto (HELLO 3 for RESP3).
func rawProto(t *testing.T, s *Server, proto int) *RawConn {
	t.Helper()
	c := s.Raw(t)
	if proto == 3 {
		if got := c.Do("HELLO", "3"); !strings.HasPrefix(got, "%") {
			t.Fatalf("HELLO 3: got %q, want a map", got)
		}
	}
	return c
}

// eq fails the test when got and want differ.
func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// protos runs f once for RESP2 and once for RESP3 against s.
func protos(t *testing.T, s *Server, f func(t *testing.T, r *rc)) {
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", p), func(t *testing.T) { f(t, newRC(t, s, p)) })
	}
}

// loadPeople defines people and peopleIx and inserts peopleRows in both.
func loadPeople(r *rc) {
	r.t.Helper()
	r.define("people", peopleDef)
	r.define("peopleIx", peopleIxDef)
	r.insert("people", peopleRows...)
	r.insert("peopleIx", peopleRows...)
}

// startStore starts a server for the record tests; when the test ends it
// stops the server and fails the test if the server reported a data race
// or a panic, or did not exit cleanly.
func startStore(t *testing.T) *Server {
	t.Helper()
	s := Start(t)
	t.Cleanup(func() {
		s.checkInvariants(t) // Start's own check would find the server stopped
		code := s.Stop()
		log := s.Log()
		if code != 0 || strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic") {
			t.Errorf("server exited with %d; its log:\n%s", code, log)
		}
	})
	return s
}
