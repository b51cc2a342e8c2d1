package engine

import "testing"

// Quiesce and Capture call during with every bucket locked against
// writers; only Capture enters the buckets (until its images' release).
func TestQuiesceAndCaptureHold(t *testing.T) {
	s := New(Options{})
	for _, name := range []string{"a", "b"} {
		if err := s.Define(name, []byte(`{"key":"id","schema":{"id":{"type":"number"}}}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Insert(nil, name, mustObj(t, `{"id":1}`), InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	buckets := s.snapshot()
	state := func() (writable int, readers int64) {
		for _, b := range buckets {
			if b.mu.TryLock() {
				writable++
				b.mu.Unlock()
			}
			readers += b.readers.Load()
		}
		return
	}
	for _, tc := range []struct {
		name    string
		run     func(during func()) []BucketImage
		entered int64 // readers entered once it returns, until the images' release
	}{
		{"Quiesce", func(during func()) []BucketImage { s.Quiesce(during); return nil }, 0},
		{"Capture", s.Capture, 2},
	} {
		called := false
		images := tc.run(func() {
			called = true
			if w, _ := state(); w != 0 {
				t.Errorf("%s: %d buckets writable during the call", tc.name, w)
			}
		})
		if w, r := state(); !called || w != 2 || r != tc.entered {
			t.Errorf("%s: called %v; then %d writable buckets (want 2), %d readers entered (want %d)", tc.name, called, w, r, tc.entered)
		}
		ReleaseImages(images)
		if _, r := state(); r != 0 {
			t.Errorf("%s: %d readers entered after the release", tc.name, r)
		}
	}
}
