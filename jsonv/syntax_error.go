package jsonv

import (
	"strconv"
	"unicode/utf8"
)

// Messages used in SyntaxError.Msg. Those without an offset in Error() are
// listed in SyntaxError.Error.
const (
	msgEOF         = "unexpected end of input"
	msgNotObject   = "expected a JSON object"
	msgInvalidUTF8 = "invalid UTF-8"
	msgRange       = "number out of range"
	msgTooDeep     = "nesting too deep"
	msgTrailing    = "unexpected data after value"
)

// SyntaxError describes why a document was rejected by Parse or ParseObject.
type SyntaxError struct {
	// Offset is the byte offset in the input where the problem was found;
	// for "unexpected end of input" it is the length of the input.
	Offset int
	// Msg is a one-line description without the offset, such as
	// "unexpected character 'x'" or "number out of range".
	Msg string
}

// Error returns Msg followed by " at offset N", except for
// "unexpected end of input" and "expected a JSON object", which are returned
// as they are. The text is a single line.
func (e *SyntaxError) Error() string {
	if e.Msg == msgEOF || e.Msg == msgNotObject {
		return e.Msg
	}
	return e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// errAt returns a SyntaxError with the given message at offset off.
func errAt(off int, msg string) error {
	return &SyntaxError{Offset: off, Msg: msg}
}

// errUnexpected reports the byte at off of data as unexpected (suffix is
// appended to the message, e.g. " in string"). Bytes that do not start a
// valid UTF-8 sequence are reported as invalid UTF-8 instead; off must be
// inside data.
func errUnexpected(data []byte, off int, suffix string) error {
	r, size := utf8.DecodeRune(data[off:])
	if r == utf8.RuneError && size <= 1 {
		return errAt(off, msgInvalidUTF8)
	}
	return errAt(off, "unexpected character "+strconv.QuoteRune(r)+suffix)
}
