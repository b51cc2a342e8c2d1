package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bucketd/snapshot"
)

// Helpers of the persistence tests (persistence_test.go): a restart helper
// that proves persistence — write, stop (cleanly or by kill), start on the
// same directory, compare — plus a model of acknowledged writes, a way to
// make the disk refuse writes, and tools to damage data files.

// restart stops s (how: "stop" is SIGTERM and must exit 0, "kill" is
// SIGKILL) and starts a new server on the same data directory with the
// same flags (plus extra ones).
func restart(t *testing.T, s *Server, how string, extra ...string) *Server {
	t.Helper()
	switch how {
	case "stop":
		if code := s.Stop(); code != 0 {
			t.Fatalf("SIGTERM: exit code %d, want 0\n%s", code, s.Log())
		}
	case "kill":
		s.Kill()
	default:
		t.Fatalf("restart: unknown way %q", how)
	}
	return StartIn(t, s.Dir, append(append([]string{}, s.Args...), extra...)...)
}

// dump is the whole visible state, as clients see it: every bucket's
// definition, figures (records, indexes, autoincrement counter, event
// seq; not memory sizes) and records in order, DBSIZE, and the query
// definitions when the server has reactive queries.
func dump(t *testing.T, c *redis.Client) string {
	t.Helper()
	var b strings.Builder
	names, err := c.Do(ctx(t), "BUCKET.LIST").StringSlice()
	if err != nil {
		t.Fatalf("BUCKET.LIST: %v", err)
	}
	for _, name := range names {
		info, err := c.Do(ctx(t), "BUCKET.INFO", name).Text()
		if err != nil {
			t.Fatalf("BUCKET.INFO %s: %v", name, err)
		}
		fmt.Fprintf(&b, "bucket %s %s\n", name, withoutMemory(t, info))
		recs, err := c.Do(ctx(t), "B.ALL", name).StringSlice()
		if err != nil {
			t.Fatalf("B.ALL %s: %v", name, err)
		}
		for _, r := range recs {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	n, err := c.Do(ctx(t), "DBSIZE").Int64()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	fmt.Fprintf(&b, "dbsize %d\n", n)
	if hasCommand(t, c, "QUERY.LIST") {
		queries, err := c.Do(ctx(t), "QUERY.LIST").StringSlice()
		if err != nil {
			t.Fatalf("QUERY.LIST: %v", err)
		}
		sort.Strings(queries)
		for _, q := range queries {
			info, err := c.Do(ctx(t), "QUERY.INFO", q).Text()
			if err != nil {
				t.Fatalf("QUERY.INFO %s: %v", q, err)
			}
			var m map[string]any
			json.Unmarshal([]byte(info), &m)
			def, _ := json.Marshal(m["definition"])
			fmt.Fprintf(&b, "query %s %s\n", q, def)
		}
	}
	return b.String()
}

// withoutMemory drops the memoryBytes figures (they depend on allocation
// history) from BUCKET.INFO's JSON, and sorts the index figures by field
// (TestPersistIndexOrder checks their order).
func withoutMemory(t *testing.T, info string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(info), &m); err != nil {
		t.Fatalf("BUCKET.INFO %q: %v", info, err)
	}
	delete(m, "memoryBytes")
	if ixs, ok := m["indexes"].([]any); ok {
		for _, ix := range ixs {
			if im, ok := ix.(map[string]any); ok {
				delete(im, "memoryBytes")
			}
		}
		sort.SliceStable(ixs, func(i, j int) bool {
			return fmt.Sprint(ixs[i].(map[string]any)["field"]) < fmt.Sprint(ixs[j].(map[string]any)["field"])
		})
	}
	out, _ := json.Marshal(m) // map keys sorted: deterministic
	return string(out)
}

// hasCommand reports whether the server knows a command.
func hasCommand(t *testing.T, c *redis.Client, name string) bool {
	t.Helper()
	v, err := c.Do(ctx(t), "COMMAND", "INFO", name).Slice()
	if err != nil {
		t.Fatalf("COMMAND INFO %s: %v", name, err)
	}
	return len(v) == 1 && v[0] != nil
}

// sameState fails the test when two dumps differ, showing the first lines
// that differ.
func sameState(t *testing.T, what, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var d strings.Builder
	for i := 0; i < max(len(w), len(g)) && d.Len() < 3000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&d, "  line %d\n    want %s\n    got  %s\n", i, wl, gl)
		}
	}
	t.Errorf("%s: state differs:\n%s", what, d.String())
}

