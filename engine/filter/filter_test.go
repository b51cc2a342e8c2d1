package filter

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"bucketd/jsonv"
)

// rec parses a record literal.
func rec(t testing.TB, s string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(s))
	if err != nil {
		t.Fatalf("record %s: %v", s, err)
	}
	return o
}

// mustParse compiles a filter literal.
func mustParse(t testing.TB, s string) *Filter {
	t.Helper()
	f, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatalf("filter %s: %v", s, err)
	}
	return f
}

type matchCase struct {
	filter string
	record string
	want   bool
}

var matchCases = []matchCase{
	// match-all forms
	{`null`, `{}`, true},
	{`{}`, `{"a":1}`, true},
	{`{"$and":[]}`, `{"a":1}`, true},
	{`{"$or":[]}`, `{"a":1}`, false},

	// plain equality
	{`{"role":"admin"}`, `{"role":"admin"}`, true},
	{`{"role":"admin"}`, `{"role":"Admin"}`, false},
	{`{"role":"admin"}`, `{}`, false},
	{`{"role":"admin","age":30}`, `{"role":"admin","age":30}`, true},
	{`{"role":"admin","age":30}`, `{"role":"admin","age":31}`, false},
	{`{"n":1}`, `{"n":"1"}`, false},
	{`{"n":"1"}`, `{"n":1}`, false},
	{`{"n":0}`, `{"n":-0}`, true},
	{`{"b":true}`, `{"b":true}`, true},
	{`{"b":true}`, `{"b":1}`, false},
	{`{"f":null}`, `{"f":null}`, true},
	{`{"f":null}`, `{}`, false},
	{`{"f":null}`, `{"f":0}`, false},
	{`{"tags":["a","b"]}`, `{"tags":["a","b"]}`, true},
	{`{"tags":["a","b"]}`, `{"tags":["b","a"]}`, false},
	{`{"tags":["a"]}`, `{"tags":"a"}`, false},
	{`{"o":{"x":1,"y":2}}`, `{"o":{"y":2,"x":1}}`, true},
	{`{"o":{"x":1}}`, `{"o":{"x":1,"y":2}}`, false},
	{`{"o":{}}`, `{"o":{}}`, true},
	{`{"o":{}}`, `{"o":{"x":1}}`, false},
	{`{"o":{"x":{"$gt":1}}}`, `{"o":{"x":{"$gt":1}}}`, true}, // nested $ keys are literal
	{`{"o":{"x":{"$gt":1}}}`, `{"o":{"x":5}}`, false},

	// $eq / $neq
	{`{"a":{"$eq":5}}`, `{"a":5}`, true},
	{`{"a":{"$eq":5}}`, `{"a":6}`, false},
	{`{"a":{"$eq":null}}`, `{"a":null}`, true},
	{`{"a":{"$eq":null}}`, `{}`, false},
	{`{"a":{"$eq":[1,{"b":2}]}}`, `{"a":[1,{"b":2}]}`, true},
	{`{"a":{"$eq":{"$gt":1}}}`, `{"a":{"$gt":1}}`, true},
	{`{"a":{"$neq":5}}`, `{"a":5}`, false},
	{`{"a":{"$neq":5}}`, `{"a":6}`, true},
	{`{"a":{"$neq":5}}`, `{"a":"5"}`, true},
	{`{"a":{"$neq":5}}`, `{}`, true},
	{`{"a":{"$neq":null}}`, `{}`, true},
	{`{"a":{"$neq":null}}`, `{"a":null}`, false},

	// comparisons on numbers
	{`{"age":{"$gt":18}}`, `{"age":19}`, true},
	{`{"age":{"$gt":18}}`, `{"age":18}`, false},
	{`{"age":{"$gte":18}}`, `{"age":18}`, true},
	{`{"age":{"$gte":18}}`, `{"age":17.5}`, false},
	{`{"age":{"$lt":18}}`, `{"age":17}`, true},
	{`{"age":{"$lt":18}}`, `{"age":18}`, false},
	{`{"age":{"$lte":18}}`, `{"age":18}`, true},
	{`{"age":{"$lte":18}}`, `{"age":18.0001}`, false},
	{`{"age":{"$gt":-1e300}}`, `{"age":-1e299}`, true},
	{`{"age":{"$gte":18,"$lt":65}}`, `{"age":64}`, true},
	{`{"age":{"$gte":18,"$lt":65}}`, `{"age":65}`, false},
	// comparisons on strings, bytewise
	{`{"name":{"$gte":"Charlie"}}`, `{"name":"Charlie"}`, true},
	{`{"name":{"$gte":"Charlie"}}`, `{"name":"Bob"}`, false},
	{`{"name":{"$gt":"Charlie"}}`, `{"name":"charlie"}`, true},
	{`{"name":{"$lt":"b"}}`, `{"name":"a\uffff"}`, true},
	{`{"name":{"$lt":"\uffff"}}`, `{"name":"😀"}`, false}, // code point order
	{`{"d":{"$gte":"2024-01-01","$lt":"2024-02-01"}}`, `{"d":"2024-01-15T10:00:00Z"}`, true},
	{`{"d":{"$gte":"2024-01-01","$lt":"2024-02-01"}}`, `{"d":"2024-02-01"}`, false},
	// mixed types never compare
	{`{"a":{"$gt":5}}`, `{"a":"10"}`, false},
	{`{"a":{"$lt":"5"}}`, `{"a":1}`, false},
	{`{"a":{"$gte":0}}`, `{"a":true}`, false},
	{`{"a":{"$gte":0}}`, `{"a":null}`, false},
	{`{"a":{"$lte":0}}`, `{}`, false},
	{`{"a":{"$gt":0}}`, `{"a":[1]}`, false},
	{`{"a":{"$gt":""}}`, `{"a":{"x":1}}`, false},

	// $between
	{`{"a":{"$between":[1,5]}}`, `{"a":1}`, true},
	{`{"a":{"$between":[1,5]}}`, `{"a":5}`, true},
	{`{"a":{"$between":[1,5]}}`, `{"a":3.5}`, true},
	{`{"a":{"$between":[1,5]}}`, `{"a":0.999}`, false},
	{`{"a":{"$between":[1,5]}}`, `{"a":5.001}`, false},
	{`{"a":{"$between":[5,1]}}`, `{"a":3}`, false},
	{`{"a":{"$between":[1,5]}}`, `{"a":"3"}`, false},
	{`{"a":{"$between":[1,5]}}`, `{"a":null}`, false},
	{`{"a":{"$between":[1,5]}}`, `{}`, false},
	{`{"a":{"$between":["b","d"]}}`, `{"a":"c"}`, true},
	{`{"a":{"$between":["b","d"]}}`, `{"a":"d"}`, true},
	{`{"a":{"$between":["b","d"]}}`, `{"a":"da"}`, false},
	{`{"a":{"$between":["b","d"]}}`, `{"a":3}`, false},

	// $in / $nin
	{`{"r":{"$in":["a","b"]}}`, `{"r":"b"}`, true},
	{`{"r":{"$in":["a","b"]}}`, `{"r":"c"}`, false},
	{`{"r":{"$in":["a","b"]}}`, `{}`, false},
	{`{"r":{"$in":[1,"2"]}}`, `{"r":2}`, false},
	{`{"r":{"$in":[1,"2"]}}`, `{"r":"2"}`, true},
	{`{"r":{"$in":[null]}}`, `{"r":null}`, true},
	{`{"r":{"$in":[null]}}`, `{}`, false},
	{`{"r":{"$in":[[1,2],{"x":1}]}}`, `{"r":{"x":1}}`, true},
	{`{"r":{"$in":[[1,2],{"x":1}]}}`, `{"r":[1,2]}`, true},
	{`{"r":{"$in":[]}}`, `{"r":1}`, false},
	{`{"r":{"$nin":["a","b"]}}`, `{"r":"c"}`, true},
	{`{"r":{"$nin":["a","b"]}}`, `{"r":"a"}`, false},
	{`{"r":{"$nin":["a","b"]}}`, `{}`, true},
	{`{"r":{"$nin":[]}}`, `{}`, true},
	{`{"r":{"$nin":[null]}}`, `{"r":null}`, false},
	// large sets go through maps
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":13}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":"x"}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":null}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":true}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":[1]}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":{"o":1}}`, true},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":14}`, false},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":"13"}`, false},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13,"x",null,true,[1],{"o":1}]}}`, `{"r":false}`, false},
	{`{"r":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,-0]}}`, `{"r":0}`, true},
	{`{"r":{"$nin":[1,2,3,4,5,6,7,8,9,10,11,12,13]}}`, `{"r":13}`, false},
	{`{"r":{"$nin":[1,2,3,4,5,6,7,8,9,10,11,12,13]}}`, `{"r":14}`, true},

	// $contains: case-insensitive substring, strings only
	{`{"n":{"$contains":"ali"}}`, `{"n":"Alice"}`, true},
	{`{"n":{"$contains":"ALI"}}`, `{"n":"alice"}`, true},
	{`{"n":{"$contains":"ice"}}`, `{"n":"Alice"}`, true},
	{`{"n":{"$contains":"bob"}}`, `{"n":"Alice"}`, false},
	{`{"n":{"$contains":""}}`, `{"n":""}`, true},
	{`{"n":{"$contains":""}}`, `{"n":5}`, false},
	{`{"n":{"$contains":"a"}}`, `{"n":["a","b"]}`, true},  // an element
	{`{"n":{"$contains":"A"}}`, `{"n":["a","b"]}`, false}, // elements compare exactly
	{`{"n":{"$contains":"a"}}`, `{"n":["ab"]}`, false},
	{`{"n":{"$contains":2}}`, `{"n":[1,2]}`, true},
	{`{"n":{"$contains":2}}`, `{"n":"2"}`, false},
	{`{"n":{"$contains":true}}`, `{"n":[false,true]}`, true},
	{`{"n":{"$regex":"^al"}}`, `{"n":"alice"}`, true},
	{`{"n":{"$regex":"^al"}}`, `{"n":"Alice"}`, false},
	{`{"n":{"$regex":"^al","$options":"i"}}`, `{"n":"Alice"}`, true},
	{`{"n":{"$regex":"a"}}`, `{"n":["a"]}`, false},
	{`{"n":{"$regex":"a"}}`, `{}`, false},
	{`{"n":{"$size":2}}`, `{"n":[1,[2]]}`, true},
	{`{"n":{"$size":0}}`, `{"n":[]}`, true},
	{`{"n":{"$size":0}}`, `{"n":""}`, false},
	{`{"n":{"$size":1}}`, `{}`, false},
	{`{"n":{"$not":{"$gt":5}}}`, `{"n":3}`, true},
	{`{"n":{"$not":{"$gt":5}}}`, `{"n":6}`, false},
	{`{"n":{"$not":{"$gt":5}}}`, `{}`, true},
	{`{"n":{"$not":{"$gt":5}}}`, `{"n":"x"}`, true},
	{`{"n":{"$not":{"$regex":"^a"}}}`, `{"n":"bob"}`, true},
	{`{"n":{"$elemMatch":{"$gt":5,"$lt":9}}}`, `{"n":[1,7]}`, true},
	{`{"n":{"$elemMatch":{"$gt":5,"$lt":9}}}`, `{"n":[1,10]}`, false},
	{`{"n":{"$elemMatch":{"sku":"x","qty":{"$gte":2}}}}`, `{"n":[{"sku":"x","qty":1},{"sku":"y","qty":5}]}`, false},
	{`{"n":{"$elemMatch":{"sku":"x","qty":{"$gte":2}}}}`, `{"n":[{"sku":"y"},{"sku":"x","qty":2}]}`, true},
	{`{"n":{"$elemMatch":{"sku":"x"}}}`, `{"n":{"sku":"x"}}`, false},
	{`{"n":{"$contains":"a"}}`, `{}`, false},
	{`{"n":{"$contains":"ÉCOLE"}}`, `{"n":"une école"}`, true},
	{`{"n":{"$contains":"straße"}}`, `{"n":"STRAẞE"}`, true},
	{`{"n":{"$contains":"ΣΟΦ"}}`, `{"n":"σοφία"}`, true},
	{`{"n":{"$contains":"abcd"}}`, `{"n":"abcabcabd"}`, false},
	{`{"n":{"$contains":"abcabd"}}`, `{"n":"xabcabcabd"}`, true},
	{`{"n":{"$contains":"k"}}`, `{"n":"\u212a"}`, true}, // Kelvin sign lower-cases to k
	{`{"n":{"$contains":"long needle"}}`, `{"n":"long"}`, false},

	// $startsWith / $endsWith: case-sensitive
	{`{"e":{"$startsWith":"adm"}}`, `{"e":"admin"}`, true},
	{`{"e":{"$startsWith":"Adm"}}`, `{"e":"admin"}`, false},
	{`{"e":{"$startsWith":""}}`, `{"e":""}`, true},
	{`{"e":{"$startsWith":"1"}}`, `{"e":12}`, false},
	{`{"e":{"$endsWith":"@x.io"}}`, `{"e":"a@x.io"}`, true},
	{`{"e":{"$endsWith":"@X.io"}}`, `{"e":"a@x.io"}`, false},
	{`{"e":{"$endsWith":"o"}}`, `{}`, false},
	{`{"e":{"$startsWith":"\u00ff"}}`, `{"e":"\u00ffz"}`, true},

	// $exists
	{`{"a":{"$exists":true}}`, `{"a":0}`, true},
	{`{"a":{"$exists":true}}`, `{"a":false}`, true},
	{`{"a":{"$exists":true}}`, `{"a":""}`, true},
	{`{"a":{"$exists":true}}`, `{"a":null}`, false},
	{`{"a":{"$exists":true}}`, `{}`, false},
	{`{"a":{"$exists":false}}`, `{}`, true},
	{`{"a":{"$exists":false}}`, `{"a":null}`, true},
	{`{"a":{"$exists":false}}`, `{"a":1}`, false},

	// several operators on one field are ANDed
	{`{"a":{"$exists":true,"$neq":3,"$lt":5}}`, `{"a":4}`, true},
	{`{"a":{"$exists":true,"$neq":3,"$lt":5}}`, `{"a":3}`, false},
	{`{"a":{"$contains":"b","$startsWith":"a"}}`, `{"a":"aB"}`, true},

	// $or / $and, nested
	{`{"$or":[{"a":1},{"b":2}]}`, `{"a":1}`, true},
	{`{"$or":[{"a":1},{"b":2}]}`, `{"b":2}`, true},
	{`{"$or":[{"a":1},{"b":2}]}`, `{"a":2,"b":1}`, false},
	{`{"$or":[{"a":1},{}]}`, `{"a":2}`, true},
	{`{"$and":[{"a":1},{"b":2}]}`, `{"a":1,"b":2}`, true},
	{`{"$and":[{"a":1},{"b":2}]}`, `{"a":1}`, false},
	{`{"a":1,"$and":[{"a":2}]}`, `{"a":1}`, false},
	{`{"a":{"$gte":1},"$and":[{"a":{"$lte":3}}]}`, `{"a":2}`, true},
	{`{"a":{"$gte":1},"$and":[{"a":{"$lte":3}}]}`, `{"a":4}`, false},
	{`{"x":1,"$or":[{"a":1},{"b":2}]}`, `{"x":1,"b":2}`, true},
	{`{"x":1,"$or":[{"a":1},{"b":2}]}`, `{"x":2,"b":2}`, false},
	{`{"$or":[{"$and":[{"a":1},{"b":1}]},{"$and":[{"a":2},{"b":2}]}]}`, `{"a":2,"b":2}`, true},
	{`{"$or":[{"$and":[{"a":1},{"b":1}]},{"$and":[{"a":2},{"b":2}]}]}`, `{"a":1,"b":2}`, false},
	{`{"$and":[{"$or":[{"a":1},{"a":2}]},{"$or":[{"b":1},{"b":2}]}]}`, `{"a":2,"b":1}`, true},
	{`{"$and":[{"$or":[{"a":1},{"a":2}]},{"$or":[{"b":1},{"b":2}]}]}`, `{"a":2,"b":3}`, false},
	{`{"$or":[{"$or":[{"$or":[{"a":{"$in":[7]}}]}]}]}`, `{"a":7}`, true},
	{`{"$or":[{"a":{"$exists":false}},{"a":{"$lt":0}}]}`, `{}`, true},
	{`{"$or":[{"a":{"$exists":false}},{"a":{"$lt":0}}]}`, `{"a":1}`, false},

	// field names are flat, "$" only matters at the start
	{`{"a.b":1}`, `{"a.b":1}`, true},
	{`{"a.b":1}`, `{"a":{"b":1}}`, false},
	{`{"x$":1}`, `{"x$":1}`, true},
	{`{"":1}`, `{"":1}`, true},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		f := mustParse(t, c.filter)
		r := rec(t, c.record)
		if got := f.Match(r); got != c.want {
			t.Errorf("filter %s on %s: got %v, want %v", c.filter, c.record, got, c.want)
		}
		if got := refMatch(mustValue(t, c.filter), r); got != c.want {
			t.Errorf("reference matcher disagrees on filter %s, record %s", c.filter, c.record)
		}
		checkConstraints(t, f, r, c.filter)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ filter, msg, field, op string }{
		{`[]`, `invalid filter: expected an object`, "", ""},
		{`"a"`, `invalid filter: expected an object`, "", ""},
		{`1`, `invalid filter: expected an object`, "", ""},
		{`{"a":{"$foo":1}}`, `invalid filter: unknown operator "$foo"`, "a", "$foo"},
		{`{"a":{"$ne":1}}`, `invalid filter: unknown operator "$ne"`, "a", "$ne"},
		{`{"a":{"$or":[]}}`, `invalid filter: unknown operator "$or"`, "a", "$or"},
		{`{"$foo":1}`, `invalid filter: unknown operator "$foo"`, "", "$foo"},
		{`{"$eq":1}`, `invalid filter: unknown operator "$eq"`, "", "$eq"},
		{`{"a":{"$in":1}}`, `invalid filter: $in expects an array`, "a", "$in"},
		{`{"a":{"$in":{"x":1}}}`, `invalid filter: $in expects an array`, "a", "$in"},
		{`{"a":{"$nin":"x"}}`, `invalid filter: $nin expects an array`, "a", "$nin"},
		{`{"a":{"$between":1}}`, `invalid filter: $between expects [lo, hi]`, "a", "$between"},
		{`{"a":{"$between":[1]}}`, `invalid filter: $between expects [lo, hi]`, "a", "$between"},
		{`{"a":{"$between":[1,2,3]}}`, `invalid filter: $between expects [lo, hi]`, "a", "$between"},
		{`{"a":{"$between":[1,"z"]}}`, `invalid filter: $between expects [lo, hi]`, "a", "$between"},
		{`{"a":{"$between":[null,1]}}`, `invalid filter: $between expects [lo, hi]`, "a", "$between"},
		{`{"$or":{}}`, `invalid filter: $or expects an array of filters`, "", "$or"},
		{`{"$or":[1]}`, `invalid filter: $or expects an array of filters`, "", "$or"},
		{`{"$or":[null]}`, `invalid filter: $or expects an array of filters`, "", "$or"},
		{`{"$and":"x"}`, `invalid filter: $and expects an array of filters`, "", "$and"},
		{`{"$and":[[]]}`, `invalid filter: $and expects an array of filters`, "", "$and"},
		{`{"a":{"$gt":null}}`, `invalid filter: $gt expects a number or a string`, "a", "$gt"},
		{`{"a":{"$gte":true}}`, `invalid filter: $gte expects a number or a string`, "a", "$gte"},
		{`{"a":{"$lt":[1]}}`, `invalid filter: $lt expects a number or a string`, "a", "$lt"},
		{`{"a":{"$lte":{}}}`, `invalid filter: $lte expects a number or a string`, "a", "$lte"},
		{`{"a":{"$contains":[1]}}`, `invalid filter: $contains expects a string, or a number or boolean element of an array`, "a", "$contains"},
		{`{"a":{"$regex":1}}`, `invalid filter: $regex expects a string (a Go RE2 pattern)`, "a", "$regex"},
		{`{"a":{"$regex":"("}}`, "invalid filter: $regex: error parsing regexp: missing closing ): `(`", "a", "$regex"},
		{`{"a":{"$regex":"x","$options":"m"}}`, `invalid filter: $options may only be "i" (ignore case)`, "a", "$options"},
		{`{"a":{"$options":"i"}}`, `invalid filter: $options goes with $regex`, "a", "$options"},
		{`{"a":{"$size":-1}}`, `invalid filter: $size expects a non-negative integer`, "a", "$size"},
		{`{"a":{"$size":1.5}}`, `invalid filter: $size expects a non-negative integer`, "a", "$size"},
		{`{"a":{"$not":5}}`, `invalid filter: $not expects an operator object, as in {"$not":{"$gt":5}}`, "a", "$not"},
		{`{"a":{"$not":{"$foo":1}}}`, `invalid filter: unknown operator "$foo"`, "a", "$foo"},
		{`{"a":{"$elemMatch":[]}}`, `invalid filter: $elemMatch expects a filter of the elements, or an operator object`, "a", "$elemMatch"},
		{`{"a":{"$startsWith":null}}`, `invalid filter: $startsWith expects a string`, "a", "$startsWith"},
		{`{"a":{"$endsWith":["x"]}}`, `invalid filter: $endsWith expects a string`, "a", "$endsWith"},
		{`{"a":{"$exists":1}}`, `invalid filter: $exists expects a boolean`, "a", "$exists"},
		{`{"a":{"$gt":1,"b":2}}`, `invalid filter: field "a" mixes operators with plain keys`, "a", ""},
		{`{"a":{"b":2,"$gt":1}}`, `invalid filter: field "a" mixes operators with plain keys`, "a", ""},
		{`{"$or":[{"$and":[{"x":{"$bad":1}}]}]}`, `invalid filter: unknown operator "$bad"`, "x", "$bad"},
		{`{"a\"b":{"$bad":1}}`, `invalid filter: unknown operator "$bad"`, "a\"b", "$bad"},
		{`{"a":{"$x\"y":1}}`, `invalid filter: unknown operator "$x\"y"`, "a", "$x\"y"},
	}
	for _, c := range cases {
		_, err := ParseJSON([]byte(c.filter))
		if err == nil {
			t.Errorf("filter %s: no error, want %q", c.filter, c.msg)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("filter %s: error %q, want %q", c.filter, err, c.msg)
		}
		var fe *Error
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("filter %s: error %T is not a *filter.Error wrapping ErrInvalid", c.filter, err)
			continue
		}
		if fe.Field != c.field || fe.Op != c.op {
			t.Errorf("filter %s: Field %q Op %q, want %q %q", c.filter, fe.Field, fe.Op, c.field, c.op)
		}
	}
}

