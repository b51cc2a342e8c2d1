package engine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"bucketd/engine"
	"bucketd/jsonv"
)

// The model of one bucket for TestModel: records in a plain map, the
// schema rules, a filter matcher written from package filter's
// documentation, and the random generator of operations.

// modelDef returns the model bucket's definition; with tagDefault, tag
// defaults to "t" (a default keeps inserts from taking drafts).
func modelDef(numKey, ordered, tagDefault bool) string {
	keyType := "string"
	if numKey {
		keyType = "number"
	}
	tagFill := ""
	if tagDefault {
		tagFill = `,"default":"t"`
	}
	return fmt.Sprintf(`{"key":"id","schema":{
		"id":{"type":%q},
		"email":{"type":"string","unique":true},
		"grp":{"type":"string","enum":["a","b","c","d"]},
		"n":{"type":"number","min":0,"max":100},
		"tag":{"type":"string","maxLength":3%s}},
		"indexes":["grp","n"],"ordered":%v}`, keyType, tagFill, ordered)
}

var modelSchema = []string{"id", "email", "grp", "n", "tag"}

type field struct {
	k string
	v jsonv.Value
}

// mRec is the model's record; it is never modified once built.
type mRec struct {
	fields                    []field // canonical order, no metadata
	key                       jsonv.Value
	version, created, updated int64
	seq                       int
	text                      string // json(), cached
}

func (r *mRec) Get(name string) (jsonv.Value, bool) {
	switch name {
	case "_version":
		return float64(r.version), true
	case "_createdAt":
		return float64(r.created), true
	case "_updatedAt":
		return float64(r.updated), true
	}
	return getField(r.fields, name)
}

func getField(fs []field, name string) (jsonv.Value, bool) {
	for _, f := range fs {
		if f.k == name {
			return f.v, true
		}
	}
	return nil, false
}

func setField(fs []field, name string, v jsonv.Value) []field {
	for i := range fs {
		if fs[i].k == name {
			fs[i].v = v
			return fs
		}
	}
	return append(fs, field{name, v})
}

func isMeta(k string) bool {
	return k == "_version" || k == "_createdAt" || k == "_updatedAt" || k == "_expiresAt"
}

// sameFields reports whether a and b hold the same fields and values, in
// any order.
func sameFields(a, b []field) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		v, ok := getField(b, f.k)
		if !ok || !jsonv.Equal(v, f.v) {
			return false
		}
	}
	return true
}

// canonical orders fields as the spec says: key, schema fields, the others.
func canonical(fs []field) []field {
	var out []field
	for _, name := range modelSchema {
		if v, ok := getField(fs, name); ok {
			out = append(out, field{name, v})
		}
	}
	for _, f := range fs {
		if !slices.Contains(modelSchema, f.k) && !isMeta(f.k) {
			out = append(out, f)
		}
	}
	return out
}

func mAppend(b []byte, v jsonv.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case string:
		return strconv.AppendQuote(b, x) // the pools hold plain ASCII only
	case []jsonv.Value:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = mAppend(b, e)
		}
		return append(b, ']')
	case *jsonv.Object:
		b = append(b, '{')
		for i, k := range x.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = mAppend(b, x.Vals[i])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("model value %T", v))
}

// json returns the record's canonical JSON text, computed once.
func (r *mRec) json() string {
	if r.text == "" {
		r.text = r.encode()
	}
	return r.text
}

func (r *mRec) encode() string {
	b := []byte{'{'}
	for _, f := range r.fields {
		b = strconv.AppendQuote(b, f.k)
		b = append(b, ':')
		b = mAppend(b, f.v)
		b = append(b, ',')
	}
	b = fmt.Appendf(b, `"_version":%d,"_createdAt":%d,"_updatedAt":%d}`, r.version, r.created, r.updated)
	return string(b)
}

