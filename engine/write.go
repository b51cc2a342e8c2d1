package engine

import (
	"bucketd/engine/filter"
	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// write runs fn on the named bucket inside t, or, when t is nil, inside a
// transaction of its own that commits when fn succeeds and rolls back when
// it fails. Inside a caller's transaction a failure is left to the caller,
// who rolls the whole transaction back.
func (s *Store) write(t *Tx, name string, fn func(t *Tx, b *Bucket) error) error {
	if t != nil && t.hold != "" {
		return s.writeHeld(t, name, fn)
	}
	if t != nil {
		b, err := t.bucket(name)
		if err != nil {
			return err
		}
		return s.guard(b, true, func() error { return fn(t, b) })
	}
	b, err := s.lookup(name)
	if err != nil {
		return err
	}
	t, err = s.beginOne(b)
	if err != nil {
		return err
	}
	if err := s.guard(b, true, func() error { return fn(t, b) }); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// guard runs fn on b, which the caller has locked, refusing it when the
// bucket has failed and recovering a panic (see supervise.go). After a
// recovered panic in a write the caller rolls back the completed steps.
func (s *Store) guard(b *Bucket, write bool, fn func() error) (err error) {
	if b.sup.failed.Load() {
		return &UnavailableError{Bucket: b.name}
	}
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(b, r, write)
		}
	}()
	return fn()
}

// InsertOptions modifies an insert.
type InsertOptions struct {
	// TTL gives this record a lifetime in ms (B.INSERT … TTL, EX, PX),
	// overriding the bucket's; 0 means the bucket's.
	TTL int64
	// ExpiresAt gives this record an absolute expiry in Unix ms (EXAT,
	// PXAT), overriding TTL and the bucket's; 0 means none given.
	ExpiresAt int64
}

// expiry returns the _expiresAt the options give at now, or 0 when they
// give none.
func (o InsertOptions) expiry(now int64) int64 {
	switch {
	case o.ExpiresAt > 0:
		return o.ExpiresAt
	case o.TTL > 0:
		return now + o.TTL
	}
	return 0
}

// Insert stores a new record. obj is taken over by the store. A key that
// exists already fails with ExistsError.
func (s *Store) Insert(t *Tx, bucket string, obj *jsonv.Object, opts InsertOptions) (*Record, error) {
	var rec *Record
	err := s.write(t, bucket, func(t *Tx, b *Bucket) (err error) {
		rec, err = b.insert(t, obj, opts, nil)
		return err
	})
	return rec, err
}

// InsertDraft is Insert of the record of a draft made by Store.Draft.
func (s *Store) InsertDraft(t *Tx, bucket string, d *Draft, opts InsertOptions) (*Record, error) {
	var rec *Record
	err := s.write(t, bucket, func(t *Tx, b *Bucket) (err error) {
		rec, err = b.insert(t, &d.obj, opts, d)
		return err
	})
	return rec, err
}

