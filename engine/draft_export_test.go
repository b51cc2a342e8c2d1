package engine

// DraftTaken reports whether rec was built from d.
func DraftTaken(d *Draft, rec *Record) bool {
	return rec != nil && rec == d.rec
}
