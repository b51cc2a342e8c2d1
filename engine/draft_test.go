package engine_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

const draftUsers = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true,"minLength":1},` +
	`"role":{"type":"string","enum":["admin","user"]},"age":{"type":"number","min":0},"mail":{"type":"string","unique":true}},"indexes":["role","age"]}`

// TestDraftSameResult: a write given a draft made ahead (Store.Draft) ends
// exactly as the same write given only the object: the same reply or
// error, the same records, the same events and sound indexes. Where the
// draft fits, the record is built from it (taken); where it does not (the
// definition changed, the update merges, a field is filled in), the write
// does the work itself. The draft is made before the in-between step, as
// Prepare makes it before the commands ahead of it run.
func TestDraftSameResult(t *testing.T) {
	tests := []struct {
		name    string
		def     string
		seed    []string
		op      string // insert or upsert
		rec     string
		between func(s *engine.Store) // after the draft, before the write
		taken   bool
	}{
		{name: "upsert updates", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","role":"user","age":30}`},
			op: "upsert", rec: `{"id":"1","name":"Bo","role":"admin","age":31}`, taken: true},
		{name: "upsert inserts", def: draftUsers, op: "upsert", rec: `{"id":"2","name":"Cy","role":"user","age":5}`, taken: true},
		{name: "insert", def: draftUsers, op: "insert", rec: `{"id":"3","name":"Di","age":7}`, taken: true},
		{name: "insert out of order", def: draftUsers, op: "insert", rec: `{"age":7,"name":"Di","id":"3","extra":[1,"x"]}`, taken: true},
		{name: "insert nested strings", def: draftUsers, op: "insert", rec: `{"id":"3","name":"Di","o":{"k":"v","a":["x",{"y":"z"}]}}`, taken: true},
		{name: "insert with metadata", def: draftUsers, op: "insert", rec: `{"id":"3","name":"Di","_version":9,"_expiresAt":99999999}`, taken: true},
		{name: "insert escaped strings", def: draftUsers, op: "insert", rec: `{"id":"q\"1","name":"tab\there \u00e9"}`, taken: true},
		{name: "insert existing key", def: draftUsers, seed: []string{`{"id":"1","name":"Ann"}`}, op: "insert", rec: `{"id":"1","name":"Bo"}`},
		{name: "insert invalid", def: draftUsers, op: "insert", rec: `{"id":"1","name":"","age":-1,"role":"root"}`},
		{name: "upsert update invalid", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","role":"user","age":30}`},
			op: "upsert", rec: `{"id":"1","name":"Bo","role":"root","age":-2}`},
		{name: "upsert update unique clash", def: draftUsers,
			seed: []string{`{"id":"1","name":"Ann","mail":"a@x"}`, `{"id":"2","name":"Bo","mail":"b@x"}`},
			op:   "upsert", rec: `{"id":"2","name":"Bo","mail":"a@x"}`},
		{name: "upsert insert unique clash", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","mail":"a@x"}`},
			op: "upsert", rec: `{"id":"2","name":"Bo","mail":"a@x"}`},
		{name: "upsert update unique kept", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","mail":"a@x"}`},
			op: "upsert", rec: `{"id":"1","name":"Bo","mail":"a@x"}`, taken: true},
		{name: "upsert merges fewer fields", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","role":"user","age":30}`},
			op: "upsert", rec: `{"id":"1","name":"Bo"}`},
		{name: "upsert merges other order", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","age":30}`},
			op: "upsert", rec: `{"id":"1","age":31,"name":"Bo"}`},
		{name: "upsert with metadata", def: draftUsers, seed: []string{`{"id":"1","name":"Ann"}`},
			op: "upsert", rec: `{"id":"1","name":"Bo","_version":7}`},
		{name: "number key", def: `{"key":"n","schema":{"n":{"type":"number"},"v":{"type":"string"}}}`, seed: []string{`{"n":5,"v":"a"}`},
			op: "upsert", rec: `{"n":5,"v":"b"}`, taken: true},
		{name: "number key -0 for 0", def: `{"key":"n","schema":{"n":{"type":"number"},"v":{"type":"string"}}}`, seed: []string{`{"n":0,"v":"a"}`},
			op: "upsert", rec: `{"n":-0,"v":"b"}`},
		{name: "default: insert fills", def: `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"string","default":"d"}}}`,
			op: "insert", rec: `{"id":"1"}`},
		{name: "default: update taken", def: `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"string","default":"d"}}}`,
			seed: []string{`{"id":"1"}`}, op: "upsert", rec: `{"id":"1","v":"w"}`, taken: true},
		{name: "generated key", def: `{"key":"id","schema":{"id":{"type":"string","generated":"uuid"},"v":{"type":"number"}}}`,
			op: "insert", rec: `{"v":1,"s":"text","o":{"k":"v"}}`},
		{name: "generated field on update", def: `{"key":"id","schema":{"id":{"type":"string"},"at":{"type":"number","generated":"timestamp"}}}`,
			seed: []string{`{"id":"1"}`}, op: "upsert", rec: `{"id":"1","at":5}`},
		{name: "ttl bucket", def: `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"1m"}`, op: "insert", rec: `{"id":"1"}`, taken: true},
		{name: "altered between: now invalid", def: draftUsers, seed: []string{`{"id":"1","name":"Ann","role":"user","age":30}`},
			op: "upsert", rec: `{"id":"1","name":"Bo","role":"user","age":31}`,
			between: func(s *engine.Store) {
				alter(s, `{"addFields":{"lvl":{"type":"number","required":true}}}`)
			}},
		{name: "altered between: insert", def: draftUsers, op: "insert", rec: `{"id":"1","name":"Bo"}`,
			between: func(s *engine.Store) { alter(s, `{"addIndexes":["name"]}`) }},
		{name: "dropped between", def: draftUsers, op: "upsert", rec: `{"id":"1","name":"Bo"}`,
			between: func(s *engine.Store) { s.Drop("b") }},
		{name: "redefined between", def: draftUsers, op: "upsert", rec: `{"id":"1","name":"Bo"}`,
			between: func(s *engine.Store) {
				s.Drop("b")
				if err := s.Define("b", []byte(draftUsers)); err != nil {
					panic(err)
				}
			}},
		{name: "no bucket", op: "insert", rec: `{"id":"1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(drafted bool) (string, *engine.Draft, *env) {
				e := newEnv(t)
				if tc.def != "" {
					e.define("b", tc.def)
					for _, r := range tc.seed {
						e.insert("b", r)
					}
				}
				e.obs.take()
				o := obj(t, tc.rec)
				var d engine.Draft
				if drafted {
					// The draft must not refer to the text it was made
					// of, which the connection reuses.
					data := []byte(tc.rec)
					if err := e.s.Draft(&d, []byte("b"), data, tc.op == "insert"); err != nil {
						t.Fatalf("Draft: %v", err)
					}
					for i := range data {
						data[i] = '#'
					}
				}
				if tc.between != nil {
					tc.between(e.s)
				}
				e.clock.Advance(10)
				var rec *engine.Record
				var err error
				switch {
				case tc.op == "insert" && drafted:
					rec, err = e.s.InsertDraft(nil, "b", &d, engine.InsertOptions{})
				case tc.op == "insert":
					rec, err = e.s.Insert(nil, "b", o, engine.InsertOptions{})
				case drafted:
					rec, err = e.s.UpsertDraft(nil, "b", &d)
				default:
					rec, err = e.s.Upsert(nil, "b", o)
				}
				out := errKind(err)
				if err != nil {
					out += ": " + err.Error()
				} else {
					// The values too: a value left pointing into the
					// text drafted from would show here, not in the JSON.
					out += " " + string(rec.JSON()) + " " + string(jsonv.Marshal(rec.Fields()))
				}
				if drafted && engine.DraftTaken(&d, rec) != tc.taken {
					t.Errorf("draft taken = %v, want %v", !tc.taken, tc.taken)
				}
				return out, &d, e
			}
			want, _, plain := run(false)
			got, _, drafted := run(true)
			if got != want {
				t.Errorf("with a draft: %s\nwithout:      %s", got, want)
			}
			if a, b := allOf(drafted), allOf(plain); !slices.Equal(a, b) {
				t.Errorf("records with a draft: %v\nwithout: %v", a, b)
			}
			if a, b := changeTexts(drafted.obs.take()), changeTexts(plain.obs.take()); !slices.Equal(a, b) {
				t.Errorf("events with a draft: %v\nwithout: %v", a, b)
			}
		})
	}
}

// alter alters bucket b or panics.
func alter(s *engine.Store, changes string) {
	if err := s.Alter("b", []byte(changes)); err != nil {
		panic(fmt.Sprintf("Alter(%s): %v", changes, err))
	}
}

// allOf returns bucket b's records as JSON texts, or the error of All.
func allOf(e *env) []string {
	recs, err := e.s.All(nil, "b")
	if err != nil {
		return []string{errKind(err)}
	}
	return texts(recs)
}

// TestDraftConcurrentAlter: drafts made while another goroutine alters the
// bucket are taken only under the definition they were made against; the
// store stays sound (run with -race).
func TestDraftConcurrentAlter(t *testing.T) {
	e := newEnv(t)
	e.define("b", draftUsers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var d engine.Draft
				if err := e.s.Draft(&d, []byte("b"), fmt.Appendf(nil, `{"id":"%d","name":"w%d","role":"user","age":%d}`, i%20, w, i), false); err != nil {
					t.Errorf("Draft: %v", err)
					return
				}
				if _, err := e.s.UpsertDraft(nil, "b", &d); err != nil {
					t.Errorf("UpsertDraft: %v", err)
					return
				}
			}
		}()
	}
	go func() { // each Alter makes a new definition
		defer close(done)
		for i := range 50 {
			if err := e.s.Alter("b", []byte(fmt.Sprintf(`{"ttl":"%dm"}`, 10+i%2))); err != nil {
				t.Errorf("Alter: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	<-done
	if n := e.count("b"); n != 20 {
		t.Errorf("%d records, want 20", n)
	}
}
