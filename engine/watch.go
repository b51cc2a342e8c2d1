package engine

import "bucketd/jsonv"

// watchEntry counts the writes to one watched key of a bucket.
type watchEntry struct {
	refs    int    // tokens watching the key
	version uint64 // writes to the key since it was first watched
}

// WatchToken remembers a record as WATCH saw it, so that EXEC can tell
// whether it was inserted, updated, deleted, expired or evicted since:
// every write to a watched key bumps the key's version in its bucket (even
// an insert followed by a delete, which leaves the record as absent as it
// was), and the record pointer tells expiry (records are immutable and
// replaced on every write). A token holds a reference that Unwatch
// releases.
type WatchToken struct {
	bucket  string
	b       *Bucket
	key     jsonv.Value // nil when the key cannot be converted (never matches a record)
	keyText string      // the key as given, for a bucket defined after WATCH
	rec     *Record
	version uint64
}

// Watch returns a token for the record bucket:key as it is now. A bucket
// or key that does not exist is watched as absent. Release tokens with
// Unwatch.
func (s *Store) Watch(bucket, key string) WatchToken {
	w := WatchToken{bucket: bucket, keyText: key}
	b, err := s.lockBucket(bucket, true)
	if err != nil {
		return w
	}
	defer b.mu.Unlock()
	w.b = b
	k, err := b.def.ParseKey(key)
	if err != nil {
		return w
	}
	w.key = k
	if e := b.visible(k, s.Now()); e != nil {
		w.rec = e.rec
	}
	if b.watched == nil {
		b.watched = make(map[any]*watchEntry)
	}
	we := b.watched[k]
	if we == nil {
		we = &watchEntry{}
		b.watched[k] = we
	}
	we.refs++
	w.version = we.version
	return w
}

// Unwatch releases tokens (EXEC, DISCARD, UNWATCH, RESET, a closed
// connection).
func (s *Store) Unwatch(ws []WatchToken) {
	for _, w := range ws {
		if w.b == nil || w.key == nil {
			continue
		}
		w.b.mu.Lock()
		if we := w.b.watched[w.key]; we != nil {
			if we.refs--; we.refs <= 0 {
				delete(w.b.watched, w.key)
			}
		}
		w.b.mu.Unlock()
	}
}

// touch bumps the version of the watched keys a committed change wrote:
// its key, or every watched key for a clear. A rolled-back write touches
// nothing. b.mu must be held for writing.
func (b *Bucket) touch(c Change) {
	switch {
	case c.Op == OpCleared:
		// As Redis's FLUSHALL: only the watched keys that held a record
		// (clear noted them in the transaction) are touched; see Commit.
	case c.Reason == ReasonExpired:
		// The record was already invisible: expiry itself is seen by
		// comparing the visible record, and its sweep changes nothing a
		// reader could see.
	default:
		if we := b.watched[c.Key]; we != nil {
			we.version++
		}
	}
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
		if w.b == nil {
			// Defined since WATCH, when the record could not exist: it
			// changed if it exists now.
			if k, err := b.def.ParseKey(w.keyText); err == nil && b.visible(k, t.now) != nil {
				return false
			}
			continue
		}
		if w.b != b {
			return false // dropped and defined again
		}
		if w.key == nil {
			continue
		}
		if we := b.watched[w.key]; we == nil || we.version != w.version {
			return false
		}
		var cur *Record
		if e := b.visible(w.key, t.now); e != nil {
			cur = e.rec
		}
		if cur != w.rec {
			return false
		}
	}
	return true
}
