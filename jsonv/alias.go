package jsonv

import (
	"strings"
	"unsafe"
)

// ParseObjectAliased is ParseObject into *dst, without copying string
// values: a string without escapes points into data. data must not change
// until Own(dst, data) has run, which copies what still points into it; in
// between, the caller may replace string values (in Vals of dst and of the
// objects and arrays inside it) by equal strings held elsewhere, which Own
// then leaves alone. It saves a copy of the strings that the caller moves
// elsewhere anyway (a record's strings go into its text), and the Object's
// allocation. On an error *dst is left empty.
func ParseObjectAliased(dst *Object, data []byte) error {
	_, err := parseObject(data, true, dst)
	return err
}

// ParseObjectReuse is ParseObjectAliased with the top-level values in
// dst.Vals's array, grown when too small, instead of in a new one: for a
// caller that parses many documents and copies out what it keeps. Nothing
// else may hold that array, since the next parse writes over it.
func ParseObjectReuse(dst *Object, data []byte) error {
	_, err := parseObjectInto(data, true, dst, true)
	return err
}

// inData reports whether raw lies in the parser's input.
func (p *parser) inData(raw []byte) bool {
	return inside(unsafe.SliceData(raw), p.data)
}

// inside reports whether ptr points into data.
func inside(ptr *byte, data []byte) bool {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	at := uintptr(unsafe.Pointer(ptr))
	return at >= base && at < base+uintptr(len(data))
}

// Own copies every string of o, from ParseObjectAliased(data), that still
// points into data, so that o no longer depends on data. Strings the caller
// replaced are left where they are.
func Own(o *Object, data []byte) {
	ownAll(o.Vals, data)
}

// ownAll is Own for the values of an array or object.
func ownAll(vals []Value, data []byte) {
	for i, v := range vals {
		switch t := v.(type) {
		case string:
			if t != "" && inside(unsafe.StringData(t), data) {
				vals[i] = strings.Clone(t)
			}
		case []Value:
			ownAll(t, data)
		case *Object:
			ownAll(t.Vals, data)
		}
	}
}
