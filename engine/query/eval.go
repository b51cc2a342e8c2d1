package query

import (
	"cmp"
	"slices"
	"strings"

	"bucketd/jsonv"
)

// Eval appends the query's result, as JSON, to dst and returns the extended
// slice. recs must be the records that match q.Filter, in bucket order (the
// engine selects them, with its indexes); Eval does not filter again.
//
// Without an aggregate the result is an array of records (AppendJSON), or
// of objects holding only q.Fields in q.Fields order (absent fields left
// out, null ones kept), after a stable sort by q.Sort (null and absent
// values last whatever the direction; other values in jsonv.Compare order:
// booleans < numbers < strings < arrays < objects, strings bytewise), then
// q.Offset, then q.Limit.
//
// With an aggregate it is a number (count: the number of records; sum and
// avg of no numbers: 0; min and max of no numbers: null), or with GroupBy the
// array GroupBy writes. A Query whose Agg names an unknown function (only
// possible when built by hand) gives null.
//
// The output is deterministic. Eval allocates nothing per record apart from
// what sorting needs (one index slice and one slice of sort values); with a
// small limit it keeps only offset+limit positions in a heap instead of
// sorting them all.
func (q *Query) Eval(recs []Record, dst []byte) []byte {
	if q.Agg != nil {
		return q.evalAgg(recs, dst)
	}
	start := min(max(q.Offset, 0), len(recs))
	end := len(recs)
	if q.Limit > 0 && q.Limit < end-start {
		end = start + q.Limit
	}
	var order []int
	if len(q.Sort) > 0 && len(recs) > 1 && start < end {
		keep := 0
		if end < len(recs) {
			keep = end
		}
		order = sortOrder(recs, q.Sort, keep)
	}
	dst = append(dst, '[')
	for i := start; i < end; i++ {
		if i > start {
			dst = append(dst, ',')
		}
		r := recs[i]
		if order != nil {
			r = recs[order[i]]
		}
		if len(q.Fields) == 0 {
			dst = r.AppendJSON(dst)
		} else {
			dst = appendProjection(dst, r, q.Fields)
		}
	}
	return append(dst, ']')
}

// evalAgg appends the aggregate result.
func (q *Query) evalAgg(recs []Record, dst []byte) []byte {
	a := q.Agg
	if len(a.GroupBy) > 0 {
		out, err := GroupBy(recs, a.GroupBy, a.Func, a.Field, dst)
		if err != nil {
			return append(dst, "null"...)
		}
		return out
	}
	agg, err := newAgg(a.Func, a.Field)
	if err != nil {
		return append(dst, "null"...)
	}
	for _, r := range recs {
		agg.Add(r)
	}
	v, ok := agg.Result()
	if !ok {
		return append(dst, "null"...)
	}
	return jsonv.AppendNumber(dst, v)
}

// TopLevel is implemented by records that can tell a top-level field from
// a path: TopLevelField looks name up among the top-level fields only.
type TopLevel interface {
	TopLevelField(name string) (jsonv.Value, bool)
}

// appendProjection appends {"f": v, …} for the fields of r present among
// fields. A dot path that is not a top-level field gives the nested shape
// {"address":{"city":v}}, several paths into one object sharing it.
func appendProjection(dst []byte, r Record, fields []string) []byte {
	for _, f := range fields {
		if strings.IndexByte(f, '.') > 0 {
			return appendNestedProjection(dst, r, fields)
		}
	}
	dst = append(dst, '{')
	first := true
	for _, f := range fields {
		v, ok := r.Get(f)
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonv.AppendString(dst, f)
		dst = append(dst, ':')
		dst = jsonv.Append(dst, v)
	}
	return append(dst, '}')
}

// appendNestedProjection is appendProjection for field lists with paths.
func appendNestedProjection(dst []byte, r Record, fields []string) []byte {
	out := &jsonv.Object{}
	ours := map[*jsonv.Object]bool{out: true} // objects made here, which may be changed
	tl, _ := r.(TopLevel)
	for _, f := range fields {
		v, ok := r.Get(f)
		if !ok {
			continue
		}
		if tl != nil {
			if _, top := tl.TopLevelField(f); top {
				out.Set(f, v)
				continue
			}
		}
		steps := strings.Split(f, ".")
		cur := out
		for _, st := range steps[:len(steps)-1] {
			child, _ := cur.Get(st)
			next, isObj := child.(*jsonv.Object)
			switch {
			case !isObj:
				next = &jsonv.Object{}
				cur.Set(st, next)
			case !ours[next]: // a record's object, given whole by an earlier field
				next = jsonv.Clone(next).(*jsonv.Object)
				cur.Set(st, next)
			}
			ours[next] = true
			cur = next
		}
		cur.Set(steps[len(steps)-1], v)
	}
	return jsonv.Append(dst, out)
}

// sortOrder returns the positions of recs in sorted order, or only the
// first keep of them when keep > 0. Each record's sort values are read once;
// ties keep bucket order, so the sort is stable and its result does not
// depend on the algorithm (a full sort, or a bounded heap when keep is small).
func sortOrder(recs []Record, keys []SortKey, keep int) []int {
	n, k := len(recs), len(keys)
	vals := make([]jsonv.Value, n*k) // vals[i*k+j]: key j of record i; absent is nil
	for i, r := range recs {
		for j, sk := range keys {
			vals[i*k+j], _ = r.Get(sk.Field)
		}
	}
	cmpRecs := func(a, b int) int {
		va, vb := vals[a*k:a*k+k], vals[b*k:b*k+k]
		for j := range keys {
			x, y := va[j], vb[j]
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return 1 // null and absent last, whatever the direction
			case y == nil:
				return -1
			}
			c := compareValues(x, y)
			if c == 0 {
				continue
			}
			if keys[j].Desc {
				return -c
			}
			return c
		}
		return cmp.Compare(a, b)
	}
	if keep > 0 && keep <= n/8 {
		return topK(n, keep, cmpRecs)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, cmpRecs)
	return order
}

// topK returns the m smallest of 0..n-1 under the strict total order cmp,
// sorted, using a max-heap of m elements.
func topK(n, m int, cmp func(a, b int) int) []int {
	h := make([]int, 0, m)
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			big := l
			if r := l + 1; r < len(h) && cmp(h[r], h[l]) > 0 {
				big = r
			}
			if cmp(h[big], h[i]) <= 0 {
				return
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
	for i := range n {
		if len(h) < m {
			h = append(h, i)
			for j := len(h) - 1; j > 0; { // sift up
				p := (j - 1) / 2
				if cmp(h[j], h[p]) <= 0 {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			continue
		}
		if cmp(i, h[0]) < 0 {
			h[0] = i
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}

// compareValues is jsonv.Compare with fast paths for two numbers and two
// strings.
func compareValues(x, y jsonv.Value) int {
	switch a := x.(type) {
	case float64:
		if b, ok := y.(float64); ok {
			return cmp.Compare(a, b)
		}
	case string:
		if b, ok := y.(string); ok {
			return strings.Compare(a, b)
		}
	}
	return jsonv.Compare(x, y)
}
