package tests

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The behaviours of Redis's tests/unit/pubsub.tcl, over raw sockets with
// exact bytes in RESP2 and RESP3 (HELLO 3: push frames), and over go-redis.
// The ps* helpers are shared by events_test.go, tx_test.go, ttl_test.go and
// slowsub_test.go.

// psEnc encodes a command as a RESP array of bulk strings.
func psEnc(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		b.WriteString(bulk(a))
	}
	return b.String()
}

// psPush is the header of an n-element pub/sub frame: an array in RESP2, a
// push in RESP3.
func psPush(proto, n int) string {
	if proto == 3 {
		return ">" + strconv.Itoa(n) + "\r\n"
	}
	return "*" + strconv.Itoa(n) + "\r\n"
}

// psNull is the null of proto: a null bulk in RESP2, _ in RESP3.
func psNull(proto int) string {
	if proto == 3 {
		return "_\r\n"
	}
	return "$-1\r\n"
}

// psConf is a subscribe-family confirmation; an empty name is a null.
func psConf(proto int, kind, name string, count int) string {
	n := psNull(proto)
	if name != "" {
		n = bulk(name)
	}
	return psPush(proto, 3) + bulk(kind) + n + ":" + strconv.Itoa(count) + "\r\n"
}

// psMsg is a message frame; psPMsg a pmessage frame.
func psMsg(proto int, channel, payload string) string {
	return psPush(proto, 3) + bulk("message") + bulk(channel) + bulk(payload)
}

func psPMsg(proto int, pattern, channel, payload string) string {
	return psPush(proto, 4) + bulk("pmessage") + bulk(pattern) + bulk(channel) + bulk(payload)
}

// psPong is PING's reply on a subscribed connection.
func psPong(proto int) string {
	if proto == 3 {
		return "+PONG\r\n"
	}
	return "*2\r\n" + bulk("pong") + bulk("")
}

// psExpect reads one reply and compares it with want, byte for byte.
func psExpect(t *testing.T, c *RawConn, what, want string) {
	t.Helper()
	if got := c.Read(); got != want {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// psDo sends a command and compares the replies it yields with want.
func psDo(t *testing.T, c *RawConn, want []string, args ...string) {
	t.Helper()
	c.Send(psEnc(args...))
	for i, w := range want {
		psExpect(t, c, fmt.Sprintf("%s (reply %d)", strings.Join(args, " "), i+1), w)
	}
}

// psFence sends PING and returns every frame that arrives before its reply:
// the messages of every publish that completed before the call.
func psFence(t *testing.T, c *RawConn) []string {
	t.Helper()
	c.Send(psEnc("PING"))
	var out []string
	for {
		f := c.Read()
		if f == "+PONG\r\n" || f == psPong(2) {
			return out
		}
		out = append(out, f)
	}
}

// psNothing asserts that no message arrived before a PING fence.
func psNothing(t *testing.T, c *RawConn, what string) {
	t.Helper()
	if got := psFence(t, c); len(got) > 0 {
		t.Errorf("%s: want no message, got %q", what, got)
	}
}

// psSubscriber opens a raw connection speaking proto.
func psSubscriber(t *testing.T, s *Server, proto int) *RawConn { return rawProto(t, s, proto) }

func TestPubsubSubscribeCounts(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := psSubscriber(t, s, p)
			psDo(t, c, []string{psConf(p, "subscribe", "a", 1), psConf(p, "subscribe", "b", 2)}, "SUBSCRIBE", "a", "b")
			psDo(t, c, []string{psConf(p, "psubscribe", "x*", 3)}, "PSUBSCRIBE", "x*")
			psDo(t, c, []string{psConf(p, "psubscribe", "y*", 4), psConf(p, "psubscribe", "z", 5)}, "psubscribe", "y*", "z")
		})
	}
}

func TestPubsubSubscribeTwice(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pub := s.Raw(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := psSubscriber(t, s, p)
			ch := fmt.Sprint("twice", p)
			psDo(t, c, []string{psConf(p, "subscribe", ch, 1)}, "SUBSCRIBE", ch)
			psDo(t, c, []string{psConf(p, "subscribe", ch, 1)}, "SUBSCRIBE", ch)
			psDo(t, c, []string{psConf(p, "subscribe", ch, 1), psConf(p, "subscribe", ch, 1)}, "SUBSCRIBE", ch, ch)
			psDo(t, c, []string{psConf(p, "psubscribe", ch+"*", 2)}, "PSUBSCRIBE", ch+"*")
			psDo(t, c, []string{psConf(p, "psubscribe", ch+"*", 2)}, "PSUBSCRIBE", ch+"*")
			eq(t, "PUBLISH to a channel subscribed twice plus a pattern", pub.Do("PUBLISH", ch, "m"), ":2\r\n")
			eq(t, "frames received", psFence(t, c), []string{psMsg(p, ch, "m"), psPMsg(p, ch+"*", ch, "m")})
			eq(t, "NUMSUB", pub.Do("PUBSUB", "NUMSUB", ch), "*2\r\n"+bulk(ch)+":1\r\n")
		})
	}
}

