package schema

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"bucketd/jsonv"
)

// The issue codes (Issue.Code).
const (
	CodeRequired  = "required"
	CodeType      = "type"
	CodeEnum      = "enum"
	CodeMinLength = "minLength"
	CodeMaxLength = "maxLength"
	CodePattern   = "pattern"
	CodeFormat    = "format"
	CodeMin       = "min"
	CodeMax       = "max"
	CodeUnknown   = "unknown" // a field outside the schema of a strict bucket
)

// msgRequired is the message of every "required" issue.
const msgRequired = "Field is required"

// msgUnknown is the message of every "unknown" issue.
const msgUnknown = "Unknown field (the bucket is strict)"

// Issue is one way in which a record breaks its schema.
type Issue struct {
	// Field is the schema field's name.
	Field string
	// Code is one of the Code constants.
	Code string
	// Message is the human-readable text, as noex-store words it, such as
	// "Minimum value is 0".
	Message string
}

// Validate checks obj against the schema and returns every issue of every
// field, fields in schema order, or nil when obj is valid. For each field:
//
//   - an absent or null value is an issue ("required") only for a required
//     field, and is otherwise accepted without further checks;
//   - a value of the wrong type gives a single "type" issue and nothing more;
//   - otherwise enum, then minLength, maxLength, pattern and format (for
//     string values), then min and max (for numbers) are checked, and each
//     one that fails gives an issue.
//
// Fields not in the schema, metadata included, are not checked. Validate
// does not modify obj and does not allocate when obj is valid. It is safe
// for concurrent use.
func (d *Definition) Validate(obj *jsonv.Object) []Issue {
	if obj == nil {
		obj = &jsonv.Object{} // treated as an empty record
	}
	var issues []Issue
	keyPos := d.keyPos
	for i, f := range d.Fields {
		// Records usually come in canonical order (key first, then the
		// schema fields): try the field's canonical position before
		// searching.
		p := i + 1
		switch {
		case i == keyPos:
			p = 0
		case i > keyPos:
			p = i
		}
		var v jsonv.Value
		if p < len(obj.Keys) && obj.Keys[p] == f.Name {
			v = obj.Vals[p]
		} else {
			v, _ = obj.Get(f.Name)
		}
		issues = f.appendIssues(issues, v, d.Strict)
	}
	if d.Strict {
		for _, k := range obj.Keys {
			if d.byName[k] == nil && !IsMeta(k) {
				issues = append(issues, Issue{Field: k, Code: CodeUnknown, Message: msgUnknown})
			}
		}
	}
	return issues
}

// Known reports whether name is a schema field, a path to a field of a
// nested schema, a path into an object or array field that declares no
// nested schema (anything may be there), or a metadata field, for the
// checks of strict buckets.
func (d *Definition) Known(name string) bool {
	if d.Field(name) != nil || IsMeta(name) {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		f := d.Field(name[:i])
		if f == nil {
			continue
		}
		if f.Type == TypeArray || (f.Type == TypeObject && f.Schema == nil) {
			return true
		}
	}
	return false
}

// check returns the first issue of v for this field, and whether there is
// one. Definition checks use it on defaults.
func (f *Field) check(v jsonv.Value) (Issue, bool) {
	iss := f.appendIssues(nil, v, false)
	if len(iss) == 0 {
		return Issue{}, false
	}
	return iss[0], true
}

