package engine

// A hold lets one connection run the pipelined commands of one read on a
// bucket under a single acquisition of its lock, instead of one each: with
// many pipelining clients on one bucket, the lock is then handed over once
// per read rather than once per command. Every write made through a hold
// commits at once, on its own, exactly as it would without a Tx: it is
// numbered, logged, published and its failure rolls back only itself.

// Hold returns a Tx that runs single-bucket commands on the named bucket
// with per-command commits. The bucket is locked for writing by the first
// write made through it and stays locked until Release, so the caller must
// release it before anything that may block (a socket write, another
// bucket). Reads through it before that first write lock nothing and see
// the committed state.
func (s *Store) Hold(bucket string) *Tx {
	t := txPool.Get().(*Tx)
	t.s = s
	t.hold = bucket
	return t
}

// Holding reports whether t is a Hold whose bucket is locked now.
func (t *Tx) Holding() bool { return t.hold != "" && len(t.locked) > 0 }

// Release ends a Hold, unlocking its bucket if a write locked it.
func (t *Tx) Release() { t.release() }

// writeHeld runs a write through a Hold and commits it.
func (s *Store) writeHeld(t *Tx, name string, fn func(t *Tx, b *Bucket) error) error {
	if name != t.hold {
		return &NoBucketError{Bucket: name} // the caller holds another bucket
	}
	if len(t.locked) == 0 {
		b, err := s.lockBucket(name, true)
		if err != nil {
			return err
		}
		t.locked = append(t.locked, b)
	}
	b := t.locked[0]
	t.now = s.Now()
	if err := s.guard(b, true, func() error { return fn(t, b) }); err != nil {
		t.RollbackTo(0, 0)
		return err
	}
	if err := t.publish(); err != nil {
		t.RollbackTo(0, 0)
		return err
	}
	return nil
}
