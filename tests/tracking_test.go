package tests

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// Client-side caching (CLIENT TRACKING) over a real socket: invalidation
// pushes in every mode, redirection, the error texts, and rueidis with its
// default client-side cache.

// inv is the RESP3 invalidation push of one key name.
func inv(key string) string {
	return ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" + strconv.Itoa(len(key)) + "\r\n" + key + "\r\n"
}

const invFlush = ">2\r\n$10\r\ninvalidate\r\n_\r\n"

// tracker returns a RESP3 raw connection with tracking on with opts.
func tracker(t *testing.T, s *Server, opts ...string) *RawConn {
	t.Helper()
	c := s.Raw(t)
	c.Do("HELLO", "3")
	eq(t, "CLIENT TRACKING ON", c.Do(append([]string{"CLIENT", "TRACKING", "ON"}, opts...)...), "+OK\r\n")
	return c
}

// quiet checks that nothing was pushed to c before now: a PING's reply is
// the next frame (a change's invalidation is queued before the writer's
// reply, so before this PING).
func quiet(t *testing.T, c *RawConn, what string) {
	t.Helper()
	eq(t, what+": nothing pushed", c.Do("PING"), "+PONG\r\n")
}

func TestTrackingDefaultMode(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("nums", ksNumsDef)
	r.insert("users", `{"id":"a","name":"A"}`, `{"id":"b","name":"B"}`, `{"id":"c","name":"C"}`)
	r.insert("nums", `{"n":2}`)

	c := tracker(t, s)
	// GET and B.GET register the key; a change sends one push, then the key
	// is forgotten until it is read again.
	if got := c.Do("GET", "users:a"); !strings.HasPrefix(got, "$") {
		t.Fatalf("GET: %q", got)
	}
	r.str("B.UPDATE", "users", "a", `{"name":"A2"}`)
	eq(t, "after an update of a read key", c.Read(), inv("users:a"))
	r.str("B.UPDATE", "users", "a", `{"name":"A3"}`)
	quiet(t, c, "a second update before a new read")
	c.Do("B.GET", "users", "a")
	c.Do("B.MGET", "users", "b", "zz")
	r.integer(1, "DEL", "users:a")
	eq(t, "after a DEL", c.Read(), inv("users:a"))
	r.integer(1, "EXPIRE", "users:b", "100")
	eq(t, "after an EXPIRE", c.Read(), inv("users:b"))
	// A key not read yet, when inserted, is invalidated too (it was read as
	// missing).
	r.insert("users", `{"id":"zz","name":"Z"}`)
	eq(t, "after the insert of a key read as missing", c.Read(), inv("users:zz"))
	// An unread key sends nothing; a number key is named in its JSON form.
	r.str("B.UPDATE", "users", "c", `{"name":"C2"}`)
	quiet(t, c, "an update of a key never read")
	c.Do("GET", "nums:2.0")
	r.str("B.UPDATE", "nums", "2", `{"v":"x"}`)
	eq(t, "after an update of a number key", c.Read(), inv("nums:2"))
	// A change made by the client itself invalidates too (no NOLOOP), after
	// the write's reply, as in Redis 7.2.
	c.Do("GET", "users:c")
	if got := c.Do("B.UPDATE", "users", "c", `{"name":"C3"}`); !strings.HasPrefix(got, "$") {
		t.Fatalf("own write: first frame %q, want its reply", got)
	}
	eq(t, "own write: then the invalidation", c.Read(), inv("users:c"))
	// B.CLEAR and FLUSHALL send the flush message to those who read a key
	// of the bucket; BUCKET.DROP too.
	c.Do("GET", "users:c")
	r.integer(3, "B.CLEAR", "users")
	eq(t, "after B.CLEAR", c.Read(), invFlush)
	c.Do("GET", "nums:2")
	r.ok("FLUSHALL")
	eq(t, "after FLUSHALL", c.Read(), invFlush)
	quiet(t, c, "FLUSHALL sends one flush")
	r.insert("nums", `{"n":3}`)
	c.Do("GET", "nums:3")
	r.integer(1, "BUCKET.DROP", "nums")
	eq(t, "after BUCKET.DROP", c.Read(), invFlush)
	// A script's key reads are tracked too.
	r.insert("users", `{"id":"s","name":"S"}`)
	c.Do("EVAL", "return redis.call('GET', KEYS[1])", "1", "users:s")
	r.str("B.UPDATE", "users", "s", `{"name":"S2"}`)
	eq(t, "after an update of a key a script read", c.Read(), inv("users:s"))
	// OFF: nothing more.
	eq(t, "OFF", c.Do("CLIENT", "TRACKING", "OFF"), "+OK\r\n")
	r.insert("users", `{"id":"a","name":"A"}`)
	quiet(t, c, "tracking off")
	if n := r.str("INFO", "clients"); !strings.Contains(n, "tracking_clients:0\r\n") {
		t.Errorf("INFO clients after OFF:\n%s", n)
	}
}

