package tests

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A randomized, seeded test: scripts (some failing at a random point after
// their writes, some with redis.pcall) mixed with plain B.* writes on three
// buckets, checked after every step against a Go model of the records.

// Buckets of the model test: ma and mb have a string key, an indexed n and
// a unique u; mc has an autoincrement key and a required name.
const (
	scModelDef    = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"},"u":{"type":"string","unique":true}},"indexes":["n"]}`
	scModelIncDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"name":{"type":"string","required":true}}}`
)

// scModel is the expected content of every bucket: key → record fields
// (numbers as float64), and mc's autoincrement counter.
type scModel struct {
	recs map[string]map[string]map[string]any
	inc  int
}

func (m *scModel) clone() *scModel {
	c := &scModel{recs: map[string]map[string]map[string]any{}, inc: m.inc}
	for b, recs := range m.recs {
		c.recs[b] = map[string]map[string]any{}
		for k, r := range recs {
			rr := map[string]any{}
			for f, v := range r {
				rr[f] = v
			}
			c.recs[b][k] = rr
		}
	}
	return c
}

// scOp is one write: its command and what the model does with it.
type scOp struct {
	args []string
	// apply changes m as the write does and returns "" or the error code
	// the server must answer.
	apply func(m *scModel) string
}

// uniqueTaken reports whether another record of bucket b holds u.
func (m *scModel) uniqueTaken(b, key, u string) bool {
	for k, r := range m.recs[b] {
		if k != key && r["u"] == u {
			return true
		}
	}
	return false
}

// scRandomOp returns a random write on bucket b.
func scRandomOp(rng *rand.Rand, b string) scOp {
	if b == "mc" {
		switch rng.Intn(4) {
		case 0, 1:
			name := fmt.Sprint("n", rng.Intn(100))
			if rng.Intn(8) == 0 { // no name: VALIDATION
				return scOp{[]string{"B.INSERT", b, `{}`}, func(m *scModel) string { return "VALIDATION" }}
			}
			return scOp{[]string{"B.INSERT", b, `{"name":"` + name + `"}`}, func(m *scModel) string {
				m.inc++
				m.recs[b][strconv.Itoa(m.inc)] = map[string]any{"id": float64(m.inc), "name": name}
				return ""
			}}
		case 2:
			k := strconv.Itoa(1 + rng.Intn(12))
			name := fmt.Sprint("u", rng.Intn(100))
			return scOp{[]string{"B.UPDATE", b, k, `{"name":"` + name + `"}`}, func(m *scModel) string {
				r, ok := m.recs[b][k]
				if !ok {
					return "NOTFOUND"
				}
				r["name"] = name
				return ""
			}}
		default:
			k := strconv.Itoa(1 + rng.Intn(12))
			return scOp{[]string{"B.DELETE", b, k}, func(m *scModel) string {
				if _, ok := m.recs[b][k]; !ok {
					return "NOTFOUND*" // B.DELETE of a missing key answers 0
				}
				delete(m.recs[b], k)
				return ""
			}}
		}
	}
	k := fmt.Sprint("k", rng.Intn(12))
	n := float64(rng.Intn(6))
	u := ""
	if rng.Intn(2) == 0 {
		u = fmt.Sprint("u", rng.Intn(8))
	}
	rec := map[string]any{"id": k, "n": n}
	if u != "" {
		rec["u"] = u
	}
	text, _ := json.Marshal(rec)
	switch rng.Intn(4) {
	case 0, 1:
		return scOp{[]string{"B.INSERT", b, string(text)}, func(m *scModel) string {
			if _, ok := m.recs[b][k]; ok {
				return "EXISTS"
			}
			if u != "" && m.uniqueTaken(b, k, u) {
				return "UNIQUE"
			}
			m.recs[b][k] = rec
			return ""
		}}
	case 2:
		ch := map[string]any{"n": n}
		if u != "" {
			ch["u"] = u
		}
		chText, _ := json.Marshal(ch)
		return scOp{[]string{"B.UPDATE", b, k, string(chText)}, func(m *scModel) string {
			r, ok := m.recs[b][k]
			if !ok {
				return "NOTFOUND"
			}
			if u != "" && m.uniqueTaken(b, k, u) {
				return "UNIQUE"
			}
			r["n"] = n
			if u != "" {
				r["u"] = u
			}
			return ""
		}}
	default:
		return scOp{[]string{"B.DELETE", b, k}, func(m *scModel) string {
			if _, ok := m.recs[b][k]; !ok {
				return "NOTFOUND*"
			}
			delete(m.recs[b], k)
			return ""
		}}
	}
}

// scLua quotes s as a Lua string.
func scLua(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// scCheckModel compares every bucket with the model.
func scCheckModel(t *testing.T, r *rc, m *scModel, step int, what string) {
	t.Helper()
	for _, b := range []string{"ma", "mb", "mc"} {
		got := map[string]map[string]any{}
		for _, s := range r.list("B.ALL", b) {
			rec := parseRec(t, s)
			for _, f := range []string{"_version", "_createdAt", "_updatedAt"} {
				delete(rec, f)
			}
			got[fmt.Sprint(rec["id"])] = rec
		}
		if !reflect.DeepEqual(got, m.recs[b]) {
			t.Fatalf("step %d (%s): bucket %s\n got %v\nwant %v", step, what, b, got, m.recs[b])
		}
	}
}

func TestScriptModelRandomized(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("ma", scModelDef)
	r.define("mb", scModelDef)
	r.define("mc", scModelIncDef)
	seed := int64(20261204)
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	m := &scModel{recs: map[string]map[string]map[string]any{"ma": {}, "mb": {}, "mc": {}}}
	buckets := []string{"ma", "mb", "mc"}
	var scripts, failed, plain int
	for step := 0; step < 300; step++ {
		if rng.Intn(5) < 2 { // a plain write
			plain++
			op := scRandomOp(rng, buckets[rng.Intn(3)])
			next := m.clone()
			code := op.apply(next)
			args := make([]any, len(op.args))
			for i, a := range op.args {
				args[i] = a
			}
			what := strings.Join(op.args, " ")
			switch {
			case code == "NOTFOUND*" && op.args[0] == "B.DELETE":
				r.integer(0, args...)
			case code != "":
				if e := r.fail(args...); !strings.HasPrefix(e, code+" ") {
					t.Fatalf("step %d: %s: got %q, want %s", step, what, e, code)
				}
			default:
				r.do(args...)
				m = next
			}
			scCheckModel(t, r, m, step, what)
			continue
		}
		// A script over 1-3 buckets with 1-6 writes; some by pcall, and
		// maybe an error() after the k-th.
		scripts++
		keys := append([]string(nil), buckets...)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		keys = keys[:1+rng.Intn(3)]
		nOps := 1 + rng.Intn(6)
		failAt := -1
		if rng.Intn(4) == 0 {
			failAt = rng.Intn(nOps + 1)
		}
		next := m.clone()
		fails := false
		failWant := "" // the start of the script's error
		var src strings.Builder
		for i := 0; i < nOps; i++ {
			if i == failAt {
				src.WriteString("error('abort at " + strconv.Itoa(i) + "')\n")
				if !fails {
					failWant = "ERR user_script:"
				}
				fails = true
			}
			op := scRandomOp(rng, keys[rng.Intn(len(keys))])
			quoted := make([]string, len(op.args))
			for j, a := range op.args {
				quoted[j] = scLua(a)
			}
			pcall := rng.Intn(3) == 0
			fn := "redis.call"
			if pcall {
				fn = "redis.pcall"
			}
			src.WriteString(fn + "(" + strings.Join(quoted, ", ") + ")\n")
			if fails {
				continue
			}
			before := next.clone()
			code := op.apply(next)
			if code != "" && code != "NOTFOUND*" {
				next = before
				if !pcall {
					fails, failWant = true, code+" "
				}
			}
		}
		if failAt == nOps {
			src.WriteString("error('abort at end')\n")
			if !fails {
				failWant = "ERR user_script:"
			}
			fails = true
		}
		// Read-your-writes: the script returns its buckets' counts.
		src.WriteString("return {")
		for i, b := range keys {
			if i > 0 {
				src.WriteString(", ")
			}
			src.WriteString("redis.call('B.COUNT', " + scLua(b) + ")")
		}
		src.WriteString("}\n")
		v, e := r.scEval(src.String(), keys)
		switch {
		case fails && e == "":
			t.Fatalf("step %d: script succeeded (%v), want a failure:\n%s", step, v, src.String())
		case !fails && e != "":
			t.Fatalf("step %d: script failed with %q:\n%s", step, e, src.String())
		case fails:
			failed++
			if !strings.HasPrefix(e, failWant) || !strings.Contains(e, " script: "+scSHA(src.String())+", on @user_script:") {
				t.Fatalf("step %d: error %q, want %q… with the suffix:\n%s", step, e, failWant, src.String())
			}
		default:
			want := make([]any, len(keys))
			for i, b := range keys {
				want[i] = int64(len(next.recs[b]))
			}
			eq(t, fmt.Sprint("step ", step, " counts inside the script"), v, want)
			m = next
		}
		scCheckModel(t, r, m, step, "script:\n"+src.String())
		if step%25 == 0 {
			for n := 0; n < 6; n++ {
				want := 0
				for _, rec := range m.recs["ma"] {
					if rec["n"] == float64(n) {
						want++
					}
				}
				r.integer(int64(want), "B.COUNT", "ma", fmt.Sprintf(`{"n":%d}`, n))
			}
		}
	}
	if scripts < 100 || failed < 20 || plain < 80 {
		t.Errorf("the mix was too thin: %d scripts (%d failed), %d plain writes", scripts, failed, plain)
	}
	r.ok("STORE.CHECK")
	sizes := []int{len(m.recs["ma"]), len(m.recs["mb"]), len(m.recs["mc"])}
	sort.Ints(sizes)
	if sizes[0] == 0 {
		t.Errorf("a bucket ended empty: %v", sizes)
	}
}
