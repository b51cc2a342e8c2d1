package tests

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What Redis's tools use beside the data commands: MONITOR, CLIENT REPLY,
// CLIENT PAUSE and UNPAUSE, CLIENT NO-EVICT and NO-TOUCH, over a real
// socket and redis-cli.

// monitorLine is one MONITOR line: time, client, arguments.
var monitorLine = regexp.MustCompile(`^\+\d+\.\d{6} \[0 (lua|127\.0\.0\.1:\d+)\] (.*)\r\n$`)

func TestMonitor(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	mon := s.Raw(t)
	eq(t, "MONITOR", mon.Do("MONITOR"), "+OK\r\n")
	next := func() (client, args string) {
		t.Helper()
		line := mon.Read()
		m := monitorLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("MONITOR line %q", line)
		}
		return m[1], m[2]
	}
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			client, args := next()
			if got := client + " " + args; !strings.HasSuffix(got, w) || (strings.HasPrefix(w, "lua") != (client == "lua")) {
				t.Fatalf("MONITOR: got %q, want %q", got, w)
			}
		}
	}

	c := s.Raw(t)
	c.Do("PING")
	c.Do("B.INSERT", "users", `{"id":"a","name":"A \"q\"\n"}`)
	c.Do("GET", "users:a")
	expect(`"PING"`, `"B.INSERT" "users" "{\"id\":\"a\",\"name\":\"A \\\"q\\\"\\n\"}"`, `"GET" "users:a"`)
	// Bytes that are not printable ASCII as \xHH.
	c.Do("ECHO", "\x01é")
	expect(`"ECHO" "\x01\xc3\xa9"`)

	// Passwords are redacted, failed or not; admin commands are not sent;
	// refused commands (unknown, arity) are not sent.
	c.Do("AUTH", "not-real")
	c.Do("AUTH", "user", "not-a-password")
	c.Do("HELLO", "2", "AUTH", "user", "pw")
	c.Do("CONFIG", "GET", "port")
	c.Do("NOSUCH")
	c.Do("GET")
	c.Do("ECHO", "after")
	expect(`"AUTH" "(redacted)"`, `"AUTH" "(redacted)" "(redacted)"`, `"HELLO" "2" "AUTH" "(redacted)" "(redacted)"`, `"ECHO" "after"`)

	// A script before its commands, which say lua.
	c.Do("EVAL", "return redis.call('EXISTS', KEYS[1])", "1", "users:a")
	expect(`"EVAL" "return redis.call('EXISTS', KEYS[1])" "1" "users:a"`, `lua "EXISTS" "users:a"`)

	// MULTI, the queued commands when EXEC runs them, then EXEC; an
	// aborted EXEC too.
	c.Do("MULTI")
	c.Do("EXISTS", "users:a")
	c.Do("B.COUNT", "users")
	c.Do("EXEC")
	expect(`"MULTI"`, `"EXISTS" "users:a"`, `"B.COUNT" "users"`, `"EXEC"`)
	c.Do("MULTI")
	c.Do("NOSUCH")
	c.Do("EXEC")
	expect(`"MULTI"`, `"EXEC"`)

	// RESET ends it.
	eq(t, "RESET", mon.Do("RESET"), "+RESET\r\n")
	c.Do("ECHO", "unseen")
	eq(t, "PING after RESET", mon.Do("PING"), "+PONG\r\n")

	// redis-cli's MONITOR mode.
	host, port, _ := net.SplitHostPort(s.Addr)
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cx, redisCLI(t), "-h", host, "-p", port, "MONITOR")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "OK" {
		t.Fatalf("redis-cli MONITOR began with %q", lines.Text())
	}
	c.Do("ECHO", "seen by redis-cli")
	for lines.Scan() {
		if strings.HasSuffix(lines.Text(), `"ECHO" "seen by redis-cli"`) {
			return
		}
	}
	t.Fatalf("redis-cli MONITOR did not show the ECHO: %v", lines.Err())
}

