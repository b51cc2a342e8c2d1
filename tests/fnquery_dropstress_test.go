package tests

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFnQueryDropRedefineStress drops and defines again the buckets live
// function channels read, while they run, and checks that after the
// churn each channel follows its buckets again: its last message equals
// QUERY.RUN once a write touches what it reads.
func TestFnQueryDropRedefineStress(t *testing.T) {
	t.Parallel()
	s, r := fqSetup(t)
	r.insert("users", `{"id":"k","name":"n0"}`)
	fqLua(r, "name", `local u = redis.call('B.GET', 'users', 'k') return u and cjson.decode(u).name or 'none'`)
	fqLua(r, "both", `return redis.call('B.COUNT', 'users', '{"name":{"$startsWith":"n"}}') .. '/' .. redis.call('B.COUNT', 'orders')`)
	chans := []string{"query.name", "query.both"}
	sub := qySubscribe(t, s.Client(t, 3), chans...)
	for _, ch := range chans {
		sub.waitN(ch, 1)
	}
	// Readers keep the channels busy running.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.Client(t, 2)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.Do(ctx(t), "B.INSERT", "orders", fmt.Sprintf(`{"userId":"w%d","item":"i"}`, w))
				c.Do(ctx(t), "B.UPSERT", "users", fmt.Sprintf(`{"id":"k","name":"n%d"}`, i))
			}
		}()
	}
	for i := range 60 {
		b := []string{"users", "orders"}[i%2]
		def := map[string]string{"users": fqUsersDef, "orders": fqOrdersDef}[b]
		r.do("BUCKET.DROP", b)
		r.define(b, def)
	}
	close(stop)
	wg.Wait()
	// Both buckets exist; a write to each makes every channel run.
	r.do("B.UPSERT", "users", `{"id":"k","name":"final"}`)
	r.insert("orders", `{"userId":"z","item":"last"}`)
	for _, q := range []string{"name", "both"} {
		want := qyRun(r, q)
		eventually(t, 10*time.Second, fmt.Sprintf("query.%s = QUERY.RUN %s (have %q)", q, want, lastOf(sub.messages("query."+q))), func() bool {
			return lastOf(sub.messages("query."+q)) == want
		})
	}
}
