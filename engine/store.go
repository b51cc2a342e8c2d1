package engine

import (
	"bytes"
	"errors"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)

// ValidName reports whether name is a valid bucket or query name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Options configures a Store.
type Options struct {
	// Log receives the store's structured logs.
	Log zerolog.Logger
	// Now returns the time in Unix milliseconds; nil means the wall clock.
	Now func() int64
	// IDs generates uuid and cuid values; nil means random ones.
	IDs schema.IDGen
}

// Store holds the buckets. Its methods are safe for concurrent use.
type Store struct {
	log       zerolog.Logger
	now       func() int64
	ids       schema.IDGen
	observers []Observer
	journal   Journal

	// buckets is an immutable map replaced on every define and drop, so
	// that commands find their bucket without a shared lock.
	buckets atomic.Pointer[map[string]*Bucket]
	// defMu serialises definition changes (define, drop, alter).
	defMu sync.Mutex
	// lastID is the creation number of the last bucket installed (see
	// Bucket.id); s.defMu guards it.
	lastID uint64

	expired atomic.Int64 // records deleted because they expired
	evicted atomic.Int64 // records deleted by maxSize eviction
	skipped atomic.Int64 // replicated changes skipped as held already (ApplyReplicated)
	reads   readGuard    // read-time-limit and its counters (readlimit.go)
	slots   scanSlots    // long frozen reads under way (pace.go)
	loading atomic.Bool  // between BeginLoad and FinishLoad (load.go)
}

// Expired returns how many records expiry has deleted since start.
func (s *Store) Expired() int64 { return s.expired.Load() }

// Evicted returns how many records maxSize eviction has deleted since start.
func (s *Store) Evicted() int64 { return s.evicted.Load() }

// New returns an empty store.
func New(opts Options) *Store {
	s := &Store{log: opts.Log, now: opts.Now, ids: opts.IDs}
	if s.now == nil {
		s.now = func() int64 { return time.Now().UnixMilli() }
	}
	if s.ids == nil {
		s.ids = schema.DefaultIDGen
	}
	m := map[string]*Bucket{}
	s.buckets.Store(&m)
	return s
}

// AddObserver registers o to receive every committed change. Call it before
// the store is used.
func (s *Store) AddObserver(o Observer) { s.observers = append(s.observers, o) }

// SetJournal makes j the store's journal (the append-only file; nil:
// none). Call it before the store is used, or inside the during function
// of Capture, where no commit or definition change can run (CONFIG SET
// appendonly at run time).
func (s *Store) SetJournal(j Journal) { s.journal = j }

// Now returns the store's clock in Unix milliseconds.
func (s *Store) Now() int64 { return s.now() }

func (s *Store) snapshot() map[string]*Bucket { return *s.buckets.Load() }

// lookup returns the bucket of that name.
func (s *Store) lookup(name string) (*Bucket, error) {
	if b := s.snapshot()[name]; b != nil {
		return b, nil
	}
	return nil, &NoBucketError{Bucket: name}
}

// lockBucket finds the bucket of that name and locks it, exclusively when
// write is set, else for reading (see acquire). The error is a
// NoBucketError when it is not defined or was dropped meanwhile; on success
// the caller unlocks b.mu. A busy long transaction's bucket fails with a
// BusyError (see long.go).
func (s *Store) lockBucket(name string, write bool) (*Bucket, error) {
	b := s.snapshot()[name]
	if b == nil {
		return nil, &NoBucketError{Bucket: name}
	}
	if err := b.acquire(write); err != nil {
		return nil, err
	}
	return b, nil
}

