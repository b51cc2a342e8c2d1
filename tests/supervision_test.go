package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Supervision (issue 9): a panic inside a bucket operation is recovered,
// the operation's completed steps are rolled back and the bucket goes on
// from its last consistent state; the command gets `ERR internal error in
// bucket "x"`. Other buckets and connections never notice. Five crashes
// within 10 s mark the bucket failed (`ERR bucket "x" is unavailable` for
// every command) until it is dropped. DEBUG PANIC-BUCKET (with
// --enable-debug-command yes) makes the bucket's next write crash after its
// first step is done and recorded, the worst moment.

// supDef has a secondary index (tag) and a unique one (code), so a crashed
// write that left an index entry behind would show.
const supDef = `{"key":"id","schema":{"id":{"type":"string"},"tag":{"type":"string","required":true},` +
	`"code":{"type":"string","unique":true},"n":{"type":"number"}},"indexes":["tag"]}`

func supInternal(b string) string    { return `-ERR internal error in bucket "` + b + `"` + "\r\n" }
func supUnavailable(b string) string { return `-ERR bucket "` + b + `" is unavailable` + "\r\n" }

// supState is everything a crashed write must leave as it was: BUCKET.INFO
// (records, index sizes, memory, autoincrement counter, event seq) and
// every record.
func supState(t *testing.T, c *RawConn, bucket string) string {
	t.Helper()
	return obsText(t, c, "BUCKET.INFO", bucket) + "\n" + c.Do("B.ALL", bucket)
}

// supLoop writes to and reads from one bucket over its own go-redis
// connection until stopped, and remembers the first error.
type supLoop struct {
	ops  atomic.Int64
	err  atomic.Pointer[string]
	stop chan struct{}
	done chan struct{}
}

func supStartLoop(t *testing.T, s *Server, bucket string) *supLoop {
	c := s.Client(t, 3)
	cx := ctx(t)
	l := &supLoop{stop: make(chan struct{}), done: make(chan struct{})}
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		l.err.CompareAndSwap(nil, &msg)
	}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			id := fmt.Sprintf("loop%d", i)
			if err := c.Do(cx, "B.INSERT", bucket, fmt.Sprintf(`{"id":%q,"tag":"loop","n":%d}`, id, i)).Err(); err != nil {
				fail("B.INSERT %s %s: %v", bucket, id, err)
				return
			}
			got, err := c.Do(cx, "B.GET", bucket, id).Text()
			if err != nil || !strings.Contains(got, `"id":"`+id+`"`) {
				fail("B.GET %s %s = %q, %v", bucket, id, got, err)
				return
			}
			l.ops.Add(1)
		}
	}()
	return l
}

func (l *supLoop) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	<-l.done
	if p := l.err.Load(); p != nil {
		t.Errorf("the loop on the other bucket failed: %s", *p)
	}
}

// supCrashLogged waits for the log line of a crash of bucket, with its
// stack.
func supCrashLogged(t *testing.T, s *Server, bucket string, restarts int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("a log line \"bucket crashed\" for %s (restart %d) with a stack", bucket, restarts), func() bool {
		for _, line := range strings.Split(s.Log(), "\n") {
			var e struct {
				Level    string `json:"level"`
				Message  string `json:"message"`
				Bucket   string `json:"bucket"`
				Restarts int    `json:"restarts"`
				Stack    string `json:"stack"`
			}
			if json.Unmarshal([]byte(line), &e) == nil && strings.Contains(e.Message, "bucket crashed") && e.Bucket == bucket &&
				e.Restarts == restarts && e.Level == "error" && strings.Contains(e.Stack, "goroutine ") && strings.Contains(e.Stack, "panic") {
				return true
			}
		}
		return false
	})
}

