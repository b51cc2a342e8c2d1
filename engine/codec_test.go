package engine_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/jsonv"
)

const codecDef = `{"key":"id","schema":{"id":{"type":"string"},"role":{"type":"string","unique":true},"n":{"type":"number"}},"indexes":["n"]}`

// codecRecords are records whose values cover every case of the binary
// layout (codec.go): each kind of number, strings that need escaping (few
// and many, so that records with and without text are built), nested
// arrays and objects, and metadata of every kind.
var codecRecords = []string{
	`{"id":"a","role":"r1","n":0}`,
	`{"id":"b","role":"r2","n":-0.0}`,
	`{"id":"c","role":"r3","n":1.5,"x":[1,-2,3e300,-1e-300,9007199254740993,null,true,false]}`,
	`{"id":"d","role":"r4","n":-9223372036854775808,"o":{"k":"v","e":"é\n\"","z":{}}}`,
	`{"id":"e","role":"r5","n":9223372036854775807}`,
	`{"id":"\\\\\\\\\\\\\\\\","role":"\n\n\n\n\n\n\n\n\n\n","n":123456789012}`,
	`{"id":"","role":"","n":1e-7,"s":"ünïcödé","arr":[[[]],[{"a":[{}]}]]}`,
	`{"id":"g","n":2}`,
	`{"n":3,"id":"h","role":"r8"}`,
}

