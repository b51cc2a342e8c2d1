package tests

import (
	"strings"
	"testing"
	"time"
)

// QUERY.DEFINE … FUNCTION: a library function flagged no-writes, called
// with the parameters; changing the libraries runs its channels again.

// fqLib returns a library "qlib" whose userName function returns user
// p.id's name through the Lua expression shape (of the variable name),
// flagged as flags says, with a writing function beside it.
func fqLib(shape, flags string) string {
	return "#!lua name=qlib\n" +
		"redis.register_function{function_name='userName', callback=function(p)\n" +
		"  local u = redis.call('B.GET', 'users', p.id)\n" +
		"  local name = u and cjson.decode(u).name or 'nobody'\n" +
		"  return " + shape + "\n" +
		"end, flags={" + flags + "}}\n" +
		"redis.register_function('writer', function(keys, args) return redis.call('B.INSERT', keys[1], args[1]) end)\n"
}

func TestFnQueryFunctionForm(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`)
	eq(t, "FUNCTION LOAD", r.str("FUNCTION", "LOAD", fqLib("name", "'no-writes'")), "qlib")

	r.ok("QUERY.DEFINE", "un", "FUNCTION", "userName")
	r.ok("QUERY.DEFINE", "un", "FUNCTION", "userName") // identical: OK
	r.failsUnchanged("ERR Function not found: nope", "QUERY.DEFINE", "x", "FUNCTION", "nope")
	r.failsUnchanged("ERR function 'writer' is not flagged no-writes: a query may only read", "QUERY.DEFINE", "x", "FUNCTION", "writer")
	r.failsUnchanged(`EXISTS Query "un" already exists with a different definition`, "QUERY.DEFINE", "un", "LUA", "return 1")
	eq(t, "QUERY.LIST", r.list("QUERY.LIST"), []string{"un"})
	in := fqQueryInfo(r, "un")
	eq(t, "kind", in.Kind, "function")
	eq(t, "definition", string(in.Definition), `{"function":"userName"}`)
	eq(t, "QUERY.RUN", qyRun(r, "un", `{"id":"u1"}`), "Ann")
	eq(t, "QUERY.RUN of a miss", qyRun(r, "un", `{"id":"u9"}`), "nobody")

	ch := `query.un:{"id":"u1"}`
	other := `query.un:{"id":"u2"}`
	sub := qySubscribe(t, s.Client(t, 3), ch, other)
	want := []string{"Ann"}
	eq(t, "first", sub.waitN(ch, 1), want)
	eq(t, "first of u2", sub.waitN(other, 1), []string{"nobody"})
	eq(t, "reads", fqChan(r, "un", ch).Reads, []string{`users: keys "u1"`})
	next := func(what, result string) {
		t.Helper()
		want = append(want, result)
		eq(t, what, sub.waitN(ch, len(want)), want)
	}
	r.do("B.UPDATE", "users", "u1", `{"name":"Anna"}`)
	next("after an update", "Anna")

	// FUNCTION LOAD REPLACE runs the channels again with the new code.
	r.str("FUNCTION", "LOAD", "REPLACE", fqLib("string.upper(name) .. '!'", "'no-writes'"))
	next("after FUNCTION LOAD REPLACE", "ANNA!")
	eq(t, "u2 after REPLACE", sub.waitN(other, 2), []string{"nobody", "NOBODY!"})

	// Replaced by one without no-writes: the runs fail, subscribers stay.
	notFlagged := "ERR function 'userName' is not flagged no-writes: a query may only read"
	r.str("FUNCTION", "LOAD", "REPLACE", fqLib("name", ""))
	eventually(t, 10*time.Second, "the channel's no-writes error", func() bool {
		return fqChan(r, "un", ch).Error == notFlagged
	})
	r.err(notFlagged, "QUERY.RUN", "un", `{"id":"u1"}`)

	// Deleted: the function is not found.
	r.ok("FUNCTION", "DELETE", "qlib")
	eventually(t, 10*time.Second, "the channel's not-found error", func() bool {
		return fqChan(r, "un", ch).Error == "ERR Function not found: userName"
	})
	r.err("ERR Function not found: userName", "QUERY.RUN", "un", `{"id":"u1"}`)
	eq(t, "still defined", r.list("QUERY.LIST"), []string{"un"})
	eq(t, "NUMSUB", r.do("PUBSUB", "NUMSUB", ch), []any{ch, int64(1)})

	// Loaded again: the channels run and publish.
	r.str("FUNCTION", "LOAD", fqLib("name .. '?'", "'no-writes', 'allow-stale'"))
	next("after loading it again", "Anna?")
	r.ok("FUNCTION", "FLUSH")
	eventually(t, 10*time.Second, "the channel's not-found error after FLUSH", func() bool {
		return fqChan(r, "un", ch).Error == "ERR Function not found: userName"
	})
	r.str("FUNCTION", "LOAD", fqLib("name", "'no-writes'"))
	next("after FLUSH and LOAD", "Anna")
	fqWaitLast(t, sub, other, "nobody")

	// Another library's changes run the channels too, and the same
	// result publishes nothing new.
	runs := fqChan(r, "un", ch).Runs
	r.str("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('f', function() return 1 end)")
	eventually(t, 10*time.Second, "a run after another library's load", func() bool {
		return fqChan(r, "un", ch).Runs > runs
	})
	r.do("B.UPDATE", "users", "u1", `{"name":"Ada"}`)
	next("after an update", "Ada")
	if strings.Contains(strings.Join(sub.messages(ch), ","), "Anna,Anna") {
		t.Errorf("the same result was sent twice: %q", sub.messages(ch))
	}
}
