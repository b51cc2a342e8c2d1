package resp

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// The accept loop's backoff after an error that passes, as net/http's.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
	// acceptLogEvery bounds how often failing accepts are logged.
	acceptLogEvery = time.Second
)

// retryableAccept reports whether an Accept error is worth waiting out
// rather than ending the server: a timeout, or a shortage that frees
// itself as clients leave (file descriptors, buffers, memory), or a
// connection that went away before it was accepted.
func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{
		syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
		syscall.EPROTO, syscall.EPERM, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// acceptBackoff is the accept loop's state between errors. The zero value
// is ready.
type acceptBackoff struct {
	delay    time.Duration
	failures int       // errors since the last report
	reported time.Time // when the last report was logged
}

// failed records an error at now and returns how long to wait, whether to
// log it, and how many errors the report covers.
func (b *acceptBackoff) failed(now time.Time) (delay time.Duration, report bool, failures int) {
	if b.delay == 0 {
		b.delay = acceptDelayMin
	} else {
		b.delay = min(2*b.delay, acceptDelayMax)
	}
	b.failures++
	if now.Sub(b.reported) < acceptLogEvery {
		return b.delay, false, 0
	}
	failures, b.failures, b.reported = b.failures, 0, now
	return b.delay, true, failures
}

// reset is called after a successful accept: the next error waits the
// shortest delay again.
func (b *acceptBackoff) reset() { b.delay = 0 }
