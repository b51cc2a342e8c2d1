package glob

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// refMatch is the oracle for the fuzzer: a line-by-line transcription of
// stringmatchlen_impl from Redis 7 src/util.c WITHOUT the skipLongerMatches
// and nesting optimisations (so it is exponential and only fit for short
// inputs). It keeps the C pointer/length arithmetic, including reads of the
// NUL terminator one past the end of the pattern, on purpose: it is written
// in a different style from the production code so the two do not share
// translation mistakes.
func refMatch(pat, str string, nocase bool) bool {
	return refImpl(pat, 0, len(pat), str, 0, len(str), nocase)
}

// at emulates indexing a NUL-terminated C string.
func at(s string, i int) int {
	if i < len(s) {
		return int(int8(s[i])) // x86-64: char is signed
	}
	return 0
}

func refTolower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func refImpl(pattern string, p, patternLen int, str string, s, stringLen int, nocase bool) bool {
	for patternLen != 0 && stringLen != 0 {
		switch at(pattern, p) {
		case '*':
			for patternLen != 0 && at(pattern, p+1) == '*' {
				p++
				patternLen--
			}
			if patternLen == 1 {
				return true
			}
			for stringLen != 0 {
				if refImpl(pattern, p+1, patternLen-1, str, s, stringLen, nocase) {
					return true
				}
				s++
				stringLen--
			}
			return false
		case '?':
			s++
			stringLen--
		case '[':
			p++
			patternLen--
			not := at(pattern, p) == '^'
			if not {
				p++
				patternLen--
			}
			match := false
			for {
				if at(pattern, p) == '\\' && patternLen >= 2 {
					p++
					patternLen--
					if at(pattern, p) == at(str, s) {
						match = true
					}
				} else if at(pattern, p) == ']' {
					break
				} else if patternLen == 0 {
					p--
					patternLen++
					break
				} else if patternLen >= 3 && at(pattern, p+1) == '-' {
					start, end, c := at(pattern, p), at(pattern, p+2), at(str, s)
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = refTolower(start), refTolower(end), refTolower(c)
					}
					p += 2
					patternLen -= 2
					if c >= start && c <= end {
						match = true
					}
				} else {
					if !nocase {
						if at(pattern, p) == at(str, s) {
							match = true
						}
					} else if refTolower(at(pattern, p)) == refTolower(at(str, s)) {
						match = true
					}
				}
				p++
				patternLen--
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
			stringLen--
		default:
			if at(pattern, p) == '\\' && patternLen >= 2 {
				p++
				patternLen--
			}
			if !nocase {
				if at(pattern, p) != at(str, s) {
					return false
				}
			} else if refTolower(at(pattern, p)) != refTolower(at(str, s)) {
				return false
			}
			s++
			stringLen--
		}
		p++
		patternLen--
		if stringLen == 0 {
			for at(pattern, p) == '*' {
				p++
				patternLen--
			}
			break
		}
	}
	return patternLen == 0 && stringLen == 0
}

// refLimit bounds the inputs handed to the exponential oracle.
const refLimit = 16

func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.pattern, tc.s)
	}
	for _, tc := range foldCases {
		f.Add(tc.pattern, tc.s)
	}
	f.Add("bucket.*.*", "bucket.users.inserted")
	f.Add("*a*a*a*a*b", "aaaaaaaaaaaaaaaa")
	f.Add(`[a-\]x`, "]x")
	f.Add("[\xff-a]", "\x00")
	f.Add("*[^", "abc")
	f.Add(`*\`, `ab\`)
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := Match(pattern, s)
		fold := MatchFold(pattern, s)
		cp := Compile(pattern)
		if c := cp.Match(s); c != got {
			t.Fatalf("Compile(%q).Match(%q) = %v, Match = %v", pattern, s, c, got)
		}
		if cp.String() != pattern {
			t.Fatalf("Compile(%q).String() = %q", pattern, cp.String())
		}
		if lit, ok := cp.Literal(); ok && got != (s == lit) {
			t.Fatalf("Compile(%q).Literal() = %q, but Match(%q) = %v", pattern, lit, s, got)
		}
		if len(pattern) > refLimit || len(s) > refLimit {
			return
		}
		if want := refMatch(pattern, s, false); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
		if want := refMatch(pattern, s, true); fold != want {
			t.Fatalf("MatchFold(%q, %q) = %v, reference says %v", pattern, s, fold, want)
		}
	})
}

// TestReferenceAgreesOnTables makes sure the oracle itself encodes the
// hand-checked expectations, so a fuzz "pass" means something.
func TestReferenceAgreesOnTables(t *testing.T) {
	for _, tc := range matchCases {
		if strings.Count(tc.pattern, "*") > 6 {
			continue
		}
		if got := refMatch(tc.pattern, tc.s, false); got != tc.want {
			t.Errorf("refMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	for _, tc := range foldCases {
		if got := refMatch(tc.pattern, tc.s, true); got != tc.want {
			t.Errorf("refMatch(%q, %q, nocase) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestRandomAgainstReference is a dense, deterministic complement to
// FuzzMatch: random short patterns and subjects over an alphabet made of the
// special bytes plus a few ordinary, upper-case and high bytes, checked
// against the oracle in both case modes and through Compile.
func TestRandomAgainstReference(t *testing.T) {
	const alphabet = "ab*?[]^-\\Az\x00\xff\x80"
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	n := 300_000
	if testing.Short() {
		n = 20_000
	}
	for range n {
		p, s := gen(10), gen(8)
		if got, want := Match(p, s), refMatch(p, s, false); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", p, s, got, want)
		}
		if got, want := MatchFold(p, s), refMatch(p, s, true); got != want {
			t.Fatalf("MatchFold(%q, %q) = %v, reference says %v", p, s, got, want)
		}
		if got, want := Compile(p).Match(s), refMatch(p, s, false); got != want {
			t.Fatalf("Compile(%q).Match(%q) = %v, reference says %v", p, s, got, want)
		}
	}
}
