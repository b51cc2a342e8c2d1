package engine

import (
	"testing"
	"unsafe"
)

// TestRecordSize keeps a record in the 64-byte size class: a bucket holds
// one per record, so each byte over counts 200,000 times in bench/compare.
func TestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(Record{}); n > 64 {
		t.Errorf("Record is %d bytes, want at most 64", n)
	}
}
