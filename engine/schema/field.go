package schema

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"bucketd/jsonv"
)

// Field is one field of a bucket schema. Fields are built by Parse and Alter
// and must not be modified afterwards: a Definition shares them.
type Field struct {
	// Name is the field name.
	Name string
	// Type is the declared type.
	Type Type
	// Required makes a missing or null value an issue. The key field is
	// always required.
	Required bool
	// Enum lists the allowed values (strings, numbers or booleans of the
	// field's type), without duplicates; nil means no enum.
	Enum []jsonv.Value
	// Default is the value given to an absent field on insert (a fresh
	// copy each time); meaningful only when HasDefault is true.
	Default jsonv.Value
	// HasDefault tells whether the field has a default (which may be null).
	HasDefault bool
	// Generated is "", or one of GenUUID, GenCUID, GenAutoincrement and
	// GenTimestamp.
	Generated string
	// Unique asks the store to reject two records with the same non-null
	// value in this field.
	Unique bool
	// Min and Max are inclusive bounds for numeric values, or nil.
	Min, Max *float64
	// MinLength and MaxLength bound the length of string values in Unicode
	// code points, or are nil.
	MinLength, MaxLength *int
	// Pattern is the compiled pattern (Go RE2 syntax, unanchored) that
	// string values must match, or nil; PatternSource is its text.
	Pattern       *regexp.Regexp
	PatternSource string
	// Format is "", or one of FormatEmail, FormatURL and FormatISODate.
	Format string
	// Schema holds the fields of an object field's nested schema ("schema":
	// {…}), in definition order, or nil when any object is accepted. Their
	// names are dot paths from the record ("address.zip").
	Schema []*Field

	local string // the name within the parent object (Name at the top)

	enumMsg string // "Value must be one of: …", computed once
	literal bool   // Pattern is a plain literal: match with strings.Contains
}

// fieldErr returns a definition error about a schema field.
func fieldErr(name, msg string) *DefinitionError {
	return &DefinitionError{Field: name, Msg: "schema field " + quote(name) + ": " + msg}
}

// fieldKeys lists the keys a field definition may have, for error messages.
const fieldKeys = "type, required, enum, default, generated, unique, min, max, minLength, maxLength, pattern, format, schema"

// parseField builds a top-level Field from its definition object.
func parseField(name string, v jsonv.Value) (*Field, error) {
	return parseFieldIn("", name, v)
}

