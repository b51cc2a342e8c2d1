package tests

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A subscriber that stops reading is disconnected by the
// client-output-buffer-limit rule (docs/commands.md, "Slow subscribers")
// and counted in INFO; it never stalls a writer or another subscriber.

const ssLogWarning = "client closed for overcoming of output buffer limits (pubsub)"

// ssStalled opens a connection with a 4 KB receive buffer, subscribes it
// with cmd and returns it with its client id. The test never reads from it
// again until it drains it.
func ssStalled(t *testing.T, s *Server, cmd ...string) (*RawConn, string) {
	t.Helper()
	// SO_RCVBUF is set before connect, so that the window the connection
	// negotiates is small from the start (shrinking it later makes the
	// server's kernel retransmit with backoff, which slows the final drain).
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	nc, err := d.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &RawConn{t: t, Conn: nc, r: bufio.NewReaderSize(nc, 4096)}
	id := strings.TrimSuffix(strings.TrimPrefix(c.Do("CLIENT", "ID"), ":"), "\r\n")
	psDo(t, c, []string{psConf(2, strings.ToLower(cmd[0]), cmd[1], 1)}, cmd...)
	return c, id
}

// ssClient returns the CLIENT LIST fields of client id, or nil when it is
// gone.
func ssClient(t *testing.T, q *RawConn, id string) map[string]string {
	t.Helper()
	v := decodeReply(t, q.Do("CLIENT", "LIST"))
	for _, line := range strings.Split(fmt.Sprint(v), "\n") {
		m := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, val, _ := strings.Cut(f, "=")
			m[k] = val
		}
		if m["id"] == id {
			return m
		}
	}
	return nil
}

// ssFill publishes 1 KB messages on channel until client id's queued
// output (CLIENT LIST omem) passes bytes.
func ssFill(t *testing.T, q *RawConn, id, channel string, bytes int) {
	t.Helper()
	data := strings.Repeat("y", 1024)
	for i := 0; ; i++ {
		eq(t, "PUBLISH while filling", q.Do("PUBLISH", channel, data), ":1\r\n")
		if i%16 != 0 {
			continue
		}
		omem, _ := strconv.Atoi(ssClient(t, q, id)["omem"])
		if omem > bytes {
			break
		}
		if i > 20000 {
			t.Fatalf("omem stays at %d after %d messages", omem, i)
		}
	}
}

// ssDrain reads the stalled connection until it ends and returns the error
// that ended it and the bytes read.
func ssDrain(c *RawConn) (int64, error) {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, c.r)
	if err == nil {
		err = io.EOF // io.Copy reports a clean end as nil
	}
	return n, err
}

// ssInfoStats returns INFO stats.
func ssInfoStats(t *testing.T, q *RawConn) string {
	return decodeReply(t, q.Do("INFO", "stats")).(string)
}

