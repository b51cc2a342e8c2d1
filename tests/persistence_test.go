package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// End-to-end tests of docs/persistence.md: data survives a restart,
// clean or by kill; torn and corrupt files; rewrites under load; the
// persistence commands and INFO fields; disk errors.

// TestPersistRestart: every definition, record, version, counter and
// event seq survives restarts, clean and by kill, from the append-only
// file alone and from a snapshot plus the file; persistent:false records
// do not.
func TestPersistRestart(t *testing.T) {
	t.Parallel()
	for _, first := range []string{"stop", "kill"} {
		t.Run(first, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			r := newRC(t, s, 2)
			writeEverything(r, 0)
			want := persistentState(t, r.c)
			if first == "kill" {
				flushed(t, s, r.c)
			}
			s = restart(t, s, first)
			r = newRC(t, s, 3)
			sameState(t, "after "+first+" (append-only file)", want, persistentState(t, r.c))
			r.integer(0, "B.COUNT", "mem")
			if !strings.Contains(r.str("BUCKET.INFO", "mem"), `"persistent":false`) {
				t.Errorf("mem's definition is gone")
			}

			r.ok("SAVE")
			writeEverything(r, 1)
			want = persistentState(t, r.c)
			other := map[string]string{"stop": "kill", "kill": "stop"}[first]
			if other == "kill" {
				flushed(t, s, r.c)
			}
			s = restart(t, s, other)
			r = newRC(t, s, 2)
			sameState(t, "after "+other+" (snapshot + append-only file)", want, persistentState(t, r.c))
			r.integer(0, "B.COUNT", "mem")

			s = restart(t, s, "stop") // once more without writes
			r = newRC(t, s, 2)
			sameState(t, "after a restart without writes", want, persistentState(t, r.c))
			// The counter goes on from where it was: 18 ids were given, and
			// the record with id 18 is deleted, so 19 comes from the counter.
			rec := parseRec(t, r.str("B.INSERT", "orders", `{"item":"next"}`))
			if id := num(t, rec, "id"); id != 19 {
				t.Errorf("next autoincrement id after restarts = %v, want 19", id)
			}
		})
	}
}

// TestPersistIndexOrder: BUCKET.INFO lists a bucket's indexes in the
// same order after a restart as before it (definition order, then the
// unique ones).
func TestPersistIndexOrder(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", `{"key":"k","schema":{"k":{"type":"string"},"v":{"type":"number"},"a":{"type":"string"}},"indexes":["v","a"]}`)
	r.insert("kv", `{"k":"x","v":1,"a":"y"}`)
	order := func() string {
		var info struct{ Indexes []struct{ Field string } }
		json.Unmarshal([]byte(r.str("BUCKET.INFO", "kv")), &info)
		var f []string
		for _, ix := range info.Indexes {
			f = append(f, ix.Field)
		}
		return strings.Join(f, ",")
	}
	before := order()
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	if after := order(); after != before {
		t.Errorf("BUCKET.INFO indexes: %s before the restart, %s after", before, after)
	}
}

// TestPersistNotPersistent: the records of a persistent:false bucket are
// never written under --dir, in the append-only file or a snapshot.
func TestPersistNotPersistent(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("mem", pMemDef)
	r.define("kv", pKVDef)
	r.insert("mem", `{"id":"a","secret":"NEVER-ON-DISK-a"}`)
	r.insert("kv", `{"k":"ON-DISK","v":1}`)
	r.ok("SAVE")
	r.insert("mem", `{"id":"b","secret":"NEVER-ON-DISK-b"}`)
	r.str("B.UPDATE", "mem", "a", `{"secret":"NEVER-ON-DISK-c"}`)
	r.ok("MULTI")
	r.do("B.INSERT", "mem", `{"id":"c","secret":"NEVER-ON-DISK-d"}`)
	r.do("B.INSERT", "kv", `{"k":"tx","v":2}`)
	r.do("EXEC")
	flushed(t, s, r.c)
	if files := filesContaining(t, s.Dir, "NEVER-ON-DISK"); len(files) > 0 {
		t.Errorf("records of a persistent:false bucket are written to %v", files)
	}
	if files := filesContaining(t, s.Dir, "ON-DISK"); len(files) == 0 {
		t.Errorf("the persistent bucket's record is in no file under %s", s.Dir)
	}
	for _, how := range []string{"kill", "stop"} {
		s = restart(t, s, how)
		r = newRC(t, s, 2)
		r.integer(0, "B.COUNT", "mem")
		r.integer(2, "B.COUNT", "kv")
	}
}

