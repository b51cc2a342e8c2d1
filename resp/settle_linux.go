//go:build linux

package resp

import (
	"io"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Settling input (docs/commands.md, "Subscribed mode"). Redis reads its
// sockets on one thread, in the order bytes arrive, so a subscriber's
// UNSUBSCRIBE that reached the server before another client's PUBLISH is
// served before it, and the message is not delivered. Here each connection
// has its goroutine, and the subscriber's may not have read its socket yet
// when the publisher's runs. So the subscribed connections' sockets are in
// an epoll set of their own (level-triggered), and a PUBLISH first asks it,
// in one non-blocking epoll_wait, which of them hold unread bytes; for
// those it lets their goroutines read and serve them (they are runnable),
// within a bound, before it delivers. A connection's inputPending says it
// took bytes it has not served yet (readInput sets it before the read, so
// a PUBLISH that peeks and then reads the flag never misses them). The rule
// is checked by TestUnsubscribeBeforePublish.

// inputWatch is the epoll set of the subscribed connections, and the
// connections themselves.
type inputWatch struct {
	once  sync.Once
	ep    int // the epoll descriptor; -1 when it cannot be made
	mu    sync.Mutex
	conns map[*Conn]struct{}
}

func (s *Server) watchSet() int {
	s.watch.once.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			s.log.Warn().Err(err).Msg("no epoll set for subscribers' input: a PUBLISH may overtake an UNSUBSCRIBE not read yet")
			fd = -1
		}
		s.watch.ep = fd
	})
	return s.watch.ep
}

// WatchInput puts the connection in the set whose unread input a PUBLISH
// lets be served first (on: it is subscribed), or takes it out. Safe for
// concurrent use.
func (c *Conn) WatchInput(on bool) {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watched == on || c.closedFD {
		return
	}
	ep := c.srv.watchSet()
	if ep < 0 {
		return
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if on {
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32))}
			err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, int(fd), &ev)
		} else {
			err = unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, int(fd), nil)
		}
	})
	if err == nil {
		c.watched = on
		w := &c.srv.watch
		w.mu.Lock()
		if on {
			if w.conns == nil {
				w.conns = map[*Conn]struct{}{}
			}
			w.conns[c] = struct{}{}
		} else {
			delete(w.conns, c)
		}
		c.srv.watched.Store(int32(len(w.conns)))
		w.mu.Unlock()
	}
}

// unwatchClosing takes the connection out of the set before its socket
// closes.
func (c *Conn) unwatchClosing() {
	c.WatchInput(false)
	c.watchMu.Lock()
	c.closedFD = true
	c.watchMu.Unlock()
}

// rawReader reads a socket through its RawConn; made once per connection,
// so that a read allocates nothing.
type rawReader struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // read, a method value made once
	p   []byte
	n   int
	err error
	c   *Conn
}

// read is the RawConn.Read callback: it marks the input pending before the
// bytes can leave the socket, and unmarks it when there were none.
func (r *rawReader) read(fd uintptr) bool {
	r.c.inputPending.Store(true)
	r.n, r.err = syscall.Read(int(fd), r.p)
	switch r.err {
	case syscall.EAGAIN:
		r.c.inputPending.Store(false) // nothing read: wait for more
		return false
	case syscall.EINTR:
		return false
	}
	return true
}

// readInput reads from the socket, keeping inputPending true from just
// before a read that may take bytes until the next read finds none: a
// PUBLISH that peeks at the socket (SettleInput) and then reads
// inputPending never misses bytes that were taken but not yet served.
// Sockets it cannot reach directly are read as usual. It allocates nothing
// after the first read (TestReadInputAllocs).
func (c *Conn) readInput(p []byte) (int, error) {
	if c.raw == nil {
		c.raw = &rawReader{c: c}
		if sc, ok := c.nc.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				c.raw.rc = rc
				c.raw.fn = c.raw.read
			}
		}
	}
	r := c.raw
	if r.rc == nil || len(p) == 0 {
		c.inputPending.Store(false)
		n, err := c.nc.Read(p)
		if n > 0 {
			c.inputPending.Store(true)
		}
		return n, err
	}
	r.p = p
	err := r.rc.Read(r.fn)
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case r.err != nil:
		return 0, r.err
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// hasInput reports whether the socket holds unread bytes, peeking without
// blocking.
func (c *Conn) hasInput() bool {
	n, err, ok := c.peek()
	return ok && err == nil && n > 0
}

// SettleInput lets the subscribed connections whose sockets hold unread
// bytes read and serve them before the caller (a PUBLISH) goes on, for at
// most max: what a subscriber sent before the publish arrived is served
// before it, as on Redis's one thread. With no subscriber holding input it
// costs one epoll_wait; with none subscribed, nothing.
func (s *Server) SettleInput(max time.Duration) {
	if s.watched.Load() == 0 {
		return
	}
	ep := s.watchSet()
	if ep < 0 {
		return
	}
	// Those with bytes still in their sockets, then those with bytes taken
	// but not served yet: in this order (see readInput), or a goroutine
	// that takes its bytes between the two looks would be in neither.
	// A full batch of events means there may be more: the set is
	// level-triggered and moves what it reported behind the rest, so the
	// next call goes on from there, until it reports one seen already.
	var wait []*Conn
	var evs [32]unix.EpollEvent
	var seen map[uint64]bool // made at a second call only
	for more := true; more; {
		n, err := unix.EpollWait(ep, evs[:], 0)
		if err != nil {
			break
		}
		more = n == len(evs)
		for _, ev := range evs[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if seen[id] {
				more = false
				continue
			}
			if more {
				if seen == nil {
					seen = map[uint64]bool{}
				}
				seen[id] = true
			}
			if c := s.Conn(id); c != nil {
				wait = append(wait, c)
			}
		}
	}
	s.watch.mu.Lock()
	for c := range s.watch.conns {
		if c.inputPending.Load() {
			wait = append(wait, c)
		}
	}
	s.watch.mu.Unlock()
	deadline := time.Now().Add(max)
	for _, c := range wait {
		// Its goroutine waits in the network poller, which runs when a
		// processor has nothing else to do: sleep (a yield would keep this
		// goroutine running) until it has read the bytes and served them.
		// It is done when its socket is empty and nothing it took is
		// unserved (peek first, then the flag: see readInput). A subscriber
		// that keeps sending is waited for two batches at most (a read
		// begins after the bytes of the one before are served:
		// servedReads): the one under way and the one with what it had
		// sent when this PUBLISH looked.
		r0 := c.servedReads.Load()
		for c.hasInput() || c.inputPending.Load() {
			if c.servedReads.Load() >= r0+2 {
				break
			}
			if !time.Now().Before(deadline) {
				s.SettleTimeouts.Add(1)
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
}
