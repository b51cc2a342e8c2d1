package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Observability (issue 9): SLOWLOG, CLIENT LIST and the Prometheus endpoint
// (--metrics-addr). The obs* helpers at the top are shared with
// supervision_test.go and stats_test.go; they only need harness_test.go.

// obsText runs a command on c whose reply must be a string, and returns it.
func obsText(t testing.TB, c *RawConn, args ...string) string {
	t.Helper()
	reply := c.Do(args...)
	s, ok := decodeReply(t, reply).(string)
	if !ok {
		t.Fatalf("%v: got %q, want a string", args, reply)
	}
	return s
}

// obsInt runs a command on c whose reply must be an integer.
func obsInt(t testing.TB, c *RawConn, args ...string) int64 {
	t.Helper()
	reply := c.Do(args...)
	n, ok := decodeReply(t, reply).(int64)
	if !ok {
		t.Fatalf("%v: got %q, want an integer", args, reply)
	}
	return n
}

// obsInfo runs INFO section on c and returns its fields.
func obsInfo(t testing.TB, c *RawConn, section string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(obsText(t, c, "INFO", section), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// obsStats runs STORE.STATS on c and decodes its JSON.
func obsStats(t testing.TB, c *RawConn) map[string]any {
	t.Helper()
	text := obsText(t, c, "STORE.STATS")
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("STORE.STATS is not a JSON object: %v\n%s", err, text)
	}
	return m
}

// obsPath returns the value at a dotted path of decoded JSON ("a.b.c"), or
// nil.
func obsPath(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// obsJSON compares a decoded JSON value with want, given as JSON text.
func obsJSON(t testing.TB, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want %s", what, g, want)
	}
}

// obsClients parses CLIENT LIST into one field map per connection.
func obsClients(t testing.TB, c *RawConn) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(obsText(t, c, "CLIENT", "LIST")), "\n") {
		m := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

// obsSlowEntry is one SLOWLOG GET entry.
type obsSlowEntry struct {
	id, at, micros int64
	args           []string
	addr, name     string
}

// obsSlowlog runs SLOWLOG GET with args on c.
func obsSlowlog(t testing.TB, c *RawConn, args ...string) []obsSlowEntry {
	t.Helper()
	reply := c.Do(append([]string{"SLOWLOG", "GET"}, args...)...)
	list, ok := decodeReply(t, reply).([]any)
	if !ok {
		t.Fatalf("SLOWLOG GET %v = %q", args, reply)
	}
	var out []obsSlowEntry
	for _, e := range list {
		f, ok := e.([]any)
		if !ok || len(f) != 6 {
			t.Fatalf("slow log entry %#v: want 6 fields", e)
		}
		var a []string
		for _, x := range f[3].([]any) {
			a = append(a, x.(string))
		}
		out = append(out, obsSlowEntry{f[0].(int64), f[1].(int64), f[2].(int64), a, f[4].(string), f[5].(string)})
	}
	return out
}

func TestObservabilitySlowlogEveryCommand(t *testing.T) {
	t.Parallel()
	s := Start(t, "--slowlog-log-slower-than", "-1")
	c := s.Raw(t)
	for _, args := range [][]string{
		{"CLIENT", "SETNAME", "obs-slow"},
		{"BUCKET.DEFINE", "things", `{"key":"id","schema":{"id":{"type":"string"},"note":{"type":"string"}},"persistent":false}`},
		{"CONFIG", "SET", "slowlog-log-slower-than", "0"},
		{"SLOWLOG", "RESET"},
	} {
		if got := c.Do(args...); got != "+OK\r\n" {
			t.Fatalf("%v = %q", args, got)
		}
	}
	c.Do("B.INSERT", "things", `{"id":"t1","note":"hello"}`)
	// Redis keeps at most 32 arguments, the last one saying how many were
	// left out, and cuts each at 128 bytes, saying how many bytes were.
	longFilter := `{"note":{"$in":["` + strings.Repeat("x", 150) + `"]}}`
	c.Do("B.WHERE", "things", longFilter)
	mget := []string{"B.MGET", "things"}
	for i := range 40 {
		mget = append(mget, fmt.Sprintf("k%d", i))
	}
	c.Do(mget...)
	if n := obsInt(t, c, "SLOWLOG", "LEN"); n != 4 {
		t.Fatalf("SLOWLOG LEN = %d, want 4 (SLOWLOG RESET, B.INSERT, B.WHERE, B.MGET)", n)
	}
	all := obsSlowlog(t, c, "-1")
	var got []string
	for i, e := range all {
		got = append(got, strings.Join(e.args, " "))
		if e.addr != c.LocalAddr().String() || e.name != "obs-slow" || e.micros < 0 || e.at < time.Now().Unix()-30 || e.at > time.Now().Unix()+1 {
			t.Errorf("entry %+v: want addr %s, name obs-slow, a recent time", e, c.LocalAddr())
		}
		if i > 0 && e.id != all[i-1].id-1 {
			t.Errorf("entry ids %d then %d: want consecutive, newest first", all[i-1].id, e.id)
		}
	}
	wantMget := strings.Join(mget[:31], " ") + " ... (11 more arguments)"
	wantWhere := "B.WHERE things " + longFilter[:128] + fmt.Sprintf("... (%d more bytes)", len(longFilter)-128)
	want := []string{"SLOWLOG LEN", wantMget, wantWhere, `B.INSERT things {"id":"t1","note":"hello"}`, "SLOWLOG RESET"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SLOWLOG GET -1 =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := obsSlowlog(t, c, "1"); len(got) != 1 || strings.Join(got[0].args, " ") != "SLOWLOG GET -1" {
		t.Errorf("SLOWLOG GET 1 = %+v, want the previous SLOWLOG GET -1", got)
	}
	if got := c.Do("SLOWLOG", "RESET"); got != "+OK\r\n" {
		t.Fatalf("SLOWLOG RESET = %q", got)
	}
	if n := obsInt(t, c, "SLOWLOG", "LEN"); n != 1 {
		t.Errorf("SLOWLOG LEN after RESET = %d, want 1 (the RESET itself, at threshold 0)", n)
	}
	// go-redis reads the same entries.
	logs, err := s.Client(t, 3).SlowLogGet(ctx(t), -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range logs {
		if reflect.DeepEqual(l.Args, []string{"SLOWLOG", "LEN"}) && l.ClientName == "obs-slow" && l.ClientAddr == c.LocalAddr().String() {
			found = true
		}
	}
	if !found {
		t.Errorf("go-redis SLOWLOG GET lacks the SLOWLOG LEN of obs-slow: %+v", logs)
	}
}

func TestObservabilitySlowlogThreshold(t *testing.T) {
	t.Parallel()
	// 40 ms: DEBUG SLEEP 0.05 is always slower. Nothing below asserts that
	// a fast command stays out (that would be a timed assertion), only
	// that every entry is over the threshold.
	s := Start(t, "--enable-debug-command", "yes", "--slowlog-log-slower-than", "40000")
	c := s.Raw(t)
	c.Do("CLIENT", "SETNAME", "sleeper")
	c.Do("SLOWLOG", "RESET")
	before := obsSlowlog(t, s.Raw(t), "-1")
	if got := c.Do("DEBUG", "SLEEP", "0.05"); got != "+OK\r\n" {
		t.Fatalf("DEBUG SLEEP 0.05 = %q", got)
	}
	// Nothing else runs on this server, so the newest entry is the sleep.
	newest := obsSlowlog(t, c, "1")
	if len(newest) != 1 {
		t.Fatalf("SLOWLOG GET 1 after DEBUG SLEEP 0.05 = %+v, want its entry", newest)
	}
	e := newest[0]
	if !reflect.DeepEqual(e.args, []string{"DEBUG", "SLEEP", "0.05"}) || e.micros < 50000 || e.name != "sleeper" || e.addr != c.LocalAddr().String() {
		t.Errorf("entry %+v: want DEBUG SLEEP 0.05 of at least 50000 µs by sleeper at %s", e, c.LocalAddr())
	}
	for _, b := range before {
		if b.id >= e.id {
			t.Errorf("entry id %d after an earlier entry %d: ids must grow", e.id, b.id)
		}
	}
	all := obsSlowlog(t, c, "-1")
	for _, x := range all {
		if x.micros < 40000 {
			t.Errorf("entry %+v is under slowlog-log-slower-than 40000", x)
		}
	}
	if n := obsInt(t, c, "SLOWLOG", "LEN"); n != int64(len(all)) || n < 1 {
		t.Errorf("SLOWLOG LEN = %d, SLOWLOG GET -1 has %d", n, len(all))
	}
	if got := c.Do("SLOWLOG", "RESET"); got != "+OK\r\n" {
		t.Fatalf("SLOWLOG RESET = %q", got)
	}
	for _, x := range obsSlowlog(t, c, "-1") {
		if x.id <= e.id {
			t.Errorf("entry %+v survived SLOWLOG RESET", x)
		}
	}
}

func TestObservabilityClientList(t *testing.T) {
	t.Parallel()
	s := Start(t)
	admin := s.Raw(t)
	admin.Do("CLIENT", "SETNAME", "obs-admin")
	admin.Do("BUCKET.DEFINE", "things", `{"key":"id","schema":{"id":{"type":"string"}},"persistent":false}`)

	plain := s.Raw(t)
	plain.Do("CLIENT", "SETNAME", "obs-plain")
	plain.Do("CLIENT", "SETINFO", "LIB-NAME", "obslib")
	if got := plain.Do("B.INSERT", "things", `{"id":"x"}`); !strings.HasPrefix(got, "$") {
		t.Fatalf("B.INSERT = %q", got)
	}

	sub := s.Raw(t)
	sub.Do("CLIENT", "SETNAME", "obs-sub")
	sub.Send(obsEnc("SUBSCRIBE", "c1", "c2"))
	sub.Read()
	sub.Read()
	sub.Send(obsEnc("PSUBSCRIBE", "p.*"))
	sub.Read()

	tx := s.Raw(t)
	tx.Do("CLIENT", "SETNAME", "obs-tx")
	for _, args := range [][]string{{"MULTI"}, {"B.GET", "things", "x"}, {"PING"}} {
		if got := tx.Do(args...); got != "+OK\r\n" && got != "+QUEUED\r\n" {
			t.Fatalf("%v = %q", args, got)
		}
	}

	gr := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 3, ClientName: "obs-gr3", MaxRetries: -1})
	defer gr.Close()
	if err := gr.Ping(ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}

	byName := map[string]map[string]string{}
	list := obsClients(t, admin)
	for _, m := range list {
		byName[m["name"]] = m
	}
	if n := obsInfo(t, admin, "clients")["connected_clients"]; n != strconv.Itoa(len(list)) {
		t.Errorf("INFO connected_clients = %s, CLIENT LIST has %d lines", n, len(list))
	}
	check := func(name string, conn *RawConn, want map[string]string) {
		t.Helper()
		m := byName[name]
		if m == nil {
			t.Errorf("no CLIENT LIST line named %s: %v", name, list)
			return
		}
		if conn != nil {
			want["addr"] = conn.LocalAddr().String()
			want["id"] = strconv.FormatInt(obsInt(t, conn, "CLIENT", "ID"), 10)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("CLIENT LIST %s: %s=%q, want %q (%v)", name, k, m[k], v, m)
			}
		}
	}
	check("obs-plain", plain, map[string]string{"resp": "2", "lib-name": "obslib", "cmd": "b.insert", "sub": "0", "psub": "0", "multi": "-1", "flags": "N", "db": "0"})
	check("obs-sub", nil, map[string]string{"resp": "2", "sub": "2", "psub": "1", "multi": "-1", "flags": "P", "cmd": "psubscribe", "addr": sub.LocalAddr().String()})
	// Redis sets a client's cmd before queueing it: the last queued one.
	check("obs-tx", nil, map[string]string{"multi": "2", "flags": "x", "cmd": "ping", "addr": tx.LocalAddr().String()})
	check("obs-gr3", nil, map[string]string{"resp": "3", "lib-ver": redis.Version()})
	if ln := byName["obs-gr3"]["lib-name"]; !strings.HasPrefix(ln, "go-redis(") {
		t.Errorf("go-redis client lib-name=%q, want go-redis(…)", ln)
	}
	check("obs-admin", admin, map[string]string{"cmd": "client|list", "resp": "2"})

	if got := tx.Do("EXEC"); !strings.HasPrefix(got, "*2\r\n") {
		t.Fatalf("EXEC = %q", got)
	}
	for _, m := range obsClients(t, admin) {
		if m["name"] == "obs-tx" && (m["multi"] != "-1" || m["flags"] != "N" || m["cmd"] != "exec") {
			t.Errorf("after EXEC: multi=%s flags=%s cmd=%s, want -1, N, exec", m["multi"], m["flags"], m["cmd"])
		}
	}
}

