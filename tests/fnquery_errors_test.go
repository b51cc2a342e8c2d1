package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Function queries that cannot be defined, and runs that fail: the error
// goes to QUERY.RUN and QUERY.INFO, subscribers stay, the next relevant
// change runs the query again, and nothing else is disturbed.

const fqSyntax = "ERR syntax error: QUERY.DEFINE name query-json | name LUA chunk | name FUNCTION function-name"

func TestFnQueryDefineErrors(t *testing.T) {
	t.Parallel()
	_, r := fqSetup(t)
	fqLua(r, "one", "return 1")
	fqLua(r, "one", "return 1") // identical: OK
	r.ok("QUERY.DEFINE", "decl", `{"bucket":"users"}`)
	for _, tc := range []struct {
		want string
		args []any
	}{
		{"ERR Error compiling query: user_query:1: *", []any{"bad", "LUA", "retur n"}},
		{"ERR Error compiling query: *", []any{"bad", "LUA", "return ("}},
		{fqSyntax, []any{"bad", "BOGUS", "x"}},
		{fqSyntax, []any{"bad", "LUA", "return 1", "extra"}},
		{"ERR invalid JSON: *", []any{"bad", "LUA"}}, // the declarative form
		{"ERR wrong number of arguments for 'query.define' command", []any{"bad"}},
		{"ERR invalid query name*", []any{"a.b", "LUA", "return 1"}},
		{"ERR invalid query name*", []any{"", "LUA", "return 1"}},
		{`EXISTS Query "one" already exists with a different definition`, []any{"one", "LUA", "return 2"}},
		{`EXISTS Query "decl" already exists with a different definition`, []any{"decl", "LUA", "return 1"}},
		{`EXISTS Query "one" already exists with a different definition`, []any{"one", `{"bucket":"users"}`}},
		{"ERR Function not found: nope", []any{"bad", "FUNCTION", "nope"}},
	} {
		r.failsUnchanged(tc.want, append([]any{"QUERY.DEFINE"}, tc.args...)...)
		eq(t, "QUERY.LIST after "+cmdText(tc.args), r.list("QUERY.LIST"), []string{"decl", "one"})
	}
	eq(t, "one still runs", qyRun(r, "one"), "1")
	// LUA and FUNCTION are case-insensitive words.
	fqLua(r, "lower", "return 2")
	r.ok("QUERY.DEFINE", "mixed", "Lua", "return 3")
	eq(t, "mixed", qyRun(r, "mixed"), "3")
	// QUERY.RUN's parameters must be a JSON object.
	r.err("ERR invalid JSON: expected a JSON object", "QUERY.RUN", "one", "[1]")
	r.err("ERR invalid JSON: *", "QUERY.RUN", "one", `{"a":`)
	r.err("ERR wrong number of arguments for 'query.run' command", "QUERY.RUN", "one", "{}", "{}")
}

// fqGuard returns record k's name, unless its role asks for a failure.
const fqGuard = `local u = cjson.decode(redis.call('B.GET', 'users', 'k'))
if u.role == 'writer' then redis.call('B.INSERT', 'users', '{"id":"sneak"}') end
if u.role == 'publisher' then redis.call('PUBLISH', 'x', 'y') end
if u.role == 'unknown' then redis.call('NOSUCHCMD') end
if u.role == 'arity' then redis.call('B.GET', 'users') end
if u.role == 'nobucket' then redis.call('B.COUNT', 'nosuch') end
if u.role == 'erring' then return redis.error_reply('MYERR k is erring') end
if u.role == 'plain' then return {err = 'plain failure'} end
if u.role == 'raising' then error('raised') end
if u.role == 'looping' then while true do end end
return u.name`

