package engine

import (
	"bucketd/engine/jsonv"
	"bucketd/engine/schema"
)

// Writes to one existing record (B.UPDATE, B.UPSERT of a stored key) are
// prepared outside the bucket's write lock: the record is read under the
// read lock, the merge, the validation and the encoding of the new record
// run without a lock, and the write lock is taken only to check that the
// record is still the one read and to link the new one in. Writers to one
// bucket then run side by side for most of their work. When anything moved
// in between (another write to the record, an expiry, a new definition) the
// write runs again as it would have without preparing, under the lock.

// prepared is an update built outside the lock.
type prepared struct {
	b   *Bucket
	def *schema.Definition
	old *Record       // the record it replaces
	obj *jsonv.Object // the merged fields, validated
	rec *Record       // the new record, not yet stored
	now int64
}

// prepareUpdate builds the update of the record with key k of bucket name
// by changes. It returns nil and no error when it cannot prepare (no visible
// record, a failed or dropped bucket: the locked path answers those), and an
// error when the write fails as it stands (validation, version conflict).
// changes is not modified. With k nil the key is parsed from keyArg, else
// taken from changes.
func (s *Store) prepareUpdate(name string, keyArg string, changes *jsonv.Object, ifVersion int64) (*prepared, error) {
	b := s.snapshot()[name]
	if b == nil {
		return nil, nil
	}
	p := &prepared{b: b}
	var key jsonv.Value
	b.mu.RLock()
	err := s.guard(b, false, func() error {
		if b.dropped {
			return nil
		}
		p.def, p.now = b.def, s.Now()
		if keyArg != "" {
			k, err := b.parseKey(keyArg)
			if err != nil {
				return nil // the locked path reports it
			}
			key = k
		} else if k, ok := changes.Get(p.def.Key); ok {
			key = k
		}
		if key == nil {
			return nil
		}
		if e := b.visible(key, p.now); e != nil {
			p.old = e.rec
		}
		return nil
	})
	hint := b.shape
	b.mu.RUnlock()
	if err != nil || p.old == nil {
		return nil, err
	}
	if ifVersion >= 0 && p.old.Version != ifVersion {
		return nil, &ConflictError{Bucket: name, Key: key, Expected: ifVersion, Actual: p.old.Version}
	}
	err = s.guard(b, false, func() error {
		merged := mergeChanges(p.def, p.old, changes, false)
		if issues := p.def.Validate(merged); len(issues) > 0 {
			return &ValidationError{Bucket: name, Issues: issues}
		}
		p.obj = p.def.Canonical(merged)
		p.rec = buildRecord(p.def.Key, hint, p.obj, p.old.Version+1, p.old.CreatedAt, p.now, p.old.ExpiresAt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// install stores a prepared update if b still holds the record it was built
// from, under the same definition, and reports whether it did; if not, the
// caller runs the write afresh. b.mu must be held for writing.
func (b *Bucket) install(t *Tx, p *prepared) (*Record, bool, error) {
	if p.b != b || p.def != b.def {
		return nil, false, nil
	}
	e := b.st.get(p.old.Key())
	if e == nil || e.rec != p.old || p.old.expired(t.now) {
		return nil, false, nil
	}
	if err := b.checkUnique(t, p.obj, e); err != nil {
		return nil, true, err
	}
	b.adoptShape(p.rec)
	b.replaceRecord(t, e, p.rec)
	t.emit(b, Change{Op: OpUpdated, Bucket: b.name, Key: p.old.Key(), Old: p.old, New: p.rec})
	return p.rec, true, nil
}
