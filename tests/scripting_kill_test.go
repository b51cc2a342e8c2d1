package tests

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SCRIPT KILL and FUNCTION KILL stop a running script, even one that has
// written, and roll it back; busy-reply-threshold makes commands on the
// buckets it holds answer BUSY while others keep working;
// script-max-memory stops a script that grows without bound.

const (
	scBusyScript   = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	scBusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	scKilled       = "ERR Script killed by user with SCRIPT KILL..."
)

// scBackground runs a command on its own connection and returns a channel
// with its error text ("" on success).
func scBackground(t *testing.T, s *Server, args ...any) <-chan string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ReadTimeout: 60 * time.Second})
	t.Cleanup(func() { c.Close() })
	done := make(chan string, 1)
	go func() {
		err := c.Do(ctx(t), args...).Err()
		if err == nil || errors.Is(err, redis.Nil) {
			done <- ""
			return
		}
		done <- err.Error()
	}()
	return done
}

// scKill polls kill (SCRIPT KILL or FUNCTION KILL) until it stops a run;
// NOTBUSY means the run has not started yet.
func scKill(t *testing.T, r *rc, kill ...any) {
	t.Helper()
	eventually(t, 20*time.Second, "the kill to stop the script", func() bool {
		err := r.c.Do(ctx(t), kill...).Err()
		if err != nil && err.Error() != "NOTBUSY No scripts in execution right now." {
			t.Fatalf("%v: %v", kill, err)
		}
		return err == nil
	})
}

// scWaitBusy polls cmd until it answers the BUSY text of a script: the
// script has run past busy-reply-threshold (and so past its first
// instructions).
func scWaitBusy(t *testing.T, r *rc, cmd ...any) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprint(cmd, " to answer BUSY"), func() bool {
		err := r.c.Do(ctx(t), cmd...).Err()
		return err != nil && err.Error() == scBusyScript
	})
}

// scKilledAt checks the error of a killed EVAL of src. The line is not
// checked: see TestScriptKillLine.
func scKilledAt(t *testing.T, got, src string) {
	t.Helper()
	if !strings.HasPrefix(got, scKilled+" script: "+scSHA(src)+", on @user_script:") || !strings.HasSuffix(got, ".") {
		t.Errorf("the killed script's error:\n got %q\nwant %q", got, scKilled+" script: "+scSHA(src)+", on @user_script:<line>.")
	}
}

// scResult waits for a background command's error text.
func scResult(t *testing.T, done <-chan string) string {
	t.Helper()
	select {
	case e := <-done:
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("the killed script did not return")
		return ""
	}
}

func TestScriptKill(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.insert("items", `{"name":"a","sku":"s1","cat":"c"}`)
	before := r.state("items")
	sub := scSubscriber(t, s)
	for _, tc := range []struct {
		name, src string
	}{
		{"no writes", "local n = 0\nwhile true do n = n + 1 end"},
		{"after writes", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"k\",\"sku\":\"s2\",\"cat\":\"c\"}')\nredis.call('B.UPDATE', KEYS[1], '1', '{\"cat\":\"d\"}')\nredis.call('PUBLISH', 'news', 'x')\nwhile true do end"},
		{"pcall cannot swallow it", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"k\",\"sku\":\"s2\"}')\nlocal ok = pcall(function() while true do end end)\nredis.call('B.INSERT', KEYS[1], '{\"name\":\"after\"}')\nreturn 'survived'"},
		{"inside a coroutine", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"k\"}')\ncoroutine.wrap(function() while true do end end)()"},
		{"pcall in a loop", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"k\"}')\nwhile true do pcall(function() local x = 1 end) end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.sub(t)
			done := scBackground(t, s, "EVAL", tc.src, "1", "items")
			scKill(t, r, "SCRIPT", "KILL")
			scKilledAt(t, scResult(t, done), tc.src)
			eq(t, "state after the kill", r.state("items"), before)
			r.err("NOTBUSY No scripts in execution right now.", "SCRIPT", "KILL")
		})
	}
	psNothing(t, sub, "events or messages of the killed scripts")
	r.str("B.INSERT", "items", `{"name":"next","sku":"s2"}`)
	eq(t, "next id", r.keys("id", "B.ALL", "items"), []string{"1", "2"})
}