// ackModel is what clients were told: for each record the reply of the
// last acknowledged write ("" for an acknowledged delete). Writers own
// disjoint keys, so the model is exact for what was acknowledged; the one
// write per key in flight when the server died may or may not have landed.
type ackModel struct {
	mu      sync.Mutex
	recs    map[string]string // bucket/key -> record JSON, "" deleted
	pending map[string]string // bucket/key -> "write" or "delete" in flight
}

func newAckModel() *ackModel {
	return &ackModel{recs: map[string]string{}, pending: map[string]string{}}
}

// begin notes a write about to be sent (op "write" or "delete").
func (m *ackModel) begin(bucket, key, op string) {
	m.mu.Lock()
	m.pending[bucket+"/"+key] = op
	m.mu.Unlock()
}

// set records an acknowledged write's reply ("" for a delete).
func (m *ackModel) set(bucket, key, rec string) {
	m.mu.Lock()
	m.recs[bucket+"/"+key] = rec
	delete(m.pending, bucket+"/"+key)
	m.mu.Unlock()
}

// checkAgainst compares the server's records with the model: each record
// must be the acknowledged one, or, for a record with a write in flight,
// the result of that write (one version more, or deleted). It returns how
// many records it checked.
func (m *ackModel) checkAgainst(t *testing.T, c *redis.Client) int {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	bad := 0
	for bk, want := range m.recs {
		bucket, key, _ := strings.Cut(bk, "/")
		got, err := c.Do(ctx(t), "B.GET", bucket, key).Text()
		if errors.Is(err, redis.Nil) {
			got, err = "", nil
		}
		if err != nil {
			t.Fatalf("B.GET %s %s: %v", bucket, key, err)
		}
		ok := got == want
		switch m.pending[bk] {
		case "delete":
			ok = ok || got == ""
		case "write":
			next := 1.0
			if want != "" {
				next = version(t, want) + 1
			}
			ok = ok || got != "" && version(t, got) == next
		}
		if !ok && bad < 10 {
			bad++
			if want == "" {
				t.Errorf("%s %s was acknowledged as deleted, yet it is back: %s", bucket, key, got)
			} else {
				t.Errorf("%s %s: got %q, acknowledged %s", bucket, key, got, want)
			}
		}
	}
	return len(m.recs)
}

func version(t *testing.T, rec string) float64 {
	t.Helper()
	return num(t, parseRec(t, rec), "_version")
}

