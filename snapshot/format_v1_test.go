package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadFormatV1 loads a snapshot of format version 1 (each record a PUT
// of its JSON text), written by the server before version 2 and kept in
// testdata/v1 with the dump its data gave then. It must load to the same
// dump; a rewrite then writes format 2, which must load to it again.
func TestLoadFormatV1(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{manifestName, "snapshot.2.bdb", "appendonly.2.aof"} {
		data, err := os.ReadFile(filepath.Join("testdata", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "v1", "dump.golden"))
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := os.ReadFile(filepath.Join(dir, "snapshot.2.bdb"))
	if !strings.Contains(string(snap[:64]), "SNAPSHOT\r\n$1\r\n1\r\n") {
		t.Fatalf("the fixture is not of format 1: %q", snap[:64])
	}
	now := func() int64 { return 1764900000000 }
	o := mustOpen(t, dir, FsyncNo, now, nil)
	if got := o.dump(t); got != string(golden) {
		t.Fatalf("format 1 loads differently:\n%s\nwant:\n%s", got, golden)
	}
	if err := o.p.Rewrite(true); err != nil {
		t.Fatal(err)
	}
	o.p.Close(false)
	snap, err = os.ReadFile(filepath.Join(dir, snapshotName(3)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(snap[:64]), "SNAPSHOT\r\n$1\r\n"+snapshotFormat+"\r\n") {
		t.Fatalf("a rewrite wrote %q, not format %s", snap[:64], snapshotFormat)
	}
	r := mustOpen(t, dir, FsyncNo, now, nil)
	defer r.p.Close(false)
	if got := r.dump(t); got != string(golden) {
		t.Fatalf("format %s loads differently:\n%s\nwant:\n%s", snapshotFormat, got, golden)
	}
}
