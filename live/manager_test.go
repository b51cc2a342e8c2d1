package live

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

const itemsDef = `{"key":"id","schema":{"id":{"type":"string"},"g":{"type":"string"},"n":{"type":"number"}},"indexes":["g"]}`

func TestCanonicalChannel(t *testing.T) {
	for _, tc := range []struct {
		in, want, name string
		ok             bool
	}{
		{"query.q", "query.q", "q", true},
		{"query.q:{}", "query.q", "q", true},
		{`query.q:{"b":1,"a":2}`, `query.q:{"a":2,"b":1}`, "q", true},
		{`query.q: { "a" : 2 , "b" : 1.0 }`, `query.q:{"a":2,"b":1}`, "q", true},
		{`query.q:{"x":{"z":[{"d":1,"c":2}],"y":"s"}}`, `query.q:{"x":{"y":"s","z":[{"c":2,"d":1}]}}`, "q", true},
		// A sort clause keeps its key order: it is its meaning.
		{`query.q:{"s":{"b":"asc","a":"DESC"}}`, `query.q:{"s":{"b":"asc","a":"DESC"}}`, "q", true},
		{`query.q:{"s":{"b":"asc","a":1}}`, `query.q:{"s":{"a":1,"b":"asc"}}`, "q", true},
		{`query.q:{"k":"a:b"}`, `query.q:{"k":"a:b"}`, "q", true},
		{"query.", "", "", false},
		{"query.a.b", "", "", false},
		{"query.q:[1]", "", "", false},
		{"query.q:{bad", "", "", false},
		{"bucket.x.inserted", "", "", false},
	} {
		got, name, _, ok := CanonicalChannel(tc.in)
		if ok != tc.ok || got != tc.want || name != tc.name {
			t.Errorf("CanonicalChannel(%q) = %q, %q, %v; want %q, %q, %v", tc.in, got, name, ok, tc.want, tc.name, tc.ok)
		}
	}
}

func TestDefineErrors(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.define("q", `{"bucket":"items","aggregate":{"function":"count"}}`)
	var (
		syn  *jsonv.SyntaxError
		nb   *engine.NoBucketError
		qe   *query.Error
		fe   *filter.Error
		ex   *ExistsError
		name *NameError
	)
	for _, tc := range []struct {
		name, def string
		target    any
	}{
		{"bad.name", `{"bucket":"items"}`, &name},
		{"", `{"bucket":"items"}`, &name},
		{"j", `{"bucket":`, &syn},
		{"nb", `{"bucket":"nope"}`, &nb},
		{"nbp", `{"bucket":"nope","filter":{"g":"{{ params.g }}"}}`, &nb},
		{"bad", `{"bucket":"items","limit":0}`, &qe},
		{"unknown", `{"bucket":"items","colour":1}`, &qe},
		{"badfilter", `{"bucket":"items","filter":{"n":{"$foo":1}}}`, &fe},
		{"notobj", `[1]`, &qe},
		{"nobucket", `{"filter":{"g":"{{ params.g }}"}}`, &qe},
		{"q", `{"bucket":"items","aggregate":{"function":"sum","field":"n"}}`, &ex},
	} {
		err := e.m.Define(tc.name, []byte(tc.def))
		if err == nil || !errors.As(err, tc.target) {
			t.Errorf("Define(%q, %s) = %v; want %T", tc.name, tc.def, err, tc.target)
		}
	}
	if !errors.Is(e.m.Define("a.b", []byte(`{}`)), engine.ErrInvalidName) {
		t.Error("a bad name should wrap engine.ErrInvalidName")
	}
	// Identical redefinition (whitespace aside) is fine.
	if err := e.m.Define("q", []byte(` { "bucket" : "items", "aggregate":{"function":"count"} }`)); err != nil {
		t.Errorf("identical redefinition: %v", err)
	}
	// Placeholders anywhere, the bucket included.
	for i, d := range []string{
		`{"bucket":"items","filter":{"g":{"$in":"{{ params.gs }}"}},"limit":"{{params.n}}"}`,
		`{"bucket":"{{ params.b }}","aggregate":{"function":"count"}}`,
	} {
		if err := e.m.Define(fmt.Sprint("p", i), []byte(d)); err != nil {
			t.Errorf("Define(%s): %v", d, err)
		}
	}
	if got := e.m.List(); strings.Join(got, ",") != "p0,p1,q" {
		t.Errorf("List = %v", got)
	}
}