func mValid(fs []field, numKey bool) bool {
	for _, f := range fs {
		if f.v == nil {
			continue
		}
		switch f.k {
		case "id":
			if _, ok := f.v.(float64); ok != numKey {
				return false
			}
		case "email":
			if _, ok := f.v.(string); !ok {
				return false
			}
		case "grp":
			if s, ok := f.v.(string); !ok || !strings.Contains("abcd", s) || len(s) != 1 {
				return false
			}
		case "n":
			if n, ok := f.v.(float64); !ok || n < 0 || n > 100 {
				return false
			}
		case "tag":
			if s, ok := f.v.(string); !ok || utf8.RuneCountInString(s) > 3 {
				return false
			}
		}
	}
	id, ok := getField(fs, "id")
	return ok && id != nil
}

// model is the plain-map model of one bucket.
type model struct {
	numKey, ordered bool
	tagDefault      bool // inserts fill in tag (see modelDef)
	recs            map[jsonv.Value]*mRec
	nextSeq         int
	eventSeq        uint64
}

func (m *model) clone() *model {
	c := *m
	c.recs = make(map[jsonv.Value]*mRec, len(m.recs))
	for k, r := range m.recs {
		c.recs[k] = r
	}
	return &c
}

// list returns the records in bucket order.
func (m *model) list() []*mRec {
	out := make([]*mRec, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *mRec) int {
		if !m.ordered {
			return a.seq - b.seq
		}
		if m.numKey {
			return compareTo(a.key.(float64), b.key.(float64))
		}
		return strings.Compare(a.key.(string), b.key.(string))
	})
	return out
}

