package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Scripts through other clients: the real redis-cli (EVAL, EVALSHA, FCALL,
// --eval file.lua key , arg) and redis-py's register_script (EVALSHA, then
// EVAL on NOSCRIPT).

func TestScriptCLI(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	if got := s.CLI(t, "BUCKET.DEFINE", "items", scItemsDef); got != "OK\n" {
		t.Fatalf("BUCKET.DEFINE: %q", got)
	}
	lib := "#!lua name=cli\nredis.register_function('add', function(keys, args) return redis.call('B.INSERT', keys[1], args[1]) end)"
	file := filepath.Join(t.TempDir(), "insert.lua")
	fileSrc := "local rec = cjson.decode(redis.call('B.INSERT', KEYS[1], ARGV[1]))\nreturn {rec.id, rec.name, #KEYS, #ARGV}\n"
	if err := os.WriteFile(file, []byte(fileSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"EVAL", "return 1 + 1", "0"}, "2\n"},
		{[]string{"--no-raw", "EVAL", "return {1, 'a', false}", "0"}, "1) (integer) 1\n2) \"a\"\n3) (nil)\n"},
		{[]string{"EVAL", "return redis.call('B.COUNT', KEYS[1])", "1", "items"}, "0\n"},
		{[]string{"SCRIPT", "LOAD", "return ARGV[1]"}, scSHA("return ARGV[1]") + "\n"},
		{[]string{"EVALSHA", scSHA("return ARGV[1]"), "0", "hello"}, "hello\n"},
		{[]string{"EVAL", "error('boom')", "0"}, "ERR user_script:1: boom" + scAt("error('boom')", 1) + "\n\n"},
		{[]string{"--no-raw", "EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}, "(error) NOSCRIPT No matching script. Please use EVAL.\n"},
		{[]string{"FUNCTION", "LOAD", lib}, "cli\n"},
		{[]string{"FCALL", "add", "1", "items", `{"name":"viacli"}`}, ""}, // checked below
		{[]string{"--eval", file, "items", ",", `{"name":"evalfile"}`}, "2\nevalfile\n1\n1\n"},
		{[]string{"--no-raw", "FCALL_RO", "add", "1", "items", "{}"}, "(error) ERR Can not execute a script with write flag using *_ro command.\n"},
		{[]string{"EVAL", "return redis.call('B.COUNT', KEYS[1])", "1", "items"}, "2\n"},
	} {
		got := s.CLI(t, tc.args...)
		if tc.args[0] == "FCALL" {
			if !strings.HasPrefix(got, `{"id":1,"name":"viacli","_version":1,`) {
				t.Errorf("redis-cli FCALL: %q", got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("redis-cli %q:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
}

// scPython returns a python3 that can import redis (redis-py), or skips
// (fails where BUCKETD_REQUIRE_REDIS_PY is set, as in CI).
func scPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import redis").Run() == nil {
			return path
		}
	}
	if os.Getenv("BUCKETD_REQUIRE_REDIS_PY") != "" {
		t.Fatal("python3 with redis-py is required here (BUCKETD_REQUIRE_REDIS_PY) but missing: apt-get install python3-redis")
	}
	t.Skip("python3 with redis-py not installed (apt-get install python3-redis)")
	return ""
}

// scPyScript is the redis-py program: argv host port.
const scPyScript = `
import json, sys
import redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
ins = r.register_script("return redis.call('B.INSERT', KEYS[1], ARGV[1])")
print(json.loads(ins(keys=['items'], args=['{"name":"py1"}']))['id'])
r.script_flush()
print(json.loads(ins(keys=['items'], args=['{"name":"py2"}']))['name'])
print(r.script_exists(ins.sha)[0])
cnt = r.register_script("return redis.call('B.COUNT', KEYS[1])")
print(cnt(keys=['items']))
fail = r.register_script("redis.call('B.INSERT', KEYS[1], ARGV[1])\nerror('nope')")
try:
    fail(keys=['items'], args=['{"name":"never"}'])
    print('no error')
except redis.exceptions.ResponseError as e:
    print(str(e).split(" script: ")[0])  # redis-py drops the ERR code
print(cnt(keys=['items']))
p = r.pipeline(transaction=False)
cnt(keys=['items'], client=p)
ins(keys=['items'], args=['{"name":"piped"}'], client=p)
res = p.execute()
print(res[0], json.loads(res[1])['name'])
p = r.pipeline()  # MULTI/EXEC: bucketd refuses scripts inside MULTI
cnt(keys=['items'], client=p)
try:
    p.execute()
    print('no error')
except redis.exceptions.ResponseError as e:
    print(str(e).split(': ', 1)[1])
print(r.execute_command('FUNCTION', 'LOAD', "#!lua name=py\nredis.register_function('pyf', function(keys, args) return #keys + #args end)"))
print(r.execute_command('FCALL', 'pyf', 1, 'items', 'a', 'b'))
`

func TestScriptRedisPy(t *testing.T) {
	t.Parallel()
	py := scPython(t)
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	host, port, _ := net.SplitHostPort(s.Addr)
	out, err := exec.Command(py, "-c", scPyScript, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := "1\npy2\nTrue\n2\nuser_script:2: nope\n2\n2 piped\nCommand not allowed inside a transaction\npy\n3\n"
	if string(out) != want {
		t.Errorf("redis-py output:\n%s\nwant:\n%s", out, want)
	}
	r.integer(3, "B.COUNT", "items")
}
