package engine

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/rs/zerolog"

	"bucketd/jsonv"
)

// TestBoxesOwned holds the rule of setBoxedString for the start-up
// decoders: every top-level string of a decoded record with text points
// into that text, no two values share a box, and the records stay as
// they were when the bytes they were decoded from are overwritten.
func TestBoxesOwned(t *testing.T) {
	s := New(Options{Log: zerolog.Nop()})
	s.BeginLoad()
	def := `{"key":"id","schema":{"id":{"type":"string"},"a":{"type":"string"},"b":{"type":"string"}}}`
	if err := s.RestoreDefine("b", []byte(def)); err != nil {
		t.Fatal(err)
	}
	texts := []string{
		`{"id":"k1","a":"same","b":"same","_version":1,"_createdAt":5,"_updatedAt":5}`,
		`{"id":"k2","a":"x","b":"é\"","c":["in","array"],"_version":2,"_createdAt":5,"_updatedAt":6,"_expiresAt":9}`,
		`{"id":"k3","_version":1,"_createdAt":5,"_updatedAt":5}`,
	}
	var recs []*Record
	var inputs [][]byte
	dec := s.NewRecordDecoder()
	for _, text := range texts {
		in := []byte(text)
		rec, err := dec.DecodeJSON("b", in)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		inputs = append(inputs, in)
	}
	block := AppendRecords(nil, recs)
	fromBlock, err := dec.DecodeRecords("b", block)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range recs {
		want = append(want, string(r.JSON()))
	}
	boxes := map[unsafe.Pointer]bool{}
	for _, r := range append(recs, fromBlock...) {
		text := r.text()
		for i, v := range r.values() {
			str, ok := v.(string)
			if !ok || str == "" {
				continue
			}
			box := (*[2]unsafe.Pointer)(unsafe.Pointer(&r.values()[i]))[1]
			if boxes[box] {
				t.Errorf("record %s: the box of %q is shared", r.JSON(), str)
			}
			boxes[box] = true
			plain := string(jsonv.AppendString(nil, str)) == `"`+str+`"`
			if r.body != nil && plain && !inData(str, text) {
				t.Errorf("record %s: %q does not point into the record's text", r.JSON(), str)
			}
		}
	}
	for _, in := range inputs {
		copy(in, bytes.Repeat([]byte{'#'}, len(in)))
	}
	copy(block, bytes.Repeat([]byte{0xff}, len(block)))
	for i, r := range recs {
		if got := string(r.JSON()); got != want[i] {
			t.Errorf("decoded from JSON, after its input changed: %s, want %s", got, want[i])
		}
		if got := string(fromBlock[i].JSON()); got != want[i] {
			t.Errorf("decoded from a block, after it changed: %s, want %s", got, want[i])
		}
	}
}
