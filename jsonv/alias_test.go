package jsonv

import (
	"bytes"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// aliasesData reports whether some string of v points into data.
func aliasesData(v Value, data []byte) bool {
	switch t := v.(type) {
	case string:
		return t != "" && inside(unsafe.StringData(t), data)
	case []Value:
		for _, e := range t {
			if aliasesData(e, data) {
				return true
			}
		}
	case *Object:
		for _, e := range t.Vals {
			if aliasesData(e, data) {
				return true
			}
		}
	}
	return false
}

func TestParseObjectAliased(t *testing.T) {
	tests := []struct {
		in      string
		aliases bool // some string points into the input before Own
	}{
		{`{"a":"plain","b":["x",{"c":"deep"}]}`, true},
		{`{"a":"esc\"aped","b":"\u00e9"}`, false},
		{`{"a":"","b":1,"c":null,"d":true}`, false},
		{`{"a":"x","a":"y"}`, true},
		{recordJSON, true},
	}
	for _, tc := range tests {
		data := []byte(tc.in)
		want, err := ParseObject([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		o := new(Object)
		if err := ParseObjectAliased(o, data); err != nil {
			t.Fatalf("%s: ParseObjectAliased: %v", tc.in, err)
		}
		if !Equal(o, want) {
			t.Errorf("%s: aliased parse %s, want %s", tc.in, Marshal(o), Marshal(want))
		}
		if got := aliasesData(o, data); got != tc.aliases {
			t.Errorf("%s: aliases the input = %v, want %v", tc.in, got, tc.aliases)
		}
		Own(o, data)
		if aliasesData(o, data) {
			t.Errorf("%s: still aliases the input after Own", tc.in)
		}
		copy(data, bytes.Repeat([]byte{'#'}, len(data)))
		if !Equal(o, want) {
			t.Errorf("%s: after Own and a changed input: %s, want %s", tc.in, Marshal(o), Marshal(want))
		}
	}
}

// TestParseObjectReuse: documents parsed one after the other into one
// Object give what ParseObject gives, the top-level values in the Object's
// array when it has room, and nested containers in arrays of their own.
func TestParseObjectReuse(t *testing.T) {
	docs := []string{
		`{"a":"plain","b":["x",{"c":"deep"}]}`,
		`{"a":1}`,
		recordJSON,
		`{}`,
		`{"a":"x","a":"y","b":{"c":[1,2]}}`,
	}
	o := &Object{Vals: make([]Value, 0, 64)}
	array := unsafe.SliceData(o.Vals)
	var kept []*Object // earlier results, copied out as a caller would
	for _, doc := range docs {
		want, err := ParseObject([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		data := []byte(doc)
		if err := ParseObjectReuse(o, data); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if len(o.Vals) > 0 && unsafe.SliceData(o.Vals) != array {
			t.Errorf("%s: the values went into a new array", doc)
		}
		if !Equal(o, want) {
			t.Errorf("%s: %s, want %s", doc, Marshal(o), Marshal(want))
		}
		c := &Object{Keys: o.Keys, Vals: append([]Value(nil), o.Vals...)}
		Own(c, data)
		kept = append(kept, c)
		o.Vals = o.Vals[:0]
	}
	for i, c := range kept {
		if want, _ := ParseObject([]byte(docs[i])); !Equal(c, want) {
			t.Errorf("%s: after later parses the copy is %s", docs[i], Marshal(c))
		}
	}
}

// FuzzParseObjectAliased: the aliased parse gives what ParseObject gives,
// errors included, and after Own nothing depends on the input.
func FuzzParseObjectAliased(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c.in))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":"x","b":["y",{"c":"z\n"}],"a":"w"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := ParseObject(bytes.Clone(data))
		o := &Object{Keys: []string{"stale"}, Vals: []Value{"stale"}}
		err := ParseObjectAliased(o, data)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("%q: aliased error %v, want %v", data, err, werr)
		}
		if err != nil {
			if o.Keys != nil || o.Vals != nil {
				t.Fatalf("%q: the object keeps %s after an error", data, Marshal(o))
			}
			return
		}
		// The same into an Object whose array is reused.
		r := &Object{Vals: []Value{"stale", "stale", "stale"}}
		if err := ParseObjectReuse(r, data); err != nil {
			t.Fatalf("%q: ParseObjectReuse: %v, ParseObjectAliased none", data, err)
		}
		Own(o, data)
		Own(r, data)
		for i := range data {
			data[i] = 0
		}
		if !Equal(o, want) || !bytes.Equal(Marshal(o), Marshal(want)) {
			t.Fatalf("aliased parse %s, want %s", Marshal(o), Marshal(want))
		}
		if !Equal(r, want) {
			t.Fatalf("parse into a reused array %s, want %s", Marshal(r), Marshal(want))
		}
	})
}

// TestParseObjectAliasedFreesInput: after Own, nothing keeps the input
// alive, not even a value dropped for a repeated key.
func TestParseObjectAliasedFreesInput(t *testing.T) {
	freed := make(chan struct{})
	o := func() *Object {
		data := []byte(`{"a":"first","b":"kept","a":"last","o":{"k":"x","k":"y"},"n":["z"]}`)
		runtime.AddCleanup(&data[0], func(struct{}) { close(freed) }, struct{}{})
		o := new(Object)
		if err := ParseObjectAliased(o, data); err != nil {
			t.Fatal(err)
		}
		Own(o, data)
		return o
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		runtime.GC()
		select {
		case <-freed:
			if got := string(Marshal(o)); got != `{"a":"last","b":"kept","o":{"k":"y"},"n":["z"]}` {
				t.Errorf("object %s", got)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the input is still reachable from the object after Own")
		}
	}
}
