package schema

import (
	"strings"
	"unicode/utf8"
)

// isJSSpace reports whether r is whitespace for JavaScript's \s, which the
// original email pattern uses (Go's \s is ASCII only).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// isEmail reports whether s matches noex-store's email pattern
// /^[^\s@]+@[^\s@]+\.[^\s@]+$/: one '@' with something before it, no
// whitespace, and a '.' in the domain with something on both sides.
func isEmail(s string) bool {
	at := -1
	for i, r := range s {
		if r == '@' {
			if at >= 0 {
				return false
			}
			at = i
		} else if r >= 0x80 || r <= ' ' {
			if isJSSpace(r) {
				return false
			}
		}
	}
	if at < 1 {
		return false
	}
	dom := s[at+1:]
	// Some '.' must have at least one byte on each side.
	return len(dom) >= 3 && strings.IndexByte(dom[1:len(dom)-1], '.') >= 0
}

// digits parses s[i:i+n] as a decimal number; ok is false if any byte is not
// a digit or s is too short.
func digits(s string, i, n int) (v int, ok bool) {
	if i+n > len(s) {
		return 0, false
	}
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn returns the number of days in month m (1-12) of year y (proleptic
// Gregorian calendar).
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isDate reports whether s is an ISO-8601 date or date-time naming a real
// calendar date:
//
//	YYYY-MM-DD
//	YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM]
//
// With seconds true (the iso-date format), a time must have seconds, as in
// noex-store's pattern. The date is checked as written, so an offset never
// moves it to another day.
func isDate(s string, seconds bool) bool {
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' ||
		m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return false
	}
	if len(s) == 10 {
		return true
	}
	if s[10] != 'T' || !clock(s, 11) {
		return false
	}
	i := 16
	if i < len(s) && s[i] == ':' {
		if sec, ok := digits(s, i+1, 2); !ok || sec > 59 {
			return false
		}
		i += 3
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				return false
			}
			i = j
		}
	} else if seconds {
		return false
	}
	switch {
	case i == len(s):
		return true
	case s[i] == 'Z':
		return i+1 == len(s)
	case s[i] == '+' || s[i] == '-':
		return i+6 == len(s) && clock(s, i+1)
	}
	return false
}

// clock reports whether s[i:i+5] is HH:MM with HH in 00-23 and MM in 00-59.
func clock(s string, i int) bool {
	h, ok1 := digits(s, i, 2)
	m, ok2 := digits(s, i+3, 2)
	return ok1 && ok2 && s[i+2] == ':' && h <= 23 && m <= 59
}

// isURL approximates noex-store's check, "new URL(s) does not throw" under
// the WHATWG URL standard: an absolute URL with a scheme; for the special
// schemes (http, https, ws, wss, ftp) a non-empty, well-formed host and a
// port of at most 65535; for other schemes a well-formed authority when one
// is given ("mailto:x" and "urn:a:b" are valid, "foo" and "http://" are not).
// Leading and trailing spaces and control characters are ignored, as the
// standard strips them.
func isURL(s string) bool {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			i++
			continue
		}
		break
	}
	if i == 0 || i >= len(s) || s[i] != ':' {
		return false
	}
	scheme, rest := strings.ToLower(s[:i]), s[i+1:]
	switch scheme {
	case "file":
		return true
	case "http", "https", "ws", "wss", "ftp":
		rest = strings.TrimLeft(rest, `/\`)
		return authorityOK(rest, true)
	}
	if strings.HasPrefix(rest, "//") {
		return authorityOK(rest[2:], false)
	}
	return true
}

// authorityOK checks the authority at the start of rest (up to the first
// '/', '?' or '#', and '\' for special schemes): optional userinfo, a host
// (which must not be empty for special schemes) and an optional port.
func authorityOK(rest string, special bool) bool {
	end := "/?#"
	if special {
		end = `/?#\`
	}
	if j := strings.IndexAny(rest, end); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	host, port := rest, ""
	if strings.HasPrefix(host, "[") {
		j := strings.IndexByte(host, ']')
		if j < 0 || !ipv6OK(host[1:j]) {
			return false
		}
		host, port = host[:j+1], host[j+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else if j := strings.IndexByte(host, ':'); j >= 0 {
		host, port = host[:j], host[j+1:]
	}
	if len(port) > 0 {
		n := 0
		for _, c := range []byte(port) {
			if c < '0' || c > '9' {
				return false
			}
			if n = n*10 + int(c-'0'); n > 65535 {
				return false
			}
		}
	}
	if host == "" {
		return !special
	}
	if host[0] == '[' {
		return true
	}
	forbidden := " #/<>?@[\\]^|"
	if special {
		forbidden += "%"
		host = percentDecode(host)
	}
	for _, r := range host {
		if r < ' ' || r == 0x7f || r < utf8.RuneSelf && strings.ContainsRune(forbidden, r) {
			return false
		}
	}
	if special {
		return ipv4Shape(host)
	}
	return true
}

// percentDecode decodes the %XX escapes of s, leaving malformed ones as
// they are.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// ipv6OK reports whether s (between brackets) looks like an IPv6 address:
// hex digits, ':' and '.', with at least two colons.
func ipv6OK(s string) bool {
	if strings.Count(s, ":") < 2 {
		return false
	}
	for _, c := range []byte(s) {
		if !isHex(c) && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

// ipv4Shape applies the WHATWG rule for hosts whose last label is numeric:
// such a host must be a valid IPv4 address (each part a decimal, 0x-hex or
// octal number, at most 4 parts, the last one filling the remaining bytes).
// Other hosts are accepted.
func ipv4Shape(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if _, ok := ipv4Number(last); !ok {
		// Only a last label that is a number makes the host an IPv4
		// address; a failed parse of an all-digit label (such as "09")
		// is an invalid address.
		return last == "" || strings.TrimLeft(last, "0123456789") != ""
	}
	if len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return false
		}
		if i < len(parts)-1 && n > 255 {
			return false
		}
		if i == len(parts)-1 && n >= 1<<(8*(5-len(parts))) {
			return false
		}
	}
	return true
}

// ipv4Number parses one IPv4 part: decimal, 0x-hex or 0-prefixed octal.
func ipv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var n uint64
	for _, c := range []byte(p) {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && isHex(c):
			d = uint64(unhex(c))
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<40 {
			return n, true // too big for any part; callers reject it
		}
	}
	return n, true
}