// InsertMany stores several new records, all or none.
func (s *Store) InsertMany(t *Tx, bucket string, objs []*jsonv.Object) ([]*Record, error) {
	recs := make([]*Record, 0, len(objs))
	err := s.write(t, bucket, func(t *Tx, b *Bucket) error {
		for _, o := range objs {
			r, err := b.insert(t, o, InsertOptions{}, nil)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// Update merges changes into the record with that key (shallow merge, then
// full validation). ifVersion >= 0 requires the record's _version to equal
// it (ConflictError otherwise). changes is taken over by the store.
func (s *Store) Update(t *Tx, bucket, key string, changes *jsonv.Object, ifVersion int64) (*Record, error) {
	var rec *Record
	err := s.write(t, bucket, func(t *Tx, b *Bucket) error {
		e, k, err := b.visibleArg(key, t.now)
		if err != nil {
			return err
		}
		if e == nil {
			return &NotFoundError{Bucket: b.name, Key: k}
		}
		if ifVersion >= 0 && e.rec.Version != ifVersion {
			return &ConflictError{Bucket: b.name, Key: k, Expected: ifVersion, Actual: e.rec.Version}
		}
		rec, err = b.update(t, e, changes, true, nil, true, 0)
		return err
	})
	return rec, err
}

// Upsert updates the record whose key obj holds, or inserts obj when there
// is none.
func (s *Store) Upsert(t *Tx, bucket string, obj *jsonv.Object) (*Record, error) {
	return s.upsert(t, bucket, obj, nil, InsertOptions{})
}

// UpsertDraft is Upsert of the record of a draft made by Store.Draft.
func (s *Store) UpsertDraft(t *Tx, bucket string, d *Draft) (*Record, error) {
	return s.upsert(t, bucket, &d.obj, d, InsertOptions{})
}

// UpsertDraftWith is UpsertDraft with an expiry (B.UPSERT … EX, PX, EXAT,
// PXAT, TTL): an inserted record gets it as B.INSERT's does, an updated
// one has its _expiresAt replaced. Without one, an updated record keeps
// its _expiresAt.
func (s *Store) UpsertDraftWith(t *Tx, bucket string, d *Draft, opts InsertOptions) (*Record, error) {
	return s.upsert(t, bucket, &d.obj, d, opts)
}

// upsert is Upsert of obj, whose draft d may be nil.
func (s *Store) upsert(t *Tx, bucket string, obj *jsonv.Object, d *Draft, opts InsertOptions) (*Record, error) {
	var rec *Record
	err := s.write(t, bucket, func(t *Tx, b *Bucket) (err error) {
		if k, ok := obj.Get(b.def.Key); ok {
			if e := b.visible(k, t.now); e != nil {
				rec, err = b.update(t, e, obj, true, d, false, opts.expiry(t.now))
				return err
			}
		}
		rec, err = b.insert(t, obj, opts, d)
		return err
	})
	return rec, err
}

// UpdateMany merges changes into every record that matches f, all or none,
// and returns how many were updated.
func (s *Store) UpdateMany(t *Tx, bucket string, f *filter.Filter, changes *jsonv.Object) (int, error) {
	return s.Limit(ReadLimit{}).UpdateMany(t, bucket, f, changes)
}

// UpdateMany is Store.UpdateMany with its matching under r's limit.
func (r Limited) UpdateMany(t *Tx, bucket string, f *filter.Filter, changes *jsonv.Object) (int, error) {
	same := 0
	n, err := r.writeMatching(t, bucket, f, func(t *Tx, b *Bucket, e *entry) error {
		old := e.rec
		rec, err := b.update(t, e, changes, false, nil, true, 0)
		if rec == old {
			same++ // it changed nothing
		}
		return err
	})
	return n - same, err
}

// writeMatching runs fn, in one write, on every record of bucket that
// matches f (the matching under r's limit), and returns how many it did.
func (r Limited) writeMatching(t *Tx, bucket string, f *filter.Filter, fn func(t *Tx, b *Bucket, e *entry) error) (int, error) {
	n := 0
	l := r.s.newLimiter(r.lim, f)
	err := r.s.write(t, bucket, func(t *Tx, b *Bucket) error {
		matched, err := b.matching(f, t.now, l)
		if err != nil {
			return err
		}
		for _, e := range matched {
			if err := fn(t, b, e); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Delete removes the record with that key and reports whether there was
// one. ifVersion >= 0 requires the record's _version to equal it.
func (s *Store) Delete(t *Tx, bucket, key string, ifVersion int64) (bool, error) {
	found := false
	err := s.write(t, bucket, func(t *Tx, b *Bucket) error {
		e, k, err := b.visibleArg(key, t.now)
		if e == nil || err != nil {
			return err
		}
		if ifVersion >= 0 && e.rec.Version != ifVersion {
			return &ConflictError{Bucket: b.name, Key: k, Expected: ifVersion, Actual: e.rec.Version}
		}
		b.delete(t, e, ReasonDeleted)
		found = true
		return nil
	})
	return found, err
}

// DeleteMany removes every record that matches f and returns the count.
func (s *Store) DeleteMany(t *Tx, bucket string, f *filter.Filter) (int, error) {
	return s.Limit(ReadLimit{}).DeleteMany(t, bucket, f)
}

// DeleteMany is Store.DeleteMany with its matching under r's limit.
func (r Limited) DeleteMany(t *Tx, bucket string, f *filter.Filter) (int, error) {
	return r.writeMatching(t, bucket, f, func(t *Tx, b *Bucket, e *entry) error {
		b.delete(t, e, ReasonDeleted)
		return nil
	})
}

// Clear removes every record of the bucket, publishing one cleared change,
// and returns how many visible records it removed.
func (s *Store) Clear(t *Tx, bucket string) (int, error) {
	n := 0
	err := s.write(t, bucket, func(t *Tx, b *Bucket) error {
		n = b.clear(t)
		return nil
	})
	return n, err
}

// FlushAll clears every bucket, keeping the definitions (FLUSHALL), in
// one transaction over all of them: nobody sees some buckets cleared and
// others not. Failed buckets are left as they are.
func (s *Store) FlushAll() (int, error) {
	total := 0
	t, err := s.Begin(s.List())
	if err != nil {
		return 0, err
	}
	for _, b := range t.locked {
		if b.sup.failed.Load() {
			continue
		}
		s.guard(b, true, func() error {
			total += b.clear(t)
			return nil
		})
	}
	if err := t.Commit(); err != nil {
		return 0, err
	}
	return total, nil
}

// PurgeExpired deletes every expired record of every bucket now, with
// deleted changes whose reason is "expired", and returns the count. Its cost
// grows with the number of expired records, not with the buckets' sizes.
func (s *Store) PurgeExpired() int {
	total := 0
	for _, b := range s.snapshot() {
		b.mu.RLock()
		due := false
		if m, ok := b.st.byExp.Min(); ok && m.rec.expired(s.Now()) {
			due = true
		}
		b.mu.RUnlock()
		if !due {
			continue
		}
		s.write(nil, b.name, func(t *Tx, b *Bucket) error {
			total += b.purgeExpired(t, 0)
			return nil
		})
	}
	return total
}

// parseKey converts a command's key argument to the key field's type.
// b.mu must be held.
func (b *Bucket) parseKey(arg string) (jsonv.Value, error) {
	k, err := b.def.ParseKey(arg)
	if err != nil {
		return nil, &ArgError{Msg: err.Error()}
	}
	return k, nil
}

// visibleArg parses key, a command's argument, and returns the entry
// holding it if its record has not expired (nil: none), with the key.
// b.mu must be held.
func (b *Bucket) visibleArg(key string, now int64) (*entry, jsonv.Value, error) {
	k, err := b.parseKey(key)
	if err != nil {
		return nil, nil, err
	}
	return b.visible(k, now), k, nil
}

// visible returns the entry holding key if its record has not expired.
// b.mu must be held.
func (b *Bucket) visible(key jsonv.Value, now int64) *entry {
	e := b.st.get(key)
	if e == nil || e.rec.expired(now) {
		return nil
	}
	return e
}

// insert stores obj as a new record. d, if not nil, is obj's draft, taken
// when it fits.
func (b *Bucket) insert(t *Tx, obj *jsonv.Object, opts InsertOptions, d *Draft) (*Record, error) {
	def := b.def
	drafted := d.fitsInsert(b)
	if !drafted {
		d.detach()
	}
	var expires int64
	if v, ok := obj.Get("_expiresAt"); ok {
		if f, ok := v.(float64); ok && f > 0 {
			expires = int64(f)
		}
	}
	counter := def.Fill(obj, b.counter, t.now, t.s.ids) // nothing to fill when drafted
	var issues []schema.Issue
	if drafted {
		b.verifyInsert(d, obj)
		issues = d.issues
	} else {
		issues = def.Validate(obj)
	}
	if len(issues) > 0 {
		return nil, &ValidationError{Bucket: b.name, Issues: issues}
	}
	counter = counterAfter(def, obj, counter)
	key, ok := obj.Get(def.Key)
	if !ok || key == nil {
		return nil, &ValidationError{Bucket: b.name, Issues: []schema.Issue{{Field: def.Key, Code: "required", Message: "Field is required"}}}
	}
	if e := b.st.get(key); e != nil {
		if !e.rec.expired(t.now) {
			return nil, &ExistsError{Bucket: b.name, Key: key}
		}
		b.delete(t, e, ReasonExpired)
	}
	if err := b.checkUnique(t, obj, nil); err != nil {
		return nil, err
	}
	if def.MaxSize > 0 && b.st.len() >= def.MaxSize {
		b.purgeExpired(t, 0)
		for b.st.len() >= def.MaxSize {
			oldest, ok := b.st.bySeq.Min()
			if !ok {
				break
			}
			b.delete(t, oldest, ReasonEvicted)
		}
	}
	if expires == 0 {
		if expires = opts.expiry(t.now); expires == 0 && def.TTL > 0 {
			expires = t.now + def.TTL
		}
	}
	if counter != b.counter {
		t.undo = append(t.undo, undoStep{kind: undoCounter, b: b, counter: b.counter})
		b.counter = counter
	}
	var rec *Record
	if drafted {
		rec = d.record(b, 1, t.now, t.now, expires)
	} else {
		rec = b.newRecord(def.Canonical(obj), 1, t.now, t.now, expires)
	}
	e := &entry{rec: rec, seq: b.nextSeq}
	b.nextSeq++
	b.addEntry(t, e)
	t.emit(b, Change{Op: OpInserted, Bucket: b.name, Key: key, New: rec})
	return rec, nil
}

// update merges changes into e's record, or applies them when they are
// update operators (update_ops.go). The metadata and the generated fields
// are immune; changing the key is an error. With owned, changes belongs to
// the update, which may reuse it. d, if not nil, is the draft of changes,
// taken when it fits. With same (B.UPDATE, B.UPDATEMANY), an update that
// changes no field returns the record as it is: no new _version, no
// _updatedAt, no event, no WATCH touched. An upsert always writes, as a
// Redis SET of the same value does. expires, when not 0, replaces the
// record's _expiresAt.
func (b *Bucket) update(t *Tx, e *entry, changes *jsonv.Object, owned bool, d *Draft, same bool, expires int64) (*Record, error) {
	def := b.def
	old := e.rec
	if expires == 0 {
		expires = old.ExpiresAt
	}
	if d.fitsUpdate(b, old) {
		// The draft is changes validated and encoded; merged into old, changes
		// would give the same record.
		b.verifyUpdate(d, old)
		if len(d.issues) > 0 {
			return nil, &ValidationError{Bucket: b.name, Issues: d.issues}
		}
		if err := b.checkUnique(t, d.rec.Fields(), e); err != nil {
			return nil, err
		}
		return b.replaced(t, e, d.record(b, old.Version+1, old.CreatedAt, t.now, expires)), nil
	}
	d.detach()
	ops, err := isOperatorUpdate(changes)
	if err != nil {
		return nil, err
	}
	var merged *jsonv.Object
	if ops {
		if merged, err = applyOperators(def, old, changes); err != nil {
			return nil, err
		}
	} else {
		if k, ok := changes.Get(def.Key); ok && !jsonv.Equal(k, old.Key()) {
			return nil, argErrorf("invalid update: the key field %q cannot be changed (from %s to %s)", def.Key, jsonv.Marshal(old.Key()), truncate(jsonv.Marshal(k)))
		}
		merged = mergeChanges(def, old, changes, owned)
	}
	if issues := def.Validate(merged); len(issues) > 0 {
		return nil, &ValidationError{Bucket: b.name, Issues: issues}
	}
	canon := def.Canonical(merged)
	if same && expires == old.ExpiresAt && jsonv.Equal(old.Fields(), canon) {
		return old, nil // nothing changes: no new version, no event
	}
	if err := b.checkUnique(t, merged, e); err != nil {
		return nil, err
	}
	return b.replaced(t, e, b.newRecord(canon, old.Version+1, old.CreatedAt, t.now, expires)), nil
}

// replaced gives e the record rec, publishes the update and returns rec.
func (b *Bucket) replaced(t *Tx, e *entry, rec *Record) *Record {
	old := e.rec
	b.replaceRecord(t, e, rec)
	t.emit(b, Change{Op: OpUpdated, Bucket: b.name, Key: old.Key(), Old: old, New: rec})
	return rec
}

// mergeChanges returns old's fields with changes merged in (a shallow
// merge), leaving out the key, the metadata and the generated fields of
// changes. It needs no lock. With reuse, changes may be modified and become
// the result.
func mergeChanges(def *schema.Definition, old *Record, changes *jsonv.Object, reuse bool) *jsonv.Object {
	if sameNames(changes.Keys, old.shape.names) {
		// Every field is given, in the stored order (a whole record sent
		// again): the changes' values are the merged record once the immune
		// fields are put back. No metadata is among the names.
		vals := changes.Vals
		if !reuse {
			vals = append([]jsonv.Value(nil), vals...)
		}
		ovals := old.values()
		vals[old.shape.key] = ovals[old.shape.key]
		if def.HasGenerated() {
			for i, k := range old.shape.names {
				if f := def.Field(k); f != nil && f.Generated != "" {
					vals[i] = ovals[i]
				}
			}
		}
		if reuse {
			changes.Keys, changes.Vals = old.shape.names, vals
			return changes
		}
		return &jsonv.Object{Keys: old.shape.names, Vals: vals}
	}
	merged := &jsonv.Object{
		Keys: append(make([]string, 0, len(old.shape.names)+changes.Len()), old.shape.names...),
		Vals: append(make([]jsonv.Value, 0, len(old.shape.names)+changes.Len()), old.values()...),
	}
	for i, k := range changes.Keys {
		if k == def.Key || schema.IsMeta(k) {
			continue
		}
		if def.HasGenerated() {
			if f := def.Field(k); f != nil && f.Generated != "" {
				continue
			}
		}
		merged.Set(k, changes.Vals[i])
	}
	return merged
}

// checkUnique fails when obj gives a unique field a value that a record
// other than self holds. Expired holders are purged first.
func (b *Bucket) checkUnique(t *Tx, obj *jsonv.Object, self *entry) error {
	for _, f := range b.def.UniqueFields() {
		v, ok := obj.Get(f)
		if !ok {
			continue
		}
		holder, ok := b.st.uniques[f].Get(v)
		if !ok || holder == self {
			continue
		}
		if holder.rec.expired(t.now) {
			b.delete(t, holder, ReasonExpired)
			continue
		}
		return &UniqueError{Bucket: b.name, Field: f, Value: v}
	}
	return nil
}

func (b *Bucket) delete(t *Tx, e *entry, reason string) {
	b.removeEntry(t, e)
	t.emit(b, Change{Op: OpDeleted, Bucket: b.name, Key: e.rec.Key(), Old: e.rec, Reason: reason})
}

// clear swaps in an empty state and returns the number of visible records
// removed.
func (b *Bucket) clear(t *Tx) int {
	n := b.countVisible(t.now)
	for k := range b.watched {
		if b.visible(k, t.now) != nil {
			t.touches = append(t.touches, touched{b: b, key: k})
		}
	}
	t.undo = append(t.undo, undoStep{kind: undoClear, b: b, st: b.st})
	b.setState(newState(b.def))
	t.emit(b, Change{Op: OpCleared, Bucket: b.name, Count: n})
	return n
}

// purgeExpired deletes expired records, oldest expiry first, at most max
// of them (0: all), and returns the count.
func (b *Bucket) purgeExpired(t *Tx, max int) int {
	n := 0
	for max == 0 || n < max {
		e, ok := b.st.byExp.Min()
		if !ok || !e.rec.expired(t.now) {
			break
		}
		b.delete(t, e, ReasonExpired)
		n++
	}
	return n
}

// counterAfter returns the autoincrement counter once obj is stored: a
// number a client gave an autoincrement field itself moves the counter past
// it, so that later generated values never collide with it.
func counterAfter(def *schema.Definition, obj *jsonv.Object, counter int64) int64 {
	if !def.HasAutoincrement() {
		return counter
	}
	for _, f := range def.Fields {
		if f.Generated != schema.GenAutoincrement {
			continue
		}
		if v, ok := obj.Get(f.Name); ok {
			if n, ok := v.(float64); ok && n > float64(counter) && n <= 1<<53 {
				counter = int64(n)
			}
		}
	}
	return counter
}
