package commands

import (
	"errors"
	"reflect"
	"testing"
	"unsafe"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/resp"
)

// The prepared JSON arguments of a pipelined run (Server.Prepare,
// Session.takePrepared, Session.forgetPrepared in hold.go) are found again
// by the identity of the argument's bytes, never by their value: two
// commands may carry the same JSON text, and the read buffer is reused
// between runs.

// prepBuf is a read buffer holding three equal arguments at their own
// places, as a pipeline of three commands with the same JSON would.
func prepBuf() (buf []byte, args [3][]byte) {
	buf = []byte(`{"a":1} {"a":1} {"a":1}`)
	for i := range args {
		args[i] = buf[8*i : 8*i+7 : 8*i+7]
	}
	return buf, args
}

// prepEntry is the entry Prepare makes for arg; its error tells entries
// apart.
func prepEntry(arg []byte, tag string) preparedArg {
	return preparedArg{data: unsafe.SliceData(arg), n: len(arg), err: errors.New(tag)}
}

func prepSession(entries ...preparedArg) *Session {
	return &Session{prepared: entries}
}

// mustTake takes arg and checks that it gets the entry tagged want.
func mustTake(t *testing.T, sess *Session, arg []byte, want string) {
	t.Helper()
	p := sess.takePrepared(arg)
	if p == nil {
		t.Fatalf("takePrepared missed the entry %q", want)
	}
	if p.err == nil || p.err.Error() != want {
		t.Fatalf("takePrepared returned %v, want the entry %q", p.err, want)
	}
}

// mustMiss takes arg and checks that nothing is found.
func mustMiss(t *testing.T, sess *Session, arg []byte, what string) {
	t.Helper()
	if p := sess.takePrepared(arg); p != nil {
		t.Fatalf("%s: takePrepared returned entry %v, want none", what, p.err)
	}
}

// checkEmpty checks that no entry is left to take.
func checkEmpty(t *testing.T, sess *Session) {
	t.Helper()
	if sess.prepHead != len(sess.prepared) {
		t.Fatalf("prepHead = %d, len(prepared) = %d: entries left", sess.prepHead, len(sess.prepared))
	}
}

// cleared reports whether p keeps no reference to the buffer or to a parse.
func cleared(p *preparedArg) bool {
	return p.data == nil && p.n == 0 && p.obj == nil && p.err == nil && reflect.ValueOf(p.draft).IsZero()
}

// checkForgotten checks that nothing is left to take and that every entry,
// taken or not, was cleared (forgetPrepared).
func checkForgotten(t *testing.T, sess *Session) {
	t.Helper()
	checkEmpty(t, sess)
	all := sess.prepared[:cap(sess.prepared)]
	for i := range all {
		if p := &all[i]; !cleared(p) {
			t.Errorf("prepared[%d] = %+v, want cleared", i, *p)
		}
	}
}

func TestTakePreparedInOrder(t *testing.T) {
	_, a := prepBuf()
	sess := prepSession(prepEntry(a[0], "0"), prepEntry(a[1], "1"), prepEntry(a[2], "2"))
	mustTake(t, sess, a[0], "0")
	mustTake(t, sess, a[1], "1")
	mustTake(t, sess, a[2], "2")
	checkEmpty(t, sess)
	mustMiss(t, sess, a[0], "taken twice")
}

// TestTakePreparedByIdentity: equal bytes elsewhere, a prefix of the same
// bytes, or the same bytes seen through a wider slice are other arguments.
func TestTakePreparedByIdentity(t *testing.T) {
	buf, a := prepBuf()
	for _, tc := range []struct {
		name string
		arg  []byte
	}{
		{"a copy", append([]byte(nil), a[0]...)},
		{"an equal argument of another command", a[1]},
		{"a prefix", a[0][:6]},
		{"a longer slice from the same start", buf[:8]},
		{"a slice ending at the same place", a[0][1:]},
		{"an empty slice at the same place", a[0][:0]},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := prepSession(prepEntry(a[0], "0"))
			mustMiss(t, sess, tc.arg, tc.name)
			// The miss dropped the entry: the argument it was made for
			// does not find it any more (see TestTakePreparedMiss).
			mustMiss(t, sess, a[0], "after a miss")
			checkEmpty(t, sess)
		})
	}
}

