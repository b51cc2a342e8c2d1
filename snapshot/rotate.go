package snapshot

import (
	"fmt"
	"os"
)

// rotate makes next the current file. It runs inside engine.Store.Capture,
// with every bucket locked (query definitions take the persistence lock),
// so it waits for no disk I/O of its own: what is buffered stays for the
// old file, which the next flush finishes (finishOld) before it writes a
// byte to next. The rule: no commit waits for a rotation's fsync. Writing
// the buffer and fsyncing the old file here held every writer for 4–57 ms
// a rewrite under everysec (up to a second of writes to make durable) on
// this machine, and for a running fill's piece under always; now a
// rotation waits only for a write under way (under always, its fsync).
// TestRotateLeavesTheDiskToTheFlush fails when rotate writes or fsyncs.
//
// A rotation while the last one's old file is still unfinished waits for
// that finish, and fails when the disk refuses it (the rewrite then fails
// and appends stay in the current file).
func (a *aof) rotate(next *os.File) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.writing || a.old != nil && a.err == nil {
		a.cond.Wait()
	}
	if a.old != nil {
		return fmt.Errorf("the previous append-only file could not be finished: %w", a.err)
	}
	a.old, a.oldBuf, a.oldSize = a.file, a.buf, a.fileSize
	a.stopFill = a.extending // the fill writes zeros into the old file
	a.buf = nil
	a.file = next
	a.fileSize = 0
	a.entries = 0
	a.cond.Broadcast()
	select {
	case a.wake <- struct{}{}: // the writer finishes it if no waiter does
	default:
	}
	return nil
}

// finishOld finishes the file a rotation replaced: it cuts the zeros
// written ahead of its end, writes the entries that were buffered for it,
// fsyncs and closes it, with a.mu released during the I/O. a.mu must be
// held and a.writing set (flushLocked and close call it). Nothing is
// written to the current file before it succeeds, so the chain of files
// never has a gap: an entry of the new file reaches the disk only after
// every entry of the old one. On failure the old file is cut back to its
// last good size, a.err is set, and the next flush tries again.
func (a *aof) finishOld() error {
	for a.extending || a.syncing {
		a.cond.Wait()
	}
	f, data, off, out := a.old, a.oldBuf, a.oldSize, a.out
	err := a.cutZeros(f, off)
	a.mu.Unlock()
	if err == nil {
		err = out(f, data, false, off, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	a.mu.Lock()
	if err != nil {
		f.Truncate(off)
		f.Seek(off, 0)
		a.err = err
		return err
	}
	f.Close()
	a.old, a.oldBuf, a.oldSize = nil, nil, 0
	if len(data) > 0 {
		a.writes++
	}
	a.fsyncs++
	a.written += int64(len(data))
	a.synced = a.written // the current file has no byte yet
	return nil
}
