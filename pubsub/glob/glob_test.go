package glob

import (
	"strings"
	"testing"
	"time"

	tidwall "github.com/tidwall/match"
)

type matchCase struct {
	pattern, s string
	want       bool
}

// matchCases are case-sensitive (Redis nocase=0) expectations, worked out
// by hand from src/util.c.
var matchCases = []matchCase{
	// Redis test-suite style basics.
	{"foo.*", "foo.1", true},
	{"foo.*", "foo.bar.baz", true},
	{"foo.*", "foo.", true},
	{"foo.*", "foo1", false},
	{"foo.*", "foo", false},
	{"h?llo", "hello", true},
	{"h?llo", "hallo", true},
	{"h?llo", "hxllo", true},
	{"h?llo", "hllo", false},
	{"h?llo", "heello", false},
	{"h*llo", "hllo", true},
	{"h*llo", "heeeello", true},
	{"h*llo", "hello world", false},
	{"h[ae]llo", "hello", true},
	{"h[ae]llo", "hallo", true},
	{"h[ae]llo", "hillo", false},
	{"h[ae]llo", "hllo", false},
	{"h[^e]llo", "hallo", true},
	{"h[^e]llo", "hbllo", true},
	{"h[^e]llo", "hello", false},
	{"h[^e]llo", "hllo", false},
	{"h[a-b]llo", "hallo", true},
	{"h[a-b]llo", "hbllo", true},
	{"h[a-b]llo", "hcllo", false},
	{"h[b-a]llo", "hallo", true}, // reversed range is swapped
	{"[z-a]", "m", true},
	{"[a-z]", "A", false},
	{"[0-9a-f]", "c", true},
	{"[0-9a-f]", "g", false},
	{"*", "anything", true},
	{"bucket.*.*", "bucket.users.inserted", true},
	{"bucket.*.*", "bucket.users", false},
	{"bucket.*.deleted", "bucket.users.deleted", true},
	{"bucket.*.deleted", "bucket.users.inserted", false},
	{"bucket.*.deleted", "bucket..deleted", true},
	{"bucket.*.deleted", "bucket.deleted", false},
	{"{a}h*llo", "{a}hello", true},
	{"ab*ab", "ab", false}, // prefix and suffix may not overlap
	{"ab*ab", "abab", true},
	{"ab*ba", "aba", false},

	// Escapes.
	{`h\?llo`, "h?llo", true},
	{`h\?llo`, "hello", false},
	{`\*`, "*", true},
	{`\*`, "a", false},
	{`news.\*`, "news.*", true},
	{`news.\*`, "news.x", false},
	{`\[a]`, "[a]", true},
	{`\[a]`, "a", false},
	{`\\`, `\`, true},
	{`\a`, "a", true},
	{`[\]]`, "]", true},
	{`[\^a]`, "^", true},
	{`[\^a]`, "b", false},
	{`[a\-z]`, "-", true},
	{`[a\-z]`, "b", false},
	{`[\*]`, "*", true},
	{`*\*`, "abc*", true},
	{`*\*`, "abc", false},
	{`a\*b*`, "a*bcd", true},
	{`a\*b*`, "axbcd", false},

	// Bytes, not runes.
	{"?", "é", false},
	{"??", "é", true},
	{"h?llo", "héllo", false},
	{"h??llo", "héllo", true},
	{"[é]", "é", false},
	{"[é]?", "é", true},
	{"*é", "café", true},
	{"caf?", "café", false},
	{"?\xa9", "é", true},
	{"\xff", "\xfe", false}, // invalid UTF-8 compares bytewise

	// Empty pattern / empty string.
	{"", "", true},
	{"", "a", false},
	{"*", "", false}, // Redis: the empty subject only matches the empty pattern
	{"**", "", false},
	{"?", "", false},
	{"[a]", "", false},
	{"a", "", false},
	{"a*", "a", true},
	{"a**", "a", true},
	{"*a", "a", true},

	// Star runs.
	{"a***b", "ab", true},
	{"a***b", "axxb", true},
	{"***", "x", true},
	{"*?*", "x", true},
	{"*?*", "", false},
	{"*?*?*", "x", false},
	{"*?*?*", "xy", true},
	{"*a*b*c*", "xaxbxcx", true},
	{"*a*b*c*", "xaxcxbx", false},
	{"*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
	{"*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60) + "b", true},

	// Unterminated brackets run to the end of the pattern.
	{"[", "[", false},
	{"[", "a", false},
	{"[", "", false},
	{"x[", "x", false},
	{"[a", "a", true},
	{"[a", "b", false},
	{"[a", "[a", false},
	{"[ab", "b", true},
	{"[^", "x", true},
	{"[^", "", false},
	{"[^", "xy", false},
	{"[^a", "b", true},
	{"[^a", "a", false},
	{"x[a-c", "xb", true},
	{"x[a-c", "xd", false},
	{"[a-", "-", true},
	{"[a-", "a", true},
	{"[a-", "b", false},
	{"[-a]", "-", true},
	{"[a-]", "_", true}, // the range a-] (swapped to ]-a) eats the ']'
	{"[a-]", "a", true},
	{"[a-]", "]", true},
	{"[a-]", "b", false},
	{"[a-]", "-", false},
	{"[a-]x", "x", true}, // ...so 'x' is a class member, not a literal
	{"[a-]x", "ax", false},
	{"[]", "]", false},
	{"[]", "a", false},
	{"[]a]", "a]", false}, // "[]" is an empty class
	{"[^]", "x", true},
	{"[^]", "]", true},
	{"[^]a", "za", true},
	{"[]]", "]", false},
	{`[\`, `\`, true},
	{`[\`, "a", false},
	{`[a\`, `\`, true},
	{`[a\`, "a", true},
	{`[\]`, "]", true}, // escaped ']' then unterminated
	{`[\]`, `\`, false},
	{"a]", "a]", true},
	{"^", "^", true},

	// Trailing lone backslash is a literal backslash.
	{`\`, `\`, true},
	{`\`, "", false},
	{`\`, "a", false},
	{`a\`, `a\`, true},
	{`a\`, "a", false},
	{`*\`, `xy\`, true},
	{`*\`, "xy", false},

	// Range bounds are signed C chars (x86-64).
	{"[a-\xff]", "\x00", true},
	{"[a-\xff]", "A", true},
	{"[a-\xff]", "a", true},
	{"[a-\xff]", "\xff", true},
	{"[a-\xff]", "b", false},
	{"[a-\xff]", "\xfe", false},
	{"[\x80-\xff]", "\x90", true},
	{"[\x80-\xff]", "a", false},
	{"[\xff-\x80]", "\x90", true},

	// Case sensitivity.
	{"HELLO", "hello", false},
	{"[A-z]", "_", true},
	{"[a-Z]", "_", true},
	{"[a-Z]", "m", false},
}

// foldCases are expectations for MatchFold (Redis nocase=1).
var foldCases = []matchCase{
	{"HELLO", "hello", true},
	{"hello", "HELLO", true},
	{"h*LLO", "HeLlo", true},
	{"h?llo", "HÉLLO", false},
	{"h[A-Z]llo", "hello", true},
	{"h[a-z]llo", "hEllo", true},
	{"h[E]llo", "hello", true},
	{"h[^E]llo", "hello", false},
	{`[\a]`, "a", true},
	{`[\a]`, "A", false},  // escaped class members stay case sensitive
	{`\a`, "A", true},     // ...but escapes outside classes fold
	{"[A-z]", "_", false}, // bounds fold after the swap: 'a'..'z'
	{"[A-z]", "Q", true},
	{"[a-Z]", "m", false}, // swapped to Z-a, folded to z-a: empty
	{"É", "é", false},     // ASCII only
	{"*", "", false},
	{"", "", true},
	{"BUCKET.*", "bucket.x", true},
	{"[a-\xff]", "B", false}, // 0xFF..'a' holds 'B', but 'B' folds to 'b' > 'a'
	{"[a-\xff]", "1", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
		if got := Compile(tc.pattern).Match(tc.s); got != tc.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestMatchFold(t *testing.T) {
	for _, tc := range foldCases {
		if got := MatchFold(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchFold(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestLiteral(t *testing.T) {
	tests := []struct {
		pattern, lit string
		ok           bool
		kind         kind
	}{
		{"", "", true, kindLiteral},
		{"foo", "foo", true, kindLiteral},
		{"bucket.users.inserted", "bucket.users.inserted", true, kindLiteral},
		{`news.\*`, "news.*", true, kindLiteral},
		{`\?\[\\`, `?[\`, true, kindLiteral},
		{`a\`, `a\`, true, kindLiteral},
		{`\`, `\`, true, kindLiteral},
		{"a]^-", "a]^-", true, kindLiteral},
		{"a*", "", false, kindStars},
		{"bucket.*.*", "", false, kindStars},
		{`a\**b`, "", false, kindStars},
		{"a?", "", false, kindGeneral},
		{"[a]", "", false, kindGeneral},
		{`*\`, "", false, kindStars},
	}
	for _, tc := range tests {
		p := Compile(tc.pattern)
		lit, ok := p.Literal()
		if lit != tc.lit || ok != tc.ok || p.kind != tc.kind {
			t.Errorf("Compile(%q): Literal() = %q, %v; kind %d; want %q, %v; kind %d",
				tc.pattern, lit, ok, p.kind, tc.lit, tc.ok, tc.kind)
		}
		if p.String() != tc.pattern {
			t.Errorf("Compile(%q).String() = %q", tc.pattern, p.String())
		}
	}
}

func TestStarSegments(t *testing.T) {
	p := Compile(`a\*b**c*\\d*`)
	if p.kind != kindStars || p.lit != "a*b" || p.suffix != "" ||
		len(p.middle) != 2 || p.middle[0] != "c" || p.middle[1] != `\d` {
		t.Fatalf("segments: %+v", p)
	}
}

// TestNestingLimit checks Redis's recursion bound: more than 1000 star
// groups followed by more pattern never match.
func TestNestingLimit(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{strings.Repeat("*a", 1000), strings.Repeat("a", 1000), true},
		{strings.Repeat("*a", 1001), strings.Repeat("a", 1001), false},
		{strings.Repeat("*a", 1000) + "*", strings.Repeat("a", 1000) + "zz", true},
		{strings.Repeat("*a", 1001) + "*", strings.Repeat("a", 1001) + "zz", false},
		{strings.Repeat("*?", 1000), strings.Repeat("x", 1000), true},
		{strings.Repeat("*?", 1001), strings.Repeat("x", 1001), false},
		{strings.Repeat("*[a]", 1000), strings.Repeat("a", 1005), true},
		{strings.Repeat("*[a]", 1001), strings.Repeat("a", 1005), false},
		{strings.Repeat("**a", 1000), strings.Repeat("a", 1000), true}, // runs count once
	}
	for i, tc := range tests {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("case %d: Match = %v, want %v", i, got, tc.want)
		}
		if got := Compile(tc.pattern).Match(tc.s); got != tc.want {
			t.Errorf("case %d: Compile().Match = %v, want %v", i, got, tc.want)
		}
		if got := MatchFold(tc.pattern, strings.ToUpper(tc.s)); got != tc.want {
			t.Errorf("case %d: MatchFold = %v, want %v", i, got, tc.want)
		}
	}
	if k := Compile(strings.Repeat("*a", 1001)).kind; k != kindNever {
		t.Errorf("kind = %d, want kindNever", k)
	}
}

// hostile are patterns that take exponential time in a naive backtracking
// matcher.
var hostile = []struct {
	name, pattern, s string
}{
	{"stars", strings.Repeat("*a", 30) + "*b", strings.Repeat("a", 100_000)},
	{"questions", strings.Repeat("*?", 30) + "*b", strings.Repeat("a", 100_000)},
	{"classes", strings.Repeat("*[a]", 30) + "*b", strings.Repeat("a", 100_000)},
	{"deep", strings.Repeat("*a", 999) + "*b", strings.Repeat("a", 20_000)},
}

func TestHostilePatternsAreCheap(t *testing.T) {
	for _, h := range hostile {
		start := time.Now()
		if Match(h.pattern, h.s) || MatchFold(h.pattern, h.s) || Compile(h.pattern).Match(h.s) {
			t.Errorf("%s: unexpected match", h.name)
		}
		// Generous: these take milliseconds; exponential would take ages.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", h.name, d)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	pats := []*Pattern{Compile("bucket.*.*"), Compile("bucket.users.inserted"), Compile("h[ae]l*o")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pats {
			p.Match("bucket.users.inserted")
		}
		Match(hostile[0].pattern, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
		MatchFold("BUCKET.*.[a-z]*", "bucket.users.inserted")
	})
	if allocs != 0 {
		t.Errorf("allocs per run = %v, want 0", allocs)
	}
}

// Benchmarks.

var sink bool

const (
	benchPattern = "bucket.*.*"
	benchChannel = "bucket.users.inserted"
)

// BenchmarkStarOnly compares the strategies available for a typical
// star-only PSUBSCRIBE pattern; Compile picks the segment scan.
func BenchmarkStarOnly(b *testing.B) {
	for _, ch := range []string{benchChannel, "other.users.inserted", "bucket.users"} {
		b.Run(ch, func(b *testing.B) {
			b.Run("Compile", func(b *testing.B) {
				p := Compile(benchPattern)
				b.ReportAllocs()
				for b.Loop() {
					sink = p.Match(ch)
				}
			})
			b.Run("general", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sink = Match(benchPattern, ch)
				}
			})
			b.Run("tidwall.Match", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sink = tidwall.Match(ch, benchPattern)
				}
			})
			b.Run("tidwall.MatchLimit", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sink, _ = tidwall.MatchLimit(ch, benchPattern, 10)
				}
			})
		})
	}
}

func BenchmarkCompiled(b *testing.B) {
	for _, bc := range []struct{ name, pattern, s string }{
		{"literal", benchChannel, benchChannel},
		{"prefix", "bucket.users.*", benchChannel},
		{"middle", "bucket.*.deleted", "bucket.users.deleted"},
		{"class", "bucket.[a-z]*.inserted", benchChannel},
		{"question", "bucket.?????.*", benchChannel},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := Compile(bc.pattern)
			b.ReportAllocs()
			for b.Loop() {
				sink = p.Match(bc.s)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, bc := range []struct{ name, pattern, s string }{
		{"h[ae]llo", "h[ae]llo", "hello"},
		{"h*llo", "h*llo", "heeeeeeeeeeeello"},
		{"escape", `news.\*`, "news.*"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = Match(bc.pattern, bc.s)
			}
		})
	}
	b.Run("fold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = MatchFold("BUCKET.*.Inserted", benchChannel)
		}
	})
}

func BenchmarkHostile(b *testing.B) {
	for _, h := range hostile {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = Match(h.pattern, h.s)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Compile(`bucket.*.\*x*`)
	}
}