func compareTo(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wantChange is a change the model expects.
type wantChange struct {
	op       engine.Op
	key      jsonv.Value
	old, new *mRec
	reason   string
	count    int
}

// uniqueTaken reports whether another record than self holds email v.
func (m *model) uniqueTaken(fs []field, self *mRec) bool {
	v, ok := getField(fs, "email")
	if !ok || v == nil {
		return false
	}
	for _, r := range m.recs {
		if r == self {
			continue
		}
		if w, ok := r.Get("email"); ok && w == v {
			return true
		}
	}
	return false
}

func (m *model) insert(in []field, now int64, out *[]wantChange) (*mRec, string) {
	fs := slices.Clone(in)
	if _, ok := getField(fs, "tag"); !ok && m.tagDefault {
		fs = append(fs, field{"tag", "t"})
	}
	if !mValid(fs, m.numKey) {
		return nil, "validation"
	}
	key, _ := getField(fs, "id")
	if m.recs[key] != nil {
		return nil, "exists"
	}
	if m.uniqueTaken(fs, nil) {
		return nil, "unique"
	}
	r := &mRec{fields: canonical(fs), key: key, version: 1, created: now, updated: now, seq: m.nextSeq}
	m.nextSeq++
	m.recs[key] = r
	*out = append(*out, wantChange{op: engine.OpInserted, key: key, new: r})
	return r, "ok"
}

// update merges changes into old; with same (B.UPDATE, B.UPDATEMANY), an
// update that changes nothing leaves old as it is.
func (m *model) update(old *mRec, changes []field, now int64, out *[]wantChange, same bool) (*mRec, string) {
	merged := slices.Clone(old.fields)
	ops := 0
	for _, c := range changes {
		if strings.HasPrefix(c.k, "$") {
			ops++
		}
	}
	switch {
	case ops > 0 && ops < len(changes):
		return nil, "arg" // operators and fields mixed
	case ops > 0:
		var kind string
		if merged, kind = mOps(merged, changes); kind != "ok" {
			return nil, kind
		}
		changes = nil
	}
	for _, c := range changes {
		if c.k == "id" && !jsonv.Equal(c.v, old.key) {
			return nil, "arg" // the key cannot change
		}
		if c.k == "id" || isMeta(c.k) {
			continue
		}
		merged = setField(merged, c.k, c.v)
	}
	if !mValid(merged, m.numKey) {
		return nil, "validation"
	}
	if same && sameFields(merged, old.fields) {
		return old, "ok" // nothing changes: no version, no event
	}
	if m.uniqueTaken(merged, old) {
		return nil, "unique"
	}
	r := &mRec{fields: canonical(merged), key: old.key, version: old.version + 1, created: old.created, updated: now, seq: old.seq}
	m.recs[old.key] = r
	*out = append(*out, wantChange{op: engine.OpUpdated, key: old.key, old: old, new: r})
	return r, "ok"
}

// mOpOrder is the order in which update operators apply.
var mOpOrder = []string{"$set", "$unset", "$inc", "$push", "$pull"}

// mOps applies update operators to the fields fs, written from the rules
// of docs/commands.md ("B.UPDATE"): $set, $unset, $inc, $push, $pull apply
// in that order; a path is dot-separated, names no empty step, does not
// start with the key or a metadata field, and appears in one operator
// only; a path through a missing or null object creates it ($unset and
// $pull: nothing to do), through anything else is an error; $inc adds a
// number to a number (missing or null: 0); $push appends to an array
// (missing or null: []), {"$each":[…]} appends several; $pull removes the
// elements equal to its value (missing or null: nothing). Every error is
// an ArgError ("arg"), found before the result is validated.
func mOps(fs []field, ops []field) ([]field, string) {
	for _, c := range ops {
		if !slices.Contains(mOpOrder, c.k) {
			return nil, "arg"
		}
	}
	obj := toObject(fs)
	seen := map[string]bool{}
	for _, op := range mOpOrder {
		arg, ok := getField(ops, op)
		if !ok {
			continue
		}
		var paths []string
		var vals []jsonv.Value
		if list, isList := arg.([]jsonv.Value); isList && op == "$unset" {
			for _, e := range list {
				p, isStr := e.(string)
				if !isStr {
					return nil, "arg"
				}
				paths, vals = append(paths, p), append(vals, nil)
			}
		} else {
			o, isObj := arg.(*jsonv.Object)
			if !isObj || o.Len() == 0 {
				return nil, "arg"
			}
			paths, vals = o.Keys, o.Vals
		}
		for i, p := range paths {
			steps := strings.Split(p, ".")
			if seen[p] || slices.Contains(steps, "") || steps[0] == "id" || isMeta(steps[0]) {
				return nil, "arg"
			}
			seen[p] = true
			if obj, ok = mApply(obj, steps, op, vals[i]); !ok {
				return nil, "arg"
			}
		}
	}
	out := make([]field, len(obj.Keys))
	for i, k := range obj.Keys {
		out[i] = field{k, obj.Vals[i]}
	}
	return out, "ok"
}

// mApply applies one operator at the path steps inside a copy of obj.
func mApply(obj *jsonv.Object, steps []string, op string, v jsonv.Value) (*jsonv.Object, bool) {
	out := &jsonv.Object{Keys: slices.Clone(obj.Keys), Vals: slices.Clone(obj.Vals)}
	cur, has := out.Get(steps[0])
	if len(steps) > 1 {
		inner, isObj := cur.(*jsonv.Object)
		switch {
		case cur == nil && (op == "$unset" || op == "$pull"):
			return out, true
		case cur == nil:
			inner = &jsonv.Object{}
		case !isObj:
			return nil, false
		}
		next, ok := mApply(inner, steps[1:], op, v)
		if !ok {
			return nil, false
		}
		out.Set(steps[0], next)
		return out, true
	}
	switch op {
	case "$set":
		out.Set(steps[0], v)
	case "$unset":
		out.Delete(steps[0])
	case "$inc":
		d, isNum := v.(float64)
		n, curNum := cur.(float64)
		if !isNum || (cur != nil && !curNum) {
			return nil, false
		}
		out.Set(steps[0], n+d)
	case "$push", "$pull":
		arr, isArr := cur.([]jsonv.Value)
		if cur != nil && !isArr {
			return nil, false
		}
		if op == "$pull" {
			if !has || cur == nil {
				return out, true
			}
			var kept []jsonv.Value
			for _, e := range arr {
				if !jsonv.Equal(e, v) {
					kept = append(kept, e)
				}
			}
			out.Set(steps[0], append([]jsonv.Value{}, kept...))
			return out, true
		}
		items := []jsonv.Value{v}
		if o, isObj := v.(*jsonv.Object); isObj && o.Len() == 1 {
			if each, ok := o.Get("$each"); ok {
				list, isList := each.([]jsonv.Value)
				if !isList {
					return nil, false
				}
				items = list
			}
		}
		out.Set(steps[0], append(slices.Clone(arr), items...))
	}
	return out, true
}

func (m *model) remove(r *mRec, out *[]wantChange) {
	delete(m.recs, r.key)
	*out = append(*out, wantChange{op: engine.OpDeleted, key: r.key, old: r, reason: engine.ReasonDeleted})
}

func (m *model) where(f *jsonv.Object) []*mRec {
	var out []*mRec
	for _, r := range m.list() {
		if f == nil || mMatch(f, r) {
			out = append(out, r)
		}
	}
	return out
}

// mMatch is the model's own filter matcher, written from the rules of
// package filter's documentation for the scalar values the model uses.
func mMatch(f *jsonv.Object, r *mRec) bool {
	for i, k := range f.Keys {
		arg := f.Vals[i]
		switch k {
		case "$or":
			ok := false
			for _, sub := range arg.([]jsonv.Value) {
				ok = ok || mMatch(sub.(*jsonv.Object), r)
			}
			if !ok {
				return false
			}
		case "$and":
			for _, sub := range arg.([]jsonv.Value) {
				if !mMatch(sub.(*jsonv.Object), r) {
					return false
				}
			}
		default:
			v, present := r.Get(k)
			if o, ok := arg.(*jsonv.Object); ok {
				for j, op := range o.Keys {
					if !mOp(op, o.Vals[j], v, present) {
						return false
					}
				}
			} else if !present || v != arg {
				return false
			}
		}
	}
	return true
}

func mOp(op string, arg, v jsonv.Value, present bool) bool {
	in := func() bool {
		return present && slices.Contains(arg.([]jsonv.Value), v)
	}
	cmp := func(bound jsonv.Value) (int, bool) {
		switch x := v.(type) {
		case float64:
			if b, ok := bound.(float64); ok {
				return compareTo(x, b), true
			}
		case string:
			if b, ok := bound.(string); ok {
				return strings.Compare(x, b), true
			}
		}
		return 0, false
	}
	s, isStr := v.(string)
	switch op {
	case "$eq":
		return present && v == arg
	case "$neq":
		return !(present && v == arg)
	case "$in":
		return in()
	case "$nin":
		return !in()
	case "$exists":
		return (present && v != nil) == arg.(bool)
	case "$contains":
		return present && isStr && strings.Contains(strings.ToLower(s), strings.ToLower(arg.(string)))
	case "$startsWith":
		return present && isStr && strings.HasPrefix(s, arg.(string))
	case "$endsWith":
		return present && isStr && strings.HasSuffix(s, arg.(string))
	case "$between":
		lh := arg.([]jsonv.Value)
		lo, ok1 := cmp(lh[0])
		hi, ok2 := cmp(lh[1])
		return present && ok1 && ok2 && lo >= 0 && hi <= 0
	}
	c, ok := cmp(arg)
	if !present || !ok {
		return false
	}
	switch op {
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	case "$lte":
		return c <= 0
	}
	panic("model: operator " + op)
}

// gen makes random keys, values, records, changes and filters.
type gen struct {
	r      *rand.Rand
	numKey bool
}

func (g *gen) pick(vals ...jsonv.Value) jsonv.Value { return vals[g.r.IntN(len(vals))] }

func (g *gen) key() jsonv.Value {
	i := g.r.IntN(modelPool)
	if g.numKey {
		return float64(i)
	}
	return "k" + strconv.Itoa(i)
}

func (g *gen) keyArg(k jsonv.Value) string {
	if f, ok := k.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return k.(string)
}

// value returns a value for field name, invalid now and then.
func (g *gen) value(name string) jsonv.Value {
	bad := g.r.IntN(12) == 0
	switch name {
	case "id":
		if bad {
			if g.numKey {
				return "k1"
			}
			return 1.0
		}
		return g.key()
	case "email":
		if bad {
			return g.pick(nil, 7.0)
		}
		return "e" + strconv.Itoa(g.r.IntN(modelPool)) + "@x"
	case "grp":
		if bad {
			return g.pick("e", 3.0, nil, "A")
		}
		return g.pick("a", "b", "c", "d")
	case "n":
		if bad {
			return g.pick(-1.0, 101.0, "5", nil, true)
		}
		return g.pick(float64(g.r.IntN(101)), 2.5, 0.0, 100.0)
	case "tag":
		if bad {
			return g.pick("long", 3.0, nil)
		}
		return g.pick("", "ab", "xyz", "Tq")
	case "_version":
		return float64(g.r.IntN(4) + 1)
	}
	return g.pick(nil, true, false, 1.0, -3.0, "x", "Xy", "k1", "")
}

// record returns a random record to insert, as ordered fields.
func (g *gen) record() []field {
	var fs []field
	names := []string{"email", "grp", "n", "tag", "x", "y", "_version"}
	g.r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	if g.r.IntN(25) != 0 {
		fs = append(fs, field{"id", g.value("id")})
	}
	for _, n := range names[:g.r.IntN(len(names))] {
		fs = append(fs, field{n, g.value(n)})
	}
	g.r.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	return fs
}

func (g *gen) changes() []field {
	if g.r.IntN(3) == 0 {
		return g.opChanges()
	}
	var fs []field
	names := []string{"email", "grp", "n", "tag", "x", "y", "id", "_version", "_createdAt"}
	g.r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, n := range names[:1+g.r.IntN(3)] {
		fs = append(fs, field{n, g.value(n)})
	}
	return fs
}

// opChanges returns random update operators, wrong now and then. They
// touch fields no filter of the model reads as arrays or objects: nested
// paths under "o", arrays in "arr" (and "o.list"), scalars elsewhere.
func (g *gen) opChanges() []field {
	obj := func(kv ...any) *jsonv.Object {
		o := jsonv.NewObject(len(kv) / 2)
		for i := 0; i < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1])
		}
		return o
	}
	elem := func() jsonv.Value { return g.pick("a", "b", 1.0) }
	var ops []field
	for _, op := range mOpOrder {
		if g.r.IntN(3) != 0 {
			continue
		}
		var arg jsonv.Value
		switch op {
		case "$set":
			p := g.pick("x", "tag", "n", "o.a", "o.b.c", "o.a.z", "y").(string)
			v := g.value(p)
			if strings.HasPrefix(p, "o.") {
				v = g.pick(1.0, "s", true, nil)
			}
			arg = obj(p, v)
			if g.r.IntN(20) == 0 {
				arg = obj(g.pick("id", "_version", "o..a", "").(string), 1.0)
			}
		case "$unset":
			if g.r.IntN(2) == 0 {
				arg = []jsonv.Value{g.pick("x", "tag", "o.a", "o", "arr", "nope"), g.pick("y", "o.b.c", "o.list")}
			} else {
				arg = obj(g.pick("x", "o.b", "arr").(string), "")
			}
		case "$inc":
			arg = obj(g.pick("n", "x", "o.a", "o.b.c", "y").(string), g.pick(1.0, -1.0, 2.5, -500.0, 0.0, "1"))
		case "$push":
			v := elem()
			if g.r.IntN(3) == 0 {
				v = obj("$each", []jsonv.Value{elem(), elem()})
			}
			arg = obj(g.pick("arr", "o.list", "tag").(string), v)
		case "$pull":
			arg = obj(g.pick("arr", "o.list").(string), elem())
		}
		ops = append(ops, field{op, arg})
	}
	switch g.r.IntN(30) {
	case 0:
		ops = append(ops, field{"$rename", obj("x", "y")})
	case 1:
		ops = append(ops, field{"x", 1.0}) // a mix: refused
	case 2:
		ops = append(ops, field{"$set", jsonv.NewObject(0)})
	}
	if len(ops) == 0 {
		ops = []field{{"$inc", obj("n", 1.0)}}
	}
	g.r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	return ops
}

