package resp

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// outcome is what a Reader makes of a byte stream: the commands, the bytes
// consumed and the first error.
type outcome struct {
	cmds     [][]string
	consumed int
	err      error
}

func (o outcome) String() string {
	return "cmds=" + strconv.Quote(formatCmds(o.cmds)) + " consumed=" + strconv.Itoa(o.consumed) + " err=" + errText(o.err)
}

func formatCmds(cmds [][]string) string {
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(strconv.Quote(strings.Join(c, "\x00")))
		b.WriteByte(' ')
	}
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func copyArgs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

// checker lets the helpers report to either a *testing.T or a *testing.F's T.
type checker interface {
	Helper()
	Fatalf(format string, args ...any)
}

// drain calls Next until it makes no progress, appending to o. It returns the
// bytes consumed.
func drain(t checker, r *Reader, buf []byte, authed bool, lim Limits, o *outcome) int {
	t.Helper()
	off := 0
	for {
		args, n, err := r.Next(buf[off:], authed, lim)
		if need := r.Need(); need < 0 {
			t.Fatalf("Need() = %d < 0", need)
		}
		if err != nil {
			if args != nil || n != 0 {
				t.Fatalf("error %v came with args %q, n %d", err, args, n)
			}
			o.err = err
			return off
		}
		if n < 0 || n > len(buf)-off {
			t.Fatalf("n = %d out of range (%d pending)", n, len(buf)-off)
		}
		if args != nil {
			if n == 0 {
				t.Fatalf("args %q with n == 0", args)
			}
			if len(args) == 0 {
				t.Fatalf("empty non-nil args")
			}
			o.cmds = append(o.cmds, copyArgs(args))
		}
		if n == 0 {
			if need := r.Need(); need != 0 && need <= len(buf)-off {
				t.Fatalf("Need() = %d but %d bytes are pending", need, len(buf)-off)
			}
			return off
		}
		off += n
		o.consumed += n
	}
}

// parseWhole feeds data in one piece.
func parseWhole(t checker, data []byte, authed bool, lim Limits) outcome {
	t.Helper()
	var o outcome
	var r Reader
	drain(t, &r, bytes.Clone(data), authed, lim, &o)
	return o
}

// parseChunks feeds data in pieces of the given sizes (cycled), as a
// connection reads: into the room Reader.Room leaves, discarding consumed
// bytes, and moving the pending bytes to a new buffer whenever bytes were
// consumed, so the Reader cannot depend on the buffer's identity. It checks
// that the buffer stays in proportion to the bytes pending.
func parseChunks(t checker, data []byte, sizes []int, authed bool, lim Limits) outcome {
	t.Helper()
	var o outcome
	var r Reader
	var pending []byte
	for i := 0; len(data) > 0; i++ {
		size := 1
		if len(sizes) > 0 {
			size = max(1, sizes[i%len(sizes)])
		}
		pending = r.Room(pending)
		size = min(size, len(data), cap(pending)-len(pending))
		pending = append(pending, data[:size]...)
		data = data[size:]
		if c := cap(pending); c > max(shrinkAbove, 4*len(pending)+initialReadBuffer) {
			t.Fatalf("buffer of %d bytes for %d pending", c, len(pending))
		}
		n := drain(t, &r, pending, authed, lim, &o)
		if o.err != nil {
			return o
		}
		if n > 0 {
			pending = append(make([]byte, 0, cap(pending)), pending[n:]...)
		}
	}
	return o
}

func cmd(args ...string) []string { return args }

