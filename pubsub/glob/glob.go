package glob

import "strings"

// maxNesting is Redis's recursion bound: stringmatchlen_impl returns "no
// match" as soon as it is entered with nesting > 1000. Each star group that
// is followed by more pattern recurses one level deeper.
const maxNesting = 1000

// Match reports whether s matches the Redis glob pattern.
//
// It behaves exactly like Redis 7's stringmatchlen with nocase=0; see the
// package documentation for the rules and their corner cases.
func Match(pattern, s string) bool {
	m := matcher{nocase: false}
	return m.match(pattern, s, 0)
}

// MatchFold is Match ignoring ASCII case (Redis nocase=1).
func MatchFold(pattern, s string) bool {
	m := matcher{nocase: true}
	return m.match(pattern, s, 0)
}

// matcher carries the state shared by one top-level match: the case mode and
// Redis's skipLongerMatches flag.
type matcher struct {
	nocase bool
	// skipLonger is set once the rest of the pattern after some '*' failed
	// to match at every remaining position of the subject. From then on no
	// earlier '*' can succeed by consuming more, so every pending star loop
	// gives up immediately.
	skipLonger bool
}

// match is stringmatchlen_impl from Redis 7 src/util.c. The C code reads the
// NUL terminator past the end of the pattern in a few places; here those
// reads are bounds checks, which is equivalent because NUL is never '*'.
func (m *matcher) match(p, s string, nesting int) bool {
	if nesting > maxNesting {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			rest := p[1:]
			// Positions where rest cannot match its leading literal byte
			// fail in the recursive call without touching skipLonger, so
			// skipping them is invisible to the result.
			head, literal := literalHead(rest)
			literal = literal && !m.nocase
			for len(s) > 0 {
				if literal {
					i := strings.IndexByte(s, head)
					if i < 0 {
						break
					}
					s = s[i:]
				}
				if m.match(rest, s, nesting+1) {
					return true
				}
				if m.skipLonger {
					return false
				}
				s = s[1:]
			}
			m.skipLonger = true
			return false
		case '?':
			p = p[1:]
		case '[':
			var ok bool
			ok, p = m.class(p[1:], s[0])
			if !ok {
				return false
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if !m.eq(p[0], s[0]) {
				return false
			}
			p = p[1:]
		}
		s = s[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
		}
	}
	return len(p) == 0 && len(s) == 0
}

// class matches the byte c against the bracket expression whose body starts
// at p (just after the '['). It returns whether c is accepted and the pattern
// left after the class. An unterminated class extends to the end of the
// pattern, exactly as in Redis.
func (m *matcher) class(p string, c byte) (bool, string) {
	not := len(p) > 0 && p[0] == '^'
	if not {
		p = p[1:]
	}
	match := false
	for {
		if len(p) >= 2 && p[0] == '\\' {
			p = p[1:]
			// Redis compares escaped class members case sensitively even
			// when nocase is set.
			if p[0] == c {
				match = true
			}
		} else if len(p) == 0 {
			break
		} else if p[0] == ']' {
			p = p[1:]
			break
		} else if len(p) >= 3 && p[1] == '-' {
			start, end, v := cchar(p[0]), cchar(p[2]), cchar(c)
			if start > end {
				start, end = end, start
			}
			if m.nocase {
				start, end, v = lower(start), lower(end), lower(v)
			}
			p = p[2:]
			if v >= start && v <= end {
				match = true
			}
		} else if m.eq(p[0], c) {
			match = true
		}
		if len(p) > 0 {
			p = p[1:]
		}
	}
	return match != not, p
}

// eq compares two bytes, folding ASCII case when the matcher is nocase.
func (m *matcher) eq(a, b byte) bool {
	if a == b {
		return true
	}
	return m.nocase && lower(cchar(a)) == lower(cchar(b))
}

// cchar converts a byte to the value a C char has on x86-64, where char is
// signed. Only range comparisons inside brackets can observe the sign.
func cchar(b byte) int { return int(int8(b)) }

// lower is tolower in the C locale: only 'A'..'Z' are changed.
func lower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// literalHead reports the byte a (non-empty) pattern requires first when it
// starts with a plain or escaped literal.
func literalHead(p string) (byte, bool) {
	switch p[0] {
	case '*', '?', '[':
		return 0, false
	case '\\':
		if len(p) >= 2 {
			return p[1], true
		}
	}
	return p[0], true
}