func TestHooksAndRestore(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	var calls []string
	e.m.OnDefinitionChange = func(name string, js []byte) {
		calls = append(calls, name+"="+string(js))
	}
	e.define("b", `{"bucket":"items", "limit": 2}`)
	e.define("a", `{"bucket":"items","aggregate":{"function":"count"}}`)
	e.define("a", `{"bucket":"items","aggregate":{"function":"count"}}`) // no change: no call
	if err := e.m.Restore("c", []byte(`{"bucket":"gone"}`)); err != nil {
		t.Fatal(err)
	}
	defs := e.m.Definitions()
	if len(defs) != 3 || defs[0].Name != "a" || defs[1].Name != "b" || string(defs[1].JSON) != `{"bucket":"items","limit":2}` {
		t.Fatalf("Definitions = %q", defs)
	}
	if _, err := e.m.Run("c", nil, engine.ReadLimit{}); !errors.As(err, new(*engine.NoBucketError)) {
		t.Errorf("Run of a restored query of a missing bucket: %v", err)
	}
	if err := e.m.Restore("c", nil); err != nil || len(e.m.List()) != 2 {
		t.Errorf("Restore(nil) should drop: %v %v", err, e.m.List())
	}
	e.m.Drop("b")
	e.store.Drop("items")
	e.m.BucketDropped("items")
	want := []string{`b={"bucket":"items","limit":2}`, `a={"bucket":"items","aggregate":{"function":"count"}}`, "b=", "a="}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("hook calls:\n got %q\nwant %q", calls, want)
	}
	if len(e.m.List()) != 0 {
		t.Errorf("queries left after their bucket was dropped: %v", e.m.List())
	}
}

func TestLiveCount(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.bucket("other", itemsDef)
	e.define("big", `{"bucket":"items","filter":{"n":{"$gte":10}},"aggregate":{"function":"count"}}`)
	e.insert("items", `{"id":"a","n":12}`)
	s1 := e.subscribe("query.big")
	e.quiesce()
	if got, n := s1.last(t); got != "1" || n != 1 {
		t.Fatalf("first message %q (of %d), want 1", got, n)
	}
	e.insert("items", `{"id":"b","n":20}`) // relevant
	e.quiesce()
	if got, n := s1.last(t); got != "2" || n != 2 {
		t.Fatalf("after a relevant insert: %q (of %d messages), want 2", got, n)
	}
	e.insert("items", `{"id":"c","n":1}`) // irrelevant
	e.update("items", "a", `{"g":"x"}`)   // irrelevant to a count
	e.insert("other", `{"id":"z"}`)       // another bucket
	e.quiesce()
	if _, n := s1.last(t); n != 2 {
		t.Fatalf("irrelevant writes sent messages: %v", s1.messages(t))
	}
	// A second subscriber gets the current result, alone.
	s2 := e.subscribe("query.big")
	e.quiesce()
	if got, n := s2.last(t); got != "2" || n != 1 {
		t.Fatalf("second subscriber: %q (of %d)", got, n)
	}
	if _, n := s1.last(t); n != 2 {
		t.Fatalf("the first subscriber got the second one's first message")
	}
	// One full read in all: the rest was maintained from the changes.
	if st := e.m.Stats(); st.FullReads != 1 || st.ActiveSubscriptions != 2 || st.Channels != 1 {
		t.Errorf("stats %+v", st)
	}
	// The last unsubscribe stops the evaluation: the bucket is not watched.
	e.m.Unsubscribe(s1, "query.big")
	e.m.Unsubscribe(s2, "query.big")
	e.waitNoWatches()
	if e.hub.NumSub("query.big") != 0 {
		t.Error("hub still has subscribers")
	}
}

