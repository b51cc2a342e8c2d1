package engine_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// The model-based random test (bbolt simulation_test.go style): random
// operations run against the store and against a plain map, and after every
// step both must hold the same records in the same order, answer every read
// alike, fail with the same kind of error, and the observer must have seen
// exactly the changes the model predicts. The store's invariants are checked
// after every step.
//
// Re-run a failure with MODEL_SEED=<seed> (and MODEL_STEPS=<n> for longer
// runs): go test -run TestModel ./engine/

const modelPool = 30 // distinct keys and emails

func modelSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("MODEL_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MODEL_SEED: %v", err)
		}
		return []uint64{seed}
	}
	return []uint64{1, 20240611}
}

func modelSteps(t *testing.T) int {
	if s := os.Getenv("MODEL_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("MODEL_STEPS: %v", err)
		}
		return n
	}
	if raceEnabled {
		return 800
	}
	return 3000
}

func TestModel(t *testing.T) {
	variants := []struct {
		name            string
		numKey, ordered bool
	}{
		{"insertion-order", false, false},
		{"ordered-string-keys", false, true},
		{"ordered-number-keys", true, true},
	}
	for _, v := range variants {
		for _, drafted := range []bool{false, true} {
			path := "plain"
			if drafted {
				path = "drafted"
			}
			for _, seed := range modelSeeds(t) {
				t.Run(fmt.Sprintf("%s/%s/seed=%d", v.name, path, seed), func(t *testing.T) {
					runModel(t, seed, modelSteps(t), v.numKey, v.ordered, drafted)
				})
			}
		}
	}
}

// The drafted path of the model test writes as the pipelined commands do:
// every write goes through a Hold on the bucket, and whole records (insert
// and upsert) are sent as JSON text and drafted (Store.Draft) first. The
// tag has no default there, so that inserts can take their drafts, and
// verify mode is on, so that every draft taken is checked against the plain
// build as well as against the model.

// via returns the Tx a write goes through: nil (a transaction of its own),
// or on the drafted path a Hold on bucket, with the function that ends it.
func via(e *env, bucket string, drafted bool) (*engine.Tx, func()) {
	if !drafted {
		return nil, func() {}
	}
	h := e.s.Hold(bucket)
	return h, h.Release
}

// draft drafts the record fs for bucket, as its JSON text.
func draft(t *testing.T, e *env, bucket string, fs []field, insertOnly bool) *engine.Draft {
	t.Helper()
	d := new(engine.Draft)
	if err := e.s.Draft(d, []byte(bucket), jsonv.Marshal(toObject(fs)), insertOnly); err != nil {
		t.Fatalf("Draft %s: %v", jsonv.Marshal(toObject(fs)), err)
	}
	return d
}

// step is the outcome of one operation in the store and in the model.
type step struct {
	desc                string
	gotKind, wantKind   string
	gotValue, wantValue string
	want                []wantChange
	next                *model // the model after a successful write
	taken               bool   // the write took its draft
}

func recText(r *engine.Record) string {
	if r == nil {
		return "nil"
	}
	return string(r.JSON())
}

func mRecText(r *mRec) string {
	if r == nil {
		return "nil"
	}
	return r.json()
}

func recsText(rs []*engine.Record) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, recText(r))
	}
	return strings.Join(parts, "\n")
}

func mRecsText(rs []*mRec) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.json())
	}
	return strings.Join(parts, "\n")
}

