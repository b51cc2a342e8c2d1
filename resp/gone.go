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
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	var buf [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == nil:
			gone = n == 0 // end of stream
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		default:
			gone = true // reset or another error: nobody will read the reply
		}
		return true
	})
	return gone
}
