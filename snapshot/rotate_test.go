package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"bucketd/engine"
)

// nextFile creates the file a test rotates to, beside path.
func nextFile(t *testing.T, path, name string) (*os.File, string) {
	t.Helper()
	p := filepath.Join(filepath.Dir(path), name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, p
}

// entriesEnd returns where the entries of the file at path end: its size
// less the zeros written ahead of them.
func entriesEnd(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(dataEnd(data))
}

// quietly appends entry to the buffer while the writer sleeps, without
// waking it, as a commit inside a captured moment's reach would leave it;
// it returns the logical offset after it.
func quietly(t *testing.T, a *aof, ops []Op) int64 {
	t.Helper()
	waitFor(t, 3*time.Second, "the writer to wait for a wake-up", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.asleep && len(a.wake) == 0 && !a.writing
	})
	entry := AppendEntry(nil, ops)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = append(a.buf, entry...)
	a.appended += int64(len(entry))
	a.appendedNow.Store(a.appended)
	return a.appended
}

// ioLog records the writes and fsyncs of a rotation's finish, in order,
// through the aof's out and syncOld seams; a write or fsync of the old
// file blocks while hold is set, and fails while fail is.
type ioLog struct {
	mu      sync.Mutex
	events  []string
	hold    chan struct{} // closed (release): go on
	once    sync.Once
	entered chan struct{}
	fail    bool
}

// release lets the blocked writes and fsyncs go on.
func (l *ioLog) release() { l.once.Do(func() { close(l.hold) }) }

var errInjected = errors.New("injected: the disk refuses")

