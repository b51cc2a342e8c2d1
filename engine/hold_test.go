package engine_test

import (
	"testing"
	"time"

	"bucketd/engine"
)

// TestHold runs writes and reads through a Hold: each write commits on its
// own (its own observer batch, its own rollback), reads see the writes, and
// Release lets other writers in.
func TestHold(t *testing.T) {
	e := newEnv(t)
	seedUsers(e)
	h := e.s.Hold("users")
	released := false
	defer func() {
		if !released {
			h.Release() // after a failure, so the cleanup's check can lock
		}
	}()
	if h.Holding() {
		t.Fatal("a Hold is locked before its first write")
	}
	// A read before the first write locks nothing.
	if r, err := e.s.Get(h, "users", "u1"); err != nil || r == nil {
		t.Fatalf("Get through an unlocked Hold = %v, %v", r, err)
	}
	if _, err := e.s.Upsert(h, "users", obj(t, `{"id":"h1","name":"Hal"}`)); err != nil {
		t.Fatal(err)
	}
	if !h.Holding() {
		t.Fatal("a Hold is not locked after a write")
	}
	batches := e.obs.batches
	// A failing write rolls back only itself.
	if _, err := e.s.Insert(h, "users", obj(t, `{"id":"h2","name":"Ida","email":"ann@x.io"}`), engine.InsertOptions{}); errKind(err) != "unique" {
		t.Fatalf("Insert of a taken email = %v", err)
	}
	if _, err := e.s.Update(h, "users", "u2", obj(t, `{"age":21}`), -1); err != nil {
		t.Fatal(err)
	}
	if r, err := e.s.Get(h, "users", "h1"); err != nil || r == nil {
		t.Fatalf("Get h1 through the Hold = %v, %v", r, err)
	}
	if r, _ := e.s.Get(h, "users", "h2"); r != nil {
		t.Fatalf("the failed insert left %s", r.JSON())
	}
	if got := e.obs.batches - batches; got != 1 {
		t.Errorf("observer batches for one good write after the first = %d, want 1", got)
	}
	e.wantChanges("inserted \"h1\" 4", "updated \"u2\" 5")
	// Another bucket through the Hold is refused rather than locked.
	if _, err := e.s.Upsert(h, "nums", obj(t, `{"n":1}`)); errKind(err) != "nobucket" {
		t.Errorf("Upsert into another bucket through the Hold = %v", err)
	}
	// Writers elsewhere wait for the Release.
	done := make(chan error)
	go func() {
		_, err := e.s.Upsert(nil, "users", obj(t, `{"id":"w1","name":"Wes"}`))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a writer ran while the bucket was held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	h.Release()
	released = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.check()
}

// TestHoldMissingBucket: a Hold on a bucket that does not exist fails its
// writes with NoBucketError and holds nothing.
func TestHoldMissingBucket(t *testing.T) {
	e := newEnv(t)
	h := e.s.Hold("nobody")
	defer h.Release()
	if _, err := e.s.Upsert(h, "nobody", obj(t, `{"id":"x"}`)); errKind(err) != "nobucket" {
		t.Errorf("Upsert = %v, want nobucket", err)
	}
	if h.Holding() {
		t.Error("Holding after a failed lookup")
	}
}
