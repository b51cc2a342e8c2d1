package filter

import (
	"regexp"
	"sort"
	"strings"

	"bucketd/jsonv"
)

// MaxNesting is the deepest nesting of $or and $and that Parse accepts. A
// filter nested deeper is rejected, so that matching, which recurses once per
// level, stays bounded whatever the input.
const MaxNesting = 128

// largeSet is the member count from which an $in or $nin list is looked up
// through maps instead of a linear scan.
const largeSet = 12

// Getter gives a record's top-level field values. Get reports whether the
// field is present; a present field may hold nil (JSON null). *jsonv.Object
// implements it. Match calls Get from the goroutine that calls Match, so an
// implementation needs no locking of its own beyond what the record needs.
type Getter interface {
	Get(field string) (jsonv.Value, bool)
}

// Filter is a compiled filter. It is immutable once Parse returns it and
// safe for concurrent use by any number of goroutines. A nil *Filter
// matches every record.
type Filter struct {
	root    group
	fields  []string
	cons    []Constraint
	orsAsIn int
}

// group is a conjunction: every field test and, for each $or, at least one
// of its alternatives. $and members are flattened into the group that holds
// them, and the tests on one field are merged into one fieldTest.
type group struct {
	tests []fieldTest
	ors   [][]group
}

// fieldTest is a conjunction of conditions on one field.
type fieldTest struct {
	field string
	conds []cond
}

// opcode names the test a cond performs on a present field value.
type opcode uint8

const (
	opEq         opcode = iota // jsonv.Equal(v, val)
	opIn                       // set.has(v)
	opGt                       // v > bound (num or str)
	opGte                      // v >= bound
	opLt                       // v < bound
	opLte                      // v <= bound
	opBetween                  // lo <= v <= hi
	opContains                 // string v contains str, ignoring case
	opStartsWith               // string v starts with str
	opEndsWith                 // string v ends with str
	opExists                   // v is not null
	opRegex                    // string v matches re
	opSize                     // array v has num elements
	opNot                      // not every cond of sub matches (present or not)
	opElemMatch                // array v has an element that sub (scalars) or elem (objects) matches
	opHas                      // array v has an element equal to val ($contains on arrays)
)

// cond is one compiled condition. Its result on a record is
// (present && test(v)) != neg: an absent field fails every test, and neg
// turns $eq into $neq, $in into $nin and $exists:true into $exists:false.
type cond struct {
	op     opcode
	neg    bool
	isStr  bool        // comparison bounds are strings (str, str2), not numbers
	val    jsonv.Value // operand of $eq/$neq
	num    float64     // number bound (lo for $between)
	num2   float64     // hi number bound of $between
	str    string      // string bound or operand ($contains: lower-cased)
	str2   string      // hi string bound of $between
	set    *valueSet   // members of $in/$nin
	fromOr bool        // an opIn made of an $or of equalities on one field
	re     *regexp.Regexp
	sub    []cond  // $not's conditions, $elemMatch's on scalar elements
	elem   *Filter // $elemMatch's filter on object elements
}

// Parse compiles a filter from its JSON value. v must be an object; nil
// (JSON null) and an empty object match every record. The rules are in the
// package documentation. Errors are *Error and wrap ErrInvalid. The Filter
// keeps no reference into v: operands are copied (jsonv.Clone).
func Parse(v jsonv.Value) (*Filter, error) {
	f := &Filter{}
	switch t := v.(type) {
	case nil:
	case *jsonv.Object:
		if err := parseGroup(&f.root, t, 0); err != nil {
			return nil, err
		}
	default:
		return nil, newError("", "", "expected an object")
	}
	f.fields = collectFields(&f.root, nil)
	f.cons = buildConstraints(&f.root)
	f.orsAsIn = countOrsAsIn(&f.root)
	return f, nil
}

// OrsAsIn returns how many $or lists of the filter were compiled as an $in:
// those whose members are all equalities ($eq or a plain value) on one
// field. Such an $or is matched by one set look-up and planned like an $in
// (an index on the field is used).
func (f *Filter) OrsAsIn() int {
	if f == nil {
		return 0
	}
	return f.orsAsIn
}

