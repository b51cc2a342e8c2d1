//go:build !unix

package resp

// Gone reports whether the client has left; without unix sockets it cannot
// tell and says no.
func (c *Conn) Gone() bool { return false }
