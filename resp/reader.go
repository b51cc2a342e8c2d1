package resp

import (
	"bytes"
	"errors"
	"math"
)

// Redis's fixed protocol limits (networking.c, server.h).
const (
	// inlineMax is PROTO_INLINE_MAX_SIZE: the longest inline request, and
	// the longest multibulk or bulk count line, that may be pending without
	// its terminator.
	inlineMax = 64 << 10
	// unauthMaxArgs is the largest multibulk count an unauthenticated
	// client may send.
	unauthMaxArgs = 10
	// unauthMaxBulk is the longest bulk an unauthenticated client may send.
	unauthMaxBulk = 16384
	// unauthQueryBuffer caps the query buffer of an unauthenticated client
	// whatever client-query-buffer-limit says.
	unauthQueryBuffer = 1 << 20

	defaultMaxBulk     = 512 << 20
	defaultQueryBuffer = 1 << 30

	// retainMax bounds the argument tables a Reader keeps between commands;
	// larger ones, left by a command with very many arguments, are dropped.
	retainMax = 1 << 16
	// retainBuf is the buffer size past which the arguments returned are
	// cleared from the Reader's table on the next call.
	retainBuf = 64 << 10
)

// Limits bounds what one client may send. A zero or negative field means its
// default (see DefaultLimits).
type Limits struct {
	// MaxBulk is proto-max-bulk-len: the longest bulk argument accepted.
	// Default 512 MiB.
	MaxBulk int64
	// QueryBuffer is client-query-buffer-limit: the most bytes one pending
	// (incomplete) command may occupy. Default 1 GiB. Clients that have not
	// authenticated are held to at most 1 MiB, as in Redis.
	QueryBuffer int
}

// DefaultLimits returns Redis's default limits: proto-max-bulk-len 512 MiB
// and client-query-buffer-limit 1 GiB.
func DefaultLimits() Limits {
	return Limits{MaxBulk: defaultMaxBulk, QueryBuffer: defaultQueryBuffer}
}

func (lim Limits) maxBulk() int64 {
	if lim.MaxBulk <= 0 {
		return defaultMaxBulk
	}
	return lim.MaxBulk
}

func (lim Limits) queryBuffer(authed bool) int {
	q := lim.QueryBuffer
	if q <= 0 {
		q = defaultQueryBuffer
	}
	if !authed && q > unauthQueryBuffer {
		q = unauthQueryBuffer
	}
	return q
}

// ProtocolError is a malformed request. Msg is exactly the error text Redis
// replies with, error code included (for example "ERR Protocol error:
// invalid multibulk length"): the connection writes "-" + Msg + "\r\n" and
// closes.
type ProtocolError struct {
	Msg string
}

// Error returns Msg.
func (e *ProtocolError) Error() string { return e.Msg }

// ErrQueryBufferLimit is returned by Reader.Next when the bytes of an
// incomplete command exceed the query buffer limit. Redis closes such a
// connection without replying; so should the caller.
var ErrQueryBufferLimit = errors.New("resp: client query buffer limit exceeded")

// The protocol errors Redis replies with. They are shared: callers must not
// modify them.
var (
	errTooBigInline    = &ProtocolError{"ERR Protocol error: too big inline request"}
	errUnbalanced      = &ProtocolError{"ERR Protocol error: unbalanced quotes in request"}
	errTooBigMbulk     = &ProtocolError{"ERR Protocol error: too big mbulk count string"}
	errInvalidMbulk    = &ProtocolError{"ERR Protocol error: invalid multibulk length"}
	errUnauthMbulk     = &ProtocolError{"ERR Protocol error: unauthenticated multibulk length"}
	errTooBigBulkCount = &ProtocolError{"ERR Protocol error: too big bulk count string"}
	errInvalidBulk     = &ProtocolError{"ERR Protocol error: invalid bulk length"}
	errUnauthBulk      = &ProtocolError{"ERR Protocol error: unauthenticated bulk length"}
)

