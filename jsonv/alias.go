package jsonv

import (
	"strings"
	"unsafe"
)

// ParseObjectAliased is ParseObject into *dst, without copying string
// values: a string without escapes points into data. Every string value
// still refers to a header of its own (see StringAt), which Repoint and Own
// may change: the object must stay with the caller until Own(dst, data) has
// run, and data must not change before that. It saves a copy of strings
// that the caller moves elsewhere anyway (a record's strings go into its
// text), and the Object's allocation. On an error *dst is left empty.
func ParseObjectAliased(dst *Object, data []byte) error {
	_, err := parseObject(data, true, dst)
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

// header returns the string header a string Value refers to.
func header(v Value) *string {
	return (*string)((*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1])
}

// Repoint makes the string value v, from ParseObjectAliased and not yet
// given to Own, refer to s, which must be equal to it: every copy of v sees
// s from then on.
func Repoint(v Value, s string) {
	*header(v) = s
}

// Own copies every string of v, from ParseObjectAliased(data), that still
// points into data, so that v no longer depends on data. Strings moved
// elsewhere by Repoint are left where they are.
func Own(v Value, data []byte) {
	switch t := v.(type) {
	case string:
		if t != "" && inside(unsafe.StringData(t), data) {
			*header(v) = strings.Clone(t)
		}
	case []Value:
		for _, e := range t {
			Own(e, data)
		}
	case *Object:
		for _, e := range t.Vals {
			Own(e, data)
		}
	}
}
