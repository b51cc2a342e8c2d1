package filter

import (
	"math/rand/v2"
	"regexp"
	"strings"

	"bucketd/jsonv"
)

// refMatch is a direct, uncompiled reading of the filter rules, used as a
// model for Match. fv must be a valid filter.
func refMatch(fv jsonv.Value, r Getter) bool {
	o, ok := fv.(*jsonv.Object)
	if !ok {
		return true
	}
	for i, k := range o.Keys {
		x := o.Vals[i]
		switch k {
		case "$and":
			for _, m := range x.([]jsonv.Value) {
				if !refMatch(m, r) {
					return false
				}
			}
			continue
		case "$or":
			any := false
			for _, m := range x.([]jsonv.Value) {
				if refMatch(m, r) {
					any = true
				}
			}
			if !any {
				return false
			}
			continue
		}
		v, present := r.Get(k)
		ops, isOps := x.(*jsonv.Object)
		if !isOps || ops.Len() == 0 || !strings.HasPrefix(ops.Keys[0], "$") {
			if !present || !jsonv.Equal(v, x) {
				return false
			}
			continue
		}
		if !refOps(ops, v, present) {
			return false
		}
	}
	return true
}

// refOps evaluates an operator object on a field's value.
func refOps(ops *jsonv.Object, v jsonv.Value, present bool) bool {
	for j, op := range ops.Keys {
		x := ops.Vals[j]
		switch op {
		case "$options":
			continue // read by $regex
		case "$regex":
			pat := x.(string)
			if o, _ := ops.Get("$options"); o == "i" {
				pat = "(?i)" + pat
			}
			s, ok := v.(string)
			if !present || !ok || !regexp.MustCompile(pat).MatchString(s) {
				return false
			}
		case "$size":
			arr, ok := v.([]jsonv.Value)
			if !ok || float64(len(arr)) != x.(float64) {
				return false
			}
		case "$not":
			if refOps(x.(*jsonv.Object), v, present) {
				return false
			}
		case "$elemMatch":
			arr, _ := v.([]jsonv.Value)
			sub := x.(*jsonv.Object)
			found := false
			for _, e := range arr {
				if strings.HasPrefix(sub.Keys[0], "$") && sub.Keys[0] != "$or" && sub.Keys[0] != "$and" {
					found = found || refOps(sub, e, true)
				} else if eo, ok := e.(*jsonv.Object); ok {
					found = found || refMatch(sub, eo)
				}
			}
			if !found {
				return false
			}
		default:
			if !refOp(op, x, v, present) {
				return false
			}
		}
	}
	return true
}

func refOp(op string, x, v jsonv.Value, present bool) bool {
	cmp := func(a, b jsonv.Value) (int, bool) { // a vs b, same type only
		switch s := a.(type) {
		case float64:
			t, ok := b.(float64)
			if !ok {
				return 0, false
			}
			switch {
			case s < t:
				return -1, true
			case s > t:
				return 1, true
			}
			return 0, true
		case string:
			t, ok := b.(string)
			if !ok {
				return 0, false
			}
			return strings.Compare(s, t), true
		}
		return 0, false
	}
	in := func() bool {
		for _, m := range x.([]jsonv.Value) {
			if jsonv.Equal(m, v) {
				return true
			}
			if arr, ok := v.([]jsonv.Value); ok { // or one of an array's elements
				for _, e := range arr {
					if jsonv.Equal(m, e) {
						return true
					}
				}
			}
		}
		return false
	}
	s, isStr := v.(string)
	switch op {
	case "$eq":
		return present && jsonv.Equal(v, x)
	case "$neq":
		return !present || !jsonv.Equal(v, x)
	case "$gt", "$gte", "$lt", "$lte":
		c, ok := cmp(v, x)
		if !present || !ok {
			return false
		}
		return map[string]bool{"$gt": c > 0, "$gte": c >= 0, "$lt": c < 0, "$lte": c <= 0}[op]
	case "$between":
		b := x.([]jsonv.Value)
		c1, ok1 := cmp(v, b[0])
		c2, ok2 := cmp(v, b[1])
		return present && ok1 && ok2 && c1 >= 0 && c2 <= 0
	case "$in":
		return present && in()
	case "$nin":
		return !present || !in()
	case "$contains":
		if arr, ok := v.([]jsonv.Value); ok { // an element equal to the operand
			for _, e := range arr {
				if jsonv.Equal(e, x) {
					return true
				}
			}
			return false
		}
		xs, xIsStr := x.(string)
		return present && isStr && xIsStr && strings.Contains(lowerString(s), lowerString(xs))
	case "$startsWith":
		return present && isStr && strings.HasPrefix(s, x.(string))
	case "$endsWith":
		return present && isStr && strings.HasSuffix(s, x.(string))
	case "$exists":
		return (present && v != nil) == x.(bool)
	}
	panic("unknown operator " + op)
}

