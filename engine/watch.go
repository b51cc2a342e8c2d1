package engine

// WatchToken remembers the record a WATCH saw, so that EXEC can tell
// whether it was inserted, updated, deleted, expired or evicted since.
// Records are immutable and replaced on every write, so comparing the
// record pointer detects any change, even one that restores equal content.
type WatchToken struct {
	bucket string
	b      *Bucket
	rec    *Record
	key    string
}

// Watch returns a token for the record bucket:key as it is now. A bucket
// or key that does not exist is watched as absent.
func (s *Store) Watch(bucket, key string) WatchToken {
	w := WatchToken{bucket: bucket, key: key}
	b, err := s.lookup(bucket)
	if err != nil {
		return w
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.dropped {
		return w
	}
	w.b = b
	if k, err := b.def.ParseKey(key); err == nil {
		if e := b.visible(k, s.Now()); e != nil {
			w.rec = e.rec
		}
	}
	return w
}

// Bucket returns the watched bucket's name, which EXEC must lock.
func (w WatchToken) Bucket() string { return w.bucket }

// Unchanged reports whether every watched record is still the one WATCH
// saw. The watched buckets must be locked by t.
func (t *Tx) Unchanged(ws []WatchToken) bool {
	for _, w := range ws {
		b, err := t.bucket(w.bucket)
		if err != nil {
			// The bucket is gone (or was never there).
			if w.b != nil {
				return false
			}
			continue
		}
		if w.b != nil && w.b != b {
			return false // dropped and defined again
		}
		var cur *Record
		if k, err := b.def.ParseKey(w.key); err == nil {
			if e := b.visible(k, t.now); e != nil {
				cur = e.rec
			}
		}
		if cur != w.rec {
			return false
		}
	}
	return true
}
