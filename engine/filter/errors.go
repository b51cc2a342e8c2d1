package filter

import "errors"

// ErrInvalid is wrapped by every error Parse returns for a malformed filter,
// so callers can test for it with errors.Is. JSON syntax errors from
// ParseJSON are not wrapped in it: they stay *jsonv.SyntaxError.
var ErrInvalid = errors.New("invalid filter")

// Error describes why a filter was rejected. Its text is
// "invalid filter: " followed by Msg, for example
// `invalid filter: unknown operator "$foo"`; a command handler replies it
// after "ERR ".
type Error struct {
	// Field is the record field whose condition is at fault, or "" when the
	// problem is not tied to one field (a top-level $or, the whole filter).
	Field string
	// Op is the operator at fault, such as "$in", or "" when none is.
	Op string
	// Msg is the description that follows "invalid filter: ".
	Msg string
}

// Error returns "invalid filter: " + Msg.
func (e *Error) Error() string { return "invalid filter: " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// errorf builds an *Error. It is kept tiny so that messages stay literal at
// the call sites.
func newError(field, op, msg string) *Error {
	return &Error{Field: field, Op: op, Msg: msg}
}
