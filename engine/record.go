package engine

import (
	"sync"

	"bucketd/engine/jsonv"
)

// Record is one stored record. Records are immutable: a write replaces the
// record with a new one, so a *Record handed out stays valid and unchanged
// after the bucket's lock is released.
type Record struct {
	// keys and vals are the fields in output order, without metadata.
	// Records of one shape share their keys slice (see Bucket.newRecord).
	keys []string
	vals []jsonv.Value
	key  jsonv.Value

	// Version is _version: 1 on insert, one more on each update.
	Version int64
	// CreatedAt is _createdAt in Unix milliseconds.
	CreatedAt int64
	// UpdatedAt is _updatedAt in Unix milliseconds.
	UpdatedAt int64
	// ExpiresAt is _expiresAt in Unix milliseconds, or 0 for none.
	ExpiresAt int64

	json []byte // the canonical JSON text, metadata included
}

// newRecord builds a record from its canonical fields. Its field names are
// the bucket's last layout when they are the same names in the same order,
// so that records of one shape share one slice of names; its JSON text is
// encoded once, into a slice of exactly its size. b.mu must be held for
// writing.
func (b *Bucket) newRecord(obj *jsonv.Object, key jsonv.Value, version, created, updated, expires int64) *Record {
	keys := obj.Keys
	if sameNames(b.layout, keys) {
		keys = b.layout
	} else {
		b.layout = keys
	}
	r := &Record{keys: keys, vals: obj.Vals, key: key, Version: version, CreatedAt: created, UpdatedAt: updated, ExpiresAt: expires}
	scratch := encodeBuf.Get().(*[]byte)
	*scratch = r.encode((*scratch)[:0])
	r.json = append(make([]byte, 0, len(*scratch)), *scratch...)
	if cap(*scratch) <= 64<<10 {
		encodeBuf.Put(scratch)
	}
	return r
}

var encodeBuf = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Key returns the record's primary key value.
func (r *Record) Key() jsonv.Value { return r.key }

// JSON returns the record's canonical JSON text. The slice must not be
// modified.
func (r *Record) JSON() []byte { return r.json }

// AppendJSON appends the record's canonical JSON text to dst.
func (r *Record) AppendJSON(dst []byte) []byte { return append(dst, r.json...) }

// Fields returns the record's fields without metadata, in output order. The
// object must not be modified.
func (r *Record) Fields() *jsonv.Object { return &jsonv.Object{Keys: r.keys, Vals: r.vals} }

// field returns a non-metadata field's value.
func (r *Record) field(name string) (jsonv.Value, bool) {
	for i, k := range r.keys {
		if k == name {
			return r.vals[i], true
		}
	}
	return nil, false
}

// Get returns a field's value, metadata fields included.
func (r *Record) Get(field string) (jsonv.Value, bool) {
	if len(field) > 0 && field[0] == '_' {
		switch field {
		case "_version":
			return float64(r.Version), true
		case "_createdAt":
			return float64(r.CreatedAt), true
		case "_updatedAt":
			return float64(r.UpdatedAt), true
		case "_expiresAt":
			if r.ExpiresAt == 0 {
				return nil, false
			}
			return float64(r.ExpiresAt), true
		}
	}
	return r.field(field)
}

// expired reports whether the record has expired at now (ms).
func (r *Record) expired(now int64) bool { return r.ExpiresAt != 0 && r.ExpiresAt <= now }

func (r *Record) encode(dst []byte) []byte {
	dst = append(dst, '{')
	for i, k := range r.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonv.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsonv.Append(dst, r.vals[i])
	}
	if len(r.keys) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"_version":`...)
	dst = jsonv.AppendNumber(dst, float64(r.Version))
	dst = append(dst, `,"_createdAt":`...)
	dst = jsonv.AppendNumber(dst, float64(r.CreatedAt))
	dst = append(dst, `,"_updatedAt":`...)
	dst = jsonv.AppendNumber(dst, float64(r.UpdatedAt))
	if r.ExpiresAt != 0 {
		dst = append(dst, `,"_expiresAt":`...)
		dst = jsonv.AppendNumber(dst, float64(r.ExpiresAt))
	}
	return append(dst, '}')
}

// memSize estimates the heap bytes the record holds.
func (r *Record) memSize() int64 {
	n := int64(cap(r.json)) + 128 + int64(cap(r.vals))*16
	for _, v := range r.vals {
		n += valueSize(v)
	}
	return n
}

func valueSize(v jsonv.Value) int64 {
	switch t := v.(type) {
	case string:
		return int64(len(t)) + 16
	case float64:
		return 8
	case []jsonv.Value:
		n := int64(cap(t)) * 16
		for _, e := range t {
			n += valueSize(e)
		}
		return n
	case *jsonv.Object:
		n := int64(48 + cap(t.Keys)*16 + cap(t.Vals)*16)
		for i, e := range t.Vals {
			n += int64(len(t.Keys[i])) + valueSize(e)
		}
		return n
	}
	return 0
}
