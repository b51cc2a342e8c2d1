package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"bucketd/jsonv"
)

// The binary record layout of snapshots (docs/persistence.md, "Snapshot
// format"). A block holds a batch of one bucket's records and is decoded
// on its own, so that blocks decode in parallel at start-up:
//
//	block  := uvarint(#shapes) shape* uvarint(#records) record*
//	shape  := uvarint(#names) (uvarint(len) name)*
//	record := uvarint(shape) varint(_version) varint(_createdAt)
//	          varint(_updatedAt - _createdAt) varint(_expiresAt) value*
//	value  := 0 null | 1 false | 2 true
//	        | 3 varint          a number that is an integer of int64 (not -0)
//	        | 4 8 bytes         any other number, IEEE 754 little-endian
//	        | 5 uvarint(len) bytes   a string
//	        | 6 uvarint(n) value*    an array
//	        | 7 uvarint(n) (uvarint(len) key value)*   an object
//
// A record has as many values as its shape has names, in the shape's
// order. Field names are written once per block, not once per record, and
// the values need no JSON parsing or validation when loaded: they were
// validated when they were written.
const (
	tagNull = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagArray
	tagObject
)

// AppendRecords appends a block holding recs, all of one bucket, to dst.
func AppendRecords(dst []byte, recs []*Record) []byte {
	shapes := make(map[*shape]uint64)
	var order []*shape
	for _, r := range recs {
		if _, ok := shapes[r.shape]; !ok {
			shapes[r.shape] = uint64(len(order))
			order = append(order, r.shape)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(order)))
	for _, sh := range order {
		dst = binary.AppendUvarint(dst, uint64(len(sh.names)))
		for _, n := range sh.names {
			dst = binary.AppendUvarint(dst, uint64(len(n)))
			dst = append(dst, n...)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, shapes[r.shape])
		dst = binary.AppendVarint(dst, r.Version)
		dst = binary.AppendVarint(dst, r.CreatedAt)
		dst = binary.AppendVarint(dst, r.UpdatedAt-r.CreatedAt)
		dst = binary.AppendVarint(dst, r.ExpiresAt)
		for _, v := range r.values() {
			dst = appendValue(dst, v)
		}
	}
	return dst
}

// appendValue appends the binary form of v.
func appendValue(dst []byte, v jsonv.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNull)
	case bool:
		if x {
			return append(dst, tagTrue)
		}
		return append(dst, tagFalse)
	case float64:
		if i := int64(x); float64(i) == x && x >= -(1<<63) && x < 1<<63 && !(x == 0 && math.Signbit(x)) {
			return binary.AppendVarint(append(dst, tagInt), i)
		}
		return binary.LittleEndian.AppendUint64(append(dst, tagFloat), math.Float64bits(x))
	case string:
		dst = binary.AppendUvarint(append(dst, tagString), uint64(len(x)))
		return append(dst, x...)
	case []jsonv.Value:
		dst = binary.AppendUvarint(append(dst, tagArray), uint64(len(x)))
		for _, e := range x {
			dst = appendValue(dst, e)
		}
		return dst
	case *jsonv.Object:
		dst = binary.AppendUvarint(append(dst, tagObject), uint64(len(x.Keys)))
		for i, k := range x.Keys {
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			dst = appendValue(dst, x.Vals[i])
		}
		return dst
	}
	panic(fmt.Sprintf("engine: record value of type %T", v))
}

// errBlock reports a block that is not a valid one.
var errBlock = errors.New("malformed record block")

// blockReader reads the parts of a block. Strings point into the block
// (see DecodeRecords for who copies them).
type blockReader struct {
	b   []byte
	off int
}

func (r *blockReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errBlock
	}
	r.off += n
	return v, nil
}

func (r *blockReader) varint() (int64, error) {
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		return 0, errBlock
	}
	r.off += n
	return v, nil
}

// count reads a count of items that take at least one byte each.
func (r *blockReader) count() (int, error) {
	n, err := r.uvarint()
	if err != nil || n > uint64(len(r.b)-r.off) {
		return 0, errBlock
	}
	return int(n), nil
}

// str reads a length-prefixed string, pointing into the block.
func (r *blockReader) str() (string, error) {
	n, err := r.count()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	s := unsafe.String(&r.b[r.off], n)
	r.off += n
	return s, nil
}

func (r *blockReader) value(depth int) (jsonv.Value, error) {
	if r.off >= len(r.b) {
		return nil, errBlock
	}
	tag := r.b[r.off]
	r.off++
	switch tag {
	case tagNull:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt:
		i, err := r.varint()
		return float64(i), err
	case tagFloat:
		if len(r.b)-r.off < 8 {
			return nil, errBlock
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
		r.off += 8
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errBlock // JSON has no such number
		}
		return f, nil
	case tagString:
		return r.str()
	case tagArray, tagObject:
		if depth >= jsonv.MaxDepth {
			return nil, errBlock
		}
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		if tag == tagArray {
			arr := make([]jsonv.Value, n)
			for i := range arr {
				if arr[i], err = r.value(depth + 1); err != nil {
					return nil, err
				}
			}
			return arr, nil
		}
		obj := &jsonv.Object{Keys: make([]string, n), Vals: make([]jsonv.Value, n)}
		for i := range n {
			k, err := r.str()
			if err != nil {
				return nil, err
			}
			obj.Keys[i] = strings.Clone(k) // keys are kept as they are: own them now
			if obj.Vals[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return obj, nil
	}
	return nil, errBlock
}
