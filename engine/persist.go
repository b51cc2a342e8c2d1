package engine

import (
	"fmt"

	"github.com/tidwall/btree"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// BucketImage is one bucket as a snapshot holds it. Its records are read
// with Scan, from the bucket's frozen insertion-order tree, until Release.
type BucketImage struct {
	Name       string
	Definition []byte // canonical definition JSON
	Persistent bool
	Counter    int64  // autoincrement counter
	EventSeq   uint64 // last event sequence number
	// Len is the number of records the image holds: those not expired
	// when it was taken.
	Len int

	b    *Bucket               // entered (Bucket.enter) until Release; nil after
	tree *btree.BTreeG[*entry] // frozen insertion order; nil: no records
	now  int64                 // records expired at now are left out
}

// Capture takes a consistent image of every bucket: it holds the
// definition lock and every bucket's read lock while it takes each
// bucket's frozen insertion-order tree (O(1) a bucket: see Bucket.frozen)
// and counts its unexpired records, and calls during inside that critical
// section, when no write can commit — the append-only file switches files
// there, so that the image and the new file meet exactly. The records are
// read from the frozen trees after the locks are released (Scan), so
// writers wait for no walk of the records; the caller must Release every
// image when it is done with it (ReleaseImages).
func (s *Store) Capture(during func()) []BucketImage { return s.capture(during, false) }

// CaptureAll is Capture with the records of the buckets that are not
// persistent too: a replicated node's snapshot (docs/replication.md)
// holds every bucket whole.
func (s *Store) CaptureAll(during func()) []BucketImage { return s.capture(during, true) }

// Quiesce calls during with the definition lock and every bucket's read
// lock held, as Capture does, when no write can commit, and takes no
// image: turning the journal off (SetJournal) happens there, so that no
// commit is half logged.
func (s *Store) Quiesce(during func()) { s.quiesce(nil, during) }

// quiesce takes the definition lock and every bucket's read lock, calls
// each (if not nil) for every bucket in name order and then during (if not
// nil), and releases the locks.
func (s *Store) quiesce(each func(b *Bucket), during func()) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	all := s.snapshot()
	var locked []*Bucket
	for _, n := range s.List() {
		b := all[n]
		if b.acquireWait(false) != nil {
			continue
		}
		locked = append(locked, b)
		if each != nil {
			each(b)
		}
	}
	if during != nil {
		during()
	}
	for _, b := range locked {
		b.mu.RUnlock()
	}
}

func (s *Store) capture(during func(), whole bool) []BucketImage {
	now := s.Now()
	var images []BucketImage
	s.quiesce(func(b *Bucket) {
		img := BucketImage{
			Name:       b.name,
			Definition: b.def.JSON(),
			Persistent: b.def.Persistent,
			Counter:    b.counter,
			EventSeq:   b.eventSeq,
			now:        now,
		}
		if b.def.Persistent || whole {
			b.enter()
			img.b, img.tree, img.Len = b, b.frozenBySeq(), b.countVisible(now)
		}
		images = append(images, img)
	}, during)
	return images
}

// Scan calls fn with the image's records in insertion order, in batches
// of at most n records, Len in all; the batch's slice is reused, so fn
// must not keep it (the records are immutable: fn may keep them). It
// stops at fn's first error and returns it. Scan must not be called after
// Release. A snapshot is written in this one pass, each batch encoded and
// written while its records are in the cache: until 2026-12-06 the
// records were first gathered into a list and then read again to be
// written, which took 63–70 ms for 300,000 records against 52–59 ms now
// (BenchmarkWriteImage in package snapshot). It runs on the caller's
// goroutine and takes no scan slot (pace.go), so that no long read waits
// for a snapshot being written.
func (img *BucketImage) Scan(n int, fn func(batch []*Record) error) error {
	if img.Len == 0 {
		return nil
	}
	if img.b == nil {
		return fmt.Errorf("bucket %q: image read after its release", img.Name)
	}
	batch := make([]*Record, 0, min(n, img.Len))
	var err error
	img.tree.Scan(func(e *entry) bool {
		if e.rec.expired(img.now) {
			return true
		}
		if batch = append(batch, e.rec); len(batch) == n {
			err, batch = fn(batch), batch[:0]
		}
		return err == nil
	})
	if err == nil && len(batch) > 0 {
		err = fn(batch)
	}
	return err
}

// Release ends the image's hold on its bucket's frozen tree: until then,
// no write changes a record the tree holds in place (replaceRecord). It
// may be called more than once.
func (img *BucketImage) Release() {
	if img.b != nil {
		img.b.leave()
		img.b, img.tree = nil, nil
	}
}

// ReleaseImages releases every image (Release).
func ReleaseImages(images []BucketImage) {
	for i := range images {
		images[i].Release()
	}
}

// The Restore functions rebuild the store from a snapshot and an
// append-only file at start-up, before the store serves anybody. They
// apply what was committed without validating it again and without telling
// the observers.

// RestoreDefine creates (or, when it exists, redefines) a bucket from its
// canonical definition, keeping its records when it exists.
func (s *Store) RestoreDefine(name string, definition []byte) error {
	def, err := schema.Parse(definition)
	if err != nil {
		return fmt.Errorf("bucket %q: %w", name, err)
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	if b := s.snapshot()[name]; b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.redefine(def)
		return nil
	}
	b := newBucket(name, def)
	if s.loading.Load() {
		b.deferIx = true
		b.setState(b.newStateFor())
	}
	s.install(name, b)
	return nil
}

// RestoreDrop removes a bucket.
func (s *Store) RestoreDrop(name string) {
	s.defMu.Lock()
	old := s.snapshot()
	m := make(map[string]*Bucket, len(old))
	for k, v := range old {
		if k != name {
			m[k] = v
		}
	}
	s.buckets.Store(&m)
	s.defMu.Unlock()
}

// RestoreCounters sets a bucket's autoincrement counter (unless counter is
// negative) and event sequence.
func (s *Store) RestoreCounters(bucket string, counter int64, eventSeq uint64) error {
	b, err := s.lookup(bucket)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if counter >= 0 {
		b.counter = counter
	}
	b.eventSeq = eventSeq
	b.mu.Unlock()
	return nil
}

// RestoreDelete removes the record whose key is given as JSON.
func (s *Store) RestoreDelete(bucket string, keyJSON []byte) error {
	b, err := s.lookup(bucket)
	if err != nil {
		return err
	}
	key, err := jsonv.Parse(keyJSON)
	if err != nil {
		return fmt.Errorf("key of bucket %q: %w", bucket, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.st.get(key); e != nil {
		b.removeEntry(nil, e)
	}
	return nil
}

// RestoreClear empties a bucket.
func (s *Store) RestoreClear(bucket string) error {
	b, err := s.lookup(bucket)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.setState(b.newStateFor())
	b.mu.Unlock()
	return nil
}
