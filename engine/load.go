package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"bucketd/jsonv"
)

// Bulk loading at start-up (docs/persistence.md, "Start-up"). Between
// BeginLoad and FinishLoad the store is being filled from disk and serves
// nobody:
//
//   - records are decoded by RecordDecoders, one per goroutine, in
//     parallel: the JSON parsing or binary decoding and the building of each
//     record, which is most of the work, uses every core whatever the
//     bucket;
//   - RestoreRecords links them into their bucket's key map and order tree,
//     in the order of the files;
//   - the secondary and unique indexes are not maintained per record:
//     FinishLoad builds them once, from the final records, every index of
//     every bucket in parallel.
//
// The rule that keeps this right: while a bucket defers its indexes
// (b.deferIx), its state's ixList and uqList are empty, so no write
// touches an index; FinishLoad gives them back, filled. Nothing may read
// the store before FinishLoad returns (the load tests check every index
// against its records with Store.Check after it).

// BeginLoad starts a bulk load: the buckets defined from now until
// FinishLoad defer their indexes.
func (s *Store) BeginLoad() { s.loading.Store(true) }

// FinishLoad ends a bulk load: it builds the deferred indexes of every
// bucket, on up to workers goroutines at once (one index a goroutine).
func (s *Store) FinishLoad(workers int) {
	s.loading.Store(false)
	type job struct {
		b  *Bucket
		fi *fieldIndex
		fu *fieldUnique
	}
	var jobs []job
	all := s.snapshot()
	for _, name := range s.List() {
		b := all[name]
		b.mu.Lock()
		if !b.deferIx {
			b.mu.Unlock()
			continue
		}
		b.deferIx = false
		b.loadShapes = loadShapes{}
		st := b.st
		full := newState(b.def)
		st.ixList, st.uqList = full.ixList, full.uqList
		st.indexes, st.uniques = full.indexes, full.uniques
		for i := range st.ixList {
			jobs = append(jobs, job{b: b, fi: &st.ixList[i]})
		}
		for i := range st.uqList {
			jobs = append(jobs, job{b: b, fu: &st.uqList[i]})
		}
		b.thaw()
		b.mu.Unlock()
	}
	// Each job fills one index from its bucket's records. The records and
	// trees are only read, and no two jobs write one index.
	work := make(chan job)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(jobs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.b.mu.RLock()
				j.b.st.bySeq.Scan(func(e *entry) bool {
					if j.fi != nil {
						if v, ok := e.rec.Get(j.fi.field); ok {
							j.fi.ix.Add(v, e)
						}
					} else if v, ok := e.rec.Get(j.fu.field); ok {
						j.fu.u.Set(v, e)
					}
					return true
				})
				j.b.mu.RUnlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
}

// newStateFor returns a fresh state for b under def: without its index
// lists while b defers its indexes. b.mu must be held for writing.
func (b *Bucket) newStateFor() *state {
	st := newState(b.def)
	if b.deferIx {
		st.ixList, st.uqList = nil, nil
	}
	return st
}

// loadShapes shares the shapes of the records decoded for one bucket by
// several RecordDecoders, so that the bucket's records of the same field
// names share one shape as they do when written live.
type loadShapes struct {
	mu sync.Mutex
	m  map[string]*shape
}

// get returns the shared shape of names, key at position key; names must
// not change afterwards.
func (ls *loadShapes) get(names []string, key int) *shape {
	id := fmt.Sprint(key, "\x00", strings.Join(names, "\x00"))
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if sh := ls.m[id]; sh != nil {
		return sh
	}
	if ls.m == nil {
		ls.m = make(map[string]*shape)
	}
	sh := newShape(names, key)
	ls.m[id] = sh
	return sh
}

// RecordDecoder turns records as the snapshot and the append-only file
// hold them into records for RestoreRecords. A decoder is used by one
// goroutine; the decoders of one store may run in parallel, with each
// other and with RestoreRecords.
type RecordDecoder struct {
	s    *Store
	last map[*Bucket]*shape // the shape each bucket's last record had
	obj  jsonv.Object
}

// NewRecordDecoder returns a decoder of s's records.
func (s *Store) NewRecordDecoder() *RecordDecoder {
	return &RecordDecoder{s: s, last: make(map[*Bucket]*shape)}
}

// shapeOf returns the shape for names (key at key) in b: the last one
// when the names are the same, else the shared one.
func (d *RecordDecoder) shapeOf(b *Bucket, names []string, key int) *shape {
	if sh := d.last[b]; sh != nil && sh.key == key && sameNames(sh.names, names) {
		return sh
	}
	sh := b.loadShapes.get(names, key)
	d.last[b] = sh
	return sh
}

// DecodeJSON returns the record whose canonical JSON text, metadata
// included, is data, as the append-only file and older snapshots hold it.
// It does not validate it against the schema: it was when written.
func (d *RecordDecoder) DecodeJSON(bucket string, data []byte) (*Record, error) {
	b, err := d.s.lookup(bucket)
	if err != nil {
		return nil, err
	}
	obj := &d.obj
	if err := jsonv.ParseObjectReuse(obj, data); err != nil {
		return nil, fmt.Errorf("record of bucket %q: %w", bucket, err)
	}
	hasVersion := obj.Index("_version") >= 0
	meta := func(name string) int64 {
		// Metadata ends the text, so the deletes below cut the tail.
		v, _ := obj.Get(name)
		f, _ := v.(float64)
		obj.Delete(name)
		return int64(f)
	}
	expires, updated, created, version := meta("_expiresAt"), meta("_updatedAt"), meta("_createdAt"), meta("_version")
	keyName := b.defNow.Load().Key
	key := obj.Index(keyName)
	if key < 0 {
		return nil, fmt.Errorf("record of bucket %q has no key field %q", bucket, keyName)
	}
	sh := d.shapeOf(b, obj.Keys, key)
	// The values get a slice of their own size: the parsed one has room
	// for the metadata too.
	vals := make([]jsonv.Value, len(obj.Vals))
	copy(vals, obj.Vals)
	var rec *Record
	if hasVersion {
		rec = textRecord(sh, vals, data, version, created, updated, expires)
	}
	if rec == nil {
		rec = buildRecord(sh, vals)
	} else if verifyOn.Load() {
		if err := verifyTextRecord(rec); err != nil {
			return nil, fmt.Errorf("record of bucket %q: %w", bucket, err)
		}
	}
	jsonv.Own(&jsonv.Object{Vals: vals}, data)
	rec.Version, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt = version, created, updated, expires
	// The parsed values were copied into vals: their array serves the
	// next parse, emptied so that it holds nothing of data.
	scratch := obj.Vals[:cap(obj.Vals)]
	clear(scratch)
	*obj = jsonv.Object{Vals: scratch[:0]}
	return rec, nil
}

// textRecord is buildRecord for the values vals parsed by
// jsonv.ParseObjectAliased from data, a record's canonical JSON text with
// its metadata, as Record.AppendJSON wrote it: the record's text is then
// data up to the metadata, copied as it is instead of encoded again, and
// the strings that point into data are pointed into the copy. It returns
// nil where buildRecord must decide (no metadata where it belongs, or
// enough escaped strings that the record keeps no text). The rule it
// relies on: the text AppendJSON writes is the fields' canonical text
// followed by the metadata. Verify mode (verify.go) checks each record it
// builds against buildRecord's.
func textRecord(sh *shape, vals []jsonv.Value, data []byte, version, created, updated, expires int64) *Record {
	// The metadata's length, as Record.JSONLen counts it, says where the
	// fields end: n bytes of text, then `,"_version":` (or `"_version":`
	// right after the "{" of a record without fields).
	r := Record{shape: sh, Version: version, CreatedAt: created, UpdatedAt: updated, ExpiresAt: expires}
	n := len(data) - r.JSONLen()
	meta := n
	if len(sh.names) > 0 {
		meta++
	}
	const head = `"_version":`
	if n < 1 || uint64(n) > math.MaxUint32 || meta+len(head) > len(data) || string(data[meta:meta+len(head)]) != head ||
		(len(sh.names) > 0 && data[n] != ',') || (len(sh.names) == 0 && n != 1) {
		return nil
	}
	escaped := 0
	for _, v := range vals {
		if s, ok := v.(string); ok && s != "" && !inData(s, data[:n]) {
			escaped += len(s)
		}
	}
	if escaped > 0 && escaped >= n/8 {
		return nil
	}
	body := append(make([]byte, 0, n), data[:n]...)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	for i, v := range vals {
		if s, ok := v.(string); ok && s != "" && inData(s, data[:n]) {
			// The parser boxed this string for this value alone.
			setBoxedString(&vals[i], unsafe.String(&body[uintptr(unsafe.Pointer(unsafe.StringData(s)))-base], len(s)))
		}
	}
	return &Record{shape: sh, vals: unsafe.SliceData(vals), body: unsafe.SliceData(body), bodyLen: uint32(n)}
}

// inData reports whether s lies within data.
func inData(s string, data []byte) bool {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return at >= base && at+uintptr(len(s)) <= base+uintptr(len(data))
}

// verifyTextRecord compares, in verify mode, a record textRecord built
// with the one buildRecord builds from the same values.
func verifyTextRecord(rec *Record) error {
	want := buildRecord(rec.shape, slices.Clone(rec.values()))
	if got, w := string(fieldsText(rec)), string(fieldsText(want)); got != w {
		verifyFailures.Add(1)
		return fmt.Errorf("BUCKETD_VERIFY: the record text taken from the file differs from the encoded one:\n taken:   %s\n encoded: %s", got, w)
	}
	return nil
}

// DecodeRecords returns the records of a block that AppendRecords wrote.
// It does not validate them against the schema: they were when written.
func (d *RecordDecoder) DecodeRecords(bucket string, block []byte) ([]*Record, error) {
	b, err := d.s.lookup(bucket)
	if err != nil {
		return nil, err
	}
	keyName := b.defNow.Load().Key
	r := &blockReader{b: block}
	fail := func(err error) ([]*Record, error) {
		return nil, fmt.Errorf("records of bucket %q, byte %d of the block: %w", bucket, r.off, err)
	}
	nshapes, err := r.count()
	if err != nil {
		return fail(err)
	}
	shapes := make([]*shape, nshapes)
	for i := range shapes {
		n, err := r.count()
		if err != nil {
			return fail(err)
		}
		names := make([]string, n)
		seen := make(map[string]bool, n)
		key := -1
		for j := range names {
			s, err := r.str()
			if err != nil {
				return fail(err)
			}
			if seen[s] {
				return fail(fmt.Errorf("field %q twice in a shape", s))
			}
			seen[s] = true
			names[j] = strings.Clone(s)
			if s == keyName {
				key = j
			}
		}
		if key < 0 {
			return fail(fmt.Errorf("a shape without the key field %q", keyName))
		}
		shapes[i] = d.shapeOf(b, names, key)
	}
	nrecs, err := r.count()
	if err != nil {
		return fail(err)
	}
	recs := make([]*Record, 0, nrecs)
	for range nrecs {
		si, err := r.uvarint()
		if err != nil || si >= uint64(len(shapes)) {
			return fail(errBlock)
		}
		var meta [4]int64
		for i := range meta {
			if meta[i], err = r.varint(); err != nil {
				return fail(err)
			}
		}
		sh := shapes[si]
		vals := make([]jsonv.Value, len(sh.names))
		for i := range vals {
			if vals[i], err = r.value(0); err != nil {
				return fail(err)
			}
		}
		rec := buildRecordIn(sh, vals, true) // blockReader.value boxed each string
		// The strings still in the block (nested ones, escaped ones) are
		// copied: the block is not kept.
		jsonv.Own(&jsonv.Object{Vals: vals}, block)
		rec.Version, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt = meta[0], meta[1], meta[1]+meta[2], meta[3]
		recs = append(recs, rec)
	}
	if r.off != len(block) {
		return fail(fmt.Errorf("%d bytes after the last record", len(block)-r.off))
	}
	return recs, nil
}

// RestoreRecords stores decoded records in their bucket, in order, each
// replacing the record with the same key. A record that expired while the
// server was down is loaded invisible, as every expired record is, and the
// sweep deletes it. The observers are not told.
//
// With fresh set, the keys are new to the bucket and to each other (a
// snapshot's records), and each is added without looking it up first; a
// key met again is an error, and the bucket must then be thrown away.
func (s *Store) RestoreRecords(bucket string, recs []*Record, fresh bool) error {
	b, err := s.lookup(bucket)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, rec := range recs {
		if !b.st.keyFits(rec.Key()) {
			return fmt.Errorf("record of bucket %q: a key of type %s", bucket, jsonv.TypeName(rec.Key()))
		}
		if !fresh {
			if e := b.st.get(rec.Key()); e != nil {
				b.replaceRecord(nil, e, rec)
				continue
			}
		}
		n := b.st.len()
		e := &entry{rec: rec, seq: b.nextSeq}
		b.nextSeq++
		b.addEntry(nil, e)
		if b.st.len() == n {
			return fmt.Errorf("record of bucket %q: key %s held twice", bucket, jsonv.Marshal(rec.Key()))
		}
	}
	return nil
}

// keyFits reports whether k is of the type of st's keys (a string or a
// number, as the key field's type says).
func (st *state) keyFits(k jsonv.Value) bool {
	switch k.(type) {
	case string:
		return st.strKeys != nil
	case float64:
		return st.numKeys != nil
	}
	return false
}

// RestoreReserve makes room for n records in an empty bucket's key map
// (the snapshot says how many records follow).
func (s *Store) RestoreReserve(bucket string, n int) error {
	b, err := s.lookup(bucket)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.len() != 0 || n <= 0 {
		return nil
	}
	if b.st.strKeys != nil {
		b.st.strKeys = newStrKeyMap(n)
	} else {
		b.st.numKeys = make(map[float64]*entry, n)
	}
	return nil
}