func runModel(t *testing.T, seed uint64, steps int, numKey, ordered, drafted bool) {
	e := newEnv(t)
	const B = "m"
	e.define(B, modelDef(numKey, ordered, !drafted))
	m := &model{numKey: numKey, ordered: ordered, tagDefault: !drafted, recs: map[jsonv.Value]*mRec{}}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), numKey: numKey}
	if drafted {
		was := engine.SetVerify(true)
		failures := engine.VerifyFailures()
		defer func() {
			engine.SetVerify(was)
			if n := engine.VerifyFailures() - failures; n != 0 {
				t.Errorf("%d drafts differ from the plain build", n)
			}
		}()
	}
	var history []string
	stats := map[string]int{}
	if drafted {
		defer func() {
			if stats["drafts taken"] < steps/50 {
				t.Errorf("only %d writes took their drafts", stats["drafts taken"])
			}
		}()
	}
	defer func() { t.Logf("operations by outcome: %v", stats) }()
	for i := range steps {
		e.clock.Advance(int64(g.r.IntN(3)))
		st := modelStep(t, e, B, m, g, drafted)
		history = append(history, fmt.Sprintf("%d: %s -> %s", i, st.desc, st.gotKind))
		word := strings.Fields(st.desc)[0]
		if strings.Contains(st.desc, `{"$`) && strings.HasPrefix(word, "update") {
			word += "(operators)"
		}
		stats[word+":"+st.gotKind]++
		if st.taken {
			stats["drafts taken"]++
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d, step %d: %s\nlast operations:\n%s\nre-run with MODEL_SEED=%d",
				seed, i, fmt.Sprintf(format, args...), strings.Join(history[max(0, len(history)-30):], "\n"), seed)
		}
		if st.gotKind != st.wantKind {
			fail("error kind %s, model says %s", st.gotKind, st.wantKind)
		}
		if st.gotValue != st.wantValue {
			fail("result\n %s\nmodel says\n %s", st.gotValue, st.wantValue)
		}
		if st.wantKind == "ok" && st.next != nil {
			m = st.next
		} else {
			st.want = nil
		}
		got := e.obs.take()
		var gotS, wantS []string
		for _, c := range got {
			gotS = append(gotS, fmt.Sprintf("%s key=%s old=%s new=%s seq=%d reason=%s count=%d",
				c.Op, jsonv.Marshal(c.Key), recText(c.Old), recText(c.New), c.Seq, c.Reason, c.Count))
		}
		for _, w := range st.want {
			m.eventSeq++
			wantS = append(wantS, fmt.Sprintf("%s key=%s old=%s new=%s seq=%d reason=%s count=%d",
				w.op, jsonv.Marshal(w.key), mRecText(w.old), mRecText(w.new), m.eventSeq, w.reason, w.count))
		}
		if strings.Join(gotS, "\n") != strings.Join(wantS, "\n") {
			fail("observer got\n %s\nmodel says\n %s", strings.Join(gotS, "\n "), strings.Join(wantS, "\n "))
		}
		all, err := e.s.All(nil, B)
		if err != nil {
			fail("All: %v", err)
		}
		if g, w := recsText(all), mRecsText(m.list()); g != w {
			fail("records differ:\n%s\nmodel:\n%s", g, w)
		}
		if n, _ := e.s.Count(nil, B, nil); n != len(m.recs) {
			fail("Count = %d, model has %d", n, len(m.recs))
		}
		if err := e.s.Check(); err != nil {
			fail("Check: %v", err)
		}
	}
}

// pickKey returns a key that exists most of the time.
func (g *gen) pickKey(m *model) jsonv.Value {
	if len(m.recs) > 0 && g.r.IntN(5) != 0 {
		l := m.list()
		return l[g.r.IntN(len(l))].key
	}
	return g.key()
}

// ifVersion returns -1, the record's version or a wrong one.
func (g *gen) ifVersion(r *mRec) int64 {
	switch g.r.IntN(8) {
	case 0:
		if r != nil {
			return r.version
		}
		return 1
	case 1:
		if r != nil {
			return r.version + 1
		}
		return 2
	}
	return -1
}

