package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// All or nothing (issue 17): a script that fails leaves no record, index
// entry, unique value, autoincrement step, event, published message or
// append-only entry; a script that succeeds delivers its events and
// PUBLISHes in order after it commits, and its effects (not its text)
// survive a restart.

// scLogsDef is a persistent bucket with a string key, a required name, an
// indexed age and a unique email.
const scLogsDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"age":{"type":"number","min":0},"email":{"type":"string","unique":true}},"indexes":["age"]}`

// scFrame reads one pub/sub frame from c and returns its channel and
// payload.
func scFrame(t *testing.T, c *RawConn) (string, string) {
	t.Helper()
	parts, ok := decodeReply(t, c.Read()).([]any)
	if !ok || len(parts) < 3 {
		t.Fatalf("not a pub/sub message: %#v", parts)
	}
	n := len(parts)
	return parts[n-2].(string), parts[n-1].(string)
}

// scSubscriber opens a RESP2 connection subscribed to the pattern
// bucket.* and the channel news.
func scSubscriber(t *testing.T, s *Server) *RawConn {
	t.Helper()
	c := evSub(t, s, 2, "bucket.*")
	psDo(t, c, []string{psConf(2, "subscribe", "news", 2)}, "SUBSCRIBE", "news")
	return c
}

// scWrites is the body of the rollback scripts: writes to items (KEYS[1])
// and logs (KEYS[2]) touching every index, the unique values, the
// autoincrement counter, and a PUBLISH.
const scWrites = `
redis.call('B.INSERT', KEYS[1], '{"name":"n","sku":"s9","cat":"c9"}')
redis.call('B.UPDATE', KEYS[1], '1', '{"cat":"c9"}')
redis.call('B.INSERT', KEYS[2], '{"id":"l1","name":"x","age":7,"email":"e9@x"}')
redis.call('B.DELETE', KEYS[2], 'l0')
redis.call('B.INSERTMANY', KEYS[1], '[{"name":"m1","cat":"c9"},{"name":"m2","sku":"s10"}]')
redis.call('B.UPDATEMANY', KEYS[2], '{}', '{"age":9}')
redis.call('PUBLISH', 'news', 'never')
`

func TestScriptRollbackLeavesNothing(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendfsync", "always")
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.define("logs", scLogsDef)
	r.define("other", scKVDef)
	first := r.str("B.INSERT", "items", `{"name":"a","sku":"s1","cat":"c1"}`)
	r.insert("logs", `{"id":"l0","name":"x","age":5,"email":"e0@x"}`)
	sub := scSubscriber(t, s)
	before := r.storeState()
	persisted := persistentState(t, r.c)
	for _, tc := range []struct {
		name, src, err string
		line           int
	}{
		{"error()", scWrites + "error('abort')", "ERR user_script:9: abort", 9},
		{"error table", scWrites + "error({err='MYCODE stop here'})", "MYCODE stop here", 9},
		{"failing call", scWrites + `redis.call('B.INSERT', KEYS[1], '{"sku":"s11"}')`, `VALIDATION Validation failed for bucket "items": name: Field is required`, 9},
		{"failing unique", scWrites + `redis.call('B.INSERT', KEYS[2], '{"id":"l2","name":"y","email":"e9@x"}')`, `UNIQUE Unique constraint violation in bucket "logs": field "email" already has value "e9@x"`, 9},
		{"undeclared bucket", scWrites + `redis.call('B.INSERT', 'other', '{"id":"o"}')`, "ERR script accessed bucket 'other', which is not among its KEYS: name every bucket a script touches in KEYS", 9},
		{"clear then error", scWrites + "redis.call('B.CLEAR', KEYS[1])\nredis.call('B.DELETEMANY', KEYS[2], '{}')\nerror('late')", "ERR user_script:11: late", 11},
		{"runtime error", scWrites + "local t = nil\nreturn t.x", "ERR user_script:10: attempt to index local 't' (a nil value)", 10},
		{"pcall then error", scWrites + "redis.pcall('B.INSERT', KEYS[1], '{}')\nerror('after pcall')", "ERR user_script:10: after pcall", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.sub(t)
			r.scErr(tc.err+scAt(tc.src, tc.line), tc.src, []string{"items", "logs"})
			if after := r.storeState(); after != before {
				t.Fatalf("the failed script changed the store:\nbefore %s\nafter  %s", before, after)
			}
			// The indexes hold nothing of it.
			eq(t, "B.WHERE items cat c9", r.list("B.WHERE", "items", `{"cat":"c9"}`), []string{})
			eq(t, "B.WHERE logs age 7", r.list("B.WHERE", "logs", `{"age":7}`), []string{})
			eq(t, "B.WHERE logs age 5", len(r.list("B.WHERE", "logs", `{"age":5}`)), 1)
			r.ok("STORE.CHECK")
		})
	}
	// Nothing was published: the first event and message the subscriber
	// gets are those of the writes below. The unique values are free and
	// the counter gives the next id.
	rec := r.str("B.INSERT", "items", `{"name":"after","sku":"s9","cat":"c9"}`)
	if id := num(t, parseRec(t, rec), "id"); id != 2 {
		t.Errorf("next autoincrement id after the failed scripts = %v, want 2", id)
	}
	r.str("B.INSERT", "logs", `{"id":"l1","name":"x","email":"e9@x"}`)
	r.integer(1, "PUBLISH", "news", "after")
	ch, payload := scFrame(t, sub)
	eq(t, "first event after the failed scripts", ch+" "+payload, evM("items", "inserted", evIns("items", "2", rec, 2)))
	ch, _ = scFrame(t, sub)
	eq(t, "second event", ch, "bucket.logs.inserted")
	ch, payload = scFrame(t, sub)
	eq(t, "first message on news", ch+" "+payload, "news after")
	eq(t, "B.WHERE items cat c9", len(r.list("B.WHERE", "items", `{"cat":"c9"}`)), 1)
	_ = first

	// After a restart from the append-only file, nothing of the failed
	// scripts is there either.
	r.integer(1, "B.DELETE", "items", "2") // back to the state before
	r.integer(1, "B.DELETE", "logs", "l1")
	want := strings.Replace(persisted, `"autoincrement":1`, `"autoincrement":2`, 1)
	flushed(t, s, r.c)
	s = restart(t, s, "kill")
	r = newRC(t, s, 2)
	got := persistentState(t, r.c)
	// Seqs moved on with the writes above; compare without them.
	sameState(t, "after a restart", scNoSeq(want), scNoSeq(got))
	rec = r.str("B.INSERT", "items", `{"name":"again"}`)
	if id := num(t, parseRec(t, rec), "id"); id != 3 {
		t.Errorf("next autoincrement id after the restart = %v, want 3", id)
	}
}

// scNoSeq drops the "seq":N figures of a dump.
func scNoSeq(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, `"seq":`); i >= 0 {
			j := i + len(`"seq":`)
			for j < len(line) && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			line = line[:i] + line[j:]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestScriptCommitDeliversInOrder(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.define("logs", scLogsDef)
	r.insert("logs", `{"id":"l0","name":"x","age":5}`)
	sub := scSubscriber(t, s)
	src := `
