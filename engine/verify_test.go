package engine_test

import (
	"errors"
	"testing"

	"bucketd/engine"
)

// withVerify runs the rest of the test in verify mode.
func withVerify(t *testing.T) {
	t.Helper()
	was := engine.SetVerify(true)
	t.Cleanup(func() { engine.SetVerify(was) })
}

// TestVerifyDrafts: in verify mode a sound draft is taken as usual, and a
// draft whose record or validation differs from the plain build fails the
// write with an internal error, stores nothing and is counted.
func TestVerifyDrafts(t *testing.T) {
	withVerify(t)
	const def = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},"text":{"type":"string"}}}`
	tests := []struct {
		name    string
		seed    string // a record stored first: the write updates it
		rec     string
		corrupt string // how the draft is broken (CorruptDraft), or ""
	}{
		{name: "insert", rec: `{"id":"a","name":"Ann","text":"t"}`},
		{name: "insert escaped", rec: `{"id":"a","name":"Ann","text":"t\n\"x\""}`},
		{name: "update", seed: `{"id":"a","name":"Ann","text":"t"}`, rec: `{"id":"a","name":"Bo","text":"u"}`},
		{name: "insert value", rec: `{"id":"a","name":"Ann","text":"t"}`, corrupt: "value"},
		{name: "insert text", rec: `{"id":"a","name":"Ann","text":"t"}`, corrupt: "text"},
		{name: "insert issues", rec: `{"id":"a","name":"Ann","text":"t"}`, corrupt: "issues"},
		{name: "insert escaped value", rec: `{"id":"a","name":"Ann","text":"t\n\"x\""}`, corrupt: "value"},
		{name: "update value", seed: `{"id":"a","name":"Ann","text":"t"}`, rec: `{"id":"a","name":"Bo","text":"u"}`, corrupt: "value"},
		{name: "update text", seed: `{"id":"a","name":"Ann","text":"t"}`, rec: `{"id":"a","name":"Bo","text":"u"}`, corrupt: "text"},
		{name: "update issues", seed: `{"id":"a","name":"Ann","text":"t"}`, rec: `{"id":"a","name":"Bo","text":"u"}`, corrupt: "issues"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.define("b", def)
			want := []string{}
			if tc.seed != "" {
				e.insert("b", tc.seed)
				want = e.all("b")
			}
			e.obs.take()
			var d engine.Draft
			if err := e.s.Draft(&d, []byte("b"), []byte(tc.rec), false); err != nil {
				t.Fatal(err)
			}
			if tc.corrupt != "" {
				engine.CorruptDraft(&d, tc.corrupt)
			}
			failures := engine.VerifyFailures()
			rec, err := e.s.UpsertDraft(nil, "b", &d)
			if tc.corrupt == "" {
				if err != nil || !engine.DraftTaken(&d, rec) {
					t.Fatalf("UpsertDraft = %v, %v; draft taken %v", rec, err, engine.DraftTaken(&d, rec))
				}
				if n := engine.VerifyFailures() - failures; n != 0 {
					t.Errorf("%d verify failures for a sound draft", n)
				}
				return
			}
			var ie *engine.InternalError
			if !errors.As(err, &ie) {
				t.Fatalf("UpsertDraft of a corrupt draft = %v, %v; want an internal error", rec, err)
			}
			if n := engine.VerifyFailures() - failures; n != 1 {
				t.Errorf("%d verify failures, want 1", n)
			}
			if got := e.all("b"); len(got) != len(want) || len(want) > 0 && got[0] != want[0] {
				t.Errorf("records after the failed write: %v, want %v", got, want)
			}
			if cs := e.obs.take(); len(cs) != 0 {
				t.Errorf("the failed write published %d changes", len(cs))
			}
		})
	}
}

// TestVerifyOff: with verify mode off a corrupt draft is taken, which is
// what the mode is there to catch.
func TestVerifyOff(t *testing.T) {
	was := engine.SetVerify(false)
	t.Cleanup(func() { engine.SetVerify(was) })
	e := newEnv(t)
	e.define("b", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"}}}`)
	var d engine.Draft
	if err := e.s.Draft(&d, []byte("b"), []byte(`{"id":"a","name":"Ann"}`), false); err != nil {
		t.Fatal(err)
	}
	engine.CorruptDraft(&d, "value")
	if rec, err := e.s.UpsertDraft(nil, "b", &d); err != nil || !engine.DraftTaken(&d, rec) {
		t.Fatalf("UpsertDraft = %v, %v", rec, err)
	}
}
