package schema

import (
	"math"
	"slices"

	"bucketd/engine/jsonv"
)

// Type is the declared type of a schema field.
type Type string

// The field types.
const (
	TypeString  Type = "string"  // a JSON string
	TypeNumber  Type = "number"  // a finite JSON number
	TypeBoolean Type = "boolean" // true or false
	TypeObject  Type = "object"  // a JSON object (not null, not an array)
	TypeArray   Type = "array"   // a JSON array
	TypeDate    Type = "date"    // an ISO-8601 string or a finite number of Unix ms
)

// The kinds of generated fields (Field.Generated).
const (
	GenUUID          = "uuid"          // a random UUID v4, lowercase with dashes; string fields
	GenCUID          = "cuid"          // "c" + 32 lowercase hex digits; string fields
	GenAutoincrement = "autoincrement" // the bucket's counter + 1; number fields
	GenTimestamp     = "timestamp"     // the insert time in Unix ms; number or date fields
)

// The string formats (Field.Format).
const (
	FormatEmail   = "email"    // local@domain.tld, no whitespace
	FormatURL     = "url"      // an absolute URL, as the WHATWG URL parser accepts it
	FormatISODate = "iso-date" // YYYY-MM-DD[THH:MM:SS[.f][Z|±HH:MM]], a real calendar date
)

// The metadata fields, set by the store alone.
const (
	MetaVersion   = "_version"
	MetaCreatedAt = "_createdAt"
	MetaUpdatedAt = "_updatedAt"
	MetaExpiresAt = "_expiresAt"
)

// IsMeta reports whether name is one of the four metadata fields: _version,
// _createdAt, _updatedAt and _expiresAt.
func IsMeta(name string) bool {
	switch name {
	case MetaVersion, MetaCreatedAt, MetaUpdatedAt, MetaExpiresAt:
		return true
	}
	return false
}

// Definition is a parsed bucket definition. It is immutable: Alter returns
// a new Definition. A Definition is safe for concurrent use.
type Definition struct {
	// Key names the primary-key field, which is in Fields and has type
	// string or number.
	Key string
	// Fields holds the schema fields in the key order of the "schema"
	// object.
	Fields []*Field
	// Indexes lists the secondary indexes in the order given, without
	// duplicates.
	Indexes []string
	// TTL is the record lifetime in milliseconds; 0 means none.
	TTL int64
	// MaxSize is the largest number of records; 0 means no limit.
	MaxSize int
	// Persistent tells whether the bucket is saved to disk (default true).
	Persistent bool
	// Ordered keeps records sorted by key instead of insertion order.
	Ordered bool

	byName   map[string]*Field
	key      *Field
	keyPos   int // index of key in Fields
	unique   []string
	canon    []byte // JSON()
	needFill bool   // some field is generated or has a default
}

// Field returns the schema field called name, or nil.
func (d *Definition) Field(name string) *Field { return d.byName[name] }

// KeyField returns the key field.
func (d *Definition) KeyField() *Field { return d.key }

// UniqueFields returns the names of the fields with unique:true, in schema
// order. The caller must not modify the slice.
func (d *Definition) UniqueFields() []string { return d.unique }

// JSON returns the canonical JSON text of the definition. Two definitions
// that mean the same thing give the same bytes: keys in a fixed order,
// defaults (false, none) left out, ttl in milliseconds, the key field
// marked required. Field, enum and index order are kept, as they are
// visible to clients (so a redefinition listing the same indexes in another
// order is a different definition). Parse(d.JSON()) gives back an equal Definition.
// The caller owns the returned slice.
func (d *Definition) JSON() []byte { return slices.Clone(d.canon) }

// Parse reads a bucket definition (the JSON text of BUCKET.DEFINE):
//
//	{"key": "id", "schema": {"id": {"type": "string", "generated": "uuid"}, …},
//	 "indexes": ["role"], "ttl": "30m", "maxSize": 10000,
//	 "persistent": true, "ordered": false}
//
// A JSON syntax error is returned as the parser's *jsonv.SyntaxError, a bad
// ttl as a *DurationError, anything else as a *DefinitionError naming the
// offending field or key. The rules are in the package documentation.
func Parse(data []byte) (*Definition, error) {
	obj, err := jsonv.ParseObject(data)
	if err != nil {
		return nil, err
	}
	return fromObject(obj)
}

// topKeys lists the keys a definition may have, for error messages.
const topKeys = "key, schema, indexes, ttl, maxSize, persistent, ordered"

