package live

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
)

// scriptRunner is a Runner whose "code" is a list of reads separated by
// ";", each "<op> <bucket> [<arg>]" with "$x" replaced by the parameter x:
//
//	get b key       B.GET (tracked by key)
//	where b filter  B.WHERE (tracked by filter)
//	all b           B.ALL (the whole bucket)
//	touch b key     not a read: before the next read, another client
//	                updates that record (only outside a transaction),
//	                so the run has seen part of the store before a commit
//
// The result is the reads' results joined by "|".
type scriptRunner struct {
	e       *env
	touches atomic.Int64
}

func (r *scriptRunner) Prepare(kind Kind, code string, restoring bool) (any, error) {
	if strings.Contains(code, "bad") {
		return nil, errors.New("does not compile")
	}
	return code, nil
}

func (r *scriptRunner) Run(kind Kind, code string, prepared any, params string, t *engine.Tx, tr *Tracker, lim engine.ReadLimit) ([]byte, error) {
	var p *jsonv.Object
	if params != "" {
		p, _ = jsonv.ParseObject([]byte(params))
	}
	var out []string
	if p != nil {
		for _, k := range p.Keys {
			v, _ := p.Get(k)
			code = strings.ReplaceAll(code, "$"+k, strings.Trim(string(jsonv.Marshal(v)), `"`))
		}
	}
	for _, step := range strings.Split(code, ";") {
		f := strings.Fields(step)
		if f[0] == "touch" {
			if t == nil {
				done := make(chan struct{})
				go func() {
					defer close(done)
					r.e.update(f[1], f[2], `{"n":`+jsonv.FormatNumber(float64(100+r.touches.Add(1)))+`}`)
				}()
				<-done
			}
			continue
		}
		tr.Open(f[1])
		var recs []*engine.Record
		var err error
		switch f[0] {
		case "get":
			tr.Keys(f[1], [][]byte{[]byte(f[2])})
			var rec *engine.Record
			rec, err = r.e.store.Get(t, f[1], f[2])
			if rec != nil {
				recs = []*engine.Record{rec}
			}
		case "where":
			var flt *filter.Filter
			if flt, err = filter.ParseJSON([]byte(f[2])); err != nil {
				return nil, err
			}
			tr.Filter(f[1], flt, f[2])
			recs, err = r.e.store.Where(t, f[1], flt)
		case "all":
			tr.Whole(f[1])
			recs, err = r.e.store.All(t, f[1])
		}
		if err != nil {
			return nil, err
		}
		var b []string
		for _, rec := range recs {
			v, _ := rec.Get("n")
			k := rec.Key()
			b = append(b, strings.Trim(string(jsonv.Marshal(k)), `"`)+"="+string(jsonv.Marshal(v)))
		}
		out = append(out, strings.Join(b, ","))
	}
	return []byte(strings.Join(out, "|")), nil
}