func mbulk(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func TestNextCommands(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     [][]string
		consumed int // -1: all of in
	}{
		{"multibulk", mbulk("B.GET", "key"), [][]string{cmd("B.GET", "key")}, -1},
		{"empty bulk", "*1\r\n$0\r\n\r\n", [][]string{cmd("")}, -1},
		{"binary bulk", "*1\r\n$4\r\n\x00\r\n\xff\r\n", [][]string{cmd("\x00\r\n\xff")}, -1},
		{"pipeline", mbulk("A") + mbulk("B", "c") + "PING\r\n", [][]string{cmd("A"), cmd("B", "c"), cmd("PING")}, -1},
		{"trailing bytes after a bulk are not checked", "*1\r\n$3\r\nfooXY", [][]string{cmd("foo")}, -1},
		{"byte after count line CR is not checked", "*1\rX$3\rYfoo\r\n", [][]string{cmd("foo")}, -1},
		{"incomplete multibulk", "*2\r\n$3\r\nfoo\r\n$3\r\nba", nil, 0},
		{"incomplete count", "*2", nil, 0},
		{"count line waits for the byte after CR", "*2\r", nil, 0},
		{"bulk header waits for CR", "*1\r\nfoo", nil, 0},
		{"eleven args when authed", mbulk("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"),
			[][]string{cmd("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")}, -1},

		{"ignored *0", "*0\r\n", nil, 4},
		{"ignored *-1", "*-1\r\n", nil, 5},
		{"ignored *-10", "*-10\r\n", nil, 6},
		{"ignored min int64", "*-9223372036854775808\r\n", nil, 23},
		{"ignored CRLF", "\r\n", nil, 2},
		{"ignored LF", "\n", nil, 1},
		{"ignored blanks", " \t \v\f \r\n", nil, 8},
		{"ignored then command", "*0\r\n\r\n" + mbulk("PING"), [][]string{cmd("PING")}, -1},

		{"inline", "SET a b\r\n", [][]string{cmd("SET", "a", "b")}, -1},
		{"inline LF only", "SET a b\n", [][]string{cmd("SET", "a", "b")}, -1},
		{"inline runs of blanks", "  SET\t a  \t b  \r\n", [][]string{cmd("SET", "a", "b")}, -1},
		{"inline CR inside the line splits", "a\rb\r\n", [][]string{cmd("a", "b")}, -1},
		{"inline vertical tab inside a word", "a\vb\r\n", [][]string{cmd("a\vb")}, -1},
		{"inline leading vertical tab skipped", "\va\r\n", [][]string{cmd("a")}, -1},
		{"inline double quotes", `SET "a b" c` + "\r\n", [][]string{cmd("SET", "a b", "c")}, -1},
		{"inline single quotes", `SET 'a "b"' c` + "\r\n", [][]string{cmd("SET", `a "b"`, "c")}, -1},
		{"inline escapes", `E "\n\r\t\b\a\\\"\q"` + "\r\n", [][]string{cmd("E", "\n\r\t\b\a\\\"q")}, -1},
		{"inline hex escapes", `E "\x41\x6a\xFF\x00"` + "\r\n", [][]string{cmd("E", "Aj\xff\x00")}, -1},
		{"inline bad hex escape", `E "\xZ1" "\x4"` + "\r\n", [][]string{cmd("E", "xZ1", "x4")}, -1},
		{"inline single quote escapes", `E 'it\'s' 'a\nb'` + "\r\n", [][]string{cmd("E", "it's", `a\nb`)}, -1},
		{"inline empty quoted args", `E "" ''` + "\r\n", [][]string{cmd("E", "", "")}, -1},
		{"inline quote inside a word", `E ab"c d"` + "\r\n", [][]string{cmd("E", "abc d")}, -1},
		{"inline quote then tab", "E \"a\"\tb\r\n", [][]string{cmd("E", "a", "b")}, -1},
		{"inline quote then vertical tab", "E \"a\"\vb\r\n", [][]string{cmd("E", "a", "b")}, -1},
		{"inline quote at end before CR", "E \"a\"\r\n", [][]string{cmd("E", "a")}, -1},
		{"inline starting with $", "$3\r\n", [][]string{cmd("$3")}, -1},
		{"inline incomplete", "PING", nil, 0},
		{"inline NUL hides the newline", "GET a\x00b\r\nPING\r\n", nil, 0},
		{"count line NUL hides the CR", "*1\x00\r\n", nil, 0},
		{"bulk header NUL hides the CR", "*1\r\n$\x003\r\nfoo\r\n", nil, 0},
		{"NUL inside a bulk is data", mbulk("a\x00b"), [][]string{cmd("a\x00b")}, -1},
		{"inline 64 KiB line with its newline", strings.Repeat("a", 70000) + "\n", [][]string{cmd(strings.Repeat("a", 70000))}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseWhole(t, []byte(tt.in), true, DefaultLimits())
			if o.err != nil {
				t.Fatalf("error %v", o.err)
			}
			if !reflect.DeepEqual(o.cmds, tt.want) {
				t.Errorf("commands %q, want %q", o.cmds, tt.want)
			}
			want := tt.consumed
			if want < 0 {
				want = len(tt.in)
			}
			if o.consumed != want {
				t.Errorf("consumed %d, want %d", o.consumed, want)
			}
		})
	}
}

