package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// fakeClock is the store's clock in tests: Unix ms that move only when the
// test says so.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock(start int64) *fakeClock {
	c := &fakeClock{}
	c.Set(start)
	return c
}

// Now returns the clock's reading; it is the store's Options.Now.
func (c *fakeClock) Now() int64 { return c.ms.Load() }

// Set moves the clock to ms.
func (c *fakeClock) Set(ms int64) { c.ms.Store(ms) }

// Advance moves the clock ms forward.
func (c *fakeClock) Advance(ms int64) { c.ms.Add(ms) }

// seqIDs is a deterministic schema.IDGen.
type seqIDs struct{ n atomic.Int64 }

func (g *seqIDs) UUID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", g.n.Add(1))
}

func (g *seqIDs) CUID() string { return fmt.Sprintf("c%032x", g.n.Add(1)) }

// recorder is an Observer that keeps a copy of every committed change.
type recorder struct {
	mu      sync.Mutex
	changes []engine.Change
	batches int
}

func (r *recorder) Committed(cs []engine.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, cs...) // the slice is the store's: copy
	r.batches++
}

// take returns the changes recorded since the last take and forgets them.
func (r *recorder) take() []engine.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.changes
	r.changes = nil
	return out
}

// env is a store with a fake clock, deterministic ids and a recording
// observer. Its cleanup checks the store's invariants after every test.
type env struct {
	t     testing.TB
	s     *engine.Store
	clock *fakeClock
	obs   *recorder
}

const startMs = 1_000_000

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, clock: newFakeClock(startMs), obs: &recorder{}}
	e.s = engine.New(engine.Options{Now: e.clock.Now, IDs: &seqIDs{}})
	e.s.AddObserver(e.obs)
	t.Cleanup(func() {
		if err := e.s.Check(); err != nil {
			t.Errorf("invariant check after test: %v", err)
		}
	})
	return e
}

// check fails the test at once when an invariant is broken.
func (e *env) check() {
	e.t.Helper()
	if err := e.s.Check(); err != nil {
		e.t.Fatalf("invariant check: %v", err)
	}
}

func (e *env) define(name, def string) {
	e.t.Helper()
	if err := e.s.Define(name, []byte(def)); err != nil {
		e.t.Fatalf("Define(%s): %v", name, err)
	}
}

func (e *env) insert(bucket, js string) *engine.Record {
	e.t.Helper()
	r, err := e.s.Insert(nil, bucket, obj(e.t, js), engine.InsertOptions{})
	if err != nil {
		e.t.Fatalf("Insert(%s, %s): %v", bucket, js, err)
	}
	return r
}

// all returns the records of a bucket as JSON texts, in bucket order.
func (e *env) all(bucket string) []string {
	e.t.Helper()
	recs, err := e.s.All(nil, bucket)
	if err != nil {
		e.t.Fatalf("All(%s): %v", bucket, err)
	}
	return texts(recs)
}

func (e *env) count(bucket string) int {
	e.t.Helper()
	n, err := e.s.Count(nil, bucket, nil)
	if err != nil {
		e.t.Fatalf("Count(%s): %v", bucket, err)
	}
	return n
}

func obj(t testing.TB, js string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(js))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return o
}

func flt(t testing.TB, js string) *filter.Filter {
	t.Helper()
	f, err := filter.ParseJSON([]byte(js))
	if err != nil {
		t.Fatalf("bad test filter %s: %v", js, err)
	}
	return f
}

func texts(recs []*engine.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		if r == nil {
			out[i] = "nil"
		} else {
			out[i] = string(r.JSON())
		}
	}
	return out
}

// keys returns the records' keys as JSON texts joined by commas.
func keys(recs []*engine.Record) string {
	var sb strings.Builder
	for i, r := range recs {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(jsonv.Marshal(r.Key()))
	}
	return sb.String()
}

