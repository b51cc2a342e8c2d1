package tests

import (
	"fmt"
	"testing"
	"time"
)

// Function queries live: a query over two buckets pushes on a change to
// either; changes outside its read set run nothing; a key read that missed
// becomes a hit on insert; results are encoded as documented.

const fqUO1 = `query.userOrders:{"userId":"u1"}`

func TestFnQueryMultiBucket(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`, `{"id":"u2","name":"Bob"}`)
	r.insert("orders", `{"userId":"u1","item":"pen"}`, `{"userId":"u2","item":"hat"}`)
	fqLua(r, "userOrders", fqUserOrders)

	subs := []*qySub{qySubscribe(t, s.Client(t, 2), fqUO1), qySubscribe(t, s.Client(t, 3), fqUO1)}
	want := []string{`{"items":["pen"],"user":"Ann"}`}
	step := func(what string, result string, cmd ...any) {
		t.Helper()
		r.do(cmd...)
		want = append(want, result)
		for i, sub := range subs {
			eq(t, fmt.Sprintf("subscriber %d after %s", i, what), sub.waitN(fqUO1, len(want)), want)
		}
	}
	for i, sub := range subs {
		eq(t, fmt.Sprintf("subscriber %d first message", i), sub.waitN(fqUO1, 1), want)
	}
	step("updating the user", `{"items":["pen"],"user":"Anna"}`, "B.UPDATE", "users", "u1", `{"name":"Anna"}`)
	step("inserting an order", `{"items":["cup","pen"],"user":"Anna"}`, "B.INSERT", "orders", `{"userId":"u1","item":"cup"}`)
	step("deleting an order", `{"items":["cup"],"user":"Anna"}`, "B.DELETE", "orders", "1")
	// An update that moves a record out of the filter: its old version matched.
	step("moving an order away", `{"items":{},"user":"Anna"}`, "B.UPDATE", "orders", "3", `{"userId":"u2"}`)
	step("moving one in", `{"items":["hat"],"user":"Anna"}`, "B.UPDATE", "orders", "2", `{"userId":"u1"}`)
	step("deleting the user", `{"items":["hat"],"user":null}`, "B.DELETE", "users", "u1")
	step("inserting the user again", `{"items":["hat"],"user":"Ada"}`, "B.INSERT", "users", `{"id":"u1","name":"Ada"}`)
	step("clearing orders", `{"items":{},"user":"Ada"}`, "B.CLEAR", "orders")

	eq(t, "last message = QUERY.RUN", qyRun(r, "userOrders", `{"userId":"u1"}`), want[len(want)-1])
	in := fqQueryInfo(r, "userOrders")
	eq(t, "kind", in.Kind, "lua")
	eq(t, "definition", string(in.Definition), `{"lua":`+fqJSONString(fqUserOrders)+`}`)
	ch := fqChan(r, "userOrders", fqUO1)
	eq(t, "subscribers", ch.Subscribers, 2)
	eq(t, "mode", ch.Mode, "function")
	eq(t, "reads", ch.Reads, []string{`users: keys "u1"`, `orders: records matching {"userId":"u1"}`})
	eq(t, "published", ch.Published, int64(len(want)))
	eq(t, "error", ch.Error, "")
}

func TestFnQuerySelectivity(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`, `{"id":"u2","name":"Bob"}`)
	r.insert("orders", `{"userId":"u1","item":"pen"}`, `{"userId":"u2","item":"hat"}`)
	fqLua(r, "userOrders", fqUserOrders)
	// A filter without an equality is matched against every change.
	fqLua(r, "pCount", `return redis.call('B.COUNT', 'orders', '{"item":{"$startsWith":"p"}}')`)

	sub := qySubscribe(t, s.Client(t, 3), fqUO1, "query.pCount")
	sub.waitN(fqUO1, 1)
	sub.waitN("query.pCount", 1)
	eq(t, "pCount reads", fqChan(r, "pCount", "query.pCount").Reads, []string{`orders: records matching {"item":{"$startsWith":"p"}}`})
	uo, pc := fqChan(r, "userOrders", fqUO1).Runs, fqChan(r, "pCount", "query.pCount").Runs
	runs, skipped := fqStat(r, "runs"), fqStat(r, "skippedChanges")

	// Changes to records neither query read: another user, another
	// user's orders (an item not starting with p), a user that comes and
	// goes.
	unrelated := [][]any{
		{"B.UPDATE", "users", "u2", `{"name":"Bo"}`},
		{"B.INSERT", "orders", `{"userId":"u2","item":"cap"}`},
		{"B.UPDATE", "orders", "2", `{"item":"hood"}`},
		{"B.INSERT", "users", `{"id":"u3","name":"Cy"}`},
		{"B.DELETE", "users", "u3"},
		{"B.DELETE", "orders", "3"},
	}
	for _, cmd := range unrelated {
		r.do(cmd...)
	}
	eventually(t, 10*time.Second, "skippedChanges to count the unrelated changes", func() bool {
		return fqStat(r, "skippedChanges") >= skipped+int64(len(unrelated))
	})
	// A relevant change: its push shows the pipeline drained.
	r.do("B.UPDATE", "users", "u1", `{"name":"Anna"}`)
	eq(t, "messages", sub.waitN(fqUO1, 2), []string{`{"items":["pen"],"user":"Ann"}`, `{"items":["pen"],"user":"Anna"}`})
	eq(t, "userOrders runs", fqChan(r, "userOrders", fqUO1).Runs, uo+1)
	eq(t, "pCount runs", fqChan(r, "pCount", "query.pCount").Runs, pc)
	eq(t, "STORE.STATS runs", fqStat(r, "runs"), runs+1)
	// users is read by userOrders alone, which ran: not a skipped change.
	eq(t, "skippedChanges", fqStat(r, "skippedChanges"), skipped+int64(len(unrelated)))
	eq(t, "pCount messages", sub.messages("query.pCount"), []string{"1"})

	// A relevant change that leaves the result's bytes as they were runs
	// the query and publishes nothing; the next change that alters it
	// publishes once.
	r.do("B.UPDATE", "users", "u1", `{"role":"admin"}`)
	eventually(t, 10*time.Second, "userOrders to run for the role change", func() bool {
		return fqChan(r, "userOrders", fqUO1).Runs == uo+2
	})
	r.do("B.INSERT", "orders", `{"userId":"u1","item":"pad"}`)
	eq(t, "messages", sub.waitN(fqUO1, 3)[2], `{"items":["pad","pen"],"user":"Anna"}`)
	eq(t, "pCount", sub.waitN("query.pCount", 2), []string{"1", "2"})
	eq(t, "userOrders runs", fqChan(r, "userOrders", fqUO1).Runs, uo+3)
	eq(t, "published", fqChan(r, "userOrders", fqUO1).Published, int64(3))

	// A second channel of the same query: a change to u2 runs it alone.
	u2 := `query.userOrders:{"userId":"u2"}`
	sub2 := qySubscribe(t, s.Client(t, 2), u2)
	eq(t, "u2 first", sub2.waitN(u2, 1), []string{`{"items":["hood"],"user":"Bo"}`})
	r.do("B.INSERT", "orders", `{"userId":"u2","item":"bag"}`)
	eq(t, "u2 second", sub2.waitN(u2, 2)[1], `{"items":["bag","hood"],"user":"Bo"}`)
	r.do("B.UPDATE", "users", "u1", `{"name":"Ann"}`)
	sub.waitN(fqUO1, 4)
	eq(t, "u1 runs after a change of u2's", fqChan(r, "userOrders", fqUO1).Runs, uo+4)
	eq(t, "u2 runs", fqChan(r, "userOrders", u2).Runs, int64(2))
	eq(t, "u1 messages", len(sub.messages(fqUO1)), 4)
}