func TestSupervisionPanicRestartsOnlyThatBucket(t *testing.T) {
	t.Parallel()
	s := Start(t, "--enable-debug-command", "yes")
	c := s.Raw(t)
	for _, b := range []string{"A", "B"} {
		if got := c.Do("BUCKET.DEFINE", b, supDef); got != "+OK\r\n" {
			t.Fatalf("BUCKET.DEFINE %s = %q", b, got)
		}
	}
	for i := range 20 {
		if got := c.Do("B.INSERT", "A", fmt.Sprintf(`{"id":"a%02d","tag":"t%d","code":"c%02d","n":%d}`, i, i%3, i, i)); !strings.HasPrefix(got, "$") {
			t.Fatalf("B.INSERT A = %q", got)
		}
	}
	c.Do("B.INSERT", "B", `{"id":"b0","tag":"x"}`)
	committed := supState(t, c, "A")

	sub := s.Raw(t)
	sub.Send(obsEnc("PSUBSCRIBE", "bucket.A.*"))
	if got := sub.Read(); got != "*3\r\n$10\r\npsubscribe\r\n$10\r\nbucket.A.*\r\n:1\r\n" {
		t.Fatalf("PSUBSCRIBE = %q", got)
	}
	bystander := s.Raw(t)
	loop := supStartLoop(t, s, "B")
	eventually(t, 10*time.Second, "the loop on B to get going", func() bool { return loop.ops.Load() >= 20 })

	if got := c.Do("DEBUG", "PANIC-BUCKET", "A"); got != "+OK\r\n" {
		t.Fatalf("DEBUG PANIC-BUCKET A = %q", got)
	}
	if got := c.Do("B.INSERT", "A", `{"id":"boom","tag":"crash","code":"X1","n":99}`); got != supInternal("A") {
		t.Fatalf("B.INSERT after DEBUG PANIC-BUCKET = %q, want %q", got, supInternal("A"))
	}
	atCrash := loop.ops.Load()

	// Every committed record is there, the crashed insert left nothing:
	// no record, no secondary or unique index entry, no event, no change
	// in BUCKET.INFO (its seq included).
	if got := supState(t, c, "A"); got != committed {
		t.Errorf("bucket A after the crash:\n%s\nwant as before:\n%s", got, committed)
	}
	if got := c.Do("B.GET", "A", "boom"); got != "$-1\r\n" {
		t.Errorf("B.GET A boom = %q, want nil", got)
	}
	if got := c.Do("B.WHERE", "A", `{"tag":"crash"}`); got != "*0\r\n" {
		t.Errorf("B.WHERE A tag=crash (index) = %q, want none", got)
	}
	if got := c.Do("B.WHERE", "A", `{"code":"X1"}`); got != "*0\r\n" {
		t.Errorf("B.WHERE A code=X1 (unique index) = %q, want none", got)
	}
	if got := c.Do("B.COUNT", "A"); got != ":20\r\n" {
		t.Errorf("B.COUNT A = %q, want 20", got)
	}
	if got := supFence(t, sub); len(got) != 0 {
		t.Errorf("the crashed insert published %q", got)
	}

	// The next write, same connection, same key and unique value, works,
	// and its event has the next seq: the crash used none.
	after := obsText(t, c, "B.INSERT", "A", `{"id":"boom","tag":"crash","code":"X1","n":100}`)
	if !strings.HasPrefix(after, `{"id":"boom","tag":"crash","code":"X1","n":100,"_version":1,`) {
		t.Errorf("B.INSERT after the crash = %q", after)
	}
	if got := c.Do("B.WHERE", "A", `{"tag":"crash"}`); got != "*1\r\n"+supBulk(after) {
		t.Errorf("B.WHERE A tag=crash = %q, want the new record", got)
	}
	msgs := supFence(t, sub)
	if len(msgs) != 1 {
		t.Fatalf("events after the next insert: %q, want one", msgs)
	}
	frame, _ := decodeReply(t, msgs[0]).([]any)
	var ev struct {
		Type string  `json:"type"`
		Key  string  `json:"key"`
		Seq  float64 `json:"seq"`
	}
	if len(frame) != 4 || json.Unmarshal([]byte(frame[3].(string)), &ev) != nil || ev.Type != "inserted" || ev.Key != "boom" || ev.Seq != 21 {
		t.Errorf("event %q: want inserted boom with seq 21", msgs[0])
	}

	// B and the other connections went on as if nothing happened.
	eventually(t, 10*time.Second, "the loop on B to go on after the crash", func() bool { return loop.ops.Load() >= atCrash+20 })
	loop.finish(t)
	if got, want := c.Do("B.COUNT", "B"), fmt.Sprintf(":%d\r\n", loop.ops.Load()+1); got != want {
		t.Errorf("B.COUNT B = %q, want %q (b0 and every loop insert)", got, want)
	}
	if got := bystander.Do("PING"); got != "+PONG\r\n" {
		t.Errorf("another connection's PING = %q", got)
	}

	st := obsStats(t, c)
	obsJSON(t, "STORE.STATS supervisor", obsPath(st, "supervisor"), `{"restarts":{"A":1},"failed":[]}`)
	info := obsInfo(t, c, "buckets")
	if !strings.HasSuffix(info["bucket_A"], ",restarts=1") || !strings.HasSuffix(info["bucket_B"], ",restarts=0") || info["failed_buckets"] != "0" {
		t.Errorf("INFO buckets: bucket_A:%s bucket_B:%s failed_buckets:%s, want restarts=1, restarts=0, 0", info["bucket_A"], info["bucket_B"], info["failed_buckets"])
	}
	supCrashLogged(t, s, "A", 1)

	// Multi-step writes: every step done before the crash is undone.
	t.Run("insertmany", func(t *testing.T) {
		before := supState(t, c, "A")
		c.Do("DEBUG", "PANIC-BUCKET", "A")
		if got := c.Do("B.INSERTMANY", "A", `[{"id":"m1","tag":"many"},{"id":"m2","tag":"many"},{"id":"m3","tag":"many"}]`); got != supInternal("A") {
			t.Fatalf("B.INSERTMANY = %q", got)
		}
		if got := supState(t, c, "A"); got != before {
			t.Errorf("bucket A changed:\n%s\nwant\n%s", got, before)
		}
		if got := c.Do("B.WHERE", "A", `{"tag":"many"}`); got != "*0\r\n" {
			t.Errorf("B.WHERE tag=many = %q", got)
		}
		if got := supFence(t, sub); len(got) != 0 {
			t.Errorf("published %q", got)
		}
	})
	t.Run("transaction-across-buckets", func(t *testing.T) {
		beforeA, beforeB := supState(t, c, "A"), supState(t, c, "B")
		c.Do("DEBUG", "PANIC-BUCKET", "A")
		for _, args := range [][]string{{"MULTI"}, {"B.INSERT", "B", `{"id":"txb","tag":"tx"}`}, {"B.UPDATE", "A", "a05", `{"tag":"tx"}`}} {
			if got := c.Do(args...); got != "+OK\r\n" && got != "+QUEUED\r\n" {
				t.Fatalf("%v = %q", args, got)
			}
		}
		if got := c.Do("EXEC"); got != supInternal("A") {
			t.Fatalf("EXEC = %q, want %q", got, supInternal("A"))
		}
		if got := supState(t, c, "A"); got != beforeA {
			t.Errorf("bucket A changed:\n%s\nwant\n%s", got, beforeA)
		}
		if got := supState(t, c, "B"); got != beforeB {
			t.Errorf("bucket B changed by a transaction that failed:\n%s\nwant\n%s", got, beforeB)
		}
		if got := supFence(t, sub); len(got) != 0 {
			t.Errorf("published %q", got)
		}
	})
	obsJSON(t, "STORE.STATS supervisor after three crashes", obsPath(obsStats(t, c), "supervisor"), `{"restarts":{"A":3},"failed":[]}`)

	// Nothing of the crashed writes reached the append-only file.
	want := supState(t, c, "A")
	if code := s.Stop(); code != 0 {
		t.Fatalf("server exit code %d", code)
	}
	s2 := StartIn(t, s.Dir)
	if got := supState(t, s2.Raw(t), "A"); supNoMemory(got) != supNoMemory(want) {
		t.Errorf("bucket A after a restart:\n%s\nwant\n%s", got, want)
	}
}

