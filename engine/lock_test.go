package engine

import (
	"errors"
	"testing"
)

// TestLockBucketDropped: the one bucket look-up (lockBucket, acquire)
// refuses a bucket dropped between the look-up and the lock and leaves it
// unlocked; every public entry point built on it then says the bucket is
// not defined.
func TestLockBucketDropped(t *testing.T) {
	s := New(Options{})
	if err := s.Define("b", []byte(`{"key":"id","schema":{"id":{"type":"string"}}}`)); err != nil {
		t.Fatal(err)
	}
	b := s.snapshot()["b"] // found before the drop, as by a racing reader
	for _, write := range []bool{false, true} {
		got, err := s.lockBucket("b", write)
		if err != nil || got != b {
			t.Fatalf("lockBucket(b, %v) = %v, %v", write, got, err)
		}
		if write {
			b.mu.Unlock()
		} else {
			b.mu.RUnlock()
		}
	}
	if ok, err := s.Drop("b"); !ok || err != nil {
		t.Fatalf("Drop: %v %v", ok, err)
	}
	var nb *NoBucketError
	for _, write := range []bool{false, true} {
		if err := b.acquire(write); !errors.As(err, &nb) {
			t.Fatalf("acquire(%v) of a dropped bucket: %v, want a NoBucketError", write, err)
		}
		if !b.mu.TryLock() {
			t.Fatalf("acquire(%v) of a dropped bucket left it locked", write)
		}
		b.mu.Unlock()
		for _, name := range []string{"b", "never"} {
			if _, err := s.lockBucket(name, write); !errors.As(err, &nb) || nb.Bucket != name {
				t.Errorf("lockBucket(%s, %v): %v; want NoBucketError", name, write, err)
			}
		}
	}

	// The entry points, on a name that is not (or no longer) defined.
	if _, err := s.Get(nil, "b", "k"); !errors.As(err, &nb) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.MGet(nil, "b", []string{"k"}); !errors.As(err, &nb) {
		t.Errorf("MGet: %v", err)
	}
	if _, err := s.Definition("b"); !errors.As(err, &nb) {
		t.Errorf("Definition: %v", err)
	}
	if _, err := s.Info("b"); !errors.As(err, &nb) {
		t.Errorf("Info: %v", err)
	}
	if err := s.Alter("b", []byte(`{}`)); !errors.As(err, &nb) {
		t.Errorf("Alter: %v", err)
	}
	if _, err := s.ReadView("b", nil, func(*View) { t.Error("ReadView called fn") }); !errors.As(err, &nb) {
		t.Errorf("ReadView: %v", err)
	}
	if w := s.Watch("b", "k"); w.b != nil {
		t.Error("Watch holds a dropped bucket")
	}
	if t1 := mustBegin(s, []string{"b"}); len(t1.locked) != 0 {
		t.Error("Begin locked a dropped bucket")
	} else {
		t1.Rollback()
	}
	if _, err := s.beginOne(b); !errors.As(err, &nb) {
		t.Errorf("beginOne of the dropped bucket: %v", err)
	}
	if imgs := s.Capture(func() {}); len(imgs) != 0 {
		t.Errorf("Capture: %d images", len(imgs))
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}