func TestNextErrors(t *testing.T) {
	const (
		tooBigInline   = "ERR Protocol error: too big inline request"
		unbalanced     = "ERR Protocol error: unbalanced quotes in request"
		tooBigMbulk    = "ERR Protocol error: too big mbulk count string"
		invalidMbulk   = "ERR Protocol error: invalid multibulk length"
		unauthMbulk    = "ERR Protocol error: unauthenticated multibulk length"
		tooBigBulk     = "ERR Protocol error: too big bulk count string"
		invalidBulk    = "ERR Protocol error: invalid bulk length"
		unauthBulk     = "ERR Protocol error: unauthenticated bulk length"
		queryBufferErr = "query buffer"
	)
	small := Limits{MaxBulk: 100, QueryBuffer: 1000}
	def := DefaultLimits()
	tests := []struct {
		name   string
		in     string
		authed bool
		lim    Limits
		want   string // the ProtocolError's Msg, or queryBufferErr
	}{
		{"inline too big", "PING " + strings.Repeat("a", inlineMax), true, def, tooBigInline},
		{"inline NUL then too big", "PING\x00\n" + strings.Repeat("a", inlineMax), true, def, tooBigInline},
		{"unterminated double quote", `SET "a b` + "\r\n", true, def, unbalanced},
		{"unterminated single quote", `SET 'a b` + "\r\n", true, def, unbalanced},
		{"double quote followed by a letter", `SET "a"b` + "\r\n", true, def, unbalanced},
		{"single quote followed by a letter", `SET 'a'b` + "\r\n", true, def, unbalanced},
		{"closing quote escaped away", `SET "a\"` + "\r\n", true, def, unbalanced},
		{"backslash at end of quoted", `SET "a\` + "\r\n", true, def, unbalanced},
		{"inline error not hidden by auth", `"` + "\n", false, def, unbalanced},

		{"mbulk count too big", "*" + strings.Repeat("1", inlineMax), true, def, tooBigMbulk},
		{"mbulk count letters", "*abc\r\n", true, def, invalidMbulk},
		{"mbulk count empty", "*\r\n", true, def, invalidMbulk},
		{"mbulk count leading zero", "*01\r\n", true, def, invalidMbulk},
		{"mbulk count plus", "*+1\r\n", true, def, invalidMbulk},
		{"mbulk count space", "* 1\r\n", true, def, invalidMbulk},
		{"mbulk count trailing space", "*1 \r\n", true, def, invalidMbulk},
		{"mbulk count minus zero", "*-0\r\n", true, def, invalidMbulk},
		{"mbulk count minus", "*-\r\n", true, def, invalidMbulk},
		{"mbulk count over INT_MAX", "*2147483648\r\n", true, def, invalidMbulk},
		{"mbulk count 3e9", "*3000000000\r\n", true, def, invalidMbulk},
		{"mbulk count overflows int64", "*9223372036854775808\r\n", true, def, invalidMbulk},
		{"mbulk count LF only", "*1\n$3\r\nfoo\r\n", true, def, invalidMbulk},
		{"mbulk count unauthenticated", "*11\r\n", false, def, unauthMbulk},
		{"mbulk count invalid before unauthenticated", "*2147483648\r\n", false, def, invalidMbulk},

		{"expected $ got +", "*1\r\n+foo\r\n", true, def, "ERR Protocol error: expected '$', got '+'"},
		{"expected $ got CR", "*1\r\n\r\n", true, def, "ERR Protocol error: expected '$', got ' '"},
		{"expected $ got LF", "*1\r\n\n\r\n", true, def, "ERR Protocol error: expected '$', got ' '"},
		{"expected $ got high byte", "*1\r\n\xfe\r\n", true, def, "ERR Protocol error: expected '$', got '\xfe'"},
		{"expected $ in second arg", "*2\r\n$1\r\na\r\n:1\r\n", true, def, "ERR Protocol error: expected '$', got ':'"},
		{"bulk count too big", "*1\r\n$" + strings.Repeat("1", inlineMax), true, def, tooBigBulk},
		{"bulk length letters", "*1\r\n$foo\r\n", true, def, invalidBulk},
		{"bulk length empty", "*1\r\n$\r\n", true, def, invalidBulk},
		{"bulk length negative", "*1\r\n$-1\r\n", true, def, invalidBulk},
		{"bulk length leading zero", "*1\r\n$03\r\nfoo\r\n", true, def, invalidBulk},
		{"bulk length plus", "*1\r\n$+3\r\nfoo\r\n", true, def, invalidBulk},
		{"bulk length over MaxBulk", "*1\r\n$101\r\n", true, small, invalidBulk},
		{"bulk length 2e9 over default MaxBulk", "*1\r\n$2000000000\r\n", true, def, invalidBulk},
		{"bulk length unauthenticated", "*1\r\n$16385\r\n", false, def, unauthBulk},
		{"bulk length invalid before unauthenticated", "*1\r\n$2000000000\r\n", false, def, invalidBulk},

		{"query buffer inline", strings.Repeat("a", 1001), true, small, queryBufferErr},
		{"query buffer bulk", "*1\r\n$1500\r\n" + strings.Repeat("a", 1000), true, Limits{MaxBulk: 2000, QueryBuffer: 1000}, queryBufferErr},
		{"query buffer before too big inline", strings.Repeat("a", inlineMax+1), true, Limits{QueryBuffer: inlineMax}, queryBufferErr},
		{"unauthenticated query buffer is 1 MiB", strings.Repeat("a", 1<<20+1), false, def, queryBufferErr},
		{"authenticated has the configured query buffer", strings.Repeat("a", 1<<20+1), true, def, tooBigInline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseWhole(t, []byte(tt.in), tt.authed, tt.lim)
			if tt.want == queryBufferErr {
				if !errors.Is(o.err, ErrQueryBufferLimit) {
					t.Fatalf("error %v, want ErrQueryBufferLimit", o.err)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(o.err, &pe) {
				t.Fatalf("error %v (%s), want *ProtocolError %q", o.err, o, tt.want)
			}
			if pe.Msg != tt.want || pe.Error() != tt.want {
				t.Errorf("Msg %q, want %q", pe.Msg, tt.want)
			}
		})
	}
}

// TestNextLimitBoundaries checks the values just inside each limit.
func TestNextLimitBoundaries(t *testing.T) {
	ten := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	tests := []struct {
		name   string
		in     string
		authed bool
		lim    Limits
		want   [][]string
	}{
		{"ten args unauthenticated", mbulk(ten...), false, DefaultLimits(), [][]string{ten}},
		{"16384-byte bulk unauthenticated", mbulk(strings.Repeat("x", 16384)), false, DefaultLimits(), [][]string{{strings.Repeat("x", 16384)}}},
		{"16385-byte bulk authenticated", mbulk(strings.Repeat("x", 16385)), true, DefaultLimits(), [][]string{{strings.Repeat("x", 16385)}}},
		{"bulk of exactly MaxBulk", mbulk(strings.Repeat("x", 100)), true, Limits{MaxBulk: 100}, [][]string{{strings.Repeat("x", 100)}}},
		{"INT_MAX count authenticated waits", "*2147483647\r\n", true, DefaultLimits(), nil},
		{"inline of exactly 64 KiB pending waits", strings.Repeat("a", inlineMax), true, DefaultLimits(), nil},
		{"count line of exactly 64 KiB pending waits", "*" + strings.Repeat("1", inlineMax-1), true, DefaultLimits(), nil},
		{"pending bytes equal to QueryBuffer wait", "*1\r\n$100\r\n" + strings.Repeat("a", 90), true, Limits{QueryBuffer: 100}, nil},
		{"zero limits mean the defaults", mbulk(strings.Repeat("x", 1000)), true, Limits{}, [][]string{{strings.Repeat("x", 1000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseWhole(t, []byte(tt.in), tt.authed, tt.lim)
			if o.err != nil {
				t.Fatalf("error %v", o.err)
			}
			if !reflect.DeepEqual(o.cmds, tt.want) {
				t.Errorf("commands %.80q, want %.80q", o.cmds, tt.want)
			}
		})
	}
}

// TestNextHeaderValidatedEarly checks that a bad count is refused as soon as
// its line is complete, before the rest of the command arrives.
func TestNextHeaderValidatedEarly(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
	}{
		{"huge mbulk count", "*3000000000\r\n", DefaultLimits()},
		{"huge bulk", "*1\r\n$2000000000\r\n", DefaultLimits()},
		{"bulk over small MaxBulk", "*2\r\n$1\r\na\r\n$11\r\n", Limits{MaxBulk: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			_, _, err := r.Next([]byte(tt.in), true, tt.lim)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a protocol error", err)
			}
		})
	}
}

// stream is a mix of everything the reader accepts.
var stream = strings.Join([]string{
	mbulk("SET", "key", "value"),
	"*0\r\n",
	"PING\r\n",
	"\r\n",
	mbulk("B.GET", strings.Repeat("k", 40)),
	`SET "a \x41\"b" 'c\'d' e` + "\n",
	"*-1\r\n",
	mbulk(""),
	mbulk("x\r\ny", "\x00"),
	"  \t\r\n",
	"*1\rX$3\rYfoo\r\n",
	"*3\r\n$10\r\n0123456789\r\n$1\rXY\r\n$2\r\nab\r\n",
	mbulk("LAST"),
}, "")

var streamWant = [][]string{
	{"SET", "key", "value"},
	{"PING"},
	{"B.GET", strings.Repeat("k", 40)},
	{"SET", "a A\"b", "c'd", "e"},
	{""},
	{"x\r\ny", "\x00"},
	{"foo"},
	{"0123456789", "Y", "ab"},
	{"LAST"},
}

func TestNextSplitAtEveryByte(t *testing.T) {
	data := []byte(stream)
	whole := parseWhole(t, data, true, DefaultLimits())
	if whole.err != nil || whole.consumed != len(data) || !reflect.DeepEqual(whole.cmds, streamWant) {
		t.Fatalf("whole stream: %s", whole)
	}
	for k := 1; k < len(data); k++ {
		got := parseChunks(t, data, []int{k, len(data)}, true, DefaultLimits())
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("split at %d: %s, want %s", k, got, whole)
		}
	}
	if !testing.Short() {
		for k1 := 1; k1 < len(data); k1++ {
			for k2 := k1 + 1; k2 < len(data); k2++ {
				got := parseChunks(t, data, []int{k1, k2 - k1, len(data)}, true, DefaultLimits())
				if !reflect.DeepEqual(got, whole) {
					t.Fatalf("split at %d and %d: %s, want %s", k1, k2, got, whole)
				}
			}
		}
	}
	tests := []struct {
		name  string
		sizes []int
	}{
		{"byte by byte", []int{1}},
		{"pairs", []int{2}},
		{"threes and sevens", []int{3, 7}},
		{"odd", []int{5, 1, 13, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseChunks(t, data, tt.sizes, true, DefaultLimits()); !reflect.DeepEqual(got, whole) {
				t.Fatalf("%s, want %s", got, whole)
			}
		})
	}
}

func TestNextErrorAtEveryByte(t *testing.T) {
	tests := []string{
		mbulk("PING") + "*1\r\n$foo\r\n",
		mbulk("PING") + "*1\r\n+foo\r\n",
		mbulk("PING") + "*1x\r\n",
		"PING\r\nSET \"a\r\n",
		"*1\r\n$4\r\nPING\r\n*11\r\n",
		"*2\r\n$10\r\n0123456789\r\n+\r\n",
		"*2\r\n$10\r\n0123456789\r\n$1x\r\n",
		"*1\r\n$16385\r\n",
	}
	for _, in := range tests {
		for _, authed := range []bool{true, false} {
			data := []byte(in)
			whole := parseWhole(t, data, authed, DefaultLimits())
			if whole.err == nil && !authed {
				t.Fatalf("%q: no error", in)
			}
			for k1 := 1; k1 < len(data); k1++ {
				for k2 := k1 + 1; k2 <= len(data); k2++ {
					got := parseChunks(t, data, []int{k1, k2 - k1, len(data)}, authed, DefaultLimits())
					if !reflect.DeepEqual(got, whole) {
						t.Fatalf("%q split at %d and %d: %s, want %s", in, k1, k2, got, whole)
					}
				}
			}
		}
	}
}

func TestNeed(t *testing.T) {
	prefix := "*2\r\n$5\r\nB.GET\r\n$3\r\n"
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"waiting for a bulk", prefix + "ke", len(prefix) + 3 + 2},
		{"waiting for a bulk's CRLF", prefix + "key", len(prefix) + 3 + 2},
		{"waiting for a bulk's LF", prefix + "key\r", len(prefix) + 3 + 2},
		{"waiting for a count line's LF", "*2\r", 4},
		{"waiting for a bulk header's LF", "*2\r\n$5\r", 8},
		{"waiting for a count line", "*2", 0},
		{"waiting for a bulk header", "*2\r\n$5", 0},
		{"waiting for an inline line", "PING", 0},
		{"large bulk", "*1\r\n$100000\r\nabc", 4 + 9 + 100000 + 2},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			args, n, err := r.Next([]byte(tt.in), true, DefaultLimits())
			if args != nil || n != 0 || err != nil {
				t.Fatalf("Next = %q, %d, %v; want an incomplete command", args, n, err)
			}
			if got := r.Need(); got != tt.want {
				t.Errorf("Need() = %d, want %d", got, tt.want)
			}
		})
	}

	// After a command, Need is 0 again; feeding exactly Need bytes completes.
	var r Reader
	full := []byte(prefix + "key\r\n")
	if _, _, err := r.Next(full[:len(prefix)], true, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	need := r.Need()
	if need != len(full) {
		t.Fatalf("Need() = %d, want %d", need, len(full))
	}
	args, n, err := r.Next(full[:need], true, DefaultLimits())
	if err != nil || n != len(full) || len(args) != 2 {
		t.Fatalf("Next = %q, %d, %v", args, n, err)
	}
	if r.Need() != 0 {
		t.Errorf("Need() = %d after a command", r.Need())
	}
}

