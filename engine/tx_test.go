package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bucketd/engine"
	"bucketd/jsonv"
)

const (
	accountsDef = `{"key":"id","schema":{
		"id":{"type":"number","generated":"autoincrement"},
		"owner":{"type":"string","required":true},
		"email":{"type":"string","unique":true},
		"balance":{"type":"number","min":0}},
		"indexes":["owner","balance"]}`
	ledgerDef = `{"key":"id","schema":{
		"id":{"type":"string"},
		"amount":{"type":"number"},
		"kind":{"type":"string"}},
		"indexes":["kind"],"ordered":true}`
)

// snapshot is what a rollback must restore: every record of both buckets,
// index answers, counters and event sequence numbers.
type snapshot struct {
	records, indexed          string
	counter, seqA, seqL       string
	countA, countL, ownerAnns int
}

func takeSnapshot(e *env) snapshot {
	e.t.Helper()
	ia, _ := e.s.Info("accounts")
	il, _ := e.s.Info("ledger")
	owners, _ := e.s.Where(nil, "accounts", flt(e.t, `{"owner":"ann"}`))
	rich, _ := e.s.Where(nil, "accounts", flt(e.t, `{"balance":{"$gte":50}}`))
	kinds, _ := e.s.Where(nil, "ledger", flt(e.t, `{"kind":{"$in":["in","out"]}}`))
	return snapshot{
		records: strings.Join(e.all("accounts"), "\n") + "\n" + strings.Join(e.all("ledger"), "\n"),
		indexed: keys(owners) + "|" + keys(rich) + "|" + keys(kinds),
		counter: fmt.Sprint(ia.Counter), seqA: fmt.Sprint(ia.EventSeq), seqL: fmt.Sprint(il.EventSeq),
		countA: e.count("accounts"), countL: e.count("ledger"), ownerAnns: len(owners),
	}
}

func txEnv(t *testing.T) *env {
	e := newEnv(t)
	e.define("accounts", accountsDef)
	e.define("ledger", ledgerDef)
	e.insert("accounts", `{"owner":"ann","email":"ann@x.io","balance":100}`)
	e.insert("accounts", `{"owner":"bob","email":"bob@x.io","balance":10}`)
	e.insert("ledger", `{"id":"l1","amount":100,"kind":"in"}`)
	e.obs.take()
	return e
}