func TestTrackingModes(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.define("items", ksUsersDef)
	r.insert("users", `{"id":"a","name":"A"}`)

	// BCAST with a prefix: every change of a matching key, read or not.
	b := tracker(t, s, "BCAST", "PREFIX", "users:", "PREFIX", "items:x")
	r.insert("users", `{"id":"n","name":"N"}`)
	eq(t, "BCAST insert", b.Read(), inv("users:n"))
	r.insert("items", `{"id":"xy","name":"I"}`, `{"id":"y","name":"I"}`)
	eq(t, "BCAST second prefix", b.Read(), inv("items:xy"))
	quiet(t, b, "BCAST: items:y matches no prefix")
	all := tracker(t, s, "BCAST")
	r.integer(1, "DEL", "items:y")
	eq(t, "BCAST without a prefix", all.Read(), inv("items:y"))

	// OPTIN: only after CLIENT CACHING YES, for the next command.
	in := tracker(t, s, "OPTIN")
	in.Do("GET", "users:a")
	r.str("B.UPDATE", "users", "a", `{"name":"1"}`)
	quiet(t, in, "OPTIN without CACHING YES")
	eq(t, "CACHING YES", in.Do("CLIENT", "CACHING", "YES"), "+OK\r\n")
	in.Do("GET", "users:a")
	in.Do("GET", "users:n") // the mark covered one command only
	r.str("B.UPDATE", "users", "a", `{"name":"2"}`)
	r.str("B.UPDATE", "users", "n", `{"name":"2"}`)
	eq(t, "OPTIN with CACHING YES", in.Read(), inv("users:a"))
	quiet(t, in, "OPTIN: the command after the marked one")
	// CACHING YES before MULTI covers the whole transaction (rueidis).
	in.Do("CLIENT", "CACHING", "YES")
	in.Do("MULTI")
	in.Do("PTTL", "users:n")
	in.Do("GET", "users:n")
	if got := in.Do("EXEC"); !strings.HasPrefix(got, "*2\r\n:-1\r\n$") {
		t.Fatalf("EXEC: %q", got)
	}
	r.str("B.UPDATE", "users", "n", `{"name":"3"}`)
	eq(t, "OPTIN in MULTI", in.Read(), inv("users:n"))

	// OPTOUT: tracked unless CLIENT CACHING NO.
	out := tracker(t, s, "OPTOUT")
	out.Do("CLIENT", "CACHING", "NO")
	out.Do("GET", "users:a")
	r.str("B.UPDATE", "users", "a", `{"name":"4"}`)
	quiet(t, out, "OPTOUT with CACHING NO")
	out.Do("GET", "users:a")
	r.str("B.UPDATE", "users", "a", `{"name":"5"}`)
	eq(t, "OPTOUT", out.Read(), inv("users:a"))

	// NOLOOP: its own changes send it nothing; others' do.
	nl := tracker(t, s, "NOLOOP")
	nl.Do("GET", "users:a")
	if got := nl.Do("B.UPDATE", "users", "a", `{"name":"6"}`); !strings.HasPrefix(got, "$") {
		t.Fatalf("NOLOOP own write: %q", got)
	}
	nl.Do("GET", "users:a")
	if got := nl.Do("EXPIRE", "users:a", "1000"); got != ":1\r\n" {
		t.Fatalf("NOLOOP own EXPIRE: %q", got)
	}
	nl.Do("GET", "users:a")
	nl.Do("MULTI")
	nl.Do("B.UPDATE", "users", "a", `{"name":"7"}`)
	nl.Do("EXEC")
	quiet(t, nl, "NOLOOP: own writes")
	nl.Do("GET", "users:a")
	r.str("B.UPDATE", "users", "a", `{"name":"8"}`)
	eq(t, "NOLOOP: another's write", nl.Read(), inv("users:a"))
	nlb := tracker(t, s, "BCAST", "NOLOOP", "PREFIX", "items:")
	nlb.Do("B.INSERT", "items", `{"id":"own","name":"O"}`)
	quiet(t, nlb, "BCAST NOLOOP: own insert")
	r.insert("items", `{"id":"other","name":"O"}`)
	eq(t, "BCAST NOLOOP: another's insert", nlb.Read(), inv("items:other"))

	// TRACKINGINFO and GETREDIR.
	info := func(c *RawConn) string { return c.Do("CLIENT", "TRACKINGINFO") }
	b = tracker(t, s, "BCAST", "PREFIX", "users:", "PREFIX", "items:x")
	if got := info(b); !strings.Contains(got, "~2\r\n$2\r\non\r\n$5\r\nbcast\r\n") || !strings.Contains(got, "*2\r\n$6\r\nusers:\r\n$7\r\nitems:x\r\n") {
		t.Errorf("TRACKINGINFO of BCAST: %q", got)
	}
	in.Do("CLIENT", "CACHING", "YES")
	if got := info(in); !strings.Contains(got, "~3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n") {
		t.Errorf("TRACKINGINFO of OPTIN after CACHING YES: %q", got)
	}
	eq(t, "GETREDIR without redirection", in.Do("CLIENT", "GETREDIR"), ":0\r\n")
	plain := s.Raw(t)
	eq(t, "GETREDIR without tracking", plain.Do("CLIENT", "GETREDIR"), ":-1\r\n")
	if got := plain.Do("CLIENT", "TRACKINGINFO"); got != "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n" {
		t.Errorf("TRACKINGINFO without tracking: %q", got)
	}
}