func TestClientReply(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Raw(t)
	// OFF silences every reply, its own too, until ON.
	c.Send("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*2\r\n$4\r\nPING\r\n$1\r\na\r\n*2\r\n$4\r\nPING\r\n$1\r\nb\r\n")
	eq(t, "CLIENT REPLY ON", c.Do("CLIENT", "REPLY", "ON"), "+OK\r\n")
	eq(t, "PING c", c.Do("PING", "c"), "$1\r\nc\r\n")
	// SKIP silences its own reply and the next command's.
	c.Send("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*2\r\n$4\r\nPING\r\n$1\r\nd\r\n")
	eq(t, "PING e", c.Do("PING", "e"), "$1\r\ne\r\n")
	// ON right after SKIP answers OK.
	c.Send("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n")
	eq(t, "CLIENT REPLY ON after SKIP", c.Do("CLIENT", "REPLY", "ON"), "+OK\r\n")
	eq(t, "PING", c.Do("PING"), "+PONG\r\n")
	// An error is silenced too; a bad mode is an error.
	c.Send("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*1\r\n$6\r\nNOSUCH\r\n")
	eq(t, "bad mode", c.Do("CLIENT", "REPLY", "LOUD"), "-ERR syntax error\r\n")
	eq(t, "wrong arity", c.Do("CLIENT", "REPLY"), "-ERR wrong number of arguments for 'client|reply' command\r\n")
	// NO-EVICT and NO-TOUCH are accepted.
	for _, sub := range []string{"NO-EVICT", "NO-TOUCH"} {
		eq(t, sub+" on", c.Do("CLIENT", sub, "on"), "+OK\r\n")
		eq(t, sub+" OFF", c.Do("CLIENT", sub, "OFF"), "+OK\r\n")
		eq(t, sub+" maybe", c.Do("CLIENT", sub, "maybe"), "-ERR syntax error\r\n")
	}
}

func TestClientPause(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"CLIENT", "PAUSE", "abc"}, "ERR timeout is not an integer or out of range"},
		{[]any{"CLIENT", "PAUSE", "-1"}, "ERR timeout is negative"},
		{[]any{"CLIENT", "PAUSE", "10", "NONE"}, "ERR CLIENT PAUSE mode must be WRITE or ALL"},
		{[]any{"CLIENT", "PAUSE", "10", "ALL", "x"}, "ERR syntax error"},
		{[]any{"CLIENT", "PAUSE"}, "ERR wrong number of arguments for 'client|pause' command"},
	} {
		r.err(c.want, c.args...)
	}

	// WRITE: reads go on, a write waits for UNPAUSE.
	r.ok("CLIENT", "PAUSE", "60000", "WRITE")
	w := s.Raw(t)
	w.Send("*3\r\n$8\r\nB.INSERT\r\n$5\r\nusers\r\n$10\r\n{\"id\":\"a\"}\r\n")
	reader := s.Raw(t)
	eq(t, "a read while writes are paused", reader.Do("EXISTS", "users:a"), ":0\r\n")
	eventually(t, 5*time.Second, "the write waits (blocked_clients:1)", func() bool {
		return strings.Contains(r.str("INFO", "clients"), "blocked_clients:1\r\n")
	})
	// A shorter pause does not shorten the one under way.
	r.ok("CLIENT", "PAUSE", "1", "WRITE")
	time.Sleep(20 * time.Millisecond) // past the shorter pause: the write must still wait
	eq(t, "still paused", reader.Do("EXISTS", "users:a"), ":0\r\n")
	r.ok("CLIENT", "UNPAUSE")
	if got := w.Read(); !strings.HasPrefix(got, "$") {
		t.Fatalf("the paused write after UNPAUSE: %q", got)
	}
	eq(t, "after UNPAUSE", reader.Do("EXISTS", "users:a"), ":1\r\n")

	// ALL: every command waits until the pause ends by itself.
	r.ok("CLIENT", "PAUSE", "200", "ALL")
	start := time.Now()
	eq(t, "a read under PAUSE ALL", reader.Do("EXISTS", "users:a"), ":1\r\n")
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("a read under PAUSE 200 ALL answered after %v", waited)
	}
}