func TestFnQueryKeyMiss(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	fqLua(r, "name", `local r = redis.call('B.GET', 'users', params.id) return r and cjson.decode(r).name or cjson.null`)
	fqLua(r, "item", `local r = redis.call('B.GET', 'orders', params.id) return r and cjson.decode(r).item or 'none'`)
	fqLua(r, "names", `local out = {}
for i, r in ipairs(redis.call('B.MGET', 'users', unpack(params.ids))) do out[i] = r and cjson.decode(r).name or '-' end
return out`)
	ghost, item3 := `query.name:{"id":"ghost"}`, `query.item:{"id":3}`
	names := `query.names:{"ids":["a","b"]}`
	sub := qySubscribe(t, s.Client(t, 3), ghost, item3, names)
	eq(t, "miss", sub.waitN(ghost, 1), []string{"null"})
	eq(t, "numeric miss", sub.waitN(item3, 1), []string{"none"})
	eq(t, "MGET misses", sub.waitN(names, 1), []string{`["-","-"]`})
	eq(t, "reads", fqChan(r, "name", ghost).Reads, []string{`users: keys "ghost"`})
	eq(t, "numeric reads", fqChan(r, "item", item3).Reads, []string{`orders: keys 3`})
	eq(t, "MGET reads", fqChan(r, "names", names).Reads, []string{`users: keys "a", "b"`})

	r.insert("users", `{"id":"ghost","name":"Casper"}`)
	eq(t, "hit", sub.waitN(ghost, 2), []string{"null", "Casper"})
	r.insert("users", `{"id":"b","name":"Bea"}`)
	eq(t, "MGET hit", sub.waitN(names, 2), []string{`["-","-"]`, `["-","Bea"]`})

	// Orders 1 and 2 are other keys: inserting them runs nothing; order 3
	// is the key read.
	runs := fqChan(r, "item", item3).Runs
	r.insert("orders", `{"userId":"u","item":"one"}`, `{"userId":"u","item":"two"}`, `{"userId":"u","item":"three"}`)
	eq(t, "numeric hit", sub.waitN(item3, 2), []string{"none", "three"})
	eq(t, "runs: only the insert of key 3", fqChan(r, "item", item3).Runs, runs+1)

	// Many keys: QUERY.INFO names ten of them. Parameters spelt another
	// way share the channel.
	many := `query.names:{"ids":["k0","k1","k2","k3","k4","k5","k6","k7","k8","k9","k10","k11"]}`
	typed := `query.names:{ "ids" : ["k0","k1","k2","k3","k4","k5","k6","k7","k8","k9","k10","k11"] }`
	sub2 := qySubscribe(t, s.Client(t, 2), many, typed)
	eq(t, "many", sub2.waitN(many, 1), []string{`["-","-","-","-","-","-","-","-","-","-","-","-"]`})
	eq(t, "typed", sub2.waitN(typed, 1), []string{`["-","-","-","-","-","-","-","-","-","-","-","-"]`})
	eq(t, "many reads", fqChan(r, "names", many).Reads,
		[]string{`users: keys "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", … (12 keys)`})
	eq(t, "one channel for both spellings", fqChan(r, "names", many).Subscribers, 2)
	r.insert("users", `{"id":"k11","name":"Elf"}`)
	eq(t, "many hit", sub2.waitN(many, 2)[1], `["-","-","-","-","-","-","-","-","-","-","-","Elf"]`)
	eq(t, "typed hit", sub2.waitN(typed, 2)[1], `["-","-","-","-","-","-","-","-","-","-","-","Elf"]`)

	// Deleting it makes it a miss again.
	r.do("B.DELETE", "users", "ghost")
	eq(t, "miss again", sub.waitN(ghost, 3)[2], "null")
	eq(t, "other channels unchanged", len(sub.messages(names))+len(sub.messages(item3)), 4)
}

