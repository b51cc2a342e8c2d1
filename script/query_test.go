package script

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// queryAsync starts a query run of chunk in the background.
func queryAsync(t *testing.T, e *Engine, chunk string, c *Call) <-chan error {
	t.Helper()
	q, err := e.CompileQuery(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if c.Caller == nil {
		c.Caller = &fakeCaller{}
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.Query(q, nil, "", c)
		done <- err
	}()
	return done
}

// queryErr waits for a run's error text.
func queryErr(t *testing.T, done <-chan error) string {
	t.Helper()
	select {
	case err := <-done:
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("run ended with %v, want a script error", err)
		}
		return se.Text
	case <-time.After(10 * time.Second):
		t.Fatal("the query run was not stopped")
		return ""
	}
}

// Query runs stop at their time limit; SCRIPT KILL and FUNCTION KILL leave
// them alone; StopQueries stops the running ones and every later one.
func TestQueryStops(t *testing.T) {
	e := newTestEngine(t)
	e.SetMaxMemory(0) // the other tests' garbage must not stop these runs first
	limited := queryAsync(t, e, "while true do end", &Call{TimeLimit: 20 * time.Millisecond})
	if got, want := queryErr(t, limited), TimeLimitText(20*time.Millisecond); !strings.HasPrefix(got, want+" script: query, on @user_query:1") {
		t.Errorf("over its limit: %q, want %q", got, want)
	}

	loop := queryAsync(t, e, "while true do end", &Call{})
	waitRunning(t, e, 1)
	if n := e.Kill(KindEval) + e.Kill(KindFunction); n != 0 {
		t.Errorf("SCRIPT KILL and FUNCTION KILL stopped %d query runs", n)
	}
	e.StopQueries()
	if got := queryErr(t, loop); !strings.HasPrefix(got, stoppingText) {
		t.Errorf("stopped: %q, want %q", got, stoppingText)
	}
	later := queryAsync(t, e, "while true do end", &Call{})
	if got := queryErr(t, later); !strings.HasPrefix(got, stoppingText) {
		t.Errorf("a run after StopQueries: %q, want %q", got, stoppingText)
	}
}

// A query's result is JSON by cjson's rules, a string as it is; an error
// table fails the run.
func TestQueryResult(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ chunk, params, want, err string }{
		{"return 'plain text'", "", "plain text", ""},
		{"return 42", "", "42", ""},
		{"return nil", "", "null", ""},
		{"return {}", "", "{}", ""},
		{"return {1, 'a', true}", "", `[1,"a",true]`, ""},
		{"return {b = 1, a = params.x}", `{"x":[1,2]}`, `{"a":[1,2],"b":1}`, ""},
		{"return params.missing == nil and params.n == cjson.null", `{"n":null}`, "true", ""},
		{"return redis.error_reply('NOPE not today')", "", "", "NOPE not today"},
		{"return {err = 'plain words'}", "", "", "ERR plain words"},
		{"return function() end", "", "", "ERR query result cannot be encoded as JSON: Cannot serialise function: type not supported"},
	}
	for _, c := range cases {
		q, err := e.CompileQuery(c.chunk)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Query(q, nil, c.params, &Call{Caller: &fakeCaller{}})
		switch {
		case c.err != "":
			var se *Error
			if !errors.As(err, &se) || se.Text != c.err {
				t.Errorf("%s: error %v, want %q", c.chunk, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.chunk, err)
		case string(out) != c.want:
			t.Errorf("%s: %s, want %s", c.chunk, out, c.want)
		}
	}
	if _, err := e.CompileQuery("return +"); err == nil {
		t.Error("a chunk that does not compile was accepted")
	}
}

// Lifting the memory limit lowers a raised flag: a run after CONFIG SET
// script-max-memory 0 is not stopped by the growth that tripped the old
// limit (it was, while a run without a time limit kept the sampler's base).
func TestMemoryLimitLifted(t *testing.T) {
	e := newTestEngine(t)
	e.mem.over.Store(true)
	e.SetMaxMemory(0)
	q, err := e.CompileQuery("return 1")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.Query(q, nil, "", &Call{Caller: &fakeCaller{}}); err != nil || string(out) != "1" {
		t.Errorf("after the limit was lifted: %s, %v", out, err)
	}
}