var (
	randFields = []string{"a", "b", "c", "d"}
	randValues = []string{`null`, `true`, `false`, `0`, `1`, `2`, `-1`, `1.5`, `""`, `"a"`, `"b"`,
		`"ab"`, `"A"`, `"Ab"`, `"10"`, `"ba"`, `"\u00e9"`, `"\u00c9t\u00e9"`, `[1]`, `["a"]`, `{"x":1}`, `{}`}
	randOps = []string{"$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$between", "$in", "$nin",
		"$contains", "$startsWith", "$endsWith", "$exists", "$regex", "$size", "$not", "$elemMatch"}
)

func randValue(rnd *rand.Rand) jsonv.Value {
	v, err := jsonv.Parse([]byte(randValues[rnd.IntN(len(randValues))]))
	if err != nil {
		panic(err)
	}
	return v
}

// randBound returns a number or a string.
func randBound(rnd *rand.Rand) jsonv.Value {
	for {
		switch v := randValue(rnd).(type) {
		case float64, string:
			return v
		}
	}
}

func randString(rnd *rand.Rand) string {
	for {
		if s, ok := randValue(rnd).(string); ok {
			return s
		}
	}
}

// randFilter builds a valid random filter value.
func randFilter(rnd *rand.Rand, depth int) jsonv.Value {
	o := jsonv.NewObject(4)
	n := rnd.IntN(4)
	for range n {
		switch k := rnd.IntN(10); {
		case k == 0 && depth < 3, k == 1 && depth < 3:
			m := rnd.IntN(4)
			arr := make([]jsonv.Value, m)
			for j := range arr {
				arr[j] = randFilter(rnd, depth+1)
			}
			name := "$or"
			if k == 1 {
				name = "$and"
			}
			if _, dup := o.Get(name); !dup {
				o.Set(name, arr)
			}
		default:
			f := randFields[rnd.IntN(len(randFields))]
			if _, dup := o.Get(f); dup {
				continue
			}
			if rnd.IntN(3) == 0 {
				v := randValue(rnd)
				if vo, ok := v.(*jsonv.Object); ok && vo.Len() == 0 {
					v = 1.0
				}
				o.Set(f, v)
				continue
			}
			ops := jsonv.NewObject(2)
			for range 1 + rnd.IntN(2) {
				op := randOps[rnd.IntN(len(randOps))]
				var x jsonv.Value
				switch op {
				case "$eq", "$neq":
					x = randValue(rnd)
				case "$gt", "$gte", "$lt", "$lte":
					x = randBound(rnd)
				case "$between":
					lo := randBound(rnd)
					var hi jsonv.Value // of lo's type: $between takes two numbers or two strings
					if _, ok := lo.(string); ok {
						hi = randString(rnd)
					} else if rnd.IntN(2) == 0 {
						hi = float64(rnd.IntN(4) - 1)
					} else {
						hi = lo
					}
					x = []jsonv.Value{lo, hi}
				case "$in", "$nin":
					m := rnd.IntN(4)
					if rnd.IntN(8) == 0 {
						m = largeSet + rnd.IntN(4)
					}
					arr := make([]jsonv.Value, m)
					for j := range arr {
						arr[j] = randValue(rnd)
					}
					x = arr
				case "$contains":
					if rnd.IntN(3) == 0 {
						x = float64(rnd.IntN(3))
					} else {
						x = randString(rnd)
					}
				case "$startsWith", "$endsWith":
					x = randString(rnd)
				case "$regex":
					x = []string{"^a", "b$", "a|b", ".", "^$", "\\d"}[rnd.IntN(6)]
					if rnd.IntN(3) == 0 {
						ops.Set("$options", "i")
					}
				case "$size":
					x = float64(rnd.IntN(3))
				case "$not", "$elemMatch":
					inner := jsonv.NewObject(1)
					inner.Set([]string{"$gt", "$eq", "$contains"}[rnd.IntN(3)], randBound(rnd))
					if op == "$elemMatch" && rnd.IntN(2) == 0 {
						inner = jsonv.NewObject(1)
						inner.Set("x", randValue(rnd))
					}
					x = inner
				case "$exists":
					x = rnd.IntN(2) == 0
				}
				ops.Set(op, x)
			}
			o.Set(f, ops)
		}
	}
	return o
}

// randRecord builds a random record over randFields.
func randRecord(rnd *rand.Rand) *jsonv.Object {
	o := jsonv.NewObject(len(randFields))
	for _, f := range randFields {
		if rnd.IntN(4) > 0 {
			o.Set(f, randValue(rnd))
		}
	}
	return o
}
