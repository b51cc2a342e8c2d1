package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runCheck runs `bucketd check` and returns its exit code and output.
func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"check"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestPersistOneServerPerDir: a second server on a --dir in use exits 1
// with one line naming the directory and the first server's pid, and the
// first one's acknowledged writes stay.
func TestPersistOneServerPerDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := StartIn(t, dir)
	c := s.Client(t, 2)
	c.Do(ctx(t), "BUCKET.DEFINE", "u", `{"key":"id","schema":{"id":{"type":"string"}}}`)
	for i := range 5 {
		if err := c.Do(ctx(t), "B.INSERT", "u", fmt.Sprintf(`{"id":"a%d"}`, i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ready, code, out := tryStart(t, dir)
	want := fmt.Sprintf("%s is in use by another bucketd (pid %d)", dir, s.cmd.Process.Pid)
	if ready || code != 1 || !strings.Contains(out, want) {
		t.Fatalf("second server: ready %v, exit %d, output:\n%s\nwant exit 1 and %q", ready, code, out, want)
	}
	if code, out := runCheck(t, "--dir", dir); code != 1 || !strings.Contains(out, "in use") {
		t.Errorf("check on a dir in use: exit %d\n%s", code, out)
	}
	if n, err := c.Do(ctx(t), "B.COUNT", "u").Int(); err != nil || n != 5 {
		t.Errorf("B.COUNT = %d, %v after the second start", n, err)
	}
}

// TestPersistCheckFix: a damaged entry in the middle of the append-only
// file stops start-up; bucketd check names it, --fix cuts the file there
// (keeping a copy), and the server starts with the writes before it.
func TestPersistCheckFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := StartIn(t, dir, "--appendfsync", "always")
	c := s.Client(t, 2)
	c.Do(ctx(t), "BUCKET.DEFINE", "u", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`)
	for i := range 10 {
		if err := c.Do(ctx(t), "B.INSERT", "u", fmt.Sprintf(`{"id":"k%d","n":%d}`, i, i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if code, out := runCheck(t, "--dir", dir); code != 0 || !strings.Contains(out, "ok: 11 entries load") {
		t.Fatalf("check of a sound dir: exit %d\n%s", code, out)
	}
	aof := filepath.Join(dir, "appendonly.1.aof")
	data, err := os.ReadFile(aof)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(`"k6"`))
	data[at+2] = 'X' // the checksum no longer matches
	if err := os.WriteFile(aof, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ready, code, out := tryStart(t, dir)
	if ready || code != 1 || !strings.Contains(out, "appendonly.1.aof") || !strings.Contains(out, "offset") {
		t.Fatalf("start on a damaged file: ready %v exit %d\n%s", ready, code, out)
	}
	code, out = runCheck(t, "--dir", dir)
	if code != 1 || !strings.Contains(out, "BAD") || !strings.Contains(out, "7 entries load before it") {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	if got, _ := os.ReadFile(aof); !bytes.Equal(got, data) {
		t.Fatal("check without --fix changed the file")
	}
	code, out = runCheck(t, "--dir", dir, "--fix")
	if code != 0 || !strings.Contains(out, "fixed: appendonly.1.aof cut to") {
		t.Fatalf("check --fix: exit %d\n%s", code, out)
	}
	backups, _ := filepath.Glob(aof + ".bak-*")
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	if kept, _ := os.ReadFile(backups[0]); !bytes.Equal(kept, data) {
		t.Error("the backup is not the damaged file as it was")
	}
	if code, out := runCheck(t, "--dir", dir); code != 0 {
		t.Errorf("check after --fix: exit %d\n%s", code, out)
	}
	s2 := StartIn(t, dir)
	c2 := s2.Client(t, 2)
	for i := range 10 {
		err := c2.Do(ctx(t), "B.GET", "u", "k"+strconv.Itoa(i)).Err()
		if (i < 6) != (err == nil) {
			t.Errorf("k%d after the fix: %v", i, err)
		}
	}
}

// TestPersistZerosAfterCrash: under always the append-only file is kept
// zero-filled ahead of its end (docs/persistence.md, "Preallocation"). A
// killed server leaves the zeros; bucketd check says start-up cuts them,
// and start-up does, with every acknowledged write there. A clean stop
// leaves none.
func TestPersistZerosAfterCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := StartIn(t, dir, "--appendfsync", "always")
	c := s.Client(t, 2)
	c.Do(ctx(t), "BUCKET.DEFINE", "u", `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`)
	for i := range 50 {
		if err := c.Do(ctx(t), "B.INSERT", "u", fmt.Sprintf(`{"id":"k%d","n":%d}`, i, i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	aof := filepath.Join(dir, "appendonly.1.aof")
	size := func() int64 {
		st, err := os.Stat(aof)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	entries := func() int64 {
		n, err := strconv.ParseInt(infoFields(t, c, "persistence")["aof_current_size"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	end := entries()
	eventually(t, 10e9, "the zeros ahead of the end", func() bool { return size() > end+1<<20 })
	s.Kill()
	if code, out := runCheck(t, "--dir", dir); code != 0 || !strings.Contains(out, "zeros written ahead of the end") {
		t.Fatalf("check after the crash: exit %d\n%s", code, out)
	}
	s2 := StartIn(t, dir, "--appendfsync", "always")
	if got := size(); got != end {
		t.Errorf("after start-up the file is %d bytes, want its entries' %d", got, end)
	}
	c = s2.Client(t, 2)
	if n, err := c.Do(ctx(t), "B.COUNT", "u").Int(); err != nil || n != 50 {
		t.Errorf("B.COUNT after the crash: %d, %v; want 50", n, err)
	}
	if err := c.Do(ctx(t), "B.INSERT", "u", `{"id":"after","n":1}`).Err(); err != nil {
		t.Fatal(err)
	}
	end = entries()
	eventually(t, 10e9, "the zeros ahead of the end", func() bool { return size() > end+1<<20 })
	if code := s2.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if got := size(); got != end {
		t.Errorf("after a clean stop the file is %d bytes, want its entries' %d", got, end)
	}
}

// TestPersistMissingFiles: start-up refuses when a file the manifest names
// is gone, or when data files have no manifest, and says which.
func TestPersistMissingFiles(t *testing.T) {
	t.Parallel()
	for _, victim := range []string{"appendonly.1.aof", "manifest.json"} {
		t.Run(victim, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := StartIn(t, dir)
			c := s.Client(t, 2)
			c.Do(ctx(t), "BUCKET.DEFINE", "u", `{"key":"id","schema":{"id":{"type":"string"}}}`)
			c.Do(ctx(t), "B.INSERT", "u", `{"id":"a"}`)
			s.Stop()
			if victim == "manifest.json" { // a rewrite first, so a snapshot is there
				s = StartIn(t, dir)
				s.Client(t, 2).Do(ctx(t), "BGREWRITEAOF")
				eventually(t, 10e9, "the rewrite", func() bool {
					_, err := os.Stat(filepath.Join(dir, "snapshot.2.bdb"))
					return err == nil
				})
				s.Stop()
			}
			if err := os.Remove(filepath.Join(dir, victim)); err != nil {
				t.Fatal(err)
			}
			ready, code, out := tryStart(t, dir)
			if ready || code != 1 || !strings.Contains(out, "bucketd check") {
				t.Fatalf("start without %s: ready %v exit %d\n%s", victim, ready, code, out)
			}
			if victim == "appendonly.1.aof" && !strings.Contains(out, "names appendonly.1.aof") {
				t.Errorf("the error does not name the missing file:\n%s", out)
			}
			if code, out := runCheck(t, "--dir", dir); code != 1 || !strings.Contains(out, "appendonly") {
				t.Errorf("check: exit %d\n%s", code, out)
			}
		})
	}
}
