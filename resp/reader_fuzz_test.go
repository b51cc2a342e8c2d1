package resp

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzReader checks that an arbitrary byte stream fed in chunks of fuzzed
// sizes gives exactly the commands, the bytes consumed and the first error
// that feeding it whole gives; that Next never panics; that Need is never
// negative nor already satisfied while Next waits; and that every command
// survives a round trip through the multibulk encoding.
func FuzzReader(f *testing.F) {
	seeds := []string{
		stream,
		mbulk("B.GET", "key"),
		"PING\r\n",
		"*0\r\n*-1\r\n\r\n\n",
		`SET "a\x41\n" 'b\'c'` + "\r\n",
		`"unterminated` + "\r\n",
		`"a"b` + "\r\n",
		"*3000000000\r\n",
		"*1\r\n$2000000000\r\n",
		"*11\r\n",
		"*1\r\n$16385\r\n",
		"*1\r\n$65\r\n" + strings.Repeat("x", 65) + "\r\n",
		"*1\r\n+foo\r\n",
		"*01\r\n",
		"*1\rX$3\rYfoo\r\n",
		"GET a\x00b\r\n",
		"*1\x00\r\n",
		"*2\r\n$10\r\n0123456789\r\n+\r\n",
		// Big bulks, split by the chunk sizes: the buffer grows by
		// doubling and stops at the bulk's end (Reader.Room).
		mbulk("SET", strings.Repeat("v", 40000)) + mbulk("GET", "k"),
		"*2\r\n$3\r\nSET\r\n$536870000\r\n" + strings.Repeat("w", 5000),
		"*1\r\n$33000\r\n" + strings.Repeat("q", 33000) + "\r\n*1\r\n$1\r\nx\r\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), []byte{byte(i), 3, 1}, i%2 == 0, byte(i))
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte, authed bool, limSel byte) {
		// Past 64 KiB the outcome legitimately depends on where reads end
		// (an inline line is refused only if its newline has not arrived).
		if len(data) > 60000 {
			t.Skip()
		}
		lim := DefaultLimits()
		if limSel&1 != 0 {
			lim.MaxBulk = 64
		}
		chunks := make([]int, len(sizes))
		for i, s := range sizes {
			chunks[i] = int(s)%40 + 1
		}

		whole := parseWhole(t, data, authed, lim)
		got := parseChunks(t, data, chunks, authed, lim)
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("in chunks %v: %s\nwhole: %s", chunks, got, whole)
		}

		// Re-encode every command as a multibulk: the reader must give it back.
		var enc strings.Builder
		for _, c := range whole.cmds {
			enc.WriteString(mbulk(c...))
		}
		again := parseWhole(t, []byte(enc.String()), true, Limits{MaxBulk: 1 << 20})
		if again.err != nil || !reflect.DeepEqual(again.cmds, whole.cmds) {
			t.Fatalf("round trip: %s\nwant %s", again, whole)
		}
	})
}

// TestFuzzSeedsChunked is a quick deterministic sweep over the seed corpus,
// byte by byte and with a few chunk patterns, unauthenticated and not.
func TestFuzzSeedsChunked(t *testing.T) {
	inputs := []string{stream, mbulk("a", strings.Repeat("b", 300)), "*2\r\n$1\r\na\r\n$1\r\nb\r\n*x\r\n",
		mbulk("SET", strings.Repeat("c", 100000)) + mbulk("GET", "k"), "*1\r\n$536870000\r\n" + strings.Repeat("d", 70000)}
	for i, in := range inputs {
		for _, authed := range []bool{true, false} {
			whole := parseWhole(t, []byte(in), authed, DefaultLimits())
			for _, sizes := range [][]int{{1}, {2, 3}, {17}} {
				got := parseChunks(t, []byte(in), sizes, authed, DefaultLimits())
				if !reflect.DeepEqual(got, whole) {
					t.Fatalf("input %d authed %v sizes %v: %s, want %s", i, authed, sizes, got, whole)
				}
			}
		}
	}
}

// FuzzSplitArgs checks the inline splitter: it never panics, decoded
// arguments never outgrow their source, the quote-free fast path agrees with
// the step-by-step sdssplitargs port, and a line made of the arguments, each
// double-quoted with every byte escaped as \xHH, splits back into them.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{
		"SET a b", `SET "a b" 'c d'`, `"\x41\n\t\"\\"`, `'it\'s'`, `a"b c"`, "a\vb \va\f", `"a"b`, `"unterminated`,
		"  \t\r ", "a\rb", `"\xZZ"`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		src := bytes.Clone(line)
		args, ok := splitArgs(line, nil)
		if ok {
			total := 0
			for _, a := range args {
				total += len(a)
			}
			if total > len(src) {
				t.Fatalf("%q split into %d bytes", src, total)
			}
		}
		if bytes.IndexByte(src, 0) < 0 && bytes.IndexByte(src, '"') < 0 && bytes.IndexByte(src, '\'') < 0 {
			want, wok := splitQuoted(bytes.Clone(src), nil)
			if !ok || !wok || !reflect.DeepEqual(args, want) {
				t.Fatalf("%q: fast path %q, %v; careful path %q, %v", src, args, ok, want, wok)
			}
		}
		if !ok {
			return
		}
		var enc []byte
		for _, a := range args {
			enc = append(enc, ' ', '"')
			for _, c := range a {
				enc = append(enc, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			}
			enc = append(enc, '"')
		}
		again, ok := splitArgs(enc, nil)
		if !ok || len(again) != len(args) {
			t.Fatalf("%q: re-encoded %q gives %q, %v", src, enc, again, ok)
		}
		for i := range args {
			if !bytes.Equal(again[i], args[i]) {
				t.Fatalf("%q: arg %d %q came back as %q", src, i, args[i], again[i])
			}
		}
	})
}
