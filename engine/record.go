package engine

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"bucketd/jsonv"
)

// Record is one stored record. Records are immutable: a write replaces the
// record with a new one, so a *Record handed out stays valid and unchanged
// after the bucket's lock is released.
//
// A record is kept small, as a bucket holds many: its field names live in a
// shape shared with the other records of the same fields, its key is one of
// its values, and its JSON text is kept without the metadata, which is
// appended from the four numbers when the text is written out.
type Record struct {
	shape *shape
	// vals points to the fields' values in output order, as many as
	// shape.names, vals[i] named shape.names[i]; metadata is not among them
	// (see values). body points to bodyLen bytes of JSON text: the fields,
	// without the metadata and the closing brace: `{"id":"1","name":"Ann"`,
	// or `{` for none (see text); it is nil when the record keeps no text
	// (see buildRecord), bodyLen still being the text's length. Pointers
	// and a length instead of two slices keep a record in 64 bytes.
	vals    *jsonv.Value
	body    *byte
	bodyLen uint32

	// Version is _version: 1 on insert, one more on each update.
	Version int64
	// CreatedAt is _createdAt in Unix milliseconds.
	CreatedAt int64
	// UpdatedAt is _updatedAt in Unix milliseconds.
	UpdatedAt int64
	// ExpiresAt is _expiresAt in Unix milliseconds, or 0 for none.
	ExpiresAt int64
}

// values returns the record's field values; the slice must not be modified.
func (r *Record) values() []jsonv.Value { return unsafe.Slice(r.vals, len(r.shape.names)) }

// text returns the JSON text of the fields (see Record.body), which r must
// keep; the slice must not be modified.
func (r *Record) text() []byte { return unsafe.Slice(r.body, r.bodyLen) }

// shape is the field names of records, shared by all the records of a bucket
// that have the same fields in the same order.
type shape struct {
	names []string
	key   int // position of the key field in names
	// heads[i] is the JSON text before value i: `{"name":` for the first,
	// `,"name":` for the others.
	heads []string
}

// newShape returns the shape of the field names, key at position key.
func newShape(names []string, key int) *shape {
	names = names[:len(names):len(names)] // shared: an append must copy
	sh := &shape{names: names, key: key, heads: make([]string, len(names))}
	for i, n := range names {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		sh.heads[i] = string(append(jsonv.AppendString([]byte{sep}, n), ':'))
	}
	return sh
}

// newRecord builds a record from its canonical fields, which must include
// the key field. Its shape is the bucket's last one when the names are the
// same in the same order. b.mu must be held for writing.
func (b *Bucket) newRecord(obj *jsonv.Object, version, created, updated, expires int64) *Record {
	sh := b.shape
	if sh == nil || !sameNames(sh.names, obj.Keys) || sh.names[sh.key] != b.def.Key {
		sh = newShape(obj.Keys, obj.Index(b.def.Key))
		b.setShape(sh)
	}
	r := buildRecord(sh, obj.Vals)
	r.Version, r.CreatedAt, r.UpdatedAt, r.ExpiresAt = version, created, updated, expires
	return r
}

// setShape makes sh the shape of the bucket's next records. b.mu must be
// held for writing.
func (b *Bucket) setShape(sh *shape) {
	b.shape = sh
	b.lastShape.Store(sh)
}

// buildRecord returns a record of shape sh with the values vals, in sh's
// order, and no metadata. Its JSON text is encoded once, into a slice of
// exactly its size, and its top-level strings are pointed into that text
// (in vals, which the record keeps), so that each is stored once.
//
// A string that needs escaping cannot be shared so: the text holds it
// escaped. When such strings make up an eighth of the text or more, the
// record keeps no text, which would hold them a second time, and writes
// its text from its values when asked (Record.AppendJSON); its other
// top-level strings are then copied, so that none keeps the text of a
// record it was taken from alive.
func buildRecord(sh *shape, vals []jsonv.Value) *Record { return buildRecordIn(sh, vals, false) }

