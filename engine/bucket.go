package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"

	"bucketd/engine/index"
	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// entry is a record's slot in its bucket. The slot outlives updates (its
// record pointer is replaced), so indexes point at slots, except while a
// reader walks a frozen copy of the bucket: then an update links a new slot
// in its place (see replaceRecord), so that the reader keeps seeing the
// record the slot held.
type entry struct {
	rec *Record
	seq uint64 // insertion position, unique and increasing within a bucket
}

func entrySeq(e *entry) uint64 { return e.seq }

// fieldOf returns the function giving the value of field f in an entry's
// record, which an index reads its items' values with (index.New).
func fieldOf(f string) func(e *entry) jsonv.Value {
	return func(e *entry) jsonv.Value {
		v, _ := e.rec.Get(f)
		return v
	}
}

func lessSeq(a, b *entry) bool { return a.seq < b.seq }

func lessKey(a, b *entry) bool { return jsonv.Compare(a.rec.Key(), b.rec.Key()) < 0 }

func lessExpiry(a, b *entry) bool {
	if a.rec.ExpiresAt != b.rec.ExpiresAt {
		return a.rec.ExpiresAt < b.rec.ExpiresAt
	}
	return a.seq < b.seq
}

var treeOpts = btree.Options{NoLocks: true}

// state is everything a bucket holds about its records. B.CLEAR swaps in a
// fresh state, so a rollback can swap the old one back.
type state struct {
	strKeys *strKeyMap         // string keys
	numKeys map[float64]*entry // number keys
	bySeq   *btree.BTreeG[*entry]
	byKey   *btree.BTreeG[*entry] // ordered buckets only
	byExp   *btree.BTreeG[*entry] // records with an _expiresAt
	indexes map[string]*index.Index[*entry]
	uniques map[string]*index.Unique[*entry]
	// ixList and uqList hold the same indexes in schema order, for the
	// writes that visit them all (a map range costs more).
	ixList []fieldIndex
	uqList []fieldUnique
	bytes  int64 // estimated heap bytes of the records
}

// fieldIndex is a secondary index and its field.
type fieldIndex struct {
	field string
	ix    *index.Index[*entry]
}

// fieldUnique is a unique index and its field.
type fieldUnique struct {
	field string
	u     *index.Unique[*entry]
}

func newState(def *schema.Definition) *state {
	st := &state{
		bySeq:   btree.NewBTreeGOptions(lessSeq, treeOpts),
		byExp:   btree.NewBTreeGOptions(lessExpiry, treeOpts),
		indexes: make(map[string]*index.Index[*entry]),
		uniques: make(map[string]*index.Unique[*entry]),
	}
	if def.Field(def.Key).Type == "number" {
		st.numKeys = make(map[float64]*entry)
	} else {
		st.strKeys = newStrKeyMap(0)
	}
	if def.Ordered {
		st.byKey = btree.NewBTreeGOptions(lessKey, treeOpts)
	}
	for _, f := range def.Indexes {
		ix := index.New(entrySeq, fieldOf(f))
		st.indexes[f] = ix
		st.ixList = append(st.ixList, fieldIndex{f, ix})
	}
	for _, f := range def.UniqueFields() {
		u := index.NewUnique[*entry]()
		st.uniques[f] = u
		st.uqList = append(st.uqList, fieldUnique{f, u})
	}
	return st
}

func (st *state) len() int {
	if st.numKeys != nil {
		return len(st.numKeys)
	}
	return st.strKeys.len()
}

func (st *state) get(key jsonv.Value) *entry {
	switch k := key.(type) {
	case string:
		if st.strKeys != nil {
			return st.strKeys.get(k)
		}
	case float64:
		if st.numKeys != nil {
			return st.numKeys[k]
		}
	}
	return nil
}

