package tests

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Lua scripts (issue 17): EVAL, EVALSHA, their _RO forms and SCRIPT over
// real sockets, through go-redis's Script (EVALSHA, then EVAL on NOSCRIPT)
// and raw RESP2/RESP3 connections: the conversions both ways, KEYS and
// ARGV, the redis.* helpers, cjson, and the sandbox. The sc* helpers are
// shared by the other scripting_*_test.go files.

// scItemsDef has an autoincrement key, a required name, a unique sku and
// an indexed cat (txItemsDef, persistent).
const scItemsDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
	`"name":{"type":"string","required":true},"sku":{"type":"string","unique":true},"cat":{"type":"string"}},` +
	`"indexes":["cat"]}`

// scKVDef is a bucket with a string key and a number.
const scKVDef = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`

// scSHA is the lowercase hex SHA1 of a script, its EVALSHA name.
func scSHA(src string) string {
	h := sha1.Sum([]byte(src))
	return hex.EncodeToString(h[:])
}

// scAt is the suffix Redis puts after the error of a failed EVAL script:
// " script: <sha>, on @user_script:<line>.".
func scAt(src string, line int) string {
	return fmt.Sprintf(" script: %s, on @user_script:%d.", scSHA(src), line)
}

// scFnAt is the suffix of a failed FCALL of function fn.
func scFnAt(fn string, line int) string {
	return fmt.Sprintf(" script: %s, on @user_function:%d.", fn, line)
}

// scEval runs EVAL src with keys and args on r; it returns the reply or
// the error text ("" when it succeeded).
func (r *rc) scEval(src string, keys []string, args ...any) (any, string) {
	r.t.Helper()
	v, err := r.c.Eval(ctx(r.t), src, keys, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ""
	}
	if err != nil {
		return nil, err.Error()
	}
	return v, ""
}

// scOK runs EVAL src, which must succeed, and returns its reply.
func (r *rc) scOK(src string, keys []string, args ...any) any {
	r.t.Helper()
	v, e := r.scEval(src, keys, args...)
	if e != "" {
		r.t.Fatalf("RESP%d EVAL %q: unexpected error %q", r.proto, src, e)
	}
	return v
}

// scErr runs EVAL src, which must fail with want exactly.
func (r *rc) scErr(want, src string, keys []string, args ...any) {
	r.t.Helper()
	v, e := r.scEval(src, keys, args...)
	if e == "" {
		r.t.Errorf("RESP%d EVAL %q: got %#v, want error %q", r.proto, src, v, want)
	} else if e != want {
		r.t.Errorf("RESP%d EVAL %q:\n got error %q\nwant error %q", r.proto, src, e, want)
	}
}

// scRawEval runs EVAL on a raw connection and returns the raw reply.
func scRawEval(c *RawConn, src string, keys []string, args ...string) string {
	full := append([]string{"EVAL", src, fmt.Sprint(len(keys))}, keys...)
	return c.Do(append(full, args...)...)
}

func TestScriptGoRedisRunAndCache(t *testing.T) {
	t.Parallel()
	s := Start(t)
	protos(t, s, func(t *testing.T, r *rc) {
		b := fmt.Sprint("items", r.proto)
		r.define(b, scItemsDef)
		ins := redis.NewScript(`return redis.call('B.INSERT', KEYS[1], ARGV[1])`)
		cntSrc := `return redis.call('B.COUNT', KEYS[1])`
		cnt := redis.NewScript(cntSrc)
		r.ok("SCRIPT", "FLUSH") // the other protocol's subtest ran them
		// Never loaded: Run's EVALSHA gets NOSCRIPT and falls back to EVAL.
		if ex, err := ins.Exists(ctx(t), r.c).Result(); err != nil || ex[0] {
			t.Fatalf("SCRIPT EXISTS before the first run: %v %v", ex, err)
		}
		rec, err := ins.Run(ctx(t), r.c, []string{b}, `{"name":"a","sku":"s1","cat":"c"}`).Text()
		if err != nil || parseRec(t, rec)["name"] != "a" || parseRec(t, rec)["id"] != 1.0 {
			t.Fatalf("Run insert: %q %v", rec, err)
		}
		if ex, err := ins.Exists(ctx(t), r.c).Result(); err != nil || !ex[0] {
			t.Fatalf("SCRIPT EXISTS after EVAL: %v %v, want cached", ex, err)
		}
		// EVALSHA now works directly, in upper case too.
		r.err("NOSCRIPT No matching script. Please use EVAL.", "EVALSHA", cnt.Hash(), "1", b)
		r.integer(1, "EVAL", cntSrc, "1", b)
		r.integer(1, "EVALSHA", strings.ToUpper(cnt.Hash()), "1", b)
		r.integer(1, "EVALSHA_RO", cnt.Hash(), "1", b)
		// SCRIPT FLUSH forgets them; Run loads again.
		r.ok("SCRIPT", "FLUSH")
		r.err("NOSCRIPT No matching script. Please use EVAL.", "EVALSHA", cnt.Hash(), "1", b)
		if ex, err := r.c.ScriptExists(ctx(t), ins.Hash(), cnt.Hash()).Result(); err != nil || ex[0] || ex[1] {
			t.Fatalf("SCRIPT EXISTS after FLUSH: %v %v", ex, err)
		}
		if n, err := cnt.Run(ctx(t), r.c, []string{b}).Int64(); err != nil || n != 1 {
			t.Fatalf("Run after SCRIPT FLUSH: %d %v", n, err)
		}
		if n, err := cnt.RunRO(ctx(t), r.c, []string{b}).Int64(); err != nil || n != 1 {
			t.Fatalf("RunRO: %d %v", n, err)
		}
		// SCRIPT LOAD returns the SHA1; EXISTS takes several, in any case.
		r.ok("SCRIPT", "FLUSH", "ASYNC")
		if sha := r.str("SCRIPT", "LOAD", "return 1"); sha != "e0e1f9fabfc9d4800c877a703b823ac0578ff8db" || sha != scSHA("return 1") {
			t.Fatalf("SCRIPT LOAD: %q", sha)
		}
		eq(t, "SCRIPT EXISTS", r.do("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "nope", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"), []any{int64(1), int64(0), int64(1)})
		r.integer(1, "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0")
		r.ok("SCRIPT", "FLUSH", "sync")
		r.err("NOSCRIPT No matching script. Please use EVAL.", "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0")
		// EVAL_RO and EVALSHA_RO read; they refuse writes.
		r.integer(1, "EVAL_RO", "return redis.call('B.COUNT', KEYS[1])", "1", b)
		src := `return redis.call('B.INSERT', KEYS[1], '{"name":"w"}')`
		r.err("ERR Write commands are not allowed from read-only scripts."+scAt(src, 1), "EVAL_RO", src, "1", b)
		sha := r.str("SCRIPT", "LOAD", src)
		r.err("ERR Write commands are not allowed from read-only scripts."+scAt(src, 1), "EVALSHA_RO", sha, "1", b)
		if _, err := ins.RunRO(ctx(t), r.c, []string{b}, `{"name":"w"}`).Result(); err == nil || !strings.HasPrefix(err.Error(), "ERR Write commands are not allowed from read-only scripts.") {
			t.Fatalf("RunRO of a writing script: %v", err)
		}
		r.integer(1, "B.COUNT", b)
	})
}

func TestScriptConversionsToClient(t *testing.T) {
	t.Parallel()
	s := Start(t)
	cases := []struct {
		src          string
		resp2, resp3 string
	}{
		{"return 1", ":1\r\n", ":1\r\n"},
		{"return 3.99", ":3\r\n", ":3\r\n"},
		{"return -3.99", ":-3\r\n", ":-3\r\n"},
		{"return 'héllo'", bulk("héllo"), bulk("héllo")},
		{"return ''", bulk(""), bulk("")},
		{"return true", ":1\r\n", ":1\r\n"},
		{"return false", "$-1\r\n", "_\r\n"},
		{"return nil", "$-1\r\n", "_\r\n"},
		{"return", "$-1\r\n", "_\r\n"},
		{"redis.setresp(3); return true", ":1\r\n", "#t\r\n"},
		{"redis.setresp(3); return false", ":0\r\n", "#f\r\n"},
		{"redis.setresp(3); return nil", "$-1\r\n", "_\r\n"},
		{"redis.setresp(2); return false", "$-1\r\n", "_\r\n"},
		{"return {ok='FINE'}", "+FINE\r\n", "+FINE\r\n"},
		{"return {err='MYCODE bad thing'}", "-MYCODE bad thing\r\n", "-MYCODE bad thing\r\n"},
		{"return {ok='A', err='B'}", "-B\r\n", "-B\r\n"},
		{"return {1, 2, nil, 4}", "*2\r\n:1\r\n:2\r\n", "*2\r\n:1\r\n:2\r\n"},
		{"return {}", "*0\r\n", "*0\r\n"},
		{"return {1, 'a', {2, {}}, {ok='in'}, {err='E2 in'}}", "*5\r\n:1\r\n" + bulk("a") + "*2\r\n:2\r\n*0\r\n+in\r\n-E2 in\r\n", "*5\r\n:1\r\n" + bulk("a") + "*2\r\n:2\r\n*0\r\n+in\r\n-E2 in\r\n"},
		{"return {double=3.5}", bulk("3.5"), ",3.5\r\n"},
		{"return {double=3}", bulk("3"), ",3\r\n"},
		{"return {map={a=1}}", "*2\r\n" + bulk("a") + ":1\r\n", "%1\r\n" + bulk("a") + ":1\r\n"},
		{"return {set={x=true}}", "*1\r\n" + bulk("x") + "", "~1\r\n" + bulk("x")},
		{"return {big_number='123456789012345678901234567890'}", bulk("123456789012345678901234567890"), "(123456789012345678901234567890\r\n"},
		{"return {foo='bar'}", "*0\r\n", "*0\r\n"},
		{"return redis.status_reply('FINE')", "+FINE\r\n", "+FINE\r\n"},
		{"return redis.error_reply('MY_ERR went wrong')", "-MY_ERR went wrong\r\n", "-MY_ERR went wrong\r\n"},
		{"return redis.error_reply('-MY_ERR stripped')", "-MY_ERR stripped\r\n", "-MY_ERR stripped\r\n"},
		{"return redis.error_reply('x')['err']", bulk("ERR x"), bulk("ERR x")},
		{"return redis.error_reply()", "-ERR wrong number or type of arguments\r\n", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.call('PING')", "+PONG\r\n", "+PONG\r\n"},
		{"return redis.sha1hex('')", bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"), bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")},
		{"return redis.sha1hex('return 1')", bulk(scSHA("return 1")), bulk(scSHA("return 1"))},
		{"return redis.sha1hex(1)", bulk(scSHA("1")), bulk(scSHA("1"))},
		{"return redis.log(redis.LOG_WARNING, 'scripting-log-line', 'two')", "$-1\r\n", "_\r\n"},
		{"return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "*4\r\n:0\r\n:1\r\n:2\r\n:3\r\n", "*4\r\n:0\r\n:1\r\n:2\r\n:3\r\n"},
		{"return _VERSION", bulk("Lua 5.1"), bulk("Lua 5.1")},
		{"return tostring(0.1)", bulk("0.1"), bulk("0.1")},
		{"return rawget(_G, 'zzz')", "$-1\r\n", "_\r\n"},
		{"local t = setmetatable({}, {__index=function() error('no') end}); return t", "*0\r\n", "*0\r\n"},
	}
	for _, p := range []int{2, 3} {
		c := rawProto(t, s, p)
		for _, tc := range cases {
			want := tc.resp2
			if p == 3 {
				want = tc.resp3
			}
			eq(t, fmt.Sprintf("RESP%d EVAL %q", p, tc.src), scRawEval(c, tc.src, nil), want)
		}
	}
	if !strings.Contains(s.Log(), "scripting-log-line two") {
		t.Errorf("redis.log: the server log lacks the line")
	}
}

func TestScriptConversionsFromCommands(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", scKVDef)
	r.insert("kv", `{"id":"a","n":1.5}`, `{"id":"b","n":2}`)
	cases := []struct {
		src  string
		want any
	}{
		// Bulk → string, integer → number, nil → false (RESP2) or nil (RESP3).
		{`return type(redis.call('B.GET', KEYS[1], 'a'))`, "string"},
		{`return cjson.decode(redis.call('B.GET', KEYS[1], 'a')).n * 2`, int64(3)},
		{`local n = redis.call('B.COUNT', KEYS[1]); return {type(n), n + 1}`, []any{"number", int64(3)}},
		{`local v = redis.call('B.GET', KEYS[1], 'zz'); return {type(v), tostring(v)}`, []any{"boolean", "false"}},
		{`redis.setresp(3); local v = redis.call('B.GET', KEYS[1], 'zz'); return type(v)`, "nil"},
		// Array → table (1-based); a nil element becomes false.
		{`local a = redis.call('B.ALL', KEYS[1]); return {type(a), #a, cjson.decode(a[2]).id}`, []any{"table", int64(2), "b"}},
		{`local a = redis.call('B.MGET', KEYS[1], 'a', 'zz', 'b'); return {#a, tostring(a[2]), type(a[3])}`, []any{int64(3), "false", "string"}},
		// Status → {ok=...}.
		{`local r = redis.call('PING'); return {type(r), r.ok}`, []any{"table", "PONG"}},
		{`return redis.call('PING', 'hi')`, "hi"},
		// Double: a string in RESP2, {double=n} after redis.setresp(3).
		{`local v = redis.call('B.SUM', KEYS[1], 'n'); return {type(v), v}`, []any{"string", "3.5"}},
		{`redis.setresp(3); local v = redis.call('B.SUM', KEYS[1], 'n'); return {type(v), tostring(v.double)}`, []any{"table", "3.5"}},
		// Error → {err=...} with redis.pcall.
		{`local e = redis.pcall('B.GET', KEYS[1]); return {type(e), e.err}`, []any{"table", "ERR Wrong number of args calling Redis command from script"}},
		{`local e = redis.pcall('B.INSERT', KEYS[1], '{"id":"a"}'); return e.err`, `EXISTS Record with key "a" already exists in bucket "kv"`},
		{`local ok, e = pcall(redis.call, 'B.INSERT', KEYS[1], '{"id":"a"}'); return {tostring(ok), e}`, []any{"false", `EXISTS Record with key "a" already exists in bucket "kv"`}},
		{`local ok, e = pcall(function() error('zz') end); return e`, "user_script:1: zz"},
		{`local ok, e = pcall(function() error({err='X y'}) end); return e`, "X y"},
		// TIME: two strings; BUCKET.LIST: an array.
		{`local t = redis.call('TIME'); return {#t, type(t[1]), tonumber(t[1]) > 1600000000 and 1 or 0}`, []any{int64(2), "string", int64(1)}},
		{`return redis.call('BUCKET.LIST')`, []any{"kv"}},
		{`return cjson.decode(redis.call('BUCKET.INFO', KEYS[1])).records`, int64(2)},
		// Numbers passed to redis.call are formatted as Redis does (%.17g).
		{`return redis.call('PING', 3)`, "3"},
		{`return redis.call('PING', 1.5)`, "1.5"},
		{`return redis.call('PING', 0.1)`, "0.10000000000000001"},
		{`return redis.call('B.GET', KEYS[1], 'a') == redis.call('B.GET', KEYS[1], 'a')`, int64(1)},
		// KEYS and ARGV (bucket part of a key: "kv:7" is bucket kv).
		{`return {#KEYS, #ARGV, KEYS[1], KEYS[2], ARGV[1], ARGV[2]}`, []any{int64(2), int64(0), "kv", "kv:7"}},
	}
	for _, p := range []int{2, 3} {
		r := newRC(t, s, p)
		for _, tc := range cases {
			got := r.scOK(tc.src, []string{"kv", "kv:7"})
			eq(t, fmt.Sprintf("RESP%d %s", p, tc.src), got, tc.want)
		}
		var dbl any = "3.5" // a RESP2 client gets a double as a bulk string
		if p == 3 {
			dbl = 3.5
		}
		eq(t, "double back", r.scOK(`redis.setresp(3); return redis.call('B.SUM', KEYS[1], 'n')`, []string{"kv"}), dbl)
		got := r.scOK(`return {#KEYS, #ARGV, KEYS[1], ARGV[1], ARGV[2], ARGV[3]}`, []string{"kv:42"}, "x", "", "ü")
		eq(t, "KEYS/ARGV", got, []any{int64(1), int64(3), "kv:42", "x", "", "ü"})
	}
}