// TestPersistFlushAll: FLUSHALL empties every bucket for good, and what is
// written after it survives.
func TestPersistFlushAll(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	r.define("orders", pOrdersDef)
	r.insert("kv", `{"k":"a","v":1}`, `{"k":"b","v":2}`)
	r.insert("orders", `{"item":"x"}`, `{"item":"y"}`)
	r.ok("SAVE")
	r.insert("kv", `{"k":"c","v":3}`)
	r.do("FLUSHALL")
	r.insert("kv", `{"k":"after","v":4}`)
	want := dump(t, r.c)
	for _, how := range []string{"kill", "stop"} {
		if how == "kill" {
			flushed(t, s, r.c)
		}
		s = restart(t, s, how)
		r = newRC(t, s, 2)
		sameState(t, "after FLUSHALL and "+how, want, dump(t, r.c))
	}
	if id := num(t, parseRec(t, r.str("B.INSERT", "orders", `{"item":"z"}`)), "id"); id != 3 {
		t.Errorf("autoincrement after FLUSHALL and restarts: %v, want 3", id)
	}
}

// TestPersistAppendOnlyNo: with --appendonly no nothing is written under
// --dir, the log says the data lives in memory, and the persistence
// commands say persistence is off.
func TestPersistAppendOnlyNo(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendonly", "no")
	r := newRC(t, s, 2)
	writeEverything(r, 0)
	if !strings.Contains(s.Log(), "in memory") {
		t.Errorf("the log does not say the data lives in memory:\n%s", s.Log())
	}
	if f := infoFields(t, r.c, "persistence")["aof_enabled"]; f != "0" {
		t.Errorf("INFO aof_enabled = %q, want 0", f)
	}
	for _, cmd := range []string{"SAVE", "BGSAVE", "BGREWRITEAOF"} {
		if e := r.fail(cmd); !strings.HasPrefix(e, "ERR ") || !strings.Contains(e, "appendonly no") {
			t.Errorf("%s: %q, want an ERR saying persistence is off", cmd, e)
		}
	}
	if now := time.Now().Unix(); r.do("LASTSAVE").(int64) > now {
		t.Errorf("LASTSAVE in the future")
	}
	s = restart(t, s, "stop")
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("--appendonly no wrote under --dir: %v", entries)
	}
	r = newRC(t, s, 2)
	if names := r.list("BUCKET.LIST"); len(names) != 0 {
		t.Errorf("after a restart with --appendonly no, buckets %v remain", names)
	}
}

// TestPersistExpired: records that expired while nobody swept them are not
// resurrected by a restart, from the append-only file or a snapshot.
func TestPersistExpired(t *testing.T) {
	t.Parallel()
	s := Start(t, "--ttl-interval", "1h") // no sweep: expired records stay in the file
	r := newRC(t, s, 2)
	r.define("short", `{"key":"id","schema":{"id":{"type":"string"}},"ttl":300}`)
	r.insert("short", `{"id":"gone1"}`, `{"id":"gone2"}`)
	r.str("B.INSERT", "short", `{"id":"stays"}`, "TTL", "1h")
	eventually(t, 5*time.Second, "the records to expire", func() bool {
		n, _ := r.c.Do(ctx(t), "B.COUNT", "short").Int64()
		return n == 1
	})
	flushed(t, s, r.c)
	for i, how := range []string{"kill", "stop", "stop"} {
		s = restart(t, s, how)
		r = newRC(t, s, 2)
		r.null("B.GET", "short", "gone1")
		r.integer(1, "B.COUNT", "short")
		r.integer(1, "DBSIZE")
		if got := r.keys("id", "B.ALL", "short"); len(got) != 1 || got[0] != "stays" {
			t.Errorf("restart %d: B.ALL = %v, want [stays]", i, got)
		}
		if i == 0 {
			r.ok("SAVE")
		}
	}
}