// errExpectedDollar is Redis's "expected '$', got '%c'", with CR and LF shown
// as spaces as addReplyErrorFormat does.
func errExpectedDollar(c byte) *ProtocolError {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return &ProtocolError{"ERR Protocol error: expected '$', got '" + string([]byte{c}) + "'"}
}

// span locates one parsed argument in the pending command's bytes.
type span struct{ lo, hi int }

// Reader parses commands out of a connection's read buffer. It keeps enough
// state between calls to avoid re-scanning a large pending bulk on every
// read. Not safe for concurrent use.
//
// While a command is incomplete (Next returned n == 0 and no error), the next
// call must be given a buffer that starts with the same bytes, typically the
// same pending bytes with more appended. The zero Reader is ready to use.
type Reader struct {
	args  [][]byte // the table Next returns, reused
	spans []span   // the arguments of the pending multibulk command so far
	prev  int      // how many entries of args the next call must clear

	pos  int   // bytes of the pending multibulk command parsed so far
	left int   // bulks still expected; 0 when no multibulk body is pending
	bulk int64 // length of the bulk whose header has been read, or -1

	// Terminator search of the current line (the inline request, or the
	// count line starting at pos): scan bytes past the line start are known
	// to hold neither the terminator nor a NUL; blocked means a NUL comes
	// first, which hides the terminator from Redis's strchr for good.
	scan    int
	blocked bool

	need int
}

// Next parses one command from buf. It returns the arguments (slices aliasing
// buf, valid until buf is modified; the table holding them is reused by the
// next call), the number of bytes consumed, and an error. When buf holds no
// complete command, it returns args == nil, n == 0 (or n > 0 when it consumed
// ignorable input such as an empty inline line or `*0\r\n` / `*-1\r\n`: the
// caller then discards n bytes and calls again) and err == nil. authed reports
// whether the client has passed AUTH (or none is required); it changes the
// limits as Redis does.
//
// The error is a *ProtocolError, to be sent to the client before closing the
// connection, or ErrQueryBufferLimit, to close it silently. After an error the
// Reader is reset, but the connection is not meant to go on.
//
// Inline requests with quoted arguments are decoded in place: Next may
// rewrite the bytes of the line it consumes.
func (r *Reader) Next(buf []byte, authed bool, lim Limits) (args [][]byte, n int, err error) {
	if r.prev > 0 {
		// Drop the previous command's references into its buffer.
		clear(r.args[:r.prev])
		r.prev = 0
	}
	r.need = 0
	if r.left > 0 && r.pos > len(buf) {
		// The caller broke the contract (a shorter buffer mid-command):
		// start over rather than slice out of range.
		r.reset()
	}
	if r.left == 0 {
		if r.scan > len(buf) {
			r.scan, r.blocked = 0, false
		}
		if len(buf) == 0 {
			return nil, 0, nil
		}
		if buf[0] != '*' {
			return r.inline(buf, authed, lim)
		}
	}
	return r.multibulk(buf, authed, lim)
}

// Need reports how many bytes buf must hold before Next can make progress (0
// if unknown): after Next has returned n == 0 while waiting for a bulk
// argument or the end of a count line whose '\r' has arrived. Need can be
// as large as MaxBulk plus the bytes before it, whatever has arrived: grow
// the buffer with Room, which follows the bytes received.
func (r *Reader) Need() int { return r.need }

// reset forgets any pending command.
func (r *Reader) reset() {
	r.pos, r.left, r.bulk = 0, 0, -1
	r.scan, r.blocked = 0, false
	r.need = 0
	r.spans = r.spans[:0]
	if cap(r.spans) > retainMax {
		r.spans = nil
	}
}

// fail resets the Reader and returns err.
func (r *Reader) fail(err error) ([][]byte, int, error) {
	r.reset()
	return nil, 0, err
}