// COMMAND LIST (subcommands as config|get, FILTERBY), GETKEYS and
// GETKEYSANDFLAGS, and the ACL categories of COMMAND INFO.
func TestCommandKeysAndList(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	all := r.list("COMMAND", "LIST")
	for _, want := range []string{"get", "b.insert", "config|get", "client|list", "memory|usage"} {
		if !slicesContains(all, want) {
			t.Errorf("COMMAND LIST lacks %s", want)
		}
	}
	for _, c := range []struct {
		args []any
		want []string
	}{
		{[]any{"COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*"}, []string{"config|resetstat", "config|rewrite"}},
		{[]any{"COMMAND", "LIST", "FILTERBY", "PATTERN", "GET"}, []string{"get"}},
		{[]any{"COMMAND", "LIST", "FILTERBY", "PATTERN", "non_exists*"}, nil},
		{[]any{"COMMAND", "LIST", "FILTERBY", "MODULE", "json"}, nil},
		{[]any{"COMMAND", "LIST", "FILTERBY", "ACLCAT", "non_existing_category"}, nil},
	} {
		if got := r.list(c.args...); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%v = %v, want %v", c.args, got, c.want)
		}
	}
	scripting := r.list("COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting")
	if !slicesContains(scripting, "eval") || !slicesContains(scripting, "script|kill") || slicesContains(scripting, "get") {
		t.Errorf("COMMAND LIST FILTERBY ACLCAT scripting = %v", scripting)
	}
	for _, args := range [][]any{{"COMMAND", "LIST", "bad_arg"}, {"COMMAND", "LIST", "FILTERBY", "bad_arg"}, {"COMMAND", "LIST", "FILTERBY", "bad_arg", "bad_arg2"}} {
		r.err("ERR syntax error", args...)
	}
	info := fmt.Sprint(r.do("COMMAND", "INFO", "del"))
	if !strings.Contains(info, "@write") || !strings.Contains(info, "@keyspace") {
		t.Errorf("COMMAND INFO del categories: %s", info)
	}

	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"COMMAND", "GETKEYS", "GET", "users:a"}, "[users:a]"},
		{[]any{"COMMAND", "GETKEYS", "DEL", "a:1", "b:2"}, "[a:1 b:2]"},
		{[]any{"COMMAND", "GETKEYS", "B.GET", "users", "a"}, "[users]"},
		{[]any{"COMMAND", "GETKEYS", "MEMORY", "USAGE", "users:a"}, "[users:a]"},
		{[]any{"COMMAND", "GETKEYS", "EVAL", "return 1", "1", "users"}, "[users]"},
		{[]any{"COMMAND", "GETKEYS", "EVAL", "return 1", "0"}, "[]"},
		{[]any{"COMMAND", "GETKEYS", "EVAL", "return 1", "5", "k"}, "[]"}, // keys are optional: none, as in Redis
		{[]any{"COMMAND", "GETKEYSANDFLAGS", "DEL", "a:1"}, "[[a:1 [RM delete]]]"},
		{[]any{"COMMAND", "GETKEYSANDFLAGS", "GET", "a:1"}, "[[a:1 [RO access]]]"},
		{[]any{"COMMAND", "GETKEYSANDFLAGS", "EXPIRE", "a:1", "10"}, "[[a:1 [RW update]]]"},
	} {
		if got := fmt.Sprint(r.do(c.args...)); got != c.want {
			t.Errorf("%v = %s, want %s", c.args, got, c.want)
		}
	}
	r.err("ERR Invalid command specified", "COMMAND", "GETKEYS", "NOSUCH", "x")
	r.err("ERR The command has no key arguments", "COMMAND", "GETKEYS", "PING")
	r.err("ERR Invalid number of arguments specified for command", "COMMAND", "GETKEYS", "GET")
	r.err("ERR wrong number of arguments for 'command|getkeys' command", "COMMAND", "GETKEYS")
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// CLIENT LIST and CLIENT INFO carry every field of Redis 7.2's line, with
// real values; CLIENT SETINFO with an empty value clears.
func TestClientListFields(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	fields := []string{"id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi",
		"qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd",
		"user", "redir", "resp", "lib-name", "lib-ver"}
	parse := func(line string) map[string]string {
		out := map[string]string{}
		var order []string
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			out[k] = v
			order = append(order, k)
		}
		if strings.Join(order, " ") != strings.Join(fields, " ") {
			t.Fatalf("fields %v, want %v", order, fields)
		}
		return out
	}
	c := s.Raw(t)
	eq(t, "SETINFO", c.Do("CLIENT", "SETINFO", "LIB-NAME", "mylib"), "+OK\r\n")
	// Another connection's view of c while it is in MULTI with a queued ECHO.
	c.Do("MULTI")
	c.Do("ECHO", "0123456789")
	var line string
	for _, l := range strings.Split(r.str("CLIENT", "LIST"), "\n") {
		if strings.Contains(l, "lib-name=mylib") {
			line = l
		}
	}
	m := parse(line)
	if m["flags"] != "x" || m["multi"] != "1" || m["multi-mem"] == "0" || m["lib-name"] != "mylib" || m["cmd"] != "echo" {
		t.Errorf("CLIENT LIST of a client in MULTI: %s", line)
	}
	c.Do("DISCARD")
	self := parse(r.str("CLIENT", "INFO"))
	if self["argv-mem"] != "10" || self["cmd"] != "client|info" || self["events"] != "r" || self["rbs"] == "0" || self["tot-mem"] == "0" {
		t.Errorf("CLIENT INFO: %v", self)
	}
	// Tracking shows as t, with its redirection.
	tr := s.Raw(t)
	tr.Do("HELLO", "3")
	tr.Do("CLIENT", "TRACKING", "ON", "BCAST")
	m = parse(decodeReply(t, tr.Do("CLIENT", "INFO")).(string))
	if m["flags"] != "tB" || m["redir"] != "0" || m["resp"] != "3" {
		t.Errorf("CLIENT INFO of a BCAST tracker: %v", m)
	}
	// SETINFO with an empty value clears it.
	eq(t, "SETINFO empty", c.Do("CLIENT", "SETINFO", "LIB-NAME", ""), "+OK\r\n")
	if m := parse(decodeReply(t, c.Do("CLIENT", "INFO")).(string)); m["lib-name"] != "" {
		t.Errorf("lib-name after SETINFO LIB-NAME \"\": %q", m["lib-name"])
	}
}

