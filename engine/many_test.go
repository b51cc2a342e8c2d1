package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"bucketd/jsonv"
)

func TestInsertMany(t *testing.T) {
	tests := []struct {
		name string
		recs []string
		want string // keys inserted or an error kind
	}{
		{"all", []string{`{"id":"a","name":"A"}`, `{"id":"b","name":"B","email":"b@x.io"}`}, `"a","b"`},
		{"empty", nil, ``},
		{"bad element", []string{`{"id":"a","name":"A"}`, `{"id":"b"}`, `{"id":"c","name":"C"}`}, "validation"},
		{"duplicate in batch", []string{`{"id":"a","name":"A"}`, `{"id":"a","name":"B"}`}, "exists"},
		{"existing key", []string{`{"id":"a","name":"A"}`, `{"id":"u1","name":"B"}`}, "exists"},
		{"unique in batch", []string{`{"id":"a","name":"A","email":"z@x.io"}`, `{"id":"b","name":"B","email":"z@x.io"}`}, "unique"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			before := e.all("users")
			objs := make([]*jsonv.Object, len(tc.recs))
			for i, r := range tc.recs {
				objs[i] = obj(t, r)
			}
			recs, err := e.s.InsertMany(nil, "users", objs)
			if kind := errKind(err); kind != "ok" {
				if kind != tc.want {
					t.Fatalf("InsertMany error = %s (%v), want %s", kind, err, tc.want)
				}
				if after := e.all("users"); strings.Join(after, "\n") != strings.Join(before, "\n") {
					t.Errorf("failed InsertMany changed the bucket:\n%s", strings.Join(after, "\n"))
				}
				e.wantChanges()
				r := e.insert("users", `{"id":"after","name":"Z"}`)
				if v, _ := r.Get("seq"); v != 4.0 {
					t.Errorf("autoincrement after a failed InsertMany = %v, want 4", v)
				}
				return
			}
			if got := keys(recs); got != tc.want {
				t.Fatalf("InsertMany = %s, want %s", got, tc.want)
			}
			var want []string
			for i, r := range recs {
				want = append(want, fmt.Sprintf("inserted %s %d", jsonv.Marshal(r.Key()), i+4))
				if v, _ := r.Get("seq"); v != float64(4+i) {
					t.Errorf("seq of record %d = %v", i, v)
				}
			}
			e.wantChanges(want...)
		})
	}
}

