package live

import (
	"errors"
	"strconv"

	"bucketd/engine"
)

// ErrClosed is returned by the methods that start work (Define, Restore,
// Run) after Close.
var ErrClosed = errors.New("reactive query manager is closed")

// NoQueryError reports a query name that is not defined. Its text is
// `Query "x" is not defined`; the command layer replies it with the code
// NOQUERY.
type NoQueryError struct {
	// Name is the query name asked for.
	Name string
}

// Error returns `Query "<name>" is not defined`.
func (e *NoQueryError) Error() string { return "Query " + strconv.Quote(e.Name) + " is not defined" }

// ExistsError reports a QUERY.DEFINE of a name that is defined with a
// different definition. The command layer replies it with the code EXISTS.
type ExistsError struct {
	// Name is the query name.
	Name string
}

// Error returns `Query "<name>" already exists with a different definition`.
func (e *ExistsError) Error() string {
	return "Query " + strconv.Quote(e.Name) + " already exists with a different definition"
}

// NameError reports a query name outside ^[A-Za-z_][A-Za-z0-9_-]{0,127}$. It
// wraps engine.ErrInvalidName.
type NameError struct {
	// Name is the rejected name.
	Name string
}

// Error returns `invalid query name "<name>": …`.
func (e *NameError) Error() string {
	return "invalid query name " + strconv.Quote(e.Name) + ": names match ^[A-Za-z_][A-Za-z0-9_-]{0,127}$"
}

// Unwrap returns engine.ErrInvalidName.
func (e *NameError) Unwrap() error { return engine.ErrInvalidName }
