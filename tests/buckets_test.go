package tests

import (
	"encoding/json"
	"strings"
	"testing"
)

// docs/commands.md, "Buckets": BUCKET.DEFINE, BUCKET.DROP, BUCKET.LIST,
// BUCKET.INFO and BUCKET.ALTER, with their error paths.

const badTTL = `ERR Invalid TTL format "%s". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`

func ttlErr(x string) string { return strings.Replace(badTTL, "%s", x, 1) }

// bucketInfo is the part of BUCKET.INFO the tests read.
type bucketInfo struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	Records    *int            `json:"records"`
	Indexes    []struct {
		Field string `json:"field"`
	} `json:"indexes"`
	MemoryBytes *float64 `json:"memoryBytes"`
}

func (r *rc) info(name string) bucketInfo {
	r.t.Helper()
	s := r.str("BUCKET.INFO", name)
	var bi bucketInfo
	if err := json.Unmarshal([]byte(s), &bi); err != nil {
		r.t.Fatalf("BUCKET.INFO %s: %q is not JSON: %v", name, s, err)
	}
	if bi.Records == nil || bi.MemoryBytes == nil || bi.Definition == nil {
		r.t.Fatalf("BUCKET.INFO %s: %q lacks records, memoryBytes or definition", name, s)
	}
	return bi
}

func (bi bucketInfo) indexFields() []string {
	var out []string
	for _, ix := range bi.Indexes {
		out = append(out, ix.Field)
	}
	return out
}

