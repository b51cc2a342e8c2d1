package engine_test

import (
	"testing"

	"bucketd/engine"
)

// Expire: Redis's conditions, a time passed deletes, PERSIST removes, each
// change a new version and an updated event; in a transaction that rolls
// back, nothing of it stays.
func TestExpire(t *testing.T) {
	in := int64(startMs + 60_000)
	later := int64(startMs + 120_000)
	cases := []struct {
		name    string
		ttl     bool // the record has an expiry (in) before
		at      int64
		cond    engine.ExpireCond
		done    bool
		wantExp int64 // -1: deleted
		event   string
	}{
		{"set", false, in, engine.ExpireAlways, true, in, `updated "u2" 4`},
		{"NX without", false, in, engine.ExpireNX, true, in, `updated "u2" 4`},
		{"NX with", true, later, engine.ExpireNX, false, in, ""},
		{"XX without", false, in, engine.ExpireXX, false, 0, ""},
		{"XX with", true, later, engine.ExpireXX, true, later, `updated "u2" 5`},
		{"GT without (never is later)", false, in, engine.ExpireGT, false, 0, ""},
		{"GT later", true, later, engine.ExpireGT, true, later, `updated "u2" 5`},
		{"GT earlier", true, startMs + 1000, engine.ExpireGT, false, in, ""},
		{"LT without", false, in, engine.ExpireLT, true, in, `updated "u2" 4`},
		{"LT later", true, later, engine.ExpireLT, false, in, ""},
		{"the same", true, in, engine.ExpireAlways, true, in, ""},
		{"passed deletes", true, startMs - 1, engine.ExpireAlways, true, -1, `deleted "u2" 5 deleted`},
		{"persist", true, 0, engine.ExpireAlways, true, 0, `updated "u2" 5`},
		{"XX GT later", true, later, engine.ExpireXX | engine.ExpireGT, true, later, `updated "u2" 5`},
		{"XX LT without", false, in, engine.ExpireXX | engine.ExpireLT, false, 0, ""},
		{"persist without", false, 0, engine.ExpireAlways, false, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedUsers(e)
			if tc.ttl {
				if ok, err := e.s.Expire(nil, "users", "u2", in, engine.ExpireAlways); !ok || err != nil {
					t.Fatalf("setup: %v %v", ok, err)
				}
				e.obs.take()
			}
			before, _ := e.s.Get(nil, "users", "u2")
			e.clock.Advance(5)
			done, err := e.s.Expire(nil, "users", "u2", tc.at, tc.cond)
			if err != nil || done != tc.done {
				t.Fatalf("Expire = %v, %v; want %v", done, err, tc.done)
			}
			rec, _ := e.s.Get(nil, "users", "u2")
			switch {
			case tc.wantExp < 0:
				if rec != nil {
					t.Fatalf("the record is still there: %s", rec.JSON())
				}
			case rec.ExpiresAt != tc.wantExp:
				t.Errorf("_expiresAt %d, want %d", rec.ExpiresAt, tc.wantExp)
			case tc.event == "" && rec != before:
				t.Error("an expiry change that did nothing wrote the record")
			case tc.event != "" && (rec.Version != before.Version+1 || rec.UpdatedAt != startMs+5):
				t.Errorf("_version %d, _updatedAt %d after the change", rec.Version, rec.UpdatedAt)
			}
			if tc.event == "" {
				e.wantChanges()
			} else {
				e.wantChanges(tc.event)
			}
		})
	}
	t.Run("no record, bad key, no bucket", func(t *testing.T) {
		e := newEnv(t)
		seedUsers(e)
		if done, err := e.s.Expire(nil, "users", "nobody", in, engine.ExpireAlways); done || err != nil {
			t.Errorf("missing record: %v %v", done, err)
		}
		if _, err := e.s.Expire(nil, "nums", "one", in, engine.ExpireAlways); errKind(err) != "arg" {
			t.Errorf("bad key: %v", err)
		}
		if _, err := e.s.Expire(nil, "nobody", "1", in, engine.ExpireAlways); errKind(err) != "nobucket" {
			t.Errorf("no bucket: %v", err)
		}
	})
	// ExpireIn counts from the write's clock, the transaction's time: a
	// time of 1 ms is never already passed, however late the write runs
	// (it was, when EXPIRE added it to a time read before the write).
	t.Run("ExpireIn from the write's clock", func(t *testing.T) {
		e := newEnv(t)
		seedUsers(e)
		tx := mustBegin(e.s, []string{"users"})
		e.clock.Advance(50) // the server was slow: time passed since the transaction began
		if done, err := e.s.ExpireIn(tx, "users", "u2", 1, engine.ExpireAlways); !done || err != nil {
			t.Fatalf("ExpireIn: %v %v", done, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(-50)
		if rec, _ := e.s.Get(nil, "users", "u2"); rec == nil || rec.ExpiresAt != startMs+1 {
			t.Fatalf("after ExpireIn 1 ms: %v", rec)
		}
		for _, ms := range []int64{0, -5} {
			if done, err := e.s.ExpireIn(nil, "users", "u1", ms, engine.ExpireAlways); !done || err != nil {
				t.Fatalf("ExpireIn %d: %v %v", ms, done, err)
			}
			if rec, _ := e.s.Get(nil, "users", "u1"); rec != nil {
				t.Fatalf("ExpireIn %d left %s", ms, rec.JSON())
			}
			e.insert("users", `{"id":"u1","name":"Ann","email":"ann@x.io","age":30,"role":"admin"}`)
		}
	})
	t.Run("rolled back", func(t *testing.T) {
		e := newEnv(t)
		seedUsers(e)
		tx := mustBegin(e.s, []string{"users"})
		if done, err := e.s.Expire(tx, "users", "u2", in, engine.ExpireAlways); !done || err != nil {
			t.Fatalf("Expire in tx: %v %v", done, err)
		}
		tx.Rollback()
		if rec, _ := e.s.Get(nil, "users", "u2"); rec.ExpiresAt != 0 || rec.Version != 1 {
			t.Errorf("after rollback: %s", rec.JSON())
		}
		e.wantChanges()
	})
	t.Run("expires", func(t *testing.T) {
		e := newEnv(t)
		seedUsers(e)
		e.s.Expire(nil, "users", "u2", startMs+10, engine.ExpireAlways)
		e.clock.Advance(10)
		if rec, _ := e.s.Get(nil, "users", "u2"); rec != nil {
			t.Errorf("the record outlived its expiry: %s", rec.JSON())
		}
		if n := e.s.PurgeExpired(); n != 1 {
			t.Errorf("PurgeExpired = %d, want 1", n)
		}
	})
}
