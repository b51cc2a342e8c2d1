package engine_test

import (
	"strings"
	"testing"

	"bucketd/jsonv"
)

// Update operators, one table: the fields of u2 after each update, or the
// error kind (and text); a failed update changes nothing.
func TestUpdateOperators(t *testing.T) {
	const base = `{"id":"u2","name":"Bob","email":"bob@x.io","age":20,"role":"user","seq":2,"uid":"00000000-0000-4000-8000-000000000002"`
	tests := []struct {
		name, changes, want, errText string
	}{
		{"$inc", `{"$inc":{"age":-1.5}}`, strings.Replace(base, `"age":20`, `"age":18.5`, 1) + `}`, ""},
		{"$inc of a missing field", `{"$inc":{"visits":2}}`, base + `,"visits":2}`, ""},
		{"$set of a path creates objects", `{"$set":{"address.city":"Berlin","address.zip":"10115"}}`, base + `,"address":{"city":"Berlin","zip":"10115"}}`, ""},
		{"$unset of a required field", `{"$set":{"nick":"b"},"$unset":["name"]}`, "validation", ""},
		{"$unset of an optional field", `{"$unset":["email"]}`, strings.Replace(base, `"email":"bob@x.io",`, "", 1) + `}`, ""},
		{"$unset object form and missing path", `{"$unset":{"nothere":"","address.zip":""}}`, base + `}`, ""},
		{"$push and $each", `{"$push":{"tags":{"$each":["a","b"]}}}`, base + `,"tags":["a","b"]}`, ""},
		{"$push one", `{"$push":{"tags":"x"}}`, base + `,"tags":["x"]}`, ""},
		{"mixed", `{"$set":{"name":"Rob"},"age":3}`, "arg", "mix of operators"},
		{"unknown operator", `{"$rename":{"a":"b"}}`, "arg", `unknown operator "$rename"`},
		{"the key", `{"$set":{"id":"u9"}}`, "arg", `the key field "id" cannot be changed`},
		{"metadata", `{"$inc":{"_version":1}}`, "arg", "metadata"},
		{"generated", `{"$set":{"seq":5}}`, "arg", "generated"},
		{"$inc of a string", `{"$inc":{"name":1}}`, "arg", `the field holds "Bob", not a number`},
		{"$inc by a string", `{"$inc":{"age":"1"}}`, "arg", "needs a number"},
		{"$push to a string", `{"$push":{"name":"x"}}`, "arg", "not an array"},
		{"path through a scalar", `{"$set":{"name.first":"x"}}`, "arg", `"name" is not an object`},
		{"one path, two operators", `{"$set":{"age":1},"$inc":{"age":1}}`, "arg", "changed by both"},
		{"bad path", `{"$set":{"a..b":1}}`, "arg", "bad field path"},
		{"not an object", `{"$set":5}`, "arg", "takes an object"},
		{"validation", `{"$set":{"age":500}}`, "validation", ""},
		{"unique", `{"$set":{"email":"ann@x.io"}}`, "unique", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			before := e.all("users")
			rec, err := e.s.Update(nil, "users", "u2", obj(t, tc.changes), -1)
			if tc.want[0] != '{' {
				if got := errKind(err); got != tc.want {
					t.Fatalf("error %s (%v), want %s", got, err, tc.want)
				}
				if tc.errText != "" && !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q, want it to say %q", err, tc.errText)
				}
				if after := e.all("users"); strings.Join(after, "\n") != strings.Join(before, "\n") {
					t.Error("a failed update changed the bucket")
				}
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got := string(jsonv.Marshal(rec.Fields())); got != tc.want {
				t.Errorf("fields\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// $pull removes every element equal to the value; pulling from a missing
// field changes nothing (and so publishes nothing).
func TestUpdatePull(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	if _, err := e.s.Update(nil, "users", "u2", obj(t, `{"tags":["a",{"x":1},"a","b"]}`), -1); err != nil {
		t.Fatal(err)
	}
	e.obs.take()
	rec, err := e.s.Update(nil, "users", "u2", obj(t, `{"$pull":{"tags":"a"}}`), -1)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := rec.Get("tags"); string(jsonv.Marshal(v)) != `[{"x":1},"b"]` {
		t.Errorf("tags after $pull: %s", jsonv.Marshal(v))
	}
	rec2, err := e.s.Update(nil, "users", "u2", obj(t, `{"$pull":{"nothere":1,"tags":{"x":2}}}`), -1)
	if err != nil {
		t.Fatal(err)
	}
	if rec2 != rec {
		t.Error("a $pull that removes nothing made a new record")
	}
	e.wantChanges(`updated "u2" 5`)
}
