package live

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"bucketd/engine"
)

// The randomized property: after every quiet period, the last message of
// every live channel equals a fresh QUERY.RUN, whatever the writes were
// (inserts, updates that move records in and out of filters, groups and
// sort positions, deletes, clears, TTL expiry, multi-bucket transactions,
// rollbacks). Incremental maintenance must be indistinguishable from full
// evaluation; the full-read fallbacks (inexact sums, a member leaving a
// bounded list) are exercised on the way.

// randomQueries are the query shapes, %s standing for the bucket.
var randomQueries = []string{
	`{"bucket":"%s"}`,
	`{"bucket":"%s","filter":{"t":true}}`,
	`{"bucket":"%s","filter":{"n":{"$gte":5}},"sort":{"n":"desc"},"limit":3}`,
	`{"bucket":"%s","sort":{"g":"asc","n":"desc"},"limit":4,"offset":2,"fields":["id","g","n"]}`,
	`{"bucket":"%s","sort":{"n":"asc"},"offset":3}`,
	`{"bucket":"%s","filter":{"$or":[{"g":"a"},{"n":{"$lt":3}}]},"sort":{"t":"desc"},"limit":2}`,
	`{"bucket":"%s","sort":{"s":"desc"},"limit":1}`,
	`{"bucket":"%s","filter":{"g":{"$in":["a","b"]}},"aggregate":{"function":"count"}}`,
	`{"bucket":"%s","aggregate":{"function":"count"}}`,
	`{"bucket":"%s","aggregate":{"function":"sum","field":"n"}}`,
	`{"bucket":"%s","filter":{"t":{"$exists":true}},"aggregate":{"function":"avg","field":"n"}}`,
	`{"bucket":"%s","aggregate":{"function":"min","field":"n"}}`,
	`{"bucket":"%s","filter":{"g":{"$neq":"c"}},"aggregate":{"function":"max","field":"n"}}`,
	`{"bucket":"%s","aggregate":{"function":"count","groupBy":"g"}}`,
	`{"bucket":"%s","aggregate":{"function":"sum","field":"n","groupBy":"g"}}`,
	`{"bucket":"%s","aggregate":{"function":"avg","field":"n","groupBy":["g","t"]}}`,
	`{"bucket":"%s","aggregate":{"function":"min","field":"n","groupBy":"g"}}`,
	`{"bucket":"%s","filter":{"n":{"$gt":0}},"aggregate":{"function":"max","field":"n","groupBy":"s"}}`,
}

// randomParamQuery takes its filter, sort direction and limit from
// parameters; each entry of randomParams is subscribed in two spellings.
const randomParamQuery = `{"bucket":"{{params.b}}","filter":{"g":"{{params.g}}"},"sort":{"n":"{{params.dir}}"},"limit":"{{params.k}}"}`

var randomParams = [][2]string{
	{`{"b":"%s","g":"a","dir":"desc","k":2}`, `{"k":2,"dir":"desc","g":"a","b":"%s"}`},
	{`{"b":"%s","g":"b","dir":"asc","k":3}`, `{"dir":"asc","b":"%s","k":3,"g":"b"}`},
}

// randomRecord returns a record's JSON for key id; exact restricts n to
// integers so that sums stay maintainable.
func randomRecord(r *rand.Rand, key string, exact bool) string {
	var b strings.Builder
	b.WriteString("{" + key)
	gs := []string{`"a"`, `"b"`, `"c"`, `null`, ``}
	if g := gs[r.IntN(len(gs))]; g != "" {
		b.WriteString(`,"g":` + g)
	}
	switch x := r.IntN(10); {
	case x < 6:
		fmt.Fprintf(&b, `,"n":%d`, r.IntN(25)-4)
	case x == 6 && !exact:
		fmt.Fprintf(&b, `,"n":%d.25`, r.IntN(10))
	case x == 7:
		b.WriteString(`,"n":null`)
	case x == 8:
		b.WriteString(`,"n":"7"`)
	}
	if x := r.IntN(3); x < 2 {
		fmt.Fprintf(&b, `,"t":%v`, x == 0)
	}
	ss := []string{`"x"`, `"y"`, `{"o":1,"p":2}`, `{"p":2,"o":1}`, ``}
	if s := ss[r.IntN(len(ss))]; s != "" {
		b.WriteString(`,"s":` + s)
	}
	return b.String() + "}"
}

type randomSub struct {
	s       *fakeSub
	name    string
	params  string
	channel string
}

func TestIncrementalEqualsFull(t *testing.T) {
	for _, exact := range []bool{true, false} {
		t.Run(fmt.Sprintf("integers=%v", exact), func(t *testing.T) {
			t.Parallel() // each on its own store
			testIncrementalEqualsFull(t, exact, 7)
		})
	}
}

