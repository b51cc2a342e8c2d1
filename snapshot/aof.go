package snapshot

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/jsonv"
)

// Fsync policies, as Redis's appendfsync.
const (
	FsyncAlways   = "always"
	FsyncEverySec = "everysec"
	FsyncNo       = "no"
)

var errClosed = errors.New("append-only file closed")

// errBeyond reports a wait for an offset past everything appended, which
// no caller asks for (mark never runs ahead of appends).
var errBeyond = errors.New("append-only file: waiting past the end of what was appended")

// aof appends committed changes to the current append-only file. Appends
// happen inside commits (the engine calls the observer methods with the
// written buckets locked), so they only copy bytes into a buffer and never
// wait for the disk. The connections wait before they reply, with no lock
// held: for the write (waitWritten) or, under "always", the fsync
// (waitDurable) of their commits' entries. A waiting connection writes the
// buffer itself (and fsyncs under "always") when no write is under way
// (flushLocked); one write or fsync covers every commit appended before
// it, from all connections (group commit). A writer goroutine writes what
// nobody waits for, writerDelay after it was appended, and retries after a
// failure.
type aof struct {
	// policy is the appendfsync policy; CONFIG SET may change it at any
	// time (setPolicy), so each flush reads it once.
	policy atomic.Pointer[string]

	// mu guards every field below. Lock order: bucket locks, then mu.
	mu      sync.Mutex
	cond    *sync.Cond // signalled when written/synced/writing/err change
	file    *os.File
	buf     []byte // appended, not yet written (nil or empty: nothing)
	spare   []byte // an emptied buffer for buf to take when it is nil
	writing bool   // a flush (flushLocked) is writing outside mu
	syncing bool   // the everysec goroutine is fsyncing outside mu
	closed  bool
	// old is the file a rotation replaced, until finishOld has written
	// oldBuf (what was buffered for it) at oldSize, fsynced and closed it.
	old     *os.File
	oldBuf  []byte
	oldSize int64
	// appended is the count of bytes appended in all (logical offset).
	appended int64
	// appendedNow is appended, readable without mu (mark).
	appendedNow atomic.Int64
	written     int64 // bytes written to files
	synced      int64 // bytes known to be on disk
	fileSize    int64 // size of the current file
	err         error // last write or fsync error; cleared by a later success
	entries     int64 // entries appended since the last snapshot
	rounds      int64 // times the writer woke to write (TestWriterIsABackstop)
	asleep      bool  // the writer waits for a wake-up (TestRotateLeavesTheDiskToTheFlush)
	waiters     int   // replies' waits and rotations waiting for a flush (the rotation tests)
	// commits, writes and fsyncs count entries appended, write calls and
	// fsyncs made since start-up (INFO persistence: what one write or
	// fsync covers).
	commits, writes, fsyncs int64

	// Preallocation under always (the rule at preallocChunk): zeros are
	// written and made durable up to prealloc. While extending, a fill
	// writes them from fillFrom on, a piece at a time, and writes of
	// entries stay below fillFrom; stopFill asks it to stop after its
	// piece. After a failed fill none starts before fillRetry; fillFailing
	// says the failure was logged. chunk is preallocChunk (tests make it
	// smaller). fills and fillErrors count the fills, overZeros the
	// fsyncs whose write went over zeros.
	prealloc, fillFrom           int64
	extending, stopFill          bool
	fillRetry                    time.Time
	fillFailing                  bool
	chunk                        int64
	fills, fillErrors, overZeros int64
	log                          zerolog.Logger

	// out is writeOut; a test makes a flush's write fail with it.
	out func(f *os.File, data []byte, synced bool, off, zerosEnd int64) error
	// syncOld is (*os.File).Sync, finishOld's fsync of a rotated file; a
	// test sees its order with out's writes.
	syncOld func(f *os.File) error

	wake chan struct{}
	done chan struct{}
}