// orAsIn adds the $or alternatives alts to g as one $in on their field when
// every alternative is a single equality on the same field, and reports
// whether it did. The $in keeps whole-value equality (fromOr).
func orAsIn(g *group, alts []group) bool {
	var field string
	var members []jsonv.Value
	if len(alts) == 0 {
		return false
	}
	for i := range alts {
		a := &alts[i]
		if len(a.ors) != 0 || len(a.tests) != 1 || len(a.tests[0].conds) != 1 {
			return false
		}
		t := &a.tests[0]
		c := &t.conds[0]
		// An $in member matches array elements, which an equality does
		// not: only equalities (and $or lists already merged) merge.
		if c.neg || (c.op != opEq && !(c.op == opIn && c.fromOr)) || (i > 0 && t.field != field) {
			return false
		}
		field = t.field
		if c.op == opEq {
			members = append(members, c.val)
		} else {
			members = append(members, c.set.all...)
		}
	}
	g.add(field, []cond{{op: opIn, set: newValueSet(members), fromOr: true}})
	return true
}

// countOrsAsIn counts the conditions of g and its alternatives that orAsIn
// made.
func countOrsAsIn(g *group) int {
	n := 0
	for i := range g.tests {
		for j := range g.tests[i].conds {
			if g.tests[i].conds[j].fromOr {
				n++
			}
		}
	}
	for _, alts := range g.ors {
		for j := range alts {
			n += countOrsAsIn(&alts[j])
		}
	}
	return n
}

// ParseJSON parses data with jsonv.Parse and compiles it with Parse. A JSON
// syntax error is returned as it is (a *jsonv.SyntaxError, see errors.As);
// any other error is an *Error.
func ParseJSON(data []byte) (*Filter, error) {
	v, err := jsonv.Parse(data)
	if err != nil {
		return nil, err
	}
	return Parse(v)
}

// MatchAll reports whether the filter matches every record without reading
// any field (null, {}, {"$and": []}, an $or with an empty member, …).
func (f *Filter) MatchAll() bool {
	return f == nil || f.root.empty()
}

// Fields returns every field name the filter reads, inside $or and $and
// included, sorted and without duplicates. A record change that touches none
// of these fields cannot change whether the record matches. The slice is a
// copy.
func (f *Filter) Fields() []string {
	if f == nil {
		return nil
	}
	return append([]string(nil), f.fields...)
}

// parseGroup adds the conditions of the filter object o to g. depth counts
// the $or/$and levels above o.
func parseGroup(g *group, o *jsonv.Object, depth int) error {
	if depth > MaxNesting {
		return newError("", "", "nesting deeper than 128 levels of $or/$and")
	}
	for i, k := range o.Keys {
		v := o.Vals[i]
		if !strings.HasPrefix(k, "$") {
			conds, err := parseField(k, v)
			if err != nil {
				return err
			}
			g.add(k, conds)
			continue
		}
		switch k {
		case "$and":
			members, err := filterList(k, v)
			if err != nil {
				return err
			}
			for _, m := range members {
				if err := parseGroup(g, m.(*jsonv.Object), depth+1); err != nil {
					return err
				}
			}
		case "$or":
			members, err := filterList(k, v)
			if err != nil {
				return err
			}
			alts := make([]group, len(members))
			always := false
			for j, m := range members {
				if err := parseGroup(&alts[j], m.(*jsonv.Object), depth+1); err != nil {
					return err
				}
				always = always || alts[j].empty()
			}
			switch {
			case always: // an $or with a match-all member is dropped
			case orAsIn(g, alts):
			default:
				g.ors = append(g.ors, alts)
			}
		default:
			return newError("", k, "unknown operator "+quote(k))
		}
	}
	return nil
}

// filterList checks that the operand of $and/$or is an array of objects.
func filterList(op string, v jsonv.Value) ([]jsonv.Value, error) {
	arr, ok := v.([]jsonv.Value)
	if !ok {
		return nil, newError("", op, op+" expects an array of filters")
	}
	for _, m := range arr {
		if _, ok := m.(*jsonv.Object); !ok {
			return nil, newError("", op, op+" expects an array of filters")
		}
	}
	return arr, nil
}

