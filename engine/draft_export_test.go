package engine

import "unsafe"

// DraftTaken reports whether rec was built from d: its text is the draft's.
func DraftTaken(d *Draft, rec *Record) bool {
	return rec != nil && len(d.body) > 0 && rec.body == unsafe.SliceData(d.body)
}
