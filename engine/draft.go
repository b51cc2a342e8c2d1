package engine

import (
	"bytes"
	"math"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// Draft is a whole-record write (an insert or an upsert) with the work that
// needs no lock done ahead: the record validated and encoded against the
// definition its bucket had then. Under the bucket's lock the write checks
// that the definition is still the same one and that the draft fits (see
// fitsInsert and fitsUpdate); then it takes the draft's results instead of
// computing them, and otherwise does the work itself. Either way the result
// is the same, so a draft only moves work out of the lock.
//
// Store.Draft makes one; a Draft is used by one write only.
type Draft struct {
	obj jsonv.Object // the record as given

	// def is the definition the draft was made against; nil when nothing
	// was done ahead.
	def    *schema.Definition
	issues []schema.Issue // def.Validate(obj)
	// rec is the new record but for its metadata: def.Canonical(obj),
	// encoded, its strings moved into its text. nil when there are issues.
	rec *Record
	// shared is set when rec's text is the input obj was parsed from, so
	// that obj's strings point into it (see detach).
	shared bool
}

// Draft parses data, a whole record (a JSON object) for an insert or an
// upsert into the bucket, into d, and prepares the write without taking
// the bucket's lock: it validates and encodes the record against the
// bucket's current definition. Nothing is done ahead for an unknown
// bucket, a definition with generated fields, or, for an insert
// (insertOnly), one with defaults, since the write could not take it.
// Each string is copied once, into the record's text, where parsing and
// then encoding would copy it twice; when data is the record's canonical
// text (compact, its fields in the stored order), the copy of data that
// the record is parsed from becomes its text. The draft does not refer to
// data. Errors are *jsonv.SyntaxError.
func (s *Store) Draft(d *Draft, bucket, data []byte, insertOnly bool) error {
	*d = Draft{}
	b := s.snapshot()[string(bucket)]
	var def *schema.Definition
	src := data
	if b != nil {
		if def = b.defNow.Load(); def.HasGenerated() || insertOnly && def.NeedsFill() {
			def = nil // see fitsInsert and fitsUpdate
		} else {
			src = bytes.Clone(data) // may become the record's text
		}
	}
	if err := jsonv.ParseObjectAliased(&d.obj, src); err != nil {
		return err
	}
	if def != nil {
		d.prepare(b, def, src)
	}
	if !d.shared {
		jsonv.Own(&d.obj, src) // what the record's text did not take
	}
	return nil
}

// prepare does the draft's work ahead against b's definition def (see
// Draft). d.obj is from jsonv.ParseObjectAliased(src): the record takes
// src as its text when that is the canonical text (adoptRecord);
// otherwise d.obj's top-level strings are replaced by the record's, which
// point into the record's own text.
func (d *Draft) prepare(b *Bucket, def *schema.Definition, src []byte) {
	obj := &d.obj
	d.def = def
	if d.issues = def.Validate(obj); len(d.issues) > 0 {
		return
	}
	canon := def.Canonical(obj)
	key := canon.Index(def.Key)
	if key < 0 {
		d.def = nil // refused under the lock: no key
		return
	}
	sh := b.lastShape.Load()
	if sh == nil || !sameNames(sh.names, canon.Keys) || sh.key != key {
		sh = newShape(canon.Keys, key)
	}
	if canon == obj {
		d.rec = adoptRecord(sh, obj.Vals, src)
		d.shared = d.rec != nil
	}
	if d.rec == nil {
		d.rec = buildRecord(sh, canon.Vals)
	}
	if canon != obj {
		// The record's top-level strings no longer point into the input:
		// obj takes them, so that Own has none of them to copy.
		for i, k := range obj.Keys {
			if s, ok := obj.Vals[i].(string); ok && s != "" {
				if v, ok := canon.Get(k); ok {
					if c, ok := v.(string); ok && c == s {
						obj.Vals[i] = c
					}
				}
			}
		}
	}
}

// detach makes the draft's object independent of the draft's record, for
// a write that uses the object but does not take the draft: a string of
// the object that points into the record's text would keep it alive.
func (d *Draft) detach() {
	if d != nil && d.shared {
		jsonv.Own(&d.obj, d.rec.text())
		d.shared = false
	}
}

// Object returns the record the draft was made of, as given.
func (d *Draft) Object() *jsonv.Object { return &d.obj }

// fitsInsert reports whether an insert into b can take the draft: made
// under b's definition, which fills in nothing (so obj is the record as
// validated).
func (d *Draft) fitsInsert(b *Bucket) bool {
	return d != nil && d.def != nil && d.def == b.def && !d.def.NeedsFill()
}

// fitsUpdate reports whether an update of old can take the draft: made
// under b's definition, with old's fields in old's order and old's key, so
// that merging it into old (mergeChanges) gives the draft's record. old
// must have been found by the draft's key (Bucket.visible), so a string key
// is old's already; a number key may still be 0 for -0, which encodes
// apart.
func (d *Draft) fitsUpdate(b *Bucket, old *Record) bool {
	if d == nil || d.def == nil || d.def != b.def || !sameNames(d.obj.Keys, old.shape.names) {
		return false
	}
	switch dk := d.obj.Vals[old.shape.key].(type) {
	case string:
		return true
	case float64:
		ok, is := old.Key().(float64)
		return is && math.Float64bits(dk) == math.Float64bits(ok)
	}
	return false
}

// record completes the draft's record with that metadata and returns it;
// it shares the bucket's shape when that has the same names. b.mu must be
// held for writing; the draft must fit.
func (d *Draft) record(b *Bucket, version, created, updated, expires int64) *Record {
	r := d.rec
	if sh := b.shape; sh != r.shape {
		if sh != nil && sameNames(sh.names, r.shape.names) && sh.key == r.shape.key {
			r.shape = sh
		} else {
			b.setShape(r.shape)
		}
	}
	r.Version, r.CreatedAt, r.UpdatedAt, r.ExpiresAt = version, created, updated, expires
	return r
}
