package resp

import "bytes"

// inline parses an inline command (a line not starting with '*'), following
// processInlineBuffer: the line ends at '\n', a '\r' before it is dropped, and
// the rest is split as sdssplitargs does.
func (r *Reader) inline(buf []byte, authed bool, lim Limits) ([][]byte, int, error) {
	nl, ok := r.findLine(buf, 0, '\n')
	if !ok {
		return r.incomplete(buf, authed, lim, 0, errTooBigInline)
	}
	r.scan, r.blocked = 0, false
	end := nl
	if end > 0 && buf[end-1] == '\r' {
		end--
	}
	args, ok := splitArgs(buf[:end], r.args[:0])
	if !ok {
		clear(args)
		return r.fail(errUnbalanced)
	}
	r.keep(args, len(buf))
	if len(args) == 0 {
		return nil, nl + 1, nil
	}
	return args, nl + 1, nil
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// splitArgs splits line as Redis's sdssplitargs does, appending the
// arguments to args. Arguments are separated by blanks; "double quoted"
// arguments understand \n \r \t \b \a \xHH and \<any char>, 'single quoted'
// ones only \'; a closing quote must be followed by a blank or the end of the
// line. It reports false for an unterminated quote or a closing quote followed
// by something else.
//
// Quoted arguments are decoded in place: every argument's decoded bytes are
// never longer than its source, so they are written over it and the returned
// slices alias line. The end of line plays the part of C's terminating NUL
// (the caller never passes a line holding a NUL: Redis's strchr would not
// have found its end).
func splitArgs(line []byte, args [][]byte) ([][]byte, bool) {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i] // C stops reading at a NUL
	}
	if bytes.IndexByte(line, '"') < 0 && bytes.IndexByte(line, '\'') < 0 {
		return splitPlain(line, args), true
	}
	return splitQuoted(line, args)
}

// splitPlain is splitArgs for a line without quotes: words end at ' ', '\t',
// '\r' or '\n', and every blank is skipped between them.
func splitPlain(line []byte, args [][]byte) [][]byte {
	n := len(line)
	p := 0
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if p >= n {
			return args
		}
		start := p
		for p < n {
			if c := line[p]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			p++
		}
		args = append(args, line[start:p:p])
	}
}

// splitQuoted is splitArgs for any line, following sdssplitargs step by step.
func splitQuoted(line []byte, args [][]byte) ([][]byte, bool) {
	n := len(line)
	at := func(i int) byte {
		if i < n {
			return line[i]
		}
		return 0
	}
	p := 0
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if p >= n {
			return args, true
		}
		start, w := p, p
		inq, insq := false, false
		for done := false; !done; {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					line[w] = hexVal(line[p+2])<<4 | hexVal(line[p+3])
					w++
					p += 3
				case c == '\\' && at(p+1) != 0:
					p++
					switch e := line[p]; e {
					case 'n':
						line[w] = '\n'
					case 'r':
						line[w] = '\r'
					case 't':
						line[w] = '\t'
					case 'b':
						line[w] = '\b'
					case 'a':
						line[w] = '\a'
					default:
						line[w] = e
					}
					w++
				case c == '"':
					if next := at(p + 1); next != 0 && !isSpace(next) {
						return args, false
					}
					done = true
				case c == 0:
					return args, false
				default:
					line[w] = c
					w++
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					line[w] = '\''
					w++
				case c == '\'':
					if next := at(p + 1); next != 0 && !isSpace(next) {
						return args, false
					}
					done = true
				case c == 0:
					return args, false
				default:
					line[w] = c
					w++
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					line[w] = c
					w++
				}
			}
			if p < n {
				p++
			}
		}
		args = append(args, line[start:w:w])
	}
}