func TestTrackingRedirect(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.insert("users", `{"id":"a","name":"A"}`)

	// A RESP2 connection subscribed to __redis__:invalidate receives the
	// messages of the clients that redirect to it.
	target := s.Raw(t)
	id := strings.Trim(target.Do("CLIENT", "ID"), ":\r\n")
	target.Do("SUBSCRIBE", "__redis__:invalidate")
	c := s.Raw(t) // RESP2
	eq(t, "TRACKING REDIRECT", c.Do("CLIENT", "TRACKING", "ON", "REDIRECT", id), "+OK\r\n")
	eq(t, "GETREDIR", c.Do("CLIENT", "GETREDIR"), ":"+id+"\r\n")
	c.Do("GET", "users:a")
	r.str("B.UPDATE", "users", "a", `{"name":"A2"}`)
	eq(t, "redirected message", target.Read(), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$7\r\nusers:a\r\n")
	c.Do("GET", "users:a")
	r.ok("FLUSHALL")
	eq(t, "redirected flush", target.Read(), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n")

	// A RESP2 client without redirection is tracked but sent nothing.
	c2 := s.Raw(t)
	eq(t, "RESP2 tracking", c2.Do("CLIENT", "TRACKING", "ON"), "+OK\r\n")
	r.insert("users", `{"id":"b","name":"B"}`)
	c2.Do("GET", "users:b")
	r.str("B.UPDATE", "users", "b", `{"name":"B2"}`)
	quiet(t, c2, "RESP2 without redirection")

	// The target gone: a RESP3 tracker is told once.
	target3 := s.Raw(t)
	id3 := strings.Trim(target3.Do("CLIENT", "ID"), ":\r\n")
	c3 := tracker(t, s, "REDIRECT", id3)
	target3.Close()
	eventually(t, 5*time.Second, "the target's connection gone", func() bool {
		return !strings.Contains(r.str("CLIENT", "LIST"), "id="+id3+" ")
	})
	c3.Do("GET", "users:b")
	r.str("B.UPDATE", "users", "b", `{"name":"B3"}`)
	eq(t, "tracking-redir-broken", c3.Read(), ">2\r\n$21\r\ntracking-redir-broken\r\n:"+id3+"\r\n")
	c3.Do("GET", "users:b")
	r.str("B.UPDATE", "users", "b", `{"name":"B4"}`)
	quiet(t, c3, "told once")
	if got := c3.Do("CLIENT", "TRACKINGINFO"); !strings.Contains(got, "broken_redirect") {
		t.Errorf("TRACKINGINFO after the target left: %q", got)
	}
}

func TestTrackingErrors(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Raw(t)
	c.Do("HELLO", "3")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"CLIENT", "TRACKING", "MAYBE"}, "-ERR syntax error\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "BOGUS"}, "-ERR syntax error\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "REDIRECT"}, "-ERR syntax error\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "REDIRECT", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "REDIRECT", "999999"}, "-ERR The client ID you want redirect to does not exist\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "PREFIX", "a"}, "-ERR PREFIX option requires BCAST mode to be enabled\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"}, "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"}, "-ERR You can't use both OPTIN and OPTOUT\r\n"},
		{[]string{"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"}, "-ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap.\r\n"},
		{[]string{"CLIENT", "CACHING", "YES"}, "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"},
		{[]string{"CLIENT", "TRACKING"}, "-ERR wrong number of arguments for 'client|tracking' command\r\n"},
	} {
		eq(t, strings.Join(tc.args, " "), c.Do(tc.args...), tc.want)
	}
	eq(t, "GETREDIR: still off", c.Do("CLIENT", "GETREDIR"), ":-1\r\n")
	c.Do("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR")
	eq(t, "overlap with an existing prefix", c.Do("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FO"),
		"-ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single client must not overlap.\r\n")
	eq(t, "BCAST off while on", c.Do("CLIENT", "TRACKING", "ON"),
		"-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n")
	eq(t, "CACHING in BCAST", c.Do("CLIENT", "CACHING", "YES"), "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n")
	c.Do("CLIENT", "TRACKING", "OFF")
	c.Do("CLIENT", "TRACKING", "ON", "OPTIN")
	eq(t, "switch OPTIN to OPTOUT", c.Do("CLIENT", "TRACKING", "ON", "OPTOUT"),
		"-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n")
	eq(t, "CACHING NO in OPTIN", c.Do("CLIENT", "CACHING", "NO"), "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n")
	eq(t, "CACHING MAYBE", c.Do("CLIENT", "CACHING", "MAYBE"), "-ERR syntax error\r\n")
	// RESET turns tracking off.
	c.Do("RESET")
	eq(t, "GETREDIR after RESET", c.Do("CLIENT", "GETREDIR"), ":-1\r\n")
}