func TestFnQueryResultEncoding(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	for i, tc := range []struct{ chunk, params, want string }{
		{`return 'hello world'`, "", `hello world`},
		{`return '{"raw": 1}'`, "", `{"raw": 1}`}, // a string as it is, not quoted
		{`return ''`, "", ``},
		{`return 'line1\nline2 é'`, "", "line1\nline2 é"},
		{`return 42`, "", `42`},
		{`return -1.5`, "", `-1.5`},
		{`return nil`, "", `null`},
		{`return`, "", `null`},
		{`return cjson.null`, "", `null`},
		{`return true`, "", `true`},
		{`return false`, "", `false`},
		{`return {}`, "", `{}`},
		{`return {1, 'two', true, {}}`, "", `[1,"two",true,{}]`},
		{`return {b = {c = false}, a = 1, [3] = 'x'}`, "", `{"3":"x","a":1,"b":{"c":false}}`},
		{`return {x = cjson.null}`, "", `{"x":null}`},
		{`return redis.call('B.GET', 'users', 'missing')`, "", `false`}, // a nil reply is false in Lua
		{`return params`, `{"x":[1,2],"y":{"z":"w"}}`, `{"x":[1,2],"y":{"z":"w"}}`},
		{`return params`, "", `{}`},
		{`return params.n * 2`, `{"n":21}`, `42`},
	} {
		name := fmt.Sprintf("enc%d", i)
		fqLua(r, name, tc.chunk)
		args := []any{name}
		channel := "query." + name
		if tc.params != "" {
			args = append(args, tc.params)
			channel += ":" + tc.params
		}
		eq(t, fmt.Sprintf("QUERY.RUN %s", tc.chunk), qyRun(r, args...), tc.want)
		for _, proto := range []int{2, 3} {
			sub := qySubscribe(t, s.Client(t, proto), channel)
			eq(t, fmt.Sprintf("RESP%d message of %s", proto, tc.chunk), sub.waitN(channel, 1), []string{tc.want})
			sub.ps.Close()
		}
	}
	// What cjson cannot encode is an error of the run.
	for i, chunk := range []string{`return {f = function() end}`, `return {1, 2, nil, 4, [10] = 5, [20] = 6}`} {
		name := fmt.Sprintf("bad%d", i)
		fqLua(r, name, chunk)
		got := r.fail("QUERY.RUN", name)
		fqErrPrefix(t, chunk, got, "ERR query result cannot be encoded as JSON: ")
	}
}

