package engine

import (
	"testing"

	"bucketd/engine/jsonv"
)

func parseObj(t *testing.T, js string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestPrepareInstall checks that a prepared update is installed only over
// the very record it was built from, under the same definition, and that
// preparing reports what fails as it stands.
func TestPrepareInstall(t *testing.T) {
	const def = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number","max":10},"e":{"type":"string","unique":true}},"indexes":["n"]}`
	tests := []struct {
		name    string
		between func(t *testing.T, s *Store) // a write between preparing and installing
		done    bool                         // installed
	}{
		{"nothing moved", func(t *testing.T, s *Store) {}, true},
		{"record updated", func(t *testing.T, s *Store) { mustUpdate(t, s, `{"n":2}`) }, false},
		{"record deleted", func(t *testing.T, s *Store) {
			if _, err := s.Delete(nil, "b", "a", -1); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"bucket altered", func(t *testing.T, s *Store) {
			if err := s.Alter("b", []byte(`{"addFields":{"x":{"type":"string"}}}`)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"other record written", func(t *testing.T, s *Store) {
			if _, err := s.Insert(nil, "b", parseObj(t, `{"id":"z","n":1}`), InsertOptions{}); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			if err := s.Define("b", []byte(def)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Insert(nil, "b", parseObj(t, `{"id":"a","n":1,"e":"x"}`), InsertOptions{}); err != nil {
				t.Fatal(err)
			}
			p, err := s.prepareUpdate("b", "a", parseObj(t, `{"n":5}`), -1)
			if err != nil || p == nil {
				t.Fatalf("prepareUpdate = %v, %v", p, err)
			}
			tc.between(t, s)
			var done bool
			err = s.write(nil, "b", func(tx *Tx, b *Bucket) (err error) {
				_, done, err = b.install(tx, p)
				return err
			})
			if err != nil || done != tc.done {
				t.Fatalf("install = %v, %v; want done %v", done, err, tc.done)
			}
			if done {
				r, _ := s.Get(nil, "b", "a")
				if v, _ := r.Get("n"); v != 5.0 || r.Version != 2 {
					t.Errorf("installed record %s", r.JSON())
				}
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustUpdate(t *testing.T, s *Store, changes string) {
	t.Helper()
	if _, err := s.Update(nil, "b", "a", parseObj(t, changes), -1); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareErrors: preparing fails at once on a version conflict and on
// invalid data, and declines (nil, nil) what the locked path must answer.
func TestPrepareErrors(t *testing.T) {
	s := New(Options{})
	if err := s.Define("b", []byte(`{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number","max":10}}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(nil, "b", parseObj(t, `{"id":"a","n":1}`), InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket, key, changes string
		ifVersion                  int64
		want                       string // "prepared", "declined" or an error type
	}{
		{"ok", "b", "a", `{"n":2}`, -1, "prepared"},
		{"conflict", "b", "a", `{"n":2}`, 7, "*engine.ConflictError"},
		{"invalid", "b", "a", `{"n":20}`, -1, "*engine.ValidationError"},
		{"missing record", "b", "nope", `{"n":2}`, -1, "declined"},
		{"missing bucket", "nobody", "a", `{"n":2}`, -1, "declined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.prepareUpdate(tc.bucket, tc.key, parseObj(t, tc.changes), tc.ifVersion)
			got := "declined"
			switch {
			case err != nil:
				got = typeName(err)
			case p != nil:
				got = "prepared"
			}
			if got != tc.want {
				t.Errorf("prepareUpdate = %s (%v), want %s", got, err, tc.want)
			}
		})
	}
	r, _ := s.Get(nil, "b", "a")
	if r.Version != 1 {
		t.Errorf("preparing changed the record: %s", r.JSON())
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *ConflictError:
		return "*engine.ConflictError"
	case *ValidationError:
		return "*engine.ValidationError"
	}
	return "other"
}
