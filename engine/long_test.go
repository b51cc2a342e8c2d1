package engine

import (
	"errors"
	"testing"

	"bucketd/jsonv"
)

func mustObject(s string) *jsonv.Object {
	o, err := jsonv.ParseObject([]byte(s))
	if err != nil {
		panic(err)
	}
	return o
}

// TestLongBusy: while a long transaction runs, commands on its buckets
// wait; once it declares itself busy they fail with its BusyError at once
// (those already waiting for the mark too), commands on other buckets run,
// and when it ends everything works again and its marks are gone.
func TestLongBusy(t *testing.T) {
	s := New(Options{})
	for _, n := range []string{"a", "b", "c"} {
		if err := s.Define(n, []byte(`{"key":"id","schema":{"id":{"type":"string"}}}`)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := s.BeginLong([]string{"b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Busy() {
		t.Fatal("a new long transaction is busy")
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := s.Get(nil, "a", "x")
		waiting <- err
	}()
	// The waiter polls the mark: it cannot have returned before SetBusy.
	select {
	case err := <-waiting:
		t.Fatalf("a read of a held bucket returned before SetBusy: %v", err)
	default:
	}
	tx.SetBusy("BUSY busy running a script")
	tx.SetBusy("ignored") // a second call changes nothing
	var busy *BusyError
	if err := <-waiting; !errors.As(err, &busy) || busy.Bucket != "a" || err.Error() != "BUSY busy running a script" {
		t.Fatalf("waiting read: %v, want the BusyError of bucket a", err)
	}
	cases := []struct {
		name string
		run  func() error
	}{
		{"read", func() error { _, err := s.Get(nil, "b", "x"); return err }},
		{"write", func() error {
			_, err := s.Insert(nil, "a", mustObject(`{"id":"x"}`), InsertOptions{})
			return err
		}},
		{"begin", func() error {
			t, err := s.Begin([]string{"c", "b"})
			if err == nil {
				t.Rollback()
			}
			return err
		}},
		{"info", func() error { _, err := s.Info("a"); return err }},
	}
	for _, c := range cases {
		if err := c.run(); !errors.As(err, &busy) {
			t.Errorf("%s during a busy long transaction: %v, want a BusyError", c.name, err)
		}
	}
	if _, err := s.Insert(nil, "c", mustObject(`{"id":"x"}`), InsertOptions{}); err != nil {
		t.Fatalf("a write to a bucket the long transaction does not hold: %v", err)
	}
	if _, err := s.Insert(tx, "a", mustObject(`{"id":"y"}`), InsertOptions{}); err != nil {
		t.Fatalf("the long transaction's own write: %v", err)
	}
	var nh *NotHeldError
	if _, err := s.Insert(tx, "c", mustObject(`{"id":"z"}`), InsertOptions{}); !errors.As(err, &nh) || nh.Bucket != "c" {
		t.Fatalf("a write to a bucket the transaction did not name: %v, want a NotHeldError", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if m := s.snapshot()[n].long.Load(); m != nil {
			t.Fatalf("bucket %s keeps its mark after the end", n)
		}
	}
	if rec, err := s.Get(nil, "a", "y"); err != nil || rec == nil {
		t.Fatalf("after the end: %v %v", rec, err)
	}
	for _, c := range cases {
		if err := c.run(); errors.As(err, &busy) {
			t.Errorf("%s after the end: %v", c.name, err)
		}
	}
}
