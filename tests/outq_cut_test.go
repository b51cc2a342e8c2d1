package tests

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// outqInfo returns the integer INFO field name, or -1 when it is missing.
func outqInfo(info, name string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// Ten PSUBSCRIBE clients that never read, under pipelined writers: every
// one is cut by the hard limit and counted, the chunks their output
// queues hold stay within ten hard limits (and a chunk each), the writers
// never fail, and once the subscribers are gone the chunks are given back.
func TestOutqManyStalledSubscribersAreCut(t *testing.T) {
	t.Parallel()
	const (
		subs    = 10
		hard    = 2 << 20
		chunk   = 16 << 10 // resp.ChunkSize
		writers = 4
		batch   = 64
	)
	s := Start(t, "--client-output-buffer-limit", "pubsub 2mb 1mb 60")
	q := s.Raw(t)
	eq(t, "define", q.Do("BUCKET.DEFINE", "big", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"data":{"type":"string"}},"persistent":false}`), "+OK\r\n")
	stalled := make([]*RawConn, subs)
	for i := range stalled {
		stalled[i], _ = ssStalled(t, s, "PSUBSCRIBE", "bucket.*")
	}
	if info := decodeReply(t, q.Do("INFO", "clients")).(string); outqInfo(info, "pubsub_clients") != subs {
		t.Fatalf("INFO clients:\n%s", info)
	}

	// A sampler reads INFO while the writers run: the chunks held now,
	// their peak and the disconnections.
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	info := s.Client(t, 2)
	var cut, maxHeld atomic.Int64
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		for sctx.Err() == nil {
			text, err := info.Info(sctx, "memory", "stats").Result()
			if err != nil {
				if sctx.Err() == nil {
					t.Errorf("INFO: %v", err)
				}
				return
			}
			if held := outqInfo(text, "mem_pubsub_output"); held > maxHeld.Load() {
				maxHeld.Store(held)
			}
			cut.Store(outqInfo(text, "client_output_buffer_limit_disconnections"))
			time.Sleep(2 * time.Millisecond)
		}
	}()

	// Pipelined writers of ~1 KB records, until every subscriber is cut.
	record := `{"data":"` + strings.Repeat("x", 1000) + `"}`
	wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var inserted atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2 + w%2, MaxRetries: -1})
			defer c.Close()
			for cut.Load() < subs && wctx.Err() == nil {
				if inserted.Load() > 200_000 {
					t.Errorf("%d records inserted and only %d subscribers cut", inserted.Load(), cut.Load())
					return
				}
				cmds, err := c.Pipelined(wctx, func(p redis.Pipeliner) error {
					for range batch {
						p.Do(wctx, "B.INSERT", "big", record)
					}
					return nil
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				inserted.Add(int64(len(cmds)))
			}
		}()
	}
	wg.Wait()
	if wctx.Err() != nil {
		t.Fatalf("the writers stalled: %d records in 2 minutes, %d subscribers cut", inserted.Load(), cut.Load())
	}
	stop()
	sampled.Wait()
	if t.Failed() {
		return
	}

	// Every subscriber was cut and counted, and is gone.
	for i, c := range stalled {
		if n, err := ssDrain(c); !errors.Is(err, io.EOF) {
			t.Errorf("subscriber %d: %v after %d bytes, want EOF", i, err, n)
		}
	}
	eventually(t, 30*time.Second, "the subscribers to leave", func() bool {
		return outqInfo(decodeReply(t, q.Do("INFO", "clients")).(string), "pubsub_clients") == 0
	})
	mem := decodeReply(t, q.Do("INFO", "memory")).(string)
	st := ssInfoStats(t, q)
	eq(t, "disconnections counted", outqInfo(st, "client_output_buffer_limit_disconnections"), int64(subs))
	eq(t, "PUBLISH after the cuts", q.Do("PUBLISH", "bucket.big.custom", "x"), ":0\r\n")

	// Their queues held at most ten hard limits and a chunk each, and
	// gave everything back.
	peak := outqInfo(mem, "mem_pubsub_output_peak")
	bound := int64(subs * (hard + chunk))
	t.Logf("%d records; output queue chunks: peak %d KB, highest sample %d KB, bound %d KB",
		inserted.Load(), peak>>10, maxHeld.Load()>>10, bound>>10)
	if peak > bound || maxHeld.Load() > peak {
		t.Errorf("output queues held %d bytes at the peak (highest sample %d), bound %d", peak, maxHeld.Load(), bound)
	}
	if peak < hard {
		t.Errorf("output queues held %d bytes at the peak: the subscribers never fell behind by a limit", peak)
	}
	eventually(t, 10*time.Second, "the chunks to be given back", func() bool {
		return outqInfo(decodeReply(t, q.Do("INFO", "memory")).(string), "mem_pubsub_output") == 0
	})
	eventually(t, 10*time.Second, "a warning logged for each subscriber", func() bool {
		return strings.Count(s.Log(), ssLogWarning) == subs
	})
}