// obsEnc encodes a command as a RESP array.
func obsEnc(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// obsMetricsAddr returns the address the server logged for /metrics.
func obsMetricsAddr(t *testing.T, s *Server) string {
	t.Helper()
	var addr string
	eventually(t, 10*time.Second, "the log line serving Prometheus metrics", func() bool {
		for _, line := range strings.Split(s.Log(), "\n") {
			var e struct {
				Message string `json:"message"`
				Addr    string `json:"metrics_addr"`
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Message == "serving Prometheus metrics on /metrics" && e.Addr != "" {
				addr = e.Addr
				return true
			}
		}
		return false
	})
	return addr
}

// obsScrape fetches /metrics and returns every sample by its series,
// written as in the text format: `name{label="value"}`.
func obsScrape(t *testing.T, addr string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(body)
}

func TestObservabilityMetrics(t *testing.T) {
	t.Parallel()
	s := Start(t, "--metrics-addr", "127.0.0.1:0", "--enable-debug-command", "yes",
		"--client-output-buffer-limit", "pubsub 64kb 0 0", "--threads", "auto") // auto: threads_changes_total too
	addr := obsMetricsAddr(t, s)
	if h, _, err := net.SplitHostPort(addr); err != nil || h != "127.0.0.1" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("metrics_addr %q: want the address actually listened on", addr)
	}
	c := s.Raw(t)
	c.Do("BUCKET.DEFINE", "things", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}},"indexes":["n"]}`)
	for i := range 7 {
		if got := c.Do("B.INSERT", "things", fmt.Sprintf(`{"id":"t%d","n":%d}`, i, i)); !strings.HasPrefix(got, "$") {
			t.Fatalf("B.INSERT = %q", got)
		}
	}
	for _, k := range []string{"t0", "t1"} {
		if got := c.Do("B.DELETE", "things", k); got != ":1\r\n" {
			t.Fatalf("B.DELETE %s = %q", k, got)
		}
	}
	sub := s.Raw(t)
	sub.Send(obsEnc("SUBSCRIBE", "news"))
	sub.Read()
	psub := s.Raw(t)
	psub.Send(obsEnc("PSUBSCRIBE", "bucket.*"))
	psub.Read()

	// Counters are bumped once the reply is on its way: poll until the
	// figures are those of the commands above.
	want := map[string]float64{
		`bucketd_commands_total{command="b.insert"}`:                            7,
		`bucketd_commands_total{command="b.delete"}`:                            2,
		`bucketd_commands_total{command="bucket.define"}`:                       1,
		`bucketd_command_duration_seconds_count{command="b.insert"}`:            7,
		`bucketd_command_duration_seconds_count{command="b.delete"}`:            2,
		`bucketd_bucket_records{bucket="things"}`:                               5,
		`bucketd_bucket_restarts_total{bucket="things"}`:                        0,
		`bucketd_events_published_total`:                                        9,
		`bucketd_pubsub_subscribers`:                                            2,
		`bucketd_output_buffer_limit_disconnections_total`:                      0,
		`bucketd_aof_unsynced_bytes`:                                            0, // everysec: synced within a second or so
		`bucketd_command_duration_seconds_bucket{command="b.insert",le="+Inf"}`: 7,
	}
	obsWantMetrics(t, addr, want)
	m, body := obsScrape(t, addr)
	for _, typ := range []string{"bucketd_commands_total counter", "bucketd_command_duration_seconds histogram", "bucketd_bucket_records gauge",
		"bucketd_events_published_total counter", "bucketd_pubsub_subscribers gauge", "bucketd_output_buffer_limit_disconnections_total counter",
		"bucketd_aof_unsynced_bytes gauge", "bucketd_bucket_restarts_total counter", "bucketd_threads gauge"} {
		if !strings.Contains(body, "# TYPE "+typ+"\n") {
			t.Errorf("/metrics lacks # TYPE %s", typ)
		}
	}
	// The tuner's counter exists only under --threads auto (opt-in).
	auto := obsInfo(t, c, "server")["threads_mode"] == "auto"
	if has := strings.Contains(body, "# TYPE bucketd_threads_changes_total counter\n"); has != auto {
		t.Errorf("/metrics has bucketd_threads_changes_total: %v, want %v (threads_mode auto: %v)", has, auto, auto)
	}
	var info struct {
		MemoryBytes float64 `json:"memoryBytes"`
	}
	json.Unmarshal([]byte(obsText(t, c, "BUCKET.INFO", "things")), &info)
	if got := m[`bucketd_bucket_memory_bytes{bucket="things"}`]; got != info.MemoryBytes || got <= 0 {
		t.Errorf("bucketd_bucket_memory_bytes = %v, BUCKET.INFO memoryBytes = %v", got, info.MemoryBytes)
	}
	// The tuner may change the number of threads between two reads.
	eventually(t, 10*time.Second, "bucketd_threads to agree with INFO threads", func() bool {
		m, _ := obsScrape(t, addr)
		return strconv.FormatFloat(m[`bucketd_threads`], 'f', -1, 64) == obsInfo(t, c, "server")["threads"]
	})
	if got, aof := m[`bucketd_aof_size_bytes`], obsInfo(t, c, "persistence")["aof_current_size"]; strconv.FormatFloat(got, 'f', -1, 64) != aof {
		t.Errorf("bucketd_aof_size_bytes = %v, INFO aof_current_size = %s", got, aof)
	}

	// A crash counts a restart.
	c.Do("DEBUG", "PANIC-BUCKET", "things")
	if got := c.Do("B.INSERT", "things", `{"id":"boom"}`); got != "-ERR internal error in bucket \"things\"\r\n" {
		t.Fatalf("B.INSERT after DEBUG PANIC-BUCKET = %q", got)
	}
	// A subscriber that does not read passes the 64kb hard limit and is
	// disconnected.
	flood := s.Raw(t)
	flood.Send(obsEnc("SUBSCRIBE", "flood"))
	flood.Read()
	payload := strings.Repeat("x", 256<<10)
	published := 0
	eventually(t, 20*time.Second, "the flooded subscriber to be disconnected", func() bool {
		c.Do("PUBLISH", "flood", payload)
		published++
		return obsInfo(t, c, "stats")["client_output_buffer_limit_disconnections"] == "1"
	})
	for _, k := range []string{`bucketd_commands_total{command="b.insert"}`, `bucketd_command_duration_seconds_count{command="b.insert"}`,
		`bucketd_command_duration_seconds_bucket{command="b.insert",le="+Inf"}`} {
		want[k] = 8
	}
	want[`bucketd_bucket_restarts_total{bucket="things"}`] = 1
	want[`bucketd_output_buffer_limit_disconnections_total`] = 1
	want[`bucketd_commands_total{command="publish"}`] = float64(published)
	want[`bucketd_commands_total{command="debug"}`] = 1
	obsWantMetrics(t, addr, want)
}

// obsWantMetrics polls /metrics until every series in want has its value.
func obsWantMetrics(t *testing.T, addr string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, _ := obsScrape(t, addr)
		bad := ""
		for k, v := range want {
			if got, ok := m[k]; !ok || got != v {
				bad += fmt.Sprintf("\n  %s = %v (present %v), want %v", k, got, ok, v)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics after 10s:%s", bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
