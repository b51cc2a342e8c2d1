package resp

import (
	"math"
	"slices"
	"strconv"

	"bucketd/jsonv"

	"github.com/tidwall/redcon"
)

// Writer appends replies to B in protocol version Proto (2 or 3). The zero
// value writes RESP2; any Proto of 3 or more writes RESP3.
type Writer struct {
	// B holds the encoded replies.
	B []byte
	// Proto is the protocol version negotiated with HELLO.
	Proto int
	// Late makes BulkJSON leave room for its text in B and write it at
	// Fill: a connection's writer, so that copying a record's text is done
	// after the bucket's lock is released (see Conn). B must not be read
	// between BulkJSON and Fill.
	Late bool
	late []lateJSON
}

// lateJSON is a text BulkJSON left for Fill: n bytes at B[at:].
type lateJSON struct {
	at, n int
	v     JSONAppender
}

func (w *Writer) resp3() bool { return w.Proto >= 3 }

// OK appends the simple string OK.
func (w *Writer) OK() { w.B = redcon.AppendOK(w.B) }

// Simple appends the simple string s (+s), with CR and LF replaced by spaces.
func (w *Writer) Simple(s string) { w.B = appendLine(w.B, '+', s) }

// Error appends the error msg (-msg). msg must start with an error code such
// as "ERR " or "WRONGTYPE "; CR and LF in it are replaced by spaces.
func (w *Writer) Error(msg string) { w.B = appendLine(w.B, '-', msg) }

// Int appends the integer n (:n).
func (w *Writer) Int(n int64) { w.B = redcon.AppendInt(w.B, n) }

// Bulk appends the bulk string b.
func (w *Writer) Bulk(b []byte) { w.B = redcon.AppendBulk(w.B, b) }

// JSONAppender is a value that appends its JSON text of a known length, such
// as a stored record.
type JSONAppender interface {
	// JSONLen returns the length of the text AppendJSON appends.
	JSONLen() int
	// AppendJSON appends the text to dst.
	AppendJSON(dst []byte) []byte
}

// BulkJSON appends v's JSON text as a bulk string, writing it in place;
// with Late, only its room is taken now and Fill writes it. v must not
// change before then (a stored record does not).
func (w *Writer) BulkJSON(v JSONAppender) {
	n := v.JSONLen()
	w.B = appendHeader(w.B, '$', int64(n))
	start := len(w.B)
	if w.Late {
		w.B = slices.Grow(w.B, n+2)[:start+n]
		w.late = append(w.late, lateJSON{at: start, n: n, v: v})
	} else {
		w.B = v.AppendJSON(w.B)
		if len(w.B)-start != n {
			panic("resp: JSONLen and AppendJSON disagree")
		}
	}
	w.B = append(w.B, '\r', '\n')
}

// Fill writes the texts BulkJSON left room for (Late). It must run before
// B is read.
func (w *Writer) Fill() {
	for i, l := range w.late {
		if out := l.v.AppendJSON(w.B[l.at : l.at : l.at+l.n]); len(out) != l.n {
			panic("resp: JSONLen and AppendJSON disagree")
		}
		w.late[i] = lateJSON{}
	}
	w.late = w.late[:0]
}

// Truncate drops what was appended after B's first n bytes (CLIENT REPLY
// OFF and SKIP), with the texts BulkJSON left there for Fill.
func (w *Writer) Truncate(n int) {
	if n >= len(w.B) {
		return
	}
	w.B = w.B[:n]
	keep := w.late[:0]
	for _, l := range w.late {
		if l.at < n {
			keep = append(keep, l)
		}
	}
	clear(w.late[len(keep):])
	w.late = keep
}

// BulkString appends the bulk string s.
func (w *Writer) BulkString(s string) { w.B = redcon.AppendBulkString(w.B, s) }

// Null appends a null: $-1 in RESP2, _ in RESP3.
func (w *Writer) Null() {
	if w.resp3() {
		w.B = append(w.B, '_', '\r', '\n')
		return
	}
	w.B = redcon.AppendNull(w.B)
}

// NullArray appends a null array: *-1 in RESP2, _ in RESP3.
func (w *Writer) NullArray() {
	if w.resp3() {
		w.B = append(w.B, '_', '\r', '\n')
		return
	}
	w.B = append(w.B, '*', '-', '1', '\r', '\n')
}