func TestBucketDefine(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	before := r.state("users")

	// An identical definition is OK again, whatever its whitespace.
	r.ok("BUCKET.DEFINE", "users", usersDef)
	r.ok("bucket.define", "users", " "+strings.ReplaceAll(usersDef, ",", ", ")+"\n")
	// A different one is EXISTS.
	changed := strings.Replace(usersDef, `"max":150`, `"max":151`, 1)
	r.failsUnchanged(`EXISTS Bucket "users" already exists with a different definition`, "BUCKET.DEFINE", "users", changed)
	r.failsUnchanged(`EXISTS *`, "BUCKET.DEFINE", "users", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	// Field order is part of the definition (it is the records' order).
	reordered := strings.Replace(usersDef, `"id":{"type":"string","generated":"uuid"},`, ``, 1)
	reordered = strings.Replace(reordered, `"birth":{"type":"date"}}`, `"birth":{"type":"date"},"id":{"type":"string","generated":"uuid"}}`, 1)
	r.failsUnchanged(`EXISTS *`, "BUCKET.DEFINE", "users", reordered)

	simple := `{"key":"id","schema":{"id":{"type":"string"}}}`
	for _, c := range []struct{ name, def, want string }{
		{"x", `{"key":"id",`, `ERR invalid JSON: *`},
		{"x", `{"key":"id","schema":{"id":{"type":"string"}}} trailing`, `ERR invalid JSON: *`},
		{"x", `not json`, `ERR invalid JSON: *`},
		{"x", `{"key":"uid","schema":{"id":{"type":"string"}}}`, `ERR invalid definition: key field "uid" is not in the schema`},
		{"x", `{"key":"id","schema":{"id":{"type":"string"}},"indexes":["nope"]}`, `ERR invalid definition: index field "nope" is not in the schema`},
		{"x", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"x"}`, ttlErr("x")},
		{"x", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"5ms"}`, ttlErr("5ms")},
		{"x", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":-5}`, ttlErr("-5")},
		{"x", `{"key":"id","schema":{"id":{"type":"int"}}}`, `ERR *`},
		{"x", `{"key":"id","schema":{"id":{"type":"boolean"}}}`, `ERR *`},
		{"x", `{"schema":{"id":{"type":"string"}}}`, `ERR *`},
		{"a.b", simple, `ERR *`},
		{"a:b", simple, `ERR *`},
		{"1abc", simple, `ERR *`},
		{"-abc", simple, `ERR *`},
		{"a b", simple, `ERR *`},
		{"", simple, `ERR *`},
		{"a" + strings.Repeat("b", 128), simple, `ERR *`},
	} {
		r.err(c.want, "BUCKET.DEFINE", c.name, c.def)
	}
	// A definition that is an array, not an object.
	if got := r.fail("BUCKET.DEFINE", "x", `[1]`); !strings.HasPrefix(got, "ERR ") || !strings.Contains(got, "object") {
		t.Errorf("BUCKET.DEFINE x [1]: got %q, want an ERR saying an object is expected", got)
	}
	r.err("ERR wrong number of arguments for 'bucket.define' command", "BUCKET.DEFINE", "x")
	r.err("ERR wrong number of arguments for 'bucket.define' command", "BUCKET.DEFINE", "x", simple, "extra")
	eq(t, "BUCKET.LIST after failed defines", r.list("BUCKET.LIST"), []string{"users"})
	eq(t, "users after failed defines", r.state("users"), before)

	// Valid names: the whole of ^[A-Za-z_][A-Za-z0-9_-]{0,127}$.
	long := "a" + strings.Repeat("b", 127)
	for _, name := range []string{"_x", "A-b_9", "Z", long} {
		r.define(name, simple)
	}
	eq(t, "BUCKET.LIST", r.list("BUCKET.LIST"), []string{"A-b_9", "Z", "_x", long, "users"})

	// A TTL given as a string is stored in ms.
	r.define("ttl15", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"1.5h"}`)
	var def struct{ TTL float64 }
	if err := json.Unmarshal(r.info("ttl15").Definition, &def); err != nil || def.TTL != 5400000 {
		t.Errorf("ttl \"1.5h\": definition ttl %v (%v), want 5400000", def.TTL, err)
	}
}

func TestBucketDrop(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.define("orders", ordersDef)
	r.insert("users", `{"id":"k1","name":"A","email":"a@x.io"}`, `{"id":"k2","name":"B"}`)
	r.insert("orders", `{"item":"a"}`, `{"item":"b"}`, `{"item":"c"}`)

	r.integer(1, "BUCKET.DROP", "users")
	r.integer(0, "BUCKET.DROP", "users")
	r.integer(0, "BUCKET.DROP", "never")
	eq(t, "BUCKET.LIST after drop", r.list("BUCKET.LIST"), []string{"orders"})
	nob := `NOBUCKET Bucket "users" is not defined`
	r.err(nob, "B.GET", "users", "k1")
	r.err(nob, "B.COUNT", "users")
	r.err(nob, "B.ALL", "users")
	r.err(nob, "BUCKET.INFO", "users")
	r.err(nob, "B.INSERT", "users", `{"name":"C"}`)

	// Defined again it is empty: no records, no unique values, and a
	// definition that may differ from the old one.
	r.define("users", usersDef)
	r.integer(0, "B.COUNT", "users")
	eq(t, "B.ALL of the redefined bucket", r.list("B.ALL", "users"), []string{})
	r.null("B.GET", "users", "k1")
	rec := parseRec(t, r.str("B.INSERT", "users", `{"id":"k1","name":"A2","email":"a@x.io"}`))
	eq(t, "_version of the reinserted key", rec["_version"], 1.0)
	if bi := r.info("users"); *bi.Records != 1 {
		t.Errorf("BUCKET.INFO records = %d, want 1", *bi.Records)
	}

	// The autoincrement counter goes with the bucket.
	r.integer(1, "BUCKET.DROP", "orders")
	r.define("orders", strings.Replace(ordersDef, `"min":1`, `"min":2`, 1))
	eq(t, "first id after redefinition", parseRec(t, r.str("B.INSERT", "orders", `{"item":"x"}`))["id"], 1.0)

	r.err("ERR wrong number of arguments for 'bucket.drop' command", "BUCKET.DROP")
	r.err("ERR wrong number of arguments for 'bucket.drop' command", "BUCKET.DROP", "a", "b")
}

func TestBucketList(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	protos(t, s, func(t *testing.T, r *rc) {
		eq(t, "BUCKET.LIST of an empty store", r.list("BUCKET.LIST"), []string{})
		for _, n := range []string{"b", "A", "_c", "a", "Z9"} {
			r.define(n, `{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`)
		}
		eq(t, "BUCKET.LIST", r.list("bucket.list"), []string{"A", "Z9", "_c", "a", "b"})
		r.err("ERR wrong number of arguments for 'bucket.list' command", "BUCKET.LIST", "x")
		for _, n := range []string{"b", "A", "_c", "a", "Z9"} {
			r.integer(1, "BUCKET.DROP", n)
		}
	})
}

func TestBucketInfo(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.insert("users", `{"id":"k1","name":"A","email":"a@x.io"}`, `{"id":"k2","name":"B","role":"admin"}`)

	bi := r.info("users")
	eq(t, "name", bi.Name, "users")
	eq(t, "records", *bi.Records, 2)
	if *bi.MemoryBytes <= 0 {
		t.Errorf("memoryBytes = %v, want > 0", *bi.MemoryBytes)
	}
	if f := bi.indexFields(); !strings.Contains(","+strings.Join(f, ",")+",", ",role,") {
		t.Errorf("indexes %v lack role", f)
	}
	var def struct {
		Key    string          `json:"key"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(bi.Definition, &def); err != nil {
		t.Fatal(err)
	}
	eq(t, "definition key", def.Key, "id")
	eq(t, "definition schema fields, in order", jsonKeys(t, string(def.Schema)),
		[]string{"id", "name", "email", "age", "role", "tags", "birth"})
	// The definition BUCKET.INFO shows defines the same bucket again.
	r.ok("BUCKET.DEFINE", "users", string(bi.Definition))
	r.ok("BUCKET.DEFINE", "copy", string(bi.Definition))
	eq(t, "definition of the copy", string(r.info("copy").Definition), string(bi.Definition))

	r.integer(1, "B.DELETE", "users", "k1")
	eq(t, "records after a delete", *r.info("users").Records, 1)
	mem := *r.info("users").MemoryBytes
	for i := 0; i < 50; i++ {
		r.str("B.INSERT", "users", `{"name":"a fairly long name to take some room","tags":["x","y","z"]}`)
	}
	grown := r.info("users")
	if *grown.Records != 51 || *grown.MemoryBytes <= mem {
		t.Errorf("after 50 inserts: records %d, memoryBytes %v (was %v); want 51 and more bytes", *grown.Records, *grown.MemoryBytes, mem)
	}
	r.integer(51, "B.CLEAR", "users")
	if cleared := r.info("users"); *cleared.Records != 0 || *cleared.MemoryBytes >= *grown.MemoryBytes {
		t.Errorf("after B.CLEAR: records %d, memoryBytes %v; want 0 and fewer bytes than %v", *cleared.Records, *cleared.MemoryBytes, *grown.MemoryBytes)
	}

	r.err(`NOBUCKET Bucket "nob" is not defined`, "BUCKET.INFO", "nob")
	r.err("ERR wrong number of arguments for 'bucket.info' command", "BUCKET.INFO")
	r.err("ERR wrong number of arguments for 'bucket.info' command", "BUCKET.INFO", "users", "x")
}

func TestBucketAlter(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("items", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},"kind":{"type":"string"}},"persistent":false}`)
	i1 := r.str("B.INSERT", "items", `{"id":"i1","name":"a","kind":"x"}`)
	r.insert("items", `{"id":"i2","name":"b","kind":"y","code":"c1"}`, `{"id":"i3","name":"c","kind":"x","code":"c1"}`)

	// addFields: existing records stay as they are, new ones get defaults
	// and validation.
	r.ok("BUCKET.ALTER", "items", `{"addFields":{"color":{"type":"string","default":"red"},"size":{"type":"number","min":0}}}`)
	eq(t, "i1 after addFields", r.str("B.GET", "items", "i1"), i1)
	i4 := r.str("B.INSERT", "items", `{"size":2,"name":"d","id":"i4","kind":"x"}`)
	eq(t, "field order after addFields", jsonKeys(t, i4),
		[]string{"id", "name", "kind", "color", "size", "_version", "_createdAt", "_updatedAt"})
	eq(t, "default of an added field", parseRec(t, i4)["color"], "red")
	r.failsUnchanged(`VALIDATION Validation failed for bucket "items": size: Minimum value is 0`,
		"B.INSERT", "items", `{"id":"i9","name":"z","size":-1}`)

	// addIndexes: the index is built over the records and gives the same
	// answers as the scan did.
	byKind := r.keys("id", "B.WHERE", "items", `{"kind":"x"}`)
	eq(t, "kind x before the index", byKind, []string{"i1", "i3", "i4"})
	r.ok("BUCKET.ALTER", "items", `{"addIndexes":["kind"]}`)
	if f := r.info("items").indexFields(); !strings.Contains(strings.Join(f, ","), "kind") {
		t.Errorf("BUCKET.INFO indexes %v lack kind", f)
	}
	eq(t, "kind x with the index", r.keys("id", "B.WHERE", "items", `{"kind":"x"}`), byKind)
	eq(t, "kind in [y] with the index", r.keys("id", "B.WHERE", "items", `{"kind":{"$in":["y"]}}`), []string{"i2"})
	eq(t, "kind >= x with the index", r.keys("id", "B.WHERE", "items", `{"kind":{"$gte":"x"}}`), []string{"i1", "i2", "i3", "i4"})
	r.ok("BUCKET.ALTER", "items", `{"addIndexes":["kind"]}`) // already there

	// ttl: records inserted from now on expire; null removes it.
	r.ok("BUCKET.ALTER", "items", `{"ttl":"1h"}`)
	i5 := parseRec(t, r.str("B.INSERT", "items", `{"id":"i5","name":"e"}`))
	eq(t, "_expiresAt with ttl 1h", num(t, i5, "_expiresAt"), num(t, i5, "_createdAt")+3600000)
	if _, has := parseRec(t, r.str("B.GET", "items", "i1"))["_expiresAt"]; has {
		t.Errorf("i1 got an _expiresAt from ALTER ttl")
	}
	r.ok("BUCKET.ALTER", "items", `{"ttl":null}`)
	if _, has := parseRec(t, r.str("B.INSERT", "items", `{"id":"i6","name":"f"}`))["_expiresAt"]; has {
		t.Errorf("insert after ttl null has an _expiresAt")
	}
	var def map[string]any
	json.Unmarshal(r.info("items").Definition, &def)
	if _, has := def["ttl"]; has {
		t.Errorf("definition after ttl null still has a ttl: %v", def)
	}

	// Failed alters change nothing.
	for _, c := range []struct{ changes, want string }{
		{`{"addFields":{"name":{"type":"string"}}}`, `ERR invalid changes: field "name" already exists in the schema`},
		{`{"addIndexes":["nope"]}`, `ERR invalid changes: index field "nope" is not in the schema`},
		{`{"addFields":{"w":{"type":"number"}},"addIndexes":["nope"]}`, `ERR invalid changes: index field "nope" is not in the schema`},
		{`{"ttl":"soon"}`, ttlErr("soon")},
		{`{"foo":1}`, `ERR invalid changes: unknown key "foo"*`},
		{`{"addFields":{"w":{"type":"nope"}}}`, `ERR *`},
		{`{"addFields":[]}`, `ERR *`},
		{`{"addIndexes":"kind"}`, `ERR *`},
		{`{"addFields":{"kind2":{"type":"string"}}`, `ERR invalid JSON: *`},
		{`{x`, `ERR invalid JSON: *`},
		{`[]`, `ERR *`},
		// i2 and i3 hold the same code: it cannot become unique.
		{`{"addFields":{"code":{"type":"string","unique":true}}}`, `ERR *`},
	} {
		r.failsUnchanged(c.want, "BUCKET.ALTER", "items", c.changes)
	}
	r.failsUnchanged(`NOBUCKET Bucket "nob" is not defined`, "BUCKET.ALTER", "nob", `{"ttl":"1h"}`)
	r.err("ERR wrong number of arguments for 'bucket.alter' command", "BUCKET.ALTER", "items")
	r.err("ERR wrong number of arguments for 'bucket.alter' command", "BUCKET.ALTER", "items", "{}", "x")
}