func TestPubsubUnsubscribeNeverSubscribed(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			// A connection with no subscription at all.
			c := psSubscriber(t, s, p)
			psDo(t, c, []string{psConf(p, "unsubscribe", "foo", 0), psConf(p, "unsubscribe", "bar", 0)}, "UNSUBSCRIBE", "foo", "bar")
			psDo(t, c, []string{psConf(p, "punsubscribe", "foo*", 0)}, "PUNSUBSCRIBE", "foo*")
			psDo(t, c, []string{"+PONG\r\n"}, "PING") // not in subscribed mode
			// With subscriptions: each reply carries the current count.
			psDo(t, c, []string{psConf(p, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
			psDo(t, c, []string{psConf(p, "psubscribe", "p*", 2)}, "PSUBSCRIBE", "p*")
			psDo(t, c, []string{psConf(p, "unsubscribe", "x", 2), psConf(p, "unsubscribe", "y", 2)}, "UNSUBSCRIBE", "x", "y")
			psDo(t, c, []string{psConf(p, "punsubscribe", "q*", 2)}, "PUNSUBSCRIBE", "q*")
			psDo(t, c, []string{psConf(p, "unsubscribe", "p*", 2)}, "UNSUBSCRIBE", "p*") // a pattern is not a channel
			psDo(t, c, []string{psConf(p, "punsubscribe", "a", 2)}, "PUNSUBSCRIBE", "a")
		})
	}
}

func TestPubsubBareUnsubscribe(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			c := psSubscriber(t, s, p)
			psDo(t, c, []string{psConf(p, "unsubscribe", "", 0)}, "UNSUBSCRIBE")
			psDo(t, c, []string{psConf(p, "punsubscribe", "", 0)}, "PUNSUBSCRIBE")
			psDo(t, c, []string{psConf(p, "subscribe", "a", 1), psConf(p, "subscribe", "b", 2)}, "SUBSCRIBE", "a", "b")
			psDo(t, c, []string{psConf(p, "psubscribe", "p*", 3)}, "PSUBSCRIBE", "p*")
			// Bare UNSUBSCRIBE leaves every channel, in any order, counting down.
			c.Send(psEnc("UNSUBSCRIBE"))
			f1, f2 := c.Read(), c.Read()
			ok := (f1 == psConf(p, "unsubscribe", "a", 2) && f2 == psConf(p, "unsubscribe", "b", 1)) ||
				(f1 == psConf(p, "unsubscribe", "b", 2) && f2 == psConf(p, "unsubscribe", "a", 1))
			if !ok {
				t.Errorf("bare UNSUBSCRIBE: got %q %q", f1, f2)
			}
			// Only the pattern is left: bare UNSUBSCRIBE has no channel to leave.
			psDo(t, c, []string{psConf(p, "unsubscribe", "", 1)}, "UNSUBSCRIBE")
			psDo(t, c, []string{psConf(p, "punsubscribe", "p*", 0)}, "PUNSUBSCRIBE")
			psDo(t, c, []string{psConf(p, "punsubscribe", "", 0)}, "PUNSUBSCRIBE")
		})
	}
}