func TestSupervisionFailedBucket(t *testing.T) {
	t.Parallel()
	s := Start(t, "--enable-debug-command", "yes")
	c := s.Raw(t)
	c.Do("BUCKET.DEFINE", "C", supDef)
	c.Do("BUCKET.DEFINE", "D", supDef)
	for i := range 3 {
		c.Do("B.INSERT", "C", fmt.Sprintf(`{"id":"c%d","tag":"t","code":"k%d"}`, i, i))
	}
	// Five crashes in a row, each of a different write, each leaving
	// nothing behind; the fifth marks the bucket failed.
	crashes := [][]string{
		{"B.INSERT", "C", `{"id":"c9","tag":"t"}`},
		{"B.UPDATE", "C", "c0", `{"tag":"u"}`},
		{"B.DELETE", "C", "c1"},
		{"B.UPSERT", "C", `{"id":"c2","tag":"v"}`},
		{"B.INSERTMANY", "C", `[{"id":"c7","tag":"t"},{"id":"c8","tag":"t"}]`},
	}
	for i, args := range crashes {
		before := supState(t, c, "C")
		c.Do("DEBUG", "PANIC-BUCKET", "C")
		if got := c.Do(args...); got != supInternal("C") {
			t.Fatalf("crash %d, %v = %q, want %q", i+1, args, got, supInternal("C"))
		}
		if i < len(crashes)-1 {
			if got := supState(t, c, "C"); got != before {
				t.Errorf("crash %d (%v) changed the bucket:\n%s\nwant\n%s", i+1, args, got, before)
			}
		}
	}
	for _, args := range [][]string{
		{"B.GET", "C", "c0"}, {"B.ALL", "C"}, {"B.COUNT", "C"}, {"B.WHERE", "C", `{"tag":"t"}`},
		{"B.INSERT", "C", `{"id":"c5","tag":"t"}`}, {"B.DELETE", "C", "c0"}, {"B.CLEAR", "C"},
	} {
		if got := c.Do(args...); got != supUnavailable("C") {
			t.Errorf("%v on the failed bucket = %q, want %q", args, got, supUnavailable("C"))
		}
	}
	if got := c.Do("B.INSERT", "D", `{"id":"d1","tag":"t"}`); !strings.HasPrefix(got, `$`) {
		t.Errorf("B.INSERT D = %q: the other bucket must work", got)
	}
	obsJSON(t, "STORE.STATS supervisor", obsPath(obsStats(t, c), "supervisor"), `{"restarts":{"C":5},"failed":["C"]}`)
	info := obsInfo(t, c, "buckets")
	if info["failed_buckets"] != "1" || !strings.HasSuffix(info["bucket_C"], ",restarts=5") {
		t.Errorf("INFO buckets: failed_buckets:%s bucket_C:%s", info["failed_buckets"], info["bucket_C"])
	}
	supCrashLogged(t, s, "C", 5)
	eventually(t, 10*time.Second, "the log line marking C failed", func() bool {
		return strings.Contains(s.Log(), `"bucket":"C"`) && strings.Contains(s.Log(), "marked failed")
	})

	// Dropping it and defining it again brings it back, empty.
	if got := c.Do("BUCKET.DROP", "C"); got != ":1\r\n" {
		t.Fatalf("BUCKET.DROP C = %q", got)
	}
	if got := c.Do("BUCKET.DEFINE", "C", supDef); got != "+OK\r\n" {
		t.Fatalf("BUCKET.DEFINE C = %q", got)
	}
	if got := c.Do("B.COUNT", "C"); got != ":0\r\n" {
		t.Errorf("B.COUNT C after drop and define = %q", got)
	}
	if got := c.Do("B.INSERT", "C", `{"id":"c0","tag":"t","code":"k0"}`); !strings.HasPrefix(got, `$`) {
		t.Errorf("B.INSERT C after drop and define = %q", got)
	}
	obsJSON(t, "STORE.STATS supervisor after drop and define", obsPath(obsStats(t, c), "supervisor"), `{"restarts":{},"failed":[]}`)
	if got := obsInfo(t, c, "buckets")["failed_buckets"]; got != "0" {
		t.Errorf("INFO failed_buckets = %s, want 0", got)
	}
}

