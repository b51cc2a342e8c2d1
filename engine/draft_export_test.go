package engine

import "bucketd/engine/schema"

// DraftTaken reports whether rec was built from d.
func DraftTaken(d *Draft, rec *Record) bool {
	return rec != nil && rec == d.rec
}

// KeepsText reports whether rec keeps its JSON text (see buildRecord).
func KeepsText(rec *Record) bool { return rec.body != nil }

// CorruptDraft breaks d as a bug in the draft path could: "value" changes
// its record's last value, "text" a byte of its record's text, "issues"
// adds a validation issue.
func CorruptDraft(d *Draft, how string) {
	switch how {
	case "value":
		vals := d.rec.values()
		vals[len(vals)-1] = "corrupt"
	case "text":
		text := append([]byte(nil), fieldsText(d.rec)...)
		text[len(text)-2]++
		d.rec.body = &text[0]
	case "issues":
		d.issues = append(d.issues, schema.Issue{Field: "x", Code: "corrupt"})
	}
}
