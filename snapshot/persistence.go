package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"bucketd/engine"
)

// Options configures persistence.
type Options struct {
	// Dir holds the manifest, the snapshot and the append-only files.
	Dir string
	// Fsync is the appendfsync policy: FsyncAlways, FsyncEverySec or
	// FsyncNo.
	Fsync string
	// Log receives structured logs.
	Log zerolog.Logger
	// AutoRewriteMinSize and AutoRewritePercent trigger an automatic
	// rewrite when the append-only file has passed the size and grown by
	// the percentage over the last snapshot (Redis's
	// auto-aof-rewrite-min-size and auto-aof-rewrite-percentage, 64mb and
	// 100 by default). A percentage of 0 turns automatic rewrites off.
	// SetAutoRewrite changes them later.
	AutoRewriteMinSize int64
	AutoRewritePercent int64
	// Now is the clock in Unix milliseconds (nil: the wall clock).
	Now func() int64
	// Functions reads and restores the function libraries (zero: none).
	Functions Functions
	// HugePages lets the load lay its heap on huge pages where the system
	// gives them on request (load-huge-pages; see adviseLoad).
	HugePages bool
}

// Queries is how persistence reads and restores the reactive query
// definitions, which live outside the engine.
type Queries struct {
	// List returns every definition, sorted by name.
	List func() []NamedDef
	// Restore defines a query (definition nil: drops it), without
	// side effects.
	Restore func(name string, definition []byte) error
}

// Functions is how persistence reads and restores the function libraries,
// which live outside the engine, as one payload (FUNCTION DUMP's).
type Functions struct {
	// Dump returns every library.
	Dump func() []byte
	// Restore replaces every library with those of payload.
	Restore func(payload []byte) error
}

// ErrRewriteInProgress is returned when a rewrite is asked for while one
// runs. Its text is Redis's, capital included, as clients match on it.
//
//lint:ignore ST1005 Redis's exact error text
var ErrRewriteInProgress = errors.New("Background append only file rewriting already in progress")

// Persistence keeps the store on disk: it loads it at start-up and logs
// every commit to the append-only file.
type Persistence struct {
	opts    Options
	store   *engine.Store
	queries Queries
	aof     *aof
	log     zerolog.Logger

	// mu guards the fields below; it also orders query definition logging
	// with rotation. Lock order: engine locks, then mu, then aof.mu.
	mu            sync.Mutex
	man           *manifest
	rewriting     bool
	closing       bool // Close has begun: no rewrite starts but its own
	lastSave      time.Time
	lastStatus    string
	lastRewriteMs int64
	// The data files' sizes, as Redis 7 counts them for automatic
	// rewrites (rewriteDue): snapSize is the snapshot's, olderSize that
	// of the append-only files before the current one (a rewrite under
	// way, or one whose switch failed); baseSize is the sum of every
	// data file at the last start-up or rewrite.
	snapSize, olderSize, baseSize int64
	loadedRecords                 int64
	loadTime                      time.Duration
	indexTime                     time.Duration         // of loadTime, building the indexes
	hugeAdvised                   int64                 // bytes of heap advised for huge pages during the load
	dec                           *engine.RecordDecoder // apply's, at start-up and in bucketd check

	// autoMin and autoPct are Options.AutoRewriteMinSize and
	// AutoRewritePercent as SetAutoRewrite last set them.
	autoMin, autoPct atomic.Int64
	savePoints       atomic.Pointer[[]SavePoint] // Redis's save points (SetSavePoints)

	wg   sync.WaitGroup
	stop chan struct{}
	lock *DirLock // the data directory's, held from Open to Close
}

// Open loads the data under opts.Dir into store and queries, then starts
// logging changes. A torn last entry of the last append-only file is cut
// off with a warning; any other damage is an error that names the file and
// the offset, and nothing is served.
func Open(store *engine.Store, queries Queries, opts Options) (*Persistence, error) {
	p, err := newPersistence(store, queries, opts)
	if err != nil {
		return nil, err
	}
	if err := p.load(); err != nil {
		p.lock.Unlock()
		return nil, err
	}
	p.wg.Add(1)
	go p.autoRewrite()
	p.log.Info().Str("dir", opts.Dir).Int64("records", p.loadedRecords).Dur("took", p.loadTime).Dur("indexes_took", p.indexTime).
		Int64("huge_pages_advised", p.hugeAdvised).
		Str("appendfsync", opts.Fsync).Msg("data loaded")
	return p, nil
}