// parseFieldIn builds a Field named local within the object field parent
// ("" at the top), from its definition object.
func parseFieldIn(parent, local string, v jsonv.Value) (*Field, error) {
	name := local
	if parent != "" {
		name = parent + "." + local
	}
	switch {
	case parent != "" && local == "":
		return nil, fieldErr(name, "the name must not be empty")
	case parent != "" && strings.Contains(local, "."):
		return nil, fieldErr(name, "a nested field's name must not contain '.' (it would read as a path)")
	case name == "":
		return nil, fieldErr(name, "the name must not be empty")
	case IsMeta(name):
		return nil, fieldErr(name, "the name is reserved for metadata")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return nil, fieldErr(name, "the name must not contain control characters")
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, fieldErr(name, "the field definition must be an object")
	}
	f := &Field{Name: name, local: local}
	tv, ok := o.Get("type")
	if !ok {
		return nil, fieldErr(name, `"type" is required`)
	}
	ts, _ := tv.(string)
	switch Type(ts) {
	case TypeString, TypeNumber, TypeBoolean, TypeObject, TypeArray, TypeDate:
		f.Type = Type(ts)
	default:
		if _, isStr := tv.(string); !isStr {
			return nil, fieldErr(name, `"type" must be a string`)
		}
		return nil, fieldErr(name, "unknown type "+quote(ts)+" (expected string, number, boolean, object, array or date)")
	}
	stringish := f.Type == TypeString || f.Type == TypeDate
	numberish := f.Type == TypeNumber || f.Type == TypeDate

	var dflt jsonv.Value
	for i, k := range o.Keys {
		v := o.Vals[i]
		switch k {
		case "type":
		case "required", "unique":
			b, ok := v.(bool)
			if !ok {
				return nil, fieldErr(name, quote(k)+" must be a boolean")
			}
			if k == "required" {
				f.Required = b
			} else {
				f.Unique = b
			}
		case "enum":
			arr, ok := v.([]jsonv.Value)
			if !ok || len(arr) == 0 {
				return nil, fieldErr(name, `"enum" must be a non-empty array`)
			}
			for _, e := range arr {
				switch e.(type) {
				case string, float64, bool:
				default:
					return nil, fieldErr(name, "enum value "+valueText(e)+" is not a string, number or boolean")
				}
				if !typeOK(f.Type, e) {
					return nil, fieldErr(name, "enum value "+valueText(e)+" is not of type "+quote(string(f.Type)))
				}
				if !slices.ContainsFunc(f.Enum, func(x jsonv.Value) bool { return x == e }) {
					f.Enum = append(f.Enum, e)
				}
			}
		case "default":
			dflt, f.HasDefault = v, true
		case "generated":
			s, _ := v.(string)
			var want bool
			switch s {
			case GenUUID, GenCUID:
				want = f.Type == TypeString
			case GenAutoincrement:
				want = f.Type == TypeNumber
			case GenTimestamp:
				want = numberish
			default:
				return nil, fieldErr(name, `"generated" must be one of: uuid, cuid, autoincrement, timestamp`)
			}
			if !want {
				need := `type "string"`
				switch s {
				case GenAutoincrement:
					need = `type "number"`
				case GenTimestamp:
					need = `type "number" or "date"`
				}
				return nil, fieldErr(name, "generated "+quote(s)+" needs "+need+", not "+quote(string(f.Type)))
			}
			f.Generated = s
		case "min", "max":
			n, ok := v.(float64)
			if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, fieldErr(name, quote(k)+" must be a number")
			}
			if !numberish {
				return nil, fieldErr(name, quote(k)+` applies only to "number" and "date" fields`)
			}
			if k == "min" {
				f.Min = &n
			} else {
				f.Max = &n
			}
		case "minLength", "maxLength":
			n, ok := v.(float64)
			if !ok || n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
				return nil, fieldErr(name, quote(k)+" must be a non-negative integer")
			}
			if !stringish {
				return nil, fieldErr(name, quote(k)+` applies only to "string" and "date" fields`)
			}
			l := int(n)
			if k == "minLength" {
				f.MinLength = &l
			} else {
				f.MaxLength = &l
			}
		case "pattern":
			s, ok := v.(string)
			if !ok {
				return nil, fieldErr(name, `"pattern" must be a string`)
			}
			if !stringish {
				return nil, fieldErr(name, `"pattern" applies only to "string" and "date" fields`)
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fieldErr(name, "invalid pattern "+quote(s)+": "+escapeControls(err.Error()))
			}
			f.Pattern, f.PatternSource = re, s
			_, f.literal = re.LiteralPrefix()
		case "format":
			s, _ := v.(string)
			switch s {
			case FormatEmail, FormatURL, FormatISODate:
			default:
				return nil, fieldErr(name, `"format" must be one of: email, url, iso-date`)
			}
			if !stringish {
				return nil, fieldErr(name, `"format" applies only to "string" and "date" fields`)
			}
			f.Format = s
		case "schema":
			if f.Type != TypeObject {
				return nil, fieldErr(name, `"schema" applies only to "object" fields`)
			}
			so, ok := v.(*jsonv.Object)
			if !ok || so.Len() == 0 {
				return nil, fieldErr(name, `"schema" must be a non-empty object of field definitions`)
			}
			f.Schema = make([]*Field, 0, so.Len())
			for i, k := range so.Keys {
				nf, err := parseFieldIn(name, k, so.Vals[i])
				if err != nil {
					return nil, err
				}
				f.Schema = append(f.Schema, nf)
			}
		case "properties", "items", "ref", "onDelete":
			return nil, fieldErr(name, quote(k)+" is not supported")
		default:
			return nil, fieldErr(name, "unknown property "+quote(k)+" (expected one of: "+fieldKeys+")")
		}
	}
	if parent != "" {
		for _, no := range []struct {
			set bool
			key string
		}{{f.Generated != "", "generated"}, {f.Unique, "unique"}, {f.HasDefault, "default"}} {
			if no.set {
				return nil, fieldErr(name, quote(no.key)+" is not supported in a nested schema")
			}
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return nil, fieldErr(name, `"min" (`+jsonv.FormatNumber(*f.Min)+`) is greater than "max" (`+jsonv.FormatNumber(*f.Max)+`)`)
	}
	if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
		return nil, fieldErr(name, `"minLength" is greater than "maxLength"`)
	}
	if f.Enum != nil {
		f.enumMsg = enumMessage(f.Enum)
	}
	if f.HasDefault {
		if f.Generated != "" {
			return nil, fieldErr(name, `"default" and "generated" cannot be combined`)
		}
		if iss, bad := f.check(dflt); bad {
			if iss.Code == CodeEnum {
				return nil, fieldErr(name, "default "+valueText(dflt)+" is not one of the enum values")
			}
			return nil, fieldErr(name, "default "+valueText(dflt)+" is invalid: "+iss.Message)
		}
		f.Default = jsonv.Clone(dflt)
	}
	return f, nil
}

// valueText returns v as error messages show it: JSON text, cut short when
// long, with control characters escaped.
func valueText(v jsonv.Value) string {
	b := jsonv.Marshal(v)
	if len(b) > 64 {
		n := 61
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = append(b[:n], "..."...)
	}
	return escapeControls(string(b))
}

// appendJSON appends the canonical JSON of the field definition.
func (f *Field) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = jsonv.AppendString(b, string(f.Type))
	if f.Required {
		b = append(b, `,"required":true`...)
	}
	if f.Enum != nil {
		b = append(b, `,"enum":`...)
		b = jsonv.Append(b, f.Enum)
	}
	if f.HasDefault {
		b = append(b, `,"default":`...)
		b = jsonv.Append(b, f.Default)
	}
	if f.Generated != "" {
		b = append(b, `,"generated":`...)
		b = jsonv.AppendString(b, f.Generated)
	}
	if f.Unique {
		b = append(b, `,"unique":true`...)
	}
	if f.Min != nil {
		b = append(b, `,"min":`...)
		b = jsonv.AppendNumber(b, *f.Min)
	}
	if f.Max != nil {
		b = append(b, `,"max":`...)
		b = jsonv.AppendNumber(b, *f.Max)
	}
	if f.MinLength != nil {
		b = append(b, `,"minLength":`...)
		b = jsonv.AppendNumber(b, float64(*f.MinLength))
	}
	if f.MaxLength != nil {
		b = append(b, `,"maxLength":`...)
		b = jsonv.AppendNumber(b, float64(*f.MaxLength))
	}
	if f.Pattern != nil {
		b = append(b, `,"pattern":`...)
		b = jsonv.AppendString(b, f.PatternSource)
	}
	if f.Format != "" {
		b = append(b, `,"format":`...)
		b = jsonv.AppendString(b, f.Format)
	}
	if f.Schema != nil {
		b = append(b, `,"schema":{`...)
		for i, nf := range f.Schema {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonv.AppendString(b, nf.local)
			b = append(b, ':')
			b = nf.appendJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