func modelStep(t *testing.T, e *env, B string, m *model, g *gen, drafted bool) step {
	var st step
	next := m.clone()
	st.next = next
	parse := func(o *jsonv.Object) *filter.Filter {
		f, err := filter.Parse(o)
		if err != nil {
			t.Fatalf("generated a bad filter %s: %v", jsonv.Marshal(o), err)
		}
		return f
	}
	keyArg := func(k jsonv.Value) string {
		if m.numKey && g.r.IntN(30) == 0 {
			return "x1" // not a number: ArgError
		}
		return g.keyArg(k)
	}
	switch p := g.r.IntN(100); {
	case p < 22:
		fs := g.record()
		if drafted && g.r.IntN(2) == 0 {
			fs = canonical(fs) // as the store would order it
		}
		st.desc = "insert " + string(jsonv.Marshal(toObject(fs)))
		mr, kind := next.insert(fs, e.clock.Now(), &st.want)
		tx, done := via(e, B, drafted)
		var rec *engine.Record
		var err error
		if drafted {
			d := draft(t, e, B, fs, true)
			rec, err = e.s.InsertDraft(tx, B, d, engine.InsertOptions{})
			st.taken = engine.DraftTaken(d, rec)
		} else {
			rec, err = e.s.Insert(tx, B, toObject(fs), engine.InsertOptions{})
		}
		done()
		st.gotKind, st.wantKind = errKind(err), kind
		st.gotValue, st.wantValue = recText(rec), mRecText(mr)
	case p < 40:
		k := g.pickKey(m)
		old := next.recs[k]
		ifv := g.ifVersion(old)
		ch := g.changes()
		arg := keyArg(k)
		st.desc = fmt.Sprintf("update %s %s ifVersion=%d", arg, jsonv.Marshal(toObject(ch)), ifv)
		var mr *mRec
		switch {
		case arg == "x1":
			st.wantKind = "arg"
		case old == nil:
			st.wantKind = "notfound"
		case ifv >= 0 && ifv != old.version:
			st.wantKind = "conflict"
		default:
			mr, st.wantKind = next.update(old, ch, e.clock.Now(), &st.want, true)
		}
		tx, done := via(e, B, drafted)
		rec, err := e.s.Update(tx, B, arg, toObject(ch), ifv)
		done()
		st.gotKind = errKind(err)
		st.gotValue, st.wantValue = recText(rec), mRecText(mr)
	case p < 50:
		fs := g.record()
		if drafted {
			switch g.r.IntN(3) {
			case 0:
				fs = canonical(fs)
			case 1:
				// An existing record with one field changed: its draft
				// can be taken (see Draft.fitsUpdate).
				if old := next.recs[g.pickKey(m)]; old != nil {
					fs = slices.Clone(old.fields)
					if i := g.r.IntN(len(fs)); fs[i].k != "id" {
						fs[i].v = g.value(fs[i].k)
					}
				}
			}
		}
		st.desc = "upsert " + string(jsonv.Marshal(toObject(fs)))
		var mr *mRec
		k, _ := getField(fs, "id")
		if old := next.recs[k]; old != nil {
			mr, st.wantKind = next.update(old, fs, e.clock.Now(), &st.want, false)
		} else {
			mr, st.wantKind = next.insert(fs, e.clock.Now(), &st.want)
		}
		tx, done := via(e, B, drafted)
		var rec *engine.Record
		var err error
		if drafted {
			d := draft(t, e, B, fs, false)
			rec, err = e.s.UpsertDraft(tx, B, d)
			st.taken = engine.DraftTaken(d, rec)
		} else {
			rec, err = e.s.Upsert(tx, B, toObject(fs))
		}
		done()
		st.gotKind = errKind(err)
		st.gotValue, st.wantValue = recText(rec), mRecText(mr)
	case p < 60:
		k := g.pickKey(m)
		old := next.recs[k]
		ifv := g.ifVersion(old)
		arg := keyArg(k)
		st.desc = fmt.Sprintf("delete %s ifVersion=%d", arg, ifv)
		st.wantKind, st.wantValue = "ok", "false"
		switch {
		case arg == "x1":
			st.wantKind = "arg"
		case old == nil:
		case ifv >= 0 && ifv != old.version:
			st.wantKind = "conflict"
		default:
			next.remove(old, &st.want)
			st.wantValue = "true"
		}
		tx, done := via(e, B, drafted)
		ok, err := e.s.Delete(tx, B, arg, ifv)
		done()
		st.gotKind, st.gotValue = errKind(err), fmt.Sprint(ok)
		if err != nil {
			st.gotValue, st.wantValue = "", ""
		}
	case p < 66:
		var batch [][]field
		for range 1 + g.r.IntN(4) {
			batch = append(batch, g.record())
		}
		if g.r.IntN(3) == 0 {
			batch[g.r.IntN(len(batch))] = []field{{"id", g.key()}, {"n", -1.0}}
		}
		objs := make([]*jsonv.Object, len(batch))
		var descs []string
		st.wantKind = "ok"
		var mrs []*mRec
		for i, fs := range batch {
			objs[i] = toObject(fs)
			descs = append(descs, string(jsonv.Marshal(objs[i])))
			if st.wantKind == "ok" {
				var mr *mRec
				mr, st.wantKind = next.insert(fs, e.clock.Now(), &st.want)
				mrs = append(mrs, mr)
			}
		}
		st.desc = "insertMany [" + strings.Join(descs, ",") + "]"
		tx, done := via(e, B, drafted)
		recs, err := e.s.InsertMany(tx, B, objs)
		done()
		st.gotKind = errKind(err)
		if err == nil {
			st.gotValue, st.wantValue = recsText(recs), mRecsText(mrs)
		}
	case p < 73:
		fo, ch := g.filter(2), g.changes()
		st.desc = fmt.Sprintf("updateMany %s %s", jsonv.Marshal(fo), jsonv.Marshal(toObject(ch)))
		st.wantKind = "ok"
		n := 0
		for _, r := range next.where(fo) {
			var mr *mRec
			if mr, st.wantKind = next.update(r, ch, e.clock.Now(), &st.want, true); st.wantKind != "ok" {
				break
			}
			if mr != r {
				n++ // an update that changes nothing is not counted
			}
		}
		tx, done := via(e, B, drafted)
		got, err := e.s.UpdateMany(tx, B, parse(fo), toObject(ch))
		done()
		st.gotKind = errKind(err)
		if err == nil {
			st.gotValue, st.wantValue = strconv.Itoa(got), strconv.Itoa(n)
		}
	case p < 77:
		fo := g.filter(2)
		st.desc = fmt.Sprintf("deleteMany %s", jsonv.Marshal(fo))
		matched := next.where(fo)
		for _, r := range matched {
			next.remove(r, &st.want)
		}
		tx, done := via(e, B, drafted)
		n, err := e.s.DeleteMany(tx, B, parse(fo))
		done()
		st.gotKind, st.wantKind = errKind(err), "ok"
		st.gotValue, st.wantValue = strconv.Itoa(n), strconv.Itoa(len(matched))
	case p < 78:
		st.desc = "clear"
		st.want = []wantChange{{op: engine.OpCleared, count: len(next.recs)}}
		st.wantValue = strconv.Itoa(len(next.recs))
		next.recs = map[jsonv.Value]*mRec{}
		tx, done := via(e, B, drafted)
		n, err := e.s.Clear(tx, B)
		done()
		st.gotKind, st.wantKind, st.gotValue = errKind(err), "ok", strconv.Itoa(n)
	default:
		st.next = nil
		modelRead(t, e, B, m, g, &st, parse, keyArg)
	}
	return st
}