// preallocChunk is how much of the current file is zero-filled ahead of
// its end under "always", a chunk at a time, each fill started when less
// than half a chunk is left. The rule: a commit's fsync must not have to
// make a new file size or new blocks durable. An fsync after an append
// commits a journal transaction for them (ext4), and cost this machine
// 180–280 µs of CPU and 230–450 µs of wall time; after writing over zeros
// already on disk it only writes the data: 85–120 µs and 140–260 µs. At
// 17 commits an fsync (50 clients at pipeline 1), that took `always` from
// 22.3k to 24.2k inserts a second (docs/persistence.md, "Preallocation").
// The zeros after the end are not part of the file: the loader stops at
// them and cuts them off, and a rotation, a clean close or leaving always
// truncates the file to its end. TestPreallocation fails when fewer than
// four in five of a steady run's fsyncs under always find their bytes
// over zeros.
const preallocChunk = 16 << 20

func newAOF(f *os.File, size int64, policy string, log zerolog.Logger) *aof {
	a := &aof{file: f, fileSize: size, chunk: preallocChunk, log: log, out: writeOut, syncOld: (*os.File).Sync,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	a.policy.Store(&policy)
	a.cond = sync.NewCond(&a.mu)
	go a.writer()
	go a.everySec() // idle unless the policy is everysec
	return a
}

// appendOps appends one entry. It never blocks on the disk.
func (a *aof) appendOps(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	return a.appendEntry(AppendEntry(nil, ops))
}

// appendEntry appends one encoded entry.
func (a *aof) appendEntry(entry []byte) error {
	a.mu.Lock()
	if a.buf == nil {
		a.buf, a.spare = a.spare, nil
	}
	a.buf = append(a.buf, entry...)
	a.appended += int64(len(entry))
	a.appendedNow.Store(a.appended)
	a.entries++
	a.commits++
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// logScratch holds the buffers Log encodes entries into.
var logScratch = sync.Pool{New: func() any { return new([]byte) }}

// Log implements engine.Journal: one entry per commit, encoded word by
// word (entryBuilder) before the buffer's lock is taken.
func (a *aof) Log(changes []engine.Change) error {
	sc := logScratch.Get().(*[]byte)
	*sc = AppendCommit((*sc)[:0], changes, false)
	var err error
	if len(*sc) > 0 {
		err = a.appendEntry(*sc)
	}
	if cap(*sc) <= 64<<10 {
		logScratch.Put(sc)
	}
	return err
}

// AppendCommit appends the entry of one commit's changes to dst: a PUT,
// DEL or CLEAR operation a change. The append-only file (replicated false)
// leaves out the changes of buckets that are not persistent; a replication
// entry (replicated true, docs/replication.md) has them all and adds each
// delete's and update's reason. With no operation, dst is returned as it
// is.
func AppendCommit(dst []byte, changes []engine.Change, replicated bool) []byte {
	ops := 0
	for i := range changes {
		if c := &changes[i]; c.Op != engine.OpNote && (c.Persistent || replicated) {
			ops++
		}
	}
	if ops == 0 {
		return dst
	}
	e := beginEntry(dst, ops)
	for i := range changes {
		c := &changes[i]
		if !c.Persistent && !replicated {
			continue
		}
		reason := replicated && c.Reason != ""
		switch c.Op {
		case engine.OpInserted, engine.OpUpdated:
			e.op(5 + b2i(reason))
			e.str(opPut)
			e.str(c.Bucket)
			e.uint(c.Seq)
			e.int(c.Counter)
			e.head(c.New.JSONLen())
			e.dst = append(c.New.AppendJSON(e.dst), "\r\n"...)
		case engine.OpDeleted:
			e.op(4 + b2i(reason))
			e.str(opDel)
			e.str(c.Bucket)
			e.uint(c.Seq)
			e.bulk(jsonv.Marshal(c.Key))
		case engine.OpCleared:
			e.op(3)
			e.str(opClear)
			e.str(c.Bucket)
			e.uint(c.Seq)
		}
		if reason && c.Op != engine.OpCleared {
			e.str(c.Reason)
		}
	}
	return e.end()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// LogDefine implements engine.Journal.
func (a *aof) LogDefine(name string, definition []byte, altered bool) error {
	op := opDefine
	if altered {
		op = opAlter
	}
	return a.appendOps([]Op{{[]byte(op), []byte(name), definition}})
}

// LogDrop implements engine.Journal.
func (a *aof) LogDrop(name string) error {
	return a.appendOps([]Op{{[]byte(opDrop), []byte(name)}})
}

// functionsChanged logs every function library after a change.
func (a *aof) functionsChanged(payload []byte) error {
	return a.appendOps([]Op{{[]byte(opFuncs), payload}})
}

// queryDefined logs a query definition (nil definition: dropped).
func (a *aof) queryDefined(name string, definition []byte) error {
	if definition == nil {
		return a.appendOps([]Op{{[]byte(opQDrop), []byte(name)}})
	}
	return a.appendOps([]Op{{[]byte(opQDefine), []byte(name), definition}})
}

// writerDelay is how long the writer lets an appended entry wait before
// it writes it. The rule: the writer is only a backstop. A connection
// writes its own commits' entries before it replies (wait), so the writer
// must not race it for them: woken at once by every append, it cost every
// commit a goroutine wake-up and found the work done (about 3% of the
// server's CPU at pipeline 1; docs/persistence.md, "When a write is
// answered"). What it covers (expiries, commits whose connection went
// away) waits at most this long.
// TestWriterIsABackstop fails when the writer writes what a connection
// waits for.
const writerDelay = time.Millisecond

// writer writes the buffer to the file, fsyncing under "always", when no
// waiting connection did it within writerDelay: it covers the commits
// nobody waits for, and retries after a failed write.
func (a *aof) writer() {
	defer close(a.done)
	for {
		a.mu.Lock()
		if !a.pending() && !a.closed {
			a.asleep = true
			a.mu.Unlock()
			<-a.wake
			time.Sleep(writerDelay)
			a.mu.Lock()
			a.asleep = false
			a.rounds++
		}
		for a.writing { // a connection is writing: let it finish
			a.cond.Wait()
		}
		if a.closed && (!a.pending() || a.err != nil) {
			a.mu.Unlock()
			return
		}
		var err error
		if a.pending() {
			err = a.flushLocked()
		}
		closed := a.closed
		a.mu.Unlock()
		if err != nil && !closed {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// flushLocked writes the buffer to the file and, under "always", fsyncs
// it, with a.mu released meanwhile; a.mu must be held and no flush under
// way. The writer goroutine and the waiting connections call it: a
// connection that waits for its entry writes it (and everything appended
// before) itself when nobody is writing, instead of waking the writer
// and being woken in turn, and those that come while it writes wait for
// that write, then look again (group commit).
func (a *aof) flushLocked() error {
	a.writing = true
	if a.old != nil {
		// Everything of the old file first: then the new file's bytes
		// (rotate.go).
		if err := a.finishOld(); err != nil {
			a.writing = false
			a.cond.Broadcast()
			return err
		}
	}
	always := a.pol() == FsyncAlways
	data := a.buf
	a.buf = nil
	// A write never goes where a fill is writing zeros.
	for a.extending && a.fileSize+int64(len(data)) > a.fillFrom {
		a.cond.Wait()
	}
	if !always && (a.extending || a.prealloc > 0 || a.fillFrom > 0) {
		// Out of always, nothing is written over zeros: a power cut
		// could then lose any of a second's writes, not only the last.
		// A running fill stops after its piece.
		a.stopFill = a.extending
		for a.extending {
			a.cond.Wait()
		}
		if err := a.cutZeros(a.file, a.fileSize); err != nil {
			a.log.Warn().Err(err).Msg("append-only file: cutting the zeros written ahead of its end failed")
		}
	}
	f, off, zerosEnd, out := a.file, a.fileSize, a.prealloc, a.out
	overZeros := off+int64(len(data)) <= zerosEnd
	a.mu.Unlock()

	err := out(f, data, always, off, zerosEnd)

	a.mu.Lock()
	if err != nil && a.extending {
		// The cut below takes the zeros too: the fill stops first, so
		// that it does not record zeros that are gone. a.writing keeps
		// other flushes out meanwhile.
		a.stopFill = true
		for a.extending {
			a.cond.Wait()
		}
	}
	a.writing = false
	if err != nil {
		// Cut the file back to its last good size, so that no torn
		// entry sits in the middle, and keep the entries for the next
		// try: their commits are in memory, and their replies wait
		// (under always, the connections waiting give up and close,
		// acknowledging nothing; see waitDurable).
		f.Truncate(a.fileSize)
		f.Seek(a.fileSize, 0)
		a.prealloc, a.fillFrom = 0, 0
		a.buf = append(data, a.buf...)
		a.err = err
	} else {
		a.err = nil
		// Two buffers take turns (one written, one filled): the one just
		// written goes where one is missing, so that neither grows anew.
		switch {
		case cap(data) > 4<<20:
		case a.buf == nil:
			a.buf = data[:0]
		case a.spare == nil:
			a.spare = data[:0]
		}
		a.written += int64(len(data))
		a.fileSize += int64(len(data))
		if len(data) > 0 {
			a.writes++
		}
		if always {
			a.synced = a.written
			a.fsyncs++
			if overZeros {
				a.overZeros++
			}
			a.extend()
		}
	}
	a.cond.Broadcast() // waiters for this write, rotate and close wait on it
	return err
}

// maxSyncedWrite is the most one write under always puts in the file
// before its fsync: a larger buffer is written in pieces, each fsynced
// before the next, that end at 4 kB boundaries of the file, and a piece
// never runs from the zeros past their end. The rule: over preallocated
// zeros, a power cut can leave holes in the last write only (no metadata
// orders its pages), and start-up takes zeroed sectors for such holes
// only where the write can have started (an entry's start or a sector
// boundary) and within this many bytes of the end (lostWrite,
// lostWriteMax). TestWriteOutPieces fails when a piece is larger or does
// not end where it should.
const maxSyncedWrite = lostWriteMax

// writeOut writes data to f at its offset, off; under always (synced), in
// pieces of at most maxSyncedWrite bytes, each made durable before the
// next is written, cut at 4 kB boundaries and at zerosEnd, where the zeros
// end (the rule above). With no data it still fsyncs under always.
func writeOut(f *os.File, data []byte, synced bool, off, zerosEnd int64) error {
	if !synced {
		if len(data) == 0 {
			return nil
		}
		_, err := f.Write(data)
		return err
	}
	for {
		n := int64(len(data))
		if n > maxSyncedWrite {
			n = maxSyncedWrite - (off+maxSyncedWrite)%4096
		}
		if off < zerosEnd && off+n > zerosEnd {
			n = zerosEnd - off
		}
		if n > 0 {
			if _, err := f.Write(data[:n]); err != nil {
				return err
			}
		}
		if err := datasync(f); err != nil {
			return err
		}
		off += n
		if data = data[n:]; len(data) == 0 {
			return nil
		}
	}
}

// extend starts a fill of the next chunk of zeros when less than half a
// chunk is left after the end (preallocChunk); a.mu must be held.
func (a *aof) extend() {
	if a.extending || a.closed || a.prealloc-a.fileSize >= a.chunk/2 || time.Now().Before(a.fillRetry) {
		return
	}
	from := max(a.prealloc, a.fileSize)
	a.extending, a.stopFill, a.fillFrom = true, false, from
	go a.fill(a.file.Name(), from, from+a.chunk)
}

// zeros is what fill writes, a piece at a time: a commit's fdatasync
// also writes whatever zeros are dirty in the page cache, so a fill
// makes each piece durable before it writes the next.
var zeros [1 << 20]byte

// fill writes zeros over [from, to) of the file at path and makes them
// durable, a piece at a time, with no lock held; after each piece, writes
// may go over it. It writes through a file of its own: an fsync reports a
// write-back error to one open file only once, and the fill's must not
// take away the error of a commit's.
func (a *aof) fill(path string, from, to int64) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	off := from
	for err == nil && off < to {
		n := min(int64(len(zeros)), to-off)
		if _, err = f.WriteAt(zeros[:n], off); err == nil {
			err = datasync(f)
		}
		if err != nil {
			break
		}
		off += n
		a.mu.Lock()
		a.prealloc, a.fillFrom = off, off
		stop := a.stopFill
		a.cond.Broadcast()
		a.mu.Unlock()
		if stop {
			break
		}
	}
	if err != nil && f != nil {
		// Give the space back (a full disk): writes of entries are below
		// off while the fill runs.
		if st, serr := f.Stat(); serr == nil && st.Size() > off {
			f.Truncate(off)
		}
	}
	if f != nil {
		f.Close()
	}
	a.mu.Lock()
	a.extending, a.stopFill = false, false
	if err != nil {
		// No harm done: the writes append past the zeros as without
		// them, and a full disk refuses those as it would have.
		a.fillErrors++
		a.fillRetry = time.Now().Add(time.Second)
		if !a.fillFailing {
			a.fillFailing = true
			a.log.Warn().Err(err).Msg("append-only file: writing zeros ahead of its end failed; writes append without them, and the fill is retried every second")
		}
	} else {
		a.fills++
		if a.fillFailing {
			a.fillFailing = false
			a.log.Info().Msg("append-only file: zeros are written ahead of its end again")
		}
	}
	a.cond.Broadcast()
	a.mu.Unlock()
}

// cutZeros truncates f, the file the zeros were written to, to end, where
// its entries end, when a fill wrote zeros past it (leaving always, a
// rotation's finishOld, close); a.mu must be held and no fill under way.
func (a *aof) cutZeros(f *os.File, end int64) error {
	if a.prealloc == 0 && a.fillFrom == 0 {
		return nil
	}
	a.prealloc, a.fillFrom = 0, 0
	return f.Truncate(end)
}

// pending reports whether anything waits to be written: buffered entries,
// or a rotated file to finish; a.mu must be held.
func (a *aof) pending() bool { return len(a.buf) > 0 || a.old != nil }

// pol returns the appendfsync policy.
func (a *aof) pol() string { return *a.policy.Load() }

// setPolicy changes the appendfsync policy: the next write follows it.
// Leaving always, everything written is fsynced within a second (everysec)
// or when the system does it (no); entering always, the next write
// fsyncs, with everything before it.
func (a *aof) setPolicy(p string) {
	a.policy.Store(&p)
	a.mu.Lock()
	a.cond.Broadcast()
	a.mu.Unlock()
}

// everySec fsyncs the file once a second when something was written and
// the policy is everysec.
func (a *aof) everySec() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		}
		if a.pol() != FsyncEverySec {
			continue
		}
		a.mu.Lock()
		if a.written == a.synced || a.closed || a.old != nil {
			// With a rotated file to finish, the flush that finishes it
			// fsyncs it, before the new file has a byte.
			a.mu.Unlock()
			continue
		}
		target, f := a.written, a.file
		a.syncing = true // rotate waits: the file must stay open
		a.mu.Unlock()
		err := f.Sync()
		a.mu.Lock()
		a.syncing = false
		if err != nil {
			a.err = err
		} else {
			if target > a.synced {
				a.synced = target
			}
			a.fsyncs++
			if !a.pending() && !a.writing {
				a.err = nil // nothing waits for a retry: the disk works again
			}
		}
		a.cond.Broadcast()
		a.mu.Unlock()
	}
}

// mark returns the logical offset of everything appended so far. It
// takes no lock: connections read it around every command.
func (a *aof) mark() int64 { return a.appendedNow.Load() }

// waitWritten waits until everything appended up to off is written to the
// file (not fsynced), and returns the standing write error at once when
// there is one: under everysec and no, a reply waits for its entry's
// write(2), as Redis's does, so that a process crash loses nothing
// acknowledged; when the disk refuses, the reply goes out as Redis's does
// and later writes are refused (MISCONF) until a retry succeeds.
func (a *aof) waitWritten(off int64) error {
	return a.wait(off, func() int64 { return a.written })
}

// waitDurable waits, under "always", until everything appended up to off
// is fsynced, and returns the write error that prevents it. Under the
// other policies it only reports a standing error.
func (a *aof) waitDurable(off int64) error {
	if a.pol() != FsyncAlways {
		return a.failure()
	}
	return a.wait(off, func() int64 {
		if a.pol() != FsyncAlways {
			return a.written // the policy changed meanwhile: written is enough
		}
		return a.synced
	})
}

// wait waits until reached() (read under a.mu) is off or more, writing
// the buffer itself when nobody is (flushLocked), and returns the
// standing write error.
//
// The rule: before it writes, a waiting connection yields once
// (runtime.Gosched), so that the connections ready to run commit and
// append first and one write covers them all, as Redis writes once per
// event-loop turn. Without it, at 50 clients and pipeline 1, a write
// covered 1.06 commits and cost each about 3 µs of the server's CPU; with
// it, 5 to 7 (INFO persistence: aof_commits, aof_writes), and everysec
// went from 0.87 to 0.95–0.98 of the in-memory rate; under always, the
// rate went from 17k–19k/s to 20k–21k/s (docs/persistence.md).
// TestWaitYieldsBeforeWriting fails without the yield.
func (a *aof) wait(off int64, reached func() int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	yielded := false
	for reached() < off {
		switch {
		case a.err != nil:
			return a.err
		case a.closed:
			return errClosed
		case a.writing:
			a.waiters++
			a.cond.Wait()
			a.waiters--
		case a.pending() && !yielded:
			yielded = true
			a.mu.Unlock()
			runtime.Gosched()
			a.mu.Lock()
		case a.pending():
			a.flushLocked()
		default:
			// Everything appended is written: only an fsync under
			// "always" can be missing.
			if err := a.flushLocked(); err != nil {
				return err
			}
			if reached() < off {
				return errBeyond
			}
		}
	}
	return a.err
}

// failure returns the standing write error, if any.
func (a *aof) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// size returns the current file's size.
func (a *aof) size() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fileSize + int64(len(a.buf))
}

// close writes what is buffered, fsyncs and closes the file.
func (a *aof) close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopFill = a.extending
	for a.syncing || a.extending {
		a.cond.Wait()
	}
	err := a.err
	if a.old != nil {
		// The writer stopped on the standing error before it could finish
		// the rotated file: the new one stays empty, so that no entry
		// follows a gap.
		a.old.Close()
		a.old = nil
		a.file.Close()
		a.cond.Broadcast()
		return err
	}
	if cerr := a.cutZeros(a.file, a.fileSize); err == nil {
		err = cerr
	}
	if err == nil {
		err = writeOut(a.file, a.buf, a.pol() == FsyncAlways, a.fileSize, 0)
	}
	if serr := a.file.Sync(); err == nil {
		err = serr
	}
	if err == nil {
		a.written += int64(len(a.buf))
		a.synced = a.written
		a.buf = nil
	}
	a.file.Close()
	a.cond.Broadcast()
	return err
}
