package tests

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// redis-cli prints replies "raw" when its standard output is not a
// terminal (as here): bulk strings bare, nil as an empty line, an error as
// its text followed by an empty line. --no-raw forces the terminal format:
// "(integer) 1", "(nil)", "(error) ERR ...".

const cliUsersDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true}}}`

func TestCLIPing(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "PONG\n"},
		{[]string{"--no-raw", "PING"}, "PONG\n"},
		{[]string{"PING", "hello there"}, "hello there\n"},
		{[]string{"--no-raw", "ECHO", "a b"}, "\"a b\"\n"},
		{[]string{"SELECT", "0"}, "OK\n"},
		{[]string{"DBSIZE"}, "0\n"},
		{[]string{"--no-raw", "DBSIZE"}, "(integer) 0\n"},
	}
	for _, tc := range cases {
		if got := s.CLI(t, tc.args...); got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestCLIBucketSession(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	if got := s.CLI(t, "BUCKET.DEFINE", "users", cliUsersDef); got != "OK\n" {
		t.Fatalf("BUCKET.DEFINE = %q", got)
	}
	inserted := s.CLI(t, "B.INSERT", "users", `{"id":"u1","name":"Ann Lee"}`)
	var rec map[string]any
	if err := json.Unmarshal([]byte(inserted), &rec); err != nil || !strings.HasSuffix(inserted, "}\n") || strings.Count(inserted, "\n") != 1 {
		t.Fatalf("B.INSERT printed %q (%v), want one JSON line", inserted, err)
	}
	if rec["id"] != "u1" || rec["name"] != "Ann Lee" || rec["_version"] != 1.0 {
		t.Fatalf("B.INSERT record = %v", rec)
	}
	if got := s.CLI(t, "B.GET", "users", "u1"); got != inserted {
		t.Fatalf("B.GET = %q, want the inserted record %q", got, inserted)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"B.GET", "users", "nope"}, "\n"},
		{[]string{"--no-raw", "B.GET", "users", "nope"}, "(nil)\n"},
		{[]string{"BUCKET.LIST"}, "users\n"},
		{[]string{"--no-raw", "BUCKET.LIST"}, "1) \"users\"\n"},
		{[]string{"DBSIZE"}, "1\n"},
		{[]string{"B.INSERT", "users", `{"id":"u1","name":"Again"}`}, "EXISTS Record with key \"u1\" already exists in bucket \"users\"\n\n"},
	}
	for _, tc := range cases {
		if got := s.CLI(t, tc.args...); got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestCLIStdinScript(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	script := strings.Join([]string{
		"PING",
		`BUCKET.DEFINE users '` + cliUsersDef + `'`,
		`B.INSERT users '{"id":"u1","name":"Ann"}'`,
		`B.INSERT users '{"id":"u2","name":"Bob"}'`,
		"B.COUNT users",
		"DBSIZE",
		"B.GET users nope",
		"FOO x",
		`ECHO "a b"`,
		"FLUSHALL",
		"DBSIZE",
		"BUCKET.LIST",
	}, "\n") + "\n"
	got := s.CLIStdin(t, script)
	lines := strings.Split(got, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[2], `{"id":"u1","name":"Ann","_version":1,`) || !strings.HasPrefix(lines[3], `{"id":"u2","name":"Bob","_version":1,`) {
		t.Fatalf("redis-cli output:\n%s", got)
	}
	lines[2], lines[3] = "<u1>", "<u2>"
	want := strings.Join([]string{
		"PONG",
		"OK",
		"<u1>",
		"<u2>",
		"2",
		"2",
		"",
		"ERR unknown command 'FOO', with args beginning with: 'x' ",
		"",
		"a b",
		"OK",
		"0",
		"users",
		"",
	}, "\n")
	if joined := strings.Join(lines, "\n"); joined != want {
		t.Fatalf("redis-cli output:\n%s\nwant:\n%s", joined, want)
	}
}

func TestCLIResp3(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	hello := s.CLI(t, "-3", "HELLO")
	if !regexp.MustCompile(`^server bucketd\nversion 7\.2\.0\nproto 3\nid [0-9]+\nmode standalone\nrole master\nmodules \n$`).MatchString(hello) {
		t.Errorf("redis-cli -3 HELLO = %q", hello)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-3", "CONFIG", "GET", "maxclients"}, "maxclients 10000\n"},
		{[]string{"-3", "--no-raw", "CONFIG", "GET", "maxclients"}, "1# \"maxclients\" => \"10000\"\n"},
		{[]string{"-3", "--no-raw", "CLIENT", "GETNAME"}, "(nil)\n"},
		{[]string{"-3", "PING"}, "PONG\n"},
		{[]string{"-3", "HELLO", "4"}, "NOPROTO unsupported protocol version\n\n"},
	} {
		if got := s.CLI(t, tc.args...); got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	for args, want := range map[string]string{"-3": "3", "-2": "2"} {
		f := cxClientFields(s.CLI(t, args, "CLIENT", "INFO"))
		if f["resp"] != want || f["cmd"] == "" {
			t.Errorf("redis-cli %s CLIENT INFO: resp=%q, want %s (%v)", args, f["resp"], want, f)
		}
	}
}

func TestCLIInfo(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	out := s.CLI(t, "INFO", "server")
	if !strings.HasPrefix(out, "# Server\r\nredis_version:7.2.0\r\n") || !strings.Contains(out, "\r\nredis_mode:standalone\r\n") || strings.Contains(out, "# Clients") {
		t.Errorf("redis-cli INFO server = %q", out)
	}
	if out := s.CLI(t, "-3", "INFO", "server"); !strings.HasPrefix(out, "# Server\r\nredis_version:7.2.0\r\n") {
		t.Errorf("redis-cli -3 INFO server = %q (the verbatim txt: prefix must not show)", out)
	}
	if out := s.CLI(t, "INFO"); !strings.Contains(out, "\r\nconnected_clients:1\r\n") || !strings.Contains(out, "# Buckets\r\nbuckets:0\r\n") {
		t.Errorf("redis-cli INFO = %q", out)
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	s := Start(t)
	redisCLI(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"FOO", "a", "b"}, "ERR unknown command 'FOO', with args beginning with: 'a' 'b' \n\n"},
		{[]string{"--no-raw", "FOO", "a", "b"}, "(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' \n"},
		{[]string{"B.GET", "x"}, "ERR wrong number of arguments for 'b.get' command\n\n"},
		{[]string{"--no-raw", "B.GET", "nobucket", "k"}, "(error) NOBUCKET Bucket \"nobucket\" is not defined\n"},
		{[]string{"--no-raw", "CLIENT", "FOO"}, "(error) ERR unknown subcommand 'FOO'. Try CLIENT HELP.\n"},
		{[]string{"--no-raw", "SELECT", "1"}, "(error) ERR DB index is out of range\n"},
	}
	for _, tc := range cases {
		if got := s.CLI(t, tc.args...); got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestCLIAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "pw")
	redisCLI(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-a", "pw", "--no-auth-warning", "PING"}, "PONG\n"},
		{[]string{"--user", "default", "--pass", "pw", "--no-auth-warning", "ECHO", "in"}, "in\n"},
		{[]string{"PING"}, "NOAUTH Authentication required.\n\n"},
		{[]string{"--no-raw", "PING"}, "(error) NOAUTH Authentication required.\n"},
	}
	for _, tc := range cases {
		if got := s.CLI(t, tc.args...); got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	got := s.CLIStdin(t, "AUTH wrong\nPING\nAUTH pw\nPING\n")
	if want := "WRONGPASS invalid username-password pair or user is disabled.\n\nNOAUTH Authentication required.\n\nOK\nPONG\n"; !reflect.DeepEqual(got, want) {
		t.Errorf("redis-cli script = %q, want %q", got, want)
	}
}
