package engine

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"

	"bucketd/engine/schema"
	"bucketd/jsonv"
)

// Verify mode (BUCKETD_VERIFY=1, in the spirit of bbolt's strict mode)
// checks the shortcuts of the write path against the plain way: every
// drafted record a write takes (see Draft) is also built from the object
// as given, and the two must have the same fields, values and text; a
// drafted validation must find the same issues. It costs a second build
// of every drafted record, so it is meant for tests and CI.
//
// A difference panics, with both versions in the message, after counting
// it (VerifyFailures). The panic is the robust choice: the bucket's
// supervisor recovers it before anything is committed, so the wrong record
// is never stored, the client gets an error reply that no test can take
// for success, and the error log holds the message and the stack. The
// counter lets a test assert that nothing differed even where an error is
// expected anyway.

var (
	verifyOn       atomic.Bool
	verifyFailures atomic.Int64
)

func init() { verifyOn.Store(os.Getenv("BUCKETD_VERIFY") == "1") }

// SetVerify turns verify mode on or off and returns the previous setting.
// The mode starts on when the environment variable BUCKETD_VERIFY is 1
// when the program starts; tests use SetVerify. It may be called at any
// time, from any goroutine.
func SetVerify(on bool) bool { return verifyOn.Swap(on) }

// Verifying reports whether verify mode is on.
func Verifying() bool { return verifyOn.Load() }

// VerifyFailures returns how many times, since the program started, verify
// mode found a drafted record that differs from the plain build.
func VerifyFailures() int64 { return verifyFailures.Load() }

// verifyInsert checks, in verify mode, the draft an insert of obj takes
// (obj is d's object, which the definition fills in nothing). b.mu must be
// held.
func (b *Bucket) verifyInsert(d *Draft, obj *jsonv.Object) {
	if !verifyOn.Load() {
		return
	}
	issues := b.def.Validate(obj)
	b.verifyIssues(d, issues)
	if len(issues) > 0 {
		return
	}
	b.verifyRecord(d, b.def.Canonical(obj))
}

// verifyUpdate checks, in verify mode, the draft an update of old takes.
// b.mu must be held.
func (b *Bucket) verifyUpdate(d *Draft, old *Record) {
	if !verifyOn.Load() {
		return
	}
	merged := mergeChanges(b.def, old, &d.obj, false)
	issues := b.def.Validate(merged)
	b.verifyIssues(d, issues)
	if len(issues) > 0 {
		return
	}
	b.verifyRecord(d, b.def.Canonical(merged))
}

// verifyIssues compares the issues the draft found with those the plain
// validation found.
func (b *Bucket) verifyIssues(d *Draft, issues []schema.Issue) {
	if !slices.Equal(d.issues, issues) {
		verifyFailed(b, "validation", fmt.Sprint(d.issues), fmt.Sprint(issues))
	}
}

// verifyRecord compares the draft's record with one built from canon, the
// canonical fields, without changing canon or the bucket.
func (b *Bucket) verifyRecord(d *Draft, canon *jsonv.Object) {
	got := d.rec
	key := canon.Index(b.def.Key)
	if got == nil || key < 0 {
		verifyFailed(b, "record", fmt.Sprintf("record %v", got != nil), fmt.Sprintf("key at %d", key))
		return
	}
	want := buildRecord(newShape(canon.Keys, key), slices.Clone(canon.Vals))
	gotText, wantText := string(fieldsText(got)), string(fieldsText(want))
	same := gotText == wantText && got.bodyLen == want.bodyLen &&
		slices.Equal(got.shape.names, want.shape.names) && got.shape.key == want.shape.key
	if same {
		gv, wv := got.values(), want.values()
		for i := range gv {
			if !jsonv.Equal(gv[i], wv[i]) || jsonv.TypeName(gv[i]) != jsonv.TypeName(wv[i]) {
				same = false
				break
			}
		}
	}
	if !same {
		verifyFailed(b, "record",
			fmt.Sprintf("%s (fields %q, key at %d)", gotText, got.shape.names, got.shape.key),
			fmt.Sprintf("%s (fields %q, key at %d)", wantText, want.shape.names, want.shape.key))
	}
}

// fieldsText returns the JSON text of r's fields, kept or written anew.
func fieldsText(r *Record) []byte {
	if r.body != nil {
		return r.text()
	}
	return appendBody(r.shape, r.values(), nil)
}

// verifyFailed counts a difference and panics with both versions.
func verifyFailed(b *Bucket, what, drafted, plain string) {
	verifyFailures.Add(1)
	panic(fmt.Sprintf("BUCKETD_VERIFY: bucket %q: the drafted %s differs from the plain one:\n drafted: %s\n plain:   %s",
		b.name, what, drafted, plain))
}