func TestParseJSONSyntaxError(t *testing.T) {
	for _, s := range []string{``, `{`, `{"a":}`, `{"a":1} x`, `nul`} {
		_, err := ParseJSON([]byte(s))
		var se *jsonv.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v (%T), want a *jsonv.SyntaxError", s, err, err)
		}
		if errors.Is(err, ErrInvalid) {
			t.Errorf("%q: syntax error wraps ErrInvalid", s)
		}
	}
}

func TestNesting(t *testing.T) {
	deep := func(n int) string {
		return strings.Repeat(`{"$or":[`, n) + `{"a":1}` + strings.Repeat(`]}`, n)
	}
	f := mustParse(t, deep(MaxNesting))
	if !f.Match(rec(t, `{"a":1}`)) || f.Match(rec(t, `{"a":2}`)) {
		t.Error("deep $or evaluates wrongly")
	}
	if _, err := ParseJSON([]byte(deep(MaxNesting + 1))); !errors.Is(err, ErrInvalid) {
		t.Errorf("nesting %d: error %v, want invalid filter", MaxNesting+1, err)
	}
	// A Value built in Go, deeper than jsonv.Parse would allow, is refused too.
	var v jsonv.Value = jsonv.NewObject(0)
	for range 10000 {
		o := jsonv.NewObject(1)
		o.Set("$and", []jsonv.Value{v})
		v = o
	}
	if _, err := Parse(v); !errors.Is(err, ErrInvalid) {
		t.Errorf("10000 levels: error %v", err)
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(rec(t, `{}`)) || !f.MatchAll() || f.Fields() != nil || f.Constraints() != nil {
		t.Error("nil *Filter should match everything and read nothing")
	}
}

func TestMatchAll(t *testing.T) {
	cases := map[string]bool{
		`null`: true, `{}`: true, `{"$and":[]}`: true, `{"$and":[{},{"$and":[]}]}`: true,
		`{"$or":[{"a":1},{}]}`: true, `{"$or":[]}`: false, `{"a":1}`: false,
		`{"a":{"$exists":false}}`: false, `{"$or":[{"a":1}]}`: false,
	}
	for s, want := range cases {
		if got := mustParse(t, s).MatchAll(); got != want {
			t.Errorf("%s: MatchAll %v, want %v", s, got, want)
		}
	}
}

func TestFields(t *testing.T) {
	cases := map[string][]string{
		`{}`:            nil,
		`{"b":1,"a":2}`: {"a", "b"},
		`{"c":1,"$or":[{"b":1},{"a":1,"c":{"$gt":1}}],"$and":[{"d":{"$exists":true}},{"b":2}]}`: {"a", "b", "c", "d"},
		`{"z":1,"$or":[{"y":1},{}]}`: {"z"}, // an always-true $or reads nothing
	}
	for s, want := range cases {
		f := mustParse(t, s)
		got := f.Fields()
		if !slices.Equal(got, want) {
			t.Errorf("%s: Fields %q, want %q", s, got, want)
		}
		if len(got) > 0 {
			got[0] = "mutated"
			if f.Fields()[0] == "mutated" {
				t.Errorf("%s: Fields shares its slice", s)
			}
		}
	}
}

func TestConstraints(t *testing.T) {
	type c = Constraint
	v := func(x ...jsonv.Value) []jsonv.Value { return append([]jsonv.Value{}, x...) }
	cases := []struct {
		filter string
		want   []Constraint
	}{
		{`{}`, nil},
		{`{"a":1}`, []c{{Field: "a", Eq: v(1.0)}}},
		{`{"a":"x","b":true}`, []c{{Field: "a", Eq: v("x")}, {Field: "b", Eq: v(true)}}},
		{`{"a":null}`, nil},
		{`{"a":[1]}`, nil},
		{`{"a":{"$eq":2}}`, []c{{Field: "a", Eq: v(2.0)}}},
		{`{"a":{"$neq":2}}`, nil},
		{`{"a":{"$in":[1,"1",1,true]}}`, []c{{Field: "a", Eq: v(1.0, "1", true)}}},
		{`{"a":{"$in":[1,null]}}`, nil},
		{`{"a":{"$in":[]}}`, []c{{Field: "a", Eq: v()}}},
		{`{"a":{"$nin":[1]}}`, nil},
		{`{"a":{"$gt":1}}`, []c{{Field: "a", Lo: 1.0, HasLo: true}}},
		{`{"a":{"$gte":1,"$lt":5}}`, []c{{Field: "a", Lo: 1.0, HasLo: true, LoIncl: true, Hi: 5.0, HasHi: true}}},
		{`{"a":{"$lte":"m"}}`, []c{{Field: "a", Hi: "m", HasHi: true, HiIncl: true}}},
		{`{"a":{"$between":[2,3]}}`, []c{{Field: "a", Lo: 2.0, Hi: 3.0, HasLo: true, HasHi: true, LoIncl: true, HiIncl: true}}},
		{`{"a":{"$gte":1,"$gt":1}}`, []c{{Field: "a", Lo: 1.0, HasLo: true}}},
		{`{"a":{"$gt":1,"$gte":3}}`, []c{{Field: "a", Lo: 3.0, HasLo: true, LoIncl: true}}},
		{`{"a":{"$lt":1,"$lte":1}}`, []c{{Field: "a", Hi: 1.0, HasHi: true}}},
		{`{"a":{"$gt":1},"$and":[{"a":{"$lt":9}},{"$and":[{"a":{"$lt":5}}]}]}`,
			[]c{{Field: "a", Lo: 1.0, HasLo: true, Hi: 5.0, HasHi: true}}},
		{`{"a":{"$gt":1,"$lt":"z"}}`, []c{{Field: "a", Eq: v()}}},
		{`{"a":1,"$and":[{"a":2}]}`, []c{{Field: "a", Eq: v()}}},
		{`{"a":{"$in":[1,2,3]},"$and":[{"a":{"$in":[3,2,7]}}]}`, []c{{Field: "a", Eq: v(2.0, 3.0)}}},
		{`{"a":{"$in":[1,2,"x",3],"$gte":2}}`, []c{{Field: "a", Eq: v(2.0, 3.0), Lo: 2.0, HasLo: true, LoIncl: true}}},
		{`{"a":{"$startsWith":"ab"}}`, []c{{Field: "a", Lo: "ab", HasLo: true, LoIncl: true, Hi: "ac", HasHi: true}}},
		{`{"a":{"$startsWith":"a\u00ff"}}`, []c{{Field: "a", Lo: "a\u00ff", HasLo: true, LoIncl: true, Hi: "a\xc3\xc0", HasHi: true}}},
		{`{"a":{"$startsWith":""}}`, []c{{Field: "a", Lo: "", HasLo: true, LoIncl: true}}},
		{`{"a":{"$contains":"x","$exists":true,"$endsWith":"y"}}`, nil},
		{`{"$or":[{"a":1},{"b":2}]}`, nil},
		{`{"$or":[{"a":1},{"a":{"$gt":2}}]}`, nil},
		{`{"$or":[{"a":1},{"a":null}]}`, nil},
		// An $or of equalities on one field is an $in.
		{`{"$or":[{"a":1},{"a":2}]}`, []c{{Field: "a", Eq: v(1.0, 2.0)}}},
		{`{"$or":[{"a":1},{"a":{"$eq":"x"}},{"a":{"$eq":2}}]}`, []c{{Field: "a", Eq: v(1.0, "x", 2.0)}}},
		// An $in member matches array elements: such an $or is not merged.
		{`{"$or":[{"a":1},{"a":{"$in":[2,1]}}]}`, nil},
		{`{"b":1,"$or":[{"a":1},{"a":2}],"a":{"$gt":1}}`, []c{{Field: "b", Eq: v(1.0)}, {Field: "a", Eq: v(2.0), Lo: 1.0, HasLo: true}}},
	}
	for _, tc := range cases {
		got := mustParse(t, tc.filter).Constraints()
		if !constraintsEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.filter, got, tc.want)
		}
	}
}