// errKind classifies an engine error with errors.As.
func errKind(err error) string {
	var (
		ve *engine.ValidationError
		ue *engine.UniqueError
		nf *engine.NotFoundError
		ex *engine.ExistsError
		ce *engine.ConflictError
		nb *engine.NoBucketError
		ae *engine.ArgError
		be *engine.BucketExistsError
		se *jsonv.SyntaxError
	)
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ve):
		return "validation"
	case errors.As(err, &ue):
		return "unique"
	case errors.As(err, &nf):
		return "notfound"
	case errors.As(err, &ex):
		return "exists"
	case errors.As(err, &ce):
		return "conflict"
	case errors.As(err, &nb):
		return "nobucket"
	case errors.As(err, &ae):
		return "arg"
	case errors.As(err, &be):
		return "bucketexists"
	case errors.As(err, &se):
		return "json"
	}
	return "other: " + err.Error()
}

// changeText prints a change compactly for comparisons.
func changeText(c engine.Change) string {
	s := fmt.Sprintf("%s %s key=%s seq=%d", c.Op, c.Bucket, jsonv.Marshal(c.Key), c.Seq)
	if c.Reason != "" {
		s += " reason=" + c.Reason
	}
	if c.Op == engine.OpCleared {
		s += fmt.Sprintf(" count=%d", c.Count)
	}
	if c.Old != nil {
		s += " old=" + string(c.Old.JSON())
	}
	if c.New != nil {
		s += " new=" + string(c.New.JSON())
	}
	return s
}

func changeTexts(cs []engine.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = changeText(c)
	}
	return out
}

// wantChanges compares the recorded changes (taken) with want, each
// written as "op key seq" with optional " reason" (for deletes).
func (e *env) wantChanges(want ...string) {
	e.t.Helper()
	got := e.obs.take()
	var short []string
	for _, c := range got {
		s := fmt.Sprintf("%s %s %d", c.Op, jsonv.Marshal(c.Key), c.Seq)
		if c.Op == engine.OpDeleted {
			s += " " + c.Reason
		}
		if c.Op == engine.OpCleared {
			s = fmt.Sprintf("cleared %d %d", c.Count, c.Seq)
		}
		short = append(short, s)
	}
	if strings.Join(short, "\n") != strings.Join(want, "\n") {
		e.t.Fatalf("changes:\n got %q\nwant %q\nfull:\n%s", short, want, strings.Join(changeTexts(got), "\n"))
	}
}

const usersDef = `{"key":"id","schema":{
	"id":{"type":"string"},
	"name":{"type":"string","required":true,"minLength":1},
	"email":{"type":"string","format":"email","unique":true},
	"age":{"type":"number","min":0,"max":150},
	"role":{"type":"string","enum":["admin","user","guest"],"default":"user"},
	"seq":{"type":"number","generated":"autoincrement"},
	"uid":{"type":"string","generated":"uuid"}},
	"indexes":["role","age"]}`

const numsDef = `{"key":"n","schema":{"n":{"type":"number"},"v":{"type":"string"}},"ordered":true}`

// seedUsers defines users and nums and inserts three users.
func seedUsers(e *env) {
	e.t.Helper()
	e.define("users", usersDef)
	e.define("nums", numsDef)
	e.insert("users", `{"id":"u1","name":"Ann","email":"ann@x.io","age":30,"role":"admin"}`)
	e.insert("users", `{"id":"u2","name":"Bob","email":"bob@x.io","age":20}`)
	e.insert("users", `{"id":"u3","name":"Cid","age":40,"role":"guest"}`)
	e.obs.take()
}

