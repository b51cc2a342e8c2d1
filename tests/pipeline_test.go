package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pipelined record commands of one read run under one hold of their bucket
// (commands/hold.go): these tests check that, seen from clients, each
// command is still its own write — own reply, own failure, own event, in
// order — and that the bucket is let go at the end of every read, after a
// protocol error, and during long pipelines.

// pipeline encodes commands as one RESP text, to be sent in one write.
func pipeline(cmds ...[]string) string {
	var b strings.Builder
	for _, args := range cmds {
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	return b.String()
}

func TestPipelineUnderHold(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number","max":10},"e":{"type":"string","unique":true}},"indexes":["n"]}`)
	r.define("b", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	cx := ctx(t)
	ps := s.Client(t, 2).PSubscribe(cx, "bucket.*")
	if _, err := ps.Receive(cx); err != nil {
		t.Fatal(err)
	}

	c := s.Raw(t)
	c.Send(pipeline(
		[]string{"B.UPSERT", "a", `{"id":"r1","n":1,"e":"x"}`},
		[]string{"B.UPSERT", "a", `{"id":"r2","n":2}`},
		[]string{"B.INSERT", "a", `{"id":"r3","e":"x"}`},        // unique violation
		[]string{"B.UPSERT", "a", `{"id":"r1","n":11,"e":"x"}`}, // invalid
		[]string{"B.GET", "a", "r1"},
		[]string{"B.UPSERT", "b", `{"id":"x"}`}, // another bucket
		[]string{"B.UPDATE", "a", "r1", `{"n":3}`},
		[]string{"B.UPSERT", "a", `{"id":"r4"`}, // bad JSON
		[]string{"B.DELETE", "a", "r2"},
		[]string{"B.COUNT", "a"},
		[]string{"PING"},
	))
	replies := make([]string, 11)
	for i := range replies {
		replies[i] = c.Read()
	}
	recN := func(reply string) any {
		v := decodeReply(t, reply)
		s, ok := v.(string)
		if !ok {
			t.Fatalf("reply %q is not a record", reply)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m["n"]
	}
	if n := recN(replies[0]); n != 1.0 {
		t.Errorf("first upsert n = %v", n)
	}
	for i, prefix := range map[int]string{2: "-UNIQUE", 3: "-VALIDATION", 7: "-ERR", 8: ":1", 9: ":1", 10: "+PONG"} {
		if !strings.HasPrefix(replies[i], prefix) {
			t.Errorf("reply %d = %q, want %s…", i, replies[i], prefix)
		}
	}
	if n := recN(replies[4]); n != 1.0 {
		t.Errorf("B.GET after the failed upsert: n = %v, want 1", n)
	}
	if n := recN(replies[6]); n != 3.0 {
		t.Errorf("B.UPDATE n = %v, want 3", n)
	}
	var got []string
	for range 5 {
		m, err := ps.ReceiveMessage(cx)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct{ Key any }
		json.Unmarshal([]byte(m.Payload), &ev)
		got = append(got, fmt.Sprint(m.Channel, " ", ev.Key))
	}
	want := []string{"bucket.a.inserted r1", "bucket.a.inserted r2", "bucket.b.inserted x", "bucket.a.updated r1", "bucket.a.deleted r2"}
	eq(t, "events", got, want)

	// The read is over: another client writes at once.
	r.str("B.UPSERT", "a", `{"id":"other"}`)
	r.integer(2, "B.COUNT", "a")
}

// TestPipelineProtocolErrorReleases: a read that holds a bucket and ends in
// protocol garbage closes the connection and lets the bucket go.
func TestPipelineProtocolErrorReleases(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	c := s.Raw(t)
	c.Send(pipeline([]string{"B.UPSERT", "a", `{"id":"p1"}`}) + "*1\r\n$x\r\n")
	if got := c.Read(); !strings.HasPrefix(got, "$") {
		t.Fatalf("upsert reply = %q", got)
	}
	if got := c.Read(); !strings.HasPrefix(got, "-ERR Protocol error") {
		t.Fatalf("reply to garbage = %q", got)
	}
	if !c.Closed(5 * time.Second) {
		t.Fatal("connection still open after a protocol error")
	}
	r.str("B.UPSERT", "a", `{"id":"p2"}`)
	r.integer(2, "B.COUNT", "a")
}

// TestPipelineLongAndConcurrent: long pipelines from several connections
// on one bucket all complete, every write lands once, and the indexes agree
// (the harness's STORE.CHECK runs after the test).
func TestPipelineLongAndConcurrent(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("a", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}},"indexes":["n"]}`)
	const conns, per = 4, 300
	var wg sync.WaitGroup
	for w := range conns {
		c := s.Raw(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cmds [][]string
			for i := range per {
				cmds = append(cmds, []string{"B.UPSERT", "a", fmt.Sprintf(`{"id":"k%d","n":%d}`, i%100, w)})
				if i%7 == 0 {
					cmds = append(cmds, []string{"B.GET", "a", fmt.Sprint("k", i%100)})
				}
			}
			c.Send(pipeline(cmds...))
			for range cmds {
				if got := c.Read(); !strings.HasPrefix(got, "$") {
					t.Errorf("conn %d: reply %q", w, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	r.integer(100, "B.COUNT", "a")
	// Every upsert landed once: the versions add up to the writes.
	total := 0.0
	for _, rec := range r.list("B.ALL", "a") {
		total += parseRec(t, rec)["_version"].(float64)
	}
	if total != conns*per {
		t.Errorf("sum of _version = %v, want %d", total, conns*per)
	}
}
