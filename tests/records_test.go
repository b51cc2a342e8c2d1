package tests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docs/commands.md, "Records", the writes and key reads: B.INSERT,
// B.INSERTMANY, B.GET, B.MGET, B.UPDATE, B.UPSERT, B.UPDATEMANY, B.DELETE,
// B.DELETEMANY, B.CLEAR, and the error paths of every B.* command.

const notInt = "ERR value is not an integer or out of range"

func arity(cmd string) string {
	return "ERR wrong number of arguments for '" + cmd + "' command"
}

func TestInsertReplyBytesAndFieldOrder(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	for _, p := range []int{2, 3} {
		c := rawProto(t, s, p)
		key := fmt.Sprintf("k%d", p)
		// Client order is scrambled; the client's metadata is ignored.
		in := `{"zzz":1,"extra":"e\"q","age":30,"big":1e21,"n":180.0,"f":2.50,"i53":9007199254740992,` +
			`"e20":1e20,"s":1e-7,"neg0":-0,"name":"Al",` +
			`"_version":99,"_createdAt":5,"_updatedAt":6,"id":"` + key + `"}`
		before := time.Now()
		got := c.Do("B.INSERT", "users", in)
		rec := parseRec(t, got[strings.Index(got, "\r\n")+2:len(got)-2])
		created := num(t, rec, "_createdAt")
		if !near(created, before) || num(t, rec, "_updatedAt") != created {
			t.Errorf("RESP%d: _createdAt %v / _updatedAt %v, want both now", p, created, rec["_updatedAt"])
		}
		body := fmt.Sprintf(`{"id":"%s","name":"Al","age":30,"role":"user","tags":[],"zzz":1,"extra":"e\"q",`+
			`"big":1e+21,"n":180,"f":2.5,"i53":9007199254740992,"e20":100000000000000000000,"s":1e-7,"neg0":0,"_version":1,"_createdAt":%.0f,"_updatedAt":%.0f}`, key, created, created)
		eq(t, fmt.Sprintf("RESP%d B.INSERT reply", p), got, bulk(body))
		// The same record always prints the same bytes.
		eq(t, fmt.Sprintf("RESP%d B.GET reply", p), c.Do("B.GET", "users", key), bulk(body))
		eq(t, fmt.Sprintf("RESP%d B.MGET reply", p), c.Do("B.MGET", "users", key, "none"),
			"*2\r\n"+bulk(body)+map[int]string{2: "$-1\r\n", 3: "_\r\n"}[p])

		// An update keeps the order; a new field goes after the others.
		got = c.Do("B.UPDATE", "users", key, `{"new":true,"zzz":2,"email":"a`+key+`@x.io"}`)
		upd := parseRec(t, got[strings.Index(got, "\r\n")+2:len(got)-2])
		body = fmt.Sprintf(`{"id":"%s","name":"Al","email":"a%s@x.io","age":30,"role":"user","tags":[],"zzz":2,`+
			`"extra":"e\"q","big":1e+21,"n":180,"f":2.5,"i53":9007199254740992,"e20":100000000000000000000,"s":1e-7,"neg0":0,"new":true,"_version":2,"_createdAt":%.0f,"_updatedAt":%.0f}`,
			key, key, created, num(t, upd, "_updatedAt"))
		eq(t, fmt.Sprintf("RESP%d B.UPDATE reply", p), got, bulk(body))
		if num(t, upd, "_updatedAt") < created {
			t.Errorf("_updatedAt %v before _createdAt %v", upd["_updatedAt"], created)
		}
		eq(t, fmt.Sprintf("RESP%d B.GET after update", p), c.Do("b.get", "users", key), bulk(body))
	}

	// _expiresAt comes last.
	rec := r.str("B.INSERT", "users", `{"name":"T","id":"t1"}`, "TTL", "1h")
	eq(t, "field order with a TTL", jsonKeys(t, rec),
		[]string{"id", "name", "role", "tags", "_version", "_createdAt", "_updatedAt", "_expiresAt"})
}

func TestInsertGenerated(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.define("orders", ordersDef)

	now := time.Now()
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[any]bool{}
	for i := 1; i <= 3; i++ {
		o := parseRec(t, r.str("B.INSERT", "orders", `{"item":"x"}`))
		eq(t, "autoincrement id", o["id"], float64(i))
		if !near(num(t, o, "at"), now) {
			t.Errorf("generated timestamp %v is not now", o["at"])
		}
		ref, _ := o["ref"].(string)
		if !strings.HasPrefix(ref, "c") || len(ref) < 8 || seen[ref] {
			t.Errorf("generated cuid %q: want a new id starting with c", ref)
		}
		seen[ref] = true
		u := parseRec(t, r.str("B.INSERT", "users", `{"name":"x"}`))
		if id, _ := u["id"].(string); !uuidRE.MatchString(id) || seen[id] {
			t.Errorf("generated uuid %q: want a new lowercase v4 uuid", id)
		}
		seen[u["id"]] = true
	}
	// Generated only when absent.
	eq(t, "client uuid", parseRec(t, r.str("B.INSERT", "users", `{"id":"mine","name":"x"}`))["id"], "mine")
	o := parseRec(t, r.str("B.INSERT", "orders", `{"id":100,"item":"x","at":5,"ref":"r"}`))
	eq(t, "client values of generated fields", []any{o["id"], o["at"], o["ref"]}, []any{100.0, 5.0, "r"})

	// Defaults are copied fresh for every insert.
	d1 := parseRec(t, r.str("B.INSERT", "users", `{"id":"d1","name":"x"}`))
	r.str("B.INSERT", "users", `{"id":"d2","name":"y"}`)
	eq(t, "defaults", []any{d1["role"], d1["tags"]}, []any{"user", []any{}})
	r.str("B.UPDATE", "users", "d1", `{"tags":["changed"]}`)
	eq(t, "d2 tags after d1's update", parseRec(t, r.str("B.GET", "users", "d2"))["tags"], []any{})
	eq(t, "tags of a new insert", parseRec(t, r.str("B.INSERT", "users", `{"id":"d3","name":"z"}`))["tags"], []any{})
	// A field present with null keeps its null.
	d4 := parseRec(t, r.str("B.INSERT", "users", `{"id":"d4","name":"z","tags":null}`))
	if v, has := d4["tags"]; !has || v != nil {
		t.Errorf("tags given as null: got %#v (present %v), want null", v, has)
	}
}

