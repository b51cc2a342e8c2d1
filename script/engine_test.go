package script

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"bucketd/resp"
)

// fakeCaller answers a few commands the way the command layer does.
type fakeCaller struct{ calls []string }

func (f *fakeCaller) Call(args [][]byte, w *resp.Writer) {
	f.calls = append(f.calls, string(args[0]))
	switch strings.ToLower(string(args[0])) {
	case "ping":
		w.Simple("PONG")
	case "echo":
		w.Bulk(args[1])
	case "nil":
		w.Null()
	case "arr":
		w.Array(2)
		w.Int(1)
		w.BulkString("two")
	case "map":
		w.Map(1)
		w.BulkString("k")
		w.Int(7)
	case "fail":
		w.Error("VALIDATION bad record")
	default:
		w.Error("ERR Unknown Redis command called from script")
	}
}

func newTestEngine(t *testing.T) *Engine {
	e := New(Options{Log: zerolog.Nop(), MaxMemory: 64 << 20})
	t.Cleanup(e.Close)
	return e
}

func eval(t *testing.T, e *Engine, body string, proto int, keys ...string) string {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		return "-" + err.Error() + "\r\n"
	}
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	w := resp.Writer{Proto: proto}
	if err := e.Eval(s, &Call{Keys: ks, Caller: &fakeCaller{}}, &w); err != nil {
		return "-" + err.Error() + "\r\n"
	}
	return string(w.B)
}

func TestEvalReplies(t *testing.T) {
	e := newTestEngine(t)
	sha := func(s string) string { return SHA1([]byte(s)) }
	cases := []struct {
		body  string
		proto int
		want  string
	}{
		{"return 1", 2, ":1\r\n"},
		{"return 3.99", 2, ":3\r\n"},
		{"return -3.99", 2, ":-3\r\n"},
		{"return 'x'", 2, "$1\r\nx\r\n"},
		{"return true", 2, ":1\r\n"},
		{"return false", 2, "$-1\r\n"},
		{"return false", 3, "_\r\n"},
		{"redis.setresp(3) return false", 2, ":0\r\n"},
		{"redis.setresp(3) return true", 3, "#t\r\n"},
		{"return nil", 2, "$-1\r\n"},
		{"return {1,2,3,nil,5}", 2, "*3\r\n:1\r\n:2\r\n:3\r\n"},
		{"return {ok='FINE'}", 2, "+FINE\r\n"},
		{"return {err='MY code'}", 2, "-MY code\r\n"},
		{"return redis.error_reply('My Error')", 2, "-My Error\r\n"},
		{"return redis.error_reply('x')", 2, "-ERR x\r\n"},
		{"return redis.status_reply('FINE')", 2, "+FINE\r\n"},
		{"return {double=3.14}", 3, ",3.1400000000000001\r\n"},
		{"return {double=3.14}", 2, "$18\r\n3.1400000000000001\r\n"},
		{"return redis.call('ping')", 2, "+PONG\r\n"},
		{"return redis.call('echo', 0.1)", 2, "$19\r\n0.10000000000000001\r\n"},
		{"return redis.call('echo', 3)", 2, "$1\r\n3\r\n"},
		{"return redis.call('arr')", 2, "*2\r\n:1\r\n$3\r\ntwo\r\n"},
		{"return type(redis.call('nil'))", 2, "$7\r\nboolean\r\n"},
		{"redis.setresp(3) return type(redis.call('nil'))", 2, "$3\r\nnil\r\n"},
		{"redis.setresp(3) return redis.call('map').map.k", 2, ":7\r\n"},
		{"return redis.pcall('fail')['err']", 2, "$21\r\nVALIDATION bad record\r\n"},
		{"local ok, e = pcall(redis.call, 'fail') return {tostring(ok), e}", 2, "*2\r\n$5\r\nfalse\r\n$21\r\nVALIDATION bad record\r\n"},
		{"return redis.call('fail')", 2, "-VALIDATION bad record script: " + sha("return redis.call('fail')") + ", on @user_script:1.\r\n"},
		{"\nerror('oops')", 2, "-ERR user_script:2: oops script: " + sha("\nerror('oops')") + ", on @user_script:2.\r\n"},
		{"error({err='MYERR custom'})", 2, "-MYERR custom script: " + sha("error({err='MYERR custom'})") + ", on @user_script:1.\r\n"},
		{"x = 1", 2, "-ERR user_script:1: Attempt to modify a readonly table script: " + sha("x = 1") + ", on @user_script:1.\r\n"},
		{"return nosuch", 2, "-ERR user_script:1: Script attempted to access nonexistent global variable 'nosuch' script: " + sha("return nosuch") + ", on @user_script:1.\r\n"},
		{"string.rep = nil", 2, "-ERR user_script:1: Attempt to modify a readonly table script: " + sha("string.rep = nil") + ", on @user_script:1.\r\n"},
		{"return redis.call()", 2, "-ERR Please specify at least one argument for this redis lib call script: " + sha("return redis.call()") + ", on @user_script:1.\r\n"},
		{"return redis.call('echo', {})", 2, "-ERR Lua redis lib command arguments must be strings or integers script: " + sha("return redis.call('echo', {})") + ", on @user_script:1.\r\n"},
		{"return KEYS[1] .. #ARGV", 2, "$2\r\nk0\r\n"},
		{"return redis.sha1hex('')", 2, "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
		{"return loadfile", 2, "-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: " + sha("return loadfile") + ", on @user_script:1.\r\n"},
		{"return ('x'):rep(3)", 2, "$3\r\nxxx\r\n"},
		{"#!lua flags=no-writes\nreturn 1", 2, ":1\r\n"},
		{"#!lua", 2, "-ERR Invalid script shebang\r\n"},
		{"#!notlua\nreturn 1", 2, "-ERR Unexpected engine in script shebang: #!notlua\r\n"},
		{"#!lua name=foo\nreturn 1", 2, "-ERR Unknown lua shebang option: name=foo\r\n"},
		{"return 'a' 'b'", 2, "-ERR Error compiling script (new function): "},
	}
	for _, c := range cases {
		got := eval(t, e, c.body, c.proto, "k")
		if strings.HasSuffix(c.want, ": ") {
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("%q: got %q, want prefix %q", c.body, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%q (resp%d):\n got %q\nwant %q", c.body, c.proto, got, c.want)
		}
	}
}