// rueidis with its default client-side cache: a value is cached, a change
// made by another client invalidates it, and the next read is fresh.
func TestTrackingRueidis(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("users", ksUsersDef)
	r.insert("users", `{"id":"a","name":"first"}`)
	host, port, _ := net.SplitHostPort(s.Addr)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{net.JoinHostPort(host, port)}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	get := func() (string, bool) {
		t.Helper()
		resp := client.DoCache(cx, client.B().Get().Key("users:a").Cache(), time.Minute)
		v, err := resp.ToString()
		if err != nil {
			t.Fatalf("DoCache GET users:a: %v", err)
		}
		return v, resp.IsCacheHit()
	}
	if v, hit := get(); hit || !strings.Contains(v, `"name":"first"`) {
		t.Fatalf("first read: %q, cache hit %v", v, hit)
	}
	if v, hit := get(); !hit || !strings.Contains(v, `"name":"first"`) {
		t.Fatalf("second read: %q, cache hit %v (want a hit)", v, hit)
	}
	r.str("B.UPDATE", "users", "a", `{"name":"second"}`)
	eventually(t, 10*time.Second, "the cached value invalidated and read fresh", func() bool {
		v, _ := get()
		return strings.Contains(v, `"name":"second"`)
	})
	if v, hit := get(); !hit || !strings.Contains(v, `"name":"second"`) {
		t.Fatalf("read after the refresh: %q, cache hit %v (want a hit)", v, hit)
	}
	// A plain command through rueidis works too.
	if n, err := client.Do(cx, client.B().Exists().Key("users:a").Build()).AsInt64(); err != nil || n != 1 {
		t.Fatalf("EXISTS through rueidis: %d, %v", n, err)
	}
}