// Bucket is a named collection of records with its schema and indexes. It
// is the unit of concurrency: writes to one bucket are serialised by its
// lock, and buckets work in parallel.
type Bucket struct {
	name string
	id   uint64 // creation number, from 1, for SCAN's cursor (keyspace.go)

	// mu guards every field below. Transactions lock several buckets in
	// the order of their names.
	mu       sync.RWMutex
	def      *schema.Definition
	st       *state
	counter  int64  // autoincrement counter
	nextSeq  uint64 // next insertion position
	eventSeq uint64 // last event sequence number published
	dropped  bool
	watched  map[any]*watchEntry // keys watched by WATCH tokens
	shape    *shape              // of the last record built, shared by the records with its field names

	// defNow and lastShape are def and shape for readers without the
	// lock (Store.Draft); they are set with them.
	defNow    atomic.Pointer[schema.Definition]
	lastShape atomic.Pointer[shape]

	sup supervision

	long atomic.Pointer[longMark] // set while a long transaction holds the bucket (long.go)

	// frozenTree is a copy of the order tree taken for readers since the
	// last write (nil: none), shared by the readers until a write drops it.
	// Readers set it holding b.mu for reading and frozenMu; writers drop it
	// holding b.mu for writing. readers counts the readers walking a copy
	// (see frozen).
	frozenMu   sync.Mutex
	frozenTree *btree.BTreeG[*entry]
	readers    atomic.Int64
	pause      scanPause // DEBUG SCAN-PAUSE (debugpause.go)

	// deferIx is set while a bulk load defers the bucket's indexes, and
	// loadShapes shares its records' shapes among the load's decoders
	// (load.go).
	deferIx    bool
	loadShapes loadShapes

	// commits counts the commits that changed the bucket, for Version. It
	// moves under the write lock, before the observers are called.
	commits atomic.Uint64
}

func newBucket(name string, def *schema.Definition) *Bucket {
	b := &Bucket{name: name, def: def, st: newState(def)}
	b.defNow.Store(def)
	return b
}

// Name returns the bucket's name.
func (b *Bucket) Name() string { return b.name }

// orderTree returns the tree that gives the bucket's order: by key for
// ordered buckets, by insertion otherwise. b.mu must be held.
func (b *Bucket) orderTree() *btree.BTreeG[*entry] {
	if b.st.byKey != nil {
		return b.st.byKey
	}
	return b.st.bySeq
}

// Frozen reads (docs/commands.md, "Reads and writes"). A reader that goes
// on without the bucket's lock takes, under the lock, a copy of the order
// tree or its index candidates, and counts itself in b.readers until it is
// done (enter and leave). The copy costs O(1): the B-tree shares its nodes
// and a later write clones the nodes it changes (copy-on-write). The slots
// the copy holds are kept as they were by the rule of replaceRecord: while
// b.readers is not zero, no slot's record is changed in place. The
// frozen-read tests (frozen_test.go) hold the rule.

// frozen returns an immutable copy of the order tree. Readers share one
// copy until the next write. b.mu must be held for reading or writing, and
// the caller must have called enter.
func (b *Bucket) frozen() *btree.BTreeG[*entry] {
	b.frozenMu.Lock()
	defer b.frozenMu.Unlock()
	if b.frozenTree == nil {
		b.frozenTree = b.orderTree().Copy()
	}
	return b.frozenTree
}

// frozenBySeq is frozen for the insertion-order tree, which a snapshot for
// persistence reads whatever the bucket's order. b.mu must be held for
// reading or writing.
func (b *Bucket) frozenBySeq() *btree.BTreeG[*entry] {
	if b.st.byKey == nil {
		return b.frozen()
	}
	b.frozenMu.Lock()
	defer b.frozenMu.Unlock()
	return b.st.bySeq.Copy() // Copy changes the tree it copies: frozenMu orders it
}

// enter counts a reader of frozen slots; it must call leave when done.
// b.mu must be held for reading or writing.
func (b *Bucket) enter() { b.readers.Add(1) }

// leave ends what enter began. It needs no lock.
func (b *Bucket) leave() { b.readers.Add(-1) }