func TestScriptFunctionKill(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	eq(t, "load", r.str("FUNCTION", "LOAD", "#!lua name=spinlib\nredis.register_function('spin', function(keys, args)\n redis.call('B.INSERT', keys[1], '{\"name\":\"x\"}')\n while true do end\nend)"), "spinlib")
	r.ok("CONFIG", "SET", "busy-reply-threshold", "50")
	done := scBackground(t, s, "FCALL", "spin", "1", "items")
	// SCRIPT KILL does not stop a function: it gets the BUSY text naming
	// FUNCTION KILL once the function runs.
	eventually(t, 20*time.Second, "the function to run", func() bool {
		err := r.c.Do(ctx(t), "SCRIPT", "KILL").Err()
		if err == nil {
			t.Fatal("SCRIPT KILL stopped a function")
		}
		return err.Error() == scBusyFunction
	})
	// Past busy-reply-threshold, commands on its bucket get the BUSY text
	// naming FUNCTION KILL.
	eventually(t, 20*time.Second, "B.COUNT items to answer BUSY", func() bool {
		err := r.c.Do(ctx(t), "B.COUNT", "items").Err()
		if err != nil && err.Error() != scBusyFunction {
			t.Fatalf("B.COUNT items: %v", err)
		}
		return err != nil
	})
	stats, ok := r.do("FUNCTION", "STATS").([]any)
	if !ok || len(stats) != 4 || stats[1] == nil {
		t.Errorf("FUNCTION STATS while spin runs: %#v", stats)
	} else if run, ok := stats[1].([]any); !ok || len(run) != 6 || run[1] != "spin" {
		t.Errorf("FUNCTION STATS running_script: %#v", stats[1])
	} else {
		eq(t, "running_script command", run[3], []any{"FCALL", "spin", "1", "items"})
	}
	r.ok("FUNCTION", "KILL")
	if got := scResult(t, done); !strings.HasPrefix(got, scKilled+" script: spin, on @user_function:") {
		t.Errorf("the caller's error: %q", got) // the line: see TestScriptBugKillLine
	}
	r.integer(0, "B.COUNT", "items")
	r.err("NOTBUSY No scripts in execution right now.", "FUNCTION", "KILL")
	// FUNCTION KILL does not stop an EVAL.
	src := "while true do end"
	done = scBackground(t, s, "EVAL", src, "0")
	eventually(t, 20*time.Second, "the script to run", func() bool {
		err := r.c.Do(ctx(t), "FUNCTION", "KILL").Err()
		if err == nil {
			t.Fatal("FUNCTION KILL stopped an EVAL")
		}
		return err.Error() == scBusyScript
	})
	r.ok("SCRIPT", "KILL")
	scKilledAt(t, scResult(t, done), src)
}

