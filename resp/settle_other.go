//go:build !linux

package resp

import "time"

// rawReader is not used without epoll.
type rawReader struct{}

// inputWatch is empty without epoll.
type inputWatch struct{}

// WatchInput does nothing without epoll: a PUBLISH may then overtake a
// subscriber's UNSUBSCRIBE not read yet.
func (c *Conn) WatchInput(on bool) {}

func (c *Conn) unwatchClosing() {}

// readInput reads from the socket.
func (c *Conn) readInput(p []byte) (int, error) { return c.nc.Read(p) }

// SettleInput does nothing without epoll.
func (s *Server) SettleInput(max time.Duration) {}
