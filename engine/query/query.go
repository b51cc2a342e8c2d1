package query

import (
	"math"
	"strings"

	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// Record is a stored record as the query sees it. Implementations must not
// change while a query reads them; Get and AppendJSON are called from the
// goroutine that runs the query.
type Record interface {
	filter.Getter
	// AppendJSON appends the record's canonical JSON object to dst and
	// returns the extended slice.
	AppendJSON(dst []byte) []byte
}

// SortKey is one key of a query's sort, in priority order.
type SortKey struct {
	// Field is the record field to sort by.
	Field string
	// Desc sorts by descending value; null and absent values still come last.
	Desc bool
}

// Aggregate is a query's "aggregate" clause.
type Aggregate struct {
	// Func is one of "count", "sum", "avg", "min", "max".
	Func string
	// Field is the field aggregated; "" for count, which counts records.
	Field string
	// GroupBy lists the fields whose values form the groups, in order and
	// without repeats; empty for a single result.
	GroupBy []string
}

// Query is a parsed declarative query. Parse's result is immutable and may
// be evaluated from several goroutines at once.
type Query struct {
	// Bucket is the bucket the query reads.
	Bucket string
	// Filter selects the records; never nil after Parse (an absent filter
	// matches every record).
	Filter *filter.Filter
	// Sort lists the sort keys by priority; empty keeps bucket order.
	Sort []SortKey
	// Limit is the maximum number of records returned; 0 means no limit.
	Limit int
	// Offset is the number of sorted records skipped before Limit applies.
	Offset int
	// Fields, when non-empty, projects each record onto these fields.
	Fields []string
	// Agg, when non-nil, turns the result into an aggregate; Sort, Limit,
	// Offset and Fields are then ignored.
	Agg *Aggregate
	// Raw is the value Parse was given, kept as is (not copied) for
	// QUERY.INFO and to compare definitions.
	Raw jsonv.Value
}

// Aggregate function names.
const (
	FuncCount = "count"
	FuncSum   = "sum"
	FuncAvg   = "avg"
	FuncMin   = "min"
	FuncMax   = "max"
)

// Parse checks and compiles a query value:
//
//	{"bucket": "users", "filter": {…}, "sort": {"age": "desc", "name": "asc"},
//	 "limit": 10, "offset": 0, "fields": ["id", "name"],
//	 "aggregate": {"function": "count|sum|avg|min|max", "field": "age", "groupBy": "role" | ["a", "b"]}}
//
// Only "bucket" is required. A key whose value is null counts as absent.
// Unknown keys are errors, which name the key. Sort keys keep their order
// (first = highest priority); directions are "asc" or "desc" in any case.
// "limit" is a positive integer, "offset" a non-negative one, "fields" an
// array of field names (repeats dropped, [] meaning whole records). The
// aggregate's "field" is required except for count.
//
// Errors are *Error (wrapping ErrInvalid), or the *filter.Error of the
// filter. Parse expects placeholders to be substituted already: a
// definition with parameters may fail here (e.g. "$in": "{{ params.ids }}")
// and should be checked with its parameters. Parse keeps v itself, not a
// copy, as Raw: v must not be modified afterwards.
func Parse(v jsonv.Value) (*Query, error) {
	return parse(v, "")
}

// ParseForBucket is Parse for B.FIND, whose bucket is a command argument:
// "bucket" may be left out of v, in which case it is bucket; when present it
// must equal bucket. bucket itself is not checked.
func ParseForBucket(v jsonv.Value, bucket string) (*Query, error) {
	q, err := parse(v, bucket)
	if err != nil {
		return nil, err
	}
	if q.Bucket != bucket {
		return nil, &Error{Key: "bucket", Msg: `"bucket" is ` + quote(q.Bucket) + ` but the command names ` + quote(bucket)}
	}
	return q, nil
}

// parse is Parse; a non-empty bucket is the default for a missing "bucket".
func parse(v jsonv.Value, bucket string) (*Query, error) {
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, &Error{Msg: "expected an object"}
	}
	q := &Query{Raw: v}
	haveBucket := false
	for i, k := range o.Keys {
		x := o.Vals[i]
		if x == nil && k != "filter" {
			continue
		}
		var err error
		switch k {
		case "bucket":
			s, ok := x.(string)
			if !ok || !ValidName(s) {
				return nil, &Error{Key: k, Msg: `"bucket" expects a bucket name`}
			}
			q.Bucket, haveBucket = s, true
		case "filter":
			q.Filter, err = filter.Parse(x)
		case "sort":
			q.Sort, err = parseSort(x)
		case "limit":
			n, ok := intArg(x)
			if !ok || n < 1 {
				return nil, &Error{Key: k, Msg: `"limit" expects a positive integer`}
			}
			q.Limit = n
		case "offset":
			n, ok := intArg(x)
			if !ok {
				return nil, &Error{Key: k, Msg: `"offset" expects a non-negative integer`}
			}
			q.Offset = n
		case "fields":
			q.Fields, err = nameList(x, "fields", `"fields" expects an array of field names`, false)
		case "aggregate":
			q.Agg, err = parseAggregate(x)
		default:
			return nil, &Error{Key: k, Msg: "unknown key " + quote(k)}
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveBucket && bucket != "" {
		q.Bucket, haveBucket = bucket, true
	}
	if !haveBucket {
		return nil, &Error{Key: "bucket", Msg: `missing "bucket"`}
	}
	if q.Filter == nil {
		q.Filter, _ = filter.Parse(nil)
	}
	return q, nil
}

// ValidName reports whether s is a valid bucket or query name:
// ^[A-Za-z_][A-Za-z0-9_-]{0,127}$.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return true
}

// parseSort reads {"field": "asc"|"desc", …}.
func parseSort(x jsonv.Value) ([]SortKey, error) {
	o, ok := x.(*jsonv.Object)
	if !ok {
		return nil, &Error{Key: "sort", Msg: `"sort" expects an object like {"field": "asc"}`}
	}
	keys := make([]SortKey, 0, o.Len())
	for i, f := range o.Keys {
		d, _ := o.Vals[i].(string)
		switch {
		case strings.EqualFold(d, "asc"):
			keys = append(keys, SortKey{Field: f})
		case strings.EqualFold(d, "desc"):
			keys = append(keys, SortKey{Field: f, Desc: true})
		default:
			return nil, &Error{Key: "sort", Msg: `sort direction of ` + quote(f) + ` must be "asc" or "desc"`}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return keys, nil
}

// parseAggregate reads {"function", "field", "groupBy"}.
func parseAggregate(x jsonv.Value) (*Aggregate, error) {
	o, ok := x.(*jsonv.Object)
	if !ok {
		return nil, &Error{Key: "aggregate", Msg: `"aggregate" expects an object`}
	}
	a := &Aggregate{}
	haveField := false
	for i, k := range o.Keys {
		v := o.Vals[i]
		if v == nil {
			continue
		}
		switch k {
		case "function":
			s, _ := v.(string)
			if _, ok := parseFunc(s); !ok {
				return nil, &Error{Key: "aggregate.function",
					Msg: `"aggregate.function" must be one of count, sum, avg, min, max`}
			}
			a.Func = s
		case "field":
			s, ok := v.(string)
			if !ok {
				return nil, &Error{Key: "aggregate.field", Msg: `"aggregate.field" expects a field name`}
			}
			a.Field, haveField = s, true
		case "groupBy":
			if s, ok := v.(string); ok {
				a.GroupBy = []string{s}
				continue
			}
			g, err := nameList(v, "aggregate.groupBy",
				`"aggregate.groupBy" expects a field name or a non-empty array of field names`, true)
			if err != nil {
				return nil, err
			}
			a.GroupBy = g
		default:
			return nil, &Error{Key: "aggregate." + k, Msg: "unknown key " + quote("aggregate."+k)}
		}
	}
	if a.Func == "" {
		return nil, &Error{Key: "aggregate.function", Msg: `missing "aggregate.function"`}
	}
	if a.Func != FuncCount && !haveField {
		return nil, &Error{Key: "aggregate.field", Msg: `"aggregate.field" is required for ` + quote(a.Func)}
	}
	if a.Func == FuncCount {
		a.Field = ""
	}
	return a, nil
}

// nameList reads an array of strings, dropping repeats. An empty array gives
// nil, or an error when nonEmpty.
func nameList(x jsonv.Value, key, msg string, nonEmpty bool) ([]string, error) {
	arr, ok := x.([]jsonv.Value)
	if !ok || nonEmpty && len(arr) == 0 {
		return nil, &Error{Key: key, Msg: msg}
	}
	var out []string
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, &Error{Key: key, Msg: msg}
		}
		dup := false
		for _, have := range out {
			if have == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out, nil
}

// maxArg is the largest limit or offset: 2^53-1, JSON's largest exact
// integer.
const maxArg = 1<<53 - 1

// intArg reads a non-negative integer no larger than maxArg. Where int is
// smaller (32-bit machines), a larger one reads as math.MaxInt, which no
// count of records reaches.
func intArg(x jsonv.Value) (int, bool) {
	f, ok := x.(float64)
	if !ok || f < 0 || f > maxArg || f != math.Trunc(f) {
		return 0, false
	}
	if f > math.MaxInt {
		return math.MaxInt, true
	}
	return int(f), true
}

// quote returns s as a JSON string literal, for messages.
func quote(s string) string { return string(jsonv.AppendString(nil, s)) }
