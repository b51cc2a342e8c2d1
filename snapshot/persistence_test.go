package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/jsonv"
)

const (
	defStrings = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"},"tag":{"type":"string"}},"indexes":["tag"]}`
	defAuto    = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"w":{"type":"number"},"v":{"type":"number"}}}`
	defMemory  = `{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`
	defTTL     = `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"1s"}`
)

// fakeQueries stands in for the reactive query registry.
type fakeQueries struct {
	mu   sync.Mutex
	defs map[string]string
}

func (q *fakeQueries) hooks() Queries {
	return Queries{
		List: func() []NamedDef {
			q.mu.Lock()
			defer q.mu.Unlock()
			var out []NamedDef
			for n, d := range q.defs {
				out = append(out, NamedDef{Name: n, JSON: []byte(d)})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
			return out
		},
		Restore: func(name string, def []byte) error {
			q.mu.Lock()
			defer q.mu.Unlock()
			if def == nil {
				delete(q.defs, name)
			} else {
				q.defs[name] = string(def)
			}
			return nil
		},
	}
}

// opened is a store with its persistence on dir.
type opened struct {
	store   *engine.Store
	p       *Persistence
	queries *fakeQueries
	log     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openDir(dir string, policy string, now func() int64, tune func(*Options)) (*opened, error) {
	o := &opened{queries: &fakeQueries{defs: map[string]string{}}, log: &syncBuffer{}}
	log := zerolog.New(o.log)
	o.store = engine.New(engine.Options{Log: log, Now: now})
	opts := Options{Dir: dir, Fsync: policy, Log: log, Now: now}
	if tune != nil {
		tune(&opts)
	}
	p, err := Open(o.store, o.queries.hooks(), opts)
	o.p = p
	return o, err
}

func mustOpen(t *testing.T, dir string, policy string, now func() int64, tune func(*Options)) *opened {
	t.Helper()
	o, err := openDir(dir, policy, now, tune)
	if err != nil {
		t.Fatalf("Open(%s): %v\nlog: %s", dir, err, o.log)
	}
	return o
}

func obj(t testing.TB, s string) *jsonv.Object {
	o, err := jsonv.ParseObject([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return o
}

// dump is everything a restart must keep: each bucket's definition,
// counters and records in order, and the query definitions.
func (o *opened) dump(t testing.TB) string {
	var b strings.Builder
	for _, name := range o.store.List() {
		info, err := o.store.Info(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "bucket %s %s counter=%d seq=%d records=%d\n", name, info.Definition.JSON(), info.Counter, info.EventSeq, info.Records)
		recs, err := o.store.All(nil, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			fmt.Fprintf(&b, "  %s\n", r.JSON())
		}
	}
	for _, q := range o.queries.hooks().List() {
		fmt.Fprintf(&b, "query %s %s\n", q.Name, q.JSON)
	}
	if err := o.store.Check(); err != nil {
		t.Errorf("store invariants: %v", err)
	}
	return b.String()
}

// TestRewriteUnderConcurrentWrites runs writers (single writes and
// two-bucket transactions, each writer on its own keys) while rewrites —
// synchronous, background and automatic — run in a loop. A model of each
// writer's keys must equal the store, and a reopened store must equal the
// store it was written by, counters and order included.
func TestRewriteUnderConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, FsyncNo, nil, func(opts *Options) {
		opts.AutoRewriteMinSize, opts.AutoRewritePercent = 32<<10, 100 // automatic rewrites too
	})
	for name, def := range map[string]string{"s": defStrings, "a": defAuto, "m": defMemory} {
		if err := o.store.Define(name, []byte(def)); err != nil {
			t.Fatal(err)
		}
	}
	o.p.QueryDefined("q1", []byte(`{"bucket":"s"}`))
	o.queries.hooks().Restore("q1", []byte(`{"bucket":"s"}`))

	const writers = 4
	deadline := time.Now().Add(3 * time.Second)
	if testing.Short() {
		deadline = time.Now().Add(time.Second)
	}
	models := make([]map[string]string, writers)
	var wg sync.WaitGroup
	var ops atomic.Int64
	fail := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		models[w] = map[string]string{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			model := models[w]
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var autos []string // keys of this writer's records in "a"
			for i := 0; time.Now().Before(deadline); i++ {
				k := fmt.Sprintf("w%d-%d", w, rng.IntN(40))
				var err error
				switch op := rng.IntN(10); {
				case op < 3:
					var r *engine.Record
					r, err = o.store.Upsert(nil, "s", obj(t, fmt.Sprintf(`{"id":%q,"n":%d,"tag":"t%d"}`, k, i, i%3)))
					if err == nil {
						model["s/"+k] = string(r.JSON())
					}
				case op < 5:
					var ok bool
					ok, err = o.store.Delete(nil, "s", k, -1)
					if _, had := model["s/"+k]; had != ok {
						err = fmt.Errorf("delete %s: %v, model says %v", k, ok, had)
					}
					delete(model, "s/"+k)
				case op < 7:
					var r *engine.Record
					r, err = o.store.Insert(nil, "a", obj(t, fmt.Sprintf(`{"w":%d,"v":%d}`, w, i)), engine.InsertOptions{})
					if err == nil {
						key := string(jsonv.Marshal(r.Key()))
						autos = append(autos, key)
						model["a/"+key] = string(r.JSON())
					}
				case op < 9 && len(autos) > 0: // a transaction over both buckets
					key := autos[rng.IntN(len(autos))]
					tx := mustBegin(o.store, []string{"s", "a"})
					var r1, r2 *engine.Record
					r1, err = o.store.Upsert(tx, "s", obj(t, fmt.Sprintf(`{"id":%q,"n":-%d}`, k, i)))
					if err == nil {
						if _, live := model["a/"+key]; live {
							r2, err = o.store.Update(tx, "a", key, obj(t, fmt.Sprintf(`{"v":%d}`, -i)), -1)
						}
					}
					if err != nil {
						tx.Rollback()
						break
					}
					tx.Commit()
					model["s/"+k] = string(r1.JSON())
					if r2 != nil {
						model["a/"+key] = string(r2.JSON())
					}
				default:
					if len(autos) > 0 {
						key := autos[0]
						autos = autos[1:]
						if _, err := o.store.Delete(nil, "a", key, -1); err != nil {
							t.Errorf("delete a/%s: %v", key, err)
						}
						delete(model, "a/"+key)
					}
					_, err = o.store.Insert(nil, "m", obj(t, fmt.Sprintf(`{"id":"m%d-%d"}`, w, i)), engine.InsertOptions{})
				}
				if err != nil {
					fail <- err
					return
				}
				ops.Add(1)
			}
		}()
	}
	var rewrites, inProgress int
	for time.Now().Before(deadline) {
		switch err := o.p.Rewrite(rewrites%3 != 0); {
		case errors.Is(err, ErrRewriteInProgress):
			inProgress++
		case err != nil:
			t.Fatalf("Rewrite: %v", err)
		default:
			rewrites++
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	t.Logf("%d writes, %d rewrites (%d refused as in progress)", ops.Load(), rewrites, inProgress)

	// The store agrees with the model.
	want := map[string]string{}
	for _, m := range models {
		for k, v := range m {
			want[k] = v
		}
	}
	got := map[string]string{}
	for _, b := range []string{"s", "a"} {
		recs, _ := o.store.All(nil, b)
		for _, r := range recs {
			got[b+"/"+string(jsonv.Marshal(r.Key()))] = string(r.JSON())
		}
	}
	compareModel(t, "live store", normalizeKeys(got), normalizeKeys(want))

	before := o.dump(t)
	if err := o.p.Close(false); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkDirMatchesManifest(t, dir)
	r := mustOpen(t, dir, FsyncNo, nil, nil)
	defer r.p.Close(false)
	after := dropRecordsOf(r.dump(t), "m")
	wantAfter := dropRecordsOf(before, "m")
	if after != wantAfter {
		t.Errorf("reopened store differs:\n%s", lineDiff(wantAfter, after))
	}
}

// normalizeKeys maps "s/\"k\"" (a key marshalled as JSON) and "s/k" alike.
func normalizeKeys(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[strings.ReplaceAll(k, `"`, "")] = v
	}
	return out
}

