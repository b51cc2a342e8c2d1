package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// FUNCTION libraries (issue 17): LOAD [REPLACE], LIST, DELETE, FLUSH, DUMP,
// RESTORE, STATS, FCALL and FCALL_RO, with Redis's replies and errors, and
// libraries that survive restarts (where SCRIPT LOAD scripts do not).

// scLib is a library with a writing function (add), a no-writes reader
// (Count, with a description) and a failing one (boom, line 4).
const scLib = "#!lua name=shop\n" +
	"redis.register_function('add', function(keys, args) return redis.call('B.INSERT', keys[1], args[1]) end)\n" +
	"redis.register_function{function_name='Count', callback=function(keys, args) return redis.call('B.COUNT', keys[1]) end, description='counts', flags={'no-writes'}}\n" +
	"redis.register_function('boom', function(keys, args)\n error('boom') end)\n" +
	"redis.register_function('sneaky', function(keys, args) return redis.call('B.INSERT', 'items', args[1]) end)"

// scLib2 is a second, small library.
const scLib2 = "#!lua name=util\nredis.register_function('echo2', function(keys, args) return {keys[1], args[1]} end)"

func TestScriptFunctionsLifecycle(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	if name, err := r.c.FunctionLoad(ctx(t), scLib).Result(); err != nil || name != "shop" {
		t.Fatalf("FUNCTION LOAD: %q %v", name, err)
	}
	eq(t, "FUNCTION LOAD util", r.str("FUNCTION", "LOAD", scLib2), "util")
	// FCALL with keys and args; names are case-insensitive.
	rec, err := r.c.FCall(ctx(t), "ADD", []string{"items"}, `{"name":"a","sku":"s1"}`).Text()
	if err != nil || parseRec(t, rec)["name"] != "a" {
		t.Fatalf("FCALL ADD: %q %v", rec, err)
	}
	r.integer(1, "FCALL", "count", "1", "items")
	r.integer(1, "FCALL_RO", "COUNT", "1", "items")
	if n, err := r.c.FCallRO(ctx(t), "Count", []string{"items"}).Int64(); err != nil || n != 1 {
		t.Errorf("go-redis FCallRO: %d %v", n, err)
	}
	eq(t, "echo2", r.do("FCALL", "echo2", "1", "k", "a"), []any{"k", "a"})
	r.err("ERR user_function:5: boom"+scFnAt("boom", 5), "FCALL", "boom", "0")
	r.err("ERR Can not execute a script with write flag using *_ro command.", "FCALL_RO", "add", "1", "items", `{"name":"b"}`)
	r.err(`UNIQUE Unique constraint violation in bucket "items": field "sku" already has value "s1"`+scFnAt("add", 2), "FCALL", "add", "1", "items", `{"name":"b","sku":"s1"}`)
	r.err("ERR script accessed bucket 'items', which is not among its KEYS: name every bucket a script touches in KEYS"+scFnAt("sneaky", 6),
		"FCALL", "sneaky", "1", "zz", `{"name":"b"}`)
	r.integer(1, "B.COUNT", "items")

	// LOAD errors leave the libraries as they were.
	for _, tc := range []struct{ code, want string }{
		{scLib, "ERR Library 'shop' already exists"},
		{"#!lua name=other\nredis.register_function('ADD', function() return 1 end)", "ERR Function ADD already exists"},
		{"redis.register_function('x', function() return 1 end)", "ERR Missing library metadata"},
		{"#!lua\nredis.register_function('x', function() return 1 end)", "ERR Library name was not given"},
		{"#!bad name=x\nredis.register_function('x', function() return 1 end)", "ERR Engine 'bad' not found"},
		{"#!lua name=x foo=bar\nredis.register_function('x', function() return 1 end)", "ERR Invalid metadata value given: foo=bar"},
		{"#!lua name=b@d\nredis.register_function('x', function() return 1 end)", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		{"#!lua name=x\nreturn 1", "ERR No functions registered"},
		// (Redis: "…functions: ERR <message>"; see TestScriptBugFunctionTexts.)
		{"#!lua name=x\nredis.register_function('x', 'notfunc')", "ERR Error registering functions: ERR second argument to redis.register_function must be a function"},
		{"#!lua name=x\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}", "ERR Error registering functions: ERR unknown flag given"},
		{"#!lua name=x\nredis.register_function('x', function() return 1 end)\nredis.register_function('x', function() return 1 end)", "ERR Error registering functions: ERR Function already exists in the library"},
		{"#!lua name=x\nretur n", "ERR Error compiling function: user_function*"},
		// The load-time globals hold only redis.register_function and a few.
		{"#!lua name=x\nlocal y = math.floor(1)", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'math'"},
		{"#!lua name=x\nredis.call('PING')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"},
		{"#!lua name=x\nx = 1", "ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table"},
		{"#!lua name=x\nwhile true do end", "ERR Error registering functions: ERR FUNCTION LOAD timeout"},
	} {
		r.failsUnchanged(tc.want, "FUNCTION", "LOAD", tc.code)
		eq(t, "libraries after a failed LOAD", len(r.do("FUNCTION", "LIST").([]any)), 2)
	}
	// A local helper defined at load calls redis.call at run time; a saved
	// reference to register_function cannot register at run time.
	eq(t, "load", r.str("FUNCTION", "LOAD", "#!lua name=helpers\nlocal lib = redis\nlocal function h() return redis.call('PING', 'h') end\n"+
		"redis.register_function('h', function() return h() end)\nredis.register_function('late', function() return lib.register_function('x', function() end) end)"), "helpers")
	eq(t, "helper", r.str("FCALL", "h", "0"), "h")
	r.err("ERR redis.register_function can only be called on FUNCTION LOAD command"+scFnAt("late", 5), "FCALL", "late", "0")
	r.ok("FUNCTION", "DELETE", "helpers")
	r.err("ERR wrong number of arguments for 'function|load' command", "FUNCTION", "LOAD")
	r.err("ERR Unknown option given: foo", "FUNCTION", "LOAD", "foo", "bar", scLib)
	r.err("ERR Library not found", "FUNCTION", "DELETE", "nosuch")
	r.err("ERR Library not found", "FUNCTION", "DELETE", "SHOP") // library names are case-sensitive
	r.err("ERR wrong number of arguments for 'function|delete' command", "FUNCTION", "DELETE")
	r.err("ERR Unknown argument bad", "FUNCTION", "LIST", "bad")
	r.err("ERR library name argument was not given", "FUNCTION", "LIST", "LIBRARYNAME")
	r.err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option", "FUNCTION", "FLUSH", "bad")
	r.err("ERR unknown subcommand 'bad_subcommand'. Try FUNCTION HELP.", "FUNCTION", "bad_subcommand")
	r.err("ERR wrong number of arguments for 'function' command", "FUNCTION")

	// LIST: exact RESP2 and RESP3 shapes, the pattern, WITHCODE.
	raw2 := rawProto(t, s, 2)
	shopFns := "*6\r\n" + bulk("name") + bulk("add") + bulk("description") + "$-1\r\n" + bulk("flags") + "*0\r\n"
	shop2 := "*6\r\n" + bulk("library_name") + bulk("shop") + bulk("engine") + bulk("LUA") + bulk("functions")
	got := raw2.Do("FUNCTION", "LIST", "LIBRARYNAME", "sh*")
	if !strings.HasPrefix(got, "*1\r\n"+shop2+"*4\r\n") || !strings.Contains(got, shopFns) ||
		!strings.Contains(got, "*6\r\n"+bulk("name")+bulk("Count")+bulk("description")+bulk("counts")+bulk("flags")+"*1\r\n+no-writes\r\n") {
		t.Errorf("FUNCTION LIST LIBRARYNAME sh* (RESP2): %q", got)
	}
	eq(t, "LIST util WITHCODE", raw2.Do("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "util"),
		"*1\r\n*8\r\n"+bulk("library_name")+bulk("util")+bulk("engine")+bulk("LUA")+bulk("functions")+
			"*1\r\n*6\r\n"+bulk("name")+bulk("echo2")+bulk("description")+"$-1\r\n"+bulk("flags")+"*0\r\n"+
			bulk("library_code")+bulk(scLib2))
	eq(t, "LIST nomatch", raw2.Do("FUNCTION", "LIST", "LIBRARYNAME", "zz*"), "*0\r\n")
	raw3 := rawProto(t, s, 3)
	eq(t, "LIST util (RESP3)", raw3.Do("FUNCTION", "LIST", "LIBRARYNAME", "util"),
		"*1\r\n%3\r\n"+bulk("library_name")+bulk("util")+bulk("engine")+bulk("LUA")+bulk("functions")+
			"*1\r\n%3\r\n"+bulk("name")+bulk("echo2")+bulk("description")+"_\r\n"+bulk("flags")+"~0\r\n")
	libs, err := r.c.FunctionList(ctx(t), redis.FunctionListQuery{LibraryNamePattern: "shop", WithCode: true}).Result()
	if err != nil || len(libs) != 1 || libs[0].Code != scLib || len(libs[0].Functions) != 4 {
		t.Errorf("go-redis FunctionList: %+v %v", libs, err)
	}
	// STATS.
	eq(t, "STATS (RESP2)", raw2.Do("FUNCTION", "STATS"), "*4\r\n"+bulk("running_script")+"$-1\r\n"+bulk("engines")+
		"*2\r\n"+bulk("LUA")+"*4\r\n"+bulk("libraries_count")+":2\r\n"+bulk("functions_count")+":5\r\n")
	eq(t, "STATS (RESP3)", raw3.Do("FUNCTION", "STATS"), "%2\r\n"+bulk("running_script")+"_\r\n"+bulk("engines")+
		"%1\r\n"+bulk("LUA")+"%2\r\n"+bulk("libraries_count")+":2\r\n"+bulk("functions_count")+":5\r\n")

	// REPLACE swaps a library; a failing REPLACE keeps the old one.
	r.failsUnchanged("ERR No functions registered", "FUNCTION", "LOAD", "REPLACE", "#!lua name=util\nreturn 1")
	eq(t, "echo2 after the failed REPLACE", r.do("FCALL", "echo2", "1", "k", "a"), []any{"k", "a"})
	eq(t, "REPLACE", r.str("FUNCTION", "LOAD", "REPLACE", "#!lua name=util\nredis.register_function('echo3', function(keys, args) return args[1] end)"), "util")
	r.err("ERR Function not found", "FCALL", "echo2", "0")
	eq(t, "echo3", r.str("FCALL", "ECHO3", "0", "x"), "x")

	// DUMP and RESTORE with each policy.
	dump, err := r.c.FunctionDump(ctx(t)).Result()
	if err != nil || len(dump) < 20 {
		t.Fatalf("FUNCTION DUMP: %q %v", dump, err)
	}
	r.err("ERR Library shop already exists", "FUNCTION", "RESTORE", dump) // Redis quotes it in LOAD only
	r.err("ERR Library shop already exists", "FUNCTION", "RESTORE", dump, "append")
	r.err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.", "FUNCTION", "RESTORE", dump, "bad")
	r.err("ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.", "FUNCTION", "RESTORE", dump, "FLUSH", "x")
	r.err("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.", "FUNCTION", "restore", dump, "FLUSH", "x")
	for _, bad := range []string{"", "junk", dump[:len(dump)-1], dump[:len(dump)-5] + "xxxxx", dump + "x"} {
		// (Redis: "ERR DUMP payload …"; see TestScriptBugFunctionTexts.)
		if e := r.fail("FUNCTION", "RESTORE", bad); !strings.HasPrefix(e, "ERR ") || !strings.HasSuffix(e, "payload version or checksum are wrong") {
			t.Errorf("FUNCTION RESTORE %q: %q", bad, e)
		}
	}
	r.ok("FUNCTION", "RESTORE", dump, "REPLACE")
	r.ok("FUNCTION", "DELETE", "util")
	r.err("ERR Function not found", "FCALL", "echo3", "0")
	r.ok("FUNCTION", "RESTORE", dump, "replace")
	eq(t, "echo3 after RESTORE REPLACE", r.str("FCALL", "echo3", "0", "y"), "y")
	// A library whose function name another library has: nothing changes.
	r.ok("FUNCTION", "DELETE", "util")
	eq(t, "load", r.str("FUNCTION", "LOAD", "#!lua name=clash\nredis.register_function('echo3', function() return 'clash' end)"), "clash")
	r.err("ERR Function echo3 already exists", "FUNCTION", "RESTORE", dump, "REPLACE")
	eq(t, "echo3 is clash's", r.str("FCALL", "echo3", "0"), "clash")
	r.ok("FUNCTION", "RESTORE", dump, "FLUSH")
	eq(t, "echo3 after RESTORE FLUSH", r.str("FCALL", "echo3", "0", "z"), "z")
	eq(t, "libraries after FLUSH restore", len(r.do("FUNCTION", "LIST").([]any)), 2)

	// DELETE and FLUSH.
	r.ok("FUNCTION", "DELETE", "shop")
	r.err("ERR Function not found", "FCALL", "add", "1", "items", "{}")
	r.ok("FUNCTION", "FLUSH", "ASYNC")
	eq(t, "LIST after FLUSH", r.do("FUNCTION", "LIST"), []any{})
	r.ok("FUNCTION", "FLUSH")
	r.ok("FUNCTION", "RESTORE", dump)
	r.integer(1, "FCALL", "count", "1", "items")
	// The empty set dumps and restores too.
	r.ok("FUNCTION", "FLUSH", "sync")
	empty := r.str("FUNCTION", "DUMP")
	r.ok("FUNCTION", "RESTORE", dump)
	r.ok("FUNCTION", "RESTORE", empty, "FLUSH")
	eq(t, "LIST after restoring nothing", r.do("FUNCTION", "LIST"), []any{})
}

func TestScriptFunctionsSurviveRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendfsync", "always")
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	eq(t, "load", r.str("FUNCTION", "LOAD", scLib), "shop")
	eq(t, "load", r.str("FUNCTION", "LOAD", scLib2), "util")
	sha := r.str("SCRIPT", "LOAD", "return 42")
	r.integer(42, "EVALSHA", sha, "0")
	r.str("FCALL", "add", "1", "items", `{"name":"a"}`)
	list := func(r *rc) string {
		return r.c.Do(ctx(t), "FUNCTION", "LIST", "WITHCODE").String()
	}
	want := list(r)
	check := func(what string, r *rc) {
		t.Helper()
		eq(t, what+": FUNCTION LIST", list(r), want)
		r.integer(1, "FCALL_RO", "count", "1", "items")
		eq(t, what+": FCALL", r.do("FCALL", "echo2", "1", "k", "v"), []any{"k", "v"})
		r.err("NOSCRIPT No matching script. Please use EVAL.", "EVALSHA", sha, "0")
	}
	// From the append-only file (killed), then a clean stop.
	flushed(t, s, r.c)
	s = restart(t, s, "kill")
	r = newRC(t, s, 2)
	check("after kill", r)
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	check("after stop", r)
	r = newRC(t, s, 3)
	// From a rewritten append-only file.
	r.do("BGREWRITEAOF")
	eventually(t, 10*time.Second, "the rewrite to end", func() bool {
		return infoFields(t, r.c, "persistence")["aof_rewrite_in_progress"] == "0"
	})
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	check("after BGREWRITEAOF", r)
	// From a snapshot plus the file, with a change after the snapshot: the
	// last state wins.
	r.ok("SAVE")
	r.ok("FUNCTION", "DELETE", "util")
	eq(t, "REPLACE", r.str("FUNCTION", "LOAD", "REPLACE", strings.Replace(scLib, "'add'", "'add2'", 1)), "shop")
	want = list(r)
	flushed(t, s, r.c)
	s = restart(t, s, "kill")
	r = newRC(t, s, 2)
	eq(t, "after SAVE, changes, kill: FUNCTION LIST", list(r), want)
	r.err("ERR Function not found", "FCALL", "echo2", "0")
	r.err("ERR Function not found", "FCALL", "add", "0")
	r.str("FCALL", "add2", "1", "items", `{"name":"b"}`)
	// FUNCTION FLUSH survives too.
	r.ok("FUNCTION", "FLUSH")
	flushed(t, s, r.c)
	s = restart(t, s, "kill")
	r = newRC(t, s, 2)
	eq(t, "after FLUSH and kill", r.do("FUNCTION", "LIST"), []any{})
	r.integer(2, "B.COUNT", "items")
}

// TestScriptFunctionsConcurrentFirstCalls: functions called at once from
// many connections right after each FUNCTION LOAD REPLACE, so that each
// interpreter state builds the library on its first call.
func TestScriptFunctionsConcurrentFirstCalls(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	clients := make([]*rc, 6)
	for i := range clients {
		clients[i] = newRC(t, s, 2)
	}
	var mu sync.Mutex
	var errs []string
	const rounds, calls = 15, 4
	for round := 0; round < rounds; round++ {
		r.str("FUNCTION", "LOAD", "REPLACE", fmt.Sprintf("#!lua name=conc\nredis.register_function('c', function(keys, args) return #redis.call('PING', 'abcd') + %d end)", round))
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range calls {
					n, err := c.c.Do(ctx(t), "FCALL", "c", "0").Int64()
					if err != nil || n != int64(round+4) {
						mu.Lock()
						errs = append(errs, fmt.Sprint(n, " ", err))
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	if len(errs) > 0 {
		t.Errorf("%d of %d FCALLs failed; first: %s", len(errs), rounds*len(clients)*calls, errs[0])
	}
}

// TestScriptFunctionTexts: FUNCTION replies worded as Redis 7 words them
// (each case names what once differed).
func TestScriptFunctionTexts(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.str("FUNCTION", "LOAD", "#!lua name=late\nlocal lib = redis\nredis.register_function('late', function() return lib.register_function('x', function() end) end)")
	dump := r.str("FUNCTION", "DUMP")
	for _, tc := range []struct {
		bug, want string
		args      []any
	}{
		{"RESTORE of a bad payload lacks Redis's leading 'DUMP '", "ERR DUMP payload version or checksum are wrong", []any{"FUNCTION", "RESTORE", "junk"}},
		{"RESTORE APPEND collision: Redis does not quote the name", "ERR Library late already exists", []any{"FUNCTION", "RESTORE", dump}},
		{"FLUSH with two options: Redis's generic subcommand text", "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.", []any{"FUNCTION", "flush", "sync", "extra"}},
		{"a runtime error at load: Redis keeps the inner 'ERR '", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'",
			[]any{"FUNCTION", "LOAD", "#!lua name=x\nerror('zz')"}},
		{"a load that loops: Redis prefixes its timeout", "ERR Error registering functions: ERR FUNCTION LOAD timeout", []any{"FUNCTION", "LOAD", "#!lua name=x\nwhile true do end"}},
		{"errors of redis.* functions are tables in Redis: no position prefix", "ERR redis.register_function can only be called on FUNCTION LOAD command" + scFnAt("late", 3),
			[]any{"FCALL", "late", "0"}},
		{"register_function errors: Redis raises them as tables (no position), prefixed 'ERR '", "ERR Error registering functions: ERR second argument to redis.register_function must be a function",
			[]any{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('x', 'notfunc')"}},
	} {
		t.Run(tc.want, func(t *testing.T) {
			r.sub(t).err(tc.want, tc.args...)
		})
	}
}