func TestDefine(t *testing.T) {
	e := newEnv(t)
	e.define("users", usersDef)
	tests := []struct {
		name, bucket, def, want string
	}{
		{"identical again", "users", usersDef, "ok"},
		{"different", "users", numsDef, "bucketexists"},
		{"bad name", "a.b", numsDef, "arg"},
		{"key not in schema", "x", `{"key":"k","schema":{"a":{"type":"string"}}}`, "arg"},
		{"bad json", "x", `{"key":`, "json"}, // the reply says "invalid JSON"
		{"bad ttl", "x", `{"key":"a","schema":{"a":{"type":"string"}},"ttl":"x"}`, "arg"},
		{"new", "nums", numsDef, "ok"},
	}
	for _, tc := range tests {
		if got := errKind(e.s.Define(tc.bucket, []byte(tc.def))); got != tc.want {
			t.Errorf("%s: Define = %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := fmt.Sprint(e.s.List()); got != "[nums users]" {
		t.Errorf("List = %s", got)
	}
	first, err1 := e.s.Drop("nums")
	second, err2 := e.s.Drop("nums")
	if !first || second || err1 != nil || err2 != nil {
		t.Errorf("Drop should report true then false")
	}
	if _, err := e.s.Get(nil, "nums", "1"); errKind(err) != "nobucket" {
		t.Errorf("Get on dropped bucket: %v", err)
	}
}

func TestInsert(t *testing.T) {
	const meta = `"_version":1,"_createdAt":1000000,"_updatedAt":1000000`
	tests := []struct {
		name, bucket, rec string
		want              string // the stored JSON or an error kind
		issues            string // validation issues, "field:code;…"
	}{
		{"defaults and generated", "users", `{"id":"n1","name":"Dee","age":5}`,
			`{"id":"n1","name":"Dee","age":5,"role":"user","seq":4,"uid":"00000000-0000-4000-8000-000000000004",` + meta + `}`, ""},
		{"field order and extras", "users", `{"zz":1,"name":"Eve","id":"n2","aa":[1,{"b":null}]}`,
			`{"id":"n2","name":"Eve","role":"user","seq":4,"uid":"00000000-0000-4000-8000-000000000004","zz":1,"aa":[1,{"b":null}],` + meta + `}`, ""},
		{"client metadata ignored but _expiresAt kept", "users", `{"id":"n3","name":"F","_version":9,"_createdAt":5,"_updatedAt":6,"_expiresAt":2000000}`,
			`{"id":"n3","name":"F","role":"user","seq":4,"uid":"00000000-0000-4000-8000-000000000004",` + meta + `,"_expiresAt":2000000}`, ""},
		{"client generated values kept", "users", `{"id":"n4","name":"G","seq":100,"uid":"mine"}`,
			`{"id":"n4","name":"G","role":"user","seq":100,"uid":"mine",` + meta + `}`, ""},
		{"number key", "nums", `{"n":7,"v":"x"}`, `{"n":7,"v":"x",` + meta + `}`, ""},
		{"existing key", "users", `{"id":"u1","name":"Ann2"}`, "exists", ""},
		{"every issue", "users", `{"id":"n5","age":-1,"role":"boss","email":"nope"}`, "validation",
			"name:required;email:format;age:min;role:enum"},
		{"wrong type", "users", `{"id":"n6","name":5,"age":"old"}`, "validation", "name:type;age:type"},
		{"key missing", "users", `{"name":"H"}`, "validation", "id:required"},
		{"key null", "users", `{"id":null,"name":"H"}`, "validation", "id:required"},
		{"key wrong type", "nums", `{"n":"7"}`, "validation", "n:type"},
		{"unique taken", "users", `{"id":"n7","name":"I","email":"ann@x.io"}`, "unique", ""},
		{"no bucket", "nobody", `{"id":"x"}`, "nobucket", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			var before []string
			if tc.want != "nobucket" {
				before = e.all(tc.bucket)
			}
			rec, err := e.s.Insert(nil, tc.bucket, obj(t, tc.rec), engine.InsertOptions{})
			if strings.HasPrefix(tc.want, "{") {
				if err != nil {
					t.Fatalf("Insert: %v", err)
				}
				if got := string(rec.JSON()); got != tc.want {
					t.Fatalf("Insert =\n %s\nwant\n %s", got, tc.want)
				}
				if got, _ := e.s.Get(nil, tc.bucket, keyArg(rec.Key())); got != rec {
					t.Errorf("Get after insert = %v, want the inserted record", got)
				}
				seq := map[string]int{"users": 4, "nums": 1}[tc.bucket]
				e.wantChanges(fmt.Sprintf("inserted %s %d", jsonv.Marshal(rec.Key()), seq))
				return
			}
			if got := errKind(err); got != tc.want {
				t.Fatalf("Insert error = %s (%v), want %s", got, err, tc.want)
			}
			if rec != nil {
				t.Errorf("failed Insert returned a record")
			}
			if tc.issues != "" {
				var ve *engine.ValidationError
				errors.As(err, &ve)
				var got []string
				for _, is := range ve.Issues {
					got = append(got, is.Field+":"+is.Code)
				}
				if strings.Join(got, ";") != tc.issues {
					t.Errorf("issues = %s, want %s", strings.Join(got, ";"), tc.issues)
				}
			}
			if tc.want != "nobucket" {
				if after := e.all(tc.bucket); strings.Join(after, "\n") != strings.Join(before, "\n") {
					t.Errorf("failed insert changed the bucket:\n%s", strings.Join(after, "\n"))
				}
			}
			e.wantChanges()
			// No autoincrement gap after a failed insert.
			if tc.bucket == "users" {
				r := e.insert("users", `{"id":"after","name":"Z"}`)
				if v, _ := r.Get("seq"); v != 4.0 {
					t.Errorf("autoincrement after a failed insert = %v, want 4", v)
				}
			}
		})
	}
}

// keyArg is the command-argument form of a key.
func keyArg(k jsonv.Value) string {
	if s, ok := k.(string); ok {
		return s
	}
	return string(jsonv.Marshal(k))
}

func TestErrorMessages(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	_, err := e.s.Insert(nil, "users", obj(t, `{"id":"u1","name":"x"}`), engine.InsertOptions{})
	want := `Record with key "u1" already exists in bucket "users"`
	if err == nil || err.Error() != want {
		t.Errorf("exists: %v, want %s", err, want)
	}
	_, err = e.s.Insert(nil, "users", obj(t, `{"id":"u9","name":"x","email":"bob@x.io"}`), engine.InsertOptions{})
	want = `Unique constraint violation in bucket "users": field "email" already has value "bob@x.io"`
	if err == nil || err.Error() != want {
		t.Errorf("unique: %v, want %s", err, want)
	}
	_, err = e.s.Update(nil, "nums", "3", obj(t, `{}`), -1)
	want = `Record with key "3" not found in bucket "nums"`
	if err == nil || err.Error() != want {
		t.Errorf("notfound: %v, want %s", err, want)
	}
	_, err = e.s.Insert(nil, "users", obj(t, `{"id":"u9","age":-1}`), engine.InsertOptions{})
	want = `Validation failed for bucket "users": name: Field is required; age: Minimum value is 0`
	if err == nil || err.Error() != want {
		t.Errorf("validation: %v, want %s", err, want)
	}
	_, err = e.s.Get(nil, "zz", "1")
	want = `Bucket "zz" is not defined`
	if err == nil || err.Error() != want {
		t.Errorf("nobucket: %v, want %s", err, want)
	}
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	e.insert("nums", `{"n":3,"v":"three"}`)
	e.insert("nums", `{"n":-0.5,"v":"neg"}`)
	tests := []struct{ bucket, key, want string }{
		{"users", "u2", "u2"},
		{"users", "nope", "nil"},
		{"nums", "3", "3"},
		{"nums", "3.0", "3"},
		{"nums", "3e0", "3"},
		{"nums", "-0.5", "-0.5"},
		{"nums", "4", "nil"},
		{"nums", "abc", "arg"},
		{"nums", "03", "arg"},
		{"nums", "", "arg"},
		{"nobody", "1", "nobucket"},
	}
	for _, tc := range tests {
		r, err := e.s.Get(nil, tc.bucket, tc.key)
		got := errKind(err)
		if err == nil {
			got = "nil"
			if r != nil {
				got = keyArg(r.Key())
			}
		}
		if got != tc.want {
			t.Errorf("Get(%s, %q) = %s, want %s", tc.bucket, tc.key, got, tc.want)
		}
	}
	recs, err := e.s.MGet(nil, "nums", []string{"3", "9", "-0.5"})
	if err != nil || keysOrNil(recs) != "3,nil,-0.5" {
		t.Errorf("MGet = %s, %v", keysOrNil(recs), err)
	}
	if _, err := e.s.MGet(nil, "nums", []string{"3", "x"}); errKind(err) != "arg" {
		t.Errorf("MGet bad key: %v", err)
	}
}

func keysOrNil(recs []*engine.Record) string {
	var parts []string
	for _, r := range recs {
		if r == nil {
			parts = append(parts, "nil")
		} else {
			parts = append(parts, keyArg(r.Key()))
		}
	}
	return strings.Join(parts, ",")
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name, bucket, key, changes string
		ifVersion                  int64
		want                       string // JSON of the result, or an error kind
	}{
		{"merge", "users", "u2", `{"age":21,"nick":"b"}`, -1,
			`{"id":"u2","name":"Bob","email":"bob@x.io","age":21,"role":"user","seq":2,"uid":"00000000-0000-4000-8000-000000000002","nick":"b","_version":2,"_createdAt":1000000,"_updatedAt":1000005}`},
		{"immune fields", "users", "u2", `{"id":"u2","seq":99,"uid":"x","_version":50,"_createdAt":1,"_updatedAt":2,"_expiresAt":3,"age":21}`, -1,
			`{"id":"u2","name":"Bob","email":"bob@x.io","age":21,"role":"user","seq":2,"uid":"00000000-0000-4000-8000-000000000002","_version":2,"_createdAt":1000000,"_updatedAt":1000005}`},
		{"key changed", "users", "u2", `{"id":"zz"}`, -1, "arg"},
		{"nothing changes", "users", "u2", `{"role":"user","seq":99,"_version":7}`, -1,
			`{"id":"u2","name":"Bob","email":"bob@x.io","age":20,"role":"user","seq":2,"uid":"00000000-0000-4000-8000-000000000002","_version":1,"_createdAt":1000000,"_updatedAt":1000000}`},
		{"ifversion matches", "users", "u2", `{"role":"guest"}`, 1,
			`{"id":"u2","name":"Bob","email":"bob@x.io","age":20,"role":"guest","seq":2,"uid":"00000000-0000-4000-8000-000000000002","_version":2,"_createdAt":1000000,"_updatedAt":1000005}`},
		{"same unique value", "users", "u2", `{"email":"bob@x.io","age":20.5}`, -1,
			`{"id":"u2","name":"Bob","email":"bob@x.io","age":20.5,"role":"user","seq":2,"uid":"00000000-0000-4000-8000-000000000002","_version":2,"_createdAt":1000000,"_updatedAt":1000005}`},
		{"number key", "nums", "1", `{"v":"uno"}`, -1, `{"n":1,"v":"uno","_version":2,"_createdAt":1000000,"_updatedAt":1000005}`},
		{"ifversion differs", "users", "u2", `{"age":22}`, 2, "conflict"},
		{"missing", "users", "u9", `{"age":22}`, -1, "notfound"},
		{"invalid", "users", "u2", `{"age":151,"role":"x"}`, -1, "validation"},
		{"required cleared", "users", "u2", `{"name":null}`, -1, "validation"},
		{"unique taken", "users", "u2", `{"email":"ann@x.io"}`, -1, "unique"},
		{"bad key", "nums", "one", `{"v":"x"}`, -1, "arg"},
		{"no bucket", "nobody", "1", `{}`, -1, "nobucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			e.insert("nums", `{"n":1,"v":"one"}`)
			e.obs.take()
			e.clock.Advance(5)
			before := e.all("users")
			rec, err := e.s.Update(nil, tc.bucket, tc.key, obj(t, tc.changes), tc.ifVersion)
			if strings.HasPrefix(tc.want, "{") {
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				if got := string(rec.JSON()); got != tc.want {
					t.Fatalf("Update =\n %s\nwant\n %s", got, tc.want)
				}
				if tc.name == "nothing changes" {
					e.wantChanges() // no event either
					return
				}
				seq := map[string]int{"users": 4, "nums": 2}[tc.bucket]
				e.wantChanges(fmt.Sprintf("updated %s %d", jsonv.Marshal(rec.Key()), seq))
				return
			}
			if got := errKind(err); got != tc.want {
				t.Fatalf("Update error = %s (%v), want %s", got, err, tc.want)
			}
			if after := e.all("users"); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("failed update changed the bucket")
			}
			e.wantChanges()
		})
	}
}