// TestFnQueryRegistrationsGo: once a channel ends (last unsubscribe,
// QUERY.DROP), what its runs read stops costing anything: changes to it
// are no longer looked up (skippedChanges stays).
func TestFnQueryRegistrationsGo(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"u1","name":"Ann"}`, `{"id":"u2","name":"Bob"}`)
	fqLua(r, "userOrders", fqUserOrders)
	for _, end := range []string{"unsubscribe", "QUERY.DROP"} {
		sub := qySubscribe(t, s.Client(t, 3), fqUO1)
		sub.waitN(fqUO1, 1)
		// An unrelated change is looked up and skipped: counted at commit.
		skipped := fqStat(r, "skippedChanges")
		r.do("B.UPDATE", "users", "u2", `{"name":"Bo-`+end+`"}`)
		eq(t, end+": skipped while live", fqStat(r, "skippedChanges"), skipped+1)
		if end == "unsubscribe" {
			if err := sub.ps.Unsubscribe(ctx(t), fqUO1); err != nil {
				t.Fatal(err)
			}
		} else {
			r.integer(1, "QUERY.DROP", "userOrders")
		}
		eventually(t, 10*time.Second, end+": the channel to go", func() bool {
			return fqStat(r, "channels") == 0
		})
		eventually(t, 10*time.Second, end+": its registrations to go", func() bool {
			skipped = fqStat(r, "skippedChanges")
			r.do("B.UPDATE", "users", "u2", `{"name":"Bob"}`)
			r.do("B.INSERT", "orders", `{"userId":"u2","item":"x"}`)
			return fqStat(r, "skippedChanges") == skipped
		})
		// And for good: more changes, nothing looked up (a registration
		// left behind would count these as skipped).
		for i := range 5 {
			r.do("B.UPDATE", "users", "u2", fmt.Sprintf(`{"name":"B%d"}`, i))
			r.do("B.INSERT", "orders", `{"userId":"u3","item":"y"}`)
		}
		eq(t, end+": no lookups", fqStat(r, "skippedChanges"), skipped)
		if end == "unsubscribe" {
			eq(t, "no run after the last unsubscribe", len(sub.messages(fqUO1)), 1)
		} else {
			fqLua(r, "userOrders", fqUserOrders)
		}
	}
}

// TestFnQueryReadWords: QUERY.INFO's read set of each kind of read, at
// the grain the read allows.
func TestFnQueryReadWords(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("orders", `{"userId":"u1","item":"pen"}`)
	f := `'{"userId":"u1"}'`
	for i, tc := range []struct {
		chunk string
		reads []string
	}{
		{`return redis.call('B.GET', 'users', 'u1')`, []string{`users: keys "u1"`}},
		{`return redis.call('B.MGET', 'orders', '1', '2', '1')`, []string{`orders: keys 1, 2`}},
		{`return redis.call('B.WHERE', 'orders', ` + f + `)`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.FINDONE', 'orders', ` + f + `)`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.COUNT', 'orders', ` + f + `)`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.SUM', 'orders', 'id', ` + f + `)`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.GROUPBY', 'orders', 'item', 'count', ` + f + `)`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.COUNT', 'orders')`, []string{"orders: every record"}},
		{`return redis.call('B.COUNT', 'orders', '{}')`, []string{"orders: every record"}},
		{`return redis.call('B.MAX', 'orders', 'id')`, []string{"orders: every record"}},
		{`return redis.call('B.ALL', 'orders')`, []string{"orders: every record"}},
		{`return redis.call('B.FIRST', 'orders', '1')`, []string{"orders: every record"}},
		{`return redis.call('B.LAST', 'orders', '1')`, []string{"orders: every record"}},
		{`return redis.call('B.PAGINATE', 'orders', 'LIMIT', '1')`, []string{"orders: every record"}},
		{`return redis.call('B.FIND', 'orders', '{"filter":{"userId":"u1"}}')`, []string{`orders: records matching {"userId":"u1"}`}},
		{`return redis.call('B.FIND', 'orders', '{"sort":{"item":"asc"}}')`, []string{"orders: every record"}},
		{`return #redis.call('BUCKET.INFO', 'orders')`, []string{"orders: every record"}},
		{`return redis.pcall('B.GET', 'nosuch', 'k')`, []string{"nosuch: every record"}},
		{`redis.call('B.GET', 'users', 'a') redis.call('B.WHERE', 'users', '{"role":"admin"}') return redis.call('B.GET', 'users', 'b')`,
			[]string{`users: keys "a", "b"; records matching {"role":"admin"}`}},
		{`redis.call('B.GET', 'users', 'a') return redis.call('B.ALL', 'users')`, []string{"users: every record"}},
		{`return 1`, []string{}},
	} {
		name := fmt.Sprintf("rw%d", i)
		fqLua(r, name, tc.chunk)
		sub := qySubscribe(t, s.Client(t, 3), "query."+name)
		eventually(t, 10*time.Second, "a run of "+tc.chunk, func() bool { return fqChan(r, name, "query."+name).Runs > 0 })
		eq(t, tc.chunk, fqChan(r, name, "query."+name).Reads, tc.reads)
		sub.ps.Close()
	}
}