// newPersistence returns a Persistence of store over opts.Dir, whose lock
// it holds (Open and Start go on from there).
func newPersistence(store *engine.Store, queries Queries, opts Options) (*Persistence, error) {
	if opts.Now == nil {
		opts.Now = func() int64 { return time.Now().UnixMilli() }
	}
	p := &Persistence{opts: opts, store: store, queries: queries, log: opts.Log, lastStatus: "ok", stop: make(chan struct{})}
	p.SetAutoRewrite(opts.AutoRewriteMinSize, opts.AutoRewritePercent)
	lock, err := LockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	p.lock = lock
	return p, nil
}

// load checks the directory against the manifest, removes what a crash
// left behind, loads the data and opens the append-only file.
func (p *Persistence) load() error {
	opts, store := p.opts, p.store
	start := time.Now()
	man, err := readManifest(opts.Dir)
	if err != nil {
		return err
	}
	leftovers, err := checkDir(opts.Dir, man)
	if err != nil {
		return err
	}
	for _, name := range leftovers {
		if err := os.Remove(filepath.Join(opts.Dir, name)); err != nil {
			p.log.Warn().Err(err).Str("file", name).Msg("cannot remove a file left by an earlier crash")
		} else {
			p.log.Info().Str("file", name).Msg("removed a file left by an earlier crash or rewrite")
		}
	}
	fresh := man == nil
	if fresh {
		man = &manifest{Version: 1, Generation: 1, AOF: []string{aofName(1)}}
	}
	p.man = man
	if opts.HugePages && !fresh {
		advised, done := adviseLoad(heapEstimate(opts.Dir, man))
		defer done()
		p.hugeAdvised = advised
	}
	store.BeginLoad()
	if man.Snapshot != "" {
		if err := p.loadSnapshot(filepath.Join(opts.Dir, man.Snapshot)); err != nil {
			return err
		}
		if st, err := os.Stat(filepath.Join(opts.Dir, man.Snapshot)); err == nil {
			p.snapSize = st.Size()
		}
	}
	lastData := lastWithData(opts.Dir, man.AOF)
	var size int64
	for i, name := range man.AOF {
		if fresh {
			break // nothing to load; the file is created below
		}
		n, err := p.loadAOF(filepath.Join(opts.Dir, name), i >= lastData)
		if err != nil {
			return err
		}
		size = n
	}
	ixStart := time.Now()
	store.FinishLoad(runtime.GOMAXPROCS(0))
	p.indexTime = time.Since(ixStart)
	p.loadedRecords = 0
	for _, name := range store.List() {
		if info, err := store.Info(name); err == nil {
			p.loadedRecords += int64(info.Records)
		}
	}
	p.loadTime = time.Since(start)
	// Not O_APPEND: the zeros a fill writes past the end (preallocChunk)
	// are written over, from the end the load found.
	f, err := os.OpenFile(filepath.Join(opts.Dir, man.AOF[len(man.AOF)-1]), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	if fresh {
		if err := writeManifest(opts.Dir, man); err != nil {
			f.Close()
			return err
		}
	}
	for _, name := range man.AOF[:len(man.AOF)-1] {
		if st, err := os.Stat(filepath.Join(opts.Dir, name)); err == nil {
			p.olderSize += st.Size()
		}
	}
	p.baseSize = p.snapSize + p.olderSize + size
	p.aof = newAOF(f, size, opts.Fsync, p.log)
	store.SetJournal(p.aof)
	return nil
}

// heapEstimate returns the heap that loading the files of man is expected
// to need (adviseLoad): a million of bench/persist's records took 7 bytes
// of heap a byte of snapshot and 2.1 a byte of append-only file; 8 and 3
// leave room for the load's garbage. Too much costs nothing: pages never
// touched are never resident.
func heapEstimate(dir string, man *manifest) int64 {
	size := func(name string) int64 {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return st.Size()
		}
		return 0
	}
	var n int64
	if man.Snapshot != "" {
		n += snapshotHeapFactor * size(man.Snapshot)
	}
	for _, name := range man.AOF {
		n += aofHeapFactor * size(name)
	}
	return n
}