// add appends conds to the test on field, creating it when needed.
func (g *group) add(field string, conds []cond) {
	for i := range g.tests {
		if g.tests[i].field == field {
			g.tests[i].conds = append(g.tests[i].conds, conds...)
			return
		}
	}
	g.tests = append(g.tests, fieldTest{field: field, conds: conds})
}

// empty reports whether g matches every record.
func (g *group) empty() bool { return len(g.tests) == 0 && len(g.ors) == 0 }

// parseField compiles the value of a field in a filter: an operator object
// or a plain value compared for equality.
func parseField(field string, v jsonv.Value) ([]cond, error) {
	o, ok := v.(*jsonv.Object)
	if !ok || o.Len() == 0 || !hasOperator(o) {
		return []cond{{op: opEq, val: jsonv.Clone(v)}}, nil
	}
	conds := make([]cond, 0, o.Len())
	options, hasOptions := o.Get("$options")
	if _, hasRegex := o.Get("$regex"); hasOptions && !hasRegex {
		return nil, newError(field, "$options", "$options goes with $regex")
	}
	for i, op := range o.Keys {
		if !strings.HasPrefix(op, "$") {
			return nil, newError(field, "", "field "+quote(field)+" mixes operators with plain keys")
		}
		if op == "$options" {
			continue
		}
		var c cond
		var err error
		if op == "$regex" {
			c, err = parseRegex(field, o.Vals[i], options)
		} else {
			c, err = parseOp(field, op, o.Vals[i])
		}
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// parseRegex compiles $regex with its $options (nil, "" or "i").
func parseRegex(field string, x, options jsonv.Value) (cond, error) {
	pat, ok := x.(string)
	if !ok {
		return cond{}, newError(field, "$regex", "$regex expects a string (a Go RE2 pattern)")
	}
	switch options {
	case nil, "":
	case "i":
		pat = "(?i)" + pat
	default:
		return cond{}, newError(field, "$options", `$options may only be "i" (ignore case)`)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return cond{}, newError(field, "$regex", "$regex: "+err.Error())
	}
	return cond{op: opRegex, re: re}, nil
}

// hasOperator reports whether any key of o starts with '$'.
func hasOperator(o *jsonv.Object) bool {
	for _, k := range o.Keys {
		if strings.HasPrefix(k, "$") {
			return true
		}
	}
	return false
}

// parseOp compiles one operator of field's operator object.
func parseOp(field, op string, x jsonv.Value) (cond, error) {
	switch op {
	case "$eq":
		return cond{op: opEq, val: jsonv.Clone(x)}, nil
	case "$neq":
		return cond{op: opEq, val: jsonv.Clone(x), neg: true}, nil
	case "$gt", "$gte", "$lt", "$lte":
		c := cond{op: compareOp(op)}
		switch t := x.(type) {
		case float64:
			c.num = t
		case string:
			c.str, c.isStr = t, true
		default:
			return cond{}, newError(field, op, op+" expects a number or a string")
		}
		return c, nil
	case "$between":
		arr, ok := x.([]jsonv.Value)
		if ok && len(arr) == 2 {
			switch lo := arr[0].(type) {
			case float64:
				if hi, ok := arr[1].(float64); ok {
					return cond{op: opBetween, num: lo, num2: hi}, nil
				}
			case string:
				if hi, ok := arr[1].(string); ok {
					return cond{op: opBetween, isStr: true, str: lo, str2: hi}, nil
				}
			}
		}
		return cond{}, newError(field, op, "$between expects [lo, hi]")
	case "$in", "$nin":
		arr, ok := x.([]jsonv.Value)
		if !ok {
			return cond{}, newError(field, op, op+" expects an array")
		}
		return cond{op: opIn, neg: op == "$nin", set: newValueSet(jsonv.Clone(arr).([]jsonv.Value))}, nil
	case "$contains":
		// A string: a substring of a string field; for an array field, an
		// element equal to it (a number or a boolean too).
		switch t := x.(type) {
		case string:
			return cond{op: opContains, str: lowerString(t), val: t}, nil
		case float64, bool:
			return cond{op: opHas, val: t}, nil
		}
		return cond{}, newError(field, op, "$contains expects a string, or a number or boolean element of an array")
	case "$size":
		n, ok := x.(float64)
		if !ok || n < 0 || n != float64(int(n)) {
			return cond{}, newError(field, op, "$size expects a non-negative integer")
		}
		return cond{op: opSize, num: n}, nil
	case "$not":
		o, ok := x.(*jsonv.Object)
		if !ok || o.Len() == 0 || !hasOperator(o) {
			return cond{}, newError(field, op, `$not expects an operator object, as in {"$not":{"$gt":5}}`)
		}
		sub, err := parseField(field, o)
		if err != nil {
			return cond{}, err
		}
		return cond{op: opNot, sub: sub}, nil
	case "$elemMatch":
		o, ok := x.(*jsonv.Object)
		if !ok || o.Len() == 0 {
			return cond{}, newError(field, op, "$elemMatch expects a filter of the elements, or an operator object")
		}
		if hasOperator(o) && !strings.HasPrefix(o.Keys[0], "$or") && !strings.HasPrefix(o.Keys[0], "$and") {
			sub, err := parseField(field, o) // on scalar elements: {"$gt":5}
			if err != nil {
				return cond{}, err
			}
			return cond{op: opElemMatch, sub: sub}, nil
		}
		elem, err := Parse(o) // on object elements: {"sku":"x","qty":{"$gt":1}}
		if err != nil {
			return cond{}, err
		}
		return cond{op: opElemMatch, elem: elem}, nil
	case "$startsWith", "$endsWith":
		s, ok := x.(string)
		if !ok {
			return cond{}, newError(field, op, op+" expects a string")
		}
		if op == "$startsWith" {
			return cond{op: opStartsWith, str: s}, nil
		}
		return cond{op: opEndsWith, str: s}, nil
	case "$exists":
		b, ok := x.(bool)
		if !ok {
			return cond{}, newError(field, op, "$exists expects a boolean")
		}
		return cond{op: opExists, neg: !b}, nil
	}
	return cond{}, newError(field, op, "unknown operator "+quote(op))
}

// compareOp maps "$gt", "$gte", "$lt" and "$lte" to their opcodes.
func compareOp(op string) opcode {
	switch op {
	case "$gt":
		return opGt
	case "$gte":
		return opGte
	case "$lt":
		return opLt
	}
	return opLte
}

// collectFields appends the field names read by g and its alternatives to
// dst, and returns them sorted and deduplicated.
func collectFields(g *group, dst []string) []string {
	var walk func(g *group)
	walk = func(g *group) {
		for i := range g.tests {
			dst = append(dst, g.tests[i].field)
		}
		for _, alts := range g.ors {
			for j := range alts {
				walk(&alts[j])
			}
		}
	}
	walk(g)
	sort.Strings(dst)
	out := dst[:0]
	for i, s := range dst {
		if i == 0 || s != dst[i-1] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// quote returns s as a JSON string literal, for error messages.
func quote(s string) string { return string(jsonv.AppendString(nil, s)) }

// Comparisons calls fn for each range comparison of the filter ($gt, $gte,
// $lt, $lte, $between, at any depth of $and and $or) with its field, its
// operator's name and whether its operand is a string (else a number), and
// returns fn's first error. Callers check operand types against a schema.
func (f *Filter) Comparisons(fn func(field, op string, isStr bool) error) error {
	if f == nil {
		return nil
	}
	return f.root.comparisons(fn)
}

func (g *group) comparisons(fn func(field, op string, isStr bool) error) error {
	for i := range g.tests {
		t := &g.tests[i]
		for j := range t.conds {
			c := &t.conds[j]
			name := ""
			switch c.op {
			case opGt:
				name = "$gt"
			case opGte:
				name = "$gte"
			case opLt:
				name = "$lt"
			case opLte:
				name = "$lte"
			case opBetween:
				name = "$between"
			default:
				continue
			}
			if err := fn(t.field, name, c.isStr); err != nil {
				return err
			}
		}
	}
	for _, alts := range g.ors {
		for j := range alts {
			if err := alts[j].comparisons(fn); err != nil {
				return err
			}
		}
	}
	return nil
}