// fromObject builds a Definition from a parsed definition object.
func fromObject(obj *jsonv.Object) (*Definition, error) {
	d := &Definition{Persistent: true}
	for _, k := range obj.Keys {
		switch k {
		case "key", "schema", "indexes", "ttl", "maxSize", "persistent", "ordered", "etsType":
		default:
			return nil, defErr("", "unknown key "+quote(k)+" (expected one of: "+topKeys+")")
		}
	}

	kv, ok := obj.Get("key")
	if !ok {
		return nil, defErr("", `"key" is required`)
	}
	if d.Key, ok = kv.(string); !ok {
		return nil, defErr("", `"key" must be a string naming a schema field`)
	}

	sv, ok := obj.Get("schema")
	if !ok {
		return nil, defErr("", `"schema" is required`)
	}
	so, ok := sv.(*jsonv.Object)
	if !ok || so.Len() == 0 {
		return nil, defErr("", `"schema" must be a non-empty object of field definitions`)
	}
	d.Fields = make([]*Field, 0, so.Len())
	for i, name := range so.Keys {
		f, err := parseField(name, so.Vals[i])
		if err != nil {
			return nil, err
		}
		d.Fields = append(d.Fields, f)
	}

	if v, ok := obj.Get("indexes"); ok && v != nil {
		arr, ok := v.([]jsonv.Value)
		if !ok {
			return nil, defErr("", `"indexes" must be an array of field names`)
		}
		for _, e := range arr {
			name, ok := e.(string)
			if !ok {
				return nil, defErr("", `"indexes" must be an array of field names`)
			}
			if !slices.Contains(d.Indexes, name) {
				d.Indexes = append(d.Indexes, name)
			}
		}
	}

	if v, ok := obj.Get("ttl"); ok && v != nil {
		ttl, err := ParseDuration(v)
		if err != nil {
			return nil, err
		}
		d.TTL = ttl
	}

	if v, ok := obj.Get("maxSize"); ok && v != nil {
		n, ok := v.(float64)
		if !ok || n < 1 || n != math.Trunc(n) || n > maxSafe {
			return nil, defErr("", `"maxSize" must be a positive integer`)
		}
		d.MaxSize = int(n)
	}

	if v, ok := obj.Get("persistent"); ok {
		if d.Persistent, ok = v.(bool); !ok {
			return nil, defErr("", `"persistent" must be a boolean`)
		}
	}
	ordered, hasOrdered := obj.Get("ordered")
	if hasOrdered {
		if d.Ordered, ok = ordered.(bool); !ok {
			return nil, defErr("", `"ordered" must be a boolean`)
		}
	}
	// etsType is noex-store's spelling of "ordered"; accepted so that its
	// definitions work unchanged.
	if v, ok := obj.Get("etsType"); ok {
		s, _ := v.(string)
		var o bool
		switch s {
		case "set", "bag", "duplicate_bag":
		case "ordered_set":
			o = true
		default:
			return nil, defErr("", `"etsType" must be one of: set, ordered_set, bag, duplicate_bag`)
		}
		if hasOrdered && o != d.Ordered {
			return nil, defErr("", `"etsType" contradicts "ordered"`)
		}
		d.Ordered = o
	}

	if err := d.finish(); err != nil {
		return nil, err
	}
	return d, nil
}

// finish checks the cross-field rules (key and indexes name schema fields),
// marks the key field required and computes the lookup tables and the
// canonical JSON.
func (d *Definition) finish() error {
	d.byName = make(map[string]*Field, len(d.Fields))
	d.unique = nil
	d.needFill = false
	for _, f := range d.Fields {
		d.byName[f.Name] = f
		if f.Unique {
			d.unique = append(d.unique, f.Name)
		}
		if f.Generated != "" || f.HasDefault {
			d.needFill = true
		}
	}
	kf := d.byName[d.Key]
	if kf == nil {
		return defErr(d.Key, "key field "+quote(d.Key)+" is not in the schema")
	}
	if kf.Type != TypeString && kf.Type != TypeNumber {
		return defErr(d.Key, "key field "+quote(d.Key)+` must have type "string" or "number", not `+quote(string(kf.Type)))
	}
	if !kf.Required {
		if kf.HasDefault && kf.Default == nil {
			return defErr(d.Key, "key field "+quote(d.Key)+" cannot default to null")
		}
		c := *kf // Fields are shared between definitions: copy, never mutate
		c.Required = true
		kf = &c
		d.byName[d.Key] = kf
	}
	d.key = kf
	for i, f := range d.Fields {
		if f.Name == d.Key {
			d.Fields[i] = kf
			d.keyPos = i
		}
	}
	for _, name := range d.Indexes {
		if d.byName[name] == nil {
			return defErr(name, "index field "+quote(name)+" is not in the schema")
		}
	}
	d.canon = d.appendJSON(nil)
	return nil
}

// defErr returns a definition error about field.
func defErr(field, msg string) *DefinitionError {
	return &DefinitionError{Field: field, Msg: msg}
}

// maxSafe is 2^53, the largest integer below which every float64 integer is
// exact; integer settings must not exceed it.
const maxSafe = 1 << 53

// appendJSON appends the canonical JSON of d (see JSON).
func (d *Definition) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = jsonv.AppendString(b, d.Key)
	b = append(b, `,"schema":{`...)
	for i, f := range d.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonv.AppendString(b, f.Name)
		b = append(b, ':')
		b = f.appendJSON(b)
	}
	b = append(b, `},"indexes":[`...)
	for i, name := range d.Indexes {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonv.AppendString(b, name)
	}
	b = append(b, ']')
	if d.TTL > 0 {
		b = append(b, `,"ttl":`...)
		b = jsonv.AppendNumber(b, float64(d.TTL))
	}
	if d.MaxSize > 0 {
		b = append(b, `,"maxSize":`...)
		b = jsonv.AppendNumber(b, float64(d.MaxSize))
	}
	b = append(b, `,"persistent":`...)
	b = jsonv.Append(b, d.Persistent)
	b = append(b, `,"ordered":`...)
	b = jsonv.Append(b, d.Ordered)
	return append(b, '}')
}
