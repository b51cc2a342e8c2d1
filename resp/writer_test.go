package resp

import (
	"math"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer)
		resp2 string
		resp3 string
	}{
		{"ok", func(w *Writer) { w.OK() }, "+OK\r\n", "+OK\r\n"},
		{"simple", func(w *Writer) { w.Simple("PONG") }, "+PONG\r\n", "+PONG\r\n"},
		{"simple newlines", func(w *Writer) { w.Simple("a\r\nb\nc") }, "+a  b c\r\n", "+a  b c\r\n"},
		{"simple empty", func(w *Writer) { w.Simple("") }, "+\r\n", "+\r\n"},
		{"error", func(w *Writer) { w.Error("ERR unknown command") }, "-ERR unknown command\r\n", "-ERR unknown command\r\n"},
		{"error newlines", func(w *Writer) { w.Error("ERR bad\r\nthing\r") }, "-ERR bad  thing \r\n", "-ERR bad  thing \r\n"},
		{"int", func(w *Writer) { w.Int(42) }, ":42\r\n", ":42\r\n"},
		{"int zero", func(w *Writer) { w.Int(0) }, ":0\r\n", ":0\r\n"},
		{"int negative", func(w *Writer) { w.Int(-7) }, ":-7\r\n", ":-7\r\n"},
		{"int min", func(w *Writer) { w.Int(math.MinInt64) }, ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"bulk", func(w *Writer) { w.Bulk([]byte("hello")) }, "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
		{"bulk binary", func(w *Writer) { w.Bulk([]byte("a\r\n\x00b")) }, "$5\r\na\r\n\x00b\r\n", "$5\r\na\r\n\x00b\r\n"},
		{"bulk empty", func(w *Writer) { w.Bulk(nil) }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"bulk string", func(w *Writer) { w.BulkString("0123456789") }, "$10\r\n0123456789\r\n", "$10\r\n0123456789\r\n"},
		{"null", func(w *Writer) { w.Null() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *Writer) { w.NullArray() }, "*-1\r\n", "_\r\n"},
		{"array", func(w *Writer) { w.Array(3) }, "*3\r\n", "*3\r\n"},
		{"array empty", func(w *Writer) { w.Array(0) }, "*0\r\n", "*0\r\n"},
		{"array large", func(w *Writer) { w.Array(12) }, "*12\r\n", "*12\r\n"},
		{"map", func(w *Writer) { w.Map(2) }, "*4\r\n", "%2\r\n"},
		{"map large", func(w *Writer) { w.Map(10) }, "*20\r\n", "%10\r\n"},
		{"set", func(w *Writer) { w.Set(3) }, "*3\r\n", "~3\r\n"},
		{"set large", func(w *Writer) { w.Set(30) }, "*30\r\n", "~30\r\n"},
		{"push", func(w *Writer) { w.Push(3) }, "*3\r\n", ">3\r\n"},
		{"push large", func(w *Writer) { w.Push(11) }, "*11\r\n", ">11\r\n"},
		{"double integer", func(w *Writer) { w.Double(180) }, "$3\r\n180\r\n", ",180\r\n"},
		{"double fraction", func(w *Writer) { w.Double(2.5) }, "$3\r\n2.5\r\n", ",2.5\r\n"},
		{"double negative", func(w *Writer) { w.Double(-0.1) }, "$4\r\n-0.1\r\n", ",-0.1\r\n"},
		{"double exponent", func(w *Writer) { w.Double(1e21) }, "$5\r\n1e+21\r\n", ",1e+21\r\n"},
		{"double small", func(w *Writer) { w.Double(1e-7) }, "$4\r\n1e-7\r\n", ",1e-7\r\n"},
		{"double long", func(w *Writer) { w.Double(-2.2250738585072014e-308) },
			"$24\r\n-2.2250738585072014e-308\r\n", ",-2.2250738585072014e-308\r\n"},
		{"double negative zero", func(w *Writer) { w.Double(math.Copysign(0, -1)) }, "$1\r\n0\r\n", ",0\r\n"},
		{"double nan", func(w *Writer) { w.Double(math.NaN()) }, "$3\r\nnan\r\n", ",nan\r\n"},
		{"double inf", func(w *Writer) { w.Double(math.Inf(1)) }, "$3\r\ninf\r\n", ",inf\r\n"},
		{"double -inf", func(w *Writer) { w.Double(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"bool true", func(w *Writer) { w.Bool(true) }, ":1\r\n", "#t\r\n"},
		{"bool false", func(w *Writer) { w.Bool(false) }, ":0\r\n", "#f\r\n"},
		{"verbatim", func(w *Writer) { w.Verbatim("txt", "hello\nworld") }, "$11\r\nhello\nworld\r\n", "=15\r\ntxt:hello\nworld\r\n"},
		{"verbatim empty", func(w *Writer) { w.Verbatim("mkd", "") }, "$0\r\n\r\n", "=4\r\nmkd:\r\n"},
		{"verbatim short format", func(w *Writer) { w.Verbatim("t", "x") }, "$1\r\nx\r\n", "=5\r\nt  :x\r\n"},
		{"verbatim long format", func(w *Writer) { w.Verbatim("text", "x") }, "$1\r\nx\r\n", "=5\r\ntex:x\r\n"},
		{"raw", func(w *Writer) { w.Raw([]byte("+RAW\r\n")) }, "+RAW\r\n", "+RAW\r\n"},
		{"nested", func(w *Writer) {
			w.Map(1)
			w.BulkString("k")
			w.Array(2)
			w.Int(1)
			w.Null()
		}, "*2\r\n$1\r\nk\r\n*2\r\n:1\r\n$-1\r\n", "%1\r\n$1\r\nk\r\n*2\r\n:1\r\n_\r\n"},
		{"reset", func(w *Writer) {
			w.OK()
			w.Reset()
			w.Int(1)
		}, ":1\r\n", ":1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				proto int
				want  string
			}{{0, tt.resp2}, {2, tt.resp2}, {3, tt.resp3}} {
				w := Writer{Proto: c.proto}
				tt.write(&w)
				if got := string(w.B); got != c.want {
					t.Errorf("Proto %d: %q, want %q", c.proto, got, c.want)
				}
			}
		})
	}
}

func TestWriterAppends(t *testing.T) {
	w := Writer{B: []byte("prefix:")}
	w.Int(1)
	if got := string(w.B); got != "prefix::1\r\n" {
		t.Errorf("got %q", got)
	}
}

func TestAppendHelpers(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"push resp2", AppendPush(nil, 2, 3), "*3\r\n"},
		{"push resp3", AppendPush(nil, 3, 3), ">3\r\n"},
		{"push zero proto", AppendPush([]byte("x"), 0, 10), "x*10\r\n"},
		{"bulk string", AppendBulkString(nil, "message"), "$7\r\nmessage\r\n"},
		{"bulk string empty", AppendBulkString([]byte("*1\r\n"), ""), "*1\r\n$0\r\n\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestWriterDoesNotAllocate(t *testing.T) {
	w := Writer{B: make([]byte, 0, 4096), Proto: 2}
	long := strings.Repeat("x", 100)
	allocs := testing.AllocsPerRun(100, func() {
		w.Reset()
		w.Array(5)
		w.BulkString(long)
		w.Int(123456)
		w.Double(3.25)
		w.Simple("a\nb")
		w.Error("ERR x\ny")
		w.Proto = 3
		w.Double(1e300)
		w.Map(2)
		w.Verbatim("txt", long)
		w.Proto = 2
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

func BenchmarkWriter(b *testing.B) {
	w := Writer{B: make([]byte, 0, 4096)}
	val := []byte(`{"name":"bucketd","n":180}`)
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		for range 16 {
			w.Bulk(val)
		}
	}
}

// fixedJSON is a JSONAppender whose JSONLen may lie.
type fixedJSON struct {
	text string
	n    int
}

func (f fixedJSON) JSONLen() int                 { return f.n }
func (f fixedJSON) AppendJSON(dst []byte) []byte { return append(dst, f.text...) }

func TestBulkJSON(t *testing.T) {
	for _, proto := range []int{2, 3} {
		w := Writer{Proto: proto, B: []byte("+x\r\n")}
		w.BulkJSON(fixedJSON{`{"a":1}`, 7})
		if got, want := string(w.B), "+x\r\n$7\r\n{\"a\":1}\r\n"; got != want {
			t.Errorf("RESP%d BulkJSON = %q, want %q", proto, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("BulkJSON with a wrong JSONLen did not panic (the reply would be malformed)")
		}
	}()
	var w Writer
	w.BulkJSON(fixedJSON{`{"a":1}`, 6})
}

// TestBulkJSONLate: with Late, BulkJSON leaves room that Fill writes, so
// that the bytes end as without Late, whatever was written in between and
// however B grew.
func TestBulkJSONLate(t *testing.T) {
	long := strings.Repeat("x", 5000) // makes B grow between BulkJSON and Fill
	write := func(w *Writer) {
		w.BulkJSON(fixedJSON{`{"a":1}`, 7})
		w.Int(5)
		w.BulkJSON(fixedJSON{`{"b":"` + long + `"}`, len(long) + 8})
		w.BulkString(long)
		w.BulkJSON(fixedJSON{`{}`, 2})
	}
	var now, late Writer
	late.Late = true
	write(&now)
	write(&late)
	late.Fill()
	if string(late.B) != string(now.B) {
		t.Fatalf("late writes differ:\n%q\nwant\n%q", late.B, now.B)
	}
	if len(late.late) != 0 {
		t.Errorf("%d texts left after Fill", len(late.late))
	}
	late.B = late.B[:0]
	late.Fill() // nothing left: harmless on a reset buffer
	defer func() {
		if recover() == nil {
			t.Error("Fill with a wrong JSONLen did not panic (the reply would be malformed)")
		}
	}()
	late.BulkJSON(fixedJSON{`{"a":1}`, 6})
	late.Fill()
}