// buildRecordIn is buildRecord; with ownBoxes set, the boxes of vals's
// non-empty strings are the caller's alone (see setBoxedString), and the
// strings pointed into the text are written into them instead of being
// boxed anew.
func buildRecordIn(sh *shape, vals []jsonv.Value, ownBoxes bool) *Record {
	vals = vals[:len(vals):len(vals)]
	sc := encodeScratch.Get().(*scratch)
	defer sc.put()
	sc.buf, sc.ends = encodeBody(sh, vals, sc.buf[:0], sc.ends[:0])
	if uint64(len(sc.buf)) > math.MaxUint32 {
		panic("engine: record text over 4 GiB")
	}
	r := &Record{shape: sh, vals: unsafe.SliceData(vals), bodyLen: uint32(len(sc.buf))}
	escaped := 0
	for i, v := range vals {
		if s, ok := v.(string); ok && s != "" && !plainAt(sc.buf, sc.ends[i], s) {
			escaped += len(s)
		}
	}
	if escaped > 0 && escaped >= len(sc.buf)/8 {
		for i, v := range vals {
			if s, ok := v.(string); ok && s != "" && plainAt(sc.buf, sc.ends[i], s) {
				vals[i] = strings.Clone(s)
			}
		}
		return r
	}
	// Nothing writes to body once it is built: the strings below and
	// Record.text rely on it.
	body := append(make([]byte, 0, len(sc.buf)), sc.buf...)
	for i, v := range vals {
		if s, ok := v.(string); ok && s != "" && plainAt(body, sc.ends[i], s) {
			if in := unsafe.String(&body[sc.ends[i]-len(s)-1], len(s)); ownBoxes {
				setBoxedString(&vals[i], in)
			} else {
				vals[i] = in
			}
		}
	}
	r.body = unsafe.SliceData(body)
	return r
}

// adoptRecord is buildRecord for values vals parsed from text by
// jsonv.ParseObjectAliased, when text is the record's JSON text and its
// closing brace, and nothing else: the record then takes text as its own,
// which the strings of vals point into already. It returns nil when text
// is not exactly that (spaces, another order, numbers written otherwise) or
// when buildRecord would keep no text. Nothing may write to text after.
func adoptRecord(sh *shape, vals []jsonv.Value, text []byte) *Record {
	vals = vals[:len(vals):len(vals)]
	sc := encodeScratch.Get().(*scratch)
	defer sc.put()
	sc.buf, sc.ends = encodeBody(sh, vals, sc.buf[:0], sc.ends[:0])
	n := len(sc.buf)
	if len(text) != n+1 || text[n] != '}' || !bytes.Equal(sc.buf, text[:n]) || uint64(n) > math.MaxUint32 {
		return nil
	}
	escaped := 0
	for i, v := range vals {
		if s, ok := v.(string); ok && s != "" && !plainAt(text, sc.ends[i], s) {
			escaped += len(s)
		}
	}
	if escaped > 0 && escaped >= n/8 {
		return nil
	}
	for i, v := range vals {
		// The parser put them there; a string from elsewhere is moved.
		if s, ok := v.(string); ok && s != "" && plainAt(text, sc.ends[i], s) {
			if at := &text[sc.ends[i]-len(s)-1]; unsafe.StringData(s) != at {
				vals[i] = unsafe.String(at, len(s))
			}
		}
	}
	return &Record{shape: sh, vals: unsafe.SliceData(vals), body: &text[0], bodyLen: uint32(n)}
}

// setBoxedString makes *v, which holds a non-empty string, hold s (an
// equal string elsewhere) by writing s into the box v points to, where
// v = s would allocate a new box. The rule: the box must be v's alone —
// as the boxes the start-up decoders make are (blockReader.value boxes
// each string it reads; jsonv's parser boxes each string value it
// returns, and Go allocates a new box for every non-empty string made an
// interface). A box shared with another value would change that value
// too. TestBoxesOwned checks that decoded records' strings point into
// their own text, that no two values share a box, and that the records
// do not change when the bytes they were decoded from do.
func setBoxedString(v *jsonv.Value, s string) {
	type eface struct{ typ, data unsafe.Pointer }
	*(*string)((*eface)(unsafe.Pointer(v)).data) = s
}

// plainAt reports whether the JSON text of the string s, which ends at end
// in text, is s between two quotes: s needed no escaping.
func plainAt(text []byte, end int, s string) bool {
	start := end - len(s) - 1
	return start >= 1 && text[start-1] == '"' && string(text[start:end-1]) == s
}

// scratch is the reused buffer of buildRecord.
type scratch struct {
	buf  []byte
	ends []int // where each value's text ends in buf
}

var encodeScratch = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 512)} }}