func TestCoalescedTransaction(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.define("all", `{"bucket":"items","sort":{"n":"desc"},"limit":3}`)
	s := e.subscribe("query.all")
	e.quiesce()
	tx := mustBegin(e.store, []string{"items"})
	for i := range 100 {
		if _, err := e.store.Insert(tx, "items", obj(t, fmt.Sprintf(`{"id":"k%d","n":%d}`, i, i)), engine.InsertOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	e.quiesce()
	ms := s.messages(t)
	if len(ms) != 2 {
		t.Fatalf("a transaction of 100 writes gave %d messages after the first", len(ms)-1)
	}
	if ms[1].payload != e.run("all", "") {
		t.Fatalf("last message %s, QUERY.RUN %s", ms[1].payload, e.run("all", ""))
	}
}

func TestParamsShareOneChannel(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.define("byG", `{"bucket":"items","filter":{"g":"{{ params.g }}","n":{"$gte":"{{params.min}}"}},"aggregate":{"function":"sum","field":"n"}}`)
	e.insert("items", `{"id":"a","g":"x","n":5}`)
	e.insert("items", `{"id":"b","g":"y","n":7}`)
	s1 := e.subscribe(`query.byG:{"g":"x","min":1}`)
	s2 := e.subscribe(`query.byG:{"min":1,"g":"x"}`)
	s3 := e.subscribe(`query.byG:{"min":1,"g":"y"}`)
	e.quiesce()
	if n := len(e.m.chans); n != 2 {
		t.Fatalf("%d channels, want 2 (equal parameters share one)", n)
	}
	for _, c := range []struct {
		s       *fakeSub
		channel string
		want    string
	}{{s1, `query.byG:{"g":"x","min":1}`, "5"}, {s2, `query.byG:{"min":1,"g":"x"}`, "5"}, {s3, `query.byG:{"min":1,"g":"y"}`, "7"}} {
		ms := c.s.messages(t)
		if len(ms) != 1 || ms[0].channel != c.channel || ms[0].payload != c.want {
			t.Errorf("%s: %+v, want one message %s on the channel subscribed to", c.channel, ms, c.want)
		}
	}
	e.insert("items", `{"id":"c","g":"x","n":1}`)
	e.quiesce()
	if got, n := s2.last(t); got != "6" || n != 2 {
		t.Errorf("after insert: %q (%d)", got, n)
	}
	if _, n := s3.last(t); n != 1 {
		t.Errorf("the y channel was sent an unchanged result")
	}
	if got := e.run("byG", `{"g":"x","min":1}`); got != "6" {
		t.Errorf("QUERY.RUN = %s", got)
	}
	info, _ := e.m.Info("byG")
	if info.ActiveSubscriptions != 3 || len(info.Channels) != 2 || info.Channels[0].Channel != `query.byG:{"g":"x","min":1}` {
		t.Errorf("info %s", info.JSON())
	}
}

func TestRuntimeErrorKeepsSubscribers(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.define("top", `{"bucket":"items","sort":{"n":"desc"},"limit":"{{ params.n }}"}`)
	s := e.subscribe(`query.top:{"n":"many"}`)
	e.insert("items", `{"id":"a","n":1}`)
	e.quiesce()
	if _, n := s.last(t); n != 0 {
		t.Fatalf("an erroring query sent a message")
	}
	if _, err := e.m.Run("top", []byte(`{"n":"many"}`), engine.ReadLimit{}); !errors.As(err, new(*query.Error)) {
		t.Errorf("Run: %v", err)
	}
	if _, err := e.m.Run("top", nil, engine.ReadLimit{}); !errors.As(err, new(*query.ParamError)) {
		t.Errorf("Run without params: %v", err)
	}
	info, _ := e.m.Info("top")
	if info.ActiveSubscriptions != 1 || info.Channels[0].Error == "" {
		t.Errorf("info %s", info.JSON())
	}
}

func TestOrphanChannelStartsOnDefine(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.insert("items", `{"id":"a","n":1}`)
	s := e.subscribe("query.later")
	e.quiesce()
	if _, n := s.last(t); n != 0 {
		t.Fatal("a channel of an undefined query sent a message")
	}
	e.define("later", `{"bucket":"items","fields":["id"]}`)
	e.quiesce()
	if got, _ := s.last(t); got != `[{"id":"a"}]` {
		t.Fatalf("after define: %q", got)
	}
}

func TestDropEndsChannels(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.bucket("other", itemsDef)
	e.define("q1", `{"bucket":"items"}`)
	e.define("q2", `{"bucket":"{{params.b}}","aggregate":{"function":"count"}}`)
	e.subscribe("query.q1")
	e.subscribe(`query.q2:{"b":"items"}`)
	s3 := e.subscribe(`query.q2:{"b":"other"}`)
	e.quiesce()
	if !e.m.Drop("q1") || e.m.Drop("q1") {
		t.Fatal("Drop should report 1 then 0")
	}
	e.store.Drop("items")
	e.m.BucketDropped("items")
	e.quiesce()
	if got := strings.Join(e.revoked, " "); got != `query.q1 query.q2:{"b":"items"}` {
		t.Errorf("revoked %q", got)
	}
	if e.hub.NumSub("query.q1") != 0 || e.hub.NumSub(`query.q2:{"b":"items"}`) != 0 || e.hub.NumSub(`query.q2:{"b":"other"}`) != 1 {
		t.Error("hub subscriptions not ended")
	}
	// The parameterised query stays and its other channel lives on.
	e.insert("other", `{"id":"x"}`)
	e.quiesce()
	if got, n := s3.last(t); got != "1" || n != 2 {
		t.Errorf("surviving channel: %q (%d)", got, n)
	}
	if strings.Join(e.m.List(), ",") != "q2" {
		t.Errorf("List %v", e.m.List())
	}
}

func TestWaitingForBucket(t *testing.T) {
	e := newEnv(t)
	e.define("q", `{"bucket":"{{params.b}}","aggregate":{"function":"count"}}`)
	s := e.subscribe(`query.q:{"b":"later"}`)
	e.quiesce()
	e.bucket("later", itemsDef)
	e.insert("later", `{"id":"x"}`)
	e.quiesce()
	if got, _ := s.last(t); got != "1" {
		t.Errorf("a channel whose bucket appeared later: %q", got)
	}
}

func TestBoundedListRereadsOnlyWhenAMemberLeaves(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	for i := range 50 {
		e.insert("items", fmt.Sprintf(`{"id":"k%02d","n":%d}`, i, i))
	}
	e.define("top", `{"bucket":"items","sort":{"n":"desc"},"limit":3}`)
	s := e.subscribe("query.top")
	e.quiesce()
	reads := e.m.Stats().FullReads
	e.insert("items", `{"id":"low","n":-1}`)   // beyond the bound
	e.update("items", "k10", `{"n":11}`)       // beyond
	e.insert("items", `{"id":"high","n":100}`) // enters, evicts the third
	e.update("items", "k49", `{"n":99}`)       // a member moves within
	e.quiesce()
	if got := e.m.Stats().FullReads; got != reads {
		t.Errorf("%d full reads without a member leaving", got-reads)
	}
	e.store.Delete(nil, "items", "high", -1) // a member leaves
	e.quiesce()
	if got := e.m.Stats().FullReads; got != reads+1 {
		t.Errorf("%d full reads after a member left, want 1", got-reads)
	}
	if got, _ := s.last(t); got != e.run("top", "") {
		t.Errorf("live %s, run %s", got, e.run("top", ""))
	}
}
