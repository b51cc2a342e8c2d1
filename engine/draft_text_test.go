package engine_test

import (
	"testing"
	"unsafe"

	"bucketd/engine"
	"bucketd/jsonv"
)

// inside reports whether s points into text.
func inside(s string, text []byte) bool {
	if s == "" || len(text) == 0 {
		return false
	}
	p, base := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&text[0]))
	return p >= base && p < base+uintptr(len(text))
}

// TestDraftAdoptsText: a draft of a record sent as its canonical text takes
// (a copy of) that text as the record's own, and one sent otherwise does
// not; either way the write gives the same record. A write that does not
// take a draft whose record took the text leaves no string pointing into
// it, so that the draft's text is not kept alive by the record written.
func TestDraftAdoptsText(t *testing.T) {
	const def = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"age":{"type":"number"}}}`
	const seed = `{"id":"1","name":"Ann","age":3,"o":{"k":"v","a":["x"]}}`
	tests := []struct {
		name   string
		rec    string
		shared bool
		taken  bool
	}{
		{"canonical", `{"id":"1","name":"Bo","age":4,"o":{"k":"w","a":["y"]}}`, true, true},
		{"spaces", `{"id":"1", "name":"Bo","age":4,"o":{"k":"w","a":["y"]}}`, false, true},
		{"trailing newline", "{\"id\":\"1\",\"name\":\"Bo\",\"age\":4,\"o\":{\"k\":\"w\",\"a\":[\"y\"]}}\n", false, true},
		{"number written otherwise", `{"id":"1","name":"Bo","age":4.0,"o":{"k":"w","a":["y"]}}`, false, true},
		{"other order", `{"name":"Bo","id":"1","age":4,"o":{"k":"w","a":["y"]}}`, false, false},
		{"fewer fields: merged", `{"id":"1","name":"Bo","o":{"k":"w","a":["y"]}}`, true, false},
		{"new key: inserted", `{"id":"2","name":"Bo","age":4,"o":{"k":"w","a":["y"]}}`, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.define("b", def)
			e.insert("b", seed)
			var d engine.Draft
			if err := e.s.Draft(&d, []byte("b"), []byte(tc.rec), false); err != nil {
				t.Fatal(err)
			}
			if got := engine.DraftShared(&d); got != tc.shared {
				t.Errorf("record took the text = %v, want %v", got, tc.shared)
			}
			text := engine.DraftText(&d)
			rec, err := e.s.UpsertDraft(nil, "b", &d)
			if err != nil {
				t.Fatal(err)
			}
			if got := engine.DraftTaken(&d, rec); got != tc.taken {
				t.Errorf("draft taken = %v, want %v", got, tc.taken)
			}
			want, err := e.s.Upsert(nil, "b", obj(t, tc.rec)) // the same again, plainly
			if err != nil {
				t.Fatal(err)
			}
			if g, w := string(jsonv.Marshal(rec.Fields())), string(jsonv.Marshal(want.Fields())); g != w {
				t.Errorf("record %s, plain %s", g, w)
			}
			if !tc.taken {
				for _, s := range engine.Strings(rec) {
					if inside(s, text) {
						t.Errorf("string %q of the record written points into the draft's text", s)
					}
				}
			}
		})
	}
}