// thaw drops the readers' copy of the order tree: a write is changing the
// tree. b.mu must be held for writing.
func (b *Bucket) thaw() { b.frozenTree = nil }

// setState gives b a new state (B.CLEAR, a redefinition, a rebuild, a
// rollback). b.mu must be held for writing.
func (b *Bucket) setState(st *state) {
	b.st = st
	b.thaw()
}

// addEntry links e into every structure. With t non-nil the step is
// recorded for rollback. b.mu must be held for writing.
func (b *Bucket) addEntry(t *Tx, e *entry) {
	// The insertion-order tree is the commit point of an add: it is set
	// last, so that a crash half-way leaves it without e and rebuild
	// forgets the half-added record.
	st := b.st
	b.thaw()
	switch k := e.rec.Key().(type) {
	case string:
		st.strKeys.set(k, e)
	case float64:
		st.numKeys[k] = e
	}
	if st.byKey != nil {
		st.byKey.Set(e)
	}
	if e.rec.ExpiresAt != 0 {
		st.byExp.Set(e)
	}
	for _, fi := range st.ixList {
		if v, ok := e.rec.Get(fi.field); ok {
			fi.ix.Add(v, e)
		}
	}
	for _, fu := range st.uqList {
		if v, ok := e.rec.Get(fu.field); ok {
			fu.u.Set(v, e)
		}
	}
	st.bytes += e.rec.memSize() + 64
	// Load is Set with a fast path for an item after the last one, which a
	// new record's is (nextSeq only grows); any other item takes Set's
	// path inside Load. Loading 200,000 records (BenchmarkLoad) took 9%
	// less with it than with Set.
	st.bySeq.Load(e)
	if t != nil {
		t.undo = append(t.undo, undoStep{kind: undoAdd, b: b, e: e})
	}
}

// removeEntry unlinks e from every structure. With t non-nil the step is
// recorded for rollback. b.mu must be held for writing.
func (b *Bucket) removeEntry(t *Tx, e *entry) {
	// The insertion-order tree is the commit point of a remove: it goes
	// first (see addEntry).
	st := b.st
	b.thaw()
	st.bySeq.Delete(e)
	switch k := e.rec.Key().(type) {
	case string:
		st.strKeys.del(k)
	case float64:
		delete(st.numKeys, k)
	}
	if st.byKey != nil {
		st.byKey.Delete(e)
	}
	if e.rec.ExpiresAt != 0 {
		st.byExp.Delete(e)
	}
	for _, fi := range st.ixList {
		if v, ok := e.rec.Get(fi.field); ok {
			fi.ix.Remove(v, e)
		}
	}
	for _, fu := range st.uqList {
		if v, ok := e.rec.Get(fu.field); ok {
			fu.u.Delete(v, e)
		}
	}
	st.bytes -= e.rec.memSize() + 64
	if t != nil {
		t.undo = append(t.undo, undoStep{kind: undoRemove, b: b, e: e})
	}
}

// replaceRecord gives the record of e a new version with the same key,
// moving its index entries, and returns the slot that now holds it: e, or,
// while frozen readers may hold e (b.readers is not zero), a new slot
// linked in e's place, e keeping the old version for them. With t non-nil
// the step is recorded for rollback. b.mu must be held for writing.
func (b *Bucket) replaceRecord(t *Tx, e *entry, rec *Record) *entry {
	if b.readers.Load() != 0 {
		n := &entry{rec: rec, seq: e.seq}
		b.removeEntry(nil, e)
		b.addEntry(nil, n)
		if t != nil {
			t.undo = append(t.undo, undoStep{kind: undoSwap, b: b, e: n, was: e})
		}
		return n
	}
	b.replaceInPlace(t, e, rec)
	return e
}

