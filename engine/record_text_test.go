package engine_test

import (
	"strconv"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/jsonv"
)

// TestRecordWithoutText: a record whose strings mostly need escaping keeps
// no text (it would hold them twice) and writes it from its values; either
// way its JSON and length are the canonical ones, through updates that
// switch between the two, written plainly or drafted.
func TestRecordWithoutText(t *testing.T) {
	long := strings.Repeat("ab", 100)
	steps := []struct {
		rec      string // the fields, as sent
		keepText bool
	}{
		{`{"id":"a","name":"x","text":"` + long + `\n"}`, false},
		{`{"id":"a","name":"y","text":"` + long + `"}`, true},
		{`{"id":"a","name":"z\"q","text":"\u00e9` + long + `\"\t"}`, false},
		{`{"id":"a","name":"w\n","text":"` + long + `"}`, true}, // one short escaped string: kept
		{`{"id":"a","name":"q","text":"` + long + `\\"}`, false},
	}
	for _, drafted := range []bool{false, true} {
		t.Run("drafted="+strconv.FormatBool(drafted), func(t *testing.T) {
			e := newEnv(t)
			e.define("b", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"text":{"type":"string"}}}`)
			for i, st := range steps {
				var rec *engine.Record
				var err error
				if drafted {
					var d engine.Draft
					if err := e.s.Draft(&d, []byte("b"), []byte(st.rec), false); err != nil {
						t.Fatal(err)
					}
					rec, err = e.s.UpsertDraft(nil, "b", &d)
				} else {
					rec, err = e.s.Upsert(nil, "b", obj(t, st.rec))
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				fields := string(jsonv.Marshal(obj(t, st.rec)))
				want := fields[:len(fields)-1] + `,"_version":` + strconv.Itoa(i+1) +
					`,"_createdAt":` + strconv.Itoa(startMs) + `,"_updatedAt":` + strconv.Itoa(startMs) + `}`
				got, err := e.s.Get(nil, "b", "a")
				if err != nil || got != rec {
					t.Fatalf("step %d: Get = %v, %v", i, got, err)
				}
				if js := string(rec.JSON()); js != want {
					t.Errorf("step %d: JSON\n %s\nwant\n %s", i, js, want)
				}
				if rec.JSONLen() != len(want) {
					t.Errorf("step %d: JSONLen %d, want %d", i, rec.JSONLen(), len(want))
				}
				if k := engine.KeepsText(rec); k != st.keepText {
					t.Errorf("step %d: keeps its text = %v, want %v", i, k, st.keepText)
				}
			}
		})
	}
}
