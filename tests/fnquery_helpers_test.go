package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Helpers of the function query tests (fnquery_*_test.go: QUERY.DEFINE …
// LUA|FUNCTION, docs/commands.md, "Function queries"). They reuse
// queries_test.go's qySub for go-redis subscriptions.

// fqUsersDef and fqOrdersDef are the buckets of the userOrders examples:
// users by a string key, orders by an autoincrement key with an index on
// userId.
const (
	fqUsersDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string"},` +
		`"role":{"type":"string"},"bad":{"type":"boolean"}},"indexes":["role"],"persistent":false}`
	fqOrdersDef = `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},` +
		`"userId":{"type":"string"},"item":{"type":"string"}},"indexes":["userId"],"persistent":false}`
)

// fqUserOrders is a user's name and the sorted items of their orders:
// B.GET users (a miss is null) and B.WHERE orders by userId.
const fqUserOrders = `local u = redis.call('B.GET', 'users', params.userId)
local items = {}
for _, r in ipairs(redis.call('B.WHERE', 'orders', cjson.encode({userId = params.userId}))) do
  items[#items + 1] = cjson.decode(r).item
end
table.sort(items)
return {user = u and cjson.decode(u).name or cjson.null, items = items}`

// fqSetup starts a server with users and orders defined and returns it
// with a RESP3 client.
func fqSetup(t *testing.T) (*Server, *rc) {
	t.Helper()
	s := qyStart(t)
	r := newRC(t, s, 3)
	r.define("users", fqUsersDef)
	r.define("orders", fqOrdersDef)
	return s, r
}

// fqLua defines query name as a Lua chunk.
func fqLua(r *rc, name, chunk string) {
	r.t.Helper()
	r.ok("QUERY.DEFINE", name, "LUA", chunk)
}

// fqStats returns STORE.STATS's "queries" object.
func fqStats(r *rc) map[string]float64 {
	r.t.Helper()
	var st struct {
		Queries map[string]float64 `json:"queries"`
	}
	if err := json.Unmarshal([]byte(r.str("STORE.STATS")), &st); err != nil {
		r.t.Fatalf("STORE.STATS: %v", err)
	}
	return st.Queries
}

// fqStat returns one figure of STORE.STATS's "queries" object.
func fqStat(r *rc, name string) int64 {
	r.t.Helper()
	v, ok := fqStats(r)[name]
	if !ok {
		r.t.Fatalf("STORE.STATS queries lacks %q", name)
	}
	return int64(v)
}

// fqChanInfo is one channel of QUERY.INFO.
type fqChanInfo struct {
	Channel     string   `json:"channel"`
	Subscribers int      `json:"subscribers"`
	Mode        string   `json:"mode"`
	Evaluations int64    `json:"evaluations"`
	Published   int64    `json:"published"`
	Runs        int64    `json:"runs"`
	Reads       []string `json:"reads"`
	Error       string   `json:"error"`
}

// fqInfo is QUERY.INFO of a query.
type fqInfo struct {
	Name       string          `json:"name"`
	Kind       string          `json:"kind"`
	Definition json.RawMessage `json:"definition"`
	Channels   []fqChanInfo    `json:"channels"`
}

// fqQueryInfo returns QUERY.INFO name, decoded.
func fqQueryInfo(r *rc, name string) fqInfo {
	r.t.Helper()
	text := r.str("QUERY.INFO", name)
	var in fqInfo
	if err := json.Unmarshal([]byte(text), &in); err != nil {
		r.t.Fatalf("QUERY.INFO %s: %v in %s", name, err, text)
	}
	return in
}

// fqChan returns the QUERY.INFO entry of a live channel of query name,
// failing when there is none.
func fqChan(r *rc, name, channel string) fqChanInfo {
	r.t.Helper()
	in := fqQueryInfo(r, name)
	for _, c := range in.Channels {
		if c.Channel == channel {
			return c
		}
	}
	r.t.Fatalf("QUERY.INFO %s has no channel %s: %+v", name, channel, in.Channels)
	return fqChanInfo{}
}

// fqIdle waits until the live channels are quiet: STORE.STATS's runs,
// evaluations, published and reruns figures stay the same across several
// polls.
func fqIdle(t *testing.T, r *rc) {
	t.Helper()
	var last string
	same := 0
	eventually(t, 10*time.Second, "the live queries to go quiet", func() bool {
		st := fqStats(r)
		cur := fmt.Sprint(st["runs"], st["evaluations"], st["published"], st["reruns"])
		if cur == last {
			same++
		} else {
			same, last = 0, cur
		}
		return same >= 5
	})
}

// fqWaitLast waits until the last message on channel is want.
func fqWaitLast(t *testing.T, sub *qySub, channel, want string) []string {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("last message on %s = %s (have %q)", channel, want, sub.messages(channel)), func() bool {
		return lastOf(sub.messages(channel)) == want
	})
	return sub.messages(channel)
}

// fqErrPrefix checks that err starts with want: a run's error ends with
// where it happened (" script: query, on @user_query:1.").
func fqErrPrefix(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s:\n got error %q\nwant one starting %q", what, got, want)
	}
}

// fqJSONString is s as a JSON string, HTML characters unescaped.
func fqJSONString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