func compareModel(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	n := 0
	for k, w := range want {
		if g := got[k]; g != w && n < 10 {
			t.Errorf("%s: %s = %s, model %s", what, k, g, w)
			n++
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && n < 10 {
			t.Errorf("%s: %s = %s, not in the model", what, k, g)
			n++
		}
	}
}

// dropRecordsOf removes a persistent:false bucket's records and counters
// from a dump: those are not saved (its definition is; its counters come
// back from a snapshot but not from the append-only file, which is not
// this test's concern).
func dropRecordsOf(dump, bucket string) string {
	var out []string
	skip := false
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, "bucket ") {
			skip = strings.HasPrefix(line, "bucket "+bucket+" ")
			if skip {
				i := strings.Index(line, " counter=")
				line = line[:i] + " <not persistent>"
				out = append(out, line)
				continue
			}
		}
		if skip && strings.HasPrefix(line, "  ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 4000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i, wl, gl)
		}
	}
	return b.String()
}

// checkDirMatchesManifest: after a clean close the directory holds the
// manifest and the files it names, nothing left over.
func checkDirMatchesManifest(t *testing.T, dir string) {
	t.Helper()
	m, err := readManifest(dir)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v", err)
	}
	named := map[string]bool{manifestName: true}
	for _, f := range append([]string{m.Snapshot}, m.AOF...) {
		named[f] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !named[e.Name()] && e.Name() != LockName {
			t.Errorf("%s is left in the data dir (manifest: %+v)", e.Name(), m)
		}
	}
}