// writers runs n goroutines, each with its own connection to s, calling
// write(c, w, i) for i = 0, 1, … until it returns false or stop is called;
// stop waits for them.
func writers(s *Server, n int, write func(c *redis.Client, w, i int) bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, PoolSize: 1})
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if !write(c, w, i) {
					return
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// tryStart starts the server on dir and reports whether it got ready
// (then stops it with SIGTERM) or exited first, with its exit code and
// what it printed.
func tryStart(t *testing.T, dir string, args ...string) (ready bool, code int, out string) {
	t.Helper()
	full := append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", dir}, args...)
	cmd := exec.Command(binPath, full...)
	cmd.Env = serverEnv()
	var buf syncBuf
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.After(30 * time.Second)
	for !ready {
		select {
		case <-done:
			return false, cmd.ProcessState.ExitCode(), buf.String()
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("the server neither got ready nor exited within 30s:\n%s", buf.String())
		case <-time.After(10 * time.Millisecond):
			ready = strings.Contains(buf.String(), "ready to accept connections")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	return true, cmd.ProcessState.ExitCode(), buf.String()
}

// syncBuf is a bytes.Buffer safe for the process's writes and our reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// infoFields returns INFO <section> as a map.
func infoFields(t *testing.T, c *redis.Client, section string) map[string]string {
	t.Helper()
	text, err := c.Info(ctx(t), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// manifest reads the data directory's manifest.json.
func manifest(t *testing.T, dir string) (snap string, aofs []string) {
	t.Helper()
	var m struct {
		Snapshot string   `json:"snapshot"`
		AOF      []string `json:"aof"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest.json %q: %v", data, err)
	}
	return m.Snapshot, m.AOF
}

// currentAOF returns the path of the append-only file writes go to.
func currentAOF(t *testing.T, dir string) string {
	t.Helper()
	_, aofs := manifest(t, dir)
	return filepath.Join(dir, aofs[len(aofs)-1])
}

// entryOffsets returns where each entry of a data file starts, and the
// file's length at the end.
func entryOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := snapshot.NewReader(data, path)
	offs := []int64{0}
	for {
		ops, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ops == nil {
			return offs
		}
		offs = append(offs, r.Offset())
	}
}

// dataFiles lists the data files in dir: every entry but the lock file a
// running server holds there.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != snapshot.LockName {
			names = append(names, e.Name())
		}
	}
	return names
}

// copyDataDir copies the files of a data directory.
func copyDataDir(t *testing.T, from, to string) {
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

// filesContaining lists the files under dir whose bytes contain s.
func filesContaining(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(s)) {
				out = append(out, path)
			}
		}
		return nil
	})
	return out
}

// fileSizeOf returns a file's size.
func fileSizeOf(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// aofEnd returns where the entries of the append-only file at path end:
// under always, zeros written ahead follow them (docs/persistence.md,
// "Preallocation").
func aofEnd(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(bytes.TrimRight(data, "\x00")))
}

// flushed waits until the append-only file on disk holds everything the
// server appended (aof_pending_bytes 0): a kill after that loses nothing,
// whatever the fsync policy, since the bytes are in the OS.
func flushed(t *testing.T, s *Server, c *redis.Client) {
	t.Helper()
	eventually(t, 10*time.Second, "the append-only file to be written", func() bool {
		return infoFields(t, c, "persistence")["aof_pending_bytes"] == "0"
	})
}

const (
	pUsersDef = `{"key":"id","schema":{"id":{"type":"string","generated":"uuid"},` +
		`"name":{"type":"string","required":true},"email":{"type":"string","unique":true},` +
		`"age":{"type":"number","min":0},"role":{"type":"string","enum":["admin","user","guest"],"default":"user"},` +
		`"tags":{"type":"array","default":[]}},"indexes":["role"]}`
	pOrdersDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
		`"item":{"type":"string","required":true},"qty":{"type":"number"},"at":{"type":"number","generated":"timestamp"},` +
		`"ref":{"type":"string","generated":"cuid"}}}`
	pSortedDef = `{"key":"n","schema":{"n":{"type":"number"},"s":{"type":"string"}},"ordered":true}`
	pTTLDef    = `{"key":"id","schema":{"id":{"type":"string"}},"ttl":"1h"}`
	pMemDef    = `{"key":"id","schema":{"id":{"type":"string"},"secret":{"type":"string"}},"persistent":false}`
	pKVDef     = `{"key":"k","schema":{"k":{"type":"string"},"v":{"type":"number"}}}`
	pCappedDef = `{"key":"k","schema":{"k":{"type":"string"}},"maxSize":3}`
)

// writeEverything exercises every kind of write; round makes keys unique
// so it can run again on the same server.
func writeEverything(r *rc, round int) {
	r.t.Helper()
	p := fmt.Sprintf("r%d-", round)
	if round == 0 {
		for name, def := range map[string]string{"users": pUsersDef, "orders": pOrdersDef, "sorted": pSortedDef,
			"ttl": pTTLDef, "mem": pMemDef, "scratch": pKVDef, "capped": pCappedDef} {
			r.define(name, def)
		}
	}
	r.do("BUCKET.DROP", "dropme") // the previous round's
	r.define("dropme", pKVDef)
	for i := 0; i < 12; i++ {
		r.insert("users", fmt.Sprintf(`{"id":"%su%d","name":"n%d","email":"%s%d@x.io","age":%d,"role":%q}`,
			p, i, i, p, i, 20+i, []string{"admin", "user", "guest"}[i%3]))
	}
	r.insert("users", `{"name":"generated id"}`)
	r.str("B.UPDATE", "users", p+"u1", `{"age":99,"nick":"x"}`)
	r.str("B.UPDATE", "users", p+"u1", `{"age":100,"nick":null}`, "IFVERSION", 2)
	r.str("B.UPSERT", "users", fmt.Sprintf(`{"id":"%su2","name":"upserted"}`, p))
	r.str("B.UPSERT", "users", fmt.Sprintf(`{"id":"%su99","name":"upsert-inserted"}`, p))
	r.integer(1, "B.DELETE", "users", p+"u3")
	r.do("B.UPDATEMANY", "users", `{"role":"guest"}`, `{"tags":["g"]}`)
	r.do("B.DELETEMANY", "users", fmt.Sprintf(`{"id":{"$in":["%su4","%su5"]}}`, p, p))
	for i := 0; i < 6; i++ {
		r.insert("orders", fmt.Sprintf(`{"item":"%sitem%d","qty":%d}`, p, i, i+1))
	}
	r.list("B.INSERTMANY", "orders", `[{"item":"m1"},{"item":"m2"},{"item":"m3"}]`)
	last := parseRec(r.t, r.list("B.LAST", "orders", 1)[0])["id"]
	r.integer(1, "B.DELETE", "orders", fmt.Sprint(last)) // the counter stays past it
	for _, n := range []int{5, 1, 9, 3} {
		r.insert("sorted", fmt.Sprintf(`{"n":%d,"s":"%s"}`, round*10+n, p))
	}
	r.insert("ttl", fmt.Sprintf(`{"id":"%st1"}`, p))
	r.str("B.INSERT", "ttl", fmt.Sprintf(`{"id":"%st2"}`, p), "TTL", "2h")
	r.insert("mem", fmt.Sprintf(`{"id":"%sm1","secret":"NEVER-ON-DISK-%d"}`, p, round))
	r.insert("scratch", `{"k":"a","v":1}`, `{"k":"b","v":2}`)
	r.do("B.CLEAR", "scratch")
	r.insert("scratch", fmt.Sprintf(`{"k":"%safter-clear","v":3}`, p))
	r.insert("dropme", `{"k":"x","v":1}`)
	r.integer(1, "BUCKET.DROP", "dropme")
	r.define("dropme", pSortedDef) // the same name, another definition
	r.insert("dropme", fmt.Sprintf(`{"n":%d}`, round))
	for i := 0; i < 5; i++ { // maxSize 3: two evictions per round
		r.insert("capped", fmt.Sprintf(`{"k":"%sc%d"}`, p, i))
	}
	if round == 0 {
		r.ok("BUCKET.ALTER", "users", `{"addFields":{"level":{"type":"number"}},"addIndexes":["age"]}`)
	}
	r.ok("MULTI")
	r.do("B.INSERT", "users", fmt.Sprintf(`{"id":"%stx","name":"in a tx","level":1}`, p))
	r.do("B.UPDATE", "orders", "1", fmt.Sprintf(`{"qty":%d}`, 100+round))
	r.do("B.DELETE", "sorted", fmt.Sprint(round*10+5))
	if v := r.do("EXEC"); len(v.([]any)) != 3 {
		r.t.Fatalf("EXEC: %#v", v)
	}
}

// persistentState is the dump without the persistent:false bucket, whose
// records do not survive, and DBSIZE, which counts them.
func persistentState(t *testing.T, c *redis.Client) string {
	t.Helper()
	var keep []string
	skip := false
	for _, line := range strings.Split(dump(t, c), "\n") {
		if strings.HasPrefix(line, "bucket ") {
			skip = strings.HasPrefix(line, "bucket mem ")
		}
		if !skip && !strings.HasPrefix(line, "dbsize ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