// Define creates a bucket. Defining an existing bucket again with an
// identical definition succeeds and changes nothing; with a different one
// it fails with BucketExistsError.
func (s *Store) Define(name string, definition []byte) error {
	if !ValidName(name) {
		return argErrorf("invalid bucket name %q: names match ^[A-Za-z_][A-Za-z0-9_-]{0,127}$", name)
	}
	def, err := schema.Parse(definition)
	if err != nil {
		return definitionError(err)
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	old := s.snapshot()
	if b := old[name]; b != nil {
		b.mu.RLock()
		same := bytes.Equal(b.def.JSON(), def.JSON())
		b.mu.RUnlock()
		if same {
			return nil
		}
		return &BucketExistsError{Bucket: name}
	}
	if s.journal != nil {
		if err := s.journal.LogDefine(name, def.JSON(), false); err != nil {
			return &DurabilityError{Err: err}
		}
	}
	s.install(name, newBucket(name, def))
	return nil
}

// install publishes a new bucket map with b added. s.defMu must be held.
func (s *Store) install(name string, b *Bucket) {
	s.lastID++
	b.id = s.lastID
	old := s.snapshot()
	m := make(map[string]*Bucket, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = b
	s.buckets.Store(&m)
}

// Drop removes a bucket with its records and indexes. It reports whether
// the bucket existed; it fails only when the journal refuses the drop.
func (s *Store) Drop(name string) (bool, error) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	old := s.snapshot()
	b := old[name]
	if b == nil {
		return false, nil
	}
	if s.journal != nil {
		if err := s.journal.LogDrop(name); err != nil {
			return false, &DurabilityError{Err: err}
		}
	}
	s.unlink(old, name, b)
	return true, nil
}

// DropReplicated drops a bucket as the leader did (a replicated node's
// apply: docs/replication.md), without the journal. It reports whether the
// bucket existed.
func (s *Store) DropReplicated(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	old := s.snapshot()
	b := old[name]
	if b == nil {
		return false
	}
	s.unlink(old, name, b)
	return true
}

// unlink publishes the bucket map without b and empties b. s.defMu must be
// held.
func (s *Store) unlink(old map[string]*Bucket, name string, b *Bucket) {
	m := make(map[string]*Bucket, len(old))
	for k, v := range old {
		if k != name {
			m[k] = v
		}
	}
	s.buckets.Store(&m)
	b.mu.Lock()
	b.dropped = true
	b.setState(newState(b.def))
	b.mu.Unlock()
}

// List returns the bucket names, sorted.
func (s *Store) List() []string {
	all := s.snapshot()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Definition returns a bucket's definition.
func (s *Store) Definition(name string) (*schema.Definition, error) {
	b, err := s.lockBucket(name, false)
	if err != nil {
		return nil, err
	}
	defer b.mu.RUnlock()
	return b.def, nil
}

// BucketInfo describes a bucket for BUCKET.INFO, STORE.STATS and INFO.
type BucketInfo struct {
	Name        string
	Definition  *schema.Definition
	Records     int
	Indexes     []IndexInfo
	MemoryBytes int64
	Counter     int64
	EventSeq    uint64
	// Expiring counts the visible records that have an _expiresAt, and
	// AvgTTL is their average remaining lifetime in ms.
	Expiring int
	AvgTTL   int64
}

// IndexInfo describes one index of a bucket.
type IndexInfo struct {
	Field       string
	Kind        string // "secondary" or "unique"
	Entries     int
	Distinct    int
	MemoryBytes int64
}

// Info returns a bucket's figures. Records counts the records visible now.
func (s *Store) Info(name string) (BucketInfo, error) { return s.InfoIn(nil, name) }

// InfoIn is Info inside t, when t is not nil (a script's BUCKET.INFO):
// the figures include t's own writes.
// A failed bucket still answers (supervise.go).
func (s *Store) InfoIn(t *Tx, name string) (BucketInfo, error) {
	if t != nil && t.hold == "" {
		b, err := t.bucket(name)
		if err != nil {
			return BucketInfo{}, err
		}
		return b.info(t.now), nil
	}
	b, err := s.lockBucket(name, false)
	if err != nil {
		return BucketInfo{}, err
	}
	defer b.mu.RUnlock()
	return b.info(s.Now()), nil
}

// info returns b's figures at time now. b.mu must be held.
func (b *Bucket) info(now int64) BucketInfo {
	info := BucketInfo{
		Name:       b.name,
		Definition: b.def,
		Records:    b.countVisible(now),
		Counter:    b.counter,
		EventSeq:   b.eventSeq,
	}
	var ttlSum int64
	b.st.byExp.Scan(func(e *entry) bool {
		if !e.rec.expired(now) {
			info.Expiring++
			ttlSum += e.rec.ExpiresAt - now
		}
		return true
	})
	if info.Expiring > 0 {
		info.AvgTTL = ttlSum / int64(info.Expiring)
	}
	mem := b.st.bytes + int64(b.st.len())*48 // key map and order tree slots
	for _, f := range b.def.Indexes {
		ix := b.st.indexes[f]
		m := ix.MemoryBytes()
		mem += m
		info.Indexes = append(info.Indexes, IndexInfo{Field: f, Kind: "secondary", Entries: ix.Len(), Distinct: ix.Distinct(), MemoryBytes: m})
	}
	for _, f := range b.def.UniqueFields() {
		u := b.st.uniques[f]
		m := u.MemoryBytes()
		mem += m
		info.Indexes = append(info.Indexes, IndexInfo{Field: f, Kind: "unique", Entries: u.Len(), Distinct: u.Len(), MemoryBytes: m})
	}
	info.MemoryBytes = mem
	return info
}

// Alter changes a bucket's definition (BUCKET.ALTER): new fields, new
// indexes, a new TTL for records inserted from now on. Existing records are
// kept as they are; new indexes are built over them. A new unique field
// that existing records already hold twice is refused.
func (s *Store) Alter(name string, changes []byte) error {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	b, err := s.lockBucket(name, true)
	if err != nil {
		return err
	}
	defer b.mu.Unlock()
	def, err := b.def.Alter(changes)
	if err != nil {
		return definitionError(err)
	}
	st := newState(def)
	var uerr error
	b.st.bySeq.Scan(func(e *entry) bool {
		for f, u := range st.uniques {
			if v, ok := e.rec.Get(f); ok {
				if _, dup := u.Get(v); dup {
					uerr = argErrorf("cannot make field %q unique: value %s is held by more than one record", f, quoteValue(v))
					return false
				}
				u.Set(v, e)
			}
		}
		return true
	})
	if uerr != nil {
		return uerr
	}
	if s.journal != nil {
		if err := s.journal.LogDefine(name, def.JSON(), true); err != nil {
			return &DurabilityError{Err: err}
		}
	}
	b.redefine(def)
	return nil
}

// redefine gives b a new definition and rebuilds its structures (indexes
// included) over its records, in insertion order. b.mu must be held for
// writing.
func (b *Bucket) redefine(def *schema.Definition) {
	old := b.st
	b.def = def
	b.defNow.Store(def)
	b.setState(b.newStateFor())
	old.bySeq.Scan(func(e *entry) bool {
		b.addEntry(nil, e)
		return true
	})
}

// Check verifies every bucket's invariants (indexes agree with records). It
// returns the first disagreement found.
func (s *Store) Check() error {
	for _, name := range s.List() {
		b, err := s.lockBucket(name, false)
		if err != nil {
			continue // dropped meanwhile
		}
		err = b.check()
		b.mu.RUnlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// definitionError keeps JSON syntax errors as they are (the reply then says
// "invalid JSON") and makes other definition errors plain arguments errors.
func definitionError(err error) error {
	var syn *jsonv.SyntaxError
	if errors.As(err, &syn) {
		return syn
	}
	return &ArgError{Msg: err.Error()}
}