local out = {}
redis.call('PUBLISH', 'news', 'm1')
out[1] = redis.call('B.INSERT', KEYS[1], '{"name":"a","sku":"s1","cat":"c"}')
out[2] = redis.call('B.UPDATE', KEYS[2], 'l0', '{"age":6}')
redis.call('PUBLISH', 'news', 'm2')
out[3] = redis.call('B.GET', KEYS[2], 'l0')
redis.call('B.DELETE', KEYS[2], 'l0')
out[4] = redis.call('PUBLISH', 'news', 'm3')
return out`
	got, ok := r.scOK(src, []string{"items", "logs"}).([]any)
	if !ok || len(got) != 4 {
		t.Fatalf("script reply %#v", got)
	}
	eq(t, "PUBLISH's receivers inside the script", got[3], int64(1))
	l0 := `{"id":"l0","name":"x","age":5,` // the old record's start
	updated := got[1].(string)
	// The messages come in their place among the events, as the script
	// made them.
	want := []string{
		"news m1",
		evM("items", "inserted", evIns("items", "1", got[0].(string), 1)),
		"", // the update: checked below
		"news m2",
		evM("logs", "deleted", evDel("logs", `"l0"`, updated, "deleted", 3)),
		"news m3",
	}
	for i, w := range want {
		ch, payload := scFrame(t, sub)
		if i == 2 {
			if ch != "bucket.logs.updated" || !strings.Contains(payload, `"oldRecord":`+l0) || !strings.Contains(payload, `"newRecord":`+updated) {
				t.Errorf("frame %d: %s %s, want the update of l0", i, ch, payload)
			}
			continue
		}
		eq(t, fmt.Sprint("frame ", i), ch+" "+payload, w)
	}
	psNothing(t, sub, "after the script's frames")
	// A script that returns an error reply (not a failure) commits.
	r.err("MYCODE but committed", "EVAL", `redis.call('B.INSERT', KEYS[1], '{"name":"b"}'); return redis.error_reply('MYCODE but committed')`, "1", "items")
	r.integer(2, "B.COUNT", "items")
	ch, _ := scFrame(t, sub)
	eq(t, "event of the error_reply script", ch, "bucket.items.inserted")
}

func TestScriptPcallContinues(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.insert("items", `{"name":"a","sku":"s1","cat":"c"}`)
	src := `
redis.call('B.INSERT', KEYS[1], '{"name":"b","sku":"s2","cat":"c"}')
local e1 = redis.pcall('B.INSERT', KEYS[1], '{"name":"dup","sku":"s1","cat":"x"}')
local ok, e2 = pcall(redis.call, 'B.INSERT', KEYS[1], '{"sku":"s3"}')
local ok2, e3 = pcall(function() redis.call('B.INSERT', KEYS[1], '{"name":"z","sku":"s4","cat":"x"}'); error('inner') end)
redis.call('B.INSERT', KEYS[1], '{"name":"c","sku":"s3","cat":"c"}')
return {e1.err, tostring(ok), e2, tostring(ok2), e3}`
	got := r.scOK(src, []string{"items"})
	eq(t, "pcall results", got, []any{
		`UNIQUE Unique constraint violation in bucket "items": field "sku" already has value "s1"`,
		"false", `VALIDATION Validation failed for bucket "items": name: Field is required`,
		"false", "user_script:5: inner",
	})
	// The Lua pcall around a successful insert that then errors keeps the
	// insert (Lua's pcall does not undo), as in Redis; the failing calls
	// left nothing; the others committed.
	names := []string{}
	for _, rec := range r.list("B.ALL", "items") {
		names = append(names, parseRec(t, rec)["name"].(string))
	}
	eq(t, "records", names, []string{"a", "b", "z", "c"})
	eq(t, "index x", len(r.list("B.WHERE", "items", `{"cat":"x"}`)), 1)
	r.ok("STORE.CHECK")
}

func TestScriptReadsItsWrites(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.ok("QUERY.DEFINE", "cats", `{"bucket":"items","filter":{"cat":"c"},"aggregate":{"function":"count"}}`)
	body := `
redis.call('B.INSERT', KEYS[1], '{"name":"a","sku":"s1","cat":"c"}')
redis.call('B.INSERT', KEYS[1], '{"name":"b","cat":"c"}')
redis.call('B.UPDATE', KEYS[1], '1', '{"name":"a2"}')
local info = cjson.decode(redis.call('BUCKET.INFO', KEYS[1]))
local out = {cjson.decode(redis.call('B.GET', KEYS[1], '1')).name, redis.call('B.COUNT', KEYS[1]),
  #redis.call('B.WHERE', KEYS[1], '{"cat":"c"}'), redis.call('QUERY.RUN', 'cats'), info.records, info.autoincrement,
  redis.call('B.COUNT', KEYS[1], '{"sku":"s1"}')}
`
	want := []any{"a2", int64(2), int64(2), "2", int64(2), int64(2), int64(1)}
	// Rolled back: the same reads inside, nothing after.
	src := body + "error({err='STOP ' .. cjson.encode(out)})"
	_, e := r.scEval(src, []string{"items"})
	if !strings.HasPrefix(e, `STOP ["a2",2,2,"2",2,2,1]`) {
		t.Errorf("reads inside the failed script: %q", e)
	}
	r.integer(0, "B.COUNT", "items")
	eq(t, "QUERY.RUN after the rollback", r.str("QUERY.RUN", "cats"), "0")
	// Committed.
	eq(t, "reads inside the script", r.scOK(body+"return out", []string{"items"}), want)
	r.integer(2, "B.COUNT", "items")
	eq(t, "QUERY.RUN after", r.str("QUERY.RUN", "cats"), "2")
}

func TestScriptEffectsSurviveRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendfsync", "always")
	r := newRC(t, s, 2)
	r.define("kv", scKVDef)
	r.define("items", scItemsDef)
	// A script whose writes depend on math.random and TIME: the
	// append-only file holds what it wrote, so a restart gives the same
	// values, not a re-run's.
	src := `
local t = redis.call('TIME')
local n = math.random(1, 1000000000) + tonumber(t[2])
redis.call('B.INSERT', KEYS[1], cjson.encode({id = 'r' .. ARGV[1], n = n}))
redis.call('B.INSERT', KEYS[2], cjson.encode({name = 'at' .. t[1] .. '.' .. t[2], sku = tostring(n)}))
return n`
	sha := r.str("SCRIPT", "LOAD", src)
	vals := map[any]bool{}
	for i := range 5 {
		vals[r.do("EVALSHA", sha, "2", "kv", "items", fmt.Sprint(i))] = true
	}
	if len(vals) < 2 {
		t.Errorf("math.random gave the same value each time: %v", vals)
	}
	r.scErr("ERR user_script:1: x"+scAt("error('x')", 1), "error('x')", []string{"kv"})
	want := persistentState(t, r.c)
	flushed(t, s, r.c)
	// The file holds the effects, not the script.
	aof, err := os.ReadFile(currentAOF(t, s.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(aof), `"id":"r4"`) || strings.Contains(string(aof), "math.random") || strings.Contains(string(aof), "error('x')") {
		t.Errorf("the append-only file does not hold the effects alone:\n%q", aof)
	}
	s = restart(t, s, "kill")
	r = newRC(t, s, 2)
	sameState(t, "after a restart (append-only file)", want, persistentState(t, r.c))
	// The script cache is gone (as in Redis); the data is not.
	r.err("NOSCRIPT No matching script. Please use EVAL.", "EVALSHA", sha, "2", "kv", "items", "9")
	// Once more from a rewritten file.
	r.do("BGREWRITEAOF")
	eventually(t, 10*time.Second, "the rewrite to end", func() bool {
		return infoFields(t, r.c, "persistence")["aof_rewrite_in_progress"] == "0"
	})
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	sameState(t, "after a rewrite and a restart", want, persistentState(t, r.c))
}

// TestScriptInventoryConcurrent is the transaction as a script:
// read the stock, check it, insert the order, update the stock, or throw.
// Clients run it at once; exactly the stock is sold, and the refused ones
// leave nothing (no order, no order id used).
func TestScriptInventoryConcurrent(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("inventory", `{"key":"sku","schema":{"sku":{"type":"string"},"qty":{"type":"number","min":0}}}`)
	r.define("orders", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"sku":{"type":"string","required":true},"by":{"type":"string"}},"indexes":["sku","by"]}`)
	r.insert("inventory", `{"sku":"widget","qty":12}`)
	buy := `
local item = cjson.decode(redis.call('B.GET', 'inventory', ARGV[1]))
local order = redis.call('B.INSERT', 'orders', cjson.encode({sku = ARGV[1], by = ARGV[2]}))
if item.qty < 1 then error({err = 'OUTOFSTOCK ' .. ARGV[1]}) end
redis.call('B.UPDATE', 'inventory', ARGV[1], cjson.encode({qty = item.qty - 1}))
return order`
	const clients, tries = 6, 4
	results := make(chan string, clients*tries)
	done := make(chan struct{})
	for c := range clients {
		rc := newRC(t, s, 2)
		go func() {
			defer func() { done <- struct{}{} }()
			for range tries {
				_, e := rc.c.Eval(ctx(t), buy, []string{"inventory:widget", "orders"}, "widget", fmt.Sprint("c", c)).Result()
				if e == nil {
					results <- ""
				} else {
					results <- e.Error()
				}
			}
		}()
	}
	for range clients {
		<-done
	}
	close(results)
	sold, refused := 0, 0
	for e := range results {
		switch {
		case e == "":
			sold++
		case e == "OUTOFSTOCK widget"+scAt(buy, 4):
			refused++
		default:
			t.Errorf("unexpected error %q", e)
		}
	}
	eq(t, "sold", sold, 12)
	eq(t, "refused", refused, clients*tries-12)
	eq(t, "stock", parseRec(t, r.str("B.GET", "inventory", "widget"))["qty"], 0.0)
	r.integer(12, "B.COUNT", "orders")
	r.integer(12, "B.COUNT", "orders", `{"sku":"widget"}`)
	eq(t, "order ids", r.keys("id", "B.ALL", "orders"), []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"})
	rec := parseRec(t, r.str("B.INSERT", "orders", `{"sku":"other"}`))
	eq(t, "next order id", rec["id"], 13.0)
}