// TestTakePreparedDropsStale: entries ahead of the one taken were made for
// commands that did not take them (refused before they parsed); they are
// dropped, so that no later lookup finds them.
func TestTakePreparedDropsStale(t *testing.T) {
	_, a := prepBuf()
	sess := prepSession(prepEntry(a[0], "0"), prepEntry(a[1], "1"), prepEntry(a[2], "2"))
	mustTake(t, sess, a[1], "1")
	if sess.prepHead != 2 {
		t.Fatalf("prepHead = %d after taking the second entry, want 2", sess.prepHead)
	}
	// The stale entry is cleared at once; the taken one is its command's
	// until the run ends.
	if !cleared(&sess.prepared[0]) || cleared(&sess.prepared[1]) {
		t.Errorf("want the stale entry cleared and the taken one kept: %+v", sess.prepared[:2])
	}
	mustMiss(t, sess, a[0], "the stale entry")
	checkEmpty(t, sess) // the miss dropped the third entry too
	if !cleared(&sess.prepared[2]) {
		t.Errorf("the entry dropped by the miss is not cleared: %+v", sess.prepared[2])
	}
	mustMiss(t, sess, a[2], "after the miss")
}

// TestTakePreparedSkipsToLast: several stale entries ahead of the wanted one.
func TestTakePreparedSkipsToLast(t *testing.T) {
	_, a := prepBuf()
	sess := prepSession(prepEntry(a[0], "0"), prepEntry(a[1], "1"), prepEntry(a[2], "2"))
	mustTake(t, sess, a[2], "2")
	checkEmpty(t, sess)
	mustMiss(t, sess, a[0], "a dropped entry")
	mustMiss(t, sess, a[1], "a dropped entry")
}

// TestTakePreparedMiss: a lookup for an argument never prepared (a command
// that parses its own argument, or one of a transaction) leaves nothing
// behind that a later lookup could take.
func TestTakePreparedMiss(t *testing.T) {
	_, a := prepBuf()
	sess := prepSession(prepEntry(a[0], "0"), prepEntry(a[1], "1"))
	mustMiss(t, sess, a[2], "an argument never prepared")
	checkEmpty(t, sess)
	mustMiss(t, sess, a[0], "after a miss")
	mustMiss(t, sess, a[1], "after a miss")

	empty := prepSession()
	mustMiss(t, empty, a[0], "no entries")
	checkEmpty(t, empty)
}

func TestForgetPrepared(t *testing.T) {
	_, a := prepBuf()
	sess := prepSession(prepEntry(a[0], "0"), prepEntry(a[1], "1"), prepEntry(a[2], "2"))
	mustTake(t, sess, a[0], "0")
	sess.forgetPrepared()
	if len(sess.prepared) != 0 || sess.prepHead != 0 {
		t.Fatalf("after forgetPrepared: %d entries, prepHead %d", len(sess.prepared), sess.prepHead)
	}
	checkForgotten(t, sess)
	mustMiss(t, sess, a[1], "a forgotten entry")
	mustMiss(t, sess, a[2], "a forgotten entry")

	// The next run: new entries, possibly at the same places of a reused
	// buffer, are found, and only they.
	sess.prepared = append(sess.prepared, prepEntry(a[2], "next 2"), prepEntry(a[0], "next 0"))
	mustTake(t, sess, a[2], "next 2")
	mustTake(t, sess, a[0], "next 0")
	sess.forgetPrepared()
	checkForgotten(t, sess)

	// Forgetting nothing is harmless.
	none := prepSession()
	none.forgetPrepared()
	checkForgotten(t, none)
}