func TestUpdateMany(t *testing.T) {
	tests := []struct {
		name, filter, changes string
		want                  string // count or error kind
		after                 string // keys of {"age":77} afterwards
	}{
		{"by index", `{"role":"user"}`, `{"age":77}`, "1", `"u2"`},
		{"by range", `{"age":{"$gte":30}}`, `{"age":77}`, "2", `"u1","u3"`},
		{"by scan", `{"name":{"$contains":"B"}}`, `{"age":77}`, "1", `"u2"`},
		{"all", `{}`, `{"age":77}`, "3", `"u1","u2","u3"`},
		{"none", `{"role":"nobody"}`, `{"age":77}`, "0", ``},
		{"invalid", `{}`, `{"age":777}`, "validation", ``},
		{"unique collision", `{}`, `{"email":"same@x.io"}`, "unique", ``},
		{"two fields", `{}`, `{"age":77,"name":"N"}`, "3", `"u1","u2","u3"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			before := e.all("users")
			n, err := e.s.UpdateMany(nil, "users", flt(t, tc.filter), obj(t, tc.changes))
			got := errKind(err)
			if err == nil {
				got = fmt.Sprint(n)
			}
			if got != tc.want {
				t.Fatalf("UpdateMany = %s (%v), want %s", got, err, tc.want)
			}
			if err != nil {
				if after := e.all("users"); strings.Join(after, "\n") != strings.Join(before, "\n") {
					t.Errorf("failed UpdateMany changed the bucket")
				}
				e.wantChanges()
				return
			}
			recs, _ := e.s.Where(nil, "users", flt(t, `{"age":77}`))
			if keys(recs) != tc.after {
				t.Errorf("records with age 77 = %s, want %s", keys(recs), tc.after)
			}
			var want []string
			for i, r := range recs {
				want = append(want, fmt.Sprintf("updated %s %d", jsonv.Marshal(r.Key()), i+4))
			}
			e.wantChanges(want...)
		})
	}
	// A failure in the middle rolls back the records already updated.
	e := newEnv(t)
	seedUsers(e)
	e.insert("users", `{"id":"u4","name":"Dan","age":150}`)
	e.obs.take()
	before := e.all("users")
	if _, err := e.s.UpdateMany(nil, "users", flt(t, `{}`), obj(t, `{"age":{"$bad":1}}`)); errKind(err) != "validation" {
		t.Fatalf("UpdateMany with an object age: %v", err)
	}
	if _, err := e.s.UpdateMany(nil, "users", flt(t, `{"id":{"$in":["u1","u4","u2"]}}`), obj(t, `{"email":"u4@x.io"}`)); errKind(err) != "unique" {
		t.Fatalf("UpdateMany giving one email to three: %v", err)
	}
	if after := e.all("users"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("failed UpdateMany left a partial write:\n%s", strings.Join(after, "\n"))
	}
	e.wantChanges()

	// A validation failure on the second record (older than a new required
	// field) rolls back the first.
	e.define("ord", `{"key":"k","schema":{"k":{"type":"string"},"v":{"type":"string"}},"ordered":true}`)
	e.insert("ord", `{"k":"b"}`)
	if err := e.s.Alter("ord", []byte(`{"addFields":{"lvl":{"type":"number","required":true}}}`)); err != nil {
		t.Fatal(err)
	}
	e.insert("ord", `{"k":"a","lvl":1}`)
	e.obs.take()
	before = e.all("ord")
	if _, err := e.s.UpdateMany(nil, "ord", nil, obj(t, `{"v":"x"}`)); errKind(err) != "validation" {
		t.Fatalf("UpdateMany over a record missing a required field: %v", err)
	}
	if after := e.all("ord"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("failed UpdateMany left a partial write:\n%s", strings.Join(after, "\n"))
	}
	e.wantChanges()
}

func TestDeleteManyAndClear(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	n, err := e.s.DeleteMany(nil, "users", flt(t, `{"age":{"$lt":35}}`))
	if err != nil || n != 2 {
		t.Fatalf("DeleteMany = %d, %v", n, err)
	}
	e.wantChanges(`deleted "u1" 4 deleted`, `deleted "u2" 5 deleted`)
	if n, _ := e.s.DeleteMany(nil, "users", flt(t, `{"age":{"$lt":35}}`)); n != 0 {
		t.Errorf("second DeleteMany = %d", n)
	}
	e.wantChanges()
	if _, err := e.s.DeleteMany(nil, "nobody", nil); errKind(err) != "nobucket" {
		t.Errorf("DeleteMany on no bucket: %v", err)
	}

	e.insert("users", `{"id":"u1","name":"Ann","email":"ann@x.io","role":"admin"}`)
	e.obs.take()
	n, err = e.s.Clear(nil, "users")
	if err != nil || n != 2 {
		t.Fatalf("Clear = %d, %v", n, err)
	}
	e.wantChanges("cleared 2 7")
	if e.count("users") != 0 || len(e.all("users")) != 0 {
		t.Errorf("records left after Clear")
	}
	if recs, _ := e.s.Where(nil, "users", flt(t, `{"role":"admin"}`)); len(recs) != 0 {
		t.Errorf("index still finds cleared records")
	}
	// Unique values are free again; the counter goes on.
	r := e.insert("users", `{"id":"u1","name":"Ann","email":"ann@x.io"}`)
	if v, _ := r.Get("seq"); v != 5.0 {
		t.Errorf("seq after clear = %v, want 5", v)
	}
	if n, _ := e.s.Clear(nil, "nums"); n != 0 {
		t.Errorf("Clear of an empty bucket = %d", n)
	}
	if _, err := e.s.Clear(nil, "nobody"); errKind(err) != "nobucket" {
		t.Errorf("Clear on no bucket: %v", err)
	}
}
