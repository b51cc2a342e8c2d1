package engine

import (
	"bucketd/engine/schema"
	"bucketd/jsonv"
)

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

// DraftShared reports whether d's record took the drafted text as its own.
func DraftShared(d *Draft) bool { return d.shared }

// DraftText returns the text of d's record, nil if it has none.
func DraftText(d *Draft) []byte {
	if d.rec == nil || d.rec.body == nil {
		return nil
	}
	return d.rec.text()
}

// Strings returns every string of rec's values, nested ones included.
func Strings(rec *Record) []string {
	var out []string
	var walk func(v jsonv.Value)
	walk = func(v jsonv.Value) {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case []jsonv.Value:
			for _, e := range t {
				walk(e)
			}
		case *jsonv.Object:
			for _, e := range t.Vals {
				walk(e)
			}
		}
	}
	for _, v := range rec.values() {
		walk(v)
	}
	return out
}
