package query

import "errors"

// ErrInvalid is wrapped by every error Parse returns for a malformed query
// (other than the filter's own errors, which are *filter.Error).
var ErrInvalid = errors.New("invalid query")

// ErrMissingParam is wrapped by the error Substitute returns when a
// placeholder names a parameter that was not given.
var ErrMissingParam = errors.New("missing query parameter")

// ErrAggregate is wrapped by the errors NewAgg and GroupBy return for an
// unknown function, a missing field or an empty group-by list.
var ErrAggregate = errors.New("invalid aggregate")

// Error describes why Parse rejected a query. Its text is
// "invalid query: " followed by Msg, e.g. `invalid query: unknown key "foo"`.
type Error struct {
	// Key is the query key at fault, such as "limit" or "aggregate.field",
	// or "" when the query as a whole is at fault.
	Key string
	// Msg is the description that follows "invalid query: ".
	Msg string
}

// Error returns "invalid query: " + Msg.
func (e *Error) Error() string { return "invalid query: " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// ParamError reports a placeholder whose parameter is missing. Its text is
// `missing query parameter "x"`.
type ParamError struct {
	// Name is the parameter's name, x in "{{ params.x }}".
	Name string
}

// Error returns `missing query parameter "<name>"`.
func (e *ParamError) Error() string { return "missing query parameter " + quote(e.Name) }

// Unwrap returns ErrMissingParam.
func (e *ParamError) Unwrap() error { return ErrMissingParam }

// AggError describes a bad aggregate request to NewAgg or GroupBy, e.g.
// `unknown aggregate function "median"` or
// `aggregate function "sum" needs a field`.
type AggError struct {
	// Func is the function name given.
	Func string
	// Msg is the whole message.
	Msg string
}

// Error returns Msg.
func (e *AggError) Error() string { return e.Msg }

// Unwrap returns ErrAggregate.
func (e *AggError) Unwrap() error { return ErrAggregate }