// The heap a byte of each kind of file is expected to take once loaded
// (heapEstimate).
const (
	snapshotHeapFactor = 8
	aofHeapFactor      = 3
)

func (p *Persistence) loadSnapshot(path string) error {
	data, release, err := readData(path)
	if err != nil {
		return fmt.Errorf("reading snapshot: %w", err)
	}
	defer release()
	r := NewReader(data, path)
	l := p.newLoader(path)
	err = p.readSnapshot(r, l)
	if lerr := l.close(); lerr != nil {
		return lerr // earlier in the file than err
	}
	return err
}

// readSnapshot reads the entries of a snapshot into l.
func (p *Persistence) readSnapshot(r *Reader, l *loader) error {
	path := r.file
	entries := 0
	ended := false
	for {
		at := r.Offset()
		ops, err := r.Next()
		if err == ErrTorn {
			return &CorruptError{File: path, Offset: r.Offset(), Msg: "snapshot ends in the middle of an entry"}
		}
		if err != nil {
			return err
		}
		if ops == nil {
			break
		}
		if ended {
			return &CorruptError{File: path, Offset: at, Msg: "data after the END entry"}
		}
		if entries == 0 && (string(ops[0][0]) != opSnapshot || len(ops[0]) < 2 || !knownFormat(string(ops[0][1]))) {
			return &CorruptError{File: path, Offset: at, Msg: "not a bucketd snapshot (format version 1 or 2)"}
		}
		if string(ops[0][0]) == opEnd {
			if len(ops[0]) != 2 || string(ops[0][1]) != strconv.Itoa(entries) {
				return &CorruptError{File: path, Offset: at, Msg: "END entry does not match the number of entries"}
			}
			ended = true
			entries++
			continue
		}
		if err := l.add(at, ops); err != nil {
			return err
		}
		entries++
	}
	if !ended {
		return &CorruptError{File: path, Offset: r.Offset(), Msg: "snapshot has no END entry"}
	}
	return nil
}

// loadAOF replays one append-only file and returns its size after any
// repair: the zeros that preallocation left after its entries are cut off
// (dataEnd), and so are a torn last entry and a lost last write
// (lostWrite), in the last file only.
func (p *Persistence) loadAOF(path string, last bool) (int64, error) {
	data, release, err := readData(path)
	if err != nil {
		return 0, fmt.Errorf("reading append-only file: %w", err)
	}
	defer release()
	end := dataEnd(data)
	r := NewReader(data[:end], path)
	l := p.newLoader(path)
	for {
		at := r.Offset()
		ops, err := r.Next()
		if err == nil && ops != nil {
			if err := l.add(at, ops); err != nil {
				l.close()
				return 0, err
			}
			continue
		}
		// The entries before this point are applied first: an error among
		// them comes before this one in the file.
		if lerr := l.close(); lerr != nil {
			return 0, lerr
		}
		switch {
		case err == ErrTorn && !last:
			return 0, &CorruptError{File: path, Offset: at, Msg: "incomplete entry in a closed append-only file"}
		case err == ErrTorn:
			p.log.Warn().Str("file", path).Int64("offset", at).Int("bytes_cut", len(data)-int(at)).
				Msg("append-only file ends with a torn entry (crash during a write); cutting it off")
			return at, cutFile(path, at)
		case err != nil && last && lostWrite(data, int(at), end):
			p.log.Warn().Str("file", path).Int64("offset", at).Int("bytes_cut", len(data)-int(at)).
				Msg("append-only file's last writes did not all reach the disk (a power cut): cutting them off")
			return at, cutFile(path, at)
		case err != nil:
			return 0, err
		}
		if end < len(data) {
			p.log.Info().Str("file", path).Int("zero_bytes", len(data)-end).
				Msg("append-only file was not closed: cutting off the zeros written ahead of its end")
			return int64(end), cutFile(path, int64(end))
		}
		return int64(end), nil
	}
}