// replaceInPlace is replaceRecord changing e itself, for when no frozen
// reader can hold e. b.mu must be held for writing.
func (b *Bucket) replaceInPlace(t *Tx, e *entry, rec *Record) {
	st := b.st
	b.thaw()
	old := e.rec
	// An index reads an item's value from its record (index.New): e
	// leaves the indexes whose field changes under its old record, and
	// joins them again under its new one.
	changed := func(f string) (ov, nv jsonv.Value, ook, nok, yes bool) {
		ov, ook = old.Get(f)
		nv, nok = rec.Get(f)
		return ov, nv, ook, nok, ook != nok || !jsonv.Equal(ov, nv)
	}
	for _, fi := range st.ixList {
		if ov, _, ook, _, yes := changed(fi.field); yes && ook {
			fi.ix.Remove(ov, e)
		}
	}
	for _, fu := range st.uqList {
		ov, ook := old.Get(fu.field)
		nv, nok := rec.Get(fu.field)
		if ook == nok && jsonv.Equal(ov, nv) {
			continue
		}
		if ook {
			fu.u.Delete(ov, e)
		}
		if nok {
			fu.u.Set(nv, e)
		}
	}
	if old.ExpiresAt != rec.ExpiresAt {
		if old.ExpiresAt != 0 {
			st.byExp.Delete(e)
		}
		e.rec = rec
		if rec.ExpiresAt != 0 {
			st.byExp.Set(e)
		}
	} else {
		e.rec = rec
	}
	for _, fi := range st.ixList {
		if _, nv, _, nok, yes := changed(fi.field); yes && nok {
			fi.ix.Add(nv, e)
		}
	}
	st.bytes += rec.memSize() - old.memSize()
	if t != nil {
		t.undo = append(t.undo, undoStep{kind: undoReplace, b: b, e: e, old: old})
	}
}

// check verifies that every structure agrees with the records: the keys
// map, the order trees, the expiry tree, every index. It is the invariant
// tests run after each operation. b.mu must be held.
func (b *Bucket) check() error {
	st := b.st
	n := st.len()
	if st.bySeq.Len() != n {
		return fmt.Errorf("bucket %q: %d keys but %d in insertion order", b.name, n, st.bySeq.Len())
	}
	if st.byKey != nil && st.byKey.Len() != n {
		return fmt.Errorf("bucket %q: %d keys but %d in key order", b.name, n, st.byKey.Len())
	}
	if st.strKeys != nil {
		if err := st.strKeys.check(); err != nil {
			return fmt.Errorf("bucket %q: %w", b.name, err)
		}
	}
	var err error
	exp := 0
	st.bySeq.Scan(func(e *entry) bool {
		if st.get(e.rec.Key()) != e {
			err = fmt.Errorf("bucket %q: key %v does not map to its entry", b.name, e.rec.Key())
			return false
		}
		if e.rec.ExpiresAt != 0 {
			exp++
		}
		for f, u := range st.uniques {
			if v, ok := e.rec.Get(f); ok && index.Indexable(v) {
				if got, ok := u.Get(v); !ok || got != e {
					err = fmt.Errorf("bucket %q: unique index %q does not map %v to key %v", b.name, f, v, e.rec.Key())
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if st.byExp.Len() != exp {
		return fmt.Errorf("bucket %q: %d records expire but %d in the expiry order", b.name, exp, st.byExp.Len())
	}
	for f, ix := range st.indexes {
		if err := ix.Check(func(yield func(jsonv.Value, *entry) bool) {
			st.bySeq.Scan(func(e *entry) bool {
				if v, ok := e.rec.Get(f); ok && index.Indexable(v) {
					return yield(v, e)
				}
				return true
			})
		}); err != nil {
			return fmt.Errorf("bucket %q: index %q: %w", b.name, f, err)
		}
	}
	for f, u := range st.uniques {
		cnt := 0
		st.bySeq.Scan(func(e *entry) bool {
			if v, ok := e.rec.Get(f); ok && index.Indexable(v) {
				cnt++
			}
			return true
		})
		if u.Len() != cnt {
			return fmt.Errorf("bucket %q: unique index %q holds %d values for %d records", b.name, f, u.Len(), cnt)
		}
	}
	return nil
}
