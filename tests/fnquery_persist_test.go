package tests

import (
	"strings"
	"testing"
)

// Function query definitions survive restarts, clean and killed, with
// the libraries they name.

func TestFnQueryPersistence(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendfsync", "always")
	r := newRC(t, s, 3)
	persistent := func(def string) string { return strings.Replace(def, `"persistent":false`, `"persistent":true`, 1) }
	r.define("users", persistent(fqUsersDef))
	r.define("orders", persistent(fqOrdersDef))
	r.insert("users", `{"id":"u1","name":"Ann"}`)
	r.insert("orders", `{"userId":"u1","item":"pen"}`)
	fqLua(r, "userOrders", fqUserOrders)
	r.str("FUNCTION", "LOAD", fqLib("name", "'no-writes'"))
	r.ok("QUERY.DEFINE", "un", "FUNCTION", "userName")
	r.str("FUNCTION", "LOAD", "#!lua name=gone\nredis.register_function{function_name='soon', callback=function(p) return 1 end, flags={'no-writes'}}")
	r.ok("QUERY.DEFINE", "orphan", "FUNCTION", "soon")
	r.ok("FUNCTION", "DELETE", "gone") // the query stays, and fails
	r.ok("QUERY.DEFINE", "decl", `{"bucket":"orders","aggregate":{"function":"count"}}`)
	fqLua(r, "dropped", "return 1")
	r.integer(1, "QUERY.DROP", "dropped")
	infos := map[string]string{}
	for _, q := range []string{"userOrders", "un", "orphan", "decl"} {
		in := fqQueryInfo(r, q)
		infos[q] = in.Kind + " " + string(in.Definition)
	}

	for _, how := range []string{"stop", "kill"} {
		s = restart(t, s, how)
		r = newRC(t, s, 3)
		eq(t, how+": QUERY.LIST", r.list("QUERY.LIST"), []string{"decl", "orphan", "un", "userOrders"})
		for q, want := range infos {
			in := fqQueryInfo(r, q)
			eq(t, how+": QUERY.INFO "+q, in.Kind+" "+string(in.Definition), want)
		}
		eq(t, how+": userOrders", qyRun(r, "userOrders", `{"userId":"u1"}`), `{"items":["pen"],"user":"Ann"}`)
		eq(t, how+": un", qyRun(r, "un", `{"id":"u1"}`), "Ann")
		r.err("ERR Function not found: soon", "QUERY.RUN", "orphan")

		sub := qySubscribe(t, s.Client(t, 2), fqUO1, `query.un:{"id":"u1"}`)
		eq(t, how+": first", sub.waitN(fqUO1, 1), []string{`{"items":["pen"],"user":"Ann"}`})
		eq(t, how+": first of un", sub.waitN(`query.un:{"id":"u1"}`, 1), []string{"Ann"})
		r.insert("orders", `{"userId":"u1","item":"cup"}`)
		eq(t, how+": push", sub.waitN(fqUO1, 2)[1], `{"items":["cup","pen"],"user":"Ann"}`)
		r.do("B.UPDATE", "users", "u1", `{"name":"Ann-`+how+`"}`)
		eq(t, how+": push of un", sub.waitN(`query.un:{"id":"u1"}`, 2)[1], "Ann-"+how)
		sub.ps.Close()
		// Put the record back and the extra order away for the next round.
		r.do("B.UPDATE", "users", "u1", `{"name":"Ann"}`)
		r.do("B.DELETEMANY", "orders", `{"item":"cup"}`)
	}
	// A redefinition after the restarts is persisted too, through a
	// snapshot (SAVE) and after it; and the library loaded after the
	// query that names it is found.
	r.integer(1, "QUERY.DROP", "un")
	fqLua(r, "un", `return 'lua now'`)
	r.ok("SAVE")
	r.ok("FUNCTION", "DELETE", "qlib")
	r.integer(1, "QUERY.DROP", "decl")
	r.str("FUNCTION", "LOAD", fqLib("name .. '!'", "'no-writes'"))
	r.ok("QUERY.DEFINE", "un2", "FUNCTION", "userName")
	for _, how := range []string{"stop", "kill"} {
		s = restart(t, s, how)
		r = newRC(t, s, 3)
		eq(t, how+": redefined", qyRun(r, "un"), "lua now")
		eq(t, how+": kind", fqQueryInfo(r, "un").Kind, "lua")
		eq(t, how+": QUERY.LIST", r.list("QUERY.LIST"), []string{"orphan", "un", "un2", "userOrders"})
		eq(t, how+": the reloaded library", qyRun(r, "un2", `{"id":"u1"}`), "Ann!")
	}
}