func TestInsertErrors(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.define("orders", ordersDef)
	r.define("people", peopleDef)
	r.insert("users", `{"id":"k1","name":"A","email":"a@x.io"}`)
	r.insert("orders", `{"item":"a"}`)

	long := strings.Repeat("é", 101)
	for _, c := range []struct{ want, bucket, rec string }{
		{`EXISTS Record with key "k1" already exists in bucket "users"`, "users", `{"id":"k1","name":"B"}`},
		{`EXISTS Record with key "1" already exists in bucket "orders"`, "orders", `{"id":1,"item":"b"}`},
		{`VALIDATION Validation failed for bucket "users": name: Minimum length is 1; email: Invalid email format; ` +
			`age: Maximum value is 150; role: Value must be one of: admin, user, guest`,
			"users", `{"role":"boss","age":200,"email":"nope","name":"","id":"k9"}`},
		{`VALIDATION Validation failed for bucket "users": name: Expected type "string", got number; ` +
			`age: Expected type "number", got string; tags: Expected type "array", got object`,
			"users", `{"tags":{},"age":"old","name":5}`},
		{`VALIDATION Validation failed for bucket "users": name: Field is required; age: Minimum value is 0`,
			"users", `{"id":"k9","age":-1}`},
		{`VALIDATION Validation failed for bucket "users": name: Field is required`, "users", `{"id":"k9","name":null}`},
		{`VALIDATION Validation failed for bucket "users": name: Maximum length is 100`, "users", `{"name":"` + long + `"}`},
		{`VALIDATION Validation failed for bucket "people": id: Field is required`, "people", `{"name":"x"}`},
		{`VALIDATION Validation failed for bucket "orders": id: Expected type "number", got string`, "orders", `{"id":"7","item":"x"}`},
		{`UNIQUE Unique constraint violation in bucket "users": field "email" already has value "a@x.io"`,
			"users", `{"id":"k9","name":"x","email":"a@x.io"}`},
		{`ERR invalid JSON: *`, "users", `{"name":"x"`},
		{`ERR invalid JSON: *`, "users", `{'name':1}`},
		{`ERR invalid JSON: expected a JSON object`, "users", `[{"name":"x"}]`},
		{`ERR invalid JSON: expected a JSON object`, "users", `"x"`},
	} {
		r.failsUnchanged(c.want, "B.INSERT", c.bucket, c.rec)
	}
	// The multi-byte name of 100 characters is not too long.
	r.str("B.INSERT", "users", `{"name":"`+long[2:]+`"}`)

	ok := `{"name":"ttl"}`
	badTTLArg := func(x string) string {
		return `ERR invalid TTL "` + x + `": expected a positive duration with a unit, as in "30s", "5m", "1h" or "7d"`
	}
	r.failsUnchanged(badTTLArg("x"), "B.INSERT", "users", ok, "TTL", "x")
	r.failsUnchanged(badTTLArg("0s"), "B.INSERT", "users", ok, "TTL", "0s")
	r.failsUnchanged(badTTLArg("-5m"), "B.INSERT", "users", ok, "TTL", "-5m")
	r.failsUnchanged(`ERR TTL needs a unit, as in "10s", "5m", "1h" or "7d" (or give EX seconds or PX milliseconds)`, "B.INSERT", "users", ok, "TTL", "0")
	r.failsUnchanged("ERR syntax error", "B.INSERT", "users", ok, "TTL")
	r.failsUnchanged("ERR syntax error", "B.INSERT", "users", ok, "EXPIRE", "5m")
	r.failsUnchanged("ERR syntax error", "B.INSERT", "users", ok, "TTL", "5m", "x")
	r.failsUnchanged(arity("b.insert"), "B.INSERT", "users")
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.INSERT", "x", ok)
	// The next autoincrement value is the next number: no gap.
	eq(t, "id after failed inserts", parseRec(t, r.str("B.INSERT", "orders", `{"item":"b"}`))["id"], 2.0)
}