func TestScriptBusy(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", scKVDef)
	r.define("b", scKVDef)
	r.insert("a", `{"id":"x","n":1}`)
	r.insert("b", `{"id":"y","n":2}`)
	r.ok("CONFIG", "SET", "busy-reply-threshold", "50")
	eq(t, "CONFIG GET", r.do("CONFIG", "GET", "busy-reply-threshold"), []any{"busy-reply-threshold", "50"})
	src := "redis.call('B.UPDATE', KEYS[1], 'x', '{\"n\":5}')\nwhile true do end"
	done := scBackground(t, s, "EVAL", src, "1", "a")
	other := newRC(t, s, 3)
	eventually(t, 20*time.Second, "B.GET on a to answer BUSY", func() bool {
		err := other.c.Do(ctx(t), "B.GET", "a", "x").Err()
		if err == nil {
			return false
		}
		if err.Error() != scBusyScript {
			t.Fatalf("B.GET a x: %v", err)
		}
		return true
	})
	// Every command on bucket a is BUSY; bucket b, which the script does
	// not hold, works.
	other.err(scBusyScript, "B.INSERT", "a", `{"id":"z"}`)
	other.err(scBusyScript, "B.COUNT", "a")
	other.err(scBusyScript, "EVAL", "return redis.call('B.COUNT', KEYS[1])", "1", "a")
	rec := other.str("B.GET", "b", "y")
	if parseRec(t, rec)["n"] != 2.0 {
		t.Errorf("B.GET b y: %q", rec)
	}
	other.str("B.INSERT", "b", `{"id":"y2","n":3}`)
	eq(t, "EVAL on b", other.do("EVAL", "return redis.call('B.COUNT', KEYS[1])", "1", "b"), int64(2))
	other.do("PING")
	r.ok("SCRIPT", "KILL")
	scKilledAt(t, scResult(t, done), src)
	rec = r.str("B.GET", "a", "x")
	if parseRec(t, rec)["n"] != 1.0 {
		t.Errorf("B.GET a x after the kill: %q, want n 1", rec)
	}
	r.err("ERR CONFIG SET failed (possibly related to argument 'busy-reply-threshold') - argument couldn't be parsed into an integer", "CONFIG", "SET", "busy-reply-threshold", "x")
	r.ok("CONFIG", "SET", "lua-time-limit", "5000")
	eq(t, "busy-reply-threshold after lua-time-limit", r.do("CONFIG", "GET", "busy-reply-threshold"), []any{"busy-reply-threshold", "5000"})
	eq(t, "lua-time-limit", r.do("CONFIG", "GET", "lua-time-limit"), []any{"lua-time-limit", "5000"})
}

func TestScriptMaxMemory(t *testing.T) {
	t.Parallel()
	s := Start(t)
	// A patient client: the race build grows the heap slowly.
	r := &rc{t: t, c: redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, MaxRetries: -1, ReadTimeout: 60 * time.Second}), proto: 2}
	t.Cleanup(func() { r.c.Close() })
	r.define("items", scItemsDef)
	r.err("ERR CONFIG SET failed (possibly related to argument 'script-max-memory') - argument must be a memory value", "CONFIG", "SET", "script-max-memory", "bad")
	r.ok("CONFIG", "SET", "script-max-memory", "50mb")
	eq(t, "CONFIG GET", r.do("CONFIG", "GET", "script-max-memory"), []any{"script-max-memory", "52428800"})
	for _, src := range []string{
		"local t = {}\nlocal i = 0\nwhile true do i = i + 1; t[i] = string.rep('x', 100000) .. i end",
		"redis.call('B.INSERT', KEYS[1], '{\"name\":\"m\"}')\nlocal s = string.rep('y', 100000)\nlocal t = {}\nwhile true do t[#t+1] = s .. #t end",
	} {
		_, e := r.scEval(src, []string{"items"})
		want := "ERR script stopped: the server's live heap grew by more than script-max-memory (52428800 bytes) while it ran script: " + scSHA(src) + ", on @user_script:"
		if !strings.HasPrefix(e, want) {
			t.Errorf("memory hog:\n got %q\nwant %q…", e, want)
		}
		r.integer(0, "B.COUNT", "items")
		r.do("PING")
	}
	src := "return string.rep('x', 1e10)"
	r.scErr("ERR user_script:1: string.rep: the result would be 10000000000 bytes, more than script-max-memory (52428800)"+scAt(src, 1), src, nil)
	eq(t, "a normal script afterwards", r.scOK("return #string.rep('x', 1000)", nil), int64(1000))
}