// restoreStore returns a store with the bucket "b" of codecDef, in a bulk
// load when loading.
func restoreStore(t testing.TB, loading bool) *engine.Store {
	t.Helper()
	s := engine.New(engine.Options{Log: zerolog.Nop(), Now: func() int64 { return 1000 }})
	if loading {
		s.BeginLoad()
	}
	if err := s.RestoreDefine("b", []byte(codecDef)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRecordBlockRoundTrip writes records as a block and as JSON and
// reads both back: the records, metadata included, must come back byte
// for byte, and the indexes built at FinishLoad must agree with them.
func TestRecordBlockRoundTrip(t *testing.T) {
	src := restoreStore(t, false)
	for i, text := range codecRecords {
		if _, err := src.Insert(nil, "b", obj(t, text), engine.InsertOptions{}); err != nil {
			t.Fatalf("insert %s: %v", text, err)
		}
		if i == 2 {
			if _, err := src.Update(nil, "b", "a", obj(t, `{"n":7}`), -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	recs, err := src.All(nil, "b")
	if err != nil {
		t.Fatal(err)
	}
	want := texts(recs)
	for _, how := range []string{"block", "json"} {
		t.Run(how, func(t *testing.T) {
			dst := restoreStore(t, true)
			dec := dst.NewRecordDecoder()
			var got []*engine.Record
			if how == "block" {
				got, err = dec.DecodeRecords("b", engine.AppendRecords(nil, recs))
				if err != nil {
					t.Fatal(err)
				}
			} else {
				for _, r := range recs {
					rec, err := dec.DecodeJSON("b", r.JSON())
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, rec)
				}
			}
			if err := dst.RestoreRecords("b", got, false); err != nil {
				t.Fatal(err)
			}
			dst.FinishLoad(2)
			all, err := dst.All(nil, "b")
			if err != nil {
				t.Fatal(err)
			}
			if g := texts(all); strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("records differ\ngot:  %s\nwant: %s", g, want)
			}
			if err := dst.Check(); err != nil {
				t.Errorf("indexes after FinishLoad: %v", err)
			}
			if rs, err := dst.Where(nil, "b", flt(t, `{"n":7}`)); err != nil || len(rs) != 1 {
				t.Errorf("the index on n finds %d records (%v), want 1", len(rs), err)
			}
		})
	}
}

// TestRecordBlockErrors feeds damaged blocks to the decoder: each must be
// an error, never a panic or a record.
func TestRecordBlockErrors(t *testing.T) {
	s := restoreStore(t, true)
	src := restoreStore(t, false)
	if _, err := src.Insert(nil, "b", obj(t, `{"id":"a","role":"r","n":1,"x":[1,{"k":"v"}]}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	recs, _ := src.All(nil, "b")
	good := engine.AppendRecords(nil, recs)
	cases := map[string][]byte{
		"empty":              nil,
		"trailing byte":      append(bytes.Clone(good), 0),
		"no key in shape":    {1, 1, 1, 'z', 1, 0, 2, 2, 2, 0, tagStringForTest, 1, 'a'},
		"shape out of range": {1, 2, 2, 'i', 'd', 1, 'n', 1, 5, 2, 2, 2, 0},
		"bad tag":            {1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 99},
		"name twice":         {1, 2, 2, 'i', 'd', 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 5, 1, 'a', 5, 1, 'b'},
		"infinite number":    {1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f},
		"huge count":         {1, 1, 2, 'i', 'd', 0xff, 0xff, 0xff, 0xff, 0x0f},
		"deep nesting":       append([]byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0}, bytes.Repeat([]byte{6, 1}, jsonv.MaxDepth+1)...),
	}
	for i := range good {
		cases[fmt.Sprintf("cut at %d", i)] = good[:i]
	}
	dec := s.NewRecordDecoder()
	for name, block := range cases {
		if got, err := dec.DecodeRecords("b", block); err == nil {
			t.Errorf("%s: decoded %d records, want an error", name, len(got))
		}
	}
	if _, err := dec.DecodeRecords("nope", good); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown bucket: %v", err)
	}
	if _, err := dec.DecodeJSON("b", []byte(`{"role":"x"}`)); err == nil {
		t.Error("a record without its key decoded")
	}
	if err := s.RestoreRecords("b", nil, false); err != nil {
		t.Error(err)
	}
	// A key of another type than the key field's decodes (the block does
	// not know the schema) and is refused when stored, changing nothing.
	boolKey, err := dec.DecodeRecords("b", []byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	numKey, err := dec.DecodeRecords("b", []byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]*engine.Record{boolKey, numKey} {
		if err := s.RestoreRecords("b", bad, false); err == nil || !strings.Contains(err.Error(), "a key of type") {
			t.Errorf("a key of the wrong type stored: %v", err)
		}
	}
	if n, _ := s.Count(nil, "b", nil); n != 0 {
		t.Errorf("refused keys left %d records", n)
	}
	if err := s.RestoreDefine("nums", []byte(`{"key":"id","schema":{"id":{"type":"number"}}}`)); err != nil {
		t.Fatal(err)
	}
	strKey, err := dec.DecodeRecords("nums", []byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 5, 1, 'a'})
	if err != nil {
		t.Fatal(err)
	}
	boolKey, err = dec.DecodeRecords("nums", []byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]*engine.Record{strKey, boolKey} {
		if err := s.RestoreRecords("nums", bad, true); err == nil || !strings.Contains(err.Error(), "a key of type") {
			t.Errorf("a key of the wrong type stored in a number-keyed bucket: %v", err)
		}
	}
	if n, _ := s.Count(nil, "nums", nil); n != 0 {
		t.Errorf("refused keys left %d records in nums", n)
	}
	twice, err := dec.DecodeRecords("b", engine.AppendRecords(nil, append(recs, recs...)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreRecords("b", twice, true); err == nil || !strings.Contains(err.Error(), `key "a" held twice`) {
		t.Errorf("a snapshot's key held twice: %v", err)
	}
}

// tagStringForTest is the string tag of the layout (codec.go).
const tagStringForTest = 5

// FuzzDecodeRecords: any bytes decode to records or an error, and what
// decodes writes back to the same block.
func FuzzDecodeRecords(f *testing.F) {
	src := restoreStore(f, false)
	for _, text := range codecRecords {
		src.Insert(nil, "b", obj(f, text), engine.InsertOptions{})
	}
	recs, _ := src.All(nil, "b")
	f.Add(engine.AppendRecords(nil, recs))
	f.Add(engine.AppendRecords(nil, recs[:1]))
	f.Add([]byte{1, 1, 2, 'i', 'd', 1, 0, 2, 2, 2, 0, 5, 1, 'a'})
	f.Fuzz(func(t *testing.T, block []byte) {
		s := restoreStore(t, true)
		got, err := s.NewRecordDecoder().DecodeRecords("b", block)
		if err != nil {
			return
		}
		again := engine.AppendRecords(nil, got)
		back, err := s.NewRecordDecoder().DecodeRecords("b", again)
		if err != nil {
			t.Fatalf("a block written from decoded records does not decode: %v", err)
		}
		if strings.Join(texts(back), "\n") != strings.Join(texts(got), "\n") {
			t.Fatalf("round trip changed the records:\n%s\n%s", texts(got), texts(back))
		}
	})
}