func TestFnQueryRunErrorsKeepSubscribers(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	// 200 ms: a normal run under -race on a busy machine can pass 50 ms,
	// and would then fail where a message is awaited.
	r.ok("CONFIG", "SET", "query-time-limit", "200")
	eq(t, "CONFIG GET", r.do("CONFIG", "GET", "query-time-limit"), map[any]any{"query-time-limit": "200"})
	r.insert("users", `{"id":"k","name":"Kay"}`)
	fqLua(r, "guard", fqGuard)
	fqLua(r, "orders", `return redis.call('B.COUNT', 'orders')`)
	sub := qySubscribe(t, s.Client(t, 3), "query.guard", "query.orders")
	eq(t, "first", sub.waitN("query.guard", 1), []string{"Kay"})
	sub.waitN("query.orders", 1)

	for i, tc := range []struct{ role, want string }{
		{"writer", "ERR This command is not allowed in a query: a query only reads, with B.* reads, BUCKET.INFO and QUERY.RUN script: query, on @user_query:2."},
		{"publisher", "ERR This command is not allowed in a query: a query only reads, with B.* reads, BUCKET.INFO and QUERY.RUN script: query, on @user_query:3."},
		{"unknown", "ERR Unknown command called from a query script: query, on @user_query:4."},
		{"arity", "ERR Wrong number of args calling command from a query script: query, on @user_query:5."},
		{"nobucket", `NOBUCKET Bucket "nosuch" is not defined script: query, on @user_query:6.`},
		{"erring", "MYERR k is erring"},
		{"plain", "ERR plain failure"},
		{"raising", "ERR user_query:9: raised script: query, on @user_query:9."},
		{"looping", "ERR query run stopped: it ran longer than query-time-limit (200 ms) script: query, on @user_query:10."},
	} {
		r.do("B.UPDATE", "users", "k", fmt.Sprintf(`{"role":%q}`, tc.role))
		eventually(t, 10*time.Second, tc.role+": the channel's error", func() bool {
			return fqChan(r, "guard", "query.guard").Error == tc.want
		})
		r.err(tc.want, "QUERY.RUN", "guard")
		eq(t, tc.role+": NUMSUB", r.do("PUBSUB", "NUMSUB", "query.guard"), []any{"query.guard", int64(1)})
		// The server and the other channel are undisturbed.
		r.insert("orders", `{"userId":"k","item":"i"}`)
		eq(t, tc.role+": another channel", sub.waitN("query.orders", i+2)[i+1], fmt.Sprint(i+1))
		eq(t, tc.role+": no message while failing", len(sub.messages("query.guard")), 2*i+1)
		// Fixing the record runs it again: it publishes.
		name := fmt.Sprintf("Kay%d", i)
		r.do("B.UPDATE", "users", "k", fmt.Sprintf(`{"role":"ok","name":%q}`, name))
		eq(t, tc.role+": fixed", sub.waitN("query.guard", 2*i+2)[2*i+1], name)
		eq(t, tc.role+": error cleared", fqChan(r, "guard", "query.guard").Error, "")
		// A failing run sends nothing, so the next message is the new name
		// even if it equals the last one sent; a second, distinct name
		// keeps the count simple.
		r.do("B.UPDATE", "users", "k", fmt.Sprintf(`{"name":"%s+"}`, name))
		sub.waitN("query.guard", 2*i+3)
	}
	r.null("B.GET", "users", "sneak")
	eq(t, "users", r.do("B.COUNT", "users"), int64(1))
	eq(t, "channel mode", fqChan(r, "guard", "query.guard").Mode, "function")
}