func (l *ioLog) install(t *testing.T, a *aof, next *os.File) {
	t.Cleanup(l.release) // before the aof's close, which a held write would block
	name := func(f *os.File) string {
		if f == next {
			return "next"
		}
		return "old"
	}
	gate := func(f *os.File) error {
		if f == next {
			return nil
		}
		select {
		case l.entered <- struct{}{}:
		default:
		}
		<-l.hold
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.fail {
			return errInjected
		}
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out = func(f *os.File, data []byte, synced bool, off, zerosEnd int64) error {
		if err := gate(f); err != nil {
			f.Write(data[:len(data)/2]) // a short write, as a full disk's
			return err
		}
		l.add("write " + name(f))
		return writeOut(f, data, synced, off, zerosEnd)
	}
	a.syncOld = func(f *os.File) error {
		if err := gate(f); err != nil {
			return err
		}
		l.add("fsync " + name(f))
		return f.Sync()
	}
}

func (l *ioLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 || l.events[len(l.events)-1] != e {
		l.events = append(l.events, e)
	}
}

func (l *ioLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// TestRotateLeavesTheDiskToTheFlush checks the rule at rotate: a rotation
// (inside Capture, every bucket locked) neither writes nor fsyncs; the
// next flush writes the old file's entries and fsyncs it before it writes
// to the new one, and the replies waiting for either wait for that.
func TestRotateLeavesTheDiskToTheFlush(t *testing.T) {
	for _, policy := range []string{FsyncEverySec, FsyncAlways} {
		t.Run(policy, func(t *testing.T) {
			a, path := openAOF(t, policy)
			a.appendOps(putOp(0, 0))
			if err := a.waitWritten(a.mark()); err != nil {
				t.Fatal(err)
			}
			// No everysec fsync may run across rotate, or it would count.
			waitFor(t, 3*time.Second, "the first entry to be fsynced", func() bool {
				a.mu.Lock()
				defer a.mu.Unlock()
				return a.synced == a.written && !a.syncing
			})
			good := entriesEnd(t, path) // under always, zeros follow
			next, path2 := nextFile(t, path, "appendonly.2.aof")
			log := &ioLog{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
			log.install(t, a, next)
			oldMark := quietly(t, a, putOp(0, 1))
			a.mu.Lock()
			fsyncs := a.fsyncs
			a.mu.Unlock()

			if err := a.rotate(next); err != nil {
				t.Fatal(err)
			}
			a.mu.Lock()
			if a.fsyncs != fsyncs {
				t.Errorf("rotate fsynced (%d fsyncs, want %d)", a.fsyncs, fsyncs)
			}
			a.mu.Unlock()
			if end := entriesEnd(t, path); end != good {
				t.Errorf("rotate wrote to the old file: entries to %d, want %d", end, good)
			}
			wait := a.waitWritten
			if policy == FsyncAlways {
				wait = a.waitDurable
			}
			oldWaited := make(chan error, 1)
			go func() { oldWaited <- wait(oldMark) }()
			a.appendOps(putOp(0, 2)) // the new file's
			waited := make(chan error, 1)
			go func() { waited <- wait(a.mark()) }()
			select {
			case <-log.entered:
			case err := <-waited:
				t.Fatalf("a reply's wait returned (%v) before the old file was finished", err)
			case err := <-oldWaited:
				t.Fatalf("the old entry's wait returned (%v) before the old file was finished", err)
			}
			a.mu.Lock()
			written, synced := a.written, a.synced
			a.mu.Unlock()
			if written >= oldMark || synced >= oldMark {
				t.Errorf("while the old file's entry is being written: written %d, synced %d, want both below %d", written, synced, oldMark)
			}
			select {
			case err := <-waited:
				t.Fatalf("a reply's wait returned (%v) before the old file was finished", err)
			case err := <-oldWaited:
				t.Fatalf("the old entry's wait returned (%v) before the old file was finished", err)
			default:
			}
			if size := fileSize(t, path2); size != 0 {
				t.Errorf("the new file has %d bytes before the old one is finished", size)
			}
			log.release()
			for _, ch := range []chan error{oldWaited, waited} {
				if err := <-ch; err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"write old", "fsync old", "write next"}
			if got := log.list(); len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("I/O after the rotation: %q, want %q first", got, want)
			}
			a.mu.Lock()
			synced, written, old := a.synced, a.written, a.old
			a.mu.Unlock()
			if old != nil || synced < oldMark {
				t.Errorf("after the finish: old file still open %v, synced %d, want through the old file's %d bytes", old != nil, synced, oldMark)
			}
			if policy == FsyncAlways && synced != written {
				t.Errorf("under always: synced %d, written %d", synced, written)
			}
			if err := a.close(); err != nil { // cuts the zeros written ahead under always
				t.Fatal(err)
			}
			if got := fileEntries(t, path); len(got) != 2 || !opsEqual(got[1], putOp(0, 1)) {
				t.Errorf("the old file holds %q, want entries 0 and 1", got)
			}
			if got := fileEntries(t, path2); len(got) != 1 || !opsEqual(got[0], putOp(0, 2)) {
				t.Errorf("the new file holds %q, want entry 2", got)
			}
		})
	}
}

// TestAOFRotateDuringWriteFailure: when the old file's finish fails (the
// disk refuses, after a short write), it leaves no partial bytes, the new
// file gets nothing, and a rotation waiting for that finish fails; once
// the disk takes writes again the retry finishes the old file, the error
// clears, and the new file follows.
func TestAOFRotateDuringWriteFailure(t *testing.T) {
	a, path := openAOF(t, FsyncEverySec)
	a.appendOps(putOp(0, 0))
	if err := a.waitWritten(a.mark()); err != nil {
		t.Fatal(err)
	}
	good := fileSize(t, path)
	next, path2 := nextFile(t, path, "appendonly.2.aof")
	log := &ioLog{hold: make(chan struct{}), entered: make(chan struct{}, 4), fail: true}
	log.install(t, a, next)
	quietly(t, a, putOp(0, 1))
	if err := a.rotate(next); err != nil {
		t.Fatalf("rotate: %v (it must not write)", err)
	}
	<-log.entered // the finish has begun, and blocks
	next3, _ := nextFile(t, path, "appendonly.3.aof")
	second := make(chan error, 1)
	go func() { second <- a.rotate(next3) }()
	a.appendOps(putOp(0, 2)) // for the new file
	log.release()            // the finish fails
	if err := <-second; err == nil {
		t.Fatal("a second rotate succeeded while the first one's old file could not be finished")
	}
	if a.failure() == nil {
		t.Fatal("no standing error after the failed finish")
	}
	if size := fileSize(t, path); size != good {
		t.Errorf("after the failed finish the old file has %d bytes, want the %d good ones (partial entry left behind)", size, good)
	}
	if size := fileSize(t, path2); size != 0 {
		t.Errorf("the new file has %d bytes although the old one could not be finished", size)
	}
	log.mu.Lock()
	log.fail = false
	log.mu.Unlock()
	waitFor(t, 3*time.Second, "the retry to clear the error", func() bool { return a.failure() == nil })
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		want [][]Op
	}{{path, [][]Op{putOp(0, 0), putOp(0, 1)}}, {path2, [][]Op{putOp(0, 2)}}} {
		got := fileEntries(t, f.path)
		if len(got) != len(f.want) {
			t.Fatalf("%s holds %d entries, want %d", f.path, len(got), len(f.want))
		}
		for i := range got {
			if !opsEqual(got[i], f.want[i]) {
				t.Errorf("%s entry %d is %q, want %q", f.path, i, got[i], f.want[i])
			}
		}
	}
}

// TestRotateDuringFill: a rotation under always while a fill writes zeros
// into the old file (and, every other round, a switch to everysec before
// the finish): the finish stops the fill and cuts its zeros before it
// writes, so that no zero lands on an entry.
func TestRotateDuringFill(t *testing.T) {
	filling := 0
	for i := range 10 {
		a, path := openAOF(t, FsyncAlways)
		a.appendOps(putOp(0, 0))
		if err := a.waitDurable(a.mark()); err != nil { // starts a fill
			t.Fatal(err)
		}
		a.appendOps(putOp(0, 1))
		next, path2 := nextFile(t, path, "appendonly.2.aof")
		a.mu.Lock()
		extending := a.extending
		a.mu.Unlock()
		if err := a.rotate(next); err != nil {
			t.Fatal(err)
		}
		if extending {
			filling++
		}
		wait := a.waitDurable
		if i%2 == 1 {
			a.setPolicy(FsyncEverySec)
			wait = a.waitWritten
		}
		a.appendOps(putOp(0, 2))
		if err := wait(a.mark()); err != nil {
			t.Fatal(err)
		}
		if got := fileEntries(t, path); len(got) != 2 { // fails on zeros
			t.Fatalf("round %d: the old file holds %d entries, want 2", i, len(got))
		}
		if err := a.close(); err != nil {
			t.Fatal(err)
		}
		if got := fileEntries(t, path2); len(got) != 1 {
			t.Fatalf("round %d: the new file holds %d entries, want 1", i, len(got))
		}
	}
	if filling == 0 {
		t.Error("no rotation found a fill running: the test tested nothing")
	}
}

// TestRotateAfterClose: a rotation of a closed file fails at once (a
// rewrite that raced CONFIG SET appendonly no) rather than leaving an old
// file nobody will finish, which the next rotation would wait for with
// every bucket locked.
func TestRotateAfterClose(t *testing.T) {
	a, path := openAOF(t, FsyncEverySec)
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	next, _ := nextFile(t, path, "appendonly.2.aof")
	for range 2 {
		if err := a.rotate(next); !errors.Is(err, errClosed) {
			t.Fatalf("rotate after close: %v, want %v", err, errClosed)
		}
	}
}

// TestRotateWaitsForAFlushUnderWay: a rotation waits for a write of the
// old file that is under way (its bytes and size are the old file's);
// switching during it would count them to the new file.
func TestRotateWaitsForAFlushUnderWay(t *testing.T) {
	a, path := openAOF(t, FsyncEverySec)
	next, _ := nextFile(t, path, "appendonly.2.aof")
	a.appendOps(putOp(0, 0))
	if err := a.waitWritten(a.mark()); err != nil {
		t.Fatal(err)
	}
	log := &ioLog{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	log.install(t, a, next)
	mark := quietly(t, a, putOp(0, 1)) // the writer sleeps: the wait below writes
	waited := make(chan error, 1)
	go func() { waited <- a.waitWritten(mark) }()
	<-log.entered // the write of the old file is under way, and blocks
	rotated := make(chan error, 1)
	go func() { rotated <- a.rotate(next) }()
	waitFor(t, 3*time.Second, "the rotation to wait", func() bool {
		select {
		case err := <-rotated:
			t.Fatalf("rotate returned (%v) while a write of the old file was under way", err)
		default:
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.waiters > 0
	})
	log.release()
	if err := <-rotated; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	size, oldSize := a.fileSize, a.oldSize
	a.mu.Unlock()
	if size != 0 {
		t.Errorf("the new file's size is %d after the switch, want 0", size)
	}
	if want := fileSize(t, path); a.old != nil && oldSize != want {
		t.Errorf("the old file's size is %d, want %d", oldSize, want)
	}
}

// TestRewriteAfterClose: once Close has begun, a rewrite (a BGREWRITEAOF
// that raced CONFIG SET appendonly no) is refused: it would write in a
// directory whose lock is released.
func TestRewriteAfterClose(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, FsyncEverySec, nil, nil)
	if err := o.p.Close(false); err != nil {
		t.Fatal(err)
	}
	before, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.p.Rewrite(true); !errors.Is(err, errClosed) {
		t.Fatalf("Rewrite after Close: %v, want %v", err, errClosed)
	}
	after, err := readManifest(dir)
	if err != nil || after.Generation != before.Generation {
		t.Errorf("the manifest changed after Close: generation %d, was %d (%v)", after.Generation, before.Generation, err)
	}
}

// TestRewriteManifestNotWritten: a rewrite whose manifest failed removes
// its new file, unless the manifest was renamed into place (only the
// directory's fsync failed) and may name it; then the file stays, the
// next rewrite takes the generation after it, and the data loads.
func TestRewriteManifestNotWritten(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, FsyncEverySec, nil, nil)
	if err := o.store.Define("s", []byte(defStrings)); err != nil {
		t.Fatal(err)
	}
	gen := o.p.man.Generation + 1
	path := filepath.Join(dir, aofName(gen))
	exists := func() bool {
		_, err := os.Stat(path)
		return err == nil
	}

	// Not renamed: the new file goes, the generation stays.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o.p.manifestNotWritten(gen, path)
	if exists() || o.p.man.Generation != gen-1 {
		t.Fatalf("manifest not renamed: file kept %v, generation %d; want removed, %d", exists(), o.p.man.Generation, gen-1)
	}

	// Renamed, not fsynced: the manifest on disk names the file.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	man := *o.p.man
	man.AOF = append(append([]string(nil), man.AOF...), aofName(gen))
	man.Generation = gen
	if err := writeManifest(dir, &man); err != nil {
		t.Fatal(err)
	}
	o.p.manifestNotWritten(gen, path)
	if !exists() || o.p.man.Generation != gen {
		t.Fatalf("manifest renamed: file kept %v, generation %d; want kept, %d", exists(), o.p.man.Generation, gen)
	}
	if _, err := o.store.Insert(nil, "s", obj(t, `{"id":"a"}`), engine.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.p.Rewrite(true); err != nil {
		t.Fatalf("the next rewrite: %v", err)
	}
	if got, err := readManifest(dir); err != nil || got.Generation != gen+1 {
		t.Fatalf("after the next rewrite the manifest is %+v (%v), want generation %d", got, err, gen+1)
	}
	want := o.dump(t)
	if err := o.p.Close(false); err != nil {
		t.Fatal(err)
	}
	if got := mustOpen(t, dir, FsyncEverySec, nil, nil).dump(t); got != want {
		t.Errorf("after a restart:\n%s\nwant:\n%s", got, want)
	}
}
