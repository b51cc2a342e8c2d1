package jsonv

// Value is a decoded JSON value: nil, bool, float64, string, []Value or *Object.
type Value = any

// Object is a JSON object that keeps its keys in insertion order. A key
// appears at most once; setting an existing key replaces its value in place.
// The zero Object is empty and ready to use.
type Object struct {
	// Keys holds the field names in order.
	Keys []string
	// Vals holds the values, Vals[i] belonging to Keys[i].
	Vals []Value
}

// NewObject returns an empty object with room for n fields.
func NewObject(n int) *Object {
	return &Object{Keys: make([]string, 0, n), Vals: make([]Value, 0, n)}
}

// Len reports the number of fields.
func (o *Object) Len() int { return len(o.Keys) }

// Index returns the position of key, or -1.
func (o *Object) Index(key string) int {
	for i, k := range o.Keys {
		if k == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key and whether the key is present.
func (o *Object) Get(key string) (Value, bool) {
	if i := o.Index(key); i >= 0 {
		return o.Vals[i], true
	}
	return nil, false
}

// Set replaces the value of key, or appends the key when it is absent.
// Appending never writes into a Keys shared with other objects: Parse gives
// objects exactly sized Keys, so the append copies them.
func (o *Object) Set(key string, v Value) {
	if i := o.Index(key); i >= 0 {
		o.Vals[i] = v
		return
	}
	o.Keys = append(o.Keys, key)
	o.Vals = append(o.Vals, v)
}

// Delete removes key, keeping the order of the others. It reports whether the
// key was present. Keys is never written in place, as objects parsed one
// after another may share it (see Parse): removing any key but the last
// copies it.
func (o *Object) Delete(key string) bool {
	i := o.Index(key)
	if i < 0 {
		return false
	}
	if i == len(o.Keys)-1 {
		o.Keys = o.Keys[:i:i]
	} else {
		keys := make([]string, 0, len(o.Keys)-1)
		o.Keys = append(append(keys, o.Keys[:i]...), o.Keys[i+1:]...)
	}
	o.Vals = append(o.Vals[:i], o.Vals[i+1:]...)
	return true
}

// Clone returns a deep copy of v. Strings, numbers, booleans and nil are
// returned as they are; arrays and objects are copied recursively.
func Clone(v Value) Value {
	switch t := v.(type) {
	case []Value:
		out := make([]Value, len(t))
		for i, e := range t {
			out[i] = Clone(e)
		}
		return out
	case *Object:
		out := &Object{Keys: append([]string(nil), t.Keys...), Vals: make([]Value, len(t.Vals))}
		for i, e := range t.Vals {
			out.Vals[i] = Clone(e)
		}
		return out
	default:
		return v
	}
}

// Equal reports whether a and b are deeply equal. Objects are equal when they
// have the same set of keys with equal values, whatever the key order.
func Equal(a, b Value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []Value:
		y, ok := b.([]Value)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i, k := range x.Keys {
			w, ok := y.Get(k)
			if !ok || !Equal(x.Vals[i], w) {
				return false
			}
		}
		return true
	}
	return false
}

// TypeName returns the JSON type name of v as JavaScript's typeof would,
// except that null is "null" and arrays are "array".
func TypeName(v Value) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []Value:
		return "array"
	case *Object:
		return "object"
	}
	return "unknown"
}