// TestPrepare: what Server.Prepare prepares, and which commands let the next
// one be prepared; objectArg then uses the parse.
func TestPrepare(t *testing.T) {
	s := New(DefaultConfig(), engine.New(engine.Options{Log: zerolog.Nop()}), zerolog.Nop())
	conn := &resp.Conn{Authed: true}
	sess := s.session(conn)
	arg := func(s string) []byte { return []byte(s) }
	for _, tc := range []struct {
		args    [][]byte
		ok      bool
		jsonArg int // the argument prepared, 0: none
	}{
		{[][]byte{arg("B.UPSERT"), arg("b"), arg(`{"id":"x"}`)}, true, 2},
		{[][]byte{arg("b.insert"), arg("b"), arg(`{"id":"x"}`), arg("TTL"), arg("1h")}, true, 2},
		{[][]byte{arg("B.UPDATE"), arg("b"), arg("x"), arg(`{"n":1}`)}, true, 3},
		{[][]byte{arg("B.UPDATE"), arg("b"), arg("x"), arg(`{"n":1}`), arg("IFVERSION"), arg("1")}, true, 3},
		{[][]byte{arg("B.UPSERT"), arg("b"), arg(`{"id":`)}, true, 2}, // the error is kept
		{[][]byte{arg("B.GET"), arg("b"), arg("x")}, true, 0},
		{[][]byte{arg("B.DELETE"), arg("b"), arg("x")}, true, 0},
		{[][]byte{arg("B.INSERTMANY"), arg("b"), arg(`[{"id":"x"}]`)}, true, 0},
		{[][]byte{arg("B.UPSERT"), arg("b")}, false, 0},
		{[][]byte{arg("B.UPSERT"), arg("b"), arg(`{"id":"x"}`), arg("EX"), arg("10")}, true, 2},
		{[][]byte{arg("B.GET"), arg("b"), arg(`{}`), arg("x")}, false, 0},
		{[][]byte{arg("B.UPDATEMANY"), arg("b"), arg(`{}`), arg(`{"n":1}`)}, false, 0},
		{[][]byte{arg("PING")}, false, 0},
		{[][]byte{arg("MULTI")}, false, 0},
		{[][]byte{arg("AUTH"), arg("pw")}, false, 0},
		{[][]byte{arg("NOSUCH")}, false, 0},
	} {
		if got := s.Prepare(conn, tc.args); got != tc.ok {
			t.Errorf("Prepare(%q) = %v, want %v", tc.args, got, tc.ok)
		}
		if tc.jsonArg == 0 {
			if len(sess.prepared) != 0 {
				t.Errorf("Prepare(%q) prepared %d arguments, want none", tc.args, len(sess.prepared))
			}
		} else {
			mustTakeParsed(t, sess, tc.args[tc.jsonArg])
		}
		sess.forgetPrepared()
	}

	// Nothing is prepared for a connection that has not authenticated, nor
	// inside MULTI.
	upsert := [][]byte{arg("B.UPSERT"), arg("b"), arg(`{"id":"x"}`)}
	conn.Authed = false
	if s.Prepare(conn, upsert) || len(sess.prepared) != 0 {
		t.Errorf("Prepare before AUTH: prepared %d", len(sess.prepared))
	}
	conn.Authed = true
	sess.inMulti = true
	if s.Prepare(conn, upsert) || len(sess.prepared) != 0 {
		t.Errorf("Prepare inside MULTI: prepared %d", len(sess.prepared))
	}
	sess.inMulti = false

	// objectArg takes the parse made for its argument, and parses an equal
	// argument at another place itself.
	if !s.Prepare(conn, upsert) || len(sess.prepared) != 1 {
		t.Fatalf("Prepare: %d prepared", len(sess.prepared))
	}
	want := sess.prepared[0].obj
	c := &Ctx{S: s, Conn: conn, Args: upsert, W: &conn.W, Sess: sess}
	if obj, ok := objectArg(c, 2); !ok || obj != want {
		t.Errorf("objectArg: got %p, %v; want the prepared object %p", obj, ok, want)
	}
	if !s.Prepare(conn, upsert) {
		t.Fatal("Prepare refused")
	}
	want = sess.prepared[sess.prepHead].obj
	other := [][]byte{arg("B.UPSERT"), arg("b"), arg(`{"id":"x"}`)}
	c.Args = other
	if obj, ok := objectArg(c, 2); !ok || obj == nil || obj == want {
		t.Errorf("objectArg of an equal argument elsewhere: got %p, %v; want its own parse, not %p", obj, ok, want)
	}
	checkEmpty(t, sess)

	// Drained, at the end of a run, forgets what no command took.
	if !s.Prepare(conn, upsert) || !s.Prepare(conn, other) || len(sess.prepared)-sess.prepHead != 2 {
		t.Fatalf("Prepare: %d prepared", len(sess.prepared)-sess.prepHead)
	}
	s.Drained(conn)
	if len(sess.prepared) != 0 || sess.prepHead != 0 {
		t.Fatalf("after Drained: %d entries, prepHead %d", len(sess.prepared), sess.prepHead)
	}
	checkForgotten(t, sess)
	mustMiss(t, sess, upsert[2], "after Drained")
}

// mustTakeParsed checks that Prepare made exactly one entry, for arg, with
// a parse or an error.
func mustTakeParsed(t *testing.T, sess *Session, arg []byte) {
	t.Helper()
	if n := len(sess.prepared) - sess.prepHead; n != 1 {
		t.Fatalf("%d entries prepared for %q, want 1", n, arg)
	}
	p := sess.takePrepared(arg)
	if p == nil {
		t.Fatalf("the entry prepared for %q is not found by it", arg)
	}
	obj := p.obj
	if obj == nil && len(p.draft.Object().Keys) > 0 {
		obj = p.draft.Object()
	}
	if (obj == nil) == (p.err == nil) {
		t.Errorf("entry for %q: obj %v, err %v; want one of them", arg, obj, p.err)
	}
}
