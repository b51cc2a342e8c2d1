package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bucketd/engine"
)

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second lock: %v, want a LockedError naming %s and pid %d", err, dir, os.Getpid())
	}
	o, err := openDir(dir, FsyncNo, nil, nil)
	if !errors.As(err, &le) {
		t.Fatalf("Open while locked: %v (opened %v)", err, o.p != nil)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	o = mustOpen(t, dir, FsyncNo, nil, nil)
	if _, err := LockDir(dir); !errors.As(err, &le) {
		t.Errorf("lock while a Persistence is open: %v", err)
	}
	o.p.Close(false)
	l, err = LockDir(dir)
	if err != nil {
		t.Fatalf("lock after Close: %v", err)
	}
	l.Unlock()
}

func TestManifestStrict(t *testing.T) {
	cases := []struct {
		name, manifest, want string
	}{
		{"ok", `{"version":1,"generation":2,"snapshot":"snapshot.2.bdb","aof":["appendonly.2.aof"]}`, ""},
		{"no snapshot", `{"version":1,"generation":1,"snapshot":"","aof":["appendonly.1.aof"]}`, ""},
		{"misspelt generation", `{"version":1,"genration":2,"snapshot":"","aof":["appendonly.1.aof"]}`, `field "generation" is missing`},
		{"unknown field", `{"version":1,"generation":1,"snapshot":"","aof":["appendonly.1.aof"],"extra":1}`, `unknown field "extra"`},
		{"missing aof", `{"version":1,"generation":1,"snapshot":""}`, `field "aof" is missing`},
		{"empty aof", `{"version":1,"generation":1,"snapshot":"","aof":[]}`, "no append-only file"},
		{"generation 0", `{"version":1,"generation":0,"snapshot":"","aof":["appendonly.1.aof"]}`, "generation must be 1 or more"},
		{"version 2", `{"version":2,"generation":1,"snapshot":"","aof":["appendonly.1.aof"]}`, "unsupported version 2"},
		{"later file", `{"version":1,"generation":1,"snapshot":"","aof":["appendonly.2.aof"]}`, "generation after the manifest's"},
		{"path", `{"version":1,"generation":1,"snapshot":"","aof":["../appendonly.1.aof"]}`, "not a bucketd file name"},
		{"aof as snapshot", `{"version":1,"generation":1,"snapshot":"appendonly.1.aof","aof":["appendonly.1.aof"]}`, "not a bucketd file name"},
		{"not json", `{"version":1,`, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, manifestName)
			_, err := parseManifest(path, []byte(tc.manifest))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path)):
				t.Errorf("error %v, want one naming %s and saying %q", err, path, tc.want)
			}
		})
	}
}

