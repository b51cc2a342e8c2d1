package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

// TestRecordText checks the stored form of records: the JSON text is the
// fields then the metadata, JSONLen agrees with it, and the values read back
// are the values written, whatever the strings hold (escapes, non-ASCII,
// empty) and whether or not they share the record's text.
func TestRecordText(t *testing.T) {
	const meta = `"_version":1,"_createdAt":1000000,"_updatedAt":1000000`
	tests := []struct {
		name, rec, want string
	}{
		{"plain strings", `{"id":"a","s":"hello","n":1.5}`, `{"id":"a","s":"hello","n":1.5,` + meta + `}`},
		{"escapes", `{"id":"b","s":"q\"uote\\back\nline\u0001"}`, `{"id":"b","s":"q\"uote\\back\nline\u0001",` + meta + `}`},
		{"empty string", `{"id":"c","s":""}`, `{"id":"c","s":"",` + meta + `}`},
		{"non-ASCII", `{"id":"d","s":"żółw 🐢"}`, `{"id":"d","s":"żółw 🐢",` + meta + `}`},
		{"escaped non-ASCII in", `{"id":"e","s":"\u017c"}`, `{"id":"e","s":"ż",` + meta + `}`},
		{"nested", `{"id":"f","o":{"k":"v","a":["x",1,null]},"b":true}`, `{"id":"f","o":{"k":"v","a":["x",1,null]},"b":true,` + meta + `}`},
		{"key only", `{"id":"g"}`, `{"id":"g",` + meta + `}`},
		{"expiry", `{"id":"h","s":"x","_expiresAt":99999999}`, `{"id":"h","s":"x",` + meta + `,"_expiresAt":99999999}`},
	}
	e := newEnv(t)
	e.define("r", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Set(startMs)
			rec := e.insert("r", tc.rec)
			checkRecord(t, rec, tc.want)
			in := obj(t, tc.rec)
			for i, k := range in.Keys {
				if k == "_expiresAt" {
					continue
				}
				got, ok := rec.Get(k)
				if !ok || !jsonv.Equal(got, in.Vals[i]) {
					t.Errorf("Get(%s) = %v, %v; want %v", k, got, ok, in.Vals[i])
				}
			}
			// An update rebuilds the text and the shared strings.
			e.clock.Advance(7)
			up, err := e.s.Update(nil, "r", rec.Key().(string), obj(t, `{"z":"new"}`), -1)
			if err != nil {
				t.Fatal(err)
			}
			if up.UpdatedAt != up.CreatedAt+7 || !strings.Contains(string(up.JSON()), fmt.Sprintf(`"_createdAt":%d,"_updatedAt":%d`, up.CreatedAt, up.UpdatedAt)) || up.JSONLen() != len(up.JSON()) {
				t.Errorf("updated text %s", up.JSON())
			}
			if v, _ := up.Get("z"); v != "new" {
				t.Errorf("updated z = %v", v)
			}
			for i, k := range rec.Fields().Keys {
				if v, _ := up.Get(k); !jsonv.Equal(v, rec.Fields().Vals[i]) {
					t.Errorf("after update %s = %v, want %v", k, v, rec.Fields().Vals[i])
				}
			}
			if got, err := jsonv.Parse(up.JSON()); err != nil || got.(*jsonv.Object).Len() != len(up.Fields().Keys)+3+boolInt(up.ExpiresAt != 0) {
				t.Errorf("updated text %s: %v", up.JSON(), err)
			}
		})
	}
}

func checkRecord(t *testing.T, rec *engine.Record, want string) {
	t.Helper()
	if got := string(rec.JSON()); got != want {
		t.Errorf("JSON = %s\nwant   %s", got, want)
	}
	if rec.JSONLen() != len(want) {
		t.Errorf("JSONLen = %d, want %d", rec.JSONLen(), len(want))
	}
	if got := string(rec.AppendJSON([]byte("x"))); got != "x"+want {
		t.Errorf("AppendJSON = %s", got)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestUpsertWholeRecord sends a stored record back whole, in its stored
// order (the fast path of update): the changed field is taken, the key and
// the generated fields stay, and the indexes follow.
func TestUpsertWholeRecord(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	before, err := e.s.Get(nil, "users", "u1")
	if err != nil {
		t.Fatal(err)
	}
	seq, _ := before.Get("seq")
	uid, _ := before.Get("uid")
	for _, rec := range []string{
		`{"id":"u1","name":"Ann","email":"ann@x.io","age":31,"role":"guest","seq":99,"uid":"forged"}`,
		`{"id":"u1","name":"Ann","email":"ann@x.io","age":32,"role":"user","seq":98,"uid":"forged2"}`,
	} {
		got, err := e.s.Upsert(nil, "users", obj(t, rec))
		if err != nil {
			t.Fatalf("Upsert(%s): %v", rec, err)
		}
		want := obj(t, rec)
		want.Set("seq", seq)
		want.Set("uid", uid)
		if !jsonv.Equal(got.Fields(), want) {
			t.Errorf("Upsert(%s) stored %s", rec, got.JSON())
		}
		e.check()
	}
	n, err := e.s.Count(nil, "users", flt(t, `{"role":"user"}`))
	if err != nil || n != 2 {
		t.Errorf("count role=user = %d, %v; want 2 (u1 and u2)", n, err)
	}
}