// TestScriptWatchAndQueries: a committed script touches WATCHed records
// and updates reactive queries; a failed one does neither.
func TestScriptWatchAndQueries(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", scItemsDef)
	r.insert("items", `{"name":"a","cat":"c"}`)
	r.ok("QUERY.DEFINE", "cats", `{"bucket":"items","filter":{"cat":"c"},"aggregate":{"function":"count"}}`)
	q := s.Raw(t)
	q.Send(psEnc("QUERY.SUBSCRIBE", "cats"))
	eq(t, "subscribe", q.Read(), psConf(2, "subscribe", "query.cats", 1))
	eq(t, "first result", q.Read(), psMsg(2, "query.cats", "1"))
	c := s.Raw(t)
	failing := `redis.call('B.UPDATE', KEYS[1], '1', '{"cat":"x"}')` + "\n" + `redis.call('B.INSERT', KEYS[1], '{"name":"b","cat":"c"}')` + "\nerror('no')"
	committing := `redis.call('B.INSERT', KEYS[1], '{"name":"b","cat":"c"}')`
	// A failed script: the WATCH holds, the query does not move.
	eq(t, "WATCH", c.Do("WATCH", "items:1"), "+OK\r\n")
	txQueue(t, c, []string{"B.COUNT", "items"})
	r.scErr("ERR user_script:3: no"+scAt(failing, 3), failing, []string{"items"})
	eq(t, "EXEC after the failed script", c.Do("EXEC"), "*1\r\n:1\r\n")
	psNothing(t, q, "the query after the failed script")
	// A committed script that touches the record: EXEC aborts; the query
	// gets the new count.
	eq(t, "WATCH", c.Do("WATCH", "items:1"), "+OK\r\n")
	txQueue(t, c, []string{"B.COUNT", "items"})
	r.scOK(committing+"\nredis.call('B.UPDATE', KEYS[1], '1', '{\"name\":\"a2\"}')", []string{"items"})
	eq(t, "EXEC after the script", c.Do("EXEC"), "*-1\r\n")
	eq(t, "the query after the script", q.Read(), psMsg(2, "query.cats", "2"))
}

