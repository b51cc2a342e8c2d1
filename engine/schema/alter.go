package schema

import (
	"errors"
	"slices"

	"bucketd/jsonv"
)

// Alter applies the changes of BUCKET.ALTER and returns the new definition;
// d itself is not changed. The changes are a JSON object with any of:
//
//	"addFields":  {name: fieldDefinition, …}  new schema fields, appended in order
//	"addIndexes": [name, …]                   new secondary indexes (existing or added fields)
//	"ttl":        "1h" | 3600000 | null        a new TTL; null removes it
//
// Adding a field that exists, indexing a field that is not in the (new)
// schema, an unknown key or a bad field definition is a *DefinitionError
// ("invalid changes: …") naming the field; a bad ttl is a *DurationError; a
// JSON syntax error is a *jsonv.SyntaxError. Indexes already present are
// ignored. Alter does not look at existing records: adding a required field
// without a default is allowed, and records that lack it fail validation
// on their next update.
func (d *Definition) Alter(changes []byte) (*Definition, error) {
	obj, err := jsonv.ParseObject(changes)
	if err != nil {
		return nil, err
	}
	n := *d
	n.Fields = slices.Clone(d.Fields)
	n.Indexes = slices.Clone(d.Indexes)
	for _, k := range obj.Keys {
		switch k {
		case "addFields", "addIndexes", "ttl":
		default:
			return nil, alterErr("", "unknown key "+quote(k)+" (expected one of: addFields, addIndexes, ttl)")
		}
	}
	if v, ok := obj.Get("addFields"); ok {
		fo, ok := v.(*jsonv.Object)
		if !ok {
			return nil, alterErr("", `"addFields" must be an object of field definitions`)
		}
		for i, name := range fo.Keys {
			if d.byName[name] != nil {
				return nil, alterErr(name, "field "+quote(name)+" already exists in the schema")
			}
			f, err := parseField(name, fo.Vals[i])
			if err != nil {
				return nil, asAlter(err)
			}
			n.Fields = append(n.Fields, f)
		}
	}
	if v, ok := obj.Get("addIndexes"); ok {
		arr, ok := v.([]jsonv.Value)
		if !ok {
			return nil, alterErr("", `"addIndexes" must be an array of field names`)
		}
		for _, e := range arr {
			name, ok := e.(string)
			if !ok {
				return nil, alterErr("", `"addIndexes" must be an array of field names`)
			}
			if !slices.Contains(n.Indexes, name) {
				n.Indexes = append(n.Indexes, name)
			}
		}
	}
	if v, ok := obj.Get("ttl"); ok {
		n.TTL = 0
		if v != nil {
			if n.TTL, err = ParseDuration(v); err != nil {
				return nil, err
			}
		}
	}
	if err := n.finish(); err != nil {
		return nil, asAlter(err)
	}
	return &n, nil
}

// alterErr returns a change-set error about field.
func alterErr(field, msg string) *DefinitionError {
	return &DefinitionError{Field: field, Msg: msg, Alter: true}
}

// asAlter marks a *DefinitionError as coming from Alter.
func asAlter(err error) error {
	var de *DefinitionError
	if errors.As(err, &de) {
		c := *de
		c.Alter = true
		return &c
	}
	return err
}