func toObject(fs []field) *jsonv.Object {
	o := jsonv.NewObject(len(fs))
	for _, f := range fs {
		o.Keys = append(o.Keys, f.k)
		o.Vals = append(o.Vals, f.v)
	}
	return o
}

var filterFields = []string{"id", "email", "grp", "n", "tag", "x", "_version", "nope"}

// filter returns a random filter using every operator.
func (g *gen) filter(depth int) *jsonv.Object {
	o := jsonv.NewObject(3)
	for range 1 + g.r.IntN(2) {
		switch c := g.r.IntN(10); {
		case c == 0 && depth > 0:
			o.Set("$or", g.filters(depth-1))
		case c == 1 && depth > 0:
			o.Set("$and", g.filters(depth-1))
		default:
			name := filterFields[g.r.IntN(len(filterFields))]
			if g.r.IntN(3) == 0 {
				o.Set(name, g.scalar(name))
				continue
			}
			ops := jsonv.NewObject(2)
			for range 1 + g.r.IntN(2) {
				op, arg := g.op(name)
				ops.Set(op, arg)
			}
			o.Set(name, ops)
		}
	}
	return o
}

func (g *gen) filters(depth int) []jsonv.Value {
	out := make([]jsonv.Value, g.r.IntN(4))
	for i := range out {
		out[i] = g.filter(depth)
	}
	return out
}