func constraintsEqual(a, b []Constraint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Field != y.Field || (x.Eq == nil) != (y.Eq == nil) || len(x.Eq) != len(y.Eq) ||
			x.HasLo != y.HasLo || x.HasHi != y.HasHi || x.LoIncl != y.LoIncl || x.HiIncl != y.HiIncl ||
			!jsonv.Equal(x.Lo, y.Lo) || !jsonv.Equal(x.Hi, y.Hi) {
			return false
		}
		for j := range x.Eq {
			if !jsonv.Equal(x.Eq[j], y.Eq[j]) {
				return false
			}
		}
	}
	return true
}

// checkConstraints fails the test when r matches f but breaks a constraint.
func checkConstraints(t testing.TB, f *Filter, r Getter, desc string) {
	t.Helper()
	if !f.Match(r) {
		return
	}
	for _, c := range f.Constraints() {
		v, ok := r.Get(c.Field)
		if !c.Satisfies(v, ok) {
			t.Fatalf("filter %s matches a record whose %q = %s breaks constraint %+v",
				desc, c.Field, jsonv.Marshal(v), c)
		}
	}
}

// TestRandomModel compares Match with the reference matcher and checks that
// constraints are implied, on random filters and records.
func TestRandomModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	n := 10000
	if testing.Short() {
		n = 2000
	}
	matched := 0
	for i := range n {
		fv := randFilter(rnd, 0)
		f, err := Parse(fv)
		if err != nil {
			t.Fatalf("random filter %s: %v", jsonv.Marshal(fv), err)
		}
		for range 20 {
			r := randRecord(rnd)
			got := f.Match(r)
			if want := refMatch(fv, r); got != want {
				t.Fatalf("case %d: filter %s record %s: Match %v, reference %v",
					i, jsonv.Marshal(fv), jsonv.Marshal(r), got, want)
			}
			if got {
				matched++
			}
			checkConstraints(t, f, r, string(jsonv.Marshal(fv)))
		}
	}
	if matched == 0 {
		t.Fatal("no random record ever matched: the generator is useless")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f := mustParse(t, `{"role":"admin","age":{"$gte":18,"$lt":65},"name":{"$contains":"ÉL"},`+
		`"tags":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,"x"]},"$or":[{"vip":true},{"score":{"$between":[90,100]}}],`+
		`"email":{"$endsWith":"@x.io","$exists":true},"o":{"k":[1,2]}}`)
	r := rec(t, `{"role":"admin","age":30,"name":"MichÉle","tags":"x","vip":false,"score":95,"email":"m@x.io","o":{"k":[1,2]}}`)
	if !f.Match(r) {
		t.Fatal("record should match")
	}
	if n := testing.AllocsPerRun(100, func() { f.Match(r) }); n != 0 {
		t.Errorf("Match allocates %v times per call", n)
	}
}

func mustValue(t testing.TB, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConcurrentMatch(t *testing.T) {
	f := mustParse(t, `{"a":{"$in":[1,2,3,4,5,6,7,8,9,10,11,12,13]},"$or":[{"b":{"$contains":"X"}},{"c":{"$exists":false}}]}`)
	recs := []*jsonv.Object{rec(t, `{"a":3,"b":"xx"}`), rec(t, `{"a":3,"b":"y","c":1}`), rec(t, `{"a":30}`)}
	want := []bool{true, false, false}
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 1000 {
				for i, r := range recs {
					ok = ok && f.Match(r) == want[i]
				}
				f.Fields()
				f.Constraints()
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Match gave a wrong answer")
		}
	}
}