// TestPersistKill: a kill -9 while 16 clients write (inserts, updates,
// deletes, and two clients' MULTI/EXEC over two buckets) loses no
// acknowledged write and leaves no transaction half there, under every
// fsync policy, in each of 20 cycles, with rewrites running throughout.
// Under always a
// reply waits for the fsync; under everysec and no it waits for the
// entry's write(2), so a process crash (not a power cut) loses nothing
// acknowledged either (docs/persistence.md).
func TestPersistKill(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"always", "everysec", "no"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			s := Start(t, "--appendfsync", policy)
			newRC(t, s, 2).define("kv", pKVDef)
			newRC(t, s, 2).define("kv2", pKVDef)
			for cycle := range 20 {
				model := newAckModel()
				var acked atomic.Int64
				var pairsMu sync.Mutex
				pairs := map[string]int{} // two-bucket transactions: key -> last acknowledged v
				bg := ctx(t)
				stop := writers(s, 16, func(c *redis.Client, w, i int) bool {
					key := fmt.Sprintf("c%d-w%d-%d", cycle, w, i/3)
					var rec string
					var err error
					if w < 2 { // MULTI/EXEC over two buckets: all or nothing
						pk := fmt.Sprintf("c%d-t%d-%d", cycle, w, i%20)
						js := fmt.Sprintf(`{"k":%q,"v":%d}`, pk, i)
						_, err = c.TxPipelined(bg, func(p redis.Pipeliner) error {
							p.Do(bg, "B.UPSERT", "kv", js)
							p.Do(bg, "B.UPSERT", "kv2", js)
							return nil
						})
						if err != nil {
							return false
						}
						pairsMu.Lock()
						pairs[pk] = i
						pairsMu.Unlock()
						acked.Add(1)
						return true
					}
					switch {
					case i%3 == 0:
						model.begin("kv", key, "write")
						rec, err = c.Do(bg, "B.INSERT", "kv", fmt.Sprintf(`{"k":%q,"v":%d}`, key, i)).Text()
					case i%3 == 1:
						model.begin("kv", key, "write")
						rec, err = c.Do(bg, "B.UPDATE", "kv", key, fmt.Sprintf(`{"v":%d}`, -i)).Text()
					default:
						if i%2 == 0 {
							model.begin("kv", key, "delete")
							_, err = c.Do(bg, "B.DELETE", "kv", key).Int64()
						} else {
							model.begin("kv", key, "write")
							rec, err = c.Do(bg, "B.UPDATE", "kv", key, fmt.Sprintf(`{"v":%d}`, i)).Text()
						}
					}
					if err != nil {
						return false // the server is gone
					}
					model.set("kv", key, rec)
					acked.Add(1)
					return true
				})
				// Rewrites run throughout, so that kills land between a
				// rotation and the old file's finish too (rotate.go).
				rewriter := newRC(t, s, 1).c
				quit, rewrites := make(chan struct{}), make(chan int, 1)
				go func() {
					n := 0
					for {
						select {
						case <-quit:
							rewrites <- n
							return
						default:
						}
						if rewriter.Do(bg, "BGREWRITEAOF").Err() == nil {
							n++
						}
						time.Sleep(10 * time.Millisecond) // a pace, not a wait for anything
					}
				}()
				eventually(t, 20*time.Second, "acknowledged writes", func() bool { return acked.Load() >= 600 })
				s.Kill() // writers are mid-flight
				stop()
				close(quit)
				nRewrites := <-rewrites
				s = StartIn(t, s.Dir, s.Args...)
				r := newRC(t, s, 2)
				n := model.checkAgainst(t, r.c)
				pairsMu.Lock()
				for pk, v := range pairs {
					a, b := r.str("B.GET", "kv", pk), r.str("B.GET", "kv2", pk)
					var ra, rb struct{ V int }
					json.Unmarshal([]byte(a), &ra)
					json.Unmarshal([]byte(b), &rb)
					if ra.V != rb.V || ra.V < v {
						t.Fatalf("cycle %d: transaction on %s: kv has v=%d, kv2 v=%d; acknowledged v=%d (half there, or lost)", cycle, pk, ra.V, rb.V, v)
					}
				}
				pairsMu.Unlock()
				t.Logf("cycle %d: %d acknowledged writes on %d records and %d two-bucket pairs before the kill, %d rewrites started; none lost", cycle, acked.Load(), n, len(pairs), nRewrites)
			}
		})
	}
}

// TestPersistTornLastEntry cuts the append-only file at every byte offset
// of its last entry, as a crash in the middle of a write leaves it: the
// server starts, warns, serves the state before that write, and goes on
// appending after the cut.
func TestPersistTornLastEntry(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	r.insert("kv", `{"k":"a","v":1}`, `{"k":"b","v":2}`)
	want := dump(t, r.c)
	r.integer(1, "B.DELETE", "kv", "a") // the entry that will be torn
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	aof := currentAOF(t, s.Dir)
	offs := entryOffsets(t, aof)
	from, to := offs[len(offs)-2], offs[len(offs)-1]
	for cut := from + 1; cut < to; cut++ {
		t.Run(fmt.Sprintf("cut-at-%d", cut), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyDataDir(t, s.Dir, dir)
			path := filepath.Join(dir, filepath.Base(aof))
			if err := os.Truncate(path, cut); err != nil {
				t.Fatal(err)
			}
			s := StartIn(t, dir)
			if !strings.Contains(s.Log(), `"level":"warn"`) || !strings.Contains(s.Log(), "torn") || !strings.Contains(s.Log(), path) {
				t.Errorf("no warning about the torn entry of %s:\n%s", path, s.Log())
			}
			r := newRC(t, s, 2)
			sameState(t, "after the cut", want, dump(t, r.c))
			if size := fileSizeOf(t, path); size != from {
				t.Errorf("the file is %d bytes after start-up, want it cut back to %d", size, from)
			}
			if cut == from+1 || cut == to-1 {
				r.integer(1, "B.DELETE", "kv", "b")
				want2 := dump(t, r.c)
				s = restart(t, s, "stop")
				sameState(t, "a write after the cut, then a restart", want2, dump(t, newRC(t, s, 2).c))
			}
		})
	}
}