func TestSupervisionDebugCommand(t *testing.T) {
	t.Parallel()
	// Redis 7's words when enable-debug-command is off.
	const refused = "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", " +
		"you can run it from a local connection, otherwise you need to set this option in the configuration file, " +
		"and then restart the server.\r\n"
	off := Start(t)
	c := off.Raw(t)
	c.Do("BUCKET.DEFINE", "A", supDef)
	for _, args := range [][]string{{"DEBUG", "PANIC-BUCKET", "A"}, {"DEBUG", "SLEEP", "0"}, {"DEBUG", "HELP"}} {
		if got := c.Do(args...); got != refused {
			t.Errorf("%v without --enable-debug-command = %q, want %q", args, got, refused)
		}
	}
	if got := c.Do("B.INSERT", "A", `{"id":"a","tag":"t"}`); !strings.HasPrefix(got, "$") {
		t.Errorf("B.INSERT after a refused DEBUG = %q", got)
	}
	err := off.Client(t, 3).Do(ctx(t), "DEBUG", "PANIC-BUCKET", "A").Err()
	if err == nil || "-"+err.Error()+"\r\n" != refused {
		t.Errorf("go-redis DEBUG = %v", err)
	}

	on := Start(t, "--enable-debug-command", "yes")
	c = on.Raw(t)
	for _, tc := range []struct{ args []string }{
		{[]string{"DEBUG", "PANIC-BUCKET", "nope"}},
		{[]string{"DEBUG", "PANIC-BUCKET"}},
		{[]string{"DEBUG", "SLEEP", "x"}},
		{[]string{"DEBUG", "NOSUCH"}},
	} {
		if got := c.Do(tc.args...); !strings.HasPrefix(got, "-") {
			t.Errorf("%v = %q, want an error", tc.args, got)
		}
	}
	if got := c.Do("DEBUG", "PANIC-BUCKET", "nope"); got != "-NOBUCKET Bucket \"nope\" is not defined\r\n" {
		t.Errorf("DEBUG PANIC-BUCKET nope = %q", got)
	}
	if got := c.Do("DEBUG", "SLEEP", "0"); got != "+OK\r\n" {
		t.Errorf("DEBUG SLEEP 0 = %q", got)
	}
}

// supFence sends PING on a RESP2 subscriber and returns every frame that
// arrives before its reply.
func supFence(t *testing.T, c *RawConn) []string {
	t.Helper()
	c.Send(obsEnc("PING"))
	var out []string
	for {
		f := c.Read()
		if f == "*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
			return out
		}
		out = append(out, f)
	}
}

func supBulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// supNoMemory drops the memoryBytes figures of a BUCKET.INFO reply:
// an estimate that may differ after indexes are rebuilt at start-up.
func supNoMemory(s string) string {
	for {
		i := strings.Index(s, `"memoryBytes":`)
		if i < 0 {
			return s
		}
		j := i + len(`"memoryBytes":`)
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		s = s[:i] + s[j:]
	}
}