// fill writes a little of everything: definitions, inserts, updates,
// deletes, a clear, an alter, a drop, a transaction.
func fill(t *testing.T, s *engine.Store) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Define("s", []byte(defStrings)))
	must(s.Define("a", []byte(defAuto)))
	must(s.Define("gone", []byte(defStrings)))
	for i := 0; i < 20; i++ {
		_, err := s.Insert(nil, "s", obj(t, fmt.Sprintf(`{"id":"k%d","n":%d,"tag":"t%d"}`, i, i, i%4)), engine.InsertOptions{})
		must(err)
		_, err = s.Insert(nil, "a", obj(t, fmt.Sprintf(`{"v":%d}`, i)), engine.InsertOptions{})
		must(err)
	}
	_, err := s.Update(nil, "s", "k3", obj(t, `{"n":300,"extra":[1,{"x":null}]}`), -1)
	must(err)
	_, err = s.Delete(nil, "s", "k4", -1)
	must(err)
	_, err = s.Delete(nil, "a", "20", -1) // the counter stays at 20
	must(err)
	_, err = s.Insert(nil, "gone", obj(t, `{"id":"x"}`), engine.InsertOptions{})
	must(err)
	_, err = s.Clear(nil, "gone")
	must(err)
	s.Drop("gone")
	must(s.Alter("s", []byte(`{"addFields":{"note":{"type":"string"}},"addIndexes":["n"]}`)))
	tx := mustBegin(s, []string{"s", "a"})
	_, err = s.Insert(tx, "s", obj(t, `{"id":"tx","n":1,"note":"from a transaction"}`), engine.InsertOptions{})
	must(err)
	_, err = s.Update(tx, "a", "1", obj(t, `{"v":-1}`), -1)
	must(err)
	tx.Commit()
}

// TestOpenReplaysEverything: the same state comes back from the
// append-only file alone, from a snapshot alone, and from a snapshot plus
// the append-only file after it.
func TestOpenReplaysEverything(t *testing.T) {
	for _, mode := range []string{"aof", "snapshot", "snapshot+aof"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			o := mustOpen(t, dir, FsyncEverySec, nil, nil)
			if mode == "snapshot+aof" {
				if err := o.p.Rewrite(true); err != nil {
					t.Fatal(err)
				}
			}
			fill(t, o.store)
			o.p.QueryDefined("q", []byte(`{"bucket":"s","limit":3}`))
			o.queries.hooks().Restore("q", []byte(`{"bucket":"s","limit":3}`))
			o.p.QueryDefined("q2", []byte(`{"bucket":"a"}`))
			o.p.QueryDefined("q2", nil)
			if mode == "snapshot" {
				if err := o.p.Rewrite(true); err != nil {
					t.Fatal(err)
				}
			}
			want := o.dump(t)
			if err := o.p.Close(false); err != nil {
				t.Fatal(err)
			}
			r := mustOpen(t, dir, FsyncEverySec, nil, nil)
			defer r.p.Close(false)
			if got := r.dump(t); got != want {
				t.Errorf("reopened:\n%s", lineDiff(want, got))
			}
			if r.p.Info().LoadedRecords == 0 && mode == "snapshot" {
				t.Errorf("Info.LoadedRecords = 0 after loading a snapshot")
			}
			rec, err := r.store.Insert(nil, "a", obj(t, `{"v":99}`), engine.InsertOptions{})
			if err != nil || string(jsonv.Marshal(rec.Key())) != "21" {
				t.Errorf("autoincrement after the restart: %v %v, want key 21", rec, err)
			}
		})
	}
}