// TestDirChecks: start-up refuses what would lose data and removes only
// what a crash leaves behind.
func TestDirChecks(t *testing.T) {
	write := func(t *testing.T, dir string, files map[string]string) {
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	man := func(gen, snap, aofs string) string {
		return `{"version":1,"generation":` + gen + `,"snapshot":"` + snap + `","aof":[` + aofs + `]}`
	}
	cases := []struct {
		name    string
		files   map[string]string
		want    string   // error text; "" for a start
		removed []string // files the start removes
		kept    []string // files still there after a start
	}{
		{name: "fresh", files: nil},
		{name: "missing aof", files: map[string]string{manifestName: man("1", "", `"appendonly.1.aof"`)},
			want: "names appendonly.1.aof, which cannot be read"},
		{name: "missing snapshot", files: map[string]string{manifestName: man("2", "snapshot.2.bdb", `"appendonly.2.aof"`), "appendonly.2.aof": ""},
			want: "names snapshot.2.bdb, which cannot be read"},
		{name: "no manifest beside data", files: map[string]string{"appendonly.2.aof": "x", "snapshot.2.bdb": "y"},
			want: "but no manifest.json"},
		{name: "unnamed file of this generation", files: map[string]string{manifestName: man("2", "", `"appendonly.2.aof"`), "appendonly.2.aof": "", "snapshot.2.bdb": "y"},
			want: "does not name (snapshot.2.bdb)"},
		{name: "unnamed file of a later generation", files: map[string]string{manifestName: man("2", "", `"appendonly.2.aof"`), "appendonly.2.aof": "", "appendonly.3.aof": "z"},
			want: "does not name (appendonly.3.aof)"},
		{name: "leftovers", files: map[string]string{
			manifestName: man("3", "", `"appendonly.3.aof"`), "appendonly.3.aof": "",
			"snapshot.2.bdb.tmp": "a", "snapshot.1.bdb": "b", "appendonly.2.aof": "c", "snapshot.3.bdb.tmp": "d", "notes.txt": "mine"},
			removed: []string{"snapshot.2.bdb.tmp", "snapshot.1.bdb", "appendonly.2.aof"},
			kept:    []string{"snapshot.3.bdb.tmp", "notes.txt", "appendonly.3.aof"}},
		{name: "a rewrite killed before its manifest named its new file", files: map[string]string{
			manifestName: man("2", "", `"appendonly.2.aof"`), "appendonly.2.aof": "", "appendonly.3.aof": ""},
			removed: []string{"appendonly.3.aof"}, kept: []string{"appendonly.2.aof"}},
		{name: "the next generation's file with data", files: map[string]string{
			manifestName: man("2", "", `"appendonly.2.aof"`), "appendonly.2.aof": "", "appendonly.3.aof": "z"},
			want: "does not name (appendonly.3.aof)"},
		{name: "a rewrite killed before its manifest named its snapshot", files: map[string]string{
			manifestName:       man("3", "", `"appendonly.2.aof","appendonly.3.aof"`),
			"appendonly.2.aof": "", "appendonly.3.aof": "", "snapshot.3.bdb": "t"},
			removed: []string{"snapshot.3.bdb"}, kept: []string{"appendonly.2.aof", "appendonly.3.aof"}},
		{name: "temporary files without a manifest", files: map[string]string{"snapshot.1.bdb.tmp": "a"},
			removed: []string{"snapshot.1.bdb.tmp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.files)
			o, err := openDir(dir, FsyncNo, nil, nil)
			if tc.want != "" {
				if err == nil {
					o.p.Close(false)
					t.Fatalf("started; want %q", tc.want)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bucketd check") {
					t.Errorf("error %q, want %q and a pointer to bucketd check", err, tc.want)
				}
				for name := range tc.files { // refusing touches nothing
					if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
						t.Errorf("%s: %v after a refused start", name, err)
					}
				}
				if _, err := LockDir(dir); err != nil {
					t.Errorf("a refused start kept the lock: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer o.p.Close(false)
			for _, name := range tc.removed {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: not removed (%v)", name, err)
				}
				if !strings.Contains(o.log.String(), name) {
					t.Errorf("the removal of %s is not logged", name)
				}
			}
			for _, name := range tc.kept {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// TestRewriteTruncatesNothingItDidNotCreate: a file already at the name of
// the next generation's append-only file (the manifest cannot account for
// it once the server runs, but a user may put one there) is left whole and
// the rewrite fails.
func TestRewriteTruncatesNothingItDidNotCreate(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, FsyncNo, nil, nil)
	if err := o.store.Define("s", []byte(`{"key":"id","schema":{"id":{"type":"string"}}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.store.Insert(nil, "s", obj(t, `{"id":"a"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, aofName(2))
	if err := os.WriteFile(other, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.p.Rewrite(true); err == nil {
		t.Fatal("rewrite over an existing file succeeded")
	}
	if data, _ := os.ReadFile(other); string(data) != "not ours" {
		t.Errorf("%s now holds %q", other, data)
	}
	if _, err := o.store.Insert(nil, "s", obj(t, `{"id":"b"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(other)
	want := o.dump(t)
	o.p.Close(false)
	r := mustOpen(t, dir, FsyncNo, nil, nil)
	defer r.p.Close(false)
	if got := r.dump(t); got != want {
		t.Errorf("after a failed rewrite and a restart:\n%s", lineDiff(want, got))
	}
}
