package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Shard channels, as Redis 7's unit/pubsubshard tests them (which do not
// run against an external server): a namespace of their own, smessage
// frames, counts of shard subscriptions only, PUBSUB SHARDCHANNELS and
// SHARDNUMSUB, and the confirmations' pushes despite CLIENT REPLY OFF.
func TestShardPubSub(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	sub := s.Raw(t)
	eq(t, "SSUBSCRIBE", sub.Do("SSUBSCRIBE", "chan1"), "*3\r\n$10\r\nssubscribe\r\n$5\r\nchan1\r\n:1\r\n")
	eq(t, "SSUBSCRIBE chan2", sub.Do("SSUBSCRIBE", "chan2"), "*3\r\n$10\r\nssubscribe\r\n$5\r\nchan2\r\n:2\r\n")
	r.integer(1, "SPUBLISH", "chan1", "hello")
	eq(t, "smessage", sub.Read(), "*3\r\n$8\r\nsmessage\r\n$5\r\nchan1\r\n$5\r\nhello\r\n")
	// PUBLISH does not reach shard subscribers, nor SPUBLISH ordinary ones.
	r.integer(0, "PUBLISH", "chan1", "classic")
	other := s.Raw(t)
	other.Do("SUBSCRIBE", "chan1")
	r.integer(1, "SPUBLISH", "chan1", "x")
	eq(t, "smessage after the ordinary subscription", sub.Read(), "*3\r\n$8\r\nsmessage\r\n$5\r\nchan1\r\n$1\r\nx\r\n")
	r.integer(1, "PUBLISH", "chan1", "y")
	eq(t, "message to the ordinary subscriber", other.Read(), "*3\r\n$7\r\nmessage\r\n$5\r\nchan1\r\n$1\r\ny\r\n")
	if got := r.list("PUBSUB", "SHARDCHANNELS"); strings.Join(got, ",") != "chan1,chan2" {
		t.Errorf("PUBSUB SHARDCHANNELS = %v", got)
	}
	if got := r.list("PUBSUB", "SHARDCHANNELS", "*2"); strings.Join(got, ",") != "chan2" {
		t.Errorf("PUBSUB SHARDCHANNELS *2 = %v", got)
	}
	if got := fmt.Sprint(r.do("PUBSUB", "SHARDNUMSUB", "chan1", "nope")); got != "[chan1 1 nope 0]" {
		t.Errorf("PUBSUB SHARDNUMSUB = %v", got)
	}
	if got := r.list("PUBSUB", "CHANNELS"); strings.Join(got, ",") != "chan1" {
		t.Errorf("PUBSUB CHANNELS (ordinary only) = %v", got)
	}
	if !strings.Contains(r.str("CLIENT", "LIST"), " ssub=2 ") {
		t.Errorf("CLIENT LIST lacks ssub=2:\n%s", r.str("CLIENT", "LIST"))
	}
	// In RESP2 subscribed mode only the subscribe family and PING run.
	eq(t, "GET while shard-subscribed", sub.Do("GET", "x:y"), "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
	// Subscribing twice counts once; SUNSUBSCRIBE of what is not there.
	eq(t, "SSUBSCRIBE again", sub.Do("SSUBSCRIBE", "chan1"), "*3\r\n$10\r\nssubscribe\r\n$5\r\nchan1\r\n:2\r\n")
	eq(t, "SUNSUBSCRIBE nope", sub.Do("SUNSUBSCRIBE", "nope"), "*3\r\n$12\r\nsunsubscribe\r\n$4\r\nnope\r\n:2\r\n")
	sub.Send("*1\r\n$12\r\nSUNSUBSCRIBE\r\n")
	eq(t, "SUNSUBSCRIBE all (1)", sub.Read(), "*3\r\n$12\r\nsunsubscribe\r\n$5\r\nchan1\r\n:1\r\n")
	eq(t, "SUNSUBSCRIBE all (2)", sub.Read(), "*3\r\n$12\r\nsunsubscribe\r\n$5\r\nchan2\r\n:0\r\n")
	eq(t, "SUNSUBSCRIBE with none", sub.Do("SUNSUBSCRIBE"), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n")
	r.integer(0, "SPUBLISH", "chan1", "gone")
	eq(t, "out of subscribed mode", sub.Do("PING"), "+PONG\r\n")
	r.err("ERR wrong number of arguments for 'spublish' command", "SPUBLISH", "chan1")
	r.err("ERR wrong number of arguments for 'ssubscribe' command", "SSUBSCRIBE")

	// RESP3 with CLIENT REPLY OFF: the confirmations and messages, pushes,
	// still arrive.
	c3 := s.Raw(t)
	c3.Do("HELLO", "3")
	c3.Send("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*1\r\n$4\r\nPING\r\n")
	c3.Send("*2\r\n$10\r\nSSUBSCRIBE\r\n$7\r\nchannel\r\n")
	eq(t, "RESP3 ssubscribe push despite REPLY OFF", c3.Read(), ">3\r\n$10\r\nssubscribe\r\n$7\r\nchannel\r\n:1\r\n")
	r.integer(1, "SPUBLISH", "channel", "hello")
	eq(t, "RESP3 smessage", c3.Read(), ">3\r\n$8\r\nsmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n")
}

// A subscriber's UNSUBSCRIBE that reached the server before another
// client's PUBLISH is served before it, as on Redis's one thread: the
// message is not delivered (resp.Server.SettleInput). Before, 114 to 191 of
// 300 such publishes still arrived; now none in most runs, and at most 2 in
// about one run of four under load (a cause not found yet: issue 21's note),
// so more than 15 means the mechanism is broken.
func TestUnsubscribeBeforePublish(t *testing.T) {
	t.Parallel()
	s := Start(t)
	sub := s.Raw(t)
	pub := s.Raw(t)
	delivered := 0
	for i := 0; i < 300; i++ {
		kind, un, name := "subscribe", "UNSUBSCRIBE", "ch"
		switch i % 3 {
		case 1:
			kind, un, name = "psubscribe", "PUNSUBSCRIBE", "c*"
		case 2:
			kind, un, name = "ssubscribe", "SUNSUBSCRIBE", "ch"
		}
		eq(t, kind, sub.Do(strings.ToUpper(kind), name), "*3\r\n$"+strconv.Itoa(len(kind))+"\r\n"+kind+"\r\n$"+strconv.Itoa(len(name))+"\r\n"+name+"\r\n:1\r\n")
		sub.Send("*1\r\n$" + strconv.Itoa(len(un)) + "\r\n" + un + "\r\n") // not waited for
		publish := "PUBLISH"
		if kind == "ssubscribe" {
			publish = "SPUBLISH"
		}
		miss := false
		if got := pub.Do(publish, "ch", "late"); got != ":0\r\n" {
			miss = true
		}
		// The confirmation, then nothing: a PING answers at once.
		if got := sub.Read(); !strings.Contains(got, strings.ToLower(un)) {
			miss = true
			sub.Read() // the confirmation after the message
		}
		if miss {
			delivered++
			t.Logf("iteration %d (%s) delivered", i, kind)
		}
		eq(t, "PING after the unsubscribe", sub.Do("PING"), "+PONG\r\n")
	}
	// None, as on Redis, but for a PUBLISH that gave up waiting at its
	// bound (10 ms), which INFO counts.
	timeouts, _ := strconv.Atoi(infoFields(t, s.Client(t, 2), "stats")["pubsub_settle_timeouts"])
	if delivered > timeouts {
		t.Errorf("%d of 300 publishes sent after an UNSUBSCRIBE reached the server were delivered, %d gave up waiting; want none but those (Redis: 0)", delivered, timeouts)
	}
}
