package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// scanDef is the bucket of the scan-beside-writes tests: n is indexed, so
// a range filter on it is planned from the index, and g is not.
const scanDef = `{"key":"id","ordered":%v,"indexes":["n"],"schema":{"id":{"type":"string"},"n":{"type":"number"},"g":{"type":"string"}},"persistent":false}`

// TestScanBesideWrites: a long read in progress (stopped half-way by DEBUG
// SCAN-PAUSE, holding its frozen copy of the bucket) does not hold the
// writers back: inserts, updates, deletes, a MULTI/EXEC and a B.CLEAR of
// another bucket all commit while it is stopped, and its reply, once
// resumed, is the bucket as it was when the read began. Each read command
// that scans is tried, with full scans and index plans, in both orders.
func TestScanBesideWrites(t *testing.T) {
	t.Parallel()
	s := Start(t, "--enable-debug-command", "yes")
	reads := []struct {
		name string
		args []any
		want string // the reply before the writes, as fmt prints it
	}{
		{"count full scan", []any{"B.COUNT", "s", `{"g":{"$in":["a","b"]}}`}, "3000"},
		{"count index plan", []any{"B.COUNT", "s", `{"n":{"$gte":0}}`}, "3000"},
		{"sum", []any{"B.SUM", "s", "n"}, "4498500"},
		{"where", []any{"B.WHERE", "s", `{"id":{"$startsWith":"k000"}}`}, "k0000 k0001 k0002 k0003 k0004 k0005 k0006 k0007 k0008 k0009"},
		{"groupby", []any{"B.GROUPBY", "s", "g", "count"}, `[{"key":{"g":"a"},"value":1500},{"key":{"g":"b"},"value":1500}]`},
		{"find", []any{"B.FIND", "s", `{"filter":{"n":{"$lt":3}},"fields":["id"]}`}, `[{"id":"k0000"},{"id":"k0001"},{"id":"k0002"}]`},
	}
	for _, ordered := range []bool{false, true} {
		for ri, rd := range reads {
			t.Run(fmt.Sprintf("ordered=%v/%s", ordered, rd.name), func(t *testing.T) {
				c := s.Client(t, 2)
				bucket := fmt.Sprintf("s%v%d", ordered, ri)
				args := append([]any{}, rd.args...)
				args[1] = bucket
				if err := c.Do(ctx(t), "BUCKET.DEFINE", bucket, fmt.Sprintf(scanDef, ordered)).Err(); err != nil {
					t.Fatal(err)
				}
				if err := c.Do(ctx(t), "BUCKET.DEFINE", bucket+"x", fmt.Sprintf(scanDef, ordered)).Err(); err != nil {
					t.Fatal(err)
				}
				var batch []string
				for i := range 3000 {
					batch = append(batch, fmt.Sprintf(`{"id":"k%04d","n":%d,"g":"%s"}`, i, i, []string{"a", "b"}[i%2]))
					if len(batch) == 500 {
						if err := c.Do(ctx(t), "B.INSERTMANY", bucket, "["+strings.Join(batch, ",")+"]").Err(); err != nil {
							t.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				if got := c.Do(ctx(t), "DEBUG", "SCAN-PAUSE", bucket).Val(); got != "OK" {
					t.Fatalf("DEBUG SCAN-PAUSE = %v", got)
				}
				reader := s.Client(t, 2)
				replied := make(chan string, 1)
				go func() {
					v, err := reader.Do(ctx(t), args...).Result()
					if err != nil {
						replied <- "error: " + err.Error()
						return
					}
					replied <- replyText(v)
				}()
				eventually(t, 10*time.Second, "the read to stop half-way", func() bool {
					n, _ := c.Do(ctx(t), "DEBUG", "SCAN-PAUSED", bucket).Int()
					return n == 1
				})

				// The writers, on a client that gives up after 10 s: a
				// write waiting for the read would fail here.
				w := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, ReadTimeout: 10 * time.Second, MaxRetries: -1})
				t.Cleanup(func() { w.Close() })
				for _, cmd := range [][]any{
					{"B.INSERT", bucket, `{"id":"k9999","n":9999,"g":"a"}`},
					{"B.UPDATE", bucket, "k0001", `{"n":-100,"g":"c"}`},
					{"B.UPDATE", bucket, "k0002", `{"$inc":{"n":1000}}`},
					{"B.DELETE", bucket, "k0000"},
					{"B.UPDATEMANY", bucket, `{"n":{"$lt":10}}`, `{"g":"z"}`},
					{"B.CLEAR", bucket + "x"},
				} {
					if err := w.Do(ctx(t), cmd...).Err(); err != nil {
						t.Fatalf("%v while a read is in progress: %v", cmd, err)
					}
				}
				if _, err := w.TxPipelined(ctx(t), func(p redis.Pipeliner) error {
					p.Do(ctx(t), "B.UPDATE", bucket, "k0003", `{"n":-3}`)
					p.Do(ctx(t), "B.DELETE", bucket, "k0004")
					return nil
				}); err != nil {
					t.Fatalf("MULTI/EXEC while a read is in progress: %v", err)
				}
				select {
				case got := <-replied:
					t.Fatalf("the stopped read replied before SCAN-RESUME: %s", got)
				default:
				}
				if n, err := c.Do(ctx(t), "DEBUG", "SCAN-RESUME", bucket).Int(); n != 1 || err != nil {
					t.Fatalf("DEBUG SCAN-RESUME = %d, %v", n, err)
				}
				if got := <-replied; got != rd.want {
					t.Errorf("%v = %s, want %s (the bucket as the read began)", args, got, rd.want)
				}
				// A read now sees every write.
				if n, _ := c.Do(ctx(t), "B.COUNT", bucket).Int(); n != 2999 {
					t.Errorf("B.COUNT after the writes = %d, want 2999", n)
				}
				if got, _ := c.Do(ctx(t), "B.GET", bucket, "k0002").Text(); !strings.Contains(got, `"n":1002`) {
					t.Errorf("B.GET k0002 = %s", got)
				}
			})
		}
	}
}

// TestScanPauseErrors: DEBUG SCAN-* check their arguments and buckets, and
// change nothing when they refuse.
func TestScanPauseErrors(t *testing.T) {
	t.Parallel()
	s := Start(t, "--enable-debug-command", "yes")
	c := s.Raw(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"DEBUG", "SCAN-PAUSE"}, "-ERR wrong number of arguments for 'debug|scan-pause' command\r\n"},
		{[]string{"DEBUG", "SCAN-RESUME", "a", "b"}, "-ERR wrong number of arguments for 'debug|scan-resume' command\r\n"},
		{[]string{"DEBUG", "SCAN-PAUSED", "nobucket"}, "-NOBUCKET Bucket \"nobucket\" is not defined\r\n"},
		{[]string{"DEBUG", "SCAN-PAUSE", "nobucket"}, "-NOBUCKET Bucket \"nobucket\" is not defined\r\n"},
	} {
		if got := c.Do(tc.args...); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.args, got, tc.want)
		}
	}
	plain := Start(t)
	if got := plain.Raw(t).Do("DEBUG", "SCAN-PAUSE", "x"); !strings.HasPrefix(got, "-ERR DEBUG command not allowed") {
		t.Errorf("DEBUG SCAN-PAUSE without --enable-debug-command = %q", got)
	}
}

// replyText prints a reply the way the table above spells it: numbers and
// strings as they are, arrays of records by their ids.
func replyText(v any) string {
	switch x := v.(type) {
	case []any:
		var ids []string
		for _, e := range x {
			s := fmt.Sprint(e)
			if i := strings.Index(s, `"id":"`); i >= 0 {
				s = s[i+6:]
				s = s[:strings.IndexByte(s, '"')]
			}
			ids = append(ids, s)
		}
		return strings.Join(ids, " ")
	}
	return fmt.Sprint(v)
}
