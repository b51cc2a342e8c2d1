package engine

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"

	"bucketd/engine/index"
	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// entry is a record's slot in its bucket. The slot outlives updates (its
// record pointer is replaced), so indexes point at slots.
type entry struct {
	rec *Record
	seq uint64 // insertion position, unique and increasing within a bucket
}

func entrySeq(e *entry) uint64 { return e.seq }

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
	strKeys map[string]*entry  // string keys
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
		st.strKeys = make(map[string]*entry)
	}
	if def.Ordered {
		st.byKey = btree.NewBTreeGOptions(lessKey, treeOpts)
	}
	for _, f := range def.Indexes {
		ix := index.New(entrySeq)
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
	return len(st.strKeys)
}

func (st *state) get(key jsonv.Value) *entry {
	switch k := key.(type) {
	case string:
		if st.strKeys != nil {
			return st.strKeys[k]
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

// lessOrder compares two entries in the bucket's order. b.mu must be held.
func (b *Bucket) lessOrder(x, y *entry) bool {
	if b.def.Ordered {
		return lessKey(x, y)
	}
	return x.seq < y.seq
}

// addEntry links e into every structure. With t non-nil the step is
// recorded for rollback. b.mu must be held for writing.
func (b *Bucket) addEntry(t *Tx, e *entry) {
	// The insertion-order tree is the commit point of an add: it is set
	// last, so that a crash half-way leaves it without e and rebuild
	// forgets the half-added record.
	st := b.st
	switch k := e.rec.Key().(type) {
	case string:
		// The map outlives this version of the record: a key pointing
		// into its text would keep that text alive after updates.
		st.strKeys[strings.Clone(k)] = e
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
	st.bySeq.Set(e)
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
	st.bySeq.Delete(e)
	switch k := e.rec.Key().(type) {
	case string:
		delete(st.strKeys, k)
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

// replaceRecord gives e a new record with the same key, moving its index
// entries. With t non-nil the step is recorded for rollback. b.mu must be
// held for writing.
func (b *Bucket) replaceRecord(t *Tx, e *entry, rec *Record) {
	st := b.st
	old := e.rec
	for _, fi := range st.ixList {
		ov, ook := old.Get(fi.field)
		nv, nok := rec.Get(fi.field)
		if ook == nok && jsonv.Equal(ov, nv) {
			continue
		}
		if ook {
			fi.ix.Remove(ov, e)
		}
		if nok {
			fi.ix.Add(nv, e)
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