// modelRead runs a read-only operation.
func modelRead(t *testing.T, e *env, B string, m *model, g *gen, st *step,
	parse func(*jsonv.Object) *filter.Filter, keyArg func(jsonv.Value) string) {
	st.wantKind = "ok"
	list := m.list()
	switch p := g.r.IntN(9); p {
	case 0:
		k := g.pickKey(m)
		arg := keyArg(k)
		st.desc = "get " + arg
		rec, err := e.s.Get(nil, B, arg)
		st.gotKind, st.gotValue = errKind(err), recText(rec)
		if arg == "x1" {
			st.wantKind, st.gotValue = "arg", "nil"
		}
		st.wantValue = mRecText(m.recs[k])
		if arg == "x1" {
			st.wantValue = "nil"
		}
	case 1, 2, 3:
		fo := g.filter(2)
		f := parse(fo)
		want := m.where(fo)
		switch p {
		case 1:
			st.desc = fmt.Sprintf("where %s", jsonv.Marshal(fo))
			recs, err := e.s.Where(nil, B, f)
			st.gotKind, st.gotValue, st.wantValue = errKind(err), recsText(recs), mRecsText(want)
		case 2:
			st.desc = fmt.Sprintf("count %s", jsonv.Marshal(fo))
			n, err := e.s.Count(nil, B, f)
			st.gotKind, st.gotValue, st.wantValue = errKind(err), strconv.Itoa(n), strconv.Itoa(len(want))
		case 3:
			st.desc = fmt.Sprintf("findOne %s", jsonv.Marshal(fo))
			rec, err := e.s.FindOne(nil, B, f)
			st.gotKind, st.gotValue, st.wantValue = errKind(err), recText(rec), "nil"
			if len(want) > 0 {
				st.wantValue = want[0].json()
			}
		}
	case 4:
		fo := g.filter(1)
		fn := g.pick("sum", "min", "max", "avg").(string)
		st.desc = fmt.Sprintf("aggregate %s n %s", fn, jsonv.Marshal(fo))
		v, ok, err := e.s.Aggregate(nil, B, fn, "n", parse(fo))
		st.gotKind, st.gotValue = errKind(err), fmt.Sprint(v, ok)
		var sum, best float64
		cnt := 0
		for _, r := range m.where(fo) {
			x, isNum := getField(r.fields, "n")
			if f, ok := x.(float64); isNum && ok {
				sum += f
				if cnt == 0 || (fn == "min" && f < best) || (fn == "max" && f > best) {
					best = f
				}
				cnt++
			}
		}
		switch fn {
		case "sum":
			st.wantValue = fmt.Sprint(sum, true)
		case "avg":
			st.wantValue = fmt.Sprint(0.0, true)
			if cnt > 0 {
				st.wantValue = fmt.Sprint(sum/float64(cnt), true)
			}
		default:
			st.wantValue = fmt.Sprint(best, cnt > 0)
		}
	case 5, 6:
		n := g.r.IntN(7)
		var recs []*engine.Record
		var err error
		want := list[:min(n, len(list))]
		if p == 5 {
			st.desc = fmt.Sprintf("first %d", n)
			recs, err = e.s.First(nil, B, n)
		} else {
			st.desc = fmt.Sprintf("last %d", n)
			recs, err = e.s.Last(nil, B, n)
			want = list[max(0, len(list)-n):]
		}
		st.gotKind, st.gotValue, st.wantValue = errKind(err), recsText(recs), mRecsText(want)
	default:
		limit := 1 + g.r.IntN(5)
		hasAfter := g.r.IntN(3) != 0
		k := g.pickKey(m)
		arg := g.keyArg(k)
		st.desc = fmt.Sprintf("paginate limit=%d after=%q(%v)", limit, arg, hasAfter)
		start := 0
		if hasAfter {
			start = len(list) // a cursor that does not exist: an empty page
			for i, r := range list {
				if r.key == k {
					start = i + 1
				}
			}
		}
		rest := list[start:]
		page := rest[:min(limit, len(rest))]
		var next jsonv.Value
		if len(rest) > limit {
			next = page[len(page)-1].key
		}
		st.wantValue = fmt.Sprintf("%s|%v|%s", mRecsText(page), len(rest) > limit, jsonv.Marshal(next))
		p, err := e.s.Paginate(nil, B, limit, arg, hasAfter)
		st.gotKind = errKind(err)
		st.gotValue = fmt.Sprintf("%s|%v|%s", recsText(p.Records), p.HasMore, jsonv.Marshal(p.Next))
	}
}
