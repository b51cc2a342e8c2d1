package query

import (
	"encoding/binary"
	"math"
	"sort"
	"strconv"

	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// AggFunc is an aggregate function, parsed from its name by ParseAggFunc.
// The reactive queries (package live) maintain the same functions
// incrementally and use these values.
type AggFunc uint8

// The aggregate functions.
const (
	AggCount AggFunc = iota // the number of records
	AggSum                  // the sum of the field's numbers
	AggAvg                  // their mean
	AggMin                  // the least of them
	AggMax                  // the greatest of them
)

// String returns the function's name, as a query spells it.
func (f AggFunc) String() string {
	switch f {
	case AggCount:
		return FuncCount
	case AggSum:
		return FuncSum
	case AggAvg:
		return FuncAvg
	case AggMin:
		return FuncMin
	case AggMax:
		return FuncMax
	}
	return "AggFunc(" + strconv.Itoa(int(f)) + ")"
}

// ParseAggFunc returns the function named s ("count", "sum", "avg", "min"
// or "max", in lower case), or an *AggError for any other name.
func ParseAggFunc(s string) (AggFunc, error) {
	if f, ok := parseFunc(s); ok {
		return f, nil
	}
	return 0, &AggError{Func: s, Msg: "unknown aggregate function " + quote(s)}
}

// parseFunc maps a function name to its AggFunc.
func parseFunc(s string) (AggFunc, bool) {
	switch s {
	case FuncCount:
		return AggCount, true
	case FuncSum:
		return AggSum, true
	case FuncAvg:
		return AggAvg, true
	case FuncMin:
		return AggMin, true
	case FuncMax:
		return AggMax, true
	}
	return 0, false
}

// Agg is a streaming aggregate over records: count counts the records
// added; sum, avg, min and max consider only the values of Field that are
// numbers, skipping records where it is absent, null or of another type. An
// Agg is not safe for concurrent use; its zero value is not ready, use
// NewAgg.
type Agg struct {
	fn    AggFunc
	field string
	n     int     // records added (count) or numbers seen (the others)
	sum   float64 // running sum, added in record order as JavaScript does
	best  float64 // min or max so far, valid when n > 0
}

// NewAgg returns an empty aggregate of function fn ("count", "sum", "avg",
// "min" or "max") over field, which may be "" only for count. Errors are
// *AggError.
func NewAgg(fn, field string) (*Agg, error) {
	a, err := newAgg(fn, field)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// newAgg is NewAgg returning a value.
func newAgg(fn, field string) (Agg, error) {
	f, err := ParseAggFunc(fn)
	if err != nil {
		return Agg{}, err
	}
	if f != AggCount && field == "" {
		return Agg{}, &AggError{Func: fn, Msg: "aggregate function " + quote(fn) + " needs a field"}
	}
	return Agg{fn: f, field: field}, nil
}

// Add adds one record. It does not allocate.
func (a *Agg) Add(r filter.Getter) {
	if a.fn == AggCount {
		a.n++
		return
	}
	v, _ := r.Get(a.field)
	x, ok := v.(float64)
	if !ok {
		return
	}
	switch a.fn {
	case AggMin:
		if a.n == 0 || x < a.best {
			a.best = x
		}
	case AggMax:
		if a.n == 0 || x > a.best {
			a.best = x
		}
	default:
		a.sum += x
	}
	a.n++
}

// Result returns the aggregate: the number of records for count; the sum
// (0 when there were no numbers) for sum; the mean (0 when there were no
// numbers) for avg; the least or greatest number for min and max, with
// ok false when there were none (the reply is then null).
func (a *Agg) Result() (value float64, ok bool) {
	switch a.fn {
	case AggCount:
		return float64(a.n), true
	case AggSum:
		return a.sum, true
	case AggAvg:
		if a.n == 0 {
			return 0, true
		}
		return a.sum / float64(a.n), true
	}
	return a.best, a.n > 0
}

// GroupRow is one group of a group-by result: the group's first record,
// whose values of the group-by fields form its key, and its aggregate.
type GroupRow struct {
	// First is the group's first record in bucket order.
	First filter.Getter
	// Value is the group's aggregate (min and max of no numbers: 0).
	Value float64
}

// AppendGroupRows appends the JSON array GroupBy writes for rows, in the
// order given:
//
//	[{"key": {"f1": v1, "f2": v2}, "value": N}, …]
//
// the key object listing fields in order with the values of the row's first
// record (absent ones as null). fields must be without repeats. The
// reactive queries render their incrementally kept groups with it, so that
// their bytes are QUERY.RUN's.
func AppendGroupRows(dst []byte, fields []string, rows []GroupRow) []byte {
	return appendGroups(dst, fields, len(rows), func(i int) (filter.Getter, float64) {
		return rows[i].First, rows[i].Value
	})
}

// appendGroups is AppendGroupRows over n rows that row returns.
func appendGroups(dst []byte, fields []string, n int, row func(i int) (first filter.Getter, value float64)) []byte {
	dst = append(dst, '[')
	for i := range n {
		first, value := row(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":{`...)
		for j, f := range fields {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonv.AppendString(dst, f)
			dst = append(dst, ':')
			v, _ := first.Get(f)
			dst = jsonv.Append(dst, v)
		}
		dst = append(dst, `},"value":`...)
		dst = jsonv.AppendNumber(dst, value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// GroupBy groups recs by the values of fields and appends the JSON array
// AppendGroupRows writes to dst, one element per group in order of first
// appearance, the key object listing fields in order (repeats dropped)
// with the first record's values. Values group by deep equality: 1 and "1"
// are different groups, null and absent the same one (shown as null). The
// value is fn over field as Agg computes it, except that min and max of a
// group without numbers are 0, as in noex-store. Errors (*AggError):
// unknown fn, empty fields, missing field for functions other than count.
// dst is returned unchanged on error.
func GroupBy(recs []Record, fields []string, fn, field string, dst []byte) ([]byte, error) {
	proto, err := newAgg(fn, field)
	if err != nil {
		return dst, err
	}
	if len(fields) == 0 {
		return dst, &AggError{Func: fn, Msg: "group by needs at least one field"}
	}
	fields = uniqueNames(fields)

	index := make(map[string]int)
	var groups []group
	var key []byte
	for _, r := range recs {
		key = key[:0]
		for _, f := range fields {
			v, _ := r.Get(f)
			key = AppendGroupKey(key, v)
		}
		i, ok := index[string(key)]
		if !ok {
			i = len(groups)
			index[string(key)] = i
			groups = append(groups, group{first: r, agg: proto})
		}
		groups[i].agg.Add(r)
	}
	return appendGroups(dst, fields, len(groups), func(i int) (filter.Getter, float64) {
		v, _ := groups[i].agg.Result() // min/max of nothing: 0
		return groups[i].first, v
	}), nil
}

// group is one group of GroupBy.
type group struct {
	first Record // the first record of the group, whose values form the key
	agg   Agg
}

// uniqueNames returns names without repeats, in order; names itself when it
// has none.
func uniqueNames(names []string) []string {
	for i := 1; i < len(names); i++ {
		for j := 0; j < i; j++ {
			if names[i] == names[j] {
				out := make([]string, 0, len(names))
				for _, n := range names {
					if !containsName(out, n) {
						out = append(out, n)
					}
				}
				return out
			}
		}
	}
	return names
}

func containsName(names []string, s string) bool {
	for _, n := range names {
		if n == s {
			return true
		}
	}
	return false
}

// AppendGroupKey appends an injective binary encoding of v in which deeply
// equal values (objects whatever their key order, 0 and -0) encode alike:
// the grouping rule of GroupBy (null and absent group together), shared
// with the reactive queries that maintain groups incrementally. Scalars
// encode without allocating.
func AppendGroupKey(dst []byte, v jsonv.Value) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, 'z')
	case bool:
		if t {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case float64:
		if t == 0 {
			t = 0 // -0 groups with 0
		}
		dst = append(dst, 'n')
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(t))
	case string:
		dst = append(dst, 's')
		dst = binary.AppendUvarint(dst, uint64(len(t)))
		return append(dst, t...)
	case []jsonv.Value:
		dst = append(dst, 'a')
		dst = binary.AppendUvarint(dst, uint64(len(t)))
		for _, e := range t {
			dst = AppendGroupKey(dst, e)
		}
		return dst
	case *jsonv.Object:
		if t == nil {
			return append(dst, 'o', 0)
		}
		dst = append(dst, 'o')
		dst = binary.AppendUvarint(dst, uint64(len(t.Keys)))
		order := make([]int, len(t.Keys))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return t.Keys[order[a]] < t.Keys[order[b]] })
		for _, i := range order {
			dst = binary.AppendUvarint(dst, uint64(len(t.Keys[i])))
			dst = append(dst, t.Keys[i]...)
			dst = AppendGroupKey(dst, t.Vals[i])
		}
		return dst
	}
	return append(dst, '?')
}