func TestPubsubLeaveSubscribedMode(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Raw(t)
	eq(t, "BUCKET.DEFINE", c.Do("BUCKET.DEFINE", "users", usersDef), "+OK\r\n")
	refused := "-ERR Can't execute 'b.count': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
	psDo(t, c, []string{psConf(2, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
	eq(t, "B.COUNT while subscribed", c.Do("B.COUNT", "users"), refused)
	psDo(t, c, []string{psConf(2, "unsubscribe", "a", 0)}, "UNSUBSCRIBE", "a")
	eq(t, "B.COUNT after the last UNSUBSCRIBE", c.Do("B.COUNT", "users"), ":0\r\n")
	eq(t, "PING after the last UNSUBSCRIBE", c.Do("PING"), "+PONG\r\n")
	psDo(t, c, []string{psConf(2, "psubscribe", "a*", 1)}, "PSUBSCRIBE", "a*")
	eq(t, "B.COUNT while psubscribed", c.Do("B.COUNT", "users"), refused)
	psDo(t, c, []string{psConf(2, "punsubscribe", "a*", 0)}, "PUNSUBSCRIBE")
	eq(t, "B.COUNT after the last PUNSUBSCRIBE", c.Do("B.COUNT", "users"), ":0\r\n")
}

func TestPubsubRESP2SubscribedModeRejects(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Raw(t)
	c.Do("BUCKET.DEFINE", "users", usersDef)
	psDo(t, c, []string{psConf(2, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
	only := ": only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
	eq(t, "B.COUNT", c.Do("B.COUNT", "users"), "-ERR Can't execute 'b.count'"+only)
	eq(t, "b.insert", c.Do("b.insert", "users", `{"name":"x"}`), "-ERR Can't execute 'b.insert'"+only)
	eq(t, "ECHO", c.Do("ECHO", "x"), "-ERR Can't execute 'echo'"+only)
	eq(t, "MULTI", c.Do("MULTI"), "-ERR Can't execute 'multi'"+only)
	eq(t, "PUBSUB NUMSUB", c.Do("PUBSUB", "NUMSUB", "a"), "-ERR Can't execute 'pubsub|numsub'"+only)
	// The refused write did nothing, and the allowed commands work.
	psDo(t, c, []string{psConf(2, "psubscribe", "b*", 2)}, "PSUBSCRIBE", "b*")
	psDo(t, c, []string{"*2\r\n" + bulk("pong") + bulk("hi")}, "PING", "hi")
	psDo(t, c, []string{psConf(2, "punsubscribe", "b*", 1)}, "PUNSUBSCRIBE", "b*")
	other := s.Raw(t)
	eq(t, "nothing inserted", other.Do("B.COUNT", "users"), ":0\r\n")
	psDo(t, c, []string{"+OK\r\n"}, "QUIT")
	if !c.Closed(5 * time.Second) {
		t.Error("QUIT while subscribed did not close the connection")
	}
	// PUBLISH is not among the allowed commands either (Redis 7 refuses it;
	// its own subscription would otherwise receive the message).
	d := s.Raw(t)
	psDo(t, d, []string{psConf(2, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
	psDo(t, d, []string{"-ERR Can't execute 'publish'" + only}, "PUBLISH", "a", "x")
}

func TestPubsubRESP3CommandsWhileSubscribed(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := psSubscriber(t, s, 3)
	pub := s.Raw(t)
	psDo(t, c, []string{psConf(3, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
	eq(t, "BUCKET.DEFINE", c.Do("BUCKET.DEFINE", "users", usersDef), "+OK\r\n")
	eq(t, "B.COUNT", c.Do("B.COUNT", "users"), ":0\r\n")
	rec := c.Do("B.INSERT", "users", `{"id":"u1","name":"Ann"}`)
	if !strings.HasPrefix(rec, "$") || !strings.Contains(rec, `"id":"u1","name":"Ann"`) {
		t.Errorf("B.INSERT while subscribed: %q", rec)
	}
	eq(t, "ECHO", c.Do("ECHO", "e"), bulk("e"))
	eq(t, "PUBLISH from another client", pub.Do("PUBLISH", "a", "m1"), ":1\r\n")
	psExpect(t, c, "pushed message", psMsg(3, "a", "m1"))
	// Its own PUBLISH: the reply first, then the message, as in Redis 7.2.
	psDo(t, c, []string{":1\r\n", psMsg(3, "a", "m2")}, "PUBLISH", "a", "m2")
	psDo(t, c, []string{psConf(3, "unsubscribe", "a", 0)}, "UNSUBSCRIBE")
	eq(t, "B.COUNT after UNSUBSCRIBE", c.Do("B.COUNT", "users"), ":1\r\n")
}

func TestPubsubPing(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c2 := s.Raw(t)
	eq(t, "RESP2 PING", c2.Do("PING"), "+PONG\r\n")
	eq(t, "RESP2 PING hi", c2.Do("PING", "hi"), bulk("hi"))
	psDo(t, c2, []string{psConf(2, "subscribe", "a", 1)}, "SUBSCRIBE", "a")
	eq(t, "RESP2 subscribed PING", c2.Do("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	eq(t, "RESP2 subscribed PING hi", c2.Do("PING", "hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n")
	c3 := psSubscriber(t, s, 3)
	psDo(t, c3, []string{psConf(3, "psubscribe", "a*", 1)}, "PSUBSCRIBE", "a*")
	eq(t, "RESP3 subscribed PING", c3.Do("PING"), "+PONG\r\n")
	eq(t, "RESP3 subscribed PING hi", c3.Do("PING", "hi"), bulk("hi"))
}

func TestPubsubPublishCounts(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			n := func(ch string) string { return fmt.Sprintf("r%d.%s", p, ch) }
			c1 := psSubscriber(t, s, p) // patterns and a channel
			c2 := s.Raw(t)              // a pattern that c1 also has
			c3 := s.Raw(t)              // channels only
			pub := s.Raw(t)
			psDo(t, c1, []string{psConf(p, "psubscribe", n("foo.*"), 1), psConf(p, "psubscribe", n("b?r"), 2), psConf(p, "psubscribe", n("[xy]z"), 3)},
				"PSUBSCRIBE", n("foo.*"), n("b?r"), n("[xy]z"))
			psDo(t, c1, []string{psConf(p, "subscribe", n("foo.1"), 4)}, "SUBSCRIBE", n("foo.1"))
			psDo(t, c2, []string{psConf(2, "psubscribe", n("foo.*"), 1)}, "PSUBSCRIBE", n("foo.*"))
			psDo(t, c3, []string{psConf(2, "subscribe", n("foo.1"), 1), psConf(2, "subscribe", n("foo1"), 2)}, "SUBSCRIBE", n("foo.1"), n("foo1"))
			for _, tc := range []struct {
				ch   string
				want string
			}{
				{"foo.1", ":4\r\n"}, // c1 channel + c1 pattern + c2 pattern + c3 channel
				{"foo1", ":1\r\n"},  // foo.* does not match foo1
				{"bar", ":1\r\n"},
				{"xz", ":1\r\n"},
				{"az", ":0\r\n"},
			} {
				eq(t, "PUBLISH "+tc.ch, pub.Do("PUBLISH", n(tc.ch), "m"), tc.want)
			}
			eq(t, "c1 frames", psFence(t, c1), []string{
				psMsg(p, n("foo.1"), "m"), psPMsg(p, n("foo.*"), n("foo.1"), "m"),
				psPMsg(p, n("b?r"), n("bar"), "m"), psPMsg(p, n("[xy]z"), n("xz"), "m"),
			})
			eq(t, "c2 frames", psFence(t, c2), []string{psPMsg(2, n("foo.*"), n("foo.1"), "m")})
			eq(t, "c3 frames", psFence(t, c3), []string{psMsg(2, n("foo.1"), "m"), psMsg(2, n("foo1"), "m")})
		})
	}
}

func TestPubsubPatternMatching(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pub := s.Raw(t)
	for _, tc := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"foo.*", []string{"foo.1", "foo.", "foo.bar.baz"}, []string{"foo1", "foo", "xfoo.1"}},
		{"b?r", []string{"bar", "bbr"}, []string{"br", "baar"}},
		{"[xy]z", []string{"xz", "yz"}, []string{"az", "xyz"}},
		{"h[^e]llo", []string{"hallo", "hbllo"}, []string{"hello"}},
		{"h[a-c]llo", []string{"hallo", "hcllo"}, []string{"hdllo"}},
		{`a\*b`, []string{"a*b"}, []string{"axb"}},
		{"bucket.*.deleted", []string{"bucket.users.deleted"}, []string{"bucket.users.inserted"}},
	} {
		c := s.Raw(t)
		psDo(t, c, []string{psConf(2, "psubscribe", tc.pattern, 1)}, "PSUBSCRIBE", tc.pattern)
		var want []string
		for _, ch := range tc.match {
			eq(t, tc.pattern+" PUBLISH "+ch, pub.Do("PUBLISH", ch, "m"), ":1\r\n")
			want = append(want, psPMsg(2, tc.pattern, ch, "m"))
		}
		for _, ch := range tc.miss {
			eq(t, tc.pattern+" PUBLISH "+ch, pub.Do("PUBLISH", ch, "m"), ":0\r\n")
		}
		eq(t, tc.pattern+" frames", psFence(t, c), want)
		psDo(t, c, []string{psConf(2, "punsubscribe", tc.pattern, 0)}, "PUNSUBSCRIBE", tc.pattern)
	}
}

// psStrings decodes an array of bulk strings, sorted.
func psStrings(t *testing.T, reply string) []string {
	t.Helper()
	arr, ok := decodeReply(t, reply).([]any)
	if !ok {
		t.Fatalf("want an array, got %q", reply)
	}
	out := []string{}
	for _, v := range arr {
		out = append(out, v.(string))
	}
	sort.Strings(out)
	return out
}

func TestPubsubIntrospection(t *testing.T) {
	t.Parallel()
	s := Start(t)
	q := s.Raw(t)
	eq(t, "CHANNELS, nobody subscribed", q.Do("PUBSUB", "CHANNELS"), "*0\r\n")
	eq(t, "NUMPAT, nobody subscribed", q.Do("PUBSUB", "NUMPAT"), ":0\r\n")
	eq(t, "NUMSUB without channels", q.Do("PUBSUB", "NUMSUB"), "*0\r\n")
	a, b := s.Raw(t), psSubscriber(t, s, 3)
	psDo(t, a, []string{psConf(2, "subscribe", "news.tech", 1), psConf(2, "subscribe", "news.art", 2), psConf(2, "subscribe", "chat", 3)}, "SUBSCRIBE", "news.tech", "news.art", "chat")
	psDo(t, a, []string{psConf(2, "psubscribe", "news.*", 4), psConf(2, "psubscribe", "x*", 5)}, "PSUBSCRIBE", "news.*", "x*")
	psDo(t, b, []string{psConf(3, "subscribe", "news.tech", 1)}, "SUBSCRIBE", "news.tech")
	psDo(t, b, []string{psConf(3, "psubscribe", "news.*", 2)}, "PSUBSCRIBE", "news.*")
	eq(t, "CHANNELS", psStrings(t, q.Do("PUBSUB", "CHANNELS")), []string{"chat", "news.art", "news.tech"})
	eq(t, "CHANNELS news.*", psStrings(t, q.Do("PUBSUB", "CHANNELS", "news.*")), []string{"news.art", "news.tech"})
	eq(t, "CHANNELS c[h]at", psStrings(t, q.Do("PUBSUB", "CHANNELS", "c[h]at")), []string{"chat"})
	eq(t, "CHANNELS nomatch*", q.Do("PUBSUB", "CHANNELS", "nomatch*"), "*0\r\n")
	eq(t, "NUMSUB", q.Do("PUBSUB", "NUMSUB", "news.tech", "news.art", "news.*", "none"),
		"*8\r\n"+bulk("news.tech")+":2\r\n"+bulk("news.art")+":1\r\n"+bulk("news.*")+":0\r\n"+bulk("none")+":0\r\n")
	eq(t, "NUMPAT counts distinct patterns", q.Do("PUBSUB", "NUMPAT"), ":2\r\n")
	psDo(t, a, []string{psConf(2, "unsubscribe", "news.art", 4)}, "UNSUBSCRIBE", "news.art")
	psDo(t, a, []string{psConf(2, "punsubscribe", "news.*", 3)}, "PUNSUBSCRIBE", "news.*")
	eq(t, "CHANNELS after UNSUBSCRIBE", psStrings(t, q.Do("PUBSUB", "CHANNELS")), []string{"chat", "news.tech"})
	eq(t, "NUMPAT with news.* still held by b", q.Do("PUBSUB", "NUMPAT"), ":2\r\n")
	b.Close()
	eventually(t, 10*time.Second, "b's subscriptions to go with its connection", func() bool {
		return q.Do("PUBSUB", "NUMSUB", "news.tech") == "*2\r\n"+bulk("news.tech")+":1\r\n" &&
			q.Do("PUBSUB", "NUMPAT") == ":1\r\n"
	})
}

func TestPubsubReset(t *testing.T) {
	t.Parallel()
	s := Start(t)
	q := s.Raw(t)
	q.Do("BUCKET.DEFINE", "users", usersDef)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			ch := fmt.Sprint("reset", p)
			c := psSubscriber(t, s, p)
			psDo(t, c, []string{psConf(p, "subscribe", ch, 1)}, "SUBSCRIBE", ch)
			psDo(t, c, []string{psConf(p, "psubscribe", ch+"*", 2)}, "PSUBSCRIBE", ch+"*")
			eq(t, "RESET", c.Do("RESET"), "+RESET\r\n")
			// Back to a normal RESP2 connection with no subscription.
			eq(t, "PING after RESET", c.Do("PING"), "+PONG\r\n")
			eq(t, "B.COUNT after RESET", c.Do("B.COUNT", "users"), ":0\r\n")
			eq(t, "PUBLISH after RESET", q.Do("PUBLISH", ch, "m"), ":0\r\n")
			eq(t, "NUMSUB after RESET", q.Do("PUBSUB", "NUMSUB", ch), "*2\r\n"+bulk(ch)+":0\r\n")
			eq(t, "nothing delivered after RESET", c.Do("ECHO", "x"), bulk("x"))
		})
	}
}

func TestPubsubGoRedis(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, p := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", p), func(t *testing.T) {
			cx := ctx(t)
			c, pub := s.Client(t, p), s.Client(t, p)
			ch := fmt.Sprint("gr", p)
			ps := c.Subscribe(cx, ch)
			defer ps.Close()
			v, err := ps.Receive(cx)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "Subscribe confirmation", v, &redis.Subscription{Kind: "subscribe", Channel: ch, Count: 1})
			if err := ps.PSubscribe(cx, ch+".*"); err != nil {
				t.Fatal(err)
			}
			v, err = ps.Receive(cx)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "PSubscribe confirmation", v, &redis.Subscription{Kind: "psubscribe", Channel: ch + ".*", Count: 2})
			if n, err := pub.Publish(cx, ch, "hello").Result(); err != nil || n != 1 {
				t.Fatalf("Publish %s: %d, %v", ch, n, err)
			}
			if n, err := pub.Publish(cx, ch+".x", "world").Result(); err != nil || n != 1 {
				t.Fatalf("Publish %s.x: %d, %v", ch, n, err)
			}
			m, err := ps.ReceiveMessage(cx)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "message", *m, redis.Message{Channel: ch, Payload: "hello"})
			m, err = ps.ReceiveMessage(cx)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "pmessage", *m, redis.Message{Channel: ch + ".x", Pattern: ch + ".*", Payload: "world"})
			if err := ps.Ping(cx, "fence"); err != nil {
				t.Fatal(err)
			}
			v, err = ps.Receive(cx)
			if err != nil {
				t.Fatal(err)
			}
			if pong, ok := v.(*redis.Pong); !ok || pong.Payload != "fence" {
				t.Errorf("Ping: got %#v", v)
			}
			if err := ps.Unsubscribe(cx, ch); err != nil {
				t.Fatal(err)
			}
			v, err = ps.Receive(cx)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "Unsubscribe confirmation", v, &redis.Subscription{Kind: "unsubscribe", Channel: ch, Count: 1})
			if n, err := pub.PubSubNumSub(cx, ch).Result(); err != nil || n[ch] != 0 {
				t.Errorf("PubSubNumSub after Unsubscribe: %v, %v", n, err)
			}
			if n, err := pub.PubSubNumPat(cx).Result(); err != nil || n < 1 {
				t.Errorf("PubSubNumPat: %d, %v", n, err)
			}
			if err := ps.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
				t.Error(err)
			}
		})
	}
}