// appendIssues appends the issues of value v (nil when absent or null) to
// dst: its own, then, for an object with a nested schema, those of its
// fields (and, when strict, of the keys outside that schema).
func (f *Field) appendIssues(dst []Issue, v jsonv.Value, strict bool) []Issue {
	if v == nil {
		if f.Required {
			dst = append(dst, Issue{f.Name, CodeRequired, msgRequired})
		}
		return dst
	}
	if !typeOK(f.Type, v) {
		return append(dst, Issue{f.Name, CodeType, `Expected type "` + string(f.Type) + `", got ` + jsonv.TypeName(v)})
	}
	if f.Enum != nil && !f.inEnum(v) {
		dst = append(dst, Issue{f.Name, CodeEnum, f.enumMsg})
	}
	switch x := v.(type) {
	case string:
		if f.MinLength != nil || f.MaxLength != nil {
			n := utf8.RuneCountInString(x)
			if f.MinLength != nil && n < *f.MinLength {
				dst = append(dst, Issue{f.Name, CodeMinLength, "Minimum length is " + strconv.Itoa(*f.MinLength)})
			}
			if f.MaxLength != nil && n > *f.MaxLength {
				dst = append(dst, Issue{f.Name, CodeMaxLength, "Maximum length is " + strconv.Itoa(*f.MaxLength)})
			}
		}
		if f.Pattern != nil && !f.matches(x) {
			dst = append(dst, Issue{f.Name, CodePattern, `Value must match pattern "` + f.PatternSource + `"`})
		}
		if f.Format != "" && !formatOK(f.Format, x) {
			dst = append(dst, Issue{f.Name, CodeFormat, "Invalid " + f.Format + " format"})
		}
	case float64:
		if f.Min != nil && x < *f.Min {
			dst = append(dst, Issue{f.Name, CodeMin, "Minimum value is " + jsonv.FormatNumber(*f.Min)})
		}
		if f.Max != nil && x > *f.Max {
			dst = append(dst, Issue{f.Name, CodeMax, "Maximum value is " + jsonv.FormatNumber(*f.Max)})
		}
	case *jsonv.Object:
		if f.Schema != nil {
			for _, nf := range f.Schema {
				nv, _ := x.Get(nf.local)
				dst = nf.appendIssues(dst, nv, strict)
			}
			if strict {
				for _, k := range x.Keys {
					if f.child(k) == nil {
						dst = append(dst, Issue{f.Name + "." + k, CodeUnknown, msgUnknown})
					}
				}
			}
		}
	}
	return dst
}

// child returns the field of f's nested schema called local, or nil.
func (f *Field) child(local string) *Field {
	for _, nf := range f.Schema {
		if nf.local == local {
			return nf
		}
	}
	return nil
}

// matches reports whether s matches the field's pattern.
func (f *Field) matches(s string) bool {
	if f.literal {
		return strings.Contains(s, f.PatternSource)
	}
	return f.Pattern.MatchString(s)
}

// inEnum reports whether v is one of the enum values. Enum values are
// scalars, so == is the right equality (0 and -0 are equal, as with
// JavaScript's includes).
func (f *Field) inEnum(v jsonv.Value) bool {
	for _, e := range f.Enum {
		if e == v {
			return true
		}
	}
	return false
}

// typeOK reports whether the non-null value v has type t.
func typeOK(t Type, v jsonv.Value) bool {
	switch t {
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeNumber:
		n, ok := v.(float64)
		return ok && !math.IsNaN(n) && !math.IsInf(n, 0)
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeObject:
		o, ok := v.(*jsonv.Object)
		return ok && o != nil
	case TypeArray:
		_, ok := v.([]jsonv.Value)
		return ok
	case TypeDate:
		switch x := v.(type) {
		case float64:
			return !math.IsNaN(x) && !math.IsInf(x, 0)
		case string:
			return isDate(x, false)
		}
	}
	return false
}

// formatOK reports whether s has the named format.
func formatOK(format, s string) bool {
	switch format {
	case FormatEmail:
		return isEmail(s)
	case FormatURL:
		return isURL(s)
	case FormatISODate:
		return isDate(s, true)
	}
	return true
}

// enumMessage returns the enum issue message: the values as JavaScript's
// String() shows them (strings bare, numbers and booleans as JSON), joined by
// ", ".
func enumMessage(vals []jsonv.Value) string {
	var b strings.Builder
	b.WriteString("Value must be one of: ")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else {
			b.Write(jsonv.Marshal(v))
		}
	}
	return b.String()
}

// FormatIssues returns the text of a validation failure, as noex-store
// words it:
//
//	Validation failed for bucket "users": name: Field is required; age: Minimum value is 0
//
// Control characters are escaped so that the text is a single line.
func FormatIssues(bucket string, issues []Issue) string {
	var b strings.Builder
	b.WriteString(`Validation failed for bucket "`)
	b.WriteString(bucket)
	b.WriteString(`": `)
	for i, iss := range issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(iss.Field)
		b.WriteString(": ")
		b.WriteString(iss.Message)
	}
	return escapeControls(b.String())
}
