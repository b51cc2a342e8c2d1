package tests

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A slow function query, poked by a steady stream of writes, must not keep
// the other live channels from being served: "a query that errors never
// takes the server or another channel down".

func TestFnQuerySlowQueryDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.ok("CONFIG", "SET", "query-time-limit", "100")
	fqLua(r, "slow", `redis.call('B.COUNT', 'users') while true do end`)
	fqLua(r, "oc", `return redis.call('B.COUNT', 'orders')`)
	r.ok("QUERY.DEFINE", "decl", `{"bucket":"orders","aggregate":{"function":"count"}}`)
	// As many slow channels as the manager has workers at most (4).
	var slow []string
	for i := range 4 {
		slow = append(slow, fmt.Sprintf(`query.slow:{"n":%d}`, i))
	}
	qySubscribe(t, s.Client(t, 3), slow...)
	slowRuns := func() int64 {
		var n int64
		for _, c := range fqQueryInfo(r, "slow").Channels {
			n += c.Runs
		}
		return n
	}
	// A writer keeps poking them: several writes during each run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := s.Client(t, 2)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Do(context.Background(), "B.UPSERT", "users", fmt.Sprintf(`{"id":"w","name":"n%d"}`, i)).Err(); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond) // pacing the writer, not waiting for a result
		}
	}()
	defer func() {
		if stop != nil {
			close(stop)
			wg.Wait()
		}
	}()
	eventually(t, 10*time.Second, "the slow channels to run", func() bool { return slowRuns() >= 8 })

	// Another function channel and a declarative one: their first
	// messages, then a push, must come while the slow channels run a few
	// times, not only once the writes stop. The slow channels' runs are
	// the clock: with a fair queue each waits behind a handful of them.
	sub := qySubscribe(t, s.Client(t, 3), "query.oc", "query.decl")
	r.insert("orders", `{"userId":"u","item":"i"}`)
	start := slowRuns()
	const budget = 40
	starved := ""
	for _, want := range []struct {
		ch  string
		msg string
	}{{"query.oc", "1"}, {"query.decl", "1"}} {
		for lastOf(sub.messages(want.ch)) != want.msg {
			if n := slowRuns(); n-start > budget {
				starved = fmt.Sprintf("%s had %q after the slow channels ran %d times (writes still coming)", want.ch, sub.messages(want.ch), n-start)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if starved != "" {
		close(stop)
		wg.Wait()
		stop = nil
		s.Kill() // the loops would also hold up its shutdown: see TestFnQueryShutdownDuringLongRun
		t.Fatal("a slow function query poked during its runs keeps its worker, " +
			"starving every other live channel while writes continue: " + starved)
	}
}

// TestFnQueryShutdownDuringLongRun: SIGTERM while a function query runs
// must stop the run and exit cleanly, whatever query-time-limit says.
func TestFnQueryShutdownDuringLongRun(t *testing.T) {
	t.Parallel()
	for _, limit := range []string{"0", "30000"} {
		t.Run("limit "+limit, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			r := newRC(t, s, 3)
			r.ok("CONFIG", "SET", "query-time-limit", limit)
			fqLua(r, "loop", "while true do end")
			qySubscribe(t, s.Client(t, 3), "query.loop")
			eventually(t, 10*time.Second, "the run to start", func() bool { return fqStat(r, "runs") >= 1 })
			s.cmd.Process.Signal(syscall.SIGTERM)
			code := s.Wait(10 * time.Second)
			if code == -2 {
				s.Kill()
				t.Fatal("the server did not exit within 10 s of SIGTERM while a function query ran: shutdown must stop " +
					"the scripts' sampler (the query time limit's clock) but not query runs, then waits for them")
			}
			eq(t, "exit code", code, 0)
		})
	}
}
