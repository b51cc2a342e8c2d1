package live

import (
	"errors"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

// definition is one defined query. It is immutable once installed.
type definition struct {
	name string
	kind Kind
	raw  jsonv.Value // KindQuery
	json []byte      // canonical text: compact, keys in the order given
	// code and prepared are a function query's chunk or function name,
	// and what the runner prepared from it.
	code     string
	prepared any
	// q is the parsed query when the definition has no placeholders.
	q *query.Query
	// bucket is the bucket read, or "" when a placeholder gives it.
	bucket string
}

// Definition is a query definition as persistence stores it.
type Definition struct {
	// Name is the query name.
	Name string
	// JSON is the canonical definition text (compact, keys in the order
	// the client gave them: the order of "sort" keys is meaningful).
	JSON []byte
}

// parseDefinition checks a definition: valid name, valid JSON, and either
// a query that parses (no placeholders) or an object whose "bucket" is a
// valid bucket name or a placeholder (placeholders elsewhere are checked
// when parameters are known). Errors: *NameError, *jsonv.SyntaxError,
// *query.Error, *filter.Error.
func parseDefinition(name string, data []byte) (*definition, error) {
	if !engine.ValidName(name) {
		return nil, &NameError{Name: name}
	}
	v, err := jsonv.Parse(data)
	if err != nil {
		return nil, err
	}
	d := &definition{name: name, raw: v, json: jsonv.Marshal(v)}
	if !query.HasParams(v) {
		if d.q, err = query.Parse(v); err != nil {
			return nil, err
		}
		d.bucket = d.q.Bucket
		return d, nil
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, &query.Error{Msg: "expected an object"}
	}
	b, has := o.Get("bucket")
	if !has || b == nil {
		return nil, &query.Error{Key: "bucket", Msg: `missing "bucket"`}
	}
	s, ok := b.(string)
	if !ok {
		return nil, &query.Error{Key: "bucket", Msg: `"bucket" expects a bucket name`}
	}
	if !query.HasParams(s) {
		if !engine.ValidName(s) {
			return nil, &query.Error{Key: "bucket", Msg: `"bucket" expects a bucket name`}
		}
		d.bucket = s
	}
	return d, nil
}

// prepare returns the query to evaluate for params (nil: none): the
// definition with its placeholders replaced, parsed. Errors are run-time
// errors of the channel: *query.ParamError, *query.Error, *filter.Error.
func (d *definition) prepare(params *jsonv.Object) (*query.Query, error) {
	if d.kind != KindQuery {
		return nil, nil // a function query: its parameters are its own
	}
	if d.q != nil {
		return d.q, nil
	}
	v, err := query.Substitute(d.raw, params)
	if err != nil {
		return nil, err
	}
	return query.Parse(v)
}

// parseParams parses QUERY.RUN's or QUERY.SUBSCRIBE's parameters argument:
// nil, empty or {} means none; otherwise a JSON object (a *jsonv.SyntaxError
// otherwise, "expected a JSON object" for another type).
func parseParams(data []byte) (*jsonv.Object, error) {
	if len(data) == 0 {
		return nil, nil
	}
	p, err := jsonv.ParseObject(data)
	if err != nil {
		return nil, err
	}
	if p.Len() == 0 {
		return nil, nil
	}
	return p, nil
}

// isNoBucket reports whether err says that a bucket is not defined.
func isNoBucket(err error) bool {
	var nb *engine.NoBucketError
	return errors.As(err, &nb)
}