// INFO commandstats, errorstats, latencystats and cpu, as Redis writes
// them (what redis_exporter reads), and CONFIG RESETSTAT.
func TestInfoCommandStats(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.insert("users", `{"id":"a","name":"A"}`)
	r.str("GET", "users:a")
	r.err("ERR wrong number of arguments for 'get' command", "GET")
	r.err("NOBUCKET*", "B.GET", "nosuch", "x")
	r.err("ERR unknown command*", "NOSUCH")
	r.err("ERR unknown subcommand*", "CONFIG", "NOPE")
	stats := r.str("INFO", "commandstats")
	for _, want := range []string{
		"# Commandstats\r\n",
		"cmdstat_get:calls=1,usec=",
		",rejected_calls=1,failed_calls=0\r\n",
		"cmdstat_b.insert:calls=1,",
		"cmdstat_b.get:calls=1,",
	} {
		if !strings.Contains(stats, want) {
			t.Errorf("INFO commandstats lacks %q:\n%s", want, stats)
		}
	}
	if !regexpMatch(`cmdstat_b\.get:calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=1\r\n`, stats) {
		t.Errorf("cmdstat_b.get:\n%s", stats)
	}
	if !regexpMatch(`cmdstat_config:calls=0,usec=0,usec_per_call=0\.00,rejected_calls=1,failed_calls=0`, stats) {
		t.Errorf("the unknown subcommand counts against config:\n%s", stats)
	}
	errs := r.str("INFO", "errorstats")
	for _, want := range []string{"errorstat_ERR:count=3\r\n", "errorstat_NOBUCKET:count=1\r\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("INFO errorstats lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(r.str("INFO", "stats"), "total_error_replies:4\r\n") {
		t.Errorf("INFO stats: total_error_replies is not 4")
	}
	if !regexpMatch(`latency_percentiles_usec_get:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n`, r.str("INFO", "latencystats")) {
		t.Errorf("INFO latencystats:\n%s", r.str("INFO", "latencystats"))
	}
	if !regexpMatch(`used_cpu_sys:\d+\.\d{6}\r\nused_cpu_user:\d+\.\d{6}\r\nused_cpu_sys_children:`, r.str("INFO", "cpu")) {
		t.Errorf("INFO cpu:\n%s", r.str("INFO", "cpu"))
	}
	// The default INFO has cpu and errorstats, not commandstats; all has it.
	def := r.str("INFO")
	if !strings.Contains(def, "# CPU\r\n") || !strings.Contains(def, "# Errorstats\r\n") || strings.Contains(def, "# Commandstats") {
		t.Errorf("INFO sections: %v", regexpAll(`# \w+`, def))
	}
	if !strings.Contains(r.str("INFO", "all"), "# Commandstats") {
		t.Error("INFO all lacks Commandstats")
	}
	r.ok("CONFIG", "RESETSTAT")
	stats = r.str("INFO", "commandstats")
	if strings.Contains(stats, "cmdstat_get:") || !strings.Contains(stats, "cmdstat_config|resetstat:calls=1,") {
		t.Errorf("INFO commandstats after CONFIG RESETSTAT:\n%s", stats)
	}
	if errs := r.str("INFO", "errorstats"); strings.Contains(errs, "errorstat_") {
		t.Errorf("INFO errorstats after CONFIG RESETSTAT:\n%s", errs)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

func regexpAll(pattern, s string) []string { return regexp.MustCompile(pattern).FindAllString(s, -1) }

// CONFIG SET: every parameter takes its own value (Redis's CONFIG sanity
// test), appendfsync and save change at run time and take effect, hz is
// accepted.
func TestConfigSetRuntime(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendonly", "yes")
	r := newRC(t, s, 2)
	all := r.list("CONFIG", "GET", "*")
	before := map[string]string{}
	for i := 0; i+1 < len(all); i += 2 {
		k, v := all[i], all[i+1]
		before[k] = v
		if k == "requirepass" || k == "dir" {
			continue // as Redis's test skips them
		}
		r.ok("CONFIG", "SET", k, v)
	}
	after := r.list("CONFIG", "GET", "*")
	for i := 0; i+1 < len(after); i += 2 {
		if before[after[i]] != after[i+1] {
			t.Errorf("CONFIG SET %s to its own value changed it: %q → %q", after[i], before[after[i]], after[i+1])
		}
	}
	r.err("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config", "CONFIG", "SET", "port", "1")

	// appendfsync.
	for _, p := range []string{"always", "no", "everysec"} {
		r.ok("CONFIG", "SET", "appendfsync", p)
		if !strings.Contains(r.str("INFO", "persistence"), "aof_fsync:"+p+"\r\n") {
			t.Errorf("INFO persistence after CONFIG SET appendfsync %s", p)
		}
		r.define("b_"+p, ksUsersDef)
		r.insert("b_"+p, `{"id":"a","name":"A"}`)
	}
	r.err("ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no", "CONFIG", "SET", "appendfsync", "sometimes")

	// save: a snapshot once a save point is reached.
	r.err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters", "CONFIG", "SET", "save", "1")
	r.err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters", "CONFIG", "SET", "save", "1 x")
	last := r.do("LASTSAVE").(int64)
	r.ok("CONFIG", "SET", "save", "0  1")
	if got := r.list("CONFIG", "GET", "save"); got[1] != "0 1" {
		t.Errorf("CONFIG GET save = %q", got[1])
	}
	r.insert("b_no", `{"id":"b","name":"B"}`)
	eventually(t, 10*time.Second, "a snapshot for the save point", func() bool {
		return r.do("LASTSAVE").(int64) > last || strings.Contains(r.str("INFO", "persistence"), "rdb_changes_since_last_save:0\r\n")
	})
	r.ok("CONFIG", "SET", "save", "")

	// hz: accepted, clamped to Redis's range.
	r.ok("CONFIG", "SET", "hz", "1000")
	if got := r.list("CONFIG", "GET", "hz"); got[1] != "500" {
		t.Errorf("CONFIG GET hz = %q, want 500", got[1])
	}
}

// CONFIG SET appendonly at run time: on, the data in memory is snapshotted
// and every later commit logged (a kill -9 loses nothing acknowledged);
// off, logging stops and the files stay; a directory that would not load
// is refused and nothing changes.
func TestConfigSetAppendOnly(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendonly", "no")
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.insert("users", `{"id":"before","name":"B"}`)
	r.err("ERR persistence is off*", "BGSAVE")
	r.ok("CONFIG", "SET", "appendonly", "yes")
	if got := r.list("CONFIG", "GET", "appendonly"); got[1] != "yes" {
		t.Fatalf("CONFIG GET appendonly = %v", got)
	}
	if !strings.Contains(r.str("INFO", "persistence"), "aof_enabled:1\r\n") {
		t.Error("INFO persistence: aof_enabled is not 1 after CONFIG SET appendonly yes")
	}
	r.insert("users", `{"id":"after","name":"A"}`)
	s.Kill()
	s = StartIn(t, s.Dir) // appendonly yes by default: it loads what was logged
	r = newRC(t, s, 2)
	r.integer(2, "EXISTS", "users:before", "users:after")

	// Off: the writes after it are not logged; the files keep the rest.
	r.ok("CONFIG", "SET", "appendonly", "no")
	if !strings.Contains(r.str("INFO", "persistence"), "aof_enabled:0\r\n") {
		t.Error("INFO persistence: aof_enabled is not 0 after CONFIG SET appendonly no")
	}
	r.insert("users", `{"id":"unlogged","name":"U"}`)
	s.Kill()
	s = StartIn(t, s.Dir)
	r = newRC(t, s, 2)
	r.integer(2, "EXISTS", "users:before", "users:after", "users:unlogged")

	// On again beside the empty next-generation file that a rewrite killed
	// before its manifest named it leaves: the switch takes its name.
	s.Kill()
	_, aofs := manifest(t, s.Dir)
	var gen int
	if _, err := fmt.Sscanf(aofs[len(aofs)-1], "appendonly.%d.aof", &gen); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, fmt.Sprintf("appendonly.%d.aof", gen+1)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = StartIn(t, s.Dir, "--appendonly", "no") // starts empty
	r = newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.ok("CONFIG", "SET", "appendonly", "yes")
	r.insert("users", `{"id":"again","name":"G"}`)
	s.Kill()
	s = StartIn(t, s.Dir)
	r = newRC(t, s, 2)
	r.integer(1, "EXISTS", "users:before", "users:again")

	// A directory that would not load: refused, and appendonly stays no.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "appendonly.7.aof"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := StartIn(t, bad, "--appendonly", "no")
	r2 := newRC(t, s2, 2)
	r2.err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - *", "CONFIG", "SET", "appendonly", "yes")
	if got := r2.list("CONFIG", "GET", "appendonly"); got[1] != "no" {
		t.Errorf("CONFIG GET appendonly after a refused switch = %v", got)
	}
}