// TestPubsubSubscribeThenPublish: once a client has read the confirmation
// of its SUBSCRIBE/PSUBSCRIBE, the subscription is active, so a PUBLISH
// that another client sends afterwards must reach it (the Redis guarantee
// that go-redis's Subscribe + Receive, then publish, relies on).
func TestPubsubSubscribeThenPublish(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pub := s.Raw(t)
	const rounds = 2000
	for _, p := range []int{2, 3} {
		c := psSubscriber(t, s, p)
		missed := 0
		for i := 0; i < rounds; i++ {
			cmd, name := "SUBSCRIBE", fmt.Sprintf("race%d.%d", p, i)
			if i%2 == 1 {
				cmd, name = "PSUBSCRIBE", fmt.Sprintf("race%d.%d.*", p, i)
			}
			psDo(t, c, []string{psConf(p, strings.ToLower(cmd), name, i+1)}, cmd, name)
			ch, msg := name, psMsg(p, name, "m")
			if i%2 == 1 {
				ch = strings.TrimSuffix(name, "*") + "x"
				msg = psPMsg(p, name, ch, "m")
			}
			if got := pub.Do("PUBLISH", ch, "m"); got != ":1\r\n" {
				missed++
				continue
			}
			psExpect(t, c, "message", msg)
		}
		if missed > 0 {
			t.Errorf("RESP%d: %d of %d PUBLISHes sent after the subscription was confirmed reached nobody", p, missed, rounds)
		}
		psNothing(t, c, "after the last message")
	}
}