func TestScriptCJSON(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", scKVDef)
	// A record built in Lua, encoded with cjson, inserted, read back and
	// decoded.
	got := r.scOK(`
local rec = {id = ARGV[1], n = tonumber(ARGV[2])}
redis.call('B.INSERT', KEYS[1], cjson.encode(rec))
local back = cjson.decode(redis.call('B.GET', KEYS[1], ARGV[1]))
return {back.id, back.n, back._version}`, []string{"kv"}, "r1", "41")
	eq(t, "round trip", got, []any{"r1", int64(41), int64(1)})
	rec := parseRec(t, r.str("B.GET", "kv", "r1"))
	if rec["n"] != 41.0 {
		t.Errorf("B.GET after the cjson insert: %v", rec)
	}
	for _, tc := range []struct {
		src  string
		want any
	}{
		{`return cjson.encode({1,2,3})`, "[1,2,3]"},
		{`return cjson.encode({a='x'})`, `{"a":"x"}`},
		{`return cjson.decode('[1,null,3]')`, []any{int64(1), nil, int64(3)}},
		{`return tostring(cjson.decode('null') == cjson.null)`, "true"},
		{`return cjson.decode('{"a":{"b":[10,20]}}').a.b[2]`, int64(20)},
	} {
		eq(t, tc.src, r.scOK(tc.src, nil), tc.want)
	}
	src := `return cjson.decode('{a:1}')`
	_, e := r.scEval(src, nil)
	if !strings.HasPrefix(e, "ERR user_script:1: ") || !strings.HasSuffix(e, scAt(src, 1)) {
		t.Errorf("cjson.decode of bad JSON: %q", e)
	}
}