func testIncrementalEqualsFull(t *testing.T, exact bool, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	e := newEnv(t)
	buckets := map[string]string{
		"ins": `{"key":"id","schema":{"id":{"type":"string"},"g":{"type":"string"}},"indexes":["g"]}`,
		"ord": `{"key":"id","schema":{"id":{"type":"number"}},"ordered":true}`,
	}
	keyOf := map[string]func(int) string{
		"ins": func(i int) string { return fmt.Sprintf("k%02d", i) },
		"ord": func(i int) string { return fmt.Sprint(i) },
	}
	recKey := map[string]func(int) string{
		"ins": func(i int) string { return fmt.Sprintf(`"id":"k%02d"`, i) },
		"ord": func(i int) string { return fmt.Sprintf(`"id":%d`, i) },
	}
	var subs []randomSub
	for _, b := range []string{"ins", "ord"} {
		e.bucket(b, buckets[b])
		for i, q := range randomQueries {
			name := fmt.Sprintf("%s%d", b, i)
			e.define(name, fmt.Sprintf(q, b))
			subs = append(subs, randomSub{s: e.subscribe("query." + name), name: name, channel: "query." + name})
		}
		for _, p := range randomParams {
			for _, spelling := range p {
				ps := fmt.Sprintf(spelling, b)
				ch := "query.param:" + ps
				subs = append(subs, randomSub{s: e.subscribe(ch), name: "param", params: ps, channel: ch})
			}
		}
	}
	e.define("param", randomParamQuery)

	const keys = 24
	names := []string{"ins", "ord"}
	op := func(tx *engine.Tx) error {
		b := names[r.IntN(2)]
		i := r.IntN(keys)
		var err error
		switch x := r.IntN(100); {
		case x < 30:
			opts := engine.InsertOptions{}
			if r.IntN(8) == 0 {
				opts.TTL = int64(1 + r.IntN(3000))
			}
			_, err = e.store.Insert(tx, b, obj(t, randomRecord(r, recKey[b](i), exact)), opts)
		case x < 60:
			ch := randomRecord(r, recKey[b](i), exact)
			_, err = e.store.Update(tx, b, keyOf[b](i), obj(t, ch), -1)
		case x < 70:
			_, err = e.store.Upsert(tx, b, obj(t, randomRecord(r, recKey[b](i), exact)))
		case x < 85:
			_, err = e.store.Delete(tx, b, keyOf[b](i), -1)
		case x < 92:
			f, _ := filterOf(`{"g":"a"}`)
			_, err = e.store.UpdateMany(tx, b, f, obj(t, fmt.Sprintf(`{"n":%d,"g":"b"}`, r.IntN(20))))
		case x < 98:
			f, _ := filterOf(`{"n":{"$lt":0}}`)
			_, err = e.store.DeleteMany(tx, b, f)
		default:
			if r.IntN(4) == 0 {
				_, err = e.store.Clear(tx, b)
			}
		}
		return err
	}
	rounds := 250
	if testing.Short() {
		rounds = 60
	}
	for round := range rounds {
		switch r.IntN(4) {
		case 0: // a transaction over both buckets, sometimes rolled back
			tx := mustBegin(e.store, names)
			failed := false
			for range 1 + r.IntN(12) {
				if op(tx) != nil {
					failed = true
					break
				}
			}
			if failed || r.IntN(5) == 0 {
				tx.Rollback()
			} else {
				tx.Commit()
			}
		default:
			for range 1 + r.IntN(6) {
				op(nil) // errors (duplicate keys, missing records) change nothing
			}
		}
		if r.IntN(3) == 0 {
			e.clock.Add(int64(r.IntN(2000)))
		}
		e.store.PurgeExpired() // expiry reaches live results through the sweep
		e.quiesce()
		for _, s := range subs {
			want := e.run(s.name, s.params)
			ms := s.s.messages(t)
			if len(ms) == 0 {
				t.Fatalf("round %d: %s got no message", round, s.channel)
			}
			last := ms[len(ms)-1]
			if last.payload != want || last.channel != s.channel {
				t.Fatalf("round %d: %s\n live: %s\n  run: %s", round, s.channel, last.payload, want)
			}
			for i := 1; i < len(ms); i++ {
				if ms[i].payload == ms[i-1].payload {
					t.Fatalf("round %d: %s sent an unchanged result twice: %s", round, s.channel, ms[i].payload)
				}
			}
		}
	}
	st := e.m.Stats()
	t.Logf("%d channels, %d evaluations, %d full reads, %d published", st.Channels, st.Evaluations, st.FullReads, st.Published)
	if exact && st.FullReads > st.Evaluations/3 {
		t.Errorf("too many full reads for maintainable queries: %+v", st)
	}
}
