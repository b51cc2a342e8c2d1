package tests

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// flRun runs the server binary with args (plus a fresh --dir) and expects it
// to exit by itself within 20s; it returns the exit code and stderr.
func flRun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, binPath, append([]string{"--dir", t.TempDir()}, args...)...)
	cmd.Env = serverEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if c.Err() != nil {
		t.Fatalf("bucketd %v still running after 20s:\n%s", args, stderr.String())
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("bucketd %v: %v", args, err)
		}
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestFlagsPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	code, stderr := flRun(t, "--bind", "127.0.0.1", "--port", port)
	want := "address 127.0.0.1:" + port + " is in use: is another server (Redis?) running? use --port"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("exit code %d, stderr:\n%s\nwant exit code 1 and %q", code, stderr, want)
	}
}

func TestFlagsBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--appendonly", "maybe"}, `invalid value "maybe" for flag -appendonly: argument must be 'yes' or 'no'`},
		{[]string{"--load-huge-pages", "some"}, `invalid value "some" for flag -load-huge-pages: argument must be 'yes' or 'no'`},
		{[]string{"--appendfsync", "sometimes"}, `invalid value "sometimes" for flag -appendfsync: argument(s) must be one of the following: always, everysec, no`},
		{[]string{"--loglevel", "loud"}, `invalid value "loud" for flag -loglevel: argument(s) must be one of the following: debug, info, warn, error`},
		{[]string{"--port", "abc"}, `invalid value "abc" for flag -port`},
		{[]string{"--proto-max-bulk-len", "lots"}, `invalid value "lots" for flag -proto-max-bulk-len: argument must be a memory value`},
		{[]string{"--ttl-interval", "0s"}, `invalid value "0s" for flag -ttl-interval: argument must be a positive duration`},
		{[]string{"--threads", "-1"}, `invalid value "-1" for flag -threads: argument must be auto, or 0 (Go's default) or more`},
		{[]string{"--threads", "many"}, `invalid value "many" for flag -threads: argument must be auto, or 0 (Go's default) or more`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `bucketd: unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stderr := flRun(t, append([]string{"--port", "0", "--bind", "127.0.0.1"}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit code %d, stderr:\n%s\nwant a non-zero exit and %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, "ready to accept connections") {
				t.Fatalf("the server started despite a bad flag:\n%s", stderr)
			}
		})
	}
}

// --version (and -v, as redis-server has it) prints the version and the
// Redis version bucketd speaks, and exits.
func TestFlagsVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--version", "-v"} {
		out, err := exec.Command(binPath, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, out)
		}
		if want := "bucketd v=0.1.0 redis_version=7.2.0 go="; !strings.HasPrefix(string(out), want) {
			t.Errorf("%s printed %q, want it to start with %q", arg, out, want)
		}
	}
	r := newRC(t, Start(t), 2)
	info := r.str("INFO", "server")
	for _, want := range []string{"redis_version:7.2.0", "bucketd_version:0.1.0"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO server lacks %s:\n%s", want, info)
		}
	}
}

func TestFlagsSignals(t *testing.T) {
	t.Parallel()
	s := Start(t)
	rc := s.Raw(t)
	if got := rc.Do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING = %q", got)
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	log := s.Log()
	if !strings.Contains(log, `"signal":"terminated"`) || !strings.Contains(log, `"message":"bye"`) {
		t.Fatalf("log lacks the signal and bye lines:\n%s", log)
	}
	if !rc.Closed(5 * time.Second) {
		t.Fatal("a client connection is still open after the server stopped")
	}
}

func TestFlagsShutdownCommand(t *testing.T) {
	t.Parallel()
	s := Start(t)
	other := s.Raw(t)
	rc := s.Raw(t)
	if got := rc.Do("SHUTDOWN", "BOGUS"); got != "-ERR syntax error\r\n" {
		t.Fatalf("SHUTDOWN BOGUS = %q", got)
	}
	rc.Send(pxCommand("SHUTDOWN", "NOSAVE"))
	if got, err := rc.ReadErr(10 * time.Second); got != "" || err == nil || isTimeout(err) {
		t.Fatalf("SHUTDOWN: read (%q, %v), want the connection closed without a reply", got, err)
	}
	if code := s.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code after SHUTDOWN = %d, want 0\n%s", code, s.Log())
	}
	if !other.Closed(5 * time.Second) {
		t.Fatal("another client's connection is still open after SHUTDOWN")
	}
	if log := s.Log(); !strings.Contains(log, `"message":"SHUTDOWN requested by a client"`) || !strings.Contains(log, `"message":"bye"`) {
		t.Fatalf("log lacks the shutdown lines:\n%s", log)
	}
}

func TestFlagsRequirePass(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "pw")
	for _, proto := range cxProtos {
		with := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: proto, Password: "pw", MaxRetries: -1})
		defer with.Close()
		if got, err := with.Echo(ctx(t), "x").Result(); err != nil || got != "x" {
			t.Errorf("resp%d ECHO with the password: %q %v", proto, got, err)
		}
		if err := s.Client(t, proto).Echo(ctx(t), "x").Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
			t.Errorf("resp%d ECHO without the password: %v", proto, err)
		}
	}
	if got := s.Raw(t).Do("CONFIG", "GET", "requirepass"); got != "-NOAUTH Authentication required.\r\n" {
		t.Errorf("CONFIG GET before AUTH = %q", got)
	}
}

// TestFlagsConfigGet checks that CONFIG GET reports the flags given.
func TestFlagsConfigGet(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendonly", "no", "--maxclients", "50", "--slowlog-max-len", "7", "--slowlog-log-slower-than", "5",
		"--proto-max-bulk-len", "2mb", "--client-query-buffer-limit", "4mb", "--client-output-buffer-limit", "pubsub 1mb 512kb 10")
	cases := []struct {
		pattern []any
		want    map[string]string
	}{
		{[]any{"*max*"}, map[string]string{"maxclients": "50", "proto-max-bulk-len": "2097152", "slowlog-max-len": "7", "script-max-memory": "268435456"}},
		{[]any{"save"}, map[string]string{"save": ""}},
		{[]any{"appendonly"}, map[string]string{"appendonly": "no"}},
		{[]any{"APPENDFSYNC"}, map[string]string{"appendfsync": "everysec"}},
		{[]any{"slowlog-*"}, map[string]string{"slowlog-log-slower-than": "5", "slowlog-max-len": "7"}},
		{[]any{"client-*"}, map[string]string{"client-query-buffer-limit": "4194304",
			"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"}},
		{[]any{"databases", "maxclients", "max*"}, map[string]string{"databases": "1", "maxclients": "50"}},
		{[]any{"nosuch"}, map[string]string{}},
	}
	for _, proto := range cxProtos {
		c := s.Client(t, proto)
		for _, tc := range cases {
			got, err := c.Do(ctx(t), append([]any{"CONFIG", "GET"}, tc.pattern...)...).Result()
			if err != nil {
				t.Fatalf("resp%d CONFIG GET %v: %v", proto, tc.pattern, err)
			}
			m := map[string]string{}
			switch v := got.(type) {
			case map[any]any:
				for k, val := range v {
					m[k.(string)] = val.(string)
				}
			case []any:
				if proto == 3 {
					t.Errorf("resp3 CONFIG GET %v is an array, want a map", tc.pattern)
				}
				for i := 0; i+1 < len(v); i += 2 {
					m[v[i].(string)] = v[i+1].(string)
				}
			}
			if !reflect.DeepEqual(m, tc.want) {
				t.Errorf("resp%d CONFIG GET %v = %v, want %v", proto, tc.pattern, m, tc.want)
			}
		}
	}
}

func TestFlagsConfigSet(t *testing.T) {
	t.Parallel()
	s := Start(t)
	rc := s.Raw(t)
	failed := func(name, why string) string {
		return "-ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + why + "\r\n"
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"CONFIG", "SET", "maxclients", "5"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "maxclients"}, "*2\r\n$10\r\nmaxclients\r\n$1\r\n5\r\n"},
		{[]string{"CONFIG", "SET", "MAXCLIENTS", "6"}, "+OK\r\n"},
		{[]string{"CONFIG", "SET", "slowlog-log-slower-than", "0"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "slowlog-log-slower-than"}, "*2\r\n" + pxBulk("slowlog-log-slower-than") + "$1\r\n0\r\n"},
		{[]string{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 10"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "client-output-buffer-limit"}, "*2\r\n" + pxBulk("client-output-buffer-limit") + pxBulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10")},
		{[]string{"CONFIG", "SET", "proto-max-bulk-len", "2mb"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "proto-max-bulk-len"}, "*2\r\n" + pxBulk("proto-max-bulk-len") + pxBulk("2097152")},
		{[]string{"CONFIG", "SET", "proto-max-bulk-len", "1000"}, failed("proto-max-bulk-len", "argument must be a memory value bigger than 1mb")},
		{[]string{"CONFIG", "SET", "proto-max-bulk-len", "lots"}, failed("proto-max-bulk-len", "argument must be a memory value")},
		{[]string{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb"}, failed("client-output-buffer-limit", "Wrong number of arguments in buffer limit configuration.")},
		{[]string{"CONFIG", "SET", "client-output-buffer-limit", "bogus 1 1 1"}, failed("client-output-buffer-limit", "Invalid client class specified in buffer limit configuration.")},
		{[]string{"CONFIG", "SET", "client-output-buffer-limit", "normal 4mb 2mb 3 replica 8mb 4mb 9"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "client-output-buffer-limit"}, "*2\r\n" + pxBulk("client-output-buffer-limit") + pxBulk("normal 4194304 2097152 3 slave 8388608 4194304 9 pubsub 1048576 524288 10")},
		{[]string{"CONFIG", "SET", "maxclients", "abc"}, failed("maxclients", "argument couldn't be parsed into an integer")},
		{[]string{"CONFIG", "SET", "maxclients", "0"}, failed("maxclients", "argument must be between 1 and 4294967295 inclusive")},
		{[]string{"CONFIG", "SET", "nosuch", "1"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"},
		{[]string{"CONFIG", "SET", "port", "1234"}, failed("port", "can't set immutable config")},
		{[]string{"CONFIG", "SET", "bind", "0.0.0.0"}, failed("bind", "can't set immutable config")},
		{[]string{"CONFIG", "GET", "load-huge-pages"}, "*2\r\n" + pxBulk("load-huge-pages") + pxBulk("yes")},
		{[]string{"CONFIG", "SET", "load-huge-pages", "no"}, failed("load-huge-pages", "can't set immutable config")},
		{[]string{"CONFIG", "SET", "load-huge-pages", "yes"}, "+OK\r\n"}, // its own value
		{[]string{"CONFIG", "SET", "appendonly", "no"}, "+OK\r\n"},       // its own value
		{[]string{"CONFIG", "SET", "appendonly", "maybe"}, failed("appendonly", "argument must be 'yes' or 'no'")},
		// All or nothing: a bad parameter leaves the good one unchanged.
		{[]string{"CONFIG", "SET", "maxclients", "7", "port", "1"}, failed("port", "can't set immutable config")},
		{[]string{"CONFIG", "SET", "maxclients", "7", "maxclients", "8"}, failed("maxclients", "duplicate parameter")},
		{[]string{"CONFIG", "GET", "maxclients"}, "*2\r\n$10\r\nmaxclients\r\n$1\r\n6\r\n"},
		{[]string{"CONFIG", "SET", "maxclients"}, "-ERR wrong number of arguments for 'config|set' command\r\n"},
		{[]string{"CONFIG", "SET", "maxclients", "5", "slowlog-max-len"}, "-ERR wrong number of arguments for 'config|set' command\r\n"},
		{[]string{"CONFIG", "FOO"}, "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"},
		{[]string{"CONFIG", "REWRITE"}, "-ERR The server is running without a config file\r\n"},
	}
	for i, st := range steps {
		if st.args == nil {
			for _, e := range obsSlowlog(t, rc, "-1") {
				if strings.Join(e.args, " ") != "PING" {
					t.Fatalf("step %d: with slowlog-max-len 3 after 4 PINGs the log holds %+v", i, e)
				}
			}
			continue
		}
		if got := rc.Do(st.args...); got != st.want {
			t.Fatalf("step %d %v:\ngot  %q\nwant %q", i, st.args, got, st.want)
		}
	}
}

// TestFlagsConfigSetTakesEffect checks that CONFIG SET changes what the
// server does, not only what CONFIG GET says.
func TestFlagsConfigSetTakesEffect(t *testing.T) {
	t.Parallel()
	s := Start(t)
	admin := s.Raw(t)
	t.Run("maxclients", func(t *testing.T) {
		if got := admin.Do("CONFIG", "SET", "maxclients", "1"); got != "+OK\r\n" {
			t.Fatalf("CONFIG SET maxclients 1 = %q", got)
		}
		extra := s.Raw(t)
		if got, err := extra.ReadErr(5 * time.Second); got != "-ERR max number of clients reached\r\n" || err != nil {
			t.Fatalf("connection over maxclients read (%q, %v)", got, err)
		}
		if !extra.Closed(5 * time.Second) {
			t.Fatal("connection over maxclients not closed")
		}
		if got := admin.Do("CONFIG", "SET", "maxclients", "100"); got != "+OK\r\n" {
			t.Fatalf("CONFIG SET maxclients 100 = %q", got)
		}
		if got := s.Raw(t).Do("PING"); got != "+PONG\r\n" {
			t.Fatalf("PING after raising maxclients = %q", got)
		}
		if info := pxText(t, admin.Do("INFO", "stats")); !strings.Contains(info, "\r\nrejected_connections:1\r\n") {
			t.Fatalf("INFO stats:\n%s", info)
		}
	})
	t.Run("proto-max-bulk-len", func(t *testing.T) {
		if got := admin.Do("CONFIG", "SET", "proto-max-bulk-len", "1mb"); got != "+OK\r\n" {
			t.Fatalf("CONFIG SET = %q", got)
		}
		rc := s.Raw(t)
		rc.Send("*2\r\n$4\r\nECHO\r\n$2000000\r\n")
		if got := rc.Read(); got != "-ERR Protocol error: invalid bulk length\r\n" {
			t.Fatalf("bulk over the new limit: %q", got)
		}
		if !rc.Closed(5 * time.Second) {
			t.Fatal("connection not closed after the protocol error")
		}
		big := strings.Repeat("b", 1<<20)
		if got := s.Raw(t).Do("ECHO", big); got != pxBulk(big) {
			t.Fatalf("a bulk of exactly 1mb was refused: %.80q", got)
		}
	})
}

func TestFlagsSlowlog(t *testing.T) {
	t.Parallel()
	s := Start(t, "--slowlog-log-slower-than", "-1")
	rc := s.Raw(t)
	addr := rc.LocalAddr().String()
	for _, args := range [][]string{{"CONFIG", "SET", "slowlog-log-slower-than", "0"}, {"SLOWLOG", "RESET"}, {"CLIENT", "SETNAME", "slowpoke"}} {
		if got := rc.Do(args...); got != "+OK\r\n" {
			t.Fatalf("%v = %q", args, got)
		}
	}
	rc.Do("ECHO", "hello")
	// Like Redis, SLOWLOG RESET itself is the first entry after a reset.
	if got := rc.Do("SLOWLOG", "LEN"); got != ":3\r\n" {
		t.Fatalf("SLOWLOG LEN = %q, want 3 (SLOWLOG RESET, CLIENT SETNAME, ECHO)", got)
	}
	two := obsSlowlog(t, rc, "2")
	if len(two) != 2 || !reflect.DeepEqual(two[0].args, []string{"SLOWLOG", "LEN"}) || !reflect.DeepEqual(two[1].args, []string{"ECHO", "hello"}) {
		t.Fatalf("SLOWLOG GET 2 = %+v", two)
	}
	for _, e := range two {
		if e.addr != addr || e.name != "slowpoke" || e.micros < 0 || e.at < time.Now().Unix()-10 || e.at > time.Now().Unix()+10 {
			t.Errorf("entry %+v: want addr %s, name slowpoke, a recent time", e, addr)
		}
	}
	all := obsSlowlog(t, rc, "-1")
	var names []string
	for i, e := range all {
		names = append(names, strings.Join(e.args, " "))
		if i > 0 && e.id >= all[i-1].id {
			t.Errorf("ids not decreasing: %d then %d", all[i-1].id, e.id)
		}
	}
	want := []string{"SLOWLOG GET 2", "SLOWLOG LEN", "ECHO hello", "CLIENT SETNAME slowpoke", "SLOWLOG RESET"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("SLOWLOG GET -1 = %q, want %q", names, want)
	}

	for _, proto := range cxProtos {
		logs, err := s.Client(t, proto).SlowLogGet(ctx(t), -1).Result()
		if err != nil {
			t.Fatalf("resp%d SLOWLOG GET: %v", proto, err)
		}
		found := false
		for _, l := range logs {
			if reflect.DeepEqual(l.Args, []string{"ECHO", "hello"}) && l.ClientAddr == addr && l.ClientName == "slowpoke" {
				found = true
			}
		}
		if !found {
			t.Errorf("resp%d SLOWLOG GET lacks the ECHO entry: %+v", proto, logs)
		}
	}

	steps := []struct {
		args []string
		want string
	}{
		{[]string{"CONFIG", "SET", "slowlog-max-len", "3"}, "+OK\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{nil, ""}, // the log keeps the newest 3: the PINGs
		{[]string{"SLOWLOG", "LEN"}, ":3\r\n"},
		{[]string{"CONFIG", "SET", "slowlog-log-slower-than", "-1"}, "+OK\r\n"},
		{[]string{"SLOWLOG", "RESET"}, "+OK\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"SLOWLOG", "LEN"}, ":0\r\n"},
		{[]string{"SLOWLOG", "GET"}, "*0\r\n"},
		{[]string{"SLOWLOG", "GET", "-2"}, "-ERR count should be greater than or equal to -1\r\n"},
		{[]string{"SLOWLOG", "FOO"}, "-ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.\r\n"},
	}
	for i, st := range steps {
		if st.args == nil {
			for _, e := range obsSlowlog(t, rc, "-1") {
				if strings.Join(e.args, " ") != "PING" {
					t.Fatalf("step %d: with slowlog-max-len 3 after 4 PINGs the log holds %+v", i, e)
				}
			}
			continue
		}
		if got := rc.Do(st.args...); got != st.want {
			t.Fatalf("step %d %v: got %q, want %q", i, st.args, got, st.want)
		}
	}

	// Like Redis: at most 32 arguments (the last says how many more) and
	// each cut at 128 bytes.
	rc.Do("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "10")
	long := strings.Repeat("x", 200)
	rc.Do("ECHO", long)
	list := []string{"CLIENT", "LIST", "ID"}
	for i := 1; i <= 37; i++ {
		list = append(list, strconv.Itoa(i))
	}
	rc.Do(list...)
	last := obsSlowlog(t, rc, "2")
	if len(last) != 2 {
		t.Fatalf("SLOWLOG GET 2 = %+v", last)
	}
	if want := append(list[:31:31], "... (9 more arguments)"); !reflect.DeepEqual(last[0].args, want) {
		t.Errorf("entry of a 40-argument command = %q, want %q", last[0].args, want)
	}
	if want := []string{"ECHO", long[:128] + "... (72 more bytes)"}; !reflect.DeepEqual(last[1].args, want) {
		t.Errorf("entry of a 200-byte argument = %q, want %q", last[1].args, want)
	}
}

// TestFlagsSlowlogRedactsSecrets checks that passwords never reach the slow
// log: Redis 7 replaces them with "(redacted)" (redactClientCommandArgument
// in authCommand, helloCommand and CONFIG SET of sensitive configs such as
// requirepass; see Redis's tests/unit/slowlog.tcl).
func TestFlagsSlowlogRedactsSecrets(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "s3cret", "--slowlog-log-slower-than", "0")
	rc := s.Raw(t)
	for _, args := range [][]string{{"AUTH", "s3cret"}, {"AUTH", "default", "s3cret"}, {"CONFIG", "SET", "requirepass", "n3wpass"}} {
		if got := rc.Do(args...); got != "+OK\r\n" {
			t.Fatalf("%v = %q", args, got)
		}
	}
	if got := rc.Do("HELLO", "2", "AUTH", "default", "n3wpass"); !strings.HasPrefix(got, "*14\r\n") {
		t.Fatalf("HELLO 2 AUTH = %q", got)
	}
	v, _ := parseReply(t, rc.Do("SLOWLOG", "GET", "-1"))
	var got []string
	for _, e := range v.([]any) {
		var a []string
		for _, x := range e.([]any)[3].([]any) {
			a = append(a, x.(string))
		}
		got = append(got, strings.Join(a, " "))
	}
	want := []string{
		"HELLO 2 AUTH (redacted) (redacted)",
		"CONFIG SET requirepass (redacted)",
		"AUTH (redacted) (redacted)",
		"AUTH (redacted)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SLOWLOG GET -1 =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if all := fmt.Sprint(got); strings.Contains(all, "s3cret") || strings.Contains(all, "n3wpass") {
		t.Errorf("a password is in the slow log: %q", got)
	}
}

// TestFlagsThreads: --threads fixes how many CPUs run the server's code,
// which INFO server reports; by default Go chooses (threads_mode:default);
// with --threads auto the number follows the load, and an idle server
// comes down to one.
func TestFlagsThreads(t *testing.T) {
	t.Parallel()
	s := Start(t, "--threads", "1")
	info := obsInfo(t, s.Raw(t), "server")
	if info["threads"] != "1" || info["threads_mode"] != "fixed" {
		t.Errorf("INFO threads:%s threads_mode:%s with --threads 1, want 1 and fixed", info["threads"], info["threads_mode"])
	}
	if _, ok := info["threads_changes"]; ok {
		t.Errorf("INFO shows threads_changes with fixed threads")
	}

	def := Start(t)
	info = obsInfo(t, def.Raw(t), "server")
	if info["threads_mode"] != "default" || info["threads"] != strconv.Itoa(runtime.GOMAXPROCS(0)) {
		t.Errorf("INFO threads:%s threads_mode:%s by default, want %d and default", info["threads"], info["threads_mode"], runtime.GOMAXPROCS(0))
	}

	auto := Start(t, "--threads", "auto")
	conn := auto.Raw(t)
	info = obsInfo(t, conn, "server")
	if info["threads_mode"] != "auto" {
		t.Fatalf("INFO threads_mode:%s with --threads auto, want auto", info["threads_mode"])
	}
	if runtime.NumCPU() == 1 {
		return
	}
	// Idle, it runs on one CPU within a few seconds (the tuner first waits
	// a second, then averages a second).
	// The tuner sets GOMAXPROCS, then counts the change: an INFO between the
	// two sees threads:1 and threads_changes:0, so both are polled together.
	eventually(t, 20*time.Second, "an idle server to come down to one thread, and count the change", func() bool {
		info = obsInfo(t, conn, "server")
		return info["threads"] == "1" && info["threads_changes"] != "0"
	})
}

// TestGCPercent: --gc-percent and CONFIG SET gc-percent set the Go
// collector's GOGC, as INFO memory's gc_percent (read from the runtime)
// shows; bad values are refused and change nothing. INFO cpu has the
// collector's CPU time.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	s := Start(t, "--gc-percent", "300")
	c := s.Client(t, 2)
	gc := func() string { return infoFields(t, c, "memory")["gc_percent"] }
	if got := gc(); got != "300" {
		t.Fatalf("gc_percent after --gc-percent 300: %q", got)
	}
	if err := c.ConfigSet(ctx(t), "gc-percent", "150").Err(); err != nil {
		t.Fatal(err)
	}
	if got, cfg := gc(), c.ConfigGet(ctx(t), "gc-percent").Val()["gc-percent"]; got != "150" || cfg != "150" {
		t.Fatalf("after CONFIG SET gc-percent 150: gc_percent %q, CONFIG GET %q", got, cfg)
	}
	for _, bad := range []string{"5", "10001", "lots", ""} {
		err := c.ConfigSet(ctx(t), "gc-percent", bad).Err()
		if err == nil || !strings.Contains(err.Error(), "gc-percent") {
			t.Errorf("CONFIG SET gc-percent %q: %v", bad, err)
		}
		if got := gc(); got != "150" {
			t.Errorf("after a refused CONFIG SET gc-percent %q: gc_percent %q", bad, got)
		}
	}
	// The runtime updates its CPU estimates when a collection ends.
	if err := c.Do(ctx(t), "MEMORY", "PURGE").Err(); err != nil {
		t.Fatal(err)
	}
	cpu := infoFields(t, c, "cpu")
	busy, err1 := strconv.ParseFloat(cpu["used_cpu_busy"], 64)
	gcs, err2 := strconv.ParseFloat(cpu["used_cpu_gc"], 64)
	if err1 != nil || err2 != nil || busy <= 0 || gcs < 0 || gcs > busy {
		t.Errorf("used_cpu_busy %q, used_cpu_gc %q", cpu["used_cpu_busy"], cpu["used_cpu_gc"])
	}
}