// Array appends the header of an array of n elements (*n).
func (w *Writer) Array(n int) { w.B = redcon.AppendArray(w.B, n) }

// Map appends the header of a map of n key-value pairs: %n in RESP3, an array
// of 2n elements in RESP2.
func (w *Writer) Map(n int) {
	if w.resp3() {
		w.B = appendHeader(w.B, '%', int64(n))
		return
	}
	w.B = redcon.AppendArray(w.B, 2*n)
}

// Set appends the header of a set of n elements: ~n in RESP3, an array in
// RESP2.
func (w *Writer) Set(n int) {
	if w.resp3() {
		w.B = appendHeader(w.B, '~', int64(n))
		return
	}
	w.B = redcon.AppendArray(w.B, n)
}

// Push appends the header of an out-of-band push of n elements: >n in RESP3,
// an array in RESP2 (as pub/sub messages are).
func (w *Writer) Push(n int) { w.B = AppendPush(w.B, w.Proto, n) }

// Double appends f: ,<text> in RESP3, a bulk string of <text> in RESP2. The
// text is jsonv.AppendNumber's (180, 2.5, 1e+21), except that NaN, +Inf and
// -Inf are written nan, inf and -inf.
func (w *Writer) Double(f float64) {
	if w.resp3() {
		w.B = append(w.B, ',')
		w.B = appendDouble(w.B, f)
		w.B = append(w.B, '\r', '\n')
		return
	}
	var tmp [32]byte
	w.B = redcon.AppendBulk(w.B, appendDouble(tmp[:0], f))
}

// Bool appends b: #t or #f in RESP3, the integer 1 or 0 in RESP2.
func (w *Writer) Bool(b bool) {
	switch {
	case w.resp3() && b:
		w.B = append(w.B, '#', 't', '\r', '\n')
	case w.resp3():
		w.B = append(w.B, '#', 'f', '\r', '\n')
	case b:
		w.B = append(w.B, ':', '1', '\r', '\n')
	default:
		w.B = append(w.B, ':', '0', '\r', '\n')
	}
}

// Verbatim appends the verbatim string s of the given format ("txt" or
// "mkd"): =<len>\r\n<format>:<s> in RESP3, a bulk string of s in RESP2. As in
// Redis, format is cut or padded with spaces to three bytes.
func (w *Writer) Verbatim(format string, s string) {
	if !w.resp3() {
		w.B = redcon.AppendBulkString(w.B, s)
		return
	}
	w.B = appendHeader(w.B, '=', int64(len(s))+4)
	for i := range 3 {
		if i < len(format) {
			w.B = append(w.B, format[i])
		} else {
			w.B = append(w.B, ' ')
		}
	}
	w.B = append(w.B, ':')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// Raw appends b, which must already be encoded in the protocol.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }

// Reset empties B, keeping its capacity, and forgets the texts left for
// Fill.
func (w *Writer) Reset() {
	w.B = w.B[:0]
	clear(w.late)
	w.late = w.late[:0]
}

// AppendPush appends to dst the header of an out-of-band push of n elements
// in protocol version proto: >n in RESP3, *n in RESP2. It lets a frame shared
// by many subscribers be built once per protocol.
func AppendPush(dst []byte, proto int, n int) []byte {
	if proto >= 3 {
		return appendHeader(dst, '>', int64(n))
	}
	return redcon.AppendArray(dst, n)
}

// AppendBulkString appends to dst the bulk string s (the same in RESP2 and
// RESP3).
func AppendBulkString(dst []byte, s string) []byte {
	return redcon.AppendBulkString(dst, s)
}

// appendHeader appends a type byte, n and CRLF.
func appendHeader(b []byte, c byte, n int64) []byte {
	if n >= 0 && n <= 9 {
		return append(b, c, byte('0'+n), '\r', '\n')
	}
	b = append(b, c)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// appendLine appends a type byte, s with CR and LF turned into spaces, and
// CRLF.
func appendLine(b []byte, c byte, s string) []byte {
	b = append(b, c)
	start := len(b)
	b = append(b, s...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return append(b, '\r', '\n')
}

// appendDouble appends the text of f as Double writes it.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return jsonv.AppendNumber(b, f)
}
