package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestPreallocation checks the rule at preallocChunk: under always, the
// fsyncs of a steady run of writes find their bytes over zeros already on
// disk; the zeros stay after the entries; a rotation and a close cut the
// files back to their entries; under everysec no fill starts; and no
// entry is lost or overwritten by a fill running beside the writes.
func TestPreallocation(t *testing.T) {
	a, path := openAOF(t, FsyncAlways)
	a.mu.Lock()
	a.chunk = 64 << 10
	a.mu.Unlock()
	big := bytes.Repeat([]byte("x"), 1000)
	write := func(writers, each int, wait func(int64) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					a.appendOps([]Op{{[]byte(opPut), []byte("b"), []byte(fmt.Sprint(i)), []byte("0"),
						[]byte(fmt.Sprintf(`{"id":"w%d-%d","s":"%s"}`, w, i, big))}})
					if err := wait(a.mark()); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	idle := func() {
		t.Helper()
		waitFor(t, 5*time.Second, "the fill to end", func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return !a.extending
		})
	}

	write(4, 128, a.waitDurable)
	idle()
	a.mu.Lock()
	fsyncs, over, fills, end, prealloc, fillErrors := a.fsyncs, a.overZeros, a.fills, a.fileSize, a.prealloc, a.fillErrors
	a.mu.Unlock()
	if fillErrors != 0 || fills < 4 {
		t.Fatalf("%d fills, %d failed, want 4 or more (512 kB written, 64 kB a fill)", fills, fillErrors)
	}
	// Only the writes before the first fill's zeros, and those that find
	// a fill running, append.
	if over < fsyncs*8/10 {
		t.Errorf("%d of %d fsyncs after writes over zeros, want 80%% or more", over, fsyncs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(dataEnd(data)) != end || int64(len(data)) != prealloc || prealloc-end < 32<<10 {
		t.Errorf("file of %d bytes, entries to %d: want entries to %d, then zeros to %d, at least half a chunk",
			len(data), dataEnd(data), end, prealloc)
	}

	// Under everysec, the zeros go and no fill starts.
	a.setPolicy(FsyncEverySec)
	write(2, 64, a.waitWritten)
	a.mu.Lock()
	if a.fills != fills || a.extending {
		t.Errorf("under everysec: %d fills, extending %v; want %d and none", a.fills, a.extending, fills)
	}
	a.mu.Unlock()
	if size, end := fileSize(t, path), a.size(); size != end {
		t.Errorf("under everysec: file of %d bytes, entries to %d; want no zeros after them", size, end)
	}

	// A rotation's finish (the next flush) cuts the old file back to its
	// entries; the new file is filled afresh under always, and close cuts
	// it back too.
	a.setPolicy(FsyncAlways)
	path2 := filepath.Join(filepath.Dir(path), "appendonly.2.aof")
	next, err := os.OpenFile(path2, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	write(2, 16, a.waitDurable)
	idle()
	if err := a.rotate(next); err != nil {
		t.Fatal(err)
	}
	write(2, 64, a.waitDurable)
	idle()
	if n := len(fileEntries(t, path)); n != 4*128+2*64+2*16 {
		t.Errorf("the old file holds %d entries, want %d", n, 4*128+2*64+2*16)
	}
	if size, end := fileSize(t, path2), a.size(); size <= end {
		t.Errorf("the new file: %d bytes with entries to %d, want zeros after them", size, end)
	}
	end = a.size()
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, path2); size != end {
		t.Errorf("after close, the new file is %d bytes, want its entries' %d", size, end)
	}
	if n := len(fileEntries(t, path2)); n != 2*64 {
		t.Errorf("the new file holds %d entries, want %d", n, 2*64)
	}
}

// TestDataEndAndLostWrite: the zeros after the entries are not part of
// the file, and only a whole aligned block of zeros is a lost write.
func TestDataEndAndLostWrite(t *testing.T) {
	entry := AppendEntry(nil, []Op{{[]byte(opPut), []byte("b"), []byte("1"), []byte("0"), []byte(`{"id":"a"}`)}})
	for _, c := range []struct {
		data []byte
		want int
	}{
		{nil, 0},
		{make([]byte, 100), 0},
		{entry, len(entry)},
		{append(append([]byte(nil), entry...), make([]byte, 5000)...), len(entry)},
	} {
		if got := dataEnd(c.data); got != c.want {
			t.Errorf("dataEnd of %d bytes: %d, want %d", len(c.data), got, c.want)
		}
	}
	// The data of a file cut by a power cut: entries, then the last
	// write's entries with some of their bytes zeroed, then zeros.
	var entries []byte
	var starts []int
	for i := range 12 {
		starts = append(starts, len(entries))
		entries = AppendEntry(entries, []Op{{[]byte(opPut), []byte("b"), []byte(fmt.Sprint(i)), []byte("0"),
			[]byte(fmt.Sprintf(`{"id":"k%d","s":"%s"}`, i, bytes.Repeat([]byte("z"), 1000)))}})
	}
	at := starts[8] // where the last write started
	cut := func(zero func(d []byte), tail int) []byte {
		d := append(append([]byte(nil), entries...), make([]byte, tail)...)
		zero(d)
		return d
	}
	sector := func(i int) func(d []byte) {
		return func(d []byte) { copy(d[i*512:], make([]byte, 512)) }
	}
	for _, c := range []struct {
		name string
		data []byte
		at   int
		want bool
	}{
		{"the first sector of the write lost", cut(func(d []byte) { copy(d[at:], make([]byte, 512-at%512)) }, 4096), at, true},
		{"a sector inside the failing entry lost", cut(sector(at/512+1), 4096), at, true},
		{"no zeros after the entries", cut(sector(at/512+1), 0), at, false},
		{"a flipped byte", cut(func(d []byte) { d[at+30] ^= 1 }, 4096), at, false},
		{"complete entries before the zeroed sector", cut(sector(starts[10]/512+1), 4096), at, false},
		{"511 zeros", cut(func(d []byte) { copy(d[(at/512+1)*512:], make([]byte, 511)) }, 4096), at, false},
	} {
		if got := lostWrite(c.data, c.at, dataEnd(c.data)); got != c.want {
			t.Errorf("%s: lostWrite %v, want %v", c.name, got, c.want)
		}
	}
	// More than lostWriteMax before the end of the entries: not the last
	// write.
	far := append(bytes.Repeat([]byte("x"), lostWriteMax+2048), make([]byte, 4096)...)
	copy(far[1024:], make([]byte, 512))
	if lostWrite(far, 1000, dataEnd(far)) {
		t.Errorf("a zeroed sector %d bytes before the end was taken for a lost write", lostWriteMax+1024)
	}
}

// TestOpenAfterPreallocation: start-up after a crash under always, which
// leaves zeros after the entries. The zeros are cut off (in any file); a
// whole zeroed block among the last writes of the last file, which only a
// power cut leaves, cuts the file at the entry it falls in; the same in a
// closed file, or a damaged byte before the zeros, is still refused.
func TestOpenAfterPreallocation(t *testing.T) {
	base := t.TempDir()
	o := mustOpen(t, base, FsyncNo, nil, nil)
	fill(t, o.store)
	// More than lostWriteMax of entries after fill's.
	for i := range 3000 {
		if _, err := o.store.Upsert(nil, "s", obj(t, fmt.Sprintf(`{"id":"late%d","n":%d,"note":"%s"}`, i%500, i, bytes.Repeat([]byte("y"), 400)))); err != nil {
			t.Fatal(err)
		}
	}
	want := o.dump(t)
	if err := o.p.Close(false); err != nil {
		t.Fatal(err)
	}
	aofFile := filepath.Base(lastAOF(t, base))
	orig, err := os.ReadFile(filepath.Join(base, aofFile))
	if err != nil {
		t.Fatal(err)
	}
	_, starts := entryStarts(t, orig)
	zeros := make([]byte, 3<<20)
	// The entry that a zeroed block 512-aligned from the start of the
	// sixth last entry falls in.
	z := (starts[len(starts)-7] + 511) &^ 511
	lost := 0
	for _, s := range starts {
		if s <= z {
			lost = s
		}
	}
	// wantAt loads the entries before the offset into a fresh directory.
	wantAt := func(t *testing.T, cut int) string {
		dir := t.TempDir()
		copyDir(t, base, dir)
		if err := os.Truncate(filepath.Join(dir, aofFile), int64(cut)); err != nil {
			t.Fatal(err)
		}
		r := mustOpen(t, dir, FsyncNo, nil, nil)
		defer r.p.Close(false)
		return r.dump(t)
	}
	// older makes the file a closed one: a newer file with data follows.
	older := func(t *testing.T, dir string) {
		m, _ := readManifest(dir)
		m.AOF = append(m.AOF, aofName(m.Generation+1))
		m.Generation++
		writeManifest(dir, m)
		os.WriteFile(filepath.Join(dir, aofName(m.Generation)), AppendEntry(nil, []Op{{[]byte("QDROP"), []byte("q")}}), 0o644)
	}
	cases := []struct {
		name   string
		closed bool
		damage func(data []byte) []byte
		state  string // "" when refused
		size   int    // the file's size after Open
		log    string
	}{
		{"zeros after the entries", false, func(d []byte) []byte { return append(d, zeros...) },
			want, len(orig), "not closed"},
		{"zeros after a closed file's entries", true, func(d []byte) []byte { return append(d, zeros...) },
			want, len(orig), "not closed"},
		{"a lost block among the last writes", false, func(d []byte) []byte {
			copy(d[z:], make([]byte, 512))
			return append(d, zeros...)
		}, wantAt(t, lost), lost, "power cut"},
		{"the first sector of the last write lost", false, func(d []byte) []byte {
			s := starts[len(starts)-4]
			copy(d[s:], make([]byte, 512-s%512))
			return append(d, zeros...)
		}, wantAt(t, starts[len(starts)-4]), starts[len(starts)-4], "power cut"},
		{"a zeroed sector more than lostWriteMax before the end", false, func(d []byte) []byte {
			copy(d[(starts[5]/512+1)*512:], make([]byte, 512))
			return append(d, zeros...)
		}, "", 0, ""},
		{"a lost block in a closed file", true, func(d []byte) []byte {
			copy(d[z:], make([]byte, 512))
			return append(d, zeros...)
		}, "", 0, ""},
		{"a damaged byte before the zeros", false, func(d []byte) []byte {
			d[starts[len(starts)/2]+30] ^= 1
			return append(d, zeros...)
		}, "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			path := filepath.Join(dir, aofFile)
			if err := os.WriteFile(path, c.damage(append([]byte(nil), orig...)), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.closed {
				older(t, dir)
			}
			r, err := openDir(dir, FsyncNo, nil, nil)
			if c.state == "" {
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.File != path {
					t.Fatalf("Open: %v, want a *CorruptError naming %s", err, path)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.p.Close(false)
			if got := r.dump(t); got != c.state {
				t.Errorf("state differs:\n%s", lineDiff(c.state, got))
			}
			if size := fileSize(t, path); size != int64(c.size) {
				t.Errorf("file is %d bytes after Open, want %d", size, c.size)
			}
			if !strings.Contains(r.log.String(), c.log) {
				t.Errorf("log has no %q: %s", c.log, r.log)
			}
		})
	}
}

// TestWriteOutPieces checks the rule at maxSyncedWrite: under always, no
// piece is larger, pieces end at 4 kB boundaries of the file and where the
// zeros end, and each is made durable before the next is written. The
// file is a pipe, which cannot be fsynced: the first piece arrives, and
// nothing after it.
func TestWriteOutPieces(t *testing.T) {
	for _, c := range []struct {
		name          string
		n             int
		off, zerosEnd int64
		want          int
	}{
		{"aligned", 2*maxSyncedWrite + 100, 0, 0, maxSyncedWrite},
		{"to the next 4 kB boundary", 2*maxSyncedWrite + 100, 100, 0, maxSyncedWrite - 100},
		{"to the end of the zeros", 2*maxSyncedWrite + 100, 100, 5000, 4900},
		{"small, across the end of the zeros", 3000, 4000, 5000, 1000},
		{"small", 3000, 4000, 0, 3000},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int)
		go func() {
			n, _ := io.Copy(io.Discard, r)
			got <- int(n)
		}()
		err = writeOut(w, make([]byte, c.n), true, c.off, c.zerosEnd)
		w.Close()
		if n := <-got; err == nil || n != c.want {
			t.Errorf("%s: %d bytes before %v, want %d before the fsync's error", c.name, n, err, c.want)
		}
		r.Close()
	}
}

// TestPreallocationFailure: a fill that fails (here the file's name is
// gone, so the fill cannot open it) costs the writes nothing; it is
// logged once and retried a second later.
func TestPreallocationFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appendonly.1.aof")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	a := newAOF(f, 0, FsyncAlways, zerolog.New(&log))
	defer a.close()
	a.mu.Lock()
	a.chunk = 64 << 10
	a.mu.Unlock()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	put := func(i int) {
		t.Helper()
		a.appendOps(putOp(0, i))
		if err := a.waitDurable(a.mark()); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for i := range 50 {
		put(i)
	}
	waitFor(t, 5*time.Second, "two failed fills", func() bool {
		put(0)
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.fillErrors >= 2
	})
	a.mu.Lock()
	fills, prealloc := a.fills, a.prealloc
	a.mu.Unlock()
	if fills != 0 || prealloc != 0 {
		t.Errorf("%d fills, zeros to %d, want none", fills, prealloc)
	}
	if n := strings.Count(log.String(), "writing zeros ahead of its end failed"); n != 1 {
		t.Errorf("the failure logged %d times, want once: %s", n, log.String())
	}
}

// openFilling opens a file under always, writes one entry and returns
// with a fill of 256 MB started after it: long enough to be running at
// whatever the test does next.
func openFilling(t *testing.T) (*aof, string) {
	t.Helper()
	a, path := openAOF(t, FsyncAlways)
	a.mu.Lock()
	a.chunk = 256 << 20
	a.mu.Unlock()
	a.appendOps(putOp(0, 0))
	if err := a.waitDurable(a.mark()); err != nil {
		t.Fatal(err)
	}
	return a, path
}

// TestPreallocationPolicyChange: a change away from always while a fill
// runs stops the fill after its piece, and the next write under everysec
// goes after the file's entries with no zeros left past them.
func TestPreallocationPolicyChange(t *testing.T) {
	a, path := openFilling(t)
	a.setPolicy(FsyncEverySec)
	a.appendOps(putOp(0, 1))
	if err := a.waitWritten(a.mark()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	extending, fills := a.extending, a.fills
	a.mu.Unlock()
	if extending {
		t.Error("the fill still runs after a write under everysec")
	}
	if size, end := fileSize(t, path), a.size(); size != end || fills != 1 {
		t.Errorf("file of %d bytes, entries to %d, %d fills; want no zeros after the entries and the one fill stopped", size, end, fills)
	}
	if n := len(fileEntries(t, path)); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
}

// TestPreallocationGiveBack: a fill that fails part way through a piece
// (the disk fills up) cuts the file back to the end of its last whole
// piece, so that no space is held past the zeros it records; a fill later
// goes on from there.
func TestPreallocationGiveBack(t *testing.T) {
	a, path := openAOF(t, FsyncAlways)
	a.mu.Lock()
	a.chunk = 4 << 20 // four pieces
	a.mu.Unlock()
	entry := int64(len(AppendEntry(nil, putOp(0, 0))))
	// The third piece, [entry+2 MB, entry+3 MB), is cut short at 2.5 MB.
	restore := limitFileSize(t, 5<<19)
	a.appendOps(putOp(0, 0))
	if err := a.waitDurable(a.mark()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the fill to fail", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.fillErrors == 1 && !a.extending
	})
	a.mu.Lock()
	prealloc := a.prealloc
	a.mu.Unlock()
	if want := entry + 2<<20; prealloc != want {
		t.Fatalf("zeros recorded to %d, want %d (two whole pieces)", prealloc, want)
	}
	if got := fileSize(t, path); got != prealloc {
		t.Fatalf("the file is %d bytes after the failed piece, want %d: the partial piece was not given back", got, prealloc)
	}

	restore()
	// The next fill starts no sooner than a second after the failure, at
	// a write's end.
	waitFor(t, 10*time.Second, "a fill after the failure", func() bool {
		a.appendOps(putOp(0, 1))
		if err := a.waitDurable(a.mark()); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.fills == 1 && !a.extending
	})
	a.mu.Lock()
	prealloc2, end, chunk := a.prealloc, a.fileSize, a.chunk
	a.mu.Unlock()
	if prealloc2 != prealloc+chunk || fileSize(t, path) != prealloc2 {
		t.Fatalf("after the retry: zeros to %d, file %d bytes; want both %d", prealloc2, fileSize(t, path), prealloc+chunk)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := int64(dataEnd(data)); got != end || end != a.mark() {
		t.Fatalf("the entries end at %d, the writes at %d, appended %d", got, end, a.mark())
	}
}

// TestPreallocationWriteFailureStopsFill: when a write fails while a fill
// runs, the fill stops before the file is cut back to its entries, so
// that no zeros are written or recorded past the cut; the retry that
// succeeds writes the entry once.
func TestPreallocationWriteFailureStopsFill(t *testing.T) {
	a, path := openFilling(t)
	good := a.mark()
	// Whether a fill ran at the first failure: the writer retries every
	// 100 ms, after the fill has stopped.
	var calls atomic.Int32
	var filling atomic.Bool
	a.mu.Lock()
	a.out = func(*os.File, []byte, bool, int64, int64) error {
		if calls.Add(1) == 1 {
			a.mu.Lock()
			filling.Store(a.extending)
			a.mu.Unlock()
		}
		return syscall.EIO
	}
	a.mu.Unlock()
	a.appendOps(putOp(0, 1))
	m := a.mark()
	if err := a.waitDurable(m); !errors.Is(err, syscall.EIO) {
		t.Fatalf("waitDurable: %v, want EIO", err)
	}
	if !filling.Load() {
		t.Fatal("no fill was running when the write failed")
	}
	a.mu.Lock()
	extending, prealloc, fillFrom := a.extending, a.prealloc, a.fillFrom
	a.mu.Unlock()
	if extending || prealloc != 0 || fillFrom != 0 {
		t.Fatalf("after the failed write: fill running %v, zeros to %d, fill from %d; want stopped, none", extending, prealloc, fillFrom)
	}
	if got := fileSize(t, path); got != good {
		t.Fatalf("the file is %d bytes after the failed write, want %d (its entries)", got, good)
	}

	a.mu.Lock()
	a.out = writeOut
	a.mu.Unlock()
	waitFor(t, 5*time.Second, "the writer's retry to succeed", func() bool { return a.failure() == nil })
	if err := a.waitDurable(m); err != nil {
		t.Fatalf("waitDurable after the retry: %v", err)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	if got := fileEntries(t, path); len(got) != 2 || !opsEqual(got[1], putOp(0, 1)) {
		t.Fatalf("the file holds %q, want the two entries", got)
	}
}
