//go:build unix

package resp

import (
	"errors"
	"syscall"
)

// Gone reports whether the client has closed or reset its connection,
// without reading anything: it peeks at the socket, non-blocking. It is for
// a long command to poll while nobody reads the socket; bytes waiting
// (a pipelined command) mean the client is still there. A connection that
// is not a socket (or TLS) is never gone.
func (c *Conn) Gone() bool {
	n, err, ok := c.peek()
	switch {
	case !ok:
		return false
	case err == nil:
		return n == 0 // end of stream
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		return false
	}
	return true // reset or another error: nobody will read the reply
}

// peek looks at the socket without reading or blocking: the bytes waiting
// (at most 1), or the error; ok is false for a connection that is not a
// socket.
func (c *Conn) peek() (n int, err error, ok bool) {
	sc, isSocket := c.nc.(syscall.Conn)
	if !isSocket {
		return 0, nil, false
	}
	rc, cerr := sc.SyscallConn()
	if cerr != nil {
		return 0, nil, false
	}
	var buf [1]byte
	cerr = rc.Control(func(fd uintptr) {
		n, _, err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	})
	return n, err, cerr == nil
}
