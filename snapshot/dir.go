package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// LockName is the file in the data directory that a server (or `bucketd
// check`) holds an exclusive flock on while it uses the directory; it holds
// the holder's process id.
const LockName = "bucketd.lock"

// LockedError reports a data directory already in use by another process.
type LockedError struct {
	Dir string
	PID int // 0: unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is in use by another bucketd (pid %d); two servers on one directory would lose writes", e.Dir, e.PID)
	}
	return fmt.Sprintf("%s is in use by another bucketd; two servers on one directory would lose writes", e.Dir)
}

// DirLock is an exclusive lock on a data directory.
type DirLock struct{ f *os.File }

// LockDir takes the exclusive lock on dir (creating dir if needed), or
// returns a *LockedError naming the process that holds it. The lock is
// released by Unlock or when the process ends, however it ends.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			data, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// dataFile matches the names of the files bucketd writes in a data
// directory: snapshots, append-only files, and their temporary files.
var dataFile = regexp.MustCompile(`^(snapshot\.(\d+)\.bdb|appendonly\.(\d+)\.aof)(\.tmp)?$`)

// dirFile is a data file found in the directory.
type dirFile struct {
	name string
	gen  int
	tmp  bool
}

// listDataFiles returns the data files in dir, by name.
func listDataFiles(dir string) ([]dirFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dirFile
	for _, e := range entries {
		m := dataFile.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		g := m[2] + m[3]
		gen, err := strconv.Atoi(g)
		if err != nil {
			continue
		}
		out = append(out, dirFile{name: e.Name(), gen: gen, tmp: m[4] != ""})
	}
	return out, nil
}

// parseManifest reads a manifest strictly: every field present, none
// unknown, names that are bucketd's and of no later generation than the
// manifest's.
func parseManifest(path string, data []byte) (*manifest, error) {
	bad := func(msg string, args ...any) error {
		return fmt.Errorf("%s: %s (run `bucketd check --dir %s`)", path, fmt.Sprintf(msg, args...), filepath.Dir(path))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, bad("not valid JSON: %v", err)
	}
	for _, f := range []string{"version", "generation", "snapshot", "aof"} {
		if _, ok := fields[f]; !ok {
			return nil, bad("field %q is missing", f)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m manifest
	if err := dec.Decode(&m); err != nil {
		return nil, bad("%v", err)
	}
	if m.Version != 1 {
		return nil, bad("unsupported version %d", m.Version)
	}
	if m.Generation < 1 {
		return nil, bad("generation must be 1 or more, not %d", m.Generation)
	}
	if len(m.AOF) == 0 {
		return nil, bad("no append-only file is named")
	}
	check := func(name string, snapshot bool) error {
		mm := dataFile.FindStringSubmatch(name)
		if mm == nil || mm[4] != "" || (mm[2] != "") != snapshot {
			return bad("%q is not a bucketd file name", name)
		}
		if g, _ := strconv.Atoi(mm[2] + mm[3]); g > m.Generation {
			return bad("%q is of a generation after the manifest's (%d)", name, m.Generation)
		}
		return nil
	}
	if m.Snapshot != "" {
		if err := check(m.Snapshot, true); err != nil {
			return nil, err
		}
	}
	for _, a := range m.AOF {
		if err := check(a, false); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// interrupted reports whether f, a data file the manifest does not name,
// is what a rewrite stopped by a crash leaves, holding nothing the named
// files lack (snapshot.Rewrite):
//   - the next generation's append-only file, empty: a rewrite creates it
//     before its manifest names it, and appends go to it only after;
//   - the snapshot of the manifest's generation while the manifest still
//     names the files before it (the rewrite of that generation renamed
//     its snapshot into place but had not yet written the manifest that
//     names it): those files hold everything the snapshot does.
func (m *manifest) interrupted(dir string, f dirFile) bool {
	switch {
	case f.name == aofName(m.Generation+1):
		st, err := os.Stat(filepath.Join(dir, f.name))
		return err == nil && st.Size() == 0
	case f.name == snapshotName(m.Generation):
		return len(m.AOF) > 1 && m.AOF[len(m.AOF)-1] == aofName(m.Generation)
	}
	return false
}

// named reports whether the manifest names file.
func (m *manifest) named(file string) bool {
	return file == m.Snapshot || slices.Contains(m.AOF, file)
}

// checkDir compares the data files in dir with the manifest (nil: none).
// It returns the leftovers a crash can leave, which are safe to remove
// (temporary files, unnamed files of generations strictly before the
// manifest's, and what an interrupted rewrite leaves: interrupted), or an
// error for what would lose data if the server went on: a named file that
// is missing, data files without a manifest, or other unnamed files of the
// manifest's generation or later.
func checkDir(dir string, m *manifest) (leftovers []string, err error) {
	files, err := listDataFiles(dir)
	if err != nil {
		return nil, err
	}
	if m == nil {
		var names []string
		for _, f := range files {
			if !f.tmp {
				names = append(names, f.name)
			}
		}
		if len(names) > 0 {
			return nil, fmt.Errorf("%s has data files (%s) but no %s: refusing to start empty beside them (run `bucketd check --dir %s`)",
				dir, strings.Join(names, ", "), manifestName, dir)
		}
		for _, f := range files {
			leftovers = append(leftovers, f.name)
		}
		return leftovers, nil
	}
	for _, name := range append([]string{m.Snapshot}, m.AOF...) {
		if name == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("%s names %s, which cannot be read: %w (run `bucketd check --dir %s`)", filepath.Join(dir, manifestName), name, err, dir)
		}
	}
	var strays []string
	for _, f := range files {
		switch {
		case !f.tmp && m.named(f.name):
		case f.gen < m.Generation:
			leftovers = append(leftovers, f.name)
		case f.tmp:
			// a snapshot or manifest being written when the server stopped:
			// kept until a later generation makes it old
		case m.interrupted(dir, f):
			leftovers = append(leftovers, f.name)
		default:
			strays = append(strays, f.name)
		}
	}
	if len(strays) > 0 {
		return nil, fmt.Errorf("%s has data files that %s does not name (%s): refusing to start without them (run `bucketd check --dir %s`)",
			dir, manifestName, strings.Join(strays, ", "), dir)
	}
	return leftovers, nil
}
