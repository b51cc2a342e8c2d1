package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// STORE.STATS and INFO (issue 9): after a known sequence of operations every
// figure is exactly what was done.

const (
	// stsPeopleDef has a secondary index (role) and a unique one (email).
	stsPeopleDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
		`"role":{"type":"string"},"email":{"type":"string","unique":true}},"indexes":["role"]}`
	// stsLogsDef keeps the 3 newest records.
	stsLogsDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"msg":{"type":"string"}},"maxSize":3}`
)

// stsDo runs a command that must not fail and returns its raw reply.
func stsDo(t *testing.T, c *RawConn, args ...string) string {
	t.Helper()
	got := c.Do(args...)
	if strings.HasPrefix(got, "-") {
		t.Fatalf("%v = %q", args, got)
	}
	return got
}

// stsBucketInfo returns BUCKET.INFO's records and memoryBytes.
func stsBucketInfo(t *testing.T, c *RawConn, bucket string) (records, memory int64) {
	t.Helper()
	var info struct {
		Records     int64 `json:"records"`
		MemoryBytes int64 `json:"memoryBytes"`
	}
	text := obsText(t, c, "BUCKET.INFO", bucket)
	if err := json.Unmarshal([]byte(text), &info); err != nil {
		t.Fatalf("BUCKET.INFO %s = %q: %v", bucket, text, err)
	}
	return info.Records, info.MemoryBytes
}

func TestStatsFigures(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "50ms")
	c := s.Raw(t)

	// A pattern subscriber on every bucket event, and a channel
	// subscriber, both there before the writes.
	psub := s.Raw(t)
	psub.Send(obsEnc("PSUBSCRIBE", "bucket.*"))
	psub.Read()
	sub := s.Raw(t)
	sub.Send(obsEnc("SUBSCRIBE", "news"))
	sub.Read()

	stsDo(t, c, "BUCKET.DEFINE", "people", stsPeopleDef)
	stsDo(t, c, "BUCKET.DEFINE", "logs", stsLogsDef)
	const n, m = 12, 5
	roles := []string{"admin", "user", "guest"}
	for i := range n {
		stsDo(t, c, "B.INSERT", "people", fmt.Sprintf(`{"id":"p%02d","name":"P%d","role":%q,"email":"p%d@x.io"}`, i, i, roles[i%3], i))
	}
	for i := range m {
		if got := c.Do("B.DELETE", "people", fmt.Sprintf("p%02d", i)); got != ":1\r\n" {
			t.Fatalf("B.DELETE = %q", got)
		}
	}
	stsDo(t, c, "B.INSERT", "people", `{"id":"short","name":"Short"}`, "PX", "100")
	stsDo(t, c, "B.INSERT", "people", `{"id":"long","name":"Long"}`, "TTL", "1h")
	for i := range 5 {
		stsDo(t, c, "B.INSERT", "logs", fmt.Sprintf(`{"msg":"m%d"}`, i))
	}
	// Reads change no figure but the command count.
	stsDo(t, c, "B.WHERE", "people", `{"role":"admin"}`)
	stsDo(t, c, "B.COUNT", "people", `{"name":{"$startsWith":"P"}}`)
	stsDo(t, c, "B.GROUPBY", "people", "role", "count")
	eventually(t, 10*time.Second, "the short-TTL record to be swept", func() bool {
		return obsPath(obsStats(t, c), "ttl.expired") == 1.0
	})

	const (
		people    = n - m + 1                   // the long-TTL record stays
		logs      = 3                           // maxSize
		evicted   = 5 - logs                    // the two oldest logs
		published = n + m + 2 + 1 + 5 + evicted // inserts, deletes, TTL inserts, the expiry, logs, evictions
	)
	// Every event reached the pattern subscriber: events.delivered counts
	// exactly those.
	var got []string
	eventually(t, 10*time.Second, fmt.Sprintf("%d events at the pattern subscriber", published), func() bool {
		got = append(got, supFence(t, psub)...)
		return len(got) >= published
	})
	if len(got) != published {
		t.Errorf("the pattern subscriber got %d events, want %d", len(got), published)
	}

	st := obsStats(t, c)
	for path, want := range map[string]string{
		"buckets":             `{"count":2,"names":["logs","people"]}`,
		"records.total":       strconv.Itoa(people + logs),
		"records.perBucket":   fmt.Sprintf(`{"logs":%d,"people":%d}`, logs, people),
		"indexes.total":       "2",
		"indexes.perBucket":   `{"logs":0,"people":2}`,
		"events.published":    strconv.Itoa(published),
		"events.delivered":    strconv.Itoa(published),
		"ttl":                 `{"intervalMs":50,"expired":1,"evicted":2}`,
		"supervisor":          `{"restarts":{},"failed":[]}`,
		"queries.defined":     "0",
		"persistence.enabled": "true",
	} {
		obsJSON(t, "STORE.STATS "+path, obsPath(st, path), want)
	}
	_, pMem := stsBucketInfo(t, c, "people")
	_, lMem := stsBucketInfo(t, c, "logs")
	obsJSON(t, "STORE.STATS records.memoryBytes", obsPath(st, "records.memoryBytes"), strconv.FormatInt(pMem+lMem, 10))

	t.Run("info-stats-keyspace-buckets", func(t *testing.T) {
		info := obsInfo(t, c, "all")
		for k, v := range map[string]string{
			"expired_keys":              "1",
			"evicted_keys":              "2",
			"events_published":          strconv.Itoa(published),
			"pubsub_channels":           "1",
			"pubsub_patterns":           "1",
			"pubsub_messages_delivered": strconv.Itoa(published),
			"pubsub_clients":            "2",
			"buckets":                   "2",
			"failed_buckets":            "0",
			"bucket_people":             fmt.Sprintf("records=%d,indexes=2,memory=%d,restarts=0", people, pMem),
			"bucket_logs":               fmt.Sprintf("records=%d,indexes=0,memory=%d,restarts=0", logs, lMem),
			"aof_enabled":               "1",
			"ttl_interval_ms":           "50",
			"process_id":                strconv.Itoa(s.cmd.Process.Pid),
		} {
			if info[k] != v {
				t.Errorf("INFO %s:%s, want %s", k, info[k], v)
			}
		}
		if db0 := info["db0"]; !strings.HasPrefix(db0, fmt.Sprintf("keys=%d,", people+logs)) {
			t.Errorf("INFO db0:%s, want keys=%d", db0, people+logs)
		}
		// Like Redis: expires counts the keys that have an expiry.
		if db0 := info["db0"]; !strings.Contains(db0, ",expires=1,") {
			t.Errorf("INFO db0:%s, want expires=1 (the record inserted with TTL 1h)", db0)
		}
		_, port, _ := net.SplitHostPort(s.Addr)
		if info["tcp_port"] != port {
			t.Errorf("INFO tcp_port:%s, want %s, the port listened on (--port 0 picked it)", info["tcp_port"], port)
		}
		if n := len(obsClients(t, c)); info["connected_clients"] != strconv.Itoa(n) {
			t.Errorf("INFO connected_clients:%s, CLIENT LIST has %d", info["connected_clients"], n)
		}
	})

	t.Run("info-persistence", func(t *testing.T) {
		dir := decodeReply(t, c.Do("CONFIG", "GET", "dir"))
		if l, ok := dir.([]any); !ok || len(l) != 2 || l[1] != s.Dir {
			t.Errorf("CONFIG GET dir = %v, want %s", dir, s.Dir)
		}
		info := obsInfo(t, c, "persistence")
		if info["aof_enabled"] != "1" || info["aof_fsync"] != "everysec" || info["aof_last_write_status"] != "ok" {
			t.Errorf("INFO persistence: %v", info)
		}
		files := strings.Split(info["data_files"], ",")
		if len(files) == 0 || files[0] == "" {
			t.Fatalf("INFO data_files:%q, want the files in %s", info["data_files"], s.Dir)
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(s.Dir, f)); err != nil {
				t.Errorf("data file %s is not in --dir %s: %v", f, s.Dir, err)
			}
		}
		// aof_current_size is the data files' bytes, as Redis 7 counts its
		// base and increment files; under everysec the files catch up
		// with it within a second or so.
		eventually(t, 10*time.Second, "the data files' size to equal aof_current_size", func() bool {
			var sum int64
			for _, f := range files {
				fi, err := os.Stat(filepath.Join(s.Dir, f))
				if err != nil {
					return false
				}
				sum += fi.Size()
			}
			return strconv.FormatInt(sum, 10) == obsInfo(t, c, "persistence")["aof_current_size"]
		})
	})

	t.Run("total-commands", func(t *testing.T) {
		before, _ := strconv.Atoi(obsInfo(t, c, "stats")["total_commands_processed"])
		const k = 25
		for range k {
			c.Do("PING")
		}
		after, _ := strconv.Atoi(obsInfo(t, c, "stats")["total_commands_processed"])
		// The PINGs and one INFO; nobody else sends anything.
		if after-before != k+1 {
			t.Errorf("total_commands_processed went from %d to %d, want +%d", before, after, k+1)
		}
	})

	t.Run("ops-per-sec", func(t *testing.T) {
		load := s.Raw(t)
		var stop atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			for !stop.Load() {
				load.Send(obsEnc("PING"))
				load.Read()
			}
		}()
		eventually(t, 10*time.Second, "instantaneous_ops_per_sec > 0 under load", func() bool {
			v, _ := strconv.Atoi(obsInfo(t, c, "stats")["instantaneous_ops_per_sec"])
			return v > 0
		})
		stop.Store(true)
		<-done
		// Idle again, the rate falls back: 16 samples of 100 ms, so within
		// 1.6 s, to the few INFO commands of this polling (every 300 ms).
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, _ := strconv.Atoi(obsInfo(t, c, "stats")["instantaneous_ops_per_sec"])
			if v <= 5 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instantaneous_ops_per_sec still %d 10 s after the load stopped", v)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})

	t.Run("queries", func(t *testing.T) {
		stsDo(t, c, "QUERY.DEFINE", "perRole", `{"bucket":"people","aggregate":{"function":"count","groupBy":"role"}}`)
		q := s.Raw(t)
		q.Send(obsEnc("SUBSCRIBE", "query.perRole"))
		if got := q.Read(); got != "*3\r\n$9\r\nsubscribe\r\n$13\r\nquery.perRole\r\n:1\r\n" {
			t.Fatalf("SUBSCRIBE query.perRole = %q", got)
		}
		first := q.Read()
		if !strings.Contains(first, `"value"`) {
			t.Fatalf("first message of query.perRole = %q", first)
		}
		st := obsStats(t, c)
		obsJSON(t, "STORE.STATS queries.defined", obsPath(st, "queries.defined"), "1")
		obsJSON(t, "STORE.STATS queries.activeSubscriptions", obsPath(st, "queries.activeSubscriptions"), "1")
		info := obsInfo(t, c, "all")
		if info["queries_defined"] != "1" || info["query_subscriptions"] != "1" || info["pubsub_channels"] != "2" {
			t.Errorf("INFO queries_defined:%s query_subscriptions:%s pubsub_channels:%s, want 1, 1, 2 (news and query.perRole)",
				info["queries_defined"], info["query_subscriptions"], info["pubsub_channels"])
		}
	})
}

func TestStatsMemoryBytes(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Raw(t)
	stsDo(t, c, "BUCKET.DEFINE", "mem", `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},`+
		`"role":{"type":"string"},"n":{"type":"number"}},"indexes":["role"],"persistent":false}`)
	_, empty := stsBucketInfo(t, c, "mem")
	var input int64
	last := empty
	var at100 int64
	for batch := range 10 {
		var recs []string
		for i := range 100 {
			k := batch*100 + i
			rec := fmt.Sprintf(`{"id":"r%05d","name":"name number %d","role":%q,"n":%d}`, k, k, []string{"a", "b", "c"}[k%3], k)
			input += int64(len(rec))
			recs = append(recs, rec)
		}
		stsDo(t, c, "B.INSERTMANY", "mem", "["+strings.Join(recs, ",")+"]")
		records, mem := stsBucketInfo(t, c, "mem")
		if records != int64(batch+1)*100 {
			t.Fatalf("records = %d after %d inserts", records, (batch+1)*100)
		}
		if mem <= last {
			t.Errorf("memoryBytes %d after %d records, was %d: must grow with records", mem, records, last)
		}
		last = mem
		if batch == 0 {
			at100 = mem
		}
	}
	// An honest estimate: at least the JSON inserted, at most 20 times it.
	if last-empty < input || last-empty > 20*input {
		t.Errorf("memoryBytes %d (empty: %d) for %d bytes of JSON: want between 1x and 20x", last, empty, input)
	}
	stsDo(t, c, "B.CLEAR", "mem")
	if _, mem := stsBucketInfo(t, c, "mem"); mem >= at100 {
		t.Errorf("memoryBytes %d after B.CLEAR, was %d with 100 records: must shrink", mem, at100)
	}
}
