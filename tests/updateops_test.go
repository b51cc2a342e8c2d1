package tests

import (
	"strings"
	"sync"
	"testing"
)

const uoDef = `{"key":"id","schema":{"id":{"type":"string"},"name":{"type":"string","required":true},` +
	`"stock":{"type":"number","min":0},"tags":{"type":"array"},"address":{"type":"object"}},"indexes":["stock"]}`

// Update operators over a real socket: a counter without WATCH, a nested
// field, arrays; every error leaves the record as it was; an update that
// changes nothing keeps the record's version and publishes nothing.
func TestUpdateOperators(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("items", uoDef)
	r.insert("items", `{"id":"lamp","name":"Lamp","stock":0,"address":{"city":"Berlin","zip":"10000"}}`)

	// 8 clients × 25 increments, no WATCH: every one counts.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newRC(t, s, 2)
			for range 25 {
				c.str("B.UPDATE", "items", "lamp", `{"$inc":{"stock":1}}`)
			}
		}()
	}
	wg.Wait()
	rec := parseRec(t, r.str("B.GET", "items", "lamp"))
	eq(t, "stock after 200 increments", []any{rec["stock"], rec["_version"]}, []any{200.0, 201.0})
	r.integer(1, "B.COUNT", "items", `{"stock":200}`) // the index followed

	// One nested field, the others kept (a merge would replace the object).
	rec = parseRec(t, r.str("B.UPDATE", "items", "lamp", `{"$set":{"address.zip":"10115"},"$push":{"tags":{"$each":["a","b","a"]}}}`))
	eq(t, "nested $set and $push", []any{rec["address"], rec["tags"]},
		[]any{map[string]any{"city": "Berlin", "zip": "10115"}, []any{"a", "b", "a"}})
	rec = parseRec(t, r.str("B.UPDATE", "items", "lamp", `{"$pull":{"tags":"a"},"$unset":["address"]}`))
	if _, has := rec["address"]; has || len(rec["tags"].([]any)) != 1 {
		t.Errorf("after $pull and $unset: %v", rec)
	}

	// Errors change nothing.
	for _, c := range []struct{ want, changes string }{
		{`ERR invalid update: $inc of "name": the field holds "Lamp", not a number`, `{"$inc":{"name":1}}`},
		{`ERR invalid update: the key field "id" cannot be changed`, `{"$set":{"id":"x"}}`},
		{`ERR invalid update: mix of operators ($set, …) and fields: give one or the other`, `{"$set":{"stock":1},"name":"x"}`},
		{`ERR invalid update: unknown operator "$rename" (expected one of $set, $unset, $inc, $push, $pull)`, `{"$rename":{"a":"b"}}`},
		{`VALIDATION Validation failed for bucket "items": stock: Minimum value is 0`, `{"$inc":{"stock":-1000}}`},
		{`VALIDATION Validation failed for bucket "items": name: Field is required`, `{"$unset":["name"]}`},
		{`ERR invalid update: the key field "id" cannot be changed (from "lamp" to "lamp2")`, `{"id":"lamp2"}`},
	} {
		r.failsUnchanged(c.want, "B.UPDATE", "items", "lamp", c.changes)
	}

	// Nothing changes: the same record, version and all, and no event.
	sub := qySubscribe(t, s.Client(t, 2), "bucket.items.updated")
	before := r.str("B.GET", "items", "lamp")
	eq(t, "an update that changes nothing", r.str("B.UPDATE", "items", "lamp", `{"name":"Lamp","stock":200}`), before)
	eq(t, "an operator that changes nothing", r.str("B.UPDATE", "items", "lamp", `{"$inc":{"stock":0},"$pull":{"tags":"zzz"}}`), before)
	r.str("B.UPDATE", "items", "lamp", `{"$inc":{"stock":-1}}`)
	msgs := sub.waitN("bucket.items.updated", 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0], `"stock":199`) {
		t.Errorf("events: %q, want one, of the real change", msgs)
	}

	// B.UPDATEMANY takes operators and counts the records it changed.
	r.insert("items", `{"id":"desk","name":"Desk","stock":5}`, `{"id":"chair","name":"Chair","stock":0}`)
	r.integer(2, "B.UPDATEMANY", "items", `{"stock":{"$gt":0}}`, `{"$inc":{"stock":-1}}`)
	r.integer(2, "B.UPDATEMANY", "items", `{}`, `{"name":"Desk"}`) // the desk is a Desk already
}