// cutFile truncates the file at path to size and makes that durable.
func cutFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func arg(op Op, i int) ([]byte, error) {
	if i >= len(op) {
		return nil, fmt.Errorf("%s: missing argument %d", op[0], i)
	}
	return op[i], nil
}

func argInt(op Op, i int) (int64, error) {
	a, err := arg(op, i)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(a), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: bad number %q", op[0], a)
	}
	return n, nil
}

// apply replays the operations of one entry, decoding its records here
// (the loader decodes them in parallel and calls applyOps).
func (p *Persistence) apply(ops []Op) error {
	if p.dec == nil {
		p.dec = p.store.NewRecordDecoder()
	}
	recs, err := decodeOps(p.dec, ops)
	if err != nil {
		return err
	}
	return p.applyOps(ops, recs)
}

// applyOps replays the operations of one entry; recs[i] holds the decoded
// records of ops[i] when it is a PUT or RECORDS (decodeOps).
func (p *Persistence) applyOps(ops []Op, recs [][]*engine.Record) error {
	s := p.store
	records := func(i int) ([]*engine.Record, error) {
		if i >= len(recs) || recs[i] == nil {
			return nil, errNoRecords
		}
		return recs[i], nil
	}
	// The operations may point into a mapped file that is unmapped after
	// loading (readData): what is kept is copied.
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return err
		}
		var err error
		switch string(op[0]) {
		case opSnapshot:
		case opDefine, opAlter:
			err = s.RestoreDefine(string(op[1]), bytes.Clone(op[2]))
		case opDrop:
			s.RestoreDrop(string(op[1]))
		case opBucket:
			if err = s.RestoreDefine(string(op[1]), bytes.Clone(op[2])); err == nil {
				counter, e1 := argInt(op, 3)
				seq, e2 := argInt(op, 4)
				if err = errors.Join(e1, e2); err == nil {
					err = s.RestoreCounters(string(op[1]), counter, uint64(seq))
				}
			}
			if err == nil && len(op) == 6 {
				var n int64
				if n, err = argInt(op, 5); err == nil {
					err = s.RestoreReserve(string(op[1]), int(n))
				}
			}
		case opRecords:
			var rs []*engine.Record
			if rs, err = records(i); err == nil {
				err = s.RestoreRecords(string(op[1]), rs, true) // a snapshot holds each key once
			}
		case opPut:
			var rs []*engine.Record
			if rs, err = records(i); err != nil {
				break
			}
			switch len(op) {
			case 3: // snapshot form (format version 1)
				err = s.RestoreRecords(string(op[1]), rs, false)
			default:
				seq, e1 := argInt(op, 2)
				counter, e2 := argInt(op, 3)
				if err = errors.Join(e1, e2); err == nil {
					if err = s.RestoreRecords(string(op[1]), rs, false); err == nil {
						err = s.RestoreCounters(string(op[1]), counter, uint64(seq))
					}
				}
			}
		case opDel:
			var seq int64
			if seq, err = argInt(op, 2); err == nil {
				if err = s.RestoreDelete(string(op[1]), op[3]); err == nil {
					err = s.RestoreCounters(string(op[1]), -1, uint64(seq))
				}
			}
		case opClear:
			var seq int64
			if seq, err = argInt(op, 2); err == nil {
				if err = s.RestoreClear(string(op[1])); err == nil {
					err = s.RestoreCounters(string(op[1]), -1, uint64(seq))
				}
			}
		case opQuery, opQDefine:
			if p.queries.Restore != nil {
				err = p.queries.Restore(string(op[1]), bytes.Clone(op[2]))
			}
		case opQDrop:
			if p.queries.Restore != nil {
				err = p.queries.Restore(string(op[1]), nil)
			}
		case opFuncs:
			if p.opts.Functions.Restore != nil {
				err = p.opts.Functions.Restore(bytes.Clone(op[1]))
			}
		default: // END, which only the snapshot loader reads
			return fmt.Errorf("%s out of place", op[0])
		}
		if err != nil {
			return err
		}
	}
	return nil
}