func TestInsertValidationMessages(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 3)
	r.define("fmt", `{"key":"id","schema":{"id":{"type":"string"},"code":{"type":"string","pattern":"^[A-Z]{3}$"},`+
		`"site":{"type":"string","format":"url"},"day":{"type":"string","format":"iso-date"},`+
		`"level":{"type":"number","enum":[1,2,3]},"flag":{"type":"boolean"},"obj":{"type":"object"},`+
		`"when":{"type":"date"},"nick":{"type":"string","minLength":2,"maxLength":3,"pattern":"^a"}},"persistent":false}`)
	for _, c := range []struct{ rec, want string }{
		{`{"nick":"bbbb","when":true,"obj":[1],"flag":"yes","level":4,"day":"2024-02-30","site":"not a url","code":"abcd","id":"a"}`,
			`code: Value must match pattern "^[A-Z]{3}$"; site: Invalid url format; day: Invalid iso-date format; ` +
				`level: Value must be one of: 1, 2, 3; flag: Expected type "boolean", got string; ` +
				`obj: Expected type "object", got array; when: Expected type "date", got boolean; ` +
				`nick: Maximum length is 3; nick: Value must match pattern "^a"`},
		{`{"id":"b","obj":null,"nick":"é"}`, `nick: Minimum length is 2; nick: Value must match pattern "^a"`},
		{`{"id":"b","day":"2023-02-29"}`, `day: Invalid iso-date format`},
		{`{"id":"b","when":"yesterday"}`, `when: Expected type "date", got string`},
		{`{"id":"b","obj":"x","flag":null}`, `obj: Expected type "object", got string`},
	} {
		r.failsUnchanged(`VALIDATION Validation failed for bucket "fmt": `+c.want, "B.INSERT", "fmt", c.rec)
	}
	// Absent and null optional fields are fine; so are valid values.
	r.str("B.INSERT", "fmt", `{"id":"c","obj":null,"when":1700000000000}`)
	r.str("B.INSERT", "fmt", `{"id":"d","code":"ABC","site":"https://x.io/p?q=1","day":"2024-02-29","level":2,`+
		`"flag":false,"obj":{},"when":"2024-01-01T10:00:00Z","nick":"ab"}`)
	r.integer(2, "B.COUNT", "fmt")
}

func TestInsertTTL(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 3)
	r.define("users", usersDef)
	for _, c := range []struct {
		ttl string
		ms  float64
	}{{"5m", 300000}, {"30s", 30000}, {"1.5h", 5400000}, {"7d", 7 * 86400000}} {
		now := time.Now()
		rec := parseRec(t, r.str("B.INSERT", "users", `{"name":"x"}`, "ttl", c.ttl))
		exp := num(t, rec, "_expiresAt")
		if exp != num(t, rec, "_createdAt")+c.ms || !near(exp-c.ms, now) {
			t.Errorf("TTL %s: _expiresAt %v, want _createdAt %v + %v ≈ now+%v", c.ttl, exp, rec["_createdAt"], c.ms, c.ms)
		}
	}
	// On insert a client _expiresAt is kept.
	at := float64(time.Now().Add(time.Hour).UnixMilli())
	rec := parseRec(t, r.str("B.INSERT", "users", fmt.Sprintf(`{"id":"e1","name":"x","_expiresAt":%.0f}`, at)))
	eq(t, "client _expiresAt", rec["_expiresAt"], at)
	eq(t, "client _expiresAt after GET", parseRec(t, r.str("B.GET", "users", "e1"))["_expiresAt"], at)
	// On update it is ignored, and the record keeps its expiry.
	u := parseRec(t, r.str("B.UPDATE", "users", "e1", `{"_expiresAt":1,"name":"y"}`))
	eq(t, "_expiresAt after update", u["_expiresAt"], at)
}

func TestInsertMany(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	protos(t, s, func(t *testing.T, r *rc) {
		b := fmt.Sprintf("orders%d", r.proto)
		r.define(b, ordersDef)
		r.define("u"+b, usersDef)
		recs := r.list("B.INSERTMANY", b, `[{"item":"a"},{"item":"b","qty":2}]`)
		eq(t, "B.INSERTMANY ids", recKeys(t, "id", recs), []string{"1", "2"})
		eq(t, "B.INSERTMANY returns the stored records", recs, r.list("B.MGET", b, "1", "2"))

		r.failsUnchanged(`VALIDATION Validation failed for bucket "`+b+`": item: Field is required; qty: Minimum value is 1`,
			"B.INSERTMANY", b, `[{"item":"c"},{"item":"d"},{"qty":0},{"item":"e"}]`)
		r.failsUnchanged(`EXISTS Record with key "10" already exists in bucket "`+b+`"`,
			"B.INSERTMANY", b, `[{"item":"c"},{"id":10,"item":"x"},{"id":10,"item":"y"}]`)
		r.failsUnchanged(`EXISTS Record with key "2" already exists in bucket "`+b+`"`,
			"B.INSERTMANY", b, `[{"item":"c"},{"id":2,"item":"x"}]`)
		r.failsUnchanged(`UNIQUE Unique constraint violation in bucket "u`+b+`": field "email" already has value "e@x.io"`,
			"B.INSERTMANY", "u"+b, `[{"name":"a","email":"e@x.io"},{"name":"b","email":"e@x.io"}]`)
		r.failsUnchanged(`ERR invalid JSON: *`, "B.INSERTMANY", b, `[{"item":"c"},`)
		r.failsUnchanged(`ERR *`, "B.INSERTMANY", b, `{"item":"c"}`)
		r.failsUnchanged(`ERR *`, "B.INSERTMANY", b, `[{"item":"c"},[1]]`)
		r.failsUnchanged(`ERR *`, "B.INSERTMANY", b, `[{"item":"c"},null]`)
		r.failsUnchanged(arity("b.insertmany"), "B.INSERTMANY", b)
		r.failsUnchanged(arity("b.insertmany"), "B.INSERTMANY", b, `[]`, "x")
		r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.INSERTMANY", "x", `[{"item":"c"}]`)
		r.integer(2, "B.COUNT", b)
		r.null("B.GET", b, "10")
		eq(t, "B.INSERTMANY []", r.list("B.INSERTMANY", b, `[]`), []string{})
		// No autoincrement value was used by the failed batches.
		eq(t, "next id", recKeys(t, "id", r.list("B.INSERTMANY", b, `[{"item":"c"}]`)), []string{"3"})
		eq(t, "next id", parseRec(t, r.str("B.INSERT", b, `{"item":"d"}`))["id"], 4.0)
	})
}