func TestFnQueryTimeLimit(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.err("ERR *", "CONFIG", "SET", "query-time-limit", "-1")
	r.err("ERR *", "CONFIG", "SET", "query-time-limit", "soon")
	r.ok("CONFIG", "SET", "query-time-limit", "200") // see TestFnQueryRunErrorsKeepSubscribers
	fqLua(r, "loop", "while true do end")
	fqLua(r, "count", `return redis.call('B.COUNT', 'users')`)
	want := "ERR query run stopped: it ran longer than query-time-limit (200 ms) script: query, on @user_query:1."
	r.err(want, "QUERY.RUN", "loop")
	// A channel of it fails (no first message) and keeps its subscriber;
	// the other channels are served meanwhile.
	sub := qySubscribe(t, s.Client(t, 2), "query.loop", "query.count")
	sub.waitN("query.count", 1)
	eventually(t, 10*time.Second, "the looping channel's error", func() bool {
		return fqChan(r, "loop", "query.loop").Error == want
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := s.Client(t, 3)
		for range 5 {
			if err := c.Do(ctx(t), "QUERY.RUN", "loop").Err(); err == nil || err.Error() != want {
				t.Errorf("QUERY.RUN loop: %v", err)
			}
		}
	}()
	for i := range 5 {
		r.insert("users", fmt.Sprintf(`{"id":"u%d"}`, i))
		sub.waitN("query.count", i+2)
	}
	<-done
	eq(t, "messages of the looping channel", sub.messages("query.loop"), []string(nil))
	eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", "query.loop"), []any{"query.loop", int64(1)})
	eq(t, "PING", r.do("PING"), "PONG")
	// The looping channel goes before the time limit does: QUERY.DEFINE
	// runs every subscribed function channel again, and a run of loop
	// with no limit would spin until the server stops, taking a core from
	// the runs below (under -race on a busy machine, QUERY.RUN big then
	// took more than 10 s).
	if err := sub.ps.Unsubscribe(ctx(t), "query.loop"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "query.loop to lose its subscriber", func() bool {
		return fmt.Sprint(r.do("PUBSUB", "NUMSUB", "query.loop")) == "[query.loop 0]"
	})
	fqIdle(t, r)
	// script-max-memory bounds a query run as it bounds a script.
	r.ok("CONFIG", "SET", "query-time-limit", "0")
	r.ok("CONFIG", "SET", "script-max-memory", "10000000")
	// 100 kB a step: past the limit in about a hundred steps.
	fqLua(r, "big", "local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 100000) .. i end return 1")
	// A raw connection, with a read timeout of a minute: under -race a
	// 100 kB step costs milliseconds, and a busy machine multiplies that.
	raw := s.Raw(t)
	fqErrPrefix(t, "QUERY.RUN big", raw.DoWithin(time.Minute, "QUERY.RUN", "big"),
		"-ERR script stopped: the server's live heap grew by more than script-max-memory (10000000 bytes) while it ran")
	fqLua(r, "rep", "return string.rep('x', 100000000)")
	// string.rep refuses before it allocates; the sampler may still hold
	// the previous run's growth, stopping this one at its first step.
	if got := r.fail("QUERY.RUN", "rep"); !strings.HasPrefix(got, "ERR user_query:1: string.rep: the result would be 100000000 bytes, more than script-max-memory (10000000)") &&
		!strings.HasPrefix(got, "ERR script stopped: the server's live heap grew by more than script-max-memory") {
		t.Errorf("QUERY.RUN rep: %q, want the string.rep or the memory error", got)
	}
	// A long run is stopped by a limit of 10 ms (it takes 80 ms and more),
	// and finishes with none.
	fqLua(r, "long", "local x = 0 for i = 1, 1000000 do x = x + 1 end return x")
	r.ok("CONFIG", "SET", "script-max-memory", "0")
	r.ok("CONFIG", "SET", "query-time-limit", "10")
	fqErrPrefix(t, "QUERY.RUN long, 10 ms", raw.DoWithin(time.Minute, "QUERY.RUN", "long"),
		"-ERR query run stopped: it ran longer than query-time-limit (10 ms)")
	r.ok("CONFIG", "SET", "query-time-limit", "0")
	eq(t, "no limit", raw.DoWithin(time.Minute, "QUERY.RUN", "long"), "$7\r\n1000000\r\n")
}

func TestFnQueryNesting(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"a","name":"Ann","role":"admin"}`)
	fqLua(r, "self", `return redis.call('QUERY.RUN', 'self')`)
	fqLua(r, "ping", `return redis.call('QUERY.RUN', 'pong')`)
	fqLua(r, "pong", `return redis.call('QUERY.RUN', 'ping')`)
	for _, q := range []string{"self", "ping"} {
		got := r.fail("QUERY.RUN", q)
		fqErrPrefix(t, "QUERY.RUN "+q, got, "ERR query nesting too deep: more than 8 function queries run inside one another through QUERY.RUN")
	}
	sub := qySubscribe(t, s.Client(t, 3), "query.self")
	eventually(t, 10*time.Second, "the channel's depth error", func() bool {
		return strings.HasPrefix(fqChan(r, "self", "query.self").Error, "ERR query nesting too deep")
	})

	// Nesting within the limit works, and what the inner query reads is
	// part of the outer query's read set.
	fqLua(r, "name", `local u = redis.call('B.GET', 'users', params.id) return u and cjson.decode(u).name or 'nobody'`)
	r.ok("QUERY.DEFINE", "admins", `{"bucket":"users","filter":{"role":"admin"},"aggregate":{"function":"count"}}`)
	fqLua(r, "outer", `return redis.call('QUERY.RUN', 'name', cjson.encode({id = params.id})) .. '/' .. redis.call('QUERY.RUN', 'admins')`)
	ch := `query.outer:{"id":"b"}`
	sub2 := qySubscribe(t, s.Client(t, 2), ch)
	eq(t, "first", sub2.waitN(ch, 1), []string{"nobody/1"})
	eq(t, "reads", fqChan(r, "outer", ch).Reads, []string{`users: keys "b"; records matching the filter of query admins`})
	r.insert("users", `{"id":"b","name":"Bo","role":"user"}`)
	eq(t, "the inner function query's key", sub2.waitN(ch, 2)[1], "Bo/1")
	r.do("B.UPDATE", "users", "a", `{"role":"user"}`)
	eq(t, "the inner declarative query's filter", sub2.waitN(ch, 3)[2], "Bo/0")
	runs := fqChan(r, "outer", ch).Runs
	r.insert("users", `{"id":"c","name":"Cy","role":"guest"}`)
	r.do("B.UPDATE", "users", "b", `{"name":"Bea"}`)
	eq(t, "fence", sub2.waitN(ch, 4)[3], "Bea/0")
	eq(t, "a guest's insert ran nothing", fqChan(r, "outer", ch).Runs, runs+1)
	eq(t, "self sent nothing", sub.messages("query.self"), []string(nil))
}

// TestFnQueryNestedDefinitionChanges: what a query runs through QUERY.RUN
// includes the named query's definition, and a FUNCTION query's library:
// redefining them must run the outer query's live channels again, as
// FUNCTION LOAD runs the FUNCTION queries' (else the live result differs
// from QUERY.RUN until some write touches what it read, forever when it
// reads no bucket).
func TestFnQueryNestedDefinitionChanges(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	fqLua(r, "inner", "return 1")
	fqLua(r, "outer", `return redis.call('QUERY.RUN', 'inner')`)
	r.str("FUNCTION", "LOAD", "#!lua name=nl\nredis.register_function{function_name='f', flags={'no-writes'}, callback=function(p) return 'a' end}")
	r.ok("QUERY.DEFINE", "fq", "FUNCTION", "f")
	fqLua(r, "outerF", `return redis.call('QUERY.RUN', 'fq')`)
	sub := qySubscribe(t, s.Client(t, 3), "query.outer", "query.outerF")
	eq(t, "first", sub.waitN("query.outer", 1), []string{"1"})
	eq(t, "first of outerF", sub.waitN("query.outerF", 1), []string{"a"})

	r.integer(1, "QUERY.DROP", "inner")
	fqLua(r, "inner", "return 2")
	eq(t, "QUERY.RUN outer", qyRun(r, "outer"), "2")
	r.str("FUNCTION", "LOAD", "REPLACE", "#!lua name=nl\nredis.register_function{function_name='f', flags={'no-writes'}, callback=function(p) return 'b' end}")
	eq(t, "QUERY.RUN outerF", qyRun(r, "outerF"), "b")
	var stale []string
	if !fqWithin(r, func() bool { return lastOf(sub.messages("query.outer")) == "2" }) {
		stale = append(stale, fmt.Sprintf("query.outer still %q after inner was redefined", sub.messages("query.outer")))
	}
	if !fqWithin(r, func() bool { return lastOf(sub.messages("query.outerF")) == "b" }) {
		stale = append(stale, fmt.Sprintf("query.outerF still %q after FUNCTION LOAD REPLACE of the function its inner query names", sub.messages("query.outerF")))
	}
	if len(stale) > 0 {
		t.Fatal("a live channel that ran another query through QUERY.RUN does not run again when that query is redefined " +
			"or its library changes: " + strings.Join(stale, "; "))
	}
}