func TestScriptSandbox(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	ro := "Attempt to modify a readonly table"
	for _, tc := range []struct {
		src, want string
	}{
		{"return undefinedvar", "ERR user_script:1: Script attempted to access nonexistent global variable 'undefinedvar'"},
		{"local t = undefinedvar", "ERR user_script:1: Script attempted to access nonexistent global variable 'undefinedvar'"},
		{"x = 1", "ERR user_script:1: " + ro},
		{"_G.x = 1", "ERR user_script:1: " + ro},
		{"function f() end", "ERR user_script:1: " + ro},
		{"redis = nil", "ERR user_script:1: " + ro},
		{"redis.call = nil", "ERR user_script:1: " + ro},
		{"string.foo = 1", "ERR user_script:1: " + ro},
		{"cjson.encode = nil", "ERR user_script:1: " + ro},
		{"rawset(_G, 'x', 1)", "ERR " + ro}, // raised as Redis raises it in C: no "user_script:1: "
		{"return os.time()", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"},
		{"return io.open('/etc/passwd')", "ERR user_script:1: Script attempted to access nonexistent global variable 'io'"},
		{"return loadstring(string.dump(function() end))()", "ERR user_script:1: attempt to call a nil value"}, // binary chunks refused
		{"return load('return 1')()", "ERR user_script:1: Script attempted to access nonexistent global variable 'load'"},
		{"return dofile('/etc/passwd')", "ERR user_script:1: Script attempted to access nonexistent global variable 'dofile'"},
		{"return loadfile('/etc/passwd')", "ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile'"},
		{"return require('os')", "ERR user_script:1: Script attempted to access nonexistent global variable 'require'"},
		{"print('x')", "ERR user_script:1: Script attempted to access nonexistent global variable 'print'"},
		{"return debug.getinfo(1)", "ERR user_script:1: Script attempted to access nonexistent global variable 'debug'"},
		{"return package.path", "ERR user_script:1: Script attempted to access nonexistent global variable 'package'"},
		{"return setfenv(1, {})", "ERR user_script:1: Script attempted to access nonexistent global variable 'setfenv'"},
		{"collectgarbage()", "ERR user_script:1: Script attempted to access nonexistent global variable 'collectgarbage'"},
	} {
		r.scErr(tc.want+scAt(tc.src, 1), tc.src, nil)
	}
	// A failed attempt leaves nothing: the next script sees no global x, and
	// locals and new tables stay writable.
	r.scErr("ERR user_script:1: Script attempted to access nonexistent global variable 'x'"+scAt("return x", 1), "return x", nil)
	eq(t, "locals", r.scOK("local t = {}; t.a = 5; local m = setmetatable({}, {}); return t.a", nil), int64(5))
	eq(t, "pcall of a missing global", r.scOK("local ok, e = pcall(function() return foo end); return {tostring(ok), e}", nil),
		[]any{"false", "user_script:1: Script attempted to access nonexistent global variable 'foo'"})
	// The libraries a script does get.
	eq(t, "libraries", r.scOK("return {type(string.rep), type(table.concat), type(math.floor), type(coroutine.wrap), type(cjson.encode), type(pcall), type(tonumber)}", nil),
		[]any{"function", "function", "function", "function", "function", "function", "function"})
	// Endless recursion is an error, not a crash.
	src := "local function f() return f() + 1 end\nreturn f()"
	if _, e := r.scEval(src, nil); !strings.HasPrefix(e, "ERR ") || !strings.Contains(e, "stack overflow") {
		t.Errorf("endless recursion: %q", e)
	}
	// The server is still fine.
	r.do("PING")
	eq(t, "after", r.scOK("return 1", nil), int64(1))
}