func TestGetMGet(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("orders", ordersDef)
	r.define("users", usersDef)
	recs := r.insert("orders", `{"item":"a"}`, `{"item":"b"}`, `{"item":"c"}`)
	r.insert("users", `{"id":"3","name":"three"}`)
	protos(t, s, func(t *testing.T, r *rc) {
		eq(t, "B.GET orders 3", r.str("B.GET", "orders", "3"), recs[2])
		eq(t, "B.GET orders 3.0", r.str("B.GET", "orders", "3.0"), recs[2])
		eq(t, "B.GET orders 1e0", r.str("B.GET", "orders", "1e0"), recs[0])
		eq(t, "B.GET users 3", parseRec(t, r.str("B.GET", "users", "3"))["name"], "three")
		r.null("B.GET", "orders", "99")
		r.null("B.GET", "users", "nope")
		c := rawProto(t, s, r.proto)
		eq(t, "raw nil", c.Do("B.GET", "orders", "99"), map[int]string{2: "$-1\r\n", 3: "_\r\n"}[r.proto])
		for _, k := range []string{"abc", "", " 3", "0x10", "3abc"} {
			r.err(`ERR invalid key "`+k+`": the key field "id" is a number`, "B.GET", "orders", k)
		}
		eq(t, "B.MGET", r.list("B.MGET", "orders", "1", "99", "3", "1"), []string{recs[0], "<nil>", recs[2], recs[0]})
		r.err(`ERR invalid key "x": the key field "id" is a number`, "B.MGET", "orders", "1", "x")
		r.err(arity("b.get"), "B.GET", "orders")
		r.err(arity("b.get"), "B.GET", "orders", "1", "2")
		r.err(arity("b.mget"), "B.MGET", "orders")
		r.err(`NOBUCKET Bucket "x" is not defined`, "B.GET", "x", "1")
		r.err(`NOBUCKET Bucket "x" is not defined`, "B.MGET", "x", "1")
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.define("orders", ordersDef)
	k1 := parseRec(t, r.str("B.INSERT", "users", `{"id":"k1","name":"Al","email":"a@x.io","age":30,"meta":{"a":1,"b":2},"tags":["t"]}`))
	r.insert("users", `{"id":"k2","name":"Bo","email":"b@x.io"}`)

	// Shallow merge: a nested object is replaced whole.
	u := parseRec(t, r.str("B.UPDATE", "users", "k1", `{"meta":{"c":3},"age":31}`))
	eq(t, "after merge", []any{u["name"], u["age"], u["meta"], u["tags"], u["_version"], u["_createdAt"]},
		[]any{"Al", 31.0, map[string]any{"c": 3.0}, []any{"t"}, 2.0, k1["_createdAt"]})
	// null sets the field to null.
	u = parseRec(t, r.str("B.UPDATE", "users", "k1", `{"age":null}`))
	if v, has := u["age"]; !has || v != nil {
		t.Errorf("age after null: %#v (present %v), want null", v, has)
	}
	// Changing the key is an error, and changes nothing.
	r.err(`ERR invalid update: the key field "id" cannot be changed (from "k1" to "other")`, "B.UPDATE", "users", "k1", `{"id":"other","name":"Al2"}`)
	// The key given as it is, the metadata and generated fields are immune.
	u = parseRec(t, r.str("B.UPDATE", "users", "k1", `{"id":"k1","_version":50,"_createdAt":1,"_updatedAt":2,"_expiresAt":3,"name":"Al2"}`))
	eq(t, "immune fields", []any{u["id"], u["_version"], u["_createdAt"], u["name"]}, []any{"k1", 4.0, k1["_createdAt"], "Al2"})
	if _, has := u["_expiresAt"]; has || num(t, u, "_updatedAt") < num(t, k1, "_createdAt") {
		t.Errorf("metadata after update: %v", u)
	}
	r.null("B.GET", "users", "other")
	o := parseRec(t, r.str("B.INSERT", "orders", `{"item":"a"}`))
	r.err(`ERR invalid update: the key field "id" cannot be changed (from 1 to 7)`, "B.UPDATE", "orders", "1", `{"id":7,"qty":4}`)
	ou := parseRec(t, r.str("B.UPDATE", "orders", "1", `{"id":1,"at":5,"ref":"zz","qty":4}`))
	eq(t, "generated fields after update", []any{ou["id"], ou["at"], ou["ref"], ou["qty"]}, []any{1.0, o["at"], o["ref"], 4.0})
	r.null("B.GET", "orders", "7")
	// Updating a unique field to its own value is fine.
	r.str("B.UPDATE", "users", "k1", `{"email":"a@x.io"}`)

	ver := int(num(t, parseRec(t, r.str("B.GET", "users", "k1")), "_version"))
	for _, c := range []struct {
		want string
		args []any
	}{
		{`VALIDATION Validation failed for bucket "users": age: Minimum value is 0; role: Value must be one of: admin, user, guest`,
			[]any{"k1", `{"role":"boss","age":-5}`}},
		{`VALIDATION Validation failed for bucket "users": name: Field is required`, []any{"k1", `{"name":null}`}},
		{`VALIDATION Validation failed for bucket "users": tags: Expected type "array", got string`, []any{"k1", `{"tags":"x"}`}},
		{`UNIQUE Unique constraint violation in bucket "users": field "email" already has value "b@x.io"`, []any{"k1", `{"email":"b@x.io"}`}},
		{`NOTFOUND Record with key "nope" not found in bucket "users"`, []any{"nope", `{"age":1}`}},
		{fmt.Sprintf(`CONFLICT Version mismatch for key "k1" in bucket "users": expected %d, got %d`, ver-1, ver),
			[]any{"k1", `{"age":1}`, "IFVERSION", fmt.Sprint(ver - 1)}},
		{`CONFLICT *`, []any{"k1", `{"age":1}`, "ifversion", "0"}},
		{`NOTFOUND *`, []any{"nope", `{"age":1}`, "IFVERSION", "1"}},
		{notInt, []any{"k1", `{"age":1}`, "IFVERSION", "x"}},
		{notInt, []any{"k1", `{"age":1}`, "IFVERSION", "-1"}},
		{notInt, []any{"k1", `{"age":1}`, "IFVERSION", "1.5"}},
		{"ERR syntax error", []any{"k1", `{"age":1}`, "IFVERSION"}},
		{"ERR syntax error", []any{"k1", `{"age":1}`, "VERSION", "1"}},
		{"ERR syntax error", []any{"k1", `{"age":1}`, "IFVERSION", "1", "x"}},
		{`ERR invalid JSON: *`, []any{"k1", `{"age":`}},
		{`ERR invalid JSON: expected a JSON object`, []any{"k1", `[{"age":1}]`}},
		{arity("b.update"), []any{"k1"}},
	} {
		r.failsUnchanged(c.want, append([]any{"B.UPDATE", "users"}, c.args...)...)
	}
	r.failsUnchanged(`NOTFOUND Record with key "99" not found in bucket "orders"`, "B.UPDATE", "orders", "99", `{"qty":2}`)
	r.failsUnchanged(`ERR invalid key "abc": the key field "id" is a number`, "B.UPDATE", "orders", "abc", `{"qty":2}`)
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.UPDATE", "x", "k1", `{"qty":2}`)

	// IFVERSION that matches.
	u = parseRec(t, r.str("B.UPDATE", "users", "k1", `{"age":40}`, "IFVERSION", fmt.Sprint(ver)))
	eq(t, "after IFVERSION update", []any{u["age"], u["_version"]}, []any{40.0, float64(ver + 1)})
	r.failsUnchanged(fmt.Sprintf(`CONFLICT Version mismatch for key "k1" in bucket "users": expected %d, got %d`, ver, ver+1),
		"B.UPDATE", "users", "k1", `{"age":41}`, "IFVERSION", fmt.Sprint(ver))
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	protos(t, s, func(t *testing.T, r *rc) {
		b := fmt.Sprintf("users%d", r.proto)
		r.define(b, usersDef)
		ins := parseRec(t, r.str("B.UPSERT", b, `{"id":"u1","name":"N","email":"n@x.io"}`))
		eq(t, "upsert insert path", []any{ins["_version"], ins["role"], ins["tags"]}, []any{1.0, "user", []any{}})
		upd := parseRec(t, r.str("B.UPSERT", b, `{"id":"u1","age":5}`))
		eq(t, "upsert update path", []any{upd["name"], upd["age"], upd["_version"], upd["_createdAt"]},
			[]any{"N", 5.0, 2.0, ins["_createdAt"]})
		gen := parseRec(t, r.str("B.UPSERT", b, `{"name":"G"}`))
		if id, _ := gen["id"].(string); len(id) != 36 {
			t.Errorf("upsert without a key: id %q, want a generated uuid", id)
		}
		r.integer(2, "B.COUNT", b)

		r.failsUnchanged(`VALIDATION Validation failed for bucket "`+b+`": name: Field is required`, "B.UPSERT", b, `{"id":"u2"}`)
		r.failsUnchanged(`VALIDATION Validation failed for bucket "`+b+`": age: Minimum value is 0`, "B.UPSERT", b, `{"id":"u1","age":-1}`)
		r.failsUnchanged(`UNIQUE Unique constraint violation in bucket "`+b+`": field "email" already has value "n@x.io"`,
			"B.UPSERT", b, `{"id":"u3","name":"x","email":"n@x.io"}`)
		r.failsUnchanged(`ERR invalid JSON: *`, "B.UPSERT", b, `{"id":"u1"`)
		r.failsUnchanged(`ERR invalid JSON: expected a JSON object`, "B.UPSERT", b, `[]`)
		r.failsUnchanged(arity("b.upsert"), "B.UPSERT", b)
		r.failsUnchanged("ERR syntax error", "B.UPSERT", b, `{}`, "x")
		r.failsUnchanged(arity("b.upsert"), "B.UPSERT", b)
		r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.UPSERT", "x", `{}`)
	})
}

func TestUpdateMany(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("people", peopleDef)
	r.insert("people", peopleRows...)

	r.integer(3, "B.UPDATEMANY", "people", `{"role":"user"}`, `{"active":true,"note":"n"}`)
	eq(t, "active after B.UPDATEMANY", r.keys("id", "B.WHERE", "people", `{"active":true}`), []string{"p3", "p1", "p5", "p2", "p6"})
	eq(t, "note after B.UPDATEMANY", r.keys("id", "B.WHERE", "people", `{"note":"n"}`), []string{"p1", "p2", "p6"})
	eq(t, "_version of p1", parseRec(t, r.str("B.GET", "people", "p1"))["_version"], 2.0)
	r.integer(0, "B.UPDATEMANY", "people", `{"role":"nobody"}`, `{"active":true}`)

	// All or nothing: the second admin cannot take the first one's email.
	r.failsUnchanged(`UNIQUE Unique constraint violation in bucket "people": field "email" already has value "same@x.io"`,
		"B.UPDATEMANY", "people", `{"role":"admin"}`, `{"email":"same@x.io"}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "people": role: Value must be one of: admin, user, guest`,
		"B.UPDATEMANY", "people", `{"role":"user"}`, `{"role":"boss"}`)
	for _, c := range []struct{ want, filter, changes string }{
		{`ERR invalid filter: unknown operator "$foo"`, `{"age":{"$foo":1}}`, `{"x":1}`},
		{`ERR invalid filter: expected an object`, `[1]`, `{"x":1}`},
		{`ERR invalid JSON: *`, `{"age":`, `{"x":1}`},
		{`ERR invalid JSON: *`, `{}`, `{"x":`},
		{`ERR invalid JSON: expected a JSON object`, `{}`, `[1]`},
	} {
		r.failsUnchanged(c.want, "B.UPDATEMANY", "people", c.filter, c.changes)
	}
	r.failsUnchanged(arity("b.updatemany"), "B.UPDATEMANY", "people", `{}`)
	r.failsUnchanged(arity("b.updatemany"), "B.UPDATEMANY", "people", `{}`, `{}`, "x")
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.UPDATEMANY", "x", `{}`, `{}`)

	// All or nothing when a record in the middle fails validation: i2 lacks
	// the field that ALTER made required, i1 (before it) and i3 have it.
	r.define("inv", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"}},"persistent":false}`)
	r.insert("inv", `{"id":"i1","name":"a","grade":5}`, `{"id":"i2","name":"b"}`, `{"id":"i3","name":"c","grade":7}`)
	r.ok("BUCKET.ALTER", "inv", `{"addFields":{"grade":{"type":"number","required":true}}}`)
	r.failsUnchanged(`VALIDATION Validation failed for bucket "inv": grade: Field is required`,
		"B.UPDATEMANY", "inv", `{}`, `{"name":"z"}`)
	r.integer(2, "B.UPDATEMANY", "inv", `{"grade":{"$exists":true}}`, `{"name":"z"}`)
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	r.define("orders", ordersDef)
	r.insert("users", `{"id":"k1","name":"A","email":"a@x.io"}`, `{"id":"k2","name":"B"}`)
	r.insert("orders", `{"item":"a"}`, `{"item":"b"}`)

	r.failsUnchanged(`CONFLICT Version mismatch for key "k1" in bucket "users": expected 2, got 1`, "B.DELETE", "users", "k1", "IFVERSION", "2")
	r.failsUnchanged(notInt, "B.DELETE", "users", "k1", "IFVERSION", "x")
	r.failsUnchanged("ERR syntax error", "B.DELETE", "users", "k1", "IFVERSION")
	r.failsUnchanged("ERR syntax error", "B.DELETE", "users", "k1", "x", "1")
	r.failsUnchanged(`ERR invalid key "abc": the key field "id" is a number`, "B.DELETE", "orders", "abc")
	r.failsUnchanged(arity("b.delete"), "B.DELETE", "users")
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.DELETE", "x", "k1")
	r.integer(1, "B.DELETE", "users", "k1", "ifversion", "1")
	r.integer(0, "B.DELETE", "users", "k1")
	r.integer(0, "B.DELETE", "users", "k1", "IFVERSION", "1")
	r.null("B.GET", "users", "k1")
	r.integer(1, "B.DELETE", "orders", "2")
	r.integer(1, "B.COUNT", "orders")
	// The deleted record's unique value is free again.
	r.str("B.INSERT", "users", `{"id":"k3","name":"C","email":"a@x.io"}`)

	r.define("people", peopleDef)
	r.insert("people", peopleRows...)
	r.integer(0, "B.DELETEMANY", "people", `{"age":{"$gt":100}}`)
	r.integer(3, "B.DELETEMANY", "people", `{"role":"user"}`)
	eq(t, "after B.DELETEMANY", r.keys("id", "B.ALL", "people"), []string{"p3", "p5", "p4"})
	r.failsUnchanged(`ERR invalid filter: unknown operator "$foo"`, "B.DELETEMANY", "people", `{"$foo":[]}`)
	r.failsUnchanged(`ERR invalid filter: expected an object`, "B.DELETEMANY", "people", `"p3"`)
	r.failsUnchanged(`ERR invalid JSON: *`, "B.DELETEMANY", "people", `{`)
	r.failsUnchanged(arity("b.deletemany"), "B.DELETEMANY", "people")
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.DELETEMANY", "x", `{}`)

	r.integer(3, "B.CLEAR", "people")
	r.integer(0, "B.COUNT", "people")
	r.integer(0, "B.CLEAR", "people")
	eq(t, "BUCKET.LIST after B.CLEAR", r.list("BUCKET.LIST"), []string{"orders", "people", "users"})
	r.str("B.INSERT", "people", peopleRows[0]) // the definition is kept
	r.failsUnchanged(arity("b.clear"), "B.CLEAR", "people", "x")
	r.failsUnchanged(`NOBUCKET Bucket "x" is not defined`, "B.CLEAR", "x")
}

// TestRecordCommandErrors checks the error paths shared by every B.*
// command: arity, unknown bucket, bad JSON, wrong JSON type, bad filter
// operator, non-integer arguments. Each leaves the bucket unchanged.
func TestRecordCommandErrors(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	newRC(t, s, 2).define("people", peopleDef)
	newRC(t, s, 2).insert("people", peopleRows...)
	p := "people"
	badF := `{"age":{"$foo":1}}`
	opErr := `ERR invalid filter: unknown operator "$foo"`
	type errCase struct {
		want string
		args []any
	}
	var cases []errCase
	add := func(want string, args ...any) { cases = append(cases, errCase{want, args}) }
	for _, a := range [][]any{
		{"B.INSERT", p}, {"B.INSERTMANY", p}, {"B.INSERTMANY", p, "[]", "x"}, {"B.GET", p}, {"B.GET", p, "a", "b"},
		{"B.MGET", p}, {"B.UPDATE", p, "p1"}, {"B.UPSERT", p}, {"B.UPDATEMANY", p, "{}"}, {"B.DELETE", p},
		{"B.DELETEMANY", p}, {"B.DELETEMANY", p, "{}", "x"}, {"B.CLEAR"}, {"B.ALL"}, {"B.ALL", p, "x"},
		{"B.WHERE", p}, {"B.WHERE", p, "{}", "x"}, {"B.FINDONE", p}, {"B.COUNT"}, {"B.FIRST", p},
		{"B.FIRST", p, "1", "x"}, {"B.LAST", p}, {"B.PAGINATE", p, "LIMIT"}, {"B.SUM", p}, {"B.AVG", p},
		{"B.MIN", p}, {"B.MAX", p}, {"B.GROUPBY", p, "role"}, {"B.FIND", p}, {"B.FIND", p, "{}", "x"},
	} {
		add(arity(strings.ToLower(a[0].(string))), a...)
	}
	add(arity("b.insert"), "b.InSeRt", p)
	nob := `NOBUCKET Bucket "x" is not defined`
	for _, a := range [][]any{
		{"B.INSERT", "x", "{}"}, {"B.INSERTMANY", "x", "[{}]"}, {"B.GET", "x", "k"}, {"B.MGET", "x", "k"},
		{"B.UPDATE", "x", "k", "{}"}, {"B.UPSERT", "x", "{}"}, {"B.UPDATEMANY", "x", "{}", "{}"},
		{"B.DELETE", "x", "k"}, {"B.DELETEMANY", "x", "{}"}, {"B.CLEAR", "x"}, {"B.ALL", "x"},
		{"B.WHERE", "x", "{}"}, {"B.FINDONE", "x", "{}"}, {"B.COUNT", "x"}, {"B.COUNT", "x", "{}"},
		{"B.FIRST", "x", "1"}, {"B.LAST", "x", "1"}, {"B.PAGINATE", "x", "LIMIT", "1"}, {"B.SUM", "x", "age"},
		{"B.AVG", "x", "age"}, {"B.MIN", "x", "age"}, {"B.MAX", "x", "age"}, {"B.GROUPBY", "x", "role", "count"},
		{"B.FIND", "x", "{}"},
	} {
		add(nob, a...)
	}
	for _, a := range [][]any{
		{"B.INSERT", p, "{"}, {"B.INSERTMANY", p, "["}, {"B.UPDATE", p, "p1", `{"a"}`}, {"B.UPSERT", p, "{,}"},
		{"B.UPDATEMANY", p, "{", "{}"}, {"B.UPDATEMANY", p, "{}", "}"}, {"B.DELETEMANY", p, "nul"},
		{"B.WHERE", p, `{"a":1,}`}, {"B.FINDONE", p, "{"}, {"B.COUNT", p, "{"}, {"B.SUM", p, "age", "{"},
		{"B.AVG", p, "age", "{"}, {"B.MIN", p, "age", "{"}, {"B.MAX", p, "age", "{"},
		{"B.GROUPBY", p, "role", "count", "{"}, {"B.FIND", p, "{"},
	} {
		add("ERR invalid JSON: *", a...)
	}
	notObj := "ERR invalid JSON: expected a JSON object"
	add(notObj, "B.INSERT", p, `[{"id":"p9","name":"x"}]`)
	add(notObj, "B.UPDATE", p, "p1", `["x"]`)
	add(notObj, "B.UPSERT", p, `[{"id":"p1"}]`)
	add("ERR *", "B.INSERTMANY", p, `{"id":"p9","name":"x"}`)
	add("ERR invalid query: expected an object", "B.FIND", p, `[{}]`)
	for _, a := range [][]any{
		{"B.UPDATEMANY", p, badF, "{}"}, {"B.DELETEMANY", p, badF}, {"B.WHERE", p, badF}, {"B.FINDONE", p, badF},
		{"B.COUNT", p, badF}, {"B.SUM", p, "age", badF}, {"B.AVG", p, "age", badF}, {"B.MIN", p, "age", badF},
		{"B.MAX", p, "age", badF}, {"B.GROUPBY", p, "role", "count", badF}, {"B.GROUPBY", p, "role", "sum", "age", badF},
		{"B.FIND", p, `{"filter":` + badF + `}`},
	} {
		add(opErr, a...)
	}
	for _, a := range [][]any{{"B.WHERE", p, `[{"age":1}]`}, {"B.COUNT", p, `"x"`}, {"B.SUM", p, "age", `[]`}} {
		add("ERR invalid filter: expected an object", a...)
	}
	add(`ERR invalid filter: unknown operator "$nor"`, "B.WHERE", p, `{"$nor":[{"age":1}]}`)
	add(`ERR invalid filter: unknown operator "$ne"`, "B.COUNT", p, `{"age":{"$ne":1}}`)
	add(`ERR invalid filter: *`, "B.WHERE", p, `{"age":{"$in":1}}`)
	add(`ERR invalid filter: *`, "B.WHERE", p, `{"age":{"$between":[1]}}`)
	add(`ERR invalid filter: *`, "B.WHERE", p, `{"$or":{"age":1}}`)
	add(`ERR invalid filter: *`, "B.WHERE", p, `{"age":{"$gt":true}}`)
	add(`ERR invalid filter: *`, "B.WHERE", p, `{"age":{"$exists":1}}`)
	for _, a := range [][]any{
		{"B.FIRST", p, "x"}, {"B.FIRST", p, "-1"}, {"B.LAST", p, "1.5"}, {"B.PAGINATE", p, "LIMIT", "x"},
		{"B.PAGINATE", p, "LIMIT", "-2"}, {"B.UPDATE", p, "p1", "{}", "IFVERSION", "one"},
		{"B.DELETE", p, "p1", "IFVERSION", "1e3"},
	} {
		add(notInt, a...)
	}
	protos(t, s, func(t *testing.T, r *rc) {
		for _, c := range cases {
			r.failsUnchanged(c.want, c.args...)
		}
		r.integer(int64(len(peopleRows)), "B.COUNT", p)
	})
}

// TestIfVersionInMulti covers IFVERSION inside MULTI/EXEC (section 6): a
// CONFLICT at EXEC is EXEC's reply and nothing of the transaction applies.
func TestIfVersionInMulti(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	r := newRC(t, s, 2)
	r.define("users", usersDef)
	rec := r.str("B.INSERT", "users", `{"id":"v1","name":"A"}`)
	for _, p := range []int{2, 3} {
		c := rawProto(t, s, p)
		eq(t, "MULTI", c.Do("MULTI"), "+OK\r\n")
		eq(t, "queued update", c.Do("B.UPDATE", "users", "v1", `{"name":"B"}`, "IFVERSION", "1"), "+QUEUED\r\n")
		eq(t, "queued update", c.Do("B.UPDATE", "users", "v1", `{"name":"C"}`, "IFVERSION", "1"), "+QUEUED\r\n")
		eq(t, "EXEC", c.Do("EXEC"), "-CONFLICT Version mismatch for key \"v1\" in bucket \"users\": expected 1, got 2\r\n")
		eq(t, "record after the failed EXEC", r.str("B.GET", "users", "v1"), rec)
		eq(t, "MULTI", c.Do("MULTI"), "+OK\r\n")
		eq(t, "queued delete", c.Do("B.DELETE", "users", "v1", "IFVERSION", "2"), "+QUEUED\r\n")
		eq(t, "EXEC", c.Do("EXEC"), "-CONFLICT Version mismatch for key \"v1\" in bucket \"users\": expected 2, got 1\r\n")
		eq(t, "record after the failed EXEC", r.str("B.GET", "users", "v1"), rec)
	}
	c := rawProto(t, s, 2)
	c.Do("MULTI")
	c.Do("B.UPDATE", "users", "v1", `{"name":"B"}`, "IFVERSION", "1")
	c.Do("B.DELETE", "users", "v1", "IFVERSION", "2")
	got := c.Do("EXEC")
	body, ok := strings.CutSuffix(got, "\r\n:1\r\n")
	if !ok || !strings.HasPrefix(got, "*2\r\n$") {
		t.Fatalf("EXEC of matching versions: got %q, want [updated record, 1]", got)
	}
	u := parseRec(t, body[strings.Index(body, "{"):])
	eq(t, "record updated in EXEC", []any{u["name"], u["_version"]}, []any{"B", 2.0})
	r.null("B.GET", "users", "v1")
}
