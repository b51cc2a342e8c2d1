package engine

import (
	"fmt"
	"runtime"
	"testing"
)

func (ss *scanSlots) counts() (busy, waiting int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.busy, ss.waiting
}

// TestScanSlots: a short frozen read takes no scan slot; a long one takes
// one while it walks; when the slots are taken, a further long read waits
// for one.
func TestScanSlots(t *testing.T) {
	s := New(Options{})
	s.slots.most = func() int { return 1 }
	if err := s.walk(nil, longWalk, func() error {
		if busy, _ := s.slots.counts(); busy != 0 {
			t.Errorf("a short read took a slot: %d busy", busy)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error)
	go func() {
		firstDone <- s.walk(nil, longWalk+1, func() error {
			close(inFirst)
			<-releaseFirst
			return nil
		})
	}()
	<-inFirst
	if busy, _ := s.slots.counts(); busy != 1 {
		t.Fatalf("a long read holds %d slots, want 1", busy)
	}
	secondRan := make(chan struct{})
	secondDone := make(chan error)
	go func() {
		secondDone <- s.walk(nil, longWalk+1, func() error {
			close(secondRan)
			return nil
		})
	}()
	for { // poll until the second long read waits for the slot
		if _, waiting := s.slots.counts(); waiting == 1 {
			break
		}
		select {
		case <-secondRan:
			t.Fatal("a second long read ran beside the first with one slot")
		default:
			runtime.Gosched()
		}
	}
	close(releaseFirst)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	if busy, waiting := s.slots.counts(); busy != 0 || waiting != 0 {
		t.Fatalf("after both: %d busy, %d waiting", busy, waiting)
	}
	if got := (&scanSlots{}).limit(); got != max(1, runtime.GOMAXPROCS(0)-1) {
		t.Fatalf("default slot limit %d", got)
	}
}

// TestLongScanUsesWorker: a B.WHERE over more than longWalk records walks
// in a slot on a scan worker, whose thread has the lower priority where
// the system allows it, and gives the slot back; a short one walks on the
// caller's goroutine.
func TestLongScanUsesWorker(t *testing.T) {
	s := New(Options{})
	if err := s.Define("b", []byte(`{"key":"id","schema":{"id":{"type":"number"}}}`)); err != nil {
		t.Fatal(err)
	}
	for i := range longWalk + 10 {
		if _, err := s.Insert(nil, "b", mustObj(t, fmt.Sprintf(`{"id":%d}`, i)), InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		filter string
		long   bool
	}{{`{}`, true}, {`{"id":{"$in":[1,2,3]}}`, false}} {
		held, nice := 0, -1
		err := s.scanRead(nil, "b", mustFilter(t, tc.filter), nil, nil, func(*Record) bool {
			if nice < 0 {
				held, _ = s.slots.counts()
				nice = threadNice()
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		wantHeld, wantNice := 0, 0
		if tc.long {
			wantHeld = 1
			if workers.lowered.Load() > 0 {
				wantNice = scanNiceWanted
			}
		}
		if held != wantHeld || nice != wantNice {
			t.Errorf("%s: walked holding %d slots at nice %d, want %d at %d", tc.filter, held, nice, wantHeld, wantNice)
		}
		if busy, _ := s.slots.counts(); busy != 0 {
			t.Fatalf("%s: %d slots still busy after the scan", tc.filter, busy)
		}
	}
}
