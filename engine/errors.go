package engine

import (
	"errors"
	"fmt"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// ErrInvalidName is returned for a bucket or query name outside
// ^[A-Za-z_][A-Za-z0-9_-]{0,127}$.
var ErrInvalidName = errors.New("invalid name")

// NoBucketError reports a bucket that is not defined.
type NoBucketError struct{ Bucket string }

// Error implements error.
func (e *NoBucketError) Error() string { return fmt.Sprintf("Bucket %q is not defined", e.Bucket) }

// BucketExistsError reports a BUCKET.DEFINE of an existing bucket with a
// different definition.
type BucketExistsError struct{ Bucket string }

// Error implements error.
func (e *BucketExistsError) Error() string {
	return fmt.Sprintf("Bucket %q already exists with a different definition", e.Bucket)
}

// ValidationError reports a record that breaks its bucket's schema; it
// carries every issue found.
type ValidationError struct {
	Bucket string
	Issues []schema.Issue
}

// Error implements error.
func (e *ValidationError) Error() string { return schema.FormatIssues(e.Bucket, e.Issues) }

// UniqueError reports a write that would give a unique field a value that
// another record already holds.
type UniqueError struct {
	Bucket string
	Field  string
	Value  jsonv.Value
}

// Error implements error.
func (e *UniqueError) Error() string {
	return fmt.Sprintf("Unique constraint violation in bucket %q: field %q already has value %s",
		e.Bucket, e.Field, quoteValue(e.Value))
}

// NotFoundError reports an update of a record that does not exist.
type NotFoundError struct {
	Bucket string
	Key    jsonv.Value
}

// Error implements error.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("Record with key %s not found in bucket %q", quoteValue(e.Key), e.Bucket)
}

// ExistsError reports an insert of a key that already exists.
type ExistsError struct {
	Bucket string
	Key    jsonv.Value
}

// Error implements error.
func (e *ExistsError) Error() string {
	return fmt.Sprintf("Record with key %s already exists in bucket %q", quoteValue(e.Key), e.Bucket)
}

// ConflictError reports a failed optimistic-locking check (IFVERSION).
type ConflictError struct {
	Bucket   string
	Key      jsonv.Value
	Expected int64
	Actual   int64
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("Version mismatch for key %s in bucket %q: expected %d, got %d",
		quoteValue(e.Key), e.Bucket, e.Expected, e.Actual)
}

// ArgError reports a bad argument (a key that cannot be converted, a bad
// filter or query): the server replies ERR with its message.
type ArgError struct{ Msg string }

// Error implements error.
func (e *ArgError) Error() string { return e.Msg }

func argErrorf(format string, args ...any) error { return &ArgError{Msg: fmt.Sprintf(format, args...)} }

// quoteValue prints a key or field value for an error message: strings in
// double quotes as they are, other values as JSON, in quotes as well.
func quoteValue(v jsonv.Value) string {
	if s, ok := v.(string); ok {
		return `"` + s + `"`
	}
	return `"` + string(jsonv.Marshal(v)) + `"`
}