// incomplete reports that buf holds no complete command yet, unless the
// pending bytes break a limit: the query buffer limit (checked first, as Redis
// checks it when reading, before parsing), or tooBig when the current line,
// starting at lineStart, is longer than PROTO_INLINE_MAX_SIZE without its
// terminator (tooBig is nil when the Reader is waiting for something else).
func (r *Reader) incomplete(buf []byte, authed bool, lim Limits, lineStart int, tooBig *ProtocolError) ([][]byte, int, error) {
	if len(buf) > lim.queryBuffer(authed) {
		return r.fail(ErrQueryBufferLimit)
	}
	if tooBig != nil && len(buf)-lineStart > inlineMax {
		return r.fail(tooBig)
	}
	return nil, 0, nil
}

// findLine looks for the terminator c of the line starting at start, as
// Redis's strchr does: the search stops at a NUL byte, which hides any later
// terminator. It remembers how far it got so that a line arriving byte by
// byte is not re-scanned from its start.
func (r *Reader) findLine(buf []byte, start int, c byte) (int, bool) {
	// Fast path, small enough to inline: a short line seen for the first time.
	if r.scan == 0 && !r.blocked {
		for i := start; i < len(buf) && i < start+16; i++ {
			if b := buf[i]; b == c {
				return i, true
			} else if b == 0 {
				break
			}
		}
	}
	return r.findLineSlow(buf, start, c)
}

func (r *Reader) findLineSlow(buf []byte, start int, c byte) (int, bool) {
	if r.blocked {
		return -1, false
	}
	from := start + r.scan
	if from > len(buf) {
		from = start
	}
	i, blocked := scanLine(buf, from, c)
	switch {
	case blocked:
		r.blocked = true
		return -1, false
	case i < 0:
		r.scan = len(buf) - start
		return -1, false
	}
	return i, true
}

// scanLine returns the index of the first c in p[from:], or -1, and whether a
// NUL byte comes before it.
func scanLine(p []byte, from int, c byte) (i int, blocked bool) {
	// Count lines are short: a plain loop beats two IndexByte calls.
	end := min(len(p), from+32)
	for i := from; i < end; i++ {
		switch p[i] {
		case c:
			return i, false
		case 0:
			return -1, true
		}
	}
	if end == len(p) {
		return -1, false
	}
	rest := p[end:]
	j := bytes.IndexByte(rest, c)
	before := rest
	if j >= 0 {
		before = rest[:j]
	}
	if bytes.IndexByte(before, 0) >= 0 {
		return -1, true
	}
	if j < 0 {
		return -1, false
	}
	return end + j, false
}

