package resp

import (
	"sync"
	"time"
)

// The read buffer's sizes.
const (
	initialReadBuffer = 16 << 10
	// bigArg is Redis's PROTO_MBULK_BIG_ARG: past this length a pending
	// bulk's size caps the buffer's growth, so the buffer ends up the
	// command's size rather than the next power of two.
	bigArg = 32 << 10
	// shrinkAbove is the buffer size past which a buffer mostly emptied
	// (its big command done) is replaced by one sized for what is left.
	shrinkAbove = 1 << 20
)

// Room returns buf, or a copy of its bytes, with room for the next read.
// The buffer grows only when full, by doubling, so its size follows what
// the client has sent, never what a header announces: a client declaring
// a 512 MB bulk and trickling bytes holds about twice what it has sent.
// Growth stops at the end of a pending bulk longer than bigArg (see Need).
// A big buffer whose command is done (less than a quarter of it still
// pending) is let go for one sized for what is pending, and the Reader
// drops its references into it: the arguments Next returned must no
// longer be in use.
func (r *Reader) Room(buf []byte) []byte {
	n, size := len(buf), cap(buf)
	switch {
	case size > shrinkAbove && n < size/4:
		size = max(initialReadBuffer, 2*n)
		clear(r.args[:r.prev])
		r.prev = 0
	case n == size:
		size = max(2*size, initialReadBuffer)
		if need := r.need; need > n && need >= bigArg && need < size {
			size = need
		}
	default:
		return buf
	}
	nb := make([]byte, n, size)
	copy(nb, buf)
	return nb
}

// noteQueryBuffer records the connection's read buffer (what is pending in
// it and its size) for CLIENT LIST and INFO, and, when a big buffer is let
// go (nil: the connection is done with it), arms the return of its memory
// to the system. Connection goroutine only.
func (c *Conn) noteQueryBuffer(buf []byte) {
	if buf == nil {
		// The connection is done: drop the Reader's references into the
		// buffer, so that a Conn still referenced does not keep it.
		clear(c.rd.args[:c.rd.prev])
		c.rd.args, c.rd.prev = nil, 0
		c.rd.reset()
	}
	c.qbufLen.Store(int64(len(buf)))
	size := int64(cap(buf))
	old := c.qbufCap.Swap(size)
	if size > c.qbufPeak.Load() {
		c.qbufPeak.Store(size)
	}
	switch {
	case size > old && size > initialReadBuffer:
		c.srv.inputPeak.note(size, time.Now())
	case size < old && old > shrinkAbove:
		noteFreed(old)
	}
}

// ReadBuffer returns the read buffer's size and the largest it has been
// (CLIENT LIST's rbs and rbp). Safe for concurrent use.
func (c *Conn) ReadBuffer() (size, peak int64) { return c.qbufCap.Load(), c.qbufPeak.Load() }

// QueryBuffer returns the bytes pending in the connection's read buffer
// (a command not complete yet, or pipelined commands not read yet) and the
// free room left in it: CLIENT LIST's qbuf and qbuf-free. Safe for
// concurrent use.
func (c *Conn) QueryBuffer() (pending, free int64) {
	pending = c.qbufLen.Load()
	return pending, max(0, c.qbufCap.Load()-pending)
}

// inputPeakSlots is how many seconds the recent peak of read buffer sizes
// covers, as Redis's CLIENTS_PEAK_MEM_USAGE_SLOTS.
const inputPeakSlots = 8

// recentPeak keeps the largest read buffer of each of the last few
// seconds. The zero value is ready.
type recentPeak struct {
	mu    sync.Mutex // guards the fields below
	sec   [inputPeakSlots]int64
	value [inputPeakSlots]int64
}

// note records a buffer of size bytes seen at now.
func (p *recentPeak) note(size int64, now time.Time) {
	sec := now.Unix()
	i := sec % inputPeakSlots
	p.mu.Lock()
	if p.sec[i] != sec {
		p.sec[i], p.value[i] = sec, 0
	}
	p.value[i] = max(p.value[i], size)
	p.mu.Unlock()
}

// max returns the largest size noted in the last inputPeakSlots seconds.
func (p *recentPeak) max(now time.Time) int64 {
	sec := now.Unix()
	var m int64
	p.mu.Lock()
	for i := range p.sec {
		if sec-p.sec[i] < inputPeakSlots {
			m = max(m, p.value[i])
		}
	}
	p.mu.Unlock()
	return m
}

// RecentMaxInputBuffer returns the largest read buffer a client has held
// in the last few seconds, live connections included: INFO's
// client_recent_max_input_buffer. Safe for concurrent use.
func (s *Server) RecentMaxInputBuffer() int64 {
	m := s.inputPeak.max(time.Now())
	for _, c := range s.Conns() {
		m = max(m, c.qbufCap.Load())
	}
	return m
}