// put returns sc to the pool unless it grew large.
func (sc *scratch) put() {
	if cap(sc.buf) <= 64<<10 && cap(sc.ends) <= 1<<12 {
		encodeScratch.Put(sc)
	}
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] { // one slice: the parser shares a shape's keys
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Key returns the record's primary key value.
func (r *Record) Key() jsonv.Value { return r.values()[r.shape.key] }

// JSON returns the record's canonical JSON text, metadata included, in a
// new slice.
func (r *Record) JSON() []byte { return r.AppendJSON(make([]byte, 0, r.JSONLen())) }

// AppendJSON appends the record's canonical JSON text to dst.
func (r *Record) AppendJSON(dst []byte) []byte {
	if r.body != nil {
		dst = append(dst, r.text()...)
	} else {
		dst = appendBody(r.shape, r.values(), dst)
	}
	if len(r.shape.names) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"_version":`...)
	dst = strconv.AppendInt(dst, r.Version, 10)
	dst = append(dst, `,"_createdAt":`...)
	start := len(dst)
	dst = strconv.AppendInt(dst, r.CreatedAt, 10)
	end := len(dst)
	dst = append(dst, `,"_updatedAt":`...)
	if r.UpdatedAt == r.CreatedAt { // never updated: the same digits
		dst = append(dst, dst[start:end]...)
	} else {
		dst = strconv.AppendInt(dst, r.UpdatedAt, 10)
	}
	if r.ExpiresAt != 0 {
		dst = append(dst, `,"_expiresAt":`...)
		dst = strconv.AppendInt(dst, r.ExpiresAt, 10)
	}
	return append(dst, '}')
}

// JSONLen returns the length of the record's JSON text.
func (r *Record) JSONLen() int {
	n := int(r.bodyLen) + len(`"_version":,"_createdAt":,"_updatedAt":}`) + intLen(r.Version) + intLen(r.CreatedAt) + intLen(r.UpdatedAt)
	if len(r.shape.names) > 0 {
		n++
	}
	if r.ExpiresAt != 0 {
		n += len(`,"_expiresAt":`) + intLen(r.ExpiresAt)
	}
	return n
}

// intLen returns the length of n in decimal.
func intLen(n int64) int {
	l := 1
	if n < 0 {
		l++
		if n == math.MinInt64 {
			return 20
		}
		n = -n
	}
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

// Fields returns the record's fields without metadata, in output order. The
// object must not be modified.
func (r *Record) Fields() *jsonv.Object {
	return &jsonv.Object{Keys: r.shape.names, Vals: r.values()}
}

// field returns a non-metadata field's value.
func (r *Record) field(name string) (jsonv.Value, bool) {
	for i, k := range r.shape.names {
		if k == name {
			return r.values()[i], true
		}
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return r.path(name, i)
	}
	return nil, false
}

// TopLevelField returns a top-level field's value, never a path's
// (query.TopLevel).
func (r *Record) TopLevelField(name string) (jsonv.Value, bool) {
	for i, k := range r.shape.names {
		if k == name {
			return r.values()[i], true
		}
	}
	return nil, false
}

// path returns the value at the dot path name, whose first dot is at i,
// when no top-level field has that name (docs/commands.md, "Paths"):
// each step goes into an object by a key, or into an array by a
// non-negative decimal index.
func (r *Record) path(name string, i int) (jsonv.Value, bool) {
	v, ok := r.field(name[:i])
	for ok && i < len(name) {
		rest := name[i+1:]
		step := rest
		if j := strings.IndexByte(rest, '.'); j >= 0 {
			step = rest[:j]
			i += j + 1
		} else {
			i = len(name)
		}
		v, ok = pathStep(v, step)
	}
	return v, ok
}

// pathStep returns the member of v that one step of a dot path names: the
// value of key step in an object, or the element at index step (decimal,
// no sign, no leading zero) in an array.
func pathStep(v jsonv.Value, step string) (jsonv.Value, bool) {
	switch x := v.(type) {
	case *jsonv.Object:
		return x.Get(step)
	case []jsonv.Value:
		if step == "" || strings.Trim(step, "0123456789") != "" || (len(step) > 1 && step[0] == '0') {
			return nil, false
		}
		n, err := strconv.Atoi(step)
		if err != nil || n >= len(x) {
			return nil, false
		}
		return x[n], true
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

// encodeBody appends the JSON text of fields vals, named by sh, without
// metadata or the closing brace (see Record.body), and to ends where each
// value's text ends.
func encodeBody(sh *shape, vals []jsonv.Value, dst []byte, ends []int) ([]byte, []int) {
	if len(sh.names) == 0 {
		return append(dst, '{'), ends
	}
	for i, head := range sh.heads {
		dst = append(dst, head...)
		dst = jsonv.Append(dst, vals[i])
		ends = append(ends, len(dst))
	}
	return dst, ends
}

// appendBody is encodeBody without the ends.
func appendBody(sh *shape, vals []jsonv.Value, dst []byte) []byte {
	if len(sh.names) == 0 {
		return append(dst, '{')
	}
	for i, head := range sh.heads {
		dst = append(dst, head...)
		dst = jsonv.Append(dst, vals[i])
	}
	return dst
}

// memSize estimates the heap bytes the record holds.
func (r *Record) memSize() int64 {
	vals := r.values()
	n := 64 + int64(len(vals))*16
	if r.body != nil {
		n += int64(r.bodyLen)
	}
	for _, v := range vals {
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