// TestPersistCorrupt: a damaged entry that is not a torn last one stops
// start-up with exit code 1 and an error naming the file and the offset,
// and the file is left as it is.
func TestPersistCorrupt(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	for i := 0; i < 20; i++ {
		r.insert("kv", fmt.Sprintf(`{"k":"s%d","v":%d}`, i, i))
	}
	r.ok("SAVE")
	for i := 0; i < 20; i++ {
		r.insert("kv", fmt.Sprintf(`{"k":"a%d","v":%d}`, i, i))
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	snap, aofs := manifest(t, s.Dir)
	type damage func(data []byte, offs []int64) (int64, []byte)
	flipMiddle := func(data []byte, offs []int64) (int64, []byte) {
		at := offs[len(offs)/2]
		data[at+40] ^= 0x04
		return at, data
	}
	hugeCount := func(data []byte, offs []int64) (int64, []byte) {
		at := offs[len(offs)/2]
		bad := append([]byte{}, data[:at]...)
		bad = append(bad, "*2147483647\r\n$8\r\n00000000\r\n"...)
		return at, append(bad, data[at:]...)
	}
	// A digit of the last entry's last length made larger ($423 → $433):
	// the bytes end like a torn write, but the entry is whole and was
	// acknowledged, so start-up must not cut it off.
	longerLast := func(data []byte, offs []int64) (int64, []byte) {
		at := offs[len(offs)-2]
		h := int64(bytes.LastIndex(data[at:], []byte("\r\n$"))) + at + 2
		nl := int64(bytes.Index(data[h:], []byte("\r\n"))) + h
		n, err := strconv.Atoi(string(data[h+1 : nl]))
		if err != nil {
			t.Fatalf("no length at %d: %v", h, err)
		}
		bad := append([]byte{}, data[:h+1]...)
		bad = strconv.AppendInt(bad, int64(n+10), 10)
		return at, append(bad, data[nl:]...)
	}
	cases := []struct {
		name, file string
		damage     damage
	}{
		{"flipped byte in the append-only file", aofs[len(aofs)-1], flipMiddle},
		{"a length made larger in the last entry", aofs[len(aofs)-1], longerLast},
		{"flipped byte in the snapshot", snap, flipMiddle},
		{"absurd element count in the append-only file", aofs[len(aofs)-1], hugeCount},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDataDir(t, s.Dir, dir)
			path := filepath.Join(dir, c.file)
			data, _ := os.ReadFile(path)
			at, bad := c.damage(data, entryOffsets(t, path))
			os.WriteFile(path, bad, 0o644)
			ready, code, out := tryStart(t, dir)
			if ready || code != 1 {
				t.Errorf("ready %v, exit code %d; want a refusal to start with exit code 1", ready, code)
			}
			wantText := fmt.Sprintf("%s: corrupt entry at offset %d", path, at)
			if !strings.Contains(out, wantText) {
				t.Errorf("output does not say %q:\n%.600s", wantText, out)
			}
			if after, _ := os.ReadFile(path); string(after) != string(bad) {
				t.Errorf("the damaged file was modified by the failed start-up")
			}
		})
	}
}

