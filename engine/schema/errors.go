package schema

import (
	"errors"
	"strings"
)

// Sentinel errors. The typed errors below match them with errors.Is, so a
// caller can classify an error without knowing its concrete type.
var (
	// ErrInvalidDefinition matches every *DefinitionError: a bucket
	// definition (Parse) or a set of changes (Definition.Alter) that breaks
	// the definition rules.
	ErrInvalidDefinition = errors.New("invalid definition")

	// ErrInvalidTTL matches every *DurationError: a TTL or duration that is
	// neither a positive number of milliseconds nor a string like "30s".
	ErrInvalidTTL = errors.New("invalid TTL")

	// ErrInvalidKey matches every *KeyError: a command argument that cannot
	// be converted to the type of a bucket's key field.
	ErrInvalidKey = errors.New("invalid key")
)

// DefinitionError reports a definition or a BUCKET.ALTER change set that
// breaks the rules. Its message names the offending part, for example
//
//	invalid definition: schema field "age": unknown type "int"
//	invalid definition: key field "idx" is not in the schema
//	invalid changes: field "age" already exists in the schema
//
// JSON syntax errors are not DefinitionErrors: Parse and Alter return them as
// the *jsonv.SyntaxError the parser produced.
type DefinitionError struct {
	// Field is the schema field concerned (for "key" and "indexes" errors,
	// the field named there), or "" when the error is about the definition
	// as a whole, such as an unknown top-level key.
	Field string
	// Msg is the text after the "invalid definition: " (or "invalid
	// changes: ") prefix.
	Msg string
	// Alter is true for errors from Definition.Alter; it selects the
	// "invalid changes: " prefix.
	Alter bool
}

// Error returns the message with its prefix.
func (e *DefinitionError) Error() string {
	if e.Alter {
		return "invalid changes: " + e.Msg
	}
	return "invalid definition: " + e.Msg
}

// Is reports whether target is ErrInvalidDefinition.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidDefinition }

// DurationError reports a TTL or duration that cannot be parsed. Its message
// is exactly the one noex-store uses:
//
//	Invalid TTL format "x". Expected a number (ms) or string like "30s", "5m", "1h", "7d".
type DurationError struct {
	// Input is the rejected value as text: a string as it is, any other
	// JSON value as its JSON text.
	Input string
}

// Error returns the noex-store message, with control characters in Input
// escaped so that the message stays on one line.
func (e *DurationError) Error() string {
	return "Invalid TTL format " + quote(e.Input) +
		`. Expected a number (ms) or string like "30s", "5m", "1h", "7d".`
}

// Is reports whether target is ErrInvalidTTL.
func (e *DurationError) Is(target error) bool { return target == ErrInvalidTTL }

// KeyError reports a primary-key argument that cannot be converted to the
// type of the key field (Definition.ParseKey):
//
//	invalid key "abc": the key field "id" is a number
type KeyError struct {
	// Arg is the rejected argument.
	Arg string
	// Field is the name of the key field.
	Field string
	// Type is the key field's type.
	Type Type
}

// Error returns the message.
func (e *KeyError) Error() string {
	return "invalid key " + quote(e.Arg) + ": the key field " + quote(e.Field) + " is a " + string(e.Type)
}

// Is reports whether target is ErrInvalidKey.
func (e *KeyError) Is(target error) bool { return target == ErrInvalidKey }

// quote returns s between double quotes, as noex-store's messages show
// names and values (no escaping of quotes or backslashes), except that
// control characters are escaped (\n, \r, \t, \xNN) so that a message never
// spans lines: RESP error replies must be a single line.
func quote(s string) string {
	return `"` + escapeControls(s) + `"`
}

// escapeControls returns s with its ASCII control characters escaped; s
// itself when it has none.
func escapeControls(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] != 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ErrValidation matches every *ValidationError.
var ErrValidation = errors.New("validation failed")

// ValidationError is a record that breaks its bucket's schema: the issues
// Definition.Validate found. Its message is FormatIssues(Bucket, Issues).
type ValidationError struct {
	// Bucket is the bucket's name.
	Bucket string
	// Issues lists every issue, fields in schema order; it is never empty.
	Issues []Issue
}

// Error returns FormatIssues(e.Bucket, e.Issues).
func (e *ValidationError) Error() string { return FormatIssues(e.Bucket, e.Issues) }

// Is reports whether target is ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }
