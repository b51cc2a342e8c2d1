package commands

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// forwardReplies are whole RESP2 and RESP3 replies, each as the leader
// sends it.
var forwardReplies = []struct {
	name, reply string
}{
	{"simple", "+OK\r\n"},
	{"empty simple", "+\r\n"},
	{"simple with a CR inside", "+a\rb\r\n"},
	{"error", "-ERR unknown command 'x'\r\n"},
	{"integer", ":42\r\n"},
	{"negative integer", ":-7\r\n"},
	{"bulk", "$5\r\nhello\r\n"},
	{"bulk holding CRLFs and markers", "$11\r\n*1\r\n$1\r\nx\r\n\r\n"},
	{"binary bulk", "$4\r\n\x00\xff\r\x01\r\n"},
	{"empty bulk", "$0\r\n\r\n"},
	{"null bulk", "$-1\r\n"},
	{"large bulk", "$100000\r\n" + strings.Repeat("z", 100000) + "\r\n"},
	{"empty array", "*0\r\n"},
	{"null array", "*-1\r\n"},
	{"array", "*3\r\n$3\r\nfoo\r\n:1\r\n$-1\r\n"},
	{"nested arrays", "*2\r\n*2\r\n+a\r\n*1\r\n:1\r\n*0\r\n"},
	{"array of errors and nulls", "*3\r\n-ERR x\r\n*-1\r\n_\r\n"},
	{"map", "%2\r\n+k1\r\n:1\r\n$2\r\nk2\r\n*2\r\n+x\r\n+y\r\n"},
	{"empty map", "%0\r\n"},
	{"set", "~3\r\n+a\r\n:2\r\n,3.5\r\n"},
	{"push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nmsg\r\n"},
	{"attribute then its reply", "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039\r\n:9543892\r\n"},
	{"attribute inside an array", "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:2\r\n"},
	{"attribute before a null", "|0\r\n_\r\n"},
	{"null", "_\r\n"},
	{"double", ",3.14159\r\n"},
	{"double inf", ",-inf\r\n"},
	{"boolean", "#t\r\n"},
	{"big number", "(3492890328409238509324850943850943825024385\r\n"},
	{"verbatim", "=15\r\ntxt:Some string\r\n"},
	{"blob error", "!21\r\nSYNTAX invalid syntax\r\n"},
	{"blob error with CRLF inside", "!6\r\nA\r\nB\r\n\r\n"},
}

// forwardReaders gives a reader of data in each shape readReply meets: whole, a
// byte at a time (every read short), and half at a time.
var forwardReaders = map[string]func(data string) *bufio.Reader{
	"whole":    func(d string) *bufio.Reader { return bufio.NewReader(strings.NewReader(d)) },
	"one byte": func(d string) *bufio.Reader { return bufio.NewReader(iotest.OneByteReader(strings.NewReader(d))) },
	"half":     func(d string) *bufio.Reader { return bufio.NewReader(iotest.HalfReader(strings.NewReader(d))) },
}

// TestReadReplyOne checks that readReply appends to dst exactly the bytes
// of one whole reply, of every RESP2 and RESP3 type, and leaves the next
// reply unread: two replies back to back come out one per call, then
// io.EOF.
func TestReadReplyOne(t *testing.T) {
	t.Parallel()
	for _, first := range forwardReplies {
		for _, second := range []string{"+NEXT\r\n", "$3\r\nnxt\r\n", first.reply} {
			for rname, mk := range forwardReaders {
				r := mk(first.reply + second)
				got, err := readReply(r, []byte("dst:"))
				if err != nil || string(got) != "dst:"+first.reply {
					t.Errorf("%s (%s reader): readReply = %q, %v; want %q", first.name, rname, trunc(got), err, trunc([]byte("dst:"+first.reply)))
					continue
				}
				got, err = readReply(r, nil)
				if err != nil || string(got) != second {
					t.Errorf("%s (%s reader): the next reply read as %q, %v; want %q", first.name, rname, trunc(got), err, trunc([]byte(second)))
					continue
				}
				if got, err := readReply(r, nil); err != io.EOF || len(got) != 0 {
					t.Errorf("%s (%s reader): after both replies: %q, %v; want io.EOF", first.name, rname, got, err)
				}
			}
		}
	}
}

// trunc shortens long replies in messages.
func trunc(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// TestReadReplyMalformed checks that input that is not a whole RESP reply
// is an error: a line without CRLF, a bad length, an unknown type byte, a
// bulk or an aggregate cut short, an attribute with no reply after it.
func TestReadReplyMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		bad      bool // the error is errBadReply (else a read error)
	}{
		{"nothing", "", false},
		{"no CRLF at the end", "+OK", false},
		{"LF only", "+OK\n", true},
		{"bare CRLF", "\r\n", true},
		{"bare LF", "\n", true},
		{"type only", "+\n", true},
		{"unknown type byte", "?what\r\n", true},
		{"plain text", "hello world\r\n", true},
		{"lowercase command", "ok\r\n", true},
		{"bulk length not a number", "$abc\r\n", true},
		{"bulk length empty", "$\r\n", true},
		{"bulk length with a space", "$ 5\r\nhello\r\n", true},
		{"array length not a number", "*x\r\n", true},
		{"map length float", "%1.5\r\n", true},
		{"set length hex", "~0x2\r\n", true},
		{"verbatim length bad", "=1a\r\n", true},
		{"blob error length bad", "!-\r\n", true},
		{"attribute length bad", "|?\r\n", true},
		{"push length bad", ">\r\n", true},
		{"truncated bulk", "$5\r\nhel", false},
		{"bulk without its CRLF", "$5\r\nhello", false},
		{"bulk with half its CRLF", "$5\r\nhello\r", false},
		{"truncated verbatim", "=15\r\ntxt:Some", false},
		{"truncated blob error", "!21\r\nSYNTAX", false},
		{"array cut short", "*3\r\n:1\r\n:2\r\n", false},
		{"array element cut short", "*1\r\n$3\r\nab", false},
		{"nested array cut short", "*2\r\n*2\r\n:1\r\n", false},
		{"map without its last value", "%2\r\n+a\r\n:1\r\n+b\r\n", false},
		{"set cut short", "~2\r\n+a\r\n", false},
		{"push cut short", ">2\r\n+a\r\n", false},
		{"attribute without its reply", "|1\r\n+a\r\n+b\r\n", false},
		{"bad element in an array", "*2\r\n:1\r\n?\r\n", true},
		{"bad element in a map", "%1\r\n+k\r\n$x\r\n", true},
		{"bad reply after an attribute", "|0\r\n@\r\n", true},
		{"bulk not ended by CRLF", "$2\r\nabc\r\n+X\r\n", true},
		{"bulk length past the limit", "$99999999999999\r\n", true},
		{"bulk length that overflows", "$9223372036854775807\r\n", true},
		{"bulk length below -1", "$-2\r\n", true},
		{"array length past the limit", "*4611686018427387904\r\n", true},
		{"array length below -1", "*-5\r\n", true},
	}
	for _, tc := range tests {
		for rname, mk := range forwardReaders {
			_, err := readReply(mk(tc.in), nil)
			if err == nil {
				t.Errorf("%s (%s reader): readReply(%q) succeeded", tc.name, rname, tc.in)
				continue
			}
			if errors.Is(err, errBadReply) != tc.bad {
				t.Errorf("%s (%s reader): readReply(%q) = %v; errBadReply %v, want %v", tc.name, rname, tc.in, err, !tc.bad, tc.bad)
			}
		}
	}
}

// TestReadReplyLongLine checks that a line longer than the reader's
// buffer is read whole, and the next reply after it.
func TestReadReplyLongLine(t *testing.T) {
	t.Parallel()
	in := "+" + strings.Repeat("x", 100) + "\r\n:1\r\n"
	r := bufio.NewReaderSize(strings.NewReader(in), 16)
	got, err := readReply(r, nil)
	if err != nil || string(got) != in[:len(in)-4] {
		t.Fatalf("readReply of a 103-byte line through a 16-byte buffer: %q, %v", got, err)
	}
	if next, err := readReply(r, nil); err != nil || string(next) != ":1\r\n" {
		t.Fatalf("the reply after it: %q, %v", next, err)
	}
}

// TestAppendCommand checks that appendCommand writes args as a RESP array
// of bulk strings after what dst holds, and that readReply reads it back
// as one reply, byte for byte.
func TestAppendCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"none", nil, "*0\r\n"},
		{"one", []string{"PING"}, "*1\r\n$4\r\nPING\r\n"},
		{"several", []string{"SET", "k", "v"}, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
		{"empty arg", []string{"ECHO", ""}, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"},
		{"binary arg", []string{"\r\n$1\r\n*\x00\xff"}, "*1\r\n$9\r\n\r\n$1\r\n*\x00\xff\r\n"},
		{"long arg", []string{strings.Repeat("a", 1234)}, "*1\r\n$1234\r\n" + strings.Repeat("a", 1234) + "\r\n"},
		{"ten args", strings.Split("a b c d e f g h i j", " "), "*10\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n"},
	}
	for _, tc := range tests {
		var args [][]byte
		for _, a := range tc.args {
			args = append(args, []byte(a))
		}
		got := appendCommand([]byte("prev"), args)
		if string(got) != "prev"+tc.want {
			t.Errorf("%s: appendCommand = %q, want %q", tc.name, trunc(got), trunc([]byte("prev"+tc.want)))
			continue
		}
		back, err := readReply(bufio.NewReader(bytes.NewReader(got[4:])), nil)
		if err != nil || string(back) != tc.want {
			t.Errorf("%s: readReply of the command = %q, %v", tc.name, trunc(back), err)
		}
	}
	// A nil argument is an empty bulk, as an empty one.
	if got := appendCommand(nil, [][]byte{nil}); string(got) != "*1\r\n$0\r\n\r\n" {
		t.Errorf("appendCommand(nil arg) = %q", got)
	}
}

// FuzzReadReply feeds readReply arbitrary input: it must never panic, and
// when it returns no error the bytes it returns are a prefix of the input,
// exactly the bytes it consumed, read the same through a reader that
// returns one byte at a time, and themselves one whole reply.
func FuzzReadReply(f *testing.F) {
	for _, r := range forwardReplies {
		if len(r.reply) < 1000 {
			f.Add([]byte(r.reply + "+NEXT\r\n"))
		}
	}
	f.Add([]byte("$5\r\nhel"))
	f.Add([]byte("*2\r\n:1\r\n"))
	f.Add([]byte("|1\r\n+a\r\n"))
	f.Add([]byte("?\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		got, err := readReply(r, nil)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatalf("readReply(%q) = %q: not a prefix of the input", data, got)
		}
		rest, _ := io.ReadAll(r)
		if len(got)+len(rest) != len(data) {
			t.Fatalf("readReply(%q) = %q but left %q unread", data, got, rest)
		}
		slow, err := readReply(bufio.NewReader(iotest.OneByteReader(bytes.NewReader(data))), []byte("x"))
		if err != nil || string(slow) != "x"+string(got) {
			t.Fatalf("readReply(%q) = %q, but a byte at a time %q, %v", data, got, slow, err)
		}
		again, err := readReply(bufio.NewReader(bytes.NewReader(got)), nil)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("readReply(%q) = %q, which reads back as %q, %v", data, got, again, err)
		}
	})
}
