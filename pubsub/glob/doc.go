// Package glob implements Redis's glob-style pattern matching, as used by
// PSUBSCRIBE / PUNSUBSCRIBE patterns and PUBSUB CHANNELS / PUBSUB NUMPAT
// style channel filtering (and KEYS / SCAN MATCH in Redis itself).
//
// The matcher is a faithful port of stringmatchlen_impl from Redis 7's
// src/util.c, including its recursion bound and its skipLongerMatches
// optimisation, so results are byte-for-byte those of a Redis server and
// hostile patterns such as "*a*a*a*a*a*a*a*b" are cheap (roughly
// O(len(pattern)*len(s)) rather than exponential).
//
// # Rules
//
// Matching is byte oriented; patterns and subjects are arbitrary binary
// strings and no UTF-8 decoding is ever done.
//
//   - '*' matches any sequence of bytes, including the empty one. Runs of
//     consecutive stars behave like a single star.
//   - '?' matches exactly one byte. A multi-byte UTF-8 character therefore
//     needs as many '?' as it has bytes: "?" does not match "é" but "??" does.
//   - "[abc]" matches one byte from the set; "[^abc]" one byte not in it.
//   - "[a-z]" is an inclusive byte range; a reversed range "[z-a]" is
//     swapped and means the same as "[a-z]".
//   - "\x" matches the byte x literally, both outside and inside brackets.
//   - Any other byte matches itself.
//
// # Caveats (all inherited from Redis, reproduced on purpose)
//
//   - The empty string is matched only by the empty pattern: "*" does NOT
//     match "" (Redis's matching loop is never entered for an empty
//     subject). A star does match the empty sequence everywhere else, so
//     "a*" matches "a" and "*a" matches "a".
//   - An unterminated class runs to the end of the pattern: "[a" behaves
//     like "[a]", "[^" like "[^]" (any one byte) and "[" alone matches
//     nothing. "[]" is an empty class (matches nothing) and "[^]" matches
//     any single byte; "]" outside a class is an ordinary byte.
//   - Inside a class a range is recognised before the closing bracket, so
//     "[a-]" is the range between ']' and 'a' and leaves the class
//     unterminated; "[-a]" and "[a-" contain a literal '-'.
//   - A trailing lone backslash matches a literal backslash, both outside
//     ("a\" matches `a\`) and inside an unterminated class ("[\").
//   - Range bounds are compared as C chars, which are signed on x86-64 (the
//     platform whose behaviour is reproduced): bytes 0x80-0xFF sort BEFORE
//     0x00. Ranges entirely within ASCII or entirely within 0x80-0xFF are
//     unaffected; a mixed range such as "[a-\xff]" means 0xFF..'a', i.e.
//     0x00-0x61 plus 0xFF. (Redis built where char is unsigned, e.g.
//     Linux/arm64, would read it as 0x61-0xFF.)
//   - Case folding (MatchFold, Redis nocase=1) is ASCII only (C locale). An
//     escaped byte inside a class ("[\a]") is still compared case
//     sensitively, and range bounds are folded after any swap, so with
//     folding "[A-z]" no longer contains '[' .. '`'. Both are Redis quirks.
//   - Recursion is bounded like Redis: a pattern with more than 1000
//     star groups each followed by something else never matches anything.
//
// Compile prepares a pattern for repeated matching (one PSUBSCRIBE pattern
// against every published channel). It recognises two fast cases:
// patterns without any unescaped special byte are matched by string
// equality (see Pattern.Literal), and patterns whose only special bytes are
// '*' (for example "bucket.users.*" or "bucket.*.deleted") are matched by
// prefix/suffix checks plus a greedy substring scan, which has exactly the
// Redis semantics described above. Everything else uses the general
// matcher. No Match call allocates.
//
// github.com/tidwall/match was considered for the star-only case and
// rejected: it is slower in the benchmarks here, it matches "*" against ""
// (Redis does not), its '?' matches a rune rather than a byte, and it
// decodes UTF-8, so distinct invalid bytes compare equal as U+FFFD.
package glob