// lastAOF returns the path of the current append-only file.
func lastAOF(t *testing.T, dir string) string {
	m, err := readManifest(dir)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v", err)
	}
	return filepath.Join(dir, m.AOF[len(m.AOF)-1])
}

// TestOpenCutsTornLastEntry cuts the append-only file at every offset of
// its last entry: Open succeeds with a warning naming the file, the state is
// the one before the torn write, the file is cut back, and later writes
// append cleanly.
func TestOpenCutsTornLastEntry(t *testing.T) {
	base := t.TempDir()
	o := mustOpen(t, base, FsyncNo, nil, nil)
	fill(t, o.store)
	want := o.dump(t)
	path := lastAOF(t, base)
	waitFor(t, 5*time.Second, "the writes to reach the file", func() bool { return fileSize(t, path) == o.p.Mark() })
	goodSize := fileSize(t, path)
	if _, err := o.store.Insert(nil, "s", obj(t, `{"id":"torn","n":7,"tag":"last"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.p.Close(false); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(path)
	for cut := goodSize + 1; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		copyDir(t, base, dir)
		p := filepath.Join(dir, filepath.Base(path))
		if err := os.Truncate(p, cut); err != nil {
			t.Fatal(err)
		}
		r, err := openDir(dir, FsyncNo, nil, nil)
		if err != nil {
			t.Fatalf("cut at %d (last entry %d..%d): Open: %v", cut, goodSize, len(full), err)
		}
		if got := r.dump(t); got != want {
			t.Fatalf("cut at %d: state differs:\n%s", cut, lineDiff(want, got))
		}
		if !strings.Contains(r.log.String(), `"level":"warn"`) || !strings.Contains(r.log.String(), p) {
			t.Errorf("cut at %d: no warning naming %s; log: %s", cut, p, r.log)
		}
		if size := fileSize(t, p); size != goodSize {
			t.Errorf("cut at %d: file is %d bytes after Open, want %d", cut, size, goodSize)
		}
		if cut == goodSize+1 || cut == int64(len(full))-1 {
			if _, err := r.store.Insert(nil, "s", obj(t, `{"id":"after","n":8}`), engine.InsertOptions{}); err != nil {
				t.Fatal(err)
			}
			want2 := r.dump(t)
			r.p.Close(false)
			r2 := mustOpen(t, dir, FsyncNo, nil, nil)
			if got := r2.dump(t); got != want2 {
				t.Errorf("cut at %d, then a write: state differs:\n%s", cut, lineDiff(want2, got))
			}
			r2.p.Close(false)
			continue
		}
		r.p.Close(false)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenRefusesDamage: a flipped byte in the middle of an append-only
// file or a snapshot, a cut snapshot, and a torn entry in an append-only
// file that is not the last are errors that name the file and the offset.
func TestOpenRefusesDamage(t *testing.T) {
	base := t.TempDir()
	o := mustOpen(t, base, FsyncNo, nil, nil)
	fill(t, o.store)
	if err := o.p.Rewrite(true); err != nil { // snapshot.2.bdb + appendonly.2.aof
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		o.store.Upsert(nil, "s", obj(t, fmt.Sprintf(`{"id":"late%d","n":%d}`, i, i)))
	}
	o.p.Close(false)
	man, _ := readManifest(base)
	snap, aofFile := man.Snapshot, man.AOF[len(man.AOF)-1]

	middle := func(t *testing.T, path string) (start int) {
		data, _ := os.ReadFile(path)
		_, starts := entryStarts(t, data)
		return starts[len(starts)/2]
	}
	cases := []struct {
		name   string
		file   string
		damage func(t *testing.T, path string) (offset int)
	}{
		{"aof flipped byte", aofFile, func(t *testing.T, path string) int {
			at := middle(t, path)
			flipAt(t, path, at+30)
			return at
		}},
		{"snapshot flipped byte", snap, func(t *testing.T, path string) int {
			at := middle(t, path)
			flipAt(t, path, at+30)
			return at
		}},
		{"snapshot cut", snap, func(t *testing.T, path string) int {
			data, _ := os.ReadFile(path)
			_, starts := entryStarts(t, data)
			last := starts[len(starts)-2]
			os.Truncate(path, int64(last+5))
			return last
		}},
		{"torn entry in a closed aof", "", func(t *testing.T, path string) int { return -1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			file := c.file
			offset := 0
			if file == "" {
				// Make the chain snapshot.2 + appendonly.2 + appendonly.3 with
				// appendonly.2 ending in a torn entry.
				file = aofFile
				path := filepath.Join(dir, file)
				data, _ := os.ReadFile(path)
				offset = len(data)
				os.WriteFile(path, append(data, "*2\r\n$8\r\n0000"...), 0o644)
				m, _ := readManifest(dir)
				m.AOF = append(m.AOF, aofName(m.Generation+1))
				m.Generation++
				writeManifest(dir, m)
				// The newer file holds data, so appendonly.2 was closed by a
				// completed rotation (a failed one leaves the newer file empty
				// and the torn tail is then a crash's, which Open accepts).
				os.WriteFile(filepath.Join(dir, aofName(m.Generation)), AppendEntry(nil, []Op{{[]byte("QDROP"), []byte("q")}}), 0o644)
			} else {
				offset = c.damage(t, filepath.Join(dir, file))
			}
			_, err := openDir(dir, FsyncNo, nil, nil)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: %v, want a *CorruptError", err)
			}
			if ce.File != filepath.Join(dir, file) || ce.Offset != int64(offset) {
				t.Errorf("CorruptError names %s offset %d, want %s offset %d (%v)", ce.File, ce.Offset, filepath.Join(dir, file), offset, err)
			}
			if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), fmt.Sprint(offset)) {
				t.Errorf("error %q does not name the file and the offset", err)
			}
		})
	}
}

// entryStarts returns the entries of data and where each starts.
func entryStarts(t *testing.T, data []byte) ([][]Op, []int) {
	r := NewReader(data, "x")
	var out [][]Op
	starts := []int{0}
	for {
		ops, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ops == nil {
			return out, starts
		}
		out = append(out, ops)
		starts = append(starts, int(r.Offset()))
	}
}

func flipAt(t *testing.T, path string, off int) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredRecordsStayExpired: a record that expired while the server
// was down is not served after the restart, whether it was in the
// append-only file or the snapshot; and a rewrite leaves expired records
// out of the snapshot.
func TestExpiredRecordsStayExpired(t *testing.T) {
	var clock atomic.Int64
	clock.Store(1_700_000_000_000)
	now := func() int64 { return clock.Load() }
	for _, rewrite := range []bool{false, true} {
		t.Run(fmt.Sprintf("rewrite=%v", rewrite), func(t *testing.T) {
			dir := t.TempDir()
			o := mustOpen(t, dir, FsyncNo, now, nil)
			if err := o.store.Define("ttl", []byte(defTTL)); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "b"} {
				if _, err := o.store.Insert(nil, "ttl", obj(t, `{"id":"`+k+`"}`), engine.InsertOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			clock.Add(500)
			o.store.Insert(nil, "ttl", obj(t, `{"id":"late"}`), engine.InsertOptions{})
			clock.Add(600) // a and b expired; late has 400ms left
			if rewrite {
				if err := o.p.Rewrite(true); err != nil {
					t.Fatal(err)
				}
				data := snapshotRecords(t, filepath.Join(dir, snapshotName(2)))
				if strings.Contains(data, `"id":"a"`) || !strings.Contains(data, `"id":"late"`) {
					t.Errorf("snapshot should hold late but not the expired a: %s", data)
				}
			}
			o.p.Close(false)
			r := mustOpen(t, dir, FsyncNo, now, nil)
			defer r.p.Close(false)
			if n, _ := r.store.Count(nil, "ttl", nil); n != 1 {
				t.Errorf("after the restart %d records are visible, want 1 (late)", n)
			}
			if rec, _ := r.store.Get(nil, "ttl", "a"); rec != nil {
				t.Errorf("expired record a resurrected: %s", rec.JSON())
			}
			clock.Add(1000)
			if n, _ := r.store.Count(nil, "ttl", nil); n != 0 {
				t.Errorf("after late's expiry %d records are visible, want 0", n)
			}
		})
	}
}

// snapshotRecords returns the records a snapshot file holds, one JSON text
// a line, as a store with a stopped clock (nothing expires) loads them.
func snapshotRecords(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &Persistence{store: engine.New(engine.Options{Log: zerolog.Nop(), Now: func() int64 { return 0 }}), log: zerolog.Nop()}
	r := NewReader(data, path)
	for {
		ops, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ops == nil {
			break
		}
		if string(ops[0][0]) != opEnd {
			if err := p.apply(ops); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b strings.Builder
	for _, name := range p.store.List() {
		recs, err := p.store.All(nil, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			b.Write(rec.JSON())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestRewriteDue: an automatic rewrite is due, as in Redis 7, when the
// data files together (snapshot, older and current append-only files) are
// past the minimum size and have grown by the percentage over their sum at
// the last start-up or rewrite; never with a percentage of 0, and not
// while a rewrite runs.
func TestRewriteDue(t *testing.T) {
	cases := []struct {
		minSize, pct, snap, older, base, size int64
		rewriting, due                        bool
	}{
		{64 << 20, 100, 0, 0, 0, 64<<20 + 1, false, true},              // a fresh start: the file alone, past the minimum
		{64 << 20, 100, 0, 0, 0, 64 << 20, false, false},               // the minimum is passed, not reached (Redis's >)
		{64 << 20, 100, 40 << 20, 0, 40 << 20, 25 << 20, false, false}, // past 64 MB, grown by less than 100%
		{64 << 20, 100, 10 << 20, 0, 10 << 20, 30 << 20, false, false}, // grown by 300%, but 40 MB in all
		{1024, 100, 1000, 0, 1000, 999, false, false},                  // 1999 < 2 × 1000
		{1024, 100, 1000, 0, 1000, 1000, false, true},                  // the file has reached the snapshot's size: the sum doubled
		{1024, 100, 1000, 0, 1500, 1999, false, false},                 // a base that held 500 bytes of file at the last start-up
		{1024, 100, 1000, 0, 1500, 2000, false, true},
		{1024, 100, 1000, 600, 1000, 400, false, true}, // the files before the current one count
		{1024, 50, 1000, 0, 1000, 500, false, true},
		{1024, 0, 0, 0, 0, 1 << 40, false, false},
		{1024, 100, 0, 0, 0, 4096, true, false},
	}
	for _, c := range cases {
		p := &Persistence{snapSize: c.snap, olderSize: c.older, baseSize: c.base, rewriting: c.rewriting}
		p.SetAutoRewrite(c.minSize, c.pct)
		if got := p.rewriteDue(c.size); got != c.due {
			t.Errorf("min %d, %d%%, snapshot %d, older files %d, base %d, file %d, rewriting %v: due %v, want %v",
				c.minSize, c.pct, c.snap, c.older, c.base, c.size, c.rewriting, got, c.due)
		}
	}
}

// TestDataFileSizes: Info's sizes are Redis 7's (the automatic rewrite
// compares them, rewriteDue): CurrentSize is every data file's bytes,
// BaseSize that sum at the last start-up or rewrite, through appends, a
// rewrite and a restart.
func TestDataFileSizes(t *testing.T) {
	dir := t.TempDir()
	onDisk := func() (sum int64) {
		for _, name := range strings.Split(dataFilesOf(t, dir), ",") {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			sum += st.Size()
		}
		return sum
	}
	check := func(what string, o *opened, base int64) {
		t.Helper()
		if err := o.p.WaitWritten(o.p.Mark()); err != nil {
			t.Fatal(err)
		}
		in := o.p.Info()
		if in.CurrentSize != onDisk() || in.CurrentSize != in.SnapshotSize+in.AOFSize || in.BaseSize != base {
			t.Errorf("%s: current %d (snapshot %d + append-only %d), base %d; want current %d (the files), base %d",
				what, in.CurrentSize, in.SnapshotSize, in.AOFSize, in.BaseSize, onDisk(), base)
		}
	}
	o := mustOpen(t, dir, FsyncEverySec, nil, nil)
	check("fresh", o, 0)
	fill(t, o.store)
	check("after writes", o, 0)
	if err := o.p.Rewrite(true); err != nil {
		t.Fatal(err)
	}
	snap := o.p.Info().SnapshotSize
	if snap == 0 {
		t.Fatal("no snapshot size after a rewrite")
	}
	check("after a rewrite", o, snap)
	if _, err := o.store.Insert(nil, "a", obj(t, `{"v":1}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after a write", o, snap)
	if err := o.p.Close(false); err != nil {
		t.Fatal(err)
	}
	o = mustOpen(t, dir, FsyncEverySec, nil, nil)
	defer o.p.Close(false)
	check("reopened", o, onDisk())
}

// dataFilesOf returns the manifest's data files, comma-separated.
func dataFilesOf(t *testing.T, dir string) string {
	t.Helper()
	m, err := readManifest(dir)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v %v", m, err)
	}
	files := append([]string(nil), m.AOF...)
	if m.Snapshot != "" {
		files = append([]string{m.Snapshot}, files...)
	}
	return strings.Join(files, ",")
}
