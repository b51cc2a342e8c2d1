package engine

// DraftTaken reports whether rec was built from d.
func DraftTaken(d *Draft, rec *Record) bool {
	return rec != nil && rec == d.rec
}

// KeepsText reports whether rec keeps its JSON text (see buildRecord).
func KeepsText(rec *Record) bool { return rec.body != nil }
