package tests

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The key space over records (docs/commands.md, "Key space"), over a real socket: every
// record is the key <bucket>:<key>.

const (
	ksUsersDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"}}}`
	ksNumsDef  = `{"key":"n","schema":{"n":{"type":"number"},"v":{"type":"string"}}}`
)

func TestKeyspaceCommands(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("nums", ksNumsDef)
	r.insert("users", `{"id":"a","name":"Ann"}`, `{"id":"b:c","name":"Bo"}`)
	r.insert("nums", `{"n":1,"v":"one"}`, `{"n":2.5,"v":"two and a half"}`)

	// Reads: a record is a key; a name without a colon, of an unknown
	// bucket, or whose key does not fit the bucket's key type is missing.
	r.integer(3, "EXISTS", "users:a", "users:a", "nums:1", "users:zz", "nosuch:1", "nums:x", "plain")
	r.integer(2, "TOUCH", "users:b:c", "nums:2.5", "nums:3")
	for key, want := range map[string]string{"users:a": "record", "nums:2.5": "record", "users:zz": "none", "nosuch:a": "none", "plain": "none", "nums:x": "none"} {
		if got := r.str("TYPE", key); got != want {
			t.Errorf("TYPE %s = %q, want %q", key, got, want)
		}
	}
	if rec := parseRec(t, r.str("GET", "users:b:c")); rec["name"] != "Bo" {
		t.Errorf("GET users:b:c = %v", rec)
	}
	r.null("GET", "users:zz")
	r.null("GET", "plain")
	if got := r.str("GET", "nums:1"); !strings.HasPrefix(got, `{"n":1,"v":"one","_version":1`) {
		t.Errorf("GET nums:1 = %s", got)
	}
	if n := r.do("MEMORY", "USAGE", "nums:2.5").(int64); n < 64 {
		t.Errorf("MEMORY USAGE nums:2.5 = %d", n)
	}
	r.null("MEMORY", "USAGE", "nums:3")
	r.null("MEMORY", "USAGE", "nums:3", "SAMPLES", "5")
	if got := r.str("OBJECT", "ENCODING", "users:a"); got != "json" {
		t.Errorf("OBJECT ENCODING = %q", got)
	}
	r.integer(1, "OBJECT", "REFCOUNT", "users:a")
	if n := r.do("OBJECT", "IDLETIME", "users:a").(int64); n < 0 || n > 5 {
		t.Errorf("OBJECT IDLETIME = %d", n)
	}
	r.err("ERR An LFU maxmemory policy is not selected*", "OBJECT", "FREQ", "users:a")
	r.null("OBJECT", "ENCODING", "users:zz")

	// Expiry through the key names.
	r.integer(-1, "TTL", "users:a")
	r.integer(-2, "TTL", "users:zz")
	r.integer(-2, "PTTL", "plain")
	r.integer(-1, "EXPIRETIME", "users:a")
	r.integer(-2, "PEXPIRETIME", "nosuch:1")
	r.integer(1, "EXPIRE", "users:a", "100")
	if ttl := r.do("TTL", "users:a").(int64); ttl < 99 || ttl > 100 {
		t.Errorf("TTL after EXPIRE 100 = %d", ttl)
	}
	r.integer(0, "EXPIRE", "users:a", "200", "NX")
	r.integer(1, "EXPIRE", "users:a", "200", "GT")
	r.integer(0, "PEXPIRE", "users:a", "5000", "GT")
	at := time.Now().Unix() + 1000
	r.integer(1, "EXPIREAT", "users:a", strconv.FormatInt(at, 10))
	r.integer(at, "EXPIRETIME", "users:a")
	r.integer(at*1000, "PEXPIRETIME", "users:a")
	r.integer(1, "PEXPIREAT", "users:a", strconv.FormatInt(at*1000+500, 10))
	r.integer(at*1000+500, "PEXPIRETIME", "users:a")
	if pttl := r.do("PTTL", "users:a").(int64); pttl < 990_000 || pttl > 1_000_500 {
		t.Errorf("PTTL = %d", pttl)
	}
	r.integer(1, "PERSIST", "users:a")
	r.integer(0, "PERSIST", "users:a")
	r.integer(-1, "TTL", "users:a")
	r.integer(0, "EXPIRE", "users:zz", "10")
	r.integer(0, "EXPIRE", "plain", "10")
	r.integer(0, "PERSIST", "nosuch:x")
	r.insert("users", `{"id":"gone","name":"G"}`)
	r.integer(1, "EXPIRE", "users:gone", "-1") // in the past: deleted
	r.integer(0, "EXISTS", "users:gone")

	// Bad arguments change nothing, with Redis's texts.
	for _, c := range []struct {
		want string
		args []any
	}{
		{"ERR wrong number of arguments for 'exists' command", []any{"EXISTS"}},
		{"ERR wrong number of arguments for 'del' command", []any{"DEL"}},
		{"ERR wrong number of arguments for 'type' command", []any{"TYPE", "a:b", "c"}},
		{"ERR wrong number of arguments for 'get' command", []any{"GET"}},
		{"ERR wrong number of arguments for 'expire' command", []any{"EXPIRE", "users:a"}},
		{"ERR wrong number of arguments for 'keys' command", []any{"KEYS"}},
		{"ERR wrong number of arguments for 'randomkey' command", []any{"RANDOMKEY", "x"}},
		{"ERR value is not an integer or out of range", []any{"EXPIRE", "users:a", "soon"}},
		{"ERR value is not an integer or out of range", []any{"PEXPIREAT", "users:a", "1.5"}},
		{"ERR Unsupported option BOGUS", []any{"EXPIRE", "users:a", "10", "BOGUS"}},
		{"ERR NX and XX, GT or LT options at the same time are not compatible", []any{"EXPIRE", "users:a", "10", "NX", "XX"}},
		{"ERR GT and LT options at the same time are not compatible", []any{"EXPIRE", "users:a", "10", "GT", "LT"}},
		{"ERR invalid expire time in 'expire' command", []any{"EXPIRE", "users:a", "9223372036854775807"}},
		{"ERR invalid expire time in 'pexpireat' command", []any{"PEXPIREAT", "users:a", "-9223372036854775807"}},
		{"ERR invalid cursor", []any{"SCAN", "abc"}},
		{"ERR invalid cursor", []any{"SCAN", "-1"}},
		{"ERR syntax error", []any{"SCAN", "0", "COUNT", "0"}},
		{"ERR value is not an integer or out of range", []any{"SCAN", "0", "COUNT", "x"}},
		{"ERR syntax error", []any{"SCAN", "0", "MATCH"}},
		{"ERR syntax error", []any{"SCAN", "0", "BOGUS", "1"}},
		{"ERR syntax error", []any{"MEMORY", "USAGE", "users:a", "SAMPLES"}},
		{"ERR syntax error", []any{"MEMORY", "USAGE", "users:a", "BOGUS", "1"}},
		{"ERR value is not an integer or out of range", []any{"MEMORY", "USAGE", "users:a", "SAMPLES", "x"}},
		{"ERR syntax error", []any{"FLUSHDB", "NOW"}},
	} {
		r.failsUnchanged(c.want, c.args...)
	}

	// KEYS and RANDOMKEY.
	all := []string{"nums:1", "nums:2.5", "users:a", "users:b:c"}
	if got := sorted(r.list("KEYS", "*")); !slices.Equal(got, all) {
		t.Errorf("KEYS * = %v, want %v", got, all)
	}
	for pattern, want := range map[string][]string{
		"users:*": {"users:a", "users:b:c"}, "nums:?": {"nums:1"}, "*:b:*": {"users:b:c"},
		"num*": {"nums:1", "nums:2.5"}, "users:[ab]": {"users:a"}, "nosuch:*": {}, "plain": {},
		`users\:a`: {"users:a"},
	} {
		if got := sorted(r.list("KEYS", pattern)); !slices.Equal(got, want) {
			t.Errorf("KEYS %s = %v, want %v", pattern, got, want)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < len(all); i++ {
		seen[r.str("RANDOMKEY")] = true
	}
	if len(seen) != len(all) {
		t.Errorf("RANDOMKEY gave %v in 200 tries, want each of %v", seen, all)
	}

	// SCAN, whole, with each option.
	if got := sorted(scanAll(t, r, "COUNT", "1")); !slices.Equal(got, all) {
		t.Errorf("SCAN COUNT 1 = %v, want %v", got, all)
	}
	if got := sorted(scanAll(t, r, "MATCH", "users:*", "COUNT", "1")); !slices.Equal(got, all[2:]) {
		t.Errorf("SCAN MATCH users:* = %v", got)
	}
	if got := sorted(scanAll(t, r, "TYPE", "record")); !slices.Equal(got, all) {
		t.Errorf("SCAN TYPE record = %v", got)
	}
	if got := scanAll(t, r, "TYPE", "string"); len(got) != 0 {
		t.Errorf("SCAN TYPE string = %v", got)
	}

	// DEL and UNLINK delete through the ordinary path, in one commit.
	r.integer(2, "DEL", "users:a", "nums:1", "nums:1", "users:zz", "plain", "nosuch:1")
	r.integer(0, "EXISTS", "users:a", "nums:1")
	r.integer(1, "UNLINK", "nums:2.5")
	r.integer(1, "DBSIZE")

	// FLUSHDB empties every bucket, as FLUSHALL.
	r.ok("FLUSHDB")
	r.integer(0, "DBSIZE")
	r.null("RANDOMKEY")
	if got := r.list("KEYS", "*"); len(got) != 0 {
		t.Errorf("KEYS after FLUSHDB = %v", got)
	}

	// The commands of Redis's own types say what does the job.
	r.err("ERR unknown command 'SET', with args beginning with: 'k' 'v' (bucketd keeps JSON records in buckets: B.INSERT or B.UPSERT writes one*", "SET", "k", "v")
	for _, c := range []struct {
		args []any
		hint string
	}{
		{[]any{"hset", "h", "f", "v"}, "B.UPDATE"}, {[]any{"LPUSH", "l", "x"}, "B.FIRST"}, {[]any{"INCR", "n"}, "$inc"},
		{[]any{"ZADD", "z", "1", "m"}, "B.FIND"}, {[]any{"XADD", "s", "*", "f", "v"}, "PSUBSCRIBE bucket.<name>.*"},
	} {
		if got := r.fail(c.args...); !strings.HasPrefix(got, "ERR unknown command '"+c.args[0].(string)+"'") || !strings.Contains(got, c.hint) {
			t.Errorf("%v: %q, want the unknown-command error naming %s", c.args, got, c.hint)
		}
	}
	r.err("ERR unknown command 'NOSUCH', with args beginning with: 'x' ", "NOSUCH", "x")
}

// scanAll runs a whole SCAN with opts and returns every key it gave.
func scanAll(t *testing.T, r *rc, opts ...any) []string {
	t.Helper()
	var out []string
	cursor := "0"
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("SCAN did not end")
		}
		reply := r.do(append([]any{"SCAN", cursor}, opts...)...).([]any)
		cursor = reply[0].(string)
		out = append(out, asList(t, reply[1], "SCAN keys")...)
		if cursor == "0" {
			return out
		}
	}
}

