package engine_test

import (
	"errors"
	"strings"
	"testing"

	"bucketd/engine"
)

// scanImage returns the batches Scan gives with batches of n (each its
// keys, as keys gives them), separated by "|", and Scan's error.
func scanImage(img *engine.BucketImage, n int) (string, error) {
	var got []string
	err := img.Scan(n, func(batch []*engine.Record) error {
		got = append(got, keys(batch))
		return nil
	})
	return strings.Join(got, "|"), err
}

func TestCaptureImage(t *testing.T) {
	e := ttlEnv(t)       // s1, s2, keep, own, in insertion order; ordered by key
	e.clock.Advance(600) // own expired, not yet purged
	images := e.s.Capture(nil)
	if len(images) != 1 || images[0].Name != "sessions" {
		t.Fatalf("Capture: %d images", len(images))
	}
	img := &images[0]
	if img.Len != 3 {
		t.Errorf("Len = %d, want 3: the expired record left out", img.Len)
	}
	// Writes after the capture are not in the image: an update, a delete,
	// an insert.
	if _, err := e.s.Update(nil, "sessions", "s1", obj(t, `{"n":10}`), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Delete(nil, "sessions", "s2", -1); err != nil {
		t.Fatal(err)
	}
	e.insert("sessions", `{"id":"a0","user":"u3","token":"t5","n":5}`)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, `"s1"|"s2"|"keep"`},
		{2, `"s1","s2"|"keep"`},
		{3, `"s1","s2","keep"`},
		{100, `"s1","s2","keep"`},
	} {
		if got, err := scanImage(img, tc.n); got != tc.want || err != nil {
			t.Errorf("Scan(%d) = %s, %v; want %s (insertion order, as captured)", tc.n, got, err, tc.want)
		}
	}
	var s1 *engine.Record
	img.Scan(1, func(b []*engine.Record) error {
		if s1 == nil {
			s1 = b[0]
		}
		return nil
	})
	if n, _ := s1.Get("n"); n != 1.0 || s1.Version != 1 {
		t.Errorf("s1 in the image: n=%v _version=%d, want the record as captured (1, 1)", n, s1.Version)
	}
	// fn's error ends the scan and is returned.
	stop := errors.New("stop")
	calls := 0
	if err := img.Scan(1, func([]*engine.Record) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Scan with a failing fn: %v after %d calls, want stop after 1", err, calls)
	}
	img.Release()
	img.Release() // twice is harmless
	if got, err := scanImage(img, 2); err == nil || got != "" {
		t.Errorf("Scan after Release = %q, %v; want an error", got, err)
	}
}

// A bucket that is not persistent has no records in the image, unless
// CaptureAll takes it (a replicated node's snapshot).
func TestCaptureNotPersistent(t *testing.T) {
	e := newEnv(t)
	e.define("tmp", `{"key":"id","schema":{"id":{"type":"number"}},"persistent":false}`)
	e.insert("tmp", `{"id":1}`)
	e.insert("tmp", `{"id":2}`)
	for _, tc := range []struct {
		name    string
		capture func(func()) []engine.BucketImage
		want    string
		n       int
	}{
		{"Capture", e.s.Capture, "", 0},
		{"CaptureAll", e.s.CaptureAll, "1,2", 2},
	} {
		images := tc.capture(nil)
		got, err := scanImage(&images[0], 10)
		if got != tc.want || err != nil || images[0].Len != tc.n {
			t.Errorf("%s: %q (Len %d), %v; want %q", tc.name, got, images[0].Len, err, tc.want)
		}
		engine.ReleaseImages(images)
	}
}