// kind selects the matching strategy of a compiled Pattern.
type kind uint8

const (
	kindLiteral kind = iota // no special bytes: string equality
	kindStars               // only '*' is special: prefix/suffix/substring scan
	kindNever               // star-only, but over Redis's nesting bound
	kindGeneral             // anything else: the Redis algorithm
)

// Pattern is a compiled pattern for repeated matching against many channels.
//
// A Pattern is immutable and safe for concurrent use.
type Pattern struct {
	src  string
	kind kind
	// kindLiteral: lit is the unescaped pattern.
	// kindStars: lit is the segment before the first star, suffix the one
	// after the last star and middle the non-empty segments in between,
	// all unescaped.
	lit    string
	suffix string
	middle []string
}

// Compile prepares pattern for repeated matching. Every pattern is valid;
// Compile(p).Match(s) always equals Match(p, s).
func Compile(pattern string) *Pattern {
	p := &Pattern{src: pattern, kind: kindGeneral}
	stars := false
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++ // the escaped byte (if any) is literal
		case '?', '[':
			return p
		case '*':
			stars = true
		}
	}
	segs := splitStars(pattern)
	if !stars {
		p.kind = kindLiteral
		p.lit = segs[0]
		return p
	}
	p.kind = kindStars
	p.lit = segs[0]
	p.suffix = segs[len(segs)-1]
	for _, seg := range segs[1 : len(segs)-1] {
		if seg != "" {
			p.middle = append(p.middle, seg)
		}
	}
	// Star groups followed by more pattern each cost Redis one nesting
	// level. Going past the bound fails every match, and a successful match
	// always reaches the deepest level, so the outcome is static.
	groups := len(p.middle) + 1
	if p.suffix == "" {
		groups-- // the final star group ends the pattern and does not recurse
	}
	if groups > maxNesting {
		p.kind = kindNever
		p.lit, p.suffix, p.middle = "", "", nil
	}
	return p
}

// splitStars unescapes a pattern free of unescaped '?' and '[' and splits it
// at its unescaped stars. Runs of stars yield empty segments.
func splitStars(pattern string) []string {
	var segs []string
	var b strings.Builder
	start, plain := 0, true // pattern[start:i] is escape free so far
	flush := func(i int) string {
		if plain {
			return pattern[start:i]
		}
		s := b.String()
		b.Reset()
		return s
	}
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*':
			segs = append(segs, flush(i))
			start, plain = i+1, true
		case c == '\\' && i+1 < len(pattern):
			if plain {
				b.WriteString(pattern[start:i])
				plain = false
			}
			i++
			b.WriteByte(pattern[i])
		default:
			// A trailing lone backslash is a literal backslash.
			if !plain {
				b.WriteByte(c)
			}
		}
	}
	return append(segs, flush(len(pattern)))
}

// String returns the source pattern.
func (p *Pattern) String() string { return p.src }

// Match reports whether s matches the compiled pattern. It is equivalent to
// Match(p.String(), s) but faster for literal and star-only patterns.
func (p *Pattern) Match(s string) bool {
	switch p.kind {
	case kindLiteral:
		return s == p.lit
	case kindStars:
		// Redis never matches the empty subject against a non-empty pattern.
		if len(s) == 0 || len(s) < len(p.lit)+len(p.suffix) ||
			!strings.HasPrefix(s, p.lit) || !strings.HasSuffix(s, p.suffix) {
			return false
		}
		mid := s[len(p.lit) : len(s)-len(p.suffix)]
		for _, seg := range p.middle {
			i := strings.Index(mid, seg)
			if i < 0 {
				return false
			}
			mid = mid[i+len(seg):]
		}
		return true
	case kindNever:
		return false
	}
	m := matcher{}
	return m.match(p.src, s, 0)
}

// Literal reports whether the pattern has no special characters, so that
// matching is plain string equality, and if so returns the string it
// matches. Escapes are resolved: the pattern `news\*` yields ("news*", true).
// Callers can use it to index exact-channel subscriptions in a map.
func (p *Pattern) Literal() (string, bool) {
	if p.kind != kindLiteral {
		return "", false
	}
	return p.lit, true
}
