package engine

import (
	"bucketd/engine/jsonv"
)

// Record is one stored record. Records are immutable: a write replaces the
// record with a new one, so a *Record handed out stays valid and unchanged
// after the bucket's lock is released.
type Record struct {
	obj *jsonv.Object // fields in output order, without metadata
	key jsonv.Value

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

func newRecord(obj *jsonv.Object, key jsonv.Value, version, created, updated, expires int64) *Record {
	r := &Record{obj: obj, key: key, Version: version, CreatedAt: created, UpdatedAt: updated, ExpiresAt: expires}
	r.json = r.encode(make([]byte, 0, 64+16*obj.Len()))
	return r
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
func (r *Record) Fields() *jsonv.Object { return r.obj }

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
	return r.obj.Get(field)
}

// expired reports whether the record has expired at now (ms).
func (r *Record) expired(now int64) bool { return r.ExpiresAt != 0 && r.ExpiresAt <= now }

func (r *Record) encode(dst []byte) []byte {
	dst = append(dst, '{')
	for i, k := range r.obj.Keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonv.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsonv.Append(dst, r.obj.Vals[i])
	}
	if r.obj.Len() > 0 {
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
	n := int64(cap(r.json)) + 96 + int64(cap(r.obj.Keys))*16 + int64(cap(r.obj.Vals))*16
	for _, v := range r.obj.Vals {
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
