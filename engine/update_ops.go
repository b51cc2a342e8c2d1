package engine

import (
	"strconv"
	"strings"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// Update operators (docs/commands.md, "B.UPDATE"): changes whose keys all
// start with "$" are operators applied to the record, in the spirit of
// MongoDB's and RedisJSON's:
//
//	{"$set":{"address.zip":"10115"}}   set a field, a dot path into objects
//	{"$unset":["nickname"]}            remove fields (or {"nickname":""})
//	{"$inc":{"stock":-1}}              add to a number (a missing one is 0)
//	{"$push":{"tags":"x"}}             append to an array (a missing one is
//	                                   []); {"$each":[…]} appends several
//	{"$pull":{"tags":"x"}}             remove the elements equal to a value
//
// Operators apply in that order, each to the result of the one before; a
// path may appear in one operator only. The key field, metadata fields and
// generated fields cannot be changed. The result is validated as a whole,
// as a merge is.

// updateOps lists the operators in the order they apply.
var updateOps = []string{"$set", "$unset", "$inc", "$push", "$pull"}

// isOperatorUpdate reports whether changes are update operators: every key
// starts with "$". Mixing operators and fields is an error.
func isOperatorUpdate(changes *jsonv.Object) (bool, error) {
	ops := 0
	for _, k := range changes.Keys {
		if strings.HasPrefix(k, "$") {
			ops++
		}
	}
	switch {
	case ops == 0:
		return false, nil
	case ops < changes.Len():
		return false, &ArgError{Msg: "invalid update: mix of operators ($set, …) and fields: give one or the other"}
	}
	return true, nil
}

// applyOperators returns old's fields with the operators of changes
// applied. old's values are never modified: what a path changes is copied.
func applyOperators(def *schema.Definition, old *Record, changes *jsonv.Object) (*jsonv.Object, error) {
	for _, k := range changes.Keys {
		known := false
		for _, op := range updateOps {
			known = known || k == op
		}
		if !known {
			return nil, argErrorf("invalid update: unknown operator %q (expected one of %s)", k, strings.Join(updateOps, ", "))
		}
	}
	obj := &jsonv.Object{
		Keys: append([]string(nil), old.shape.names...),
		Vals: append([]jsonv.Value(nil), old.values()...),
	}
	seen := map[string]string{}
	for _, op := range updateOps {
		arg, ok := changes.Get(op)
		if !ok {
			continue
		}
		paths, vals, err := opArgs(op, arg)
		if err != nil {
			return nil, err
		}
		for i, p := range paths {
			if prev, dup := seen[p]; dup {
				return nil, argErrorf("invalid update: %q is changed by both %s and %s", p, prev, op)
			}
			seen[p] = op
			if err := checkPath(def, p); err != nil {
				return nil, err
			}
			if obj, err = applyAt(obj, strings.Split(p, "."), op, p, vals[i]); err != nil {
				return nil, err
			}
		}
	}
	return obj, nil
}

// opArgs returns the paths an operator names and the value for each.
func opArgs(op string, arg jsonv.Value) ([]string, []jsonv.Value, error) {
	if op == "$unset" {
		if list, ok := arg.([]jsonv.Value); ok {
			paths := make([]string, len(list))
			for i, v := range list {
				s, ok := v.(string)
				if !ok {
					return nil, nil, &ArgError{Msg: "invalid update: $unset takes field names (an array of strings, or an object)"}
				}
				paths[i] = s
			}
			return paths, make([]jsonv.Value, len(list)), nil
		}
	}
	o, ok := arg.(*jsonv.Object)
	if !ok || o.Len() == 0 {
		return nil, nil, argErrorf("invalid update: %s takes an object of fields and values", op)
	}
	return o.Keys, o.Vals, nil
}

// checkPath refuses an empty path and the fields an update cannot change.
func checkPath(def *schema.Definition, p string) error {
	top, _, _ := strings.Cut(p, ".")
	switch {
	case p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, ".."):
		return argErrorf("invalid update: bad field path %q", p)
	case top == def.Key:
		return argErrorf("invalid update: the key field %q cannot be changed", def.Key)
	case schema.IsMeta(top):
		return argErrorf("invalid update: %q is metadata and cannot be changed", top)
	}
	if f := def.Field(top); f != nil && f.Generated != "" {
		return argErrorf("invalid update: %q is generated and cannot be changed", top)
	}
	return nil
}

// applyAt applies op with value v at path (its parts) inside obj and
// returns the new object; obj itself is not modified.
func applyAt(obj *jsonv.Object, path []string, op, full string, v jsonv.Value) (*jsonv.Object, error) {
	out := &jsonv.Object{Keys: append([]string(nil), obj.Keys...), Vals: append([]jsonv.Value(nil), obj.Vals...)}
	name := path[0]
	cur, has := out.Get(name)
	if len(path) > 1 {
		var inner *jsonv.Object
		switch c := cur.(type) {
		case *jsonv.Object:
			inner = c
		case nil:
			if op == "$unset" || op == "$pull" {
				return out, nil // nothing there to remove
			}
			inner = &jsonv.Object{}
		default:
			return nil, argErrorf("invalid update: %s of %q: %q is not an object", op, full, name)
		}
		next, err := applyAt(inner, path[1:], op, full, v)
		if err != nil {
			return nil, err
		}
		out.Set(name, next)
		return out, nil
	}
	switch op {
	case "$set":
		out.Set(name, v)
	case "$unset":
		out.Delete(name)
	case "$inc":
		d, ok := v.(float64)
		if !ok {
			return nil, argErrorf("invalid update: $inc of %q needs a number, not %s", full, jsonv.Marshal(v))
		}
		n := 0.0
		if has && cur != nil {
			if n, ok = cur.(float64); !ok {
				return nil, argErrorf("invalid update: $inc of %q: the field holds %s, not a number", full, jsonv.Marshal(cur))
			}
		}
		out.Set(name, n+d)
	case "$push":
		arr, err := arrayAt(cur, has, op, full)
		if err != nil {
			return nil, err
		}
		items := []jsonv.Value{v}
		if o, ok := v.(*jsonv.Object); ok && o.Len() == 1 {
			if each, ok := o.Get("$each"); ok {
				list, ok := each.([]jsonv.Value)
				if !ok {
					return nil, argErrorf("invalid update: $push of %q: $each takes an array", full)
				}
				items = list
			}
		}
		out.Set(name, append(append(make([]jsonv.Value, 0, len(arr)+len(items)), arr...), items...))
	case "$pull":
		arr, err := arrayAt(cur, has, op, full)
		if err != nil {
			return nil, err
		}
		if !has || cur == nil {
			return out, nil
		}
		kept := make([]jsonv.Value, 0, len(arr))
		for _, x := range arr {
			if !jsonv.Equal(x, v) {
				kept = append(kept, x)
			}
		}
		out.Set(name, kept)
	}
	return out, nil
}

// arrayAt returns the array a field holds (none: empty), or an error.
func arrayAt(cur jsonv.Value, has bool, op, full string) ([]jsonv.Value, error) {
	if !has || cur == nil {
		return nil, nil
	}
	arr, ok := cur.([]jsonv.Value)
	if !ok {
		return nil, argErrorf("invalid update: %s of %q: the field holds %s, not an array", op, full, truncate(jsonv.Marshal(cur)))
	}
	return arr, nil
}

// truncate shortens a value's text for an error message.
func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…(" + strconv.Itoa(len(b)) + " bytes)"
	}
	return string(b)
}