func sorted(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// SCAN's guarantee: every record present for the whole scan is returned,
// while other connections insert and delete records, define and drop
// buckets.
func TestScanUnderWrites(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("stay", ksNumsDef)
	r.define("churn", ksNumsDef)
	var stable []string
	for i := 0; i < 300; i++ {
		r.str("B.INSERT", "stay", fmt.Sprintf(`{"n":%d}`, i))
		stable = append(stable, "stay:"+strconv.Itoa(i))
		r.str("B.INSERT", "churn", fmt.Sprintf(`{"n":%d}`, i))
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		w := s.Client(t, 2)
		defer w.Close()
		c := ctx(t)
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			var err error
			switch i % 4 {
			case 0:
				err = w.Do(c, "B.INSERT", "churn", fmt.Sprintf(`{"n":%d}`, 1000+i)).Err()
			case 1:
				err = w.Do(c, "DEL", "churn:"+strconv.Itoa(i%300), "churn:"+strconv.Itoa(1000+i-1)).Err()
			case 2:
				err = w.Do(c, "B.INSERT", "stay", fmt.Sprintf(`{"n":%d}`, 1000+i)).Err()
			case 3:
				name := "tmp" + strconv.Itoa(i%3)
				err = w.Do(c, "BUCKET.DEFINE", name, ksNumsDef).Err()
				if err == nil {
					err = w.Do(c, "B.UPSERT", name, `{"n":1}`).Err()
				}
				if err == nil && i%8 == 7 {
					err = w.Do(c, "BUCKET.DROP", name).Err()
				}
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for round := 0; round < 5; round++ {
		got := map[string]bool{}
		for _, k := range scanAll(t, r, "COUNT", "7") {
			got[k] = true
		}
		for _, k := range stable {
			if !got[k] {
				t.Fatalf("round %d: SCAN missed %s, present for the whole scan", round, k)
			}
		}
		if got := sorted(scanAll(t, r, "MATCH", "stay:1?", "COUNT", "50")); len(got) != 10 {
			t.Fatalf("SCAN MATCH stay:1? = %v, want stay:10 … stay:19", got)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Keyspace notifications as Redis sends them, for every kind of record
// change, with the classes CONFIG SET chooses.
func TestKeyspaceNotifications(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "20ms")
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("small", `{"key":"id","schema":{"id":{"type":"string"}},"maxSize":1}`)

	// CONFIG GET writes the classes back as Redis does.
	for _, c := range []struct{ set, get string }{
		{"", ""}, {"KEA", "AKE"}, {"AKEn", "AKE"}, {"Kg$", "g$K"}, {"Exe", "xeE"}, {"KEg$lshzxetdm", "AKEm"}, {"nK", "nK"},
	} {
		r.ok("CONFIG", "SET", "notify-keyspace-events", c.set)
		if got := r.list("CONFIG", "GET", "notify-keyspace-events"); got[1] != c.get {
			t.Errorf("CONFIG SET notify-keyspace-events %q: CONFIG GET gives %q, want %q", c.set, got[1], c.get)
		}
	}
	r.failsUnchanged("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
		"CONFIG", "SET", "notify-keyspace-events", "KEq")

	sub := s.Client(t, 2)
	ps := sub.PSubscribe(ctx(t), "__key*__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx(t)); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		m, err := ps.ReceiveMessage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return m.Channel + " " + m.Payload
	}
	expect := func(what string, want ...string) {
		t.Helper()
		for _, w := range want {
			if got := next(); got != w {
				t.Fatalf("%s: got %q, want %q", what, got, w)
			}
		}
	}

	r.ok("CONFIG", "SET", "notify-keyspace-events", "KEAn")
	r.insert("users", `{"id":"u1","name":"a"}`)
	expect("insert", "__keyspace@0__:users:u1 new", "__keyevent@0__:new users:u1",
		"__keyspace@0__:users:u1 set", "__keyevent@0__:set users:u1")
	r.str("B.UPDATE", "users", "u1", `{"name":"b"}`)
	expect("update", "__keyspace@0__:users:u1 set", "__keyevent@0__:set users:u1")
	r.integer(1, "EXPIRE", "users:u1", "100")
	expect("expire", "__keyspace@0__:users:u1 expire", "__keyevent@0__:expire users:u1")
	r.integer(1, "PERSIST", "users:u1")
	expect("persist", "__keyspace@0__:users:u1 persist", "__keyevent@0__:persist users:u1")
	r.integer(1, "DEL", "users:u1")
	expect("del", "__keyspace@0__:users:u1 del", "__keyevent@0__:del users:u1")
	r.insert("users", `{"id":"u2","name":"a"}`)
	expect("insert", "__keyspace@0__:users:u2 new", "__keyevent@0__:new users:u2",
		"__keyspace@0__:users:u2 set", "__keyevent@0__:set users:u2")
	r.integer(1, "PEXPIRE", "users:u2", "30")
	expect("pexpire", "__keyspace@0__:users:u2 expire", "__keyevent@0__:expire users:u2")
	expect("expiry", "__keyspace@0__:users:u2 expired", "__keyevent@0__:expired users:u2")
	r.insert("small", `{"id":"s1"}`)
	expect("insert", "__keyspace@0__:small:s1 new", "__keyevent@0__:new small:s1",
		"__keyspace@0__:small:s1 set", "__keyevent@0__:set small:s1")
	r.insert("small", `{"id":"s2"}`) // maxSize 1: s1 is evicted
	got := []string{next(), next(), next(), next(), next(), next()}
	for _, w := range []string{"__keyspace@0__:small:s1 evicted", "__keyevent@0__:evicted small:s1", "__keyspace@0__:small:s2 set"} {
		if !slices.Contains(got, w) {
			t.Fatalf("eviction: got %q, want %q among them", got, w)
		}
	}

	// Only the classes asked for: g sends del but not set; E alone no
	// keyspace channel. B.CLEAR sends nothing per key, as FLUSHALL.
	r.ok("CONFIG", "SET", "notify-keyspace-events", "Eg")
	r.insert("users", `{"id":"u3","name":"a"}`, `{"id":"u4","name":"a"}`)
	r.integer(1, "B.CLEAR", "small")
	r.integer(1, "DEL", "users:u3")
	expect("del with Eg", "__keyevent@0__:del users:u3")
	r.ok("CONFIG", "SET", "notify-keyspace-events", "")
	r.integer(1, "DEL", "users:u4")
	r.ok("CONFIG", "SET", "notify-keyspace-events", "Kx")
	r.insert("users", `{"id":"u5","name":"a"}`)
	r.integer(1, "PEXPIRE", "users:u5", "1")
	expect("only expired", "__keyspace@0__:users:u5 expired")
}

// Key-space commands inside MULTI run in EXEC's transaction; in a script,
// their buckets must be among its KEYS; redis-cli's key modes work.
func TestKeyspaceTxScriptsAndCLI(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("nums", ksNumsDef)
	r.insert("users", `{"id":"a","name":"A"}`, `{"id":"b","name":"B"}`)
	r.insert("nums", `{"n":1}`)

	c := s.Client(t, 2)
	cmds, err := c.TxPipelined(ctx(t), func(p redis.Pipeliner) error {
		p.Do(ctx(t), "DEL", "users:a", "nums:1")
		p.Do(ctx(t), "EXISTS", "users:a", "users:b", "nums:1")
		p.Do(ctx(t), "EXPIRE", "users:b", "100")
		p.Do(ctx(t), "TTL", "users:b")
		p.Do(ctx(t), "B.INSERT", "users", `{"id":"x","name":"X"}`)
		p.Do(ctx(t), "GET", "users:x")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2", "1", "1", "100", "", ""}
	for i, cmd := range cmds {
		if want[i] == "" {
			continue
		}
		if got := fmt.Sprint(cmd.(interface{ Val() any }).Val()); got != want[i] {
			t.Errorf("EXEC reply %d = %s, want %s", i, got, want[i])
		}
	}
	if rec := parseRec(t, r.str("GET", "users:x")); rec["name"] != "X" {
		t.Errorf("GET users:x after EXEC = %v", rec)
	}

	// A failing command rolls the DEL back with the rest.
	r.ok("MULTI")
	r.str("DEL", "users:b")
	r.str("B.INSERT", "users", `{"id":"x","name":"dup"}`)
	r.err("EXISTS*", "EXEC")
	r.integer(1, "EXISTS", "users:b")

	// Scripts: the key's bucket must be declared.
	r.integer(1, "EVAL", "return redis.call('DEL', KEYS[1])", "1", "users:b")
	r.err("ERR script accessed bucket 'nums'*", "EVAL", "return redis.call('EXISTS', 'nums:1')", "1", "users:x")
	r.integer(-1, "EVAL", "return redis.call('TTL', KEYS[1])", "1", "users:x")

	// redis-cli's key modes.
	for i := 0; i < 30; i++ {
		r.str("B.INSERT", "nums", fmt.Sprintf(`{"n":%d,"v":"%s"}`, 100+i, strings.Repeat("v", i)))
	}
	out := s.CLI(t, "--scan", "--pattern", "users:*")
	if got := sorted(strings.Fields(out)); !slices.Equal(got, []string{"users:x"}) {
		t.Errorf("redis-cli --scan --pattern users:* = %q", out)
	}
	if n := len(strings.Fields(s.CLI(t, "--scan"))); n != 31 {
		t.Errorf("redis-cli --scan gave %d keys, want 31", n)
	}
	if out := s.CLI(t, "--bigkeys"); !strings.Contains(out, "31 records with") {
		t.Errorf("redis-cli --bigkeys:\n%s", out)
	}
	if out := s.CLI(t, "--memkeys"); !strings.Contains(out, "Biggest record found '\"nums:129\"'") {
		t.Errorf("redis-cli --memkeys:\n%s", out)
	}
}

// redis-py on the key space and the tools beside it: scan_iter, keys,
// exists, type, get, delete, expire, ttl, persist, keyspace notifications,
// CLIENT LIST, COMMAND GETKEYS, INFO commandstats (the redis-py of Debian
// 12 predates shard pub/sub, which go-redis and raw tests cover).
const ksPyScript = `
import sys, time, json
import redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
print(sorted(r.scan_iter(match='users:*', count=2)))
print(sorted(r.keys('*')))
print(r.exists('users:a', 'users:zz', 'nums:1'), r.type('users:a'), r.type('nope'))
print(json.loads(r.get('users:a'))['name'], r.get('users:zz'))
print(r.expire('users:a', 100), r.ttl('users:a'), r.persist('users:a'), r.ttl('users:a'), r.ttl('users:zz'))
r.config_set('notify-keyspace-events', 'KEA')
p = r.pubsub()
p.psubscribe('__keyevent@0__:*')
p.get_message(timeout=5)
print(r.delete('users:b', 'users:zz'))
m = p.get_message(timeout=5)
print(m['channel'], m['data'])
print([c['flags'] for c in r.client_list() if c['psub'] != '0'])
print(r.command_getkeys('DEL', 'users:a', 'nums:1'))
print('cmdstat_del' in r.info('commandstats'))
`

func TestKeyspaceRedisPy(t *testing.T) {
	t.Parallel()
	py := scPython(t)
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("nums", ksNumsDef)
	r.insert("users", `{"id":"a","name":"Ann"}`, `{"id":"b","name":"Bo"}`, `{"id":"c","name":"Cy"}`)
	r.insert("nums", `{"n":1}`)
	host, port, _ := net.SplitHostPort(s.Addr)
	out, err := exec.Command(py, "-c", ksPyScript, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := "['users:a', 'users:b', 'users:c']\n['nums:1', 'users:a', 'users:b', 'users:c']\n" +
		"2 record none\nAnn None\nTrue 100 True -1 -2\n1\n__keyevent@0__:del users:b\n['P']\n" +
		"['users:a', 'nums:1']\nTrue\n"
	if string(out) != want {
		t.Errorf("redis-py output:\n%s\nwant:\n%s", out, want)
	}
}
