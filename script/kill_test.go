package script

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bucketd/resp"
)

// runAsync starts body in the background and returns its result channel.
func runAsync(t *testing.T, e *Engine, body string, c *Call) <-chan error {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Caller == nil {
		c.Caller = &fakeCaller{}
	}
	done := make(chan error, 1)
	go func() {
		w := resp.Writer{Proto: 2}
		done <- e.Eval(s, c, &w)
	}()
	return done
}

// waitRunning polls until n runs are in progress.
func waitRunning(t *testing.T, e *Engine, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.Running()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d runs in progress, want %d", len(e.Running()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKill: Kill stops a looping script wherever it loops — plain code, a
// pcall that would swallow the error, a coroutine (whose context is a
// child of the run's: budget.AfterFunc) — with Redis's text, and the
// interpreter is not reused.
func TestKill(t *testing.T) {
	for _, body := range []string{
		"while true do end",
		"while true do pcall(function() while true do end end) end",
		"local co = coroutine.create(function() while true do end end) coroutine.resume(co) while true do end",
		"local co = coroutine.wrap(function() while true do end end) co()",
	} {
		t.Run(body, func(t *testing.T) {
			e := newTestEngine(t)
			done := runAsync(t, e, body, &Call{})
			waitRunning(t, e, 1)
			if n := e.Kill(KindFunction); n != 0 {
				t.Fatalf("Kill(KindFunction) stopped %d EVAL runs", n)
			}
			if n := e.Kill(KindEval); n != 1 {
				t.Fatalf("Kill(KindEval) = %d, want 1", n)
			}
			err := <-done
			want := "ERR Script killed by user with SCRIPT KILL... script: " + SHA1([]byte(body)) + ", on @user_script:1."
			if err == nil || err.Error() != want {
				t.Fatalf("killed run returned %v, want %q", err, want)
			}
			if len(e.Running()) != 0 {
				t.Fatal("the killed run is still listed")
			}
			if _, _, killed := e.Counters(); killed != 1 {
				t.Fatalf("killed counter = %d, want 1", killed)
			}
		})
	}
}

// TestBusyCallback: a run past BusyAfter calls OnBusy once while it runs,
// wherever it spends its time: its own loop, a coroutine's, a command.
func TestBusyCallback(t *testing.T) {
	for _, body := range []string{
		"while true do end",
		"local co = coroutine.wrap(function() while true do end end) co()",
		"while true do redis.call('ping') end",
	} {
		t.Run(body, func(t *testing.T) {
			e := newTestEngine(t)
			var calls atomic.Int32
			busy := make(chan struct{})
			begun := false
			done := runAsync(t, e, body, &Call{BusyAfter: 5 * time.Millisecond,
				Begin: func() error { begun = true; return nil },
				OnBusy: func() {
					if calls.Add(1) == 1 {
						close(busy)
					}
				}})
			<-busy
			e.Kill(KindEval)
			if err := <-done; err == nil {
				t.Fatal("killed run succeeded")
			}
			if n := calls.Load(); n != 1 || !begun {
				t.Fatalf("OnBusy called %d times (Begin called: %v), want once after Begin", n, begun)
			}
		})
	}
}

// TestMemoryLimit: a script that keeps what it allocates is stopped once
// the live heap has grown past the limit; string.rep past the limit fails
// at once. The engine runs the next script normally.
// TestMemoryLimitHighGCPercent checks the rule of memory.go: under a
// gc-percent that lets the heap grow a hundredfold between collections, a
// script that keeps what it allocates is still stopped near the limit,
// because the sampler starts a collection once the allocations since the
// last one could have taken the live heap past it.
func TestMemoryLimitHighGCPercent(t *testing.T) {
	old := debug.SetGCPercent(10000)
	defer debug.SetGCPercent(old)
	runtime.GC()
	const limit = 16 << 20
	e := newTestEngine(t)
	e.SetMaxMemory(limit)
	before := readHeap().allocs
	err := <-runAsync(t, e, "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100000) .. i end", &Call{})
	allocated := readHeap().allocs - before
	if err == nil || !strings.Contains(err.Error(), "script-max-memory") {
		t.Fatalf("the script ended with %v, want the memory limit's error", err)
	}
	// Each step allocates 200 kB and keeps half: 32 MB to reach the
	// limit; 32 to 41 MB in all here. Without forced collections, the
	// first collection came at about 400 MB (the runtime's 4 MB minimum
	// heap times 100).
	if allocated > 4*limit {
		t.Errorf("the script allocated %d MB before it was stopped, more than 4 times the %d MB limit", allocated>>20, limit>>20)
	}
	if e.mem.forced.Load() == 0 {
		t.Error("no collection was forced")
	}
	// Under Go's default gc-percent, a script that runs for many samples
	// and makes garbage (its numbers too) forces none: the pacer's
	// collections come every few megabytes here, well within the limit.
	// (The collection first frees the stopped script's table, which would
	// space the pacer's collections by more than the limit.)
	debug.SetGCPercent(100)
	runtime.GC()
	e.mem.forced.Store(0)
	if got := eval(t, e, "local n = 0 for i = 1, 2000 do for j = 1, 2000 do end n = n + #(string.rep('y', 1000) .. i) end return n", 2); !strings.HasPrefix(got, ":") {
		t.Fatalf("the garbage-making script: %q", got)
	}
	if n := e.mem.forced.Load(); n != 0 {
		t.Errorf("%d collections forced by a script that keeps nothing", n)
	}
}

func TestMemoryLimit(t *testing.T) {
	e := newTestEngine(t)
	e.SetMaxMemory(32 << 20)
	cases := []struct{ body, want string }{
		{"local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 4096) .. i end", "script-max-memory"},
		{"local s = 'x' for i = 1, 64 do s = s .. s end", "script-max-memory"},
		{"return string.rep('x', 1e10)", "string.rep: the result would be 10000000000 bytes"},
	}
	for _, c := range cases {
		err := <-runAsync(t, e, c.body, &Call{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.body, err, c.want)
		}
	}
	if got := eval(t, e, "return 1", 2); got != ":1\r\n" {
		t.Fatalf("after the limit: %q", got)
	}
	// Without a limit, a result no int can count is refused in our words;
	// counts below 1 (NaN too) give the empty string.
	e.SetMaxMemory(0)
	if err := <-runAsync(t, e, "return string.rep('xx', 2^62)", &Call{}); err == nil || !strings.Contains(err.Error(), "more than this machine can address") {
		t.Errorf("string.rep('xx', 2^62) without a limit: %v", err)
	}
	for _, count := range []string{"0", "-1e300", "0/0", "0.5"} {
		if got := eval(t, e, "return '<' .. string.rep('x', "+count+") .. '>'", 2); got != "$2\r\n<>\r\n" {
			t.Errorf("string.rep('x', %s): %q, want the empty string", count, got)
		}
	}
}