func TestSlowSubHardLimit(t *testing.T) {
	t.Parallel()
	s := Start(t, "--client-output-buffer-limit", "pubsub 1mb 512kb 2")
	q := s.Raw(t)
	eq(t, "define", q.Do("BUCKET.DEFINE", "big", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"data":{"type":"string"}},"persistent":false}`), "+OK\r\n")
	stalled, id := ssStalled(t, s, "PSUBSCRIBE", "bucket.big.*")

	// The healthy subscriber reads every message in its own goroutine.
	healthy := evSub(t, s, 3, "bucket.big.*")
	var received, inserted, sent atomic.Int64
	var seqErr, endErr atomic.Value
	go func() {
		for {
			f, err := healthy.ReadErr(60 * time.Second)
			if err != nil {
				endErr.Store(err)
				return
			}
			if !strings.Contains(f, "bucket.big.inserted") {
				received.Add(1)
				continue
			}
			i := strings.LastIndex(f, `"seq":`)
			seq, _ := strconv.Atoi(strings.TrimSuffix(f[i+6:], "}\r\n"))
			if int64(seq) != inserted.Load()+1 {
				seqErr.CompareAndSwap(nil, fmt.Sprintf("inserted event seq %d after %d", seq, inserted.Load()))
			}
			inserted.Add(1)
			received.Add(1)
		}
	}()

	// Writers: B.INSERT and PUBLISH of ~1 KB, bounded by count. They stay
	// at most window messages ahead of the healthy subscriber, so that it
	// keeps well under the 1 MB limit even on a loaded machine (it reads;
	// it must never be cut off), while the stalled one falls behind by
	// megabytes.
	const writers, each, window = 6, 1500, 200
	data := strings.Repeat("x", 1000)
	wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2 + w%2, MaxRetries: -1})
			defer c.Close()
			for i := 0; i < each; i++ {
				for sent.Load()-received.Load() > window && wctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
				sent.Add(1)
				if w%2 == 0 {
					if err := c.Do(wctx, "B.INSERT", "big", `{"data":"`+data+`"}`).Err(); err != nil {
						t.Errorf("writer %d insert %d: %v", w, i, err)
						return
					}
					continue
				}
				n, err := c.Publish(wctx, "bucket.big.custom", data).Result()
				if err != nil || n < 1 || n > 2 {
					t.Errorf("writer %d publish %d: %d receivers, %v", w, i, n, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if wctx.Err() != nil {
		t.Fatal("the writers stalled: the 2 minute deadline passed")
	}
	total := int64(writers * each)
	eventually(t, 60*time.Second, "the healthy subscriber to receive every message", func() bool {
		if e := endErr.Load(); e != nil {
			t.Fatalf("the healthy subscriber's connection ended after %d messages: %v", received.Load(), e)
		}
		return received.Load() >= total
	})
	eq(t, "messages received by the healthy subscriber", received.Load(), total)
	eq(t, "inserted events received", inserted.Load(), total/2)
	if e := seqErr.Load(); e != nil {
		t.Error(e)
	}

	// The stalled subscriber was disconnected, counted and logged.
	eventually(t, 30*time.Second, "the stalled subscriber to be disconnected", func() bool { return ssClient(t, q, id) == nil })
	// The subscriber leaves the hub before the cut is counted: poll.
	eventually(t, 10*time.Second, "INFO stats to count the disconnection", func() bool {
		return strings.Contains(ssInfoStats(t, q), "client_output_buffer_limit_disconnections:1\r\n")
	})
	eventually(t, 10*time.Second, "the server's warning", func() bool { return strings.Contains(s.Log(), ssLogWarning) })
	n, err := ssDrain(stalled)
	if !errors.Is(err, io.EOF) {
		t.Errorf("draining the stalled subscriber: %v after %d bytes, want EOF", err, n)
	}
	if n >= total*1000 {
		t.Errorf("the stalled subscriber got %d bytes: everything, it was never cut off", n)
	}
	eq(t, "PUBLISH after the disconnection", q.Do("PUBLISH", "bucket.big.custom", "x"), ":1\r\n")
	eq(t, "NUMPAT", q.Do("PUBSUB", "NUMPAT"), ":1\r\n")
}

func TestSlowSubSoftLimit(t *testing.T) {
	t.Parallel()
	s := Start(t, "--client-output-buffer-limit", "pubsub 64mb 256kb 2")
	q := s.Raw(t)
	stalled, id := ssStalled(t, s, "SUBSCRIBE", "slow")
	// Fill the stalled subscriber's queue past the soft limit (256 KB), far
	// from the hard one (64 MB).
	ssFill(t, q, id, "slow", 300<<10)
	// Over the soft limit for less than 2 s: still connected.
	eq(t, "PUBLISH just over the soft limit", q.Do("PUBLISH", "slow", "z"), ":1\r\n")
	// Kept over it: disconnected by the soft rule, with no stall.
	eventually(t, 20*time.Second, "the soft limit to disconnect the subscriber", func() bool {
		return q.Do("PUBLISH", "slow", "z") == ":0\r\n"
	})
	// The subscriber leaves the hub before the cut is counted: poll.
	eventually(t, 10*time.Second, "INFO stats to count the disconnection", func() bool {
		return strings.Contains(ssInfoStats(t, q), "client_output_buffer_limit_disconnections:1\r\n")
	})
	eventually(t, 10*time.Second, "the server's warning", func() bool { return strings.Contains(s.Log(), ssLogWarning) })
	if n, err := ssDrain(stalled); !errors.Is(err, io.EOF) {
		t.Errorf("draining the stalled subscriber: %v after %d bytes, want EOF", err, n)
	}
	eventually(t, 10*time.Second, "the client to leave CLIENT LIST", func() bool { return ssClient(t, q, id) == nil })
}

// The soft limit holds by time even when nothing more is published, and a
// cut subscriber is gone from CLIENT LIST at once.
func TestSlowSubSoftLimitByTime(t *testing.T) {
	t.Parallel()
	s := Start(t, "--client-output-buffer-limit", "pubsub 64mb 256kb 1")
	q := s.Raw(t)
	_, id := ssStalled(t, s, "SUBSCRIBE", "slow")
	ssFill(t, q, id, "slow", 300<<10)
	// Nothing more is published: the subscriber is cut once it has been
	// over the soft limit for a second.
	eventually(t, 20*time.Second, "the soft limit to disconnect the idle subscriber", func() bool {
		return ssClient(t, q, id) == nil
	})
	eq(t, "PUBLISH after the cut", q.Do("PUBLISH", "slow", "z"), ":0\r\n")
	eventually(t, 10*time.Second, "INFO stats to count the disconnection", func() bool {
		return strings.Contains(ssInfoStats(t, q), "client_output_buffer_limit_disconnections:1\r\n")
	})

	// The hard limit: the PUBLISH that cuts the subscriber leaves it out
	// of CLIENT LIST at once.
	q.Do("CONFIG", "SET", "client-output-buffer-limit", "pubsub 128kb 0 0")
	_, id2 := ssStalled(t, s, "SUBSCRIBE", "slow2")
	for i := 0; ; i++ {
		if q.Do("PUBLISH", "slow2", strings.Repeat("y", 1024)) == ":0\r\n" {
			break // the previous one cut it
		}
		if i > 20000 {
			t.Fatal("the hard limit never cut the subscriber")
		}
	}
	if m := ssClient(t, q, id2); m != nil {
		t.Errorf("a subscriber cut at the hard limit is still in CLIENT LIST: %v", m)
	}
}
