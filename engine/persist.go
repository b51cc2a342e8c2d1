package engine

import (
	"fmt"

	"github.com/tidwall/btree"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// BucketImage is one bucket as a snapshot holds it.
type BucketImage struct {
	Name       string
	Definition []byte // canonical definition JSON
	Persistent bool
	Counter    int64  // autoincrement counter
	EventSeq   uint64 // last event sequence number
	// Records are the unexpired records in insertion order. They are
	// immutable and may be read after Capture returns.
	Records []*Record
}

// Capture takes a consistent image of every bucket: it holds the
// definition lock and every bucket's read lock while it takes each
// bucket's frozen order tree (O(1) a bucket: see Bucket.frozen), and calls
// during inside that critical section, when no write can commit — the
// append-only file switches files there, so that the image and the new
// file meet exactly. The records are collected from the frozen trees after
// the locks are released (records are immutable, so none is copied):
// writers wait for no walk of the records.
func (s *Store) Capture(during func()) []BucketImage { return s.capture(during, false) }

// CaptureAll is Capture with the records of the buckets that are not
// persistent too: a replicated node's snapshot (docs/replication.md)
// holds every bucket whole.
func (s *Store) CaptureAll(during func()) []BucketImage { return s.capture(during, true) }

func (s *Store) capture(during func(), whole bool) []BucketImage {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	names := s.List()
	all := s.snapshot()
	now := s.Now()
	images := make([]BucketImage, 0, len(names))
	trees := make([]*btree.BTreeG[*entry], 0, len(names))
	var locked []*Bucket
	for _, n := range names {
		b := all[n]
		if b.acquireWait(false) != nil {
			continue
		}
		locked = append(locked, b)
		images = append(images, BucketImage{
			Name:       b.name,
			Definition: b.def.JSON(),
			Persistent: b.def.Persistent,
			Counter:    b.counter,
			EventSeq:   b.eventSeq,
		})
		var tree *btree.BTreeG[*entry]
		if b.def.Persistent || whole {
			b.enter()
			defer b.leave()
			tree = b.frozenBySeq()
		}
		trees = append(trees, tree)
	}
	if during != nil {
		during()
	}
	for _, b := range locked {
		b.mu.RUnlock()
	}
	total := 0
	for _, tree := range trees {
		if tree != nil {
			total += tree.Len()
		}
	}
	_ = s.walk(nil, total, func() error {
		for i, tree := range trees {
			if tree == nil {
				continue
			}
			img := &images[i]
			img.Records = make([]*Record, 0, tree.Len())
			tree.Scan(func(e *entry) bool {
				if !e.rec.expired(now) {
					img.Records = append(img.Records, e.rec)
				}
				return true
			})
		}
		return nil
	})
	return images
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