// TestNextResumesLargeBulk feeds a large bulk in pieces and checks that the
// result does not depend on them and that the args do not expose the buffer
// beyond themselves.
func TestNextResumesLargeBulk(t *testing.T) {
	big := strings.Repeat("0123456789", 100000)
	data := []byte(mbulk("SET", "k", big) + mbulk("GET", "k"))
	got := parseChunks(t, data, []int{16384, 1, 7}, true, DefaultLimits())
	want := [][]string{{"SET", "k", big}, {"GET", "k"}}
	if got.err != nil || !reflect.DeepEqual(got.cmds, want) {
		t.Fatalf("got %.200s", got)
	}

	var r Reader
	buf := []byte(mbulk("A", "B"))
	args, _, _ := r.Next(buf, true, DefaultLimits())
	if cap(args[0]) != len(args[0]) {
		t.Errorf("cap(args[0]) = %d, want %d", cap(args[0]), len(args[0]))
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	buf := []byte(mbulk("B.GET", "key"))
	var r Reader
	lim := DefaultLimits()
	r.Next(buf, true, lim) // warm the args table
	allocs := testing.AllocsPerRun(1000, func() {
		args, n, err := r.Next(buf, true, lim)
		if err != nil || n != len(buf) || len(args) != 2 {
			t.Fatalf("Next = %q, %d, %v", args, n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per command, want 0", allocs)
	}

	line := []byte("B.GET key\r\n")
	inl := make([]byte, len(line))
	allocs = testing.AllocsPerRun(1000, func() {
		copy(inl, line)
		if args, _, err := r.Next(inl, true, lim); err != nil || len(args) != 2 {
			t.Fatalf("Next = %q, %v", args, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per inline command, want 0", allocs)
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"000000000000000000001", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// pipeline16 is 16 small commands, as redis-benchmark -P 16 sends them.
func pipeline16() []byte {
	var b []byte
	for i := range 16 {
		b = append(b, mbulk("B.GET", "key:"+strconv.Itoa(i))...)
	}
	return b
}

func BenchmarkNext(b *testing.B) {
	buf := pipeline16()
	lim := DefaultLimits()
	var r Reader
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for off := 0; off < len(buf); {
			args, n, err := r.Next(buf[off:], true, lim)
			if err != nil || len(args) != 2 {
				b.Fatalf("Next = %q, %d, %v", args, n, err)
			}
			off += n
		}
	}
}

func BenchmarkNextInline(b *testing.B) {
	var src []byte
	for i := range 16 {
		src = append(src, "B.GET key:"+strconv.Itoa(i)+"\r\n"...)
	}
	buf := make([]byte, len(src))
	lim := DefaultLimits()
	var r Reader
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		copy(buf, src)
		for off := 0; off < len(buf); {
			args, n, err := r.Next(buf[off:], true, lim)
			if err != nil || len(args) != 2 {
				b.Fatalf("Next = %q, %d, %v", args, n, err)
			}
			off += n
		}
	}
}

// BenchmarkNextLargeBulkChunked measures a 1 MiB bulk arriving 16 KiB at a
// time: the pending bulk must not be re-scanned on every read.
func BenchmarkNextLargeBulkChunked(b *testing.B) {
	data := []byte(mbulk("SET", "k", strings.Repeat("v", 1<<20)))
	lim := DefaultLimits()
	var r Reader
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for end := 16384; ; end += 16384 {
			end = min(end, len(data))
			args, n, err := r.Next(data[:end], true, lim)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				if len(args) != 3 {
					b.Fatalf("args %d", len(args))
				}
				break
			}
		}
	}
}