func TestUpdateNullClearsField(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	rec, err := e.s.Update(nil, "users", "u1", obj(t, `{"age":null,"email":null}`), -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"age", "email"} {
		if v, _ := rec.Get(f); v != nil {
			t.Errorf("%s = %v after update with null", f, v)
		}
	}
	// The index entries are gone: the email is free, and age 30 finds nothing.
	e.insert("users", `{"id":"u4","name":"D","email":"ann@x.io"}`)
	if recs, _ := e.s.Where(nil, "users", flt(t, `{"age":30}`)); len(recs) != 0 {
		t.Errorf("Where age=30 after clearing it = %s", keys(recs))
	}
	if n, _ := e.s.Count(nil, "users", flt(t, `{"age":{"$exists":false}}`)); n != 2 {
		t.Errorf("Count age absent = %d, want 2", n)
	}
}

func TestUpsert(t *testing.T) {
	tests := []struct {
		name, rec, want string // want: "inserted v1", "updated v2" or an error kind
	}{
		{"insert", `{"id":"u9","name":"Nia"}`, "inserted 1"},
		{"update merges", `{"id":"u1","age":31}`, "updated 2"},
		{"update invalid", `{"id":"u1","age":-3}`, "validation"},
		{"insert invalid", `{"id":"u9"}`, "validation"},
		{"no key", `{"name":"x"}`, "validation"},
		{"update unique", `{"id":"u1","email":"bob@x.io"}`, "unique"},
		{"insert unique", `{"id":"u9","name":"x","email":"bob@x.io"}`, "unique"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			rec, err := e.s.Upsert(nil, "users", obj(t, tc.rec))
			if kind := errKind(err); kind != "ok" {
				if kind != tc.want {
					t.Fatalf("Upsert error = %s (%v), want %s", kind, err, tc.want)
				}
				e.wantChanges()
				return
			}
			op := "inserted"
			if rec.Version > 1 {
				op = "updated"
			}
			if got := fmt.Sprintf("%s %d", op, rec.Version); got != tc.want {
				t.Fatalf("Upsert = %s, want %s", got, tc.want)
			}
			if op == "updated" {
				if v, _ := rec.Get("name"); v != "Ann" {
					t.Errorf("upsert update lost field name: %s", rec.JSON())
				}
			}
			e.wantChanges(fmt.Sprintf("%s %s 4", op, jsonv.Marshal(rec.Key())))
		})
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name, bucket, key string
		ifVersion         int64
		want              string // "true", "false" or an error kind
	}{
		{"found", "users", "u1", -1, "true"},
		{"ifversion matches", "users", "u1", 1, "true"},
		{"missing", "users", "u9", -1, "false"},
		{"missing with ifversion", "users", "u9", 3, "false"},
		{"ifversion differs", "users", "u1", 2, "conflict"},
		{"bad key", "nums", "x", -1, "arg"},
		{"no bucket", "nobody", "x", -1, "nobucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			ok, err := e.s.Delete(nil, tc.bucket, tc.key, tc.ifVersion)
			got := errKind(err)
			if err == nil {
				got = fmt.Sprint(ok)
			}
			if got != tc.want {
				t.Fatalf("Delete = %s (%v), want %s", got, err, tc.want)
			}
			if got == "true" {
				e.wantChanges(`deleted "u1" 4 deleted`)
				if r, _ := e.s.Get(nil, "users", "u1"); r != nil {
					t.Errorf("deleted record still there")
				}
				// Its unique value and index entries are gone.
				e.insert("users", `{"id":"u5","name":"A2","email":"ann@x.io"}`)
				if recs, _ := e.s.Where(nil, "users", flt(t, `{"role":"admin"}`)); len(recs) != 0 {
					t.Errorf("index still finds the deleted record")
				}
				return
			}
			e.wantChanges()
			if n := e.count("users"); n != 3 {
				t.Errorf("count = %d after a delete that removed nothing", n)
			}
		})
	}
}
