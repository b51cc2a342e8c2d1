package schema

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/google/uuid"

	"bucketd/jsonv"
)

// IDGen makes the random identifiers of generated fields. Tests inject a
// deterministic one. Implementations must be safe for concurrent use.
type IDGen interface {
	// UUID returns a new random UUID v4, lowercase with dashes.
	UUID() string
	// CUID returns a new collision-resistant id: "c" and 32 lowercase hex
	// digits (16 random bytes), as noex-store makes them.
	CUID() string
}

// DefaultIDGen is the IDGen used when Fill is given nil: UUIDs from
// github.com/google/uuid and CUIDs from crypto/rand. It is safe for
// concurrent use.
var DefaultIDGen IDGen = randomIDs{}

// randomIDs is the default IDGen.
type randomIDs struct{}

// UUID returns a random UUID v4.
func (randomIDs) UUID() string { return uuid.NewString() }

// CUID returns "c" followed by 16 random bytes in lowercase hex.
func (randomIDs) CUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	var out [33]byte
	out[0] = 'c'
	hex.Encode(out[1:], b[:])
	return string(out[:])
}

// NeedsFill reports whether Fill can change a record: whether some field is
// generated or has a default.
func (d *Definition) NeedsFill() bool { return d.needFill }

// Fill prepares obj for insert by giving values to its ABSENT schema fields,
// in schema order:
//
//   - a generated field gets a new value: uuid and cuid from gen (nil
//     means DefaultIDGen), autoincrement the next counter value (counter+1,
//     then counter+2 for a second autoincrement field, …), timestamp now
//     (Unix ms);
//   - a field with a default gets a deep copy of the default, so that no two
//     records share it.
//
// A field that is present, even with null, is left as it is (noex-store
// replaces only undefined; a null then fails "required" if the field is
// required). Added fields are appended to obj. Fill returns the new counter,
// which is counter when no autoincrement value was generated; the caller
// keeps it only if the insert succeeds. It is safe for concurrent use on
// different objects.
func (d *Definition) Fill(obj *jsonv.Object, counter int64, now int64, gen IDGen) int64 {
	if !d.needFill {
		return counter
	}
	for _, f := range d.Fields {
		if f.Generated == "" && !f.HasDefault {
			continue
		}
		if obj.Index(f.Name) >= 0 {
			continue
		}
		var v jsonv.Value
		switch f.Generated {
		case GenUUID:
			if gen == nil {
				gen = DefaultIDGen
			}
			v = gen.UUID()
		case GenCUID:
			if gen == nil {
				gen = DefaultIDGen
			}
			v = gen.CUID()
		case GenAutoincrement:
			counter++
			v = float64(counter)
		case GenTimestamp:
			v = float64(now)
		default:
			v = jsonv.Clone(f.Default)
		}
		obj.Keys = append(obj.Keys, f.Name)
		obj.Vals = append(obj.Vals, v)
	}
	return counter
}

// Canonical returns a new object holding obj's fields in output order: the
// key field, the other schema fields in definition order, then the fields
// not in the schema in their order in obj. The metadata fields (_version,
// _createdAt, _updatedAt, _expiresAt) are left out; the store appends them.
// Values are shared with obj, not copied.
func (d *Definition) Canonical(obj *jsonv.Object) *jsonv.Object {
	if d.isCanonical(obj) {
		return obj
	}
	out := jsonv.NewObject(obj.Len())
	if v, ok := obj.Get(d.Key); ok {
		out.Keys = append(out.Keys, d.Key)
		out.Vals = append(out.Vals, v)
	}
	for _, f := range d.Fields {
		if f == d.key {
			continue
		}
		if v, ok := obj.Get(f.Name); ok {
			out.Keys = append(out.Keys, f.Name)
			out.Vals = append(out.Vals, v)
		}
	}
	for i, k := range obj.Keys {
		if d.byName[k] == nil && !IsMeta(k) {
			out.Keys = append(out.Keys, k)
			out.Vals = append(out.Vals, obj.Vals[i])
		}
	}
	return out
}

// isCanonical reports whether obj already has its fields in output order
// (key, schema fields in definition order, others) and no metadata, so
// that Canonical need not copy it.
func (d *Definition) isCanonical(obj *jsonv.Object) bool {
	if obj.Len() == 0 || obj.Keys[0] != d.Key {
		return false
	}
	next := 0 // index in d.Fields of the next schema field allowed
	others := false
	for _, k := range obj.Keys[1:] {
		if IsMeta(k) {
			return false
		}
		f := d.byName[k]
		if f == nil {
			others = true
			continue
		}
		if others || f == d.key {
			return false
		}
		i := next
		for i < len(d.Fields) && d.Fields[i] != f {
			i++
		}
		if i == len(d.Fields) {
			return false
		}
		next = i + 1
	}
	return true
}
