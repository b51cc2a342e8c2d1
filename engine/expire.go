package engine

import "bucketd/jsonv"

// ExpireCond is the condition of an expiry change, Redis 7's EXPIRE
// options; XX combines with GT or LT.
type ExpireCond uint8

// The conditions.
const (
	ExpireAlways ExpireCond = 0
	ExpireNX     ExpireCond = 1 << (iota - 1) // only if the record has no expiry
	ExpireXX                                  // only if it has one
	ExpireGT                                  // only if the new one is later (none counts as never)
	ExpireLT                                  // only if the new one is earlier (none counts as never)
)

// Expire sets the _expiresAt of the record with that key to at (Unix ms),
// or removes it when at is 0 (B.EXPIRE, B.PEXPIRE, B.PERSIST). It reports
// whether it did: false when there is no such record, when cond does not
// hold, and, for a removal, when the record had no expiry. A time that has
// passed deletes the record (an ordinary delete, as Redis's EXPIRE with a
// non-positive time does). Otherwise the record is written again with the
// new _expiresAt, a new _version and _updatedAt, and an `updated` change:
// events, the append-only file, live queries and WATCH see it.
func (s *Store) Expire(t *Tx, bucket, key string, at int64, cond ExpireCond) (bool, error) {
	return s.expire(t, bucket, key, at, false, cond)
}

// ExpireIn is Expire at ms milliseconds after the write's own clock (the
// transaction's time): EXPIRE and PEXPIRE. Adding ms to a time read before
// the write would let a busy server see a time of 1 ms as passed, and
// delete the record where Redis sets its expiry (Redis adds it to the
// command's time). ms <= 0 deletes the record.
func (s *Store) ExpireIn(t *Tx, bucket, key string, ms int64, cond ExpireCond) (bool, error) {
	return s.expire(t, bucket, key, ms, true, cond)
}

// expire is Expire, with at counted from the write's clock when fromNow.
func (s *Store) expire(t *Tx, bucket, key string, at int64, fromNow bool, cond ExpireCond) (bool, error) {
	done := false
	err := s.write(t, bucket, func(t *Tx, b *Bucket) error {
		e, _, err := b.visibleArg(key, t.now)
		if e == nil || err != nil {
			return err
		}
		if fromNow {
			at = max(t.now+at, 1) // in the past: the record goes
		}
		old := e.rec
		if at == 0 {
			if old.ExpiresAt == 0 {
				return nil
			}
		} else if !cond.holds(old.ExpiresAt, at) {
			return nil
		}
		done = true
		if at != 0 && at <= t.now {
			b.delete(t, e, ReasonDeleted)
			return nil
		}
		if at == old.ExpiresAt {
			return nil // as it was: nothing to write
		}
		// A copy of the values: a new record takes over the slice it is given.
		fields := &jsonv.Object{Keys: old.shape.names, Vals: append([]jsonv.Value(nil), old.values()...)}
		rec := b.newRecord(fields, old.Version+1, old.CreatedAt, t.now, at)
		b.replaceRecord(t, e, rec)
		reason := ReasonExpire
		if at == 0 {
			reason = ReasonPersist
		}
		t.emit(b, Change{Op: OpUpdated, Bucket: b.name, Key: old.Key(), Old: old, New: rec, Reason: reason})
		return nil
	})
	return done, err
}

// holds reports whether an expiry may change from cur (0: none) to at.
func (c ExpireCond) holds(cur, at int64) bool {
	switch {
	case c&ExpireNX != 0 && cur != 0:
		return false
	case c&ExpireXX != 0 && cur == 0:
		return false
	case c&ExpireGT != 0 && (cur == 0 || at <= cur):
		return false
	case c&ExpireLT != 0 && cur != 0 && at >= cur:
		return false
	}
	return true
}
