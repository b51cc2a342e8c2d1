package engine

import (
	"fmt"
	"testing"
)

func (ss *scanSlots) counts() (busy, waiting int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.busy, ss.waiting
}

// TestPacerSlots: a short frozen read takes no scan slot; a long one takes
// one from its yieldEvery-th entry until done; when the slots are taken, a
// further long read waits for one; reads inside a transaction are not
// paced.
func TestPacerSlots(t *testing.T) {
	s := New(Options{})
	s.slots.most = func() int { return 1 }
	short := s.pacer(true)
	for range yieldEvery - 1 {
		short.step()
	}
	if busy, _ := s.slots.counts(); busy != 0 {
		t.Fatalf("a short read took a slot: %d busy", busy)
	}
	short.done()

	long := s.pacer(true)
	for range 3 * yieldEvery {
		long.step()
	}
	if busy, _ := s.slots.counts(); busy != 1 {
		t.Fatalf("a long read holds %d slots, want 1", busy)
	}
	second := s.pacer(true)
	passed := make(chan struct{})
	go func() {
		for range yieldEvery {
			second.step()
		}
		close(passed)
	}()
	for { // poll until the second long read waits for the slot
		if _, waiting := s.slots.counts(); waiting == 1 {
			break
		}
		select {
		case <-passed:
			t.Fatal("a second long read ran beside the first with one slot")
		default:
		}
	}
	long.done()
	<-passed
	second.done()
	if busy, waiting := s.slots.counts(); busy != 0 || waiting != 0 {
		t.Fatalf("after both: %d busy, %d waiting", busy, waiting)
	}

	inTx := s.pacer(false)
	for range 2 * yieldEvery {
		inTx.step()
	}
	if busy, _ := s.slots.counts(); busy != 0 {
		t.Fatalf("a read inside a transaction took a slot")
	}
}

// TestLongScanReleasesSlot: a B.WHERE over more than yieldEvery records
// takes a slot and gives it back, and the slot limit follows GOMAXPROCS.
func TestLongScanReleasesSlot(t *testing.T) {
	s := New(Options{})
	if err := s.Define("b", []byte(`{"key":"id","schema":{"id":{"type":"number"}}}`)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * yieldEvery {
		if _, err := s.Insert(nil, "b", mustObj(t, fmt.Sprintf(`{"id":%d}`, i)), InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	held := 0
	err := s.scanRead(nil, "b", nil, nil, nil, func(*Record) bool {
		if busy, _ := s.slots.counts(); busy > held {
			held = busy
		}
		return true
	})
	if err != nil || held != 1 {
		t.Fatalf("the scan held %d slots (%v), want 1", held, err)
	}
	if busy, _ := s.slots.counts(); busy != 0 {
		t.Fatalf("%d slots still busy after the scan", busy)
	}
	if got := s.slots.limit(); got < 1 {
		t.Fatalf("slot limit %d", got)
	}
}