func TestTxReadsOwnWrites(t *testing.T) {
	e := txEnv(t)
	tx := mustBegin(e.s, []string{"ledger", "accounts", "ledger"})
	r, err := e.s.Insert(tx, "accounts", obj(t, `{"owner":"cid","balance":5}`), engine.InsertOptions{})
	if err != nil || r.Key() != 3.0 {
		t.Fatalf("Insert in tx = %v, %v", r, err)
	}
	if _, err := e.s.Update(tx, "accounts", "1", obj(t, `{"balance":90}`), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Insert(tx, "ledger", obj(t, `{"id":"l2","amount":-10,"kind":"out"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Delete(tx, "accounts", "2", -1); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Get(tx, "accounts", "3"); got != r {
		t.Errorf("Get in tx does not see the insert")
	}
	if got, _ := e.s.Get(tx, "accounts", "2"); got != nil {
		t.Errorf("Get in tx sees a deleted record")
	}
	if recs, _ := e.s.Where(tx, "accounts", flt(t, `{"balance":{"$lt":95}}`)); keys(recs) != "1,3" {
		t.Errorf("indexed Where in tx = %s, want 1,3", keys(recs))
	}
	if n, _ := e.s.Count(tx, "ledger", flt(t, `{"kind":"out"}`)); n != 1 {
		t.Errorf("Count in tx = %d", n)
	}
	if _, err := e.s.Insert(tx, "other", obj(t, `{}`), engine.InsertOptions{}); errKind(err) != "nobucket" {
		t.Errorf("write to a bucket outside the tx: %v", err)
	}
	if _, err := e.s.Get(tx, "other", "1"); errKind(err) != "nobucket" {
		t.Errorf("read of a bucket outside the tx: %v", err)
	}
	e.wantChanges() // nothing before commit
	tx.Commit()
	e.wantChanges(`inserted 3 3`, `updated 1 4`, `inserted "l2" 2`, `deleted 2 5 deleted`)
	if n := e.count("accounts"); n != 2 {
		t.Errorf("count after commit = %d", n)
	}
	e.obs.mu.Lock()
	batches := e.obs.batches
	e.obs.mu.Unlock()
	if batches != 4 {
		t.Errorf("observer called %d times, want 4 (3 inserts, 1 transaction)", batches)
	}
}

func TestTxRollback(t *testing.T) {
	e := txEnv(t)
	before := takeSnapshot(e)
	tx := mustBegin(e.s, []string{"accounts", "ledger"})
	steps := []func() error{
		func() error {
			_, err := e.s.Insert(tx, "accounts", obj(t, `{"owner":"ann","email":"ann2@x.io","balance":70}`), engine.InsertOptions{})
			return err
		},
		func() error {
			_, err := e.s.Update(tx, "accounts", "1", obj(t, `{"owner":"zed","email":"z@x.io","balance":1}`), -1)
			return err
		},
		func() error {
			_, err := e.s.Delete(tx, "accounts", "2", -1)
			return err
		},
		func() error { // bob's email is free inside the tx now
			_, err := e.s.Insert(tx, "accounts", obj(t, `{"owner":"ann","email":"bob@x.io","balance":60}`), engine.InsertOptions{})
			return err
		},
		func() error {
			_, err := e.s.InsertMany(tx, "ledger", []*jsonv.Object{obj(t, `{"id":"l0","amount":1,"kind":"in"}`), obj(t, `{"id":"l9","amount":2,"kind":"out"}`)})
			return err
		},
		func() error {
			_, err := e.s.UpdateMany(tx, "ledger", nil, obj(t, `{"kind":"out"}`))
			return err
		},
		func() error {
			_, err := e.s.DeleteMany(tx, "ledger", flt(t, `{"id":"l1"}`))
			return err
		},
		func() error {
			_, err := e.s.Upsert(tx, "accounts", obj(t, `{"id":3,"balance":99}`))
			return err
		},
		func() error { // fails: leaves the rollback to the caller
			_, err := e.s.Insert(tx, "accounts", obj(t, `{"owner":"x","balance":-1}`), engine.InsertOptions{})
			if errKind(err) != "validation" {
				return fmt.Errorf("want a validation error, got %v", err)
			}
			return nil
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if n, _ := e.s.Count(tx, "accounts", flt(t, `{"owner":"ann"}`)); n != 2 {
		t.Errorf("inside the tx: %d records of ann, want 2", n)
	}
	tx.Rollback()
	e.wantChanges()
	if after := takeSnapshot(e); after != before {
		t.Fatalf("rollback did not restore:\n before %+v\n after  %+v", before, after)
	}
	e.check()
	// No autoincrement gap and no event sequence gap.
	r := e.insert("accounts", `{"owner":"dan"}`)
	if r.Key() != 3.0 {
		t.Errorf("key after rollback = %v, want 3", r.Key())
	}
	e.wantChanges(`inserted 3 3`)
	// The unique values are held as before.
	if _, err := e.s.Insert(nil, "accounts", obj(t, `{"owner":"eve","email":"bob@x.io"}`), engine.InsertOptions{}); errKind(err) != "unique" {
		t.Errorf("bob's email after rollback: %v", err)
	}
	if _, err := e.s.Insert(nil, "accounts", obj(t, `{"owner":"eve","email":"z@x.io"}`), engine.InsertOptions{}); err != nil {
		t.Errorf("email of a rolled-back update still held: %v", err)
	}
}

func TestTxClearRollback(t *testing.T) {
	e := txEnv(t)
	e.insert("accounts", `{"owner":"cid","email":"cid@x.io","balance":50}`)
	e.obs.take()
	before := takeSnapshot(e)
	tx := mustBegin(e.s, []string{"accounts", "ledger"})
	if _, err := e.s.Delete(tx, "accounts", "3", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Update(tx, "accounts", "2", obj(t, `{"balance":77}`), -1); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.Clear(tx, "accounts"); err != nil || n != 2 {
		t.Fatalf("Clear in tx = %d, %v", n, err)
	}
	if n, _ := e.s.Clear(tx, "ledger"); n != 1 {
		t.Fatalf("Clear ledger = %d", n)
	}
	if _, err := e.s.Insert(tx, "accounts", obj(t, `{"owner":"ann","email":"ann@x.io","balance":100}`), engine.InsertOptions{}); err != nil {
		t.Fatalf("insert after clear in tx: %v", err)
	}
	if n, _ := e.s.Count(tx, "accounts", nil); n != 1 {
		t.Errorf("count in tx after clear and insert = %d", n)
	}
	if n, _ := e.s.Clear(tx, "accounts"); n != 1 {
		t.Errorf("second clear = %d", n)
	}
	tx.Rollback()
	e.wantChanges()
	if after := takeSnapshot(e); after != before {
		t.Fatalf("rollback of clear did not restore:\n before %+v\n after  %+v", before, after)
	}
	e.check()
	if _, err := e.s.Insert(nil, "accounts", obj(t, `{"owner":"x","email":"cid@x.io"}`), engine.InsertOptions{}); errKind(err) != "unique" {
		t.Errorf("unique index after rollback of clear: %v", err)
	}
	if r := e.insert("accounts", `{"owner":"x"}`); r.Key() != 4.0 {
		t.Errorf("key after rolled-back clear = %v, want 4", r.Key())
	}
}

// TestTxNoDeadlock runs transactions over two buckets named in opposite
// orders, and single writes, from many goroutines.
func TestTxNoDeadlock(t *testing.T) {
	e := txEnv(t)
	e.define("zeta", ledgerDef)
	workers, rounds := 8, 300
	if raceEnabled {
		rounds = 100
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range rounds {
				names := []string{"accounts", "ledger", "zeta"}
				r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
				names = names[:2+r.IntN(2)]
				tx := mustBegin(e.s, names)
				id := fmt.Sprintf("w%d-%d", w, i)
				for _, n := range names {
					var err error
					if n == "accounts" {
						_, err = e.s.Update(tx, n, "1", obj(t, `{"balance":`+strconv.Itoa(i)+`}`), -1)
					} else {
						_, err = e.s.Insert(tx, n, obj(t, `{"id":"`+id+`","amount":1}`), engine.InsertOptions{})
					}
					if err != nil {
						tx.Rollback()
						errs <- err
						return
					}
				}
				if r.IntN(4) == 0 {
					tx.Rollback()
				} else {
					tx.Commit()
				}
				if _, err := e.s.Insert(nil, "zeta", obj(t, `{"id":"s`+id+`"}`), engine.InsertOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("transactions did not finish in 60s: deadlock")
	}
	close(errs)
	for err := range errs {
		t.Errorf("worker: %v", err)
	}
	if n := e.count("zeta"); n < workers*rounds {
		t.Errorf("zeta has %d records, want at least %d", n, workers*rounds)
	}
}

// TestTxAtomicVisibility: a reader that reads two buckets in one Tx never
// sees half of another transaction's writes.
func TestTxAtomicVisibility(t *testing.T) {
	e := txEnv(t)
	rounds := 2000
	if raceEnabled {
		rounds = 300
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writer: keeps balance of account 1 equal to amount of l1
		defer wg.Done()
		defer close(stop)
		for i := range rounds {
			tx := mustBegin(e.s, []string{"ledger", "accounts"})
			v := strconv.Itoa(i)
			if _, err := e.s.Update(tx, "accounts", "1", obj(t, `{"balance":`+v+`}`), -1); err != nil {
				t.Error(err)
			}
			if _, err := e.s.Update(tx, "ledger", "l1", obj(t, `{"amount":`+v+`}`), -1); err != nil {
				t.Error(err)
			}
			if i%3 == 0 { // a rolled-back tx that broke the pair must not show
				if _, err := e.s.Update(tx, "ledger", "l1", obj(t, `{"amount":-1}`), -1); err != nil {
					t.Error(err)
				}
				tx.Rollback()
				continue
			}
			tx.Commit()
		}
	}()
	reads := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			tx := mustBegin(e.s, []string{"accounts", "ledger"})
			a, err1 := e.s.Get(tx, "accounts", "1")
			l, err2 := e.s.Get(tx, "ledger", "l1")
			tx.Rollback()
			if err1 != nil || err2 != nil {
				t.Error(err1, err2)
				return
			}
			ab, _ := a.Get("balance")
			la, _ := l.Get("amount")
			if ab != la && !(ab == 100.0 && la == 100.0) {
				t.Errorf("reader saw half a transaction: balance %v, amount %v", ab, la)
				return
			}
			reads++
		}
	}()
	wg.Wait()
	t.Logf("%d consistent reads", reads)
}

func TestWatchToken(t *testing.T) {
	const def = `{"key":"id","schema":{"id":{"type":"string"},"v":{"type":"number","max":10}},"ttl":"1m"}`
	tests := []struct {
		name    string
		watch   string // key watched
		act     func(e *env)
		unchged bool
	}{
		{"nothing", "a", func(e *env) {}, true},
		{"other record updated", "a", func(e *env) { e.s.Update(nil, "w", "b", obj(e.t, `{"v":2}`), -1) }, true},
		{"other record inserted", "a", func(e *env) { e.insert("w", `{"id":"c"}`) }, true},
		{"reads", "a", func(e *env) { e.s.Get(nil, "w", "a"); e.s.All(nil, "w") }, true},
		{"failed update", "a", func(e *env) { e.s.Update(nil, "w", "a", obj(e.t, `{"v":11}`), -1) }, true},
		{"rolled-back update", "a", func(e *env) {
			tx := mustBegin(e.s, []string{"w"})
			e.s.Update(tx, "w", "a", obj(e.t, `{"v":3}`), -1)
			tx.Rollback()
		}, true},
		{"updated", "a", func(e *env) { e.s.Update(nil, "w", "a", obj(e.t, `{"v":3}`), -1) }, false},
		// An update that changes nothing is no write: the watched record
		// is as it was.
		{"updated to equal content", "a", func(e *env) { e.s.Update(nil, "w", "a", obj(e.t, `{"v":1}`), -1) }, true},
		{"deleted", "a", func(e *env) { e.s.Delete(nil, "w", "a", -1) }, false},
		{"deleted and inserted again", "a", func(e *env) {
			e.s.Delete(nil, "w", "a", -1)
			e.insert("w", `{"id":"a","v":1}`)
		}, false},
		{"expired", "a", func(e *env) { e.clock.Advance(60_000) }, false},
		{"expired and purged", "a", func(e *env) { e.clock.Advance(60_000); e.s.PurgeExpired() }, false},
		{"cleared", "a", func(e *env) { e.s.Clear(nil, "w") }, false},
		{"flushed", "a", func(e *env) { e.s.FlushAll() }, false},
		{"bucket dropped", "a", func(e *env) { e.s.Drop("w") }, false},
		{"bucket dropped and defined again", "a", func(e *env) {
			e.s.Drop("w")
			e.define("w", def)
			e.insert("w", `{"id":"a","v":1}`)
		}, false},
		{"absent, nothing", "z", func(e *env) {}, true},
		{"absent, inserted", "z", func(e *env) { e.insert("w", `{"id":"z"}`) }, false},
		{"absent, inserted then deleted", "z", func(e *env) {
			e.insert("w", `{"id":"z"}`)
			e.s.Delete(nil, "w", "z", -1)
		}, false},
		{"absent, failed insert", "z", func(e *env) {
			e.s.Insert(nil, "w", obj(e.t, `{"id":"z","v":99}`), engine.InsertOptions{})
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.define("w", def)
			e.insert("w", `{"id":"a","v":1}`)
			e.insert("w", `{"id":"b","v":1}`)
			w := e.s.Watch("w", tc.watch)
			if w.Bucket() != "w" {
				t.Fatalf("Bucket() = %q", w.Bucket())
			}
			tc.act(e)
			tx := mustBegin(e.s, []string{w.Bucket()})
			got := tx.Unchanged([]engine.WatchToken{w})
			tx.Rollback()
			if got != tc.unchged {
				t.Errorf("Unchanged = %v, want %v", got, tc.unchged)
			}
		})
	}
	// A bucket that never existed is watched as absent.
	e := newEnv(t)
	w := e.s.Watch("nobody", "k")
	tx := mustBegin(e.s, []string{"nobody"})
	if !tx.Unchanged([]engine.WatchToken{w}) {
		t.Errorf("watch of a missing bucket: changed")
	}
	tx.Rollback()
}

// TestConcurrentMixedLoad runs writers, transactions, readers, the expiry
// sweep, WATCH and statistics at once, for the race detector; the
// invariants must hold at the end.
func TestConcurrentMixedLoad(t *testing.T) {
	e := newEnv(t)
	e.define("p", `{"key":"id","schema":{"id":{"type":"string"},"u":{"type":"string","unique":true},"g":{"type":"number"}},"indexes":["g"],"ttl":20,"maxSize":200}`)
	e.define("q", `{"key":"id","schema":{"id":{"type":"number","generated":"autoincrement"},"g":{"type":"number"}},"indexes":["g"],"ordered":true}`)
	rounds := 400
	if raceEnabled {
		rounds = 150
	}
	var wg sync.WaitGroup
	seed := uint64(0)
	run := func(f func(r *rand.Rand, i int)) {
		seed++
		r := rand.New(rand.NewPCG(seed, 1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				f(r, i)
			}
		}()
	}
	for w := range 3 {
		run(func(r *rand.Rand, i int) {
			id := strconv.Itoa(r.IntN(300))
			js := fmt.Sprintf(`{"id":"%d-%s","u":"u%d","g":%d}`, w, id, r.IntN(300), r.IntN(10))
			e.s.Upsert(nil, "p", obj(t, js))
			e.s.Delete(nil, "p", fmt.Sprintf("%d-%d", w, r.IntN(300)), -1)
			e.s.Insert(nil, "q", obj(t, fmt.Sprintf(`{"g":%d}`, r.IntN(10))), engine.InsertOptions{})
		})
	}
	run(func(r *rand.Rand, i int) {
		tx := mustBegin(e.s, []string{"q", "p"})
		e.s.UpdateMany(tx, "q", flt(t, `{"g":{"$lt":3}}`), obj(t, `{"g":5}`))
		e.s.DeleteMany(tx, "p", flt(t, `{"g":1}`))
		if i%2 == 0 {
			tx.Rollback()
		} else {
			tx.Commit()
		}
		if i%50 == 0 {
			e.s.Clear(nil, "q")
		}
	})
	run(func(r *rand.Rand, i int) {
		e.clock.Advance(1)
		e.s.PurgeExpired()
		e.s.Info("p")
		w := e.s.Watch("p", "0-1")
		tx := mustBegin(e.s, []string{"p"})
		tx.Unchanged([]engine.WatchToken{w})
		tx.Rollback()
	})
	run(func(r *rand.Rand, i int) {
		e.s.Where(nil, "p", flt(t, `{"g":{"$gte":5}}`))
		e.s.Count(nil, "q", flt(t, `{"g":5}`))
		e.s.Paginate(nil, "q", 10, "", false)
		e.s.Last(nil, "p", 3)
		e.s.Aggregate(nil, "q", "sum", "g", nil)
		if err := e.s.Check(); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	e.check()
	if n := e.count("p"); n > 200 {
		t.Errorf("bucket p holds %d records over its maxSize 200", n)
	}
}
