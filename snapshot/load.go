package snapshot

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"bucketd/engine"
)

// Loading uses every core (docs/persistence.md, "Start-up"). The file is
// read and its entries checked (checksums, framing) in order by the
// caller of loader.add; the records of the entries, which cost most, are
// decoded by decoders in parallel, a batch of entries each; one applier
// applies the batches in file order. An entry that changes definitions
// (DEFINE, ALTER, DROP, BUCKET) is a barrier: it waits for every batch
// before it and is applied by the reader itself, so that the records after
// it are decoded under the definition they were written with.

// batch is a run of entries decoded together.
type batch struct {
	entries []loadEntry
	records int // record operations in the batch, for its size
	ready   chan struct{}
}

// loadEntry is one entry with what its record operations decode to.
type loadEntry struct {
	at   int64 // offset in the file, for errors
	ops  []Op
	recs [][]*engine.Record // recs[i]: the records of ops[i] (PUT, RECORDS)
	err  error              // the decoding error, if any
}

// batchRecords is how many record operations a batch gathers before it is
// decoded (a RECORDS operation counts as snapshotBatch).
const batchRecords = 1024

// loader replays the entries of one file.
type loader struct {
	p       *Persistence
	file    string
	cur     *batch
	work    chan *batch
	queue   chan *batch
	pending sync.WaitGroup // batches queued and not yet applied
	workers sync.WaitGroup
	failed  atomic.Bool
	errMu   sync.Mutex
	err     error // the first error, in file order
}

func (p *Persistence) newLoader(file string) *loader {
	l := &loader{p: p, file: file, work: make(chan *batch, 8), queue: make(chan *batch, 64)}
	n := runtime.GOMAXPROCS(0)
	for range n {
		l.workers.Add(1)
		go l.decoder()
	}
	l.workers.Add(1)
	go l.applier()
	return l
}

// decoder decodes the record operations of the batches it is given.
func (l *loader) decoder() {
	defer l.workers.Done()
	dec := l.p.store.NewRecordDecoder()
	for b := range l.work {
		for i := range b.entries {
			e := &b.entries[i]
			if !l.failed.Load() {
				e.recs, e.err = decodeOps(dec, e.ops)
			}
		}
		close(b.ready)
	}
}

// applier applies the batches in order.
func (l *loader) applier() {
	defer l.workers.Done()
	for b := range l.queue {
		<-b.ready
		for i := range b.entries {
			if l.failed.Load() {
				break
			}
			e := &b.entries[i]
			err := e.err
			if err == nil {
				err = l.p.applyOps(e.ops, e.recs)
			}
			if err != nil {
				l.fail(&CorruptError{File: l.file, Offset: e.at, Msg: err.Error()})
			}
		}
		l.pending.Done()
	}
}

func (l *loader) fail(err error) {
	l.errMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.errMu.Unlock()
	l.failed.Store(true)
}

// add queues an entry read at offset at. It returns the first error met so
// far (the caller then stops reading).
func (l *loader) add(at int64, ops []Op) error {
	if l.failed.Load() {
		return l.wait()
	}
	if barrier(ops) {
		if err := l.wait(); err != nil {
			return err
		}
		if err := l.p.apply(ops); err != nil {
			l.fail(&CorruptError{File: l.file, Offset: at, Msg: err.Error()})
			return l.err
		}
		return nil
	}
	if l.cur == nil {
		l.cur = &batch{ready: make(chan struct{})}
	}
	l.cur.entries = append(l.cur.entries, loadEntry{at: at, ops: ops})
	for _, op := range ops {
		switch string(op[0]) {
		case opPut:
			l.cur.records++
		case opRecords:
			l.cur.records += snapshotBatch
		}
	}
	if l.cur.records >= batchRecords || len(l.cur.entries) >= batchRecords {
		l.flush()
	}
	return nil
}

// flush hands the current batch to the decoders and the applier.
func (l *loader) flush() {
	if l.cur == nil {
		return
	}
	b := l.cur
	l.cur = nil
	l.pending.Add(1)
	l.queue <- b
	if b.records == 0 {
		close(b.ready)
		return
	}
	l.work <- b
}

// wait applies everything queued and returns the first error.
func (l *loader) wait() error {
	l.flush()
	l.pending.Wait()
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// close waits for everything queued, stops the goroutines and returns the
// first error.
func (l *loader) close() error {
	err := l.wait()
	close(l.work)
	close(l.queue)
	l.workers.Wait()
	return err
}

// barrier reports whether an entry changes a definition, which the
// decoding of later entries depends on.
func barrier(ops []Op) bool {
	for _, op := range ops {
		switch string(op[0]) {
		case opDefine, opAlter, opDrop, opBucket:
			return true
		}
	}
	return false
}

// decodeOps decodes the records of an entry's PUT and RECORDS operations.
func decodeOps(dec *engine.RecordDecoder, ops []Op) ([][]*engine.Record, error) {
	var out [][]*engine.Record
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return nil, err
		}
		var recs []*engine.Record
		switch string(op[0]) {
		case opPut:
			rec, err := dec.DecodeJSON(string(op[1]), putRecord(op))
			if err != nil {
				return nil, err
			}
			recs = []*engine.Record{rec}
		case opRecords:
			var err error
			if recs, err = dec.DecodeRecords(string(op[1]), op[2]); err != nil {
				return nil, err
			}
		default:
			continue
		}
		if out == nil {
			out = make([][]*engine.Record, len(ops))
		}
		out[i] = recs
	}
	return out, nil
}

// putRecord is a PUT's record: its third word in a snapshot of format 1,
// its fifth in a commit (a sixth, the reason, may follow).
func putRecord(op Op) []byte {
	if len(op) >= 5 {
		return op[4]
	}
	return op[2]
}

// errNoRecords reports a record operation that reached applyOps without
// its decoded records.
var errNoRecords = errors.New("record operation not decoded")
