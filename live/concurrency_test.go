package live

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"bucketd/jsonv"
)

// TestConcurrentChurn writes, subscribes, unsubscribes, defines and drops
// from several goroutines at once (run it with -race), then checks that the
// subscribers that stayed hold the final results.
func TestConcurrentChurn(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	queries := map[string]string{
		"cnt": `{"bucket":"items","filter":{"g":"a"},"aggregate":{"function":"count"}}`,
		"top": `{"bucket":"items","sort":{"n":"desc"},"limit":3,"fields":["id","n"]}`,
		"grp": `{"bucket":"items","aggregate":{"function":"sum","field":"n","groupBy":"g"}}`,
	}
	stay := map[string]*fakeSub{}
	for name, q := range queries {
		e.define(name, q)
		stay[name] = e.subscribe("query." + name)
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 400 {
				k := fmt.Sprintf("k%d", r.IntN(40))
				switch r.IntN(3) {
				case 0, 1:
					rec := fmt.Sprintf(`{"id":%q,"g":%q,"n":%d}`, k, []string{"a", "b", "c"}[r.IntN(3)], r.IntN(100))
					e.store.Upsert(nil, "items", obj(t, rec))
				default:
					e.store.Delete(nil, "items", k, -1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // subscribers come and go
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 9))
		var live []struct {
			s  *fakeSub
			ch string
		}
		for range 300 {
			if len(live) > 0 && r.IntN(2) == 0 {
				i := r.IntN(len(live))
				e.m.Unsubscribe(live[i].s, live[i].ch)
				live = append(live[:i], live[i+1:]...)
				continue
			}
			ch := []string{"query.cnt", "query.top", "query.grp", "query.tmp", `query.tmp:{"x":1}`}[r.IntN(5)]
			s := &fakeSub{proto: 3}
			e.m.Subscribe(s, ch)
			live = append(live, struct {
				s  *fakeSub
				ch string
			}{s, ch})
		}
		for _, l := range live {
			e.m.Unsubscribe(l.s, l.ch)
		}
	}()
	wg.Add(1)
	go func() { // a query defined and dropped over and over
		defer wg.Done()
		for i := range 100 {
			e.m.Define("tmp", []byte(`{"bucket":"items","filter":{"n":{"$lt":50}}}`))
			if i%3 == 0 {
				e.m.Info("tmp")
				e.m.Stats()
			}
			e.m.Drop("tmp")
		}
	}()
	wg.Wait()
	e.quiesce()
	for name, s := range stay {
		if got, _ := s.last(t); got != e.run(name, "") {
			t.Errorf("%s: live %s, run %s", name, got, e.run(name, ""))
		}
	}
	if err := e.store.Check(); err != nil {
		t.Fatal(err)
	}
	// Only the three queries' channels are left, and only their bucket is
	// watched.
	if st := e.m.Stats(); st.Channels != 3 || st.ActiveSubscriptions != 3 {
		t.Errorf("stats after churn: %+v", st)
	}
}

// TestNoWatchWithoutSubscribers: a defined query nobody listens to costs
// its bucket's writers nothing: no watch exists.
func TestNoWatchWithoutSubscribers(t *testing.T) {
	e := newEnv(t)
	e.bucket("items", itemsDef)
	e.define("q", `{"bucket":"items","aggregate":{"function":"count"}}`)
	e.insert("items", `{"id":"a"}`)
	if n := len(*e.m.watches.Load()); n != 0 {
		t.Fatalf("%d watches without subscribers", n)
	}
	s := e.subscribe("query.q")
	e.quiesce()
	if n := len(*e.m.watches.Load()); n != 1 {
		t.Fatalf("%d watches with a subscriber", n)
	}
	e.m.Unsubscribe(s, "query.q")
	e.waitNoWatches()
}

func BenchmarkObserverCount(b *testing.B) {
	e := newEnv(b)
	e.bucket("items", itemsDef)
	for i := range 1000 {
		e.insert("items", fmt.Sprintf(`{"id":"k%d","g":"a","n":%d}`, i, i))
	}
	e.define("q", `{"bucket":"items","filter":{"g":"a"},"aggregate":{"function":"count"}}`)
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("subscribed=%v", watched), func(b *testing.B) {
			if watched {
				s := e.subscribe("query.q")
				defer e.m.Unsubscribe(s, "query.q")
				e.quiesce()
			}
			ch := []*jsonv.Object{obj(b, `{"g":"a"}`), obj(b, `{"g":"b"}`)}
			i := 0
			for b.Loop() {
				if _, err := e.store.Update(nil, "items", fmt.Sprintf("k%d", i%1000), ch[i%2], -1); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