// TestPersistRewriteUnderWrites: BGREWRITEAOF, BGSAVE and SAVE in a loop
// while clients write: nothing acknowledged is lost, live or after
// restarts, and the old files are removed.
func TestPersistRewriteUnderWrites(t *testing.T) {
	t.Parallel()
	s := Start(t)
	admin := newRC(t, s, 2)
	admin.define("kv", pKVDef)
	admin.define("seq", pOrdersDef)
	model := newAckModel()
	var acked atomic.Int64
	bg := ctx(t)
	stop := writers(s, 8, func(c *redis.Client, w, i int) bool {
		key := fmt.Sprintf("w%d-%d", w, i%50)
		var rec string
		var err error
		switch i % 4 {
		case 0, 1:
			rec, err = c.Do(bg, "B.UPSERT", "kv", fmt.Sprintf(`{"k":%q,"v":%d}`, key, i)).Text()
		case 2:
			if i%8 == 2 {
				_, err = c.Do(bg, "B.DELETE", "kv", key).Int64()
				break
			}
			rec, err = c.Do(bg, "B.UPSERT", "kv", fmt.Sprintf(`{"k":%q,"v":%d}`, key, -i)).Text()
		case 3:
			var r string
			if r, err = c.Do(bg, "B.INSERT", "seq", fmt.Sprintf(`{"item":"%s-%d"}`, key, i)).Text(); err == nil {
				model.set("seq", strconv.Itoa(int(num(t, parseRec(t, r), "id"))), r)
			}
			return true
		}
		if err != nil {
			t.Errorf("writer %d: %v", w, err)
			return false
		}
		model.set("kv", key, rec)
		acked.Add(1)
		return true
	})
	rewrites := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); rewrites++ {
		cmd := []string{"BGREWRITEAOF", "BGSAVE", "SAVE"}[rewrites%3]
		if err := admin.c.Do(ctx(t), cmd).Err(); err != nil && !strings.Contains(err.Error(), "in progress") {
			t.Errorf("%s: %v", cmd, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	eventually(t, 10*time.Second, "the last rewrite to finish", func() bool {
		return infoFields(t, admin.c, "persistence")["aof_rewrite_in_progress"] == "0"
	})
	n := model.checkAgainst(t, admin.c)
	t.Logf("%d acknowledged writes on %d records, %d rewrites asked for", acked.Load(), n, rewrites)
	want := dump(t, admin.c)

	snap, aofs := manifest(t, s.Dir)
	if files := dataFiles(t, s.Dir); len(files) != 2+len(aofs) || snap == "" {
		t.Errorf("data dir holds %v, want the manifest, %s and %v", files, snap, aofs)
	}
	for _, how := range []string{"stop", "kill"} {
		if how == "kill" {
			flushed(t, s, admin.c)
		}
		s = restart(t, s, how)
		admin = newRC(t, s, 2)
		sameState(t, "after "+how, want, dump(t, admin.c))
		model.checkAgainst(t, admin.c)
	}
}

// TestPersistCommands: the replies of SAVE, BGSAVE, BGREWRITEAOF and
// LASTSAVE, and the INFO persistence fields as they change.
func TestPersistCommands(t *testing.T) {
	t.Parallel()
	started := time.Now().Unix()
	s := Start(t)
	r := newRC(t, s, 2)
	info := func() map[string]string { return infoFields(t, r.c, "persistence") }
	in := info()
	for field, want := range map[string]string{"aof_enabled": "1", "aof_fsync": "everysec", "aof_rewrite_in_progress": "0",
		"aof_last_bgrewrite_status": "ok", "aof_last_write_status": "ok", "rdb_bgsave_in_progress": "0",
		"rdb_last_bgsave_status": "ok", "rdb_changes_since_last_save": "0", "data_files": "appendonly.1.aof"} {
		if in[field] != want {
			t.Errorf("fresh server: INFO %s = %q, want %q", field, in[field], want)
		}
	}
	for _, f := range []string{"aof_current_size", "aof_base_size", "rdb_last_save_time", "loaded_records", "loading_time_ms", "loading_huge_pages_bytes", "aof_last_rewrite_time_sec"} {
		if _, err := strconv.ParseInt(in[f], 10, 64); err != nil {
			t.Errorf("INFO %s = %q, want an integer", f, in[f])
		}
	}
	r.define("kv", pKVDef)
	for i := 0; i < 5; i++ {
		r.insert("kv", fmt.Sprintf(`{"k":"k%d","v":%d}`, i, i))
	}
	in = info()
	if in["rdb_changes_since_last_save"] != "6" || in["aof_current_size"] == "0" {
		t.Errorf("after 6 writes: changes %s, aof size %s", in["rdb_changes_since_last_save"], in["aof_current_size"])
	}
	last := r.do("LASTSAVE").(int64)
	if last < started-1 || last > time.Now().Unix() {
		t.Errorf("LASTSAVE before any save = %d, want the start time (%d)", last, started)
	}

	r.ok("SAVE")
	in = info()
	if in["data_files"] != "snapshot.2.bdb,appendonly.2.aof" || in["rdb_changes_since_last_save"] != "0" ||
		in["aof_base_size"] == "0" || in["aof_current_size"] != in["aof_base_size"] {
		t.Errorf("after SAVE: %v", in)
	}
	if entries := dataFiles(t, s.Dir); len(entries) != 3 {
		t.Errorf("after SAVE the data dir holds %v, want manifest.json, snapshot.2.bdb, appendonly.2.aof", entries)
	}
	if l := r.do("LASTSAVE").(int64); l < last || l < time.Now().Unix()-2 {
		t.Errorf("LASTSAVE after SAVE = %d, want about now", l)
	}
	if got := r.do("BGSAVE"); got != "Background saving started" {
		t.Errorf("BGSAVE: %#v", got)
	}
	eventually(t, 10*time.Second, "BGSAVE to finish", func() bool {
		in := info()
		return in["rdb_bgsave_in_progress"] == "0" && in["data_files"] == "snapshot.3.bdb,appendonly.3.aof"
	})
	if got := r.do("BGREWRITEAOF"); got != "Background append only file rewriting started" {
		t.Errorf("BGREWRITEAOF: %#v", got)
	}
	eventually(t, 10*time.Second, "BGREWRITEAOF to finish", func() bool {
		in := info()
		return in["aof_rewrite_in_progress"] == "0" && in["data_files"] == "snapshot.4.bdb,appendonly.4.aof"
	})
	r.ok("MULTI")
	r.err("ERR Command not allowed inside a transaction", "SAVE")
	r.do("DISCARD")
	r.err("ERR wrong number of arguments for 'save' command", "SAVE", "now")

	r.insert("kv", `{"k":"after","v":9}`)
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	in = info()
	if in["loaded_records"] != "6" || in["data_files"] != "snapshot.4.bdb,appendonly.4.aof" {
		t.Errorf("after a restart: loaded_records %s (5 in the snapshot + 1 in the append-only file), data_files %s", in["loaded_records"], in["data_files"])
	}
	r.integer(6, "DBSIZE")
}

// TestPersistLoadedRecordsCountsAOF: INFO loaded_records (and the "data
// loaded" log line) count the records replayed from the append-only file
// too, not only the snapshot's.
func TestPersistLoadedRecordsCountsAOF(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	for i := 0; i < 7; i++ {
		r.insert("kv", fmt.Sprintf(`{"k":"k%d","v":%d}`, i, i))
	}
	s = restart(t, s, "stop")
	r = newRC(t, s, 2)
	r.integer(7, "DBSIZE")
	if got := infoFields(t, r.c, "persistence")["loaded_records"]; got != "7" {
		t.Errorf("7 records loaded from the append-only file, INFO loaded_records = %s", got)
	}
}

// TestPersistShutdown: SHUTDOWN and SHUTDOWN SAVE write a snapshot and
// stop (as Redis does with persistence on), SHUTDOWN NOSAVE stops without
// one; the data is there after each.
func TestPersistShutdown(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	r.insert("kv", `{"k":"a","v":1}`)
	for i, args := range [][]any{{"SHUTDOWN"}, {"SHUTDOWN", "SAVE"}, {"SHUTDOWN", "NOSAVE"}} {
		r.c.Do(ctx(t), args...) // the connection closes
		if code := s.Wait(20 * time.Second); code != 0 {
			t.Fatalf("%v: exit code %d", args, code)
		}
		wantSnap := []string{"snapshot.2.bdb", "snapshot.3.bdb", "snapshot.3.bdb"}[i]
		if snap, _ := manifest(t, s.Dir); snap != wantSnap {
			t.Errorf("after %v the manifest's snapshot is %q, want %q", args, snap, wantSnap)
		}
		s = StartIn(t, s.Dir)
		r = newRC(t, s, 2)
		r.integer(int64(i+1), "B.COUNT", "kv")
		r.insert("kv", fmt.Sprintf(`{"k":"after%d","v":1}`, i))
	}
}

// TestPersistMisconf: when the disk refuses the append-only file's writes,
// writes fail with MISCONF instead of being acknowledged, reads go on,
// INFO reports the error, and once the disk accepts writes again so does
// the server; nothing acknowledged is lost. Under always, the write whose
// fsync fails is in memory already (group commit: its commit did not wait
// for the disk): its connection is closed without a reply, the write stays
// visible, and it reaches the disk with the retry (docs/persistence.md).
func TestPersistMisconf(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"always", "everysec"} {
		t.Run(policy, func(t *testing.T) {
			s := Start(t, "--appendfsync", policy)
			r := newRC(t, s, 2)
			r.define("kv", pKVDef)
			r.insert("kv", `{"k":"a","v":1}`, `{"k":"b","v":2}`)
			flushed(t, s, r.c)
			limitFileSize(t, s, aofEnd(t, currentAOF(t, s.Dir))+10)

			var refused string
			acked := []string{"a", "b"}
			for i := 0; refused == "" && i < 300; i++ {
				key := fmt.Sprintf("k%d", i)
				_, err := r.c.Do(ctx(t), "B.INSERT", "kv", fmt.Sprintf(`{"k":%q,"v":%d}`, key, i)).Result()
				switch {
				case err == nil && policy == "always":
					t.Fatalf("appendfsync always: B.INSERT acknowledged while the disk refuses writes")
				case err == nil:
					acked = append(acked, key)
					time.Sleep(10 * time.Millisecond)
				case strings.HasPrefix(err.Error(), "MISCONF "):
					refused = key
				case policy == "always":
					refused = key // the connection closed without a reply
				default:
					t.Fatalf("B.INSERT: %v, want MISCONF", err)
				}
			}
			if refused == "" {
				t.Fatal("writes are still acknowledged while the disk refuses them")
			}
			if st := infoFields(t, r.c, "persistence")["aof_last_write_status"]; st != "err" {
				t.Errorf("INFO aof_last_write_status = %q during the failure", st)
			}
			if n, _ := strconv.Atoi(infoFields(t, r.c, "persistence")["aof_pending_bytes"]); n <= 0 {
				t.Errorf("INFO aof_pending_bytes = %d during the failure, want the commits waiting for a retry", n)
			}
			r.err("MISCONF *", "B.UPDATE", "kv", "a", `{"v":5}`)
			r.err("MISCONF *", "BUCKET.DEFINE", "other", pKVDef)
			r.ok("MULTI")
			r.err("MISCONF *", "B.DELETE", "kv", "a")
			if e := r.fail("EXEC"); !strings.HasPrefix(e, "EXECABORT ") && !strings.HasPrefix(e, "MISCONF ") {
				t.Errorf("EXEC of a transaction whose write was refused: %q", e)
			}
			if got := r.str("B.GET", "kv", "a"); !strings.Contains(got, `"v":1`) {
				t.Errorf("read during the failure: %s", got)
			}
			t.Run("reads in a transaction go on", func(t *testing.T) {
				r := r.sub(t)
				r.ok("MULTI")
				r.do("B.GET", "kv", "a")
				r.do("B.COUNT", "kv")
				if v, err := r.c.Do(ctx(t), "EXEC").Slice(); err != nil || len(v) != 2 {
					t.Errorf("EXEC of reads only during the disk error: %v %v, want their replies", v, err)
				}
			})
			t.Run("refused write changes nothing", func(t *testing.T) {
				// docs/commands.md, "Errors": "A failed command changes
				// nothing". Under always the first refused write was
				// committed before its fsync failed: it is visible,
				// never acknowledged, and kept for the retry.
				got, err := r.c.Do(ctx(t), "B.GET", "kv", refused).Text()
				switch {
				case policy == "always" && err != nil:
					t.Errorf("appendfsync always: the unacknowledged B.INSERT %s is not in memory: %v", refused, err)
				case policy == "always":
					acked = append(acked, refused) // it must survive the restart below
				case !errors.Is(err, redis.Nil):
					t.Errorf("B.INSERT %s was answered MISCONF, yet B.GET finds %q (%v)", refused, got, err)
				}
			})

			limitFileSize(t, s, -1)
			eventually(t, 10*time.Second, "writes to be accepted again", func() bool {
				return r.c.Do(ctx(t), "B.INSERT", "kv", `{"k":"after","v":0}`).Err() == nil
			})
			acked = append(acked, "after")
			if st := infoFields(t, r.c, "persistence")["aof_last_write_status"]; st != "ok" {
				t.Errorf("INFO aof_last_write_status = %q after recovery", st)
			}
			eventually(t, 5*time.Second, "INFO aof_pending_bytes:0 after recovery", func() bool {
				return infoFields(t, r.c, "persistence")["aof_pending_bytes"] == "0"
			})
			want := map[string]string{}
			for _, k := range acked {
				want[k] = r.str("B.GET", "kv", k)
			}
			flushed(t, s, r.c)
			s = restart(t, s, "kill")
			r = newRC(t, s, 2)
			for k, rec := range want {
				if got := r.str("B.GET", "kv", k); got != rec {
					t.Errorf("after the restart %s = %s, want %s", k, got, rec)
				}
			}
		})
	}
}

// TestPersistRewriteDuringDiskError: a BGREWRITEAOF asked for while the
// disk refuses writes starts, as Redis's does, and switches to a new file
// whose first byte waits for the old file's pending entry (rotate.go); its
// snapshot cannot be written, so it fails. Once the disk recovers and
// writes go on, the data must still load: the old file ends with the
// retried entry (no partial one in its middle), the new file follows.
func TestPersistRewriteDuringDiskError(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	r.define("kv", pKVDef)
	r.insert("kv", `{"k":"a","v":1}`)
	flushed(t, s, r.c)
	limitFileSize(t, s, aofEnd(t, currentAOF(t, s.Dir))+10)
	r.insert("kv", `{"k":"b","v":2}`) // acknowledged (everysec); its write fails
	eventually(t, 10*time.Second, "the write error", func() bool {
		return infoFields(t, r.c, "persistence")["aof_last_write_status"] == "err"
	})
	if got, err := r.c.Do(ctx(t), "BGREWRITEAOF").Text(); err != nil || got != "Background append only file rewriting started" {
		t.Errorf("BGREWRITEAOF while the disk refuses writes: %q, %v", got, err)
	}
	eventually(t, 10*time.Second, "the rewrite to fail", func() bool {
		in := infoFields(t, r.c, "persistence")
		return in["aof_rewrite_in_progress"] == "0" && in["aof_last_bgrewrite_status"] == "err"
	})
	if err := r.c.Do(ctx(t), "B.INSERT", "kv", `{"k":"x","v":0}`).Err(); err == nil || !strings.HasPrefix(err.Error(), "MISCONF") {
		t.Errorf("a write while the disk refuses: %v, want MISCONF", err)
	}
	limitFileSize(t, s, -1)
	eventually(t, 10*time.Second, "writes to be accepted again", func() bool {
		return r.c.Do(ctx(t), "B.INSERT", "kv", `{"k":"c","v":3}`).Err() == nil
	})
	want := dump(t, r.c)
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if ready, code, out := tryStart(t, s.Dir); !ready {
		t.Fatalf("the data written through the disk error no longer loads (exit %d):\n%.800s", code, out)
	}
	s = StartIn(t, s.Dir)
	sameState(t, "after the restart", want, dump(t, newRC(t, s, 2).c))
}

// TestPersistQueryDefinitions: reactive query definitions survive
// restarts (docs/persistence.md).
func TestPersistQueryDefinitions(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := newRC(t, s, 2)
	if !hasCommand(t, r.c, "QUERY.DEFINE") {
		t.Skip("QUERY.DEFINE does not exist yet (reactive queries: live + commands/query.go, in progress); query definition persistence is untested")
	}
	r.define("kv", pKVDef)
	r.insert("kv", `{"k":"a","v":1}`, `{"k":"b","v":2}`)
	r.ok("QUERY.DEFINE", "big", `{"bucket":"kv","filter":{"v":{"$gte":2}}}`)
	r.ok("QUERY.DEFINE", "count", `{"bucket":"kv","aggregate":{"function":"count"}}`)
	r.ok("QUERY.DEFINE", "dropped", `{"bucket":"kv"}`)
	r.integer(1, "QUERY.DROP", "dropped")
	want := dump(t, r.c)
	wantRun := r.str("QUERY.RUN", "big")
	for i, how := range []string{"stop", "kill", "stop"} {
		if how == "kill" {
			flushed(t, s, r.c)
		}
		s = restart(t, s, how)
		r = newRC(t, s, 2)
		sameState(t, "after "+how, want, dump(t, r.c))
		if got := r.str("QUERY.RUN", "big"); got != wantRun {
			t.Errorf("QUERY.RUN big after %s = %s, want %s", how, got, wantRun)
		}
		if i == 0 {
			r.ok("SAVE")
		}
	}
}

// TestPersistAutoRewriteSettings: auto-aof-rewrite-percentage and
// auto-aof-rewrite-min-size are Redis's settings, as flags and through
// CONFIG SET: with a small minimum the server rewrites on its own (that a
// percentage of 0 never does is TestRewriteDue's). Bad values are refused and change
// nothing. MEMORY PURGE answers OK (and MEMORY's errors are Redis's).
func TestPersistAutoRewriteSettings(t *testing.T) {
	t.Parallel()
	s := Start(t, "--auto-aof-rewrite-percentage", "0", "--auto-aof-rewrite-min-size", "1kb")
	r := newRC(t, s, 2)
	if got := r.list("CONFIG", "GET", "auto-aof-rewrite-*"); strings.Join(got, " ") != "auto-aof-rewrite-percentage 0 auto-aof-rewrite-min-size 1024" &&
		strings.Join(got, " ") != "auto-aof-rewrite-min-size 1024 auto-aof-rewrite-percentage 0" {
		t.Errorf("CONFIG GET auto-aof-rewrite-*: %q", got)
	}
	r.define("kv", pKVDef)
	for i := 0; i < 40; i++ {
		r.insert("kv", fmt.Sprintf(`{"k":"k%d","v":%d}`, i, i))
	}
	files := func() string { return infoFields(t, r.c, "persistence")["data_files"] }
	r.err("ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-percentage') - argument must be between 0 and 2147483647 inclusive", "CONFIG", "SET", "auto-aof-rewrite-percentage", "-1")
	r.err("ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value", "CONFIG", "SET", "auto-aof-rewrite-min-size", "lots")
	r.ok("CONFIG", "SET", "auto-aof-rewrite-percentage", "100")
	eventually(t, 10*time.Second, "an automatic rewrite", func() bool { return files() == "snapshot.2.bdb,appendonly.2.aof" })
	r.integer(40, "DBSIZE")

	r.ok("MEMORY", "PURGE")
	r.err("ERR wrong number of arguments for 'memory|purge' command", "MEMORY", "PURGE", "x")
	r.err("ERR unknown subcommand 'nope'. Try MEMORY HELP.", "MEMORY", "nope")
	if help := r.list("MEMORY", "HELP"); len(help) < 3 || !strings.Contains(strings.Join(help, "\n"), "PURGE") {
		t.Errorf("MEMORY HELP: %q", help)
	}
}

// TestPersistGroupCommit: under always, concurrent writers share fsyncs
// (one fsync covers every commit appended before it), and INFO
// persistence counts the commits, writes and fsyncs that show it.
func TestPersistGroupCommit(t *testing.T) {
	t.Parallel()
	s := Start(t, "--appendfsync", "always")
	c := s.Client(t, 2)
	if err := c.Do(ctx(t), "BUCKET.DEFINE", "g", `{"key":"id","schema":{"id":{"type":"string"}}}`).Err(); err != nil {
		t.Fatal(err)
	}
	before := infoFields(t, c, "persistence")
	const clients, each = 20, 25
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := s.Client(t, 2)
			for i := range each {
				if err := cw.Do(ctx(t), "B.INSERT", "g", fmt.Sprintf(`{"id":"%d-%d"}`, w, i)).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	after := infoFields(t, c, "persistence")
	count := func(m map[string]string, f string) int {
		n, err := strconv.Atoi(m[f])
		if err != nil {
			t.Fatalf("INFO persistence %s = %q", f, m[f])
		}
		return n
	}
	commits := count(after, "aof_commits") - count(before, "aof_commits")
	writes := count(after, "aof_writes") - count(before, "aof_writes")
	fsyncs := count(after, "aof_fsyncs") - count(before, "aof_fsyncs")
	if commits != clients*each {
		t.Errorf("aof_commits grew by %d for %d inserts", commits, clients*each)
	}
	if writes > commits {
		t.Errorf("%d commits took %d writes: more than one each", commits, writes)
	}
	if fsyncs >= commits {
		t.Errorf("%d concurrent commits took %d fsyncs: none was shared", commits, fsyncs)
	}
	t.Logf("%d commits, %d writes, %d fsyncs", commits, writes, fsyncs)
}
