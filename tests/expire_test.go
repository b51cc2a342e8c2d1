package tests

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const exDef = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`

// A record's expiry, Redis-style, over a real socket: the options of
// B.INSERT and B.UPSERT, B.EXPIRE, B.PEXPIRE, B.TTL, B.PTTL, B.PERSIST,
// their errors (which change nothing), events, MULTI, and a restart.
func TestRecordExpiry(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("ex", exDef)
	now := time.Now().UnixMilli()

	// The options give an _expiresAt.
	for _, c := range []struct {
		args   []any
		lo, hi int64 // the _expiresAt's range
	}{
		{[]any{"TTL", "1h"}, now + 3_600_000, now + 3_700_000},
		{[]any{"EX", "100"}, now + 100_000, now + 200_000},
		{[]any{"PX", "100000"}, now + 100_000, now + 200_000},
		{[]any{"EXAT", strconv.FormatInt(now/1000+500, 10)}, now + 400_000, now + 501_000},
		{[]any{"PXAT", strconv.FormatInt(now+500_000, 10)}, now + 500_000, now + 500_000},
	} {
		key := "k" + c.args[0].(string)
		rec := parseRec(t, r.str(append([]any{"B.INSERT", "ex", `{"id":"` + key + `"}`}, c.args...)...))
		if at := int64(num(t, rec, "_expiresAt")); at < c.lo || at > c.hi {
			t.Errorf("B.INSERT … %v: _expiresAt %d, want in [%d, %d]", c.args, at, c.lo, c.hi)
		}
	}

	// Bad options change nothing, with Redis's texts where Redis has them.
	for _, c := range []struct {
		want string
		args []any
	}{
		{`ERR TTL needs a unit, as in "10s", "5m", "1h" or "7d" (or give EX seconds or PX milliseconds)`, []any{"TTL", "10"}},
		{`ERR invalid TTL "0s": expected a positive duration with a unit, as in "30s", "5m", "1h" or "7d"`, []any{"TTL", "0s"}},
		{`ERR invalid TTL "abc": expected a positive duration with a unit, as in "30s", "5m", "1h" or "7d"`, []any{"TTL", "abc"}},
		{`ERR invalid expire time in 'b.insert' command`, []any{"EX", "0"}},
		{`ERR invalid expire time in 'b.insert' command`, []any{"PX", "-5"}},
		{`ERR value is not an integer or out of range`, []any{"EX", "1.5"}},
		{`ERR syntax error`, []any{"KEEPTTL", "1"}},
		{`ERR syntax error`, []any{"EX", "1", "PX", "1"}},
		{`ERR syntax error`, []any{"EX"}},
	} {
		r.failsUnchanged(c.want, append([]any{"B.INSERT", "ex", `{"id":"bad"}`}, c.args...)...)
	}
	r.failsUnchanged(`ERR invalid expire time in 'b.upsert' command`, "B.UPSERT", "ex", `{"id":"bad"}`, "EXAT", "0")

	// B.UPSERT: with an option the expiry is replaced, without it kept.
	r.str("B.UPSERT", "ex", `{"id":"u","n":1}`, "EX", "100")
	eq(t, "B.TTL after the upsert", r.do("B.TTL", "ex", "u"), int64(100))
	r.str("B.UPSERT", "ex", `{"id":"u","n":2}`)
	eq(t, "an upsert without an option keeps the expiry", r.do("B.TTL", "ex", "u"), int64(100))
	r.str("B.UPSERT", "ex", `{"id":"u","n":3}`, "PX", "5000")
	if ms := r.do("B.PTTL", "ex", "u").(int64); ms <= 0 || ms > 5000 {
		t.Errorf("B.PTTL after PX 5000: %d", ms)
	}

	// The expiry commands, as Redis's.
	r.insert("ex", `{"id":"p"}`)
	sub := qySubscribe(t, s.Client(t, 2), "bucket.ex.updated", "bucket.ex.deleted")
	for _, c := range []struct {
		want any
		args []any
	}{
		{int64(-1), []any{"B.TTL", "ex", "p"}},
		{int64(-2), []any{"B.TTL", "ex", "nobody"}},
		{int64(-2), []any{"B.PTTL", "ex", "nobody"}},
		{int64(0), []any{"B.PERSIST", "ex", "p"}},
		{int64(0), []any{"B.EXPIRE", "ex", "nobody", "10"}},
		{int64(0), []any{"B.EXPIRE", "ex", "p", "10", "XX"}},
		{int64(1), []any{"B.EXPIRE", "ex", "p", "10", "NX"}},
		{int64(10), []any{"B.TTL", "ex", "p"}},
		{int64(0), []any{"B.EXPIRE", "ex", "p", "20", "NX"}},
		{int64(0), []any{"B.EXPIRE", "ex", "p", "5", "GT"}},
		{int64(1), []any{"B.EXPIRE", "ex", "p", "50", "GT"}},
		{int64(1), []any{"B.PEXPIRE", "ex", "p", "30000", "LT"}},
		{int64(30), []any{"B.TTL", "ex", "p"}},
		{int64(1), []any{"B.PERSIST", "ex", "p"}},
		{int64(-1), []any{"B.PTTL", "ex", "p"}},
	} {
		eq(t, cmdText(c.args), r.do(c.args...), c.want)
	}
	ups := sub.waitN("bucket.ex.updated", 4) // NX, GT, LT, PERSIST: each a write
	ev := parseRec(t, ups[3])
	if nr, ok := ev["newRecord"].(map[string]any); !ok || nr["id"] != "p" || nr["_expiresAt"] != nil || ev["oldRecord"].(map[string]any)["_expiresAt"] == nil {
		t.Errorf("the PERSIST event: %s", ups[3])
	}
	eq(t, "a non-positive EXPIRE deletes", r.do("B.EXPIRE", "ex", "p", "0"), int64(1))
	r.null("B.GET", "ex", "p")
	if del := sub.waitN("bucket.ex.deleted", 1); !strings.Contains(del[0], `"reason":"deleted"`) {
		t.Errorf("the delete event: %s", del[0])
	}
	for _, c := range []struct {
		want string
		args []any
	}{
		{"ERR value is not an integer or out of range", []any{"B.EXPIRE", "ex", "u", "soon"}},
		{"ERR Unsupported option XY", []any{"B.EXPIRE", "ex", "u", "10", "XY"}},
		{"ERR NX and XX, GT or LT options at the same time are not compatible", []any{"B.EXPIRE", "ex", "u", "10", "NX", "XX"}},
		{"ERR GT and LT options at the same time are not compatible", []any{"B.EXPIRE", "ex", "u", "10", "GT", "LT"}},
		{"ERR invalid expire time in 'b.pexpire' command", []any{"B.PEXPIRE", "ex", "u", "99999999999999999"}},
		{"ERR wrong number of arguments for 'b.ttl' command", []any{"B.TTL", "ex"}},
		{`NOBUCKET Bucket "nope" is not defined`, []any{"B.EXPIRE", "nope", "u", "10"}},
	} {
		r.failsUnchanged(c.want, c.args...)
	}

	// In a script, and across a restart.
	r.insert("ex", `{"id":"m"}`)
	eq(t, "in a script", r.do("EVAL", "redis.call('B.EXPIRE', KEYS[1], 'm', 1000) return redis.call('B.TTL', KEYS[1], 'm')", "1", "ex"), int64(1000))
	s = restart(t, s, "stop") // not kill: under everysec the last writes may not be on disk yet (issue 20)
	r = newRC(t, s, 2)
	if ttl := r.do("B.TTL", "ex", "m").(int64); ttl < 990 || ttl > 1000 {
		t.Errorf("B.TTL after a restart: %d", ttl)
	}
	eq(t, "B.TTL of a persisted record after a restart", r.do("B.TTL", "ex", "kPXAT").(int64) > 0, true)
}
