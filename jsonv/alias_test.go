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
		Own(o, data)
		for i := range data {
			data[i] = 0
		}
		if !Equal(o, want) || !bytes.Equal(Marshal(o), Marshal(want)) {
			t.Fatalf("aliased parse %s, want %s", Marshal(o), Marshal(want))
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