// scalar returns a likely value of the field (valid ones mostly).
func (g *gen) scalar(name string) jsonv.Value {
	for {
		v := g.value(name)
		if name != "nope" && name != "x" && v == nil && g.r.IntN(2) == 0 {
			continue
		}
		return v
	}
}

// bound returns a number or string comparison operand: of the schema's
// type for a schema field (comparing across types there is an error, see
// engine/strict.go), either for the others.
func (g *gen) bound(name string) jsonv.Value {
	wantStr, typed := false, true
	switch name {
	case "n":
	case "email", "grp", "tag":
		wantStr = true
	case "id":
		wantStr = !g.numKey
	default:
		typed = false
	}
	v := g.scalar(name)
	switch v.(type) {
	case float64, string:
		if !typed || isString(v) == wantStr {
			return v
		}
	}
	if typed && wantStr {
		return g.pick("k", "e1", "a", "b", "K1", "").(string)
	}
	return float64(g.r.IntN(101))
}

func (g *gen) op(name string) (string, jsonv.Value) {
	ops := []string{"$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
		"$contains", "$startsWith", "$endsWith", "$exists", "$between"}
	op := ops[g.r.IntN(len(ops))]
	switch op {
	case "$eq", "$neq":
		return op, g.scalar(name)
	case "$gt", "$gte", "$lt", "$lte":
		return op, g.bound(name)
	case "$in", "$nin":
		vals := make([]jsonv.Value, g.r.IntN(5))
		for i := range vals {
			vals[i] = g.scalar(name)
		}
		return op, vals
	case "$exists":
		return op, g.r.IntN(2) == 0
	case "$between":
		lo, hi := g.bound(name), g.bound(name)
		if _, ok := lo.(string); ok != isString(hi) {
			hi = lo
		}
		if g.r.IntN(4) != 0 && jsonv.Compare(lo, hi) > 0 {
			lo, hi = hi, lo
		}
		return op, []jsonv.Value{lo, hi}
	}
	s, _ := g.scalar(name).(string)
	if s == "" {
		s = g.pick("k", "e1", "@x", "K1", "a", "").(string)
	}
	n := g.r.IntN(len(s) + 1)
	if op == "$endsWith" {
		return op, s[len(s)-n:]
	}
	if op == "$contains" && g.r.IntN(2) == 0 {
		s = strings.ToUpper(s)
	}
	return op, s[:n]
}

func isString(v jsonv.Value) bool { _, ok := v.(string); return ok }