// TestScriptLockOrder: scripts naming the same buckets in opposite orders
// run at once without deadlock (the buckets are taken in name order), and
// each runs alone over them: the two counters always move together.
func TestScriptLockOrder(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("la", scKVDef)
	r.define("lb", scKVDef)
	r.insert("la", `{"id":"c","n":0}`)
	r.insert("lb", `{"id":"c","n":0}`)
	bump := `
local a = cjson.decode(redis.call('B.GET', 'la', 'c')).n
local b = cjson.decode(redis.call('B.GET', 'lb', 'c')).n
if a ~= b then error({err = 'TORN ' .. a .. ' ' .. b}) end
redis.call('B.UPDATE', 'la', 'c', cjson.encode({n = a + 1}))
redis.call('B.UPDATE', 'lb', 'c', cjson.encode({n = b + 1}))
return a + 1`
	const clients, runs = 4, 25
	errs := make(chan error, clients)
	for i := range clients {
		keys := []string{"la", "lb"}
		if i%2 == 1 {
			keys = []string{"lb:c", "la:c"}
		}
		c := newRC(t, s, 2)
		go func() {
			for range runs {
				if err := c.c.Eval(ctx(t), bump, keys).Err(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatalf("script: %v", err)
		}
	}
	for _, b := range []string{"la", "lb"} {
		eq(t, b+" counter", parseRec(t, r.str("B.GET", b, "c"))["n"], float64(clients*runs))
	}
}