// TestScriptMaxMemoryHighGCPercent: at a gc-percent that lets the heap
// grow a hundredfold between collections, a script that keeps what it
// makes is still stopped near script-max-memory (the server starts a
// collection when the limit could have been passed, docs/scripting.md).
// Without that, the heap reached 399 MB here before Go's own
// collection showed the growth.
func TestScriptMaxMemoryHighGCPercent(t *testing.T) {
	t.Parallel()
	s := Start(t, "--gc-percent", "10000", "--script-max-memory", "20mb")
	r := &rc{t: t, c: redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, MaxRetries: -1, ReadTimeout: 60 * time.Second}), proto: 2}
	t.Cleanup(func() { r.c.Close() })
	src := "local t = {}\nlocal i = 0\nwhile true do i = i + 1; t[i] = string.rep('x', 100000) .. i end"
	_, e := r.scEval(src, nil)
	want := "ERR script stopped: the server's live heap grew by more than script-max-memory (20971520 bytes) while it ran"
	if !strings.HasPrefix(e, want) {
		t.Fatalf("memory hog:\n got %q\nwant %q…", e, want)
	}
	// used_memory_peak is the heap's reserved size, which never shrinks.
	peak, err := strconv.ParseInt(infoFields(t, r.c, "memory")["used_memory_peak"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if peak > 200<<20 {
		t.Errorf("used_memory_peak %d MB after a script stopped at a 20 MB limit, want under 200 MB", peak>>20)
	}
}

// TestScriptKillLine: a killed script's error names the line it was
// running. The kill comes once the script is busy (past 1024 instructions
// of its loop): a kill before its first instruction would name line 1.
func TestScriptKillLine(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.ok("CONFIG", "SET", "busy-reply-threshold", "20")
	for _, tc := range []struct {
		src   string
		lines []int
	}{
		{"local a = 1\nlocal ok = pcall(function() while true do end end)\nreturn 'survived'", []int{2, 3}},
		{"local a = 1\nwhile true do a = a + 1 end", []int{2}},
	} {
		done := scBackground(t, s, "EVAL", tc.src, "1", "items")
		scWaitBusy(t, r, "B.COUNT", "items")
		scKill(t, r, "SCRIPT", "KILL")
		got := scResult(t, done)
		ok := false
		for _, l := range tc.lines {
			ok = ok || got == scKilled+scAt(tc.src, l)
		}
		if !ok {
			t.Errorf("the caller's error: %q, want line %v", got, tc.lines)
		}
	}
}

// TestScriptFunctionStatsDuringEval: FUNCTION STATS is not refused while
// an EVAL runs (Redis answers BUSY: it is single-threaded; in bucketd BUSY
// concerns only the running script's buckets) and shows no running
// function, as none runs.
func TestScriptFunctionStatsDuringEval(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.ok("CONFIG", "SET", "busy-reply-threshold", "50")
	done := scBackground(t, s, "EVAL", "while true do end", "0")
	scWaitBusy(t, r, "FUNCTION", "KILL")
	stats, err := r.c.Do(ctx(t), "FUNCTION", "STATS").Slice()
	if err != nil || len(stats) != 4 || stats[0] != "running_script" || stats[1] != nil {
		t.Errorf("FUNCTION STATS during an EVAL = %v, %v; want running_script nil", stats, err)
	}
	r.ok("SCRIPT", "KILL")
	scResult(t, done)
}

// TestScriptShutdownDuringScript: SHUTDOWN NOSAVE (which the BUSY text
// offers) and SIGTERM while a script loops stop the server (the script is
// killed first, its caller told, then the connection closes) and keep
// nothing of the script.
func TestScriptShutdownDuringScript(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SHUTDOWN NOSAVE", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			r := newRC(t, s, 2)
			r.define("items", scItemsDef)
			r.ok("CONFIG", "SET", "busy-reply-threshold", "50")
			caller := s.Raw(t)
			caller.Send(psEnc("EVAL", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"x\"}')\nwhile true do end", "1", "items"))
			scWaitBusy(t, r, "B.COUNT", "items")
			if how == "SIGTERM" {
				s.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				s.Raw(t).Send(psEnc("SHUTDOWN", "NOSAVE"))
			}
			if code := s.Wait(10 * time.Second); code == -2 {
				s.Kill()
				t.Fatalf("%s: the server still runs after 10s", how)
			}
			if got, _ := caller.ReadErr(5 * time.Second); !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL...") {
				t.Errorf("the looping script's caller got %q, want the kill error", got)
			}
			if !caller.Closed(5 * time.Second) {
				t.Errorf("the caller's connection stayed open")
			}
			s = StartIn(t, s.Dir)
			newRC(t, s, 2).integer(0, "B.COUNT", "items")
		})
	}
}

