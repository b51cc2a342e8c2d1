package index

import "errors"

// ErrCorrupt is returned, wrapped with a description of the fault, by
// Index.Check when the index does not hold exactly the pairs it was given or
// its internal structures disagree. It means a bug, never bad input.
var ErrCorrupt = errors.New("index: invariant violated")
