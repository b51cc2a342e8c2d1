package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// readsBucket defines "big" (key n, an unindexed string field v, an
// indexed number field g) and inserts n records with B.INSERTMANY.
func readsBucket(t *testing.T, c *redis.Client, n int) {
	t.Helper()
	def := `{"key":"n","schema":{"n":{"type":"number"},"v":{"type":"string"},"g":{"type":"number"}},"indexes":["g"]}`
	if err := c.Do(ctx(t), "BUCKET.DEFINE", "big", def).Err(); err != nil {
		t.Fatal(err)
	}
	// 1,000 a command: 5,000 once took more than the client's 3 s read
	// timeout under -race on a busy machine.
	for lo := 0; lo < n; lo += 1000 {
		var b strings.Builder
		b.WriteByte('[')
		for i := lo; i < min(lo+1000, n); i++ {
			if i > lo {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"n":%d,"v":"v%d","g":%d}`, i, i, i%100)
		}
		b.WriteByte(']')
		if err := c.Do(ctx(t), "B.INSERTMANY", "big", b.String()).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// slowFilter is a filter no index serves and no set plan speeds up: an $or
// of many $contains tests.
func slowFilter(n int) string {
	var b strings.Builder
	b.WriteString(`{"$or":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"v":{"$contains":"x%d"}}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func statInt(t *testing.T, c *redis.Client, name string) int {
	t.Helper()
	n, err := strconv.Atoi(infoFields(t, c, "stats")[name])
	if err != nil {
		t.Fatalf("INFO stats %s: %v", name, err)
	}
	return n
}

func TestReadsLimitTimeout(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t, 2)
	readsBucket(t, c, 50000)
	if err := c.Do(ctx(t), "CONFIG", "SET", "read-time-limit", "1").Err(); err != nil {
		t.Fatal(err)
	}
	f := slowFilter(50)
	want := "TIMEOUT read stopped after 1 ms (read-time-limit); use an index or a narrower filter"
	cmds := [][]any{
		{"B.WHERE", "big", f},
		{"B.FINDONE", "big", f},
		{"B.COUNT", "big", f},
		{"B.SUM", "big", "g", f},
		{"B.GROUPBY", "big", "g", "COUNT", f},
		{"B.FIND", "big", `{"filter":` + f + `}`},
		{"B.UPDATEMANY", "big", f, `{"v":"changed"}`},
		{"B.DELETEMANY", "big", f},
	}
	for i, args := range cmds {
		err := c.Do(ctx(t), args...).Err()
		if err == nil || err.Error() != want {
			t.Errorf("%v: %v, want %q", args[0], err, want)
		}
		if got := statInt(t, c, "reads_timed_out"); got != i+1 {
			t.Errorf("after %v: reads_timed_out %d, want %d", args[0], got, i+1)
		}
	}
	// A write right after succeeds; the timed-out writes changed nothing.
	if err := c.Do(ctx(t), "B.INSERT", "big", `{"n":-1,"v":"new","g":1}`).Err(); err != nil {
		t.Fatalf("write after a timeout: %v", err)
	}
	if err := c.Do(ctx(t), "CONFIG", "SET", "read-time-limit", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Do(ctx(t), "B.COUNT", "big", `{"v":{"$startsWith":"v"}}`).Int(); err != nil || n != 50000 {
		t.Errorf("records still named v…: %d, %v; want 50000", n, err)
	}
	if n, err := c.Do(ctx(t), "B.COUNT", "big").Int(); err != nil || n != 50001 {
		t.Errorf("records: %d, %v; want 50001", n, err)
	}
}

func TestReadsLimitConfig(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t, 2)
	get := func() string {
		t.Helper()
		m, err := c.ConfigGet(ctx(t), "read-time-limit").Result()
		if err != nil {
			t.Fatal(err)
		}
		return m["read-time-limit"]
	}
	if got := get(); got != "5000" {
		t.Errorf("default read-time-limit %q, want 5000", got)
	}
	if err := c.ConfigSet(ctx(t), "read-time-limit", "250").Err(); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "250" {
		t.Errorf("read-time-limit %q after CONFIG SET 250", got)
	}
	for _, bad := range []string{"-1", "soon", "1.5", ""} {
		err := c.ConfigSet(ctx(t), "read-time-limit", bad).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "ERR CONFIG SET failed (possibly related to argument 'read-time-limit') - ") {
			t.Errorf("CONFIG SET read-time-limit %q: %v", bad, err)
		}
	}
	if got := get(); got != "250" {
		t.Errorf("read-time-limit %q after bad values, want 250", got)
	}
	// The flag sets it at start.
	s2 := Start(t, "--read-time-limit", "0")
	c2 := s2.Client(t, 2)
	if m, err := c2.ConfigGet(ctx(t), "read-time-limit").Result(); err != nil || m["read-time-limit"] != "0" {
		t.Errorf("--read-time-limit 0: %v %v", m, err)
	}
}

func TestReadsLimitDisconnect(t *testing.T) {
	t.Parallel()
	s := Start(t, "--read-time-limit", "0")
	c := s.Client(t, 2)
	readsBucket(t, c, 50000)
	raw := s.Raw(t)
	// Some seconds of scanning without a limit; the client leaves at once.
	f := slowFilter(2000)
	raw.Send(fmt.Sprintf("*3\r\n$7\r\nB.COUNT\r\n$3\r\nbig\r\n$%d\r\n%s\r\n", len(f), f))
	raw.Close()
	eventually(t, 30*time.Second, "reads_cancelled to be 1", func() bool {
		return statInt(t, c, "reads_cancelled") == 1
	})
	if got := statInt(t, c, "reads_timed_out"); got != 0 {
		t.Errorf("reads_timed_out %d, want 0", got)
	}
	if err := c.Do(ctx(t), "B.INSERT", "big", `{"n":-1,"v":"new","g":1}`).Err(); err != nil {
		t.Fatalf("write after a cancelled read: %v", err)
	}
	// QUERY.RUN too: a query whose filter scans for seconds.
	if err := c.Do(ctx(t), "QUERY.DEFINE", "slow", `{"bucket":"big","filter":`+f+`}`).Err(); err != nil {
		t.Fatal(err)
	}
	raw = s.Raw(t)
	raw.Send("*2\r\n$9\r\nQUERY.RUN\r\n$4\r\nslow\r\n")
	raw.Close()
	eventually(t, 30*time.Second, "reads_cancelled to be 2 after QUERY.RUN", func() bool {
		return statInt(t, c, "reads_cancelled") == 2
	})
}

func TestReadsOrAsInPlan(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t, 2)
	readsBucket(t, c, 2000)
	// 10,000 equalities on the unindexed v and on the indexed g: each is
	// planned as an $in and gives what the $in gives, in bucket order.
	for _, field := range []string{"v", "g"} {
		var or, in strings.Builder
		for i := range 10000 {
			if i > 0 {
				or.WriteByte(',')
				in.WriteByte(',')
			}
			val := fmt.Sprintf(`"v%d"`, i*3)
			if field == "g" {
				val = strconv.Itoa(i*7 + 3)
			}
			fmt.Fprintf(&or, `{"%s":%s}`, field, val)
			in.WriteString(val)
		}
		before := statInt(t, c, "reads_or_as_in")
		got, err := c.Do(ctx(t), "B.WHERE", "big", `{"$or":[`+or.String()+`]}`).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n := statInt(t, c, "reads_or_as_in"); n != before+1 {
			t.Errorf("%s: reads_or_as_in %d, want %d", field, n, before+1)
		}
		want, err := c.Do(ctx(t), "B.WHERE", "big", `{"`+field+`":{"$in":[`+in.String()+`]}}`).Result()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want.([]any)) == 0 {
			t.Errorf("%s: the $or gives %d records, the $in %d, or they differ", field, len(got.([]any)), len(want.([]any)))
		}
	}
	// An $or over two fields is not a set plan.
	before := statInt(t, c, "reads_or_as_in")
	if err := c.Do(ctx(t), "B.COUNT", "big", `{"$or":[{"v":"v1"},{"g":2}]}`).Err(); err != nil {
		t.Fatal(err)
	}
	if n := statInt(t, c, "reads_or_as_in"); n != before {
		t.Errorf("$or over two fields: reads_or_as_in %d, want %d", n, before)
	}
}