// TestScriptMemoryOneInstruction: script-max-memory caps the functions
// that build a string in one instruction from references to one string
// (string.rep, table.concat, string.format): here 40 times the limit.
func TestScriptMemoryOneInstruction(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.ok("CONFIG", "SET", "script-max-memory", "5mb")
	for _, src := range []string{
		"local s = string.rep('x', 5e6 - 1)\nlocal t = {}\nfor i = 1, 40 do t[i] = s end\nreturn #table.concat(t)",
		"local s = string.rep('x', 5e6 - 1)\nlocal t = {}\nfor i = 1, 40 do t[i] = s end\nreturn #string.format(string.rep('%s', 40), unpack(t))",
	} {
		if v, e := r.scEval(src, nil); e == "" {
			t.Errorf("EVAL %q: got %v, want the memory error", src, v)
		}
	}
}

// TestScriptBusyInCoroutine: a script looping inside a coroutine passes
// busy-reply-threshold like any other (the engine's sampler declares it):
// commands on its bucket answer BUSY, and SCRIPT KILL stops it.
func TestScriptBusyInCoroutine(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.ok("CONFIG", "SET", "busy-reply-threshold", "50")
	src := "coroutine.wrap(function() while true do end end)()"
	done := scBackground(t, s, "EVAL", src, "1", "items")
	scKilledLater := func() {
		scKill(t, r, "SCRIPT", "KILL")
		scKilledAt(t, scResult(t, done), src)
	}
	other := &rc{t: t, c: redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ReadTimeout: 3 * time.Second}), proto: 2}
	t.Cleanup(func() { other.c.Close() })
	scWaitBusy(t, r, "FUNCTION", "KILL")
	// FUNCTION KILL answers BUSY once the script is registered, which may
	// be just before it locks its bucket: a B.COUNT in that gap runs. Once
	// the script holds it, B.COUNT waits and gets BUSY at the threshold.
	var err error
	for range 100 {
		if err = other.c.Do(ctx(t), "B.COUNT", "items").Err(); err != nil {
			break
		}
	}
	scKilledLater()
	if err == nil || err.Error() != scBusyScript {
		t.Errorf("B.COUNT items while the script loops in a coroutine: %v, want %s", err, scBusyScript)
	}
}

// TestScriptBusyLiveQuery: a live query subscribed to while a busy script
// holds its bucket gets its first result once the script ends (its read
// waits for the script instead of failing with BUSY, which nothing would
// retry).
func TestScriptBusyLiveQuery(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.ok("CONFIG", "SET", "busy-reply-threshold", "20")
	r.ok("QUERY.DEFINE", "cnt", `{"bucket":"items","aggregate":{"function":"count"}}`)
	done := scBackground(t, s, "EVAL", "redis.call('B.INSERT', KEYS[1], '{\"name\":\"x\"}') while true do end", "1", "items")
	scWaitBusy(t, r, "B.COUNT", "items")
	sub := s.Raw(t)
	sub.Send(psEnc("SUBSCRIBE", "query.cnt"))
	if got := sub.Read(); got != "*3\r\n$9\r\nsubscribe\r\n$9\r\nquery.cnt\r\n:1\r\n" {
		t.Fatalf("SUBSCRIBE query.cnt: %q", got)
	}
	scKill(t, r, "SCRIPT", "KILL")
	scResult(t, done)
	// The killed script's insert was rolled back: the first result is 0.
	if got, err := sub.ReadErr(10 * time.Second); err != nil || got != "*3\r\n$7\r\nmessage\r\n$9\r\nquery.cnt\r\n$1\r\n0\r\n" {
		t.Fatalf("the live query's first message after the script: %q, %v", got, err)
	}
}