func newFnEnv(t *testing.T) (*env, *scriptRunner) {
	e := newEnv(t)
	r := &scriptRunner{e: e}
	e.m.runner = r
	e.bucket("users", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"},"role":{"type":"string"}}}`)
	e.bucket("orders", `{"key":"id","schema":{"id":{"type":"string"},"userId":{"type":"string"},"n":{"type":"number"}},"indexes":["userId"]}`)
	e.insert("users", `{"id":"u1","n":1,"role":"admin"}`)
	e.insert("users", `{"id":"u2","n":2,"role":"user"}`)
	e.insert("orders", `{"id":"o1","userId":"u1","n":10}`)
	e.insert("orders", `{"id":"o2","userId":"u2","n":20}`)
	return e, r
}

// A committed change runs a function channel again exactly when it touches
// what the channel's last run read: a key (a miss too), a filter matched by
// the old or the new record, or a bucket read whole.
func TestFunctionReadSetSelectivity(t *testing.T) {
	cases := []struct {
		name   string
		code   string
		params string
		write  func(e *env)
		rerun  bool
	}{
		{"key: another record", "get users $id", `{"id":"u1"}`, func(e *env) { e.update("users", "u2", `{"n":5}`) }, false},
		{"key: the record", "get users $id", `{"id":"u1"}`, func(e *env) { e.update("users", "u1", `{"n":5}`) }, true},
		{"key: a miss becomes a hit", "get users $id", `{"id":"u9"}`, func(e *env) { e.insert("users", `{"id":"u9","n":9}`) }, true},
		{"key: another bucket", "get users $id", `{"id":"u1"}`, func(e *env) { e.update("orders", "o1", `{"n":5}`) }, false},
		{"eq filter: another value", `where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u2","n":1}`) }, false},
		{"eq filter: its value", `where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u1","n":1}`) }, true},
		{"eq filter: the old record matched", `where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.update("orders", "o1", `{"userId":"u2"}`) }, true},
		{"eq filter: deleted", `where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.store.Delete(nil, "orders", "o1", -1) }, true},
		{"eq filter: deleted elsewhere", `where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.store.Delete(nil, "orders", "o2", -1) }, false},
		{"$in filter: a member", `where orders {"userId":{"$in":["u1","u3"]}}`, ``, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u3","n":1}`) }, true},
		{"$in filter: not a member", `where orders {"userId":{"$in":["u1","u3"]}}`, ``, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u2","n":1}`) }, false},
		{"eq and range: the range fails", `where orders {"userId":"u1","n":{"$gt":15}}`, ``, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u1","n":1}`) }, false},
		{"range filter: matches", `where orders {"n":{"$gt":15}}`, ``, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u9","n":16}`) }, true},
		{"range filter: does not match", `where orders {"n":{"$gt":15}}`, ``, func(e *env) { e.insert("orders", `{"id":"o3","userId":"u9","n":1}`) }, false},
		{"whole bucket", "all users", ``, func(e *env) { e.insert("users", `{"id":"u3","n":3}`) }, true},
		{"clear empties what a key read", "get users $id", `{"id":"u9"}`, func(e *env) { e.store.Clear(nil, "users") }, true},
		{"two buckets: the second", `get users $id; where orders {"userId":"$id"}`, `{"id":"u1"}`, func(e *env) { e.update("orders", "o1", `{"n":11}`) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newFnEnv(t)
			if err := e.m.DefineFunction("q", KindLua, tc.code); err != nil {
				t.Fatal(err)
			}
			alias := "query.q"
			if tc.params != "" {
				alias += ":" + tc.params
			}
			sub := e.subscribe(alias)
			e.quiesce()
			first, n := sub.last(t)
			if n != 1 {
				t.Fatalf("%d first messages, want 1", n)
			}
			runs, skipped := e.m.runs.Load(), e.m.skipped.Load()
			tc.write(e)
			e.quiesce()
			ran := e.m.runs.Load() > runs
			if ran != tc.rerun {
				t.Errorf("ran again: %v, want %v (read set %q)", ran, tc.rerun, e.readsOf(t, "q"))
			}
			if !tc.rerun && !strings.Contains(tc.name, "another bucket") && e.m.skipped.Load() == skipped {
				t.Error("an unrelated change to a read bucket was not counted as skipped")
			}
			want := e.run("q", tc.params)
			if got, _ := sub.last(t); got != want {
				t.Errorf("last message %q (first %q), want a fresh run's %q", got, first, want)
			}
			e.m.Unsubscribe(sub, alias)
			e.waitNoWatches()
		})
	}
}

// readsOf returns the read set QUERY.INFO shows for query name's channels.
func (e *env) readsOf(t *testing.T, name string) []string {
	info, err := e.m.Info(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range info.Channels {
		out = append(out, c.Reads...)
	}
	return out
}

// A run of several reads that a commit to what it read overtakes is not
// published: it runs again, and after optimisticRuns such runs it runs in
// a transaction over the buckets it read, which no commit can overtake.
func TestFunctionRunConsistent(t *testing.T) {
	e, r := newFnEnv(t)
	if err := e.m.DefineFunction("q", KindLua, `get users u1; touch users u1; where orders {"userId":"u1"}`); err != nil {
		t.Fatal(err)
	}
	sub := e.subscribe("query.q")
	e.quiesce()
	if got := r.touches.Load(); got != optimisticRuns {
		t.Errorf("%d runs saw a commit overtake them, want %d before the locked run", got, optimisticRuns)
	}
	if got := e.m.reruns.Load(); got != optimisticRuns {
		t.Errorf("reruns = %d, want %d", got, optimisticRuns)
	}
	msgs := sub.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1: an overtaken run must not be published", len(msgs))
	}
	want := `u1=` + jsonv.FormatNumber(float64(100+optimisticRuns)) + `|o1=10`
	if msgs[0].payload != want {
		t.Errorf("published %q, want %q (the last touch included)", msgs[0].payload, want)
	}
	if got := e.readsOf(t, "q"); strings.Join(got, "; ") != `users: keys "u1"; orders: records matching {"userId":"u1"}` {
		t.Errorf("reads %q", got)
	}
}

// QUERY.RUN of a function query checks that no bucket it read changed.
func TestFunctionRunOnceConsistent(t *testing.T) {
	e, r := newFnEnv(t)
	if err := e.m.DefineFunction("q", KindLua, `get users u1; touch users u1; get users u1`); err != nil {
		t.Fatal(err)
	}
	got := e.run("q", "")
	if r.touches.Load() != optimisticRuns {
		t.Errorf("%d overtaken runs, want %d", r.touches.Load(), optimisticRuns)
	}
	want := "u1=103|u1=103"
	if got != want {
		t.Errorf("QUERY.RUN %q, want %q: both reads of one state", got, want)
	}
}

// Definitions: the runner's Prepare decides; the stored form round-trips
// through Restore; a redefinition with other code is EXISTS.
func TestFunctionDefinitions(t *testing.T) {
	e, _ := newFnEnv(t)
	if err := e.m.DefineFunction("q", KindLua, "bad code"); err == nil {
		t.Error("a chunk the runner refuses was defined")
	}
	if err := e.m.DefineFunction("no such", KindLua, "all users"); err == nil {
		t.Error("a bad name was accepted")
	}
	if err := e.m.DefineFunction("q", KindLua, "all users"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.DefineFunction("q", KindLua, "all users"); err != nil {
		t.Errorf("an identical redefinition: %v", err)
	}
	var ex *ExistsError
	if err := e.m.DefineFunction("q", KindFunction, "all users"); !errors.As(err, &ex) {
		t.Errorf("another kind: %v, want ExistsError", err)
	}
	defs := e.m.Definitions()
	if len(defs) != 1 || string(defs[0].JSON) != `{"lua":"all users"}` {
		t.Fatalf("definitions %q", defs)
	}
	e2, _ := newFnEnv(t)
	if err := e2.m.Restore("q", defs[0].JSON); err != nil {
		t.Fatal(err)
	}
	if got, want := e2.run("q", ""), "u1=1,u2=2"; got != want {
		t.Errorf("restored query ran %q, want %q", got, want)
	}
	info, err := e2.m.Info("q")
	if err != nil || info.Kind != "lua" || info.Bucket != "" {
		t.Errorf("info %+v %v", info, err)
	}
}

// The rest between a function channel's runs (restFor's rule).
func TestRestFor(t *testing.T) {
	ms := time.Millisecond
	cases := []struct{ cost, ago, want time.Duration }{
		{0, 0, 0},
		{costlyRun - 1, 0, 0},           // cheap: no rest
		{100 * ms, 0, 100 * ms},         // just ran: rest as long as it took
		{100 * ms, 40 * ms, 60 * ms},    // part of the rest has passed
		{100 * ms, 100 * ms, 0},         // rested enough
		{100 * ms, 300 * ms, -200 * ms}, // long ago: no wait (≤ 0)
	}
	for _, c := range cases {
		if got := restFor(c.cost, c.ago); got != c.want {
			t.Errorf("restFor(%v, %v) = %v, want %v", c.cost, c.ago, got, c.want)
		}
	}
}

// dropRunner reads users' u1 with a B.GET whose bucket is dropped between
// the read's Open and its Keys, the first time.
type dropRunner struct {
	e       *env
	dropped atomic.Bool
}

func (r *dropRunner) Prepare(Kind, string, bool) (any, error) { return nil, nil }

func (r *dropRunner) Run(_ Kind, _ string, _ any, _ string, t *engine.Tx, tr *Tracker, _ engine.ReadLimit) ([]byte, error) {
	tr.Open("users")
	if r.dropped.CompareAndSwap(false, true) {
		r.e.store.Drop("users")
		r.e.m.BucketDropped("users")
	}
	tr.Keys("users", [][]byte{[]byte("u1")})
	rec, err := r.e.store.Get(t, "users", "u1")
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return []byte("none"), nil
	}
	return []byte("found"), nil
}

// A bucket dropped between a read's Open and what it reads leaves the
// channel registered: defining the bucket again and inserting the key
// runs it (the reviewer's race).
func TestFunctionDropDuringRead(t *testing.T) {
	e := newEnv(t)
	e.m.runner = &dropRunner{e: e}
	e.bucket("users", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	if err := e.m.DefineFunction("q", KindLua, "x"); err != nil {
		t.Fatal(err)
	}
	sub := e.subscribe("query.q")
	e.quiesce()
	if _, n := sub.last(t); n != 0 {
		t.Fatalf("%d messages from a run whose bucket went", n)
	}
	e.bucket("users", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	e.m.BucketChanged("users")
	e.insert("users", `{"id":"u1"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, _ := sub.last(t); got == "found" {
			break
		}
		if time.Now().After(deadline) {
			got, n := sub.last(t)
			t.Fatalf("the channel never ran again: %d messages, last %q", n, got)
		}
		time.Sleep(time.Millisecond)
	}
}