// multibulk parses a `*<n>\r\n` command, resuming where the last call
// stopped, following processMultibulkBuffer.
func (r *Reader) multibulk(buf []byte, authed bool, lim Limits) ([][]byte, int, error) {
	if r.left == 0 {
		ll, next, ok := quickCount(buf, 0, '*')
		if !ok {
			i, found := r.findLine(buf, 0, '\r')
			if !found {
				return r.incomplete(buf, authed, lim, 0, errTooBigMbulk)
			}
			if i+2 > len(buf) { // the '\n' (or whatever follows '\r') is missing
				r.need = i + 2
				return r.incomplete(buf, authed, lim, 0, nil)
			}
			ll, ok = parseInt(buf[1:i])
			next = i + 2
		}
		if !ok || ll > math.MaxInt32 {
			return r.fail(errInvalidMbulk)
		}
		if ll > unauthMaxArgs && !authed {
			return r.fail(errUnauthMbulk)
		}
		r.scan, r.blocked = 0, false
		if ll <= 0 {
			return nil, next, nil
		}
		r.left = int(ll)
		r.pos = next
		r.bulk = -1
		r.spans = r.spans[:0]
	}

	maxBulk := lim.maxBulk()
	if r.bulk < 0 {
		// Fast loop, in locals: plain bulk headers with their payloads in
		// buf. Anything else is left to the careful loop below.
		pos, left, spans := r.pos, r.left, r.spans
		for left > 0 {
			ll, next, ok := quickCount(buf, pos, '$')
			if !ok || ll > maxBulk || ll > unauthMaxBulk && !authed {
				break
			}
			end := next + int(ll) // no overflow: ll < 1e18
			if end+2 > len(buf) {
				break
			}
			spans = append(spans, span{next, end})
			pos = end + 2
			left--
		}
		if pos != r.pos { // the line being searched, if any, is behind us
			r.scan, r.blocked = 0, false
		}
		r.pos, r.left, r.spans = pos, left, spans
	}
	for r.left > 0 {
		if r.bulk < 0 {
			ll, next, ok := quickCount(buf, r.pos, '$')
			if !ok {
				i, found := r.findLine(buf, r.pos, '\r')
				if !found {
					return r.incomplete(buf, authed, lim, r.pos, errTooBigBulkCount)
				}
				if i+2 > len(buf) {
					r.need = i + 2
					return r.incomplete(buf, authed, lim, r.pos, nil)
				}
				// The '$' is checked only once the line is complete, as
				// Redis does.
				if buf[r.pos] != '$' {
					return r.fail(errExpectedDollar(buf[r.pos]))
				}
				ll, ok = parseInt(buf[r.pos+1 : i])
				next = i + 2
			}
			if !ok || ll < 0 || ll > maxBulk {
				return r.fail(errInvalidBulk)
			}
			if ll > unauthMaxBulk && !authed {
				return r.fail(errUnauthBulk)
			}
			r.scan, r.blocked = 0, false
			r.pos = next
			r.bulk = ll
		}
		// Payload plus two bytes Redis skips without looking at them.
		if int64(len(buf)-r.pos) < r.bulk+2 {
			if end := int64(r.pos) + r.bulk + 2; end <= math.MaxInt {
				r.need = int(end)
			}
			return r.incomplete(buf, authed, lim, r.pos, nil)
		}
		end := r.pos + int(r.bulk)
		r.spans = append(r.spans, span{r.pos, end})
		r.pos = end + 2
		r.bulk = -1
		r.left--
	}

	args := r.args[:0]
	for _, s := range r.spans {
		args = append(args, buf[s.lo:s.hi:s.hi])
	}
	n := r.pos
	r.keep(args, len(buf))
	r.reset()
	return args, n, nil
}

// keep stores the table being returned so the next call can reuse it. When
// the arguments point into a large buffer, the next call clears them, so that
// the table does not keep that buffer alive once the connection lets it go.
func (r *Reader) keep(args [][]byte, bufLen int) {
	if cap(args) > retainMax {
		r.args, r.prev = nil, 0
		return
	}
	r.args = args
	r.prev = 0
	if bufLen > retainBuf {
		r.prev = len(args)
	}
}

// quickCount parses a plain count line at buf[pos:]: the type byte, "0" or 1
// to 18 digits without a leading zero, '\r' and one more byte. It returns the
// count and the offset past the line. Anything else, including a line not
// complete yet, gives ok == false and is left to the careful path.
func quickCount(buf []byte, pos int, typ byte) (n int64, next int, ok bool) {
	if pos >= len(buf) || buf[pos] != typ {
		return 0, 0, false
	}
	end := min(len(buf)-1, pos+20) // '\r' at most at pos+19, with a byte after it
	for i := pos + 1; i < end; i++ {
		c := buf[i]
		if c == '\r' {
			if i == pos+1 || buf[pos+1] == '0' && i != pos+2 {
				return 0, 0, false
			}
			return n, i + 2, true
		}
		d := c - '0'
		if d > 9 {
			return 0, 0, false
		}
		n = n*10 + int64(d)
	}
	return 0, 0, false
}

// parseInt parses b as Redis's string2ll does: an optional '-', then digits
// without leading zeros (except "0" itself), at most 20 bytes, no '+' and no
// spaces, within the range of int64.
func parseInt(b []byte) (int64, bool) {
	// Fast path: 1 to 18 digits cannot overflow.
	if len(b) > 0 && len(b) <= 18 && b[0] >= '1' && b[0] <= '9' {
		var v int64
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			v = v*10 + int64(d)
		}
		return v, true
	}
	return parseIntSlow(b)
}

func parseIntSlow(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true // -(1<<63) wraps to itself: MinInt64
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
