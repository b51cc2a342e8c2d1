package resp

import (
	"context"
	"errors"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Handler runs commands for connections.
type Handler interface {
	// Serve runs one command on the connection goroutine of c. args alias
	// the read buffer and are valid only until Serve returns: copy what
	// must be kept. Replies go to c.W.
	Serve(c *Conn, args [][]byte)
	// Opened is called once per accepted connection, on the accept
	// goroutine, before the connection is listed by Conns and before its
	// goroutine starts: what it sets on c (Session, Authed) is then seen
	// by every goroutine that finds c through Conns without a race. A
	// connection refused for maxclients is opened but never served or
	// closed.
	Opened(c *Conn)
	// Closed is called once, on the connection goroutine, when c has gone.
	Closed(c *Conn)
	// Drained is called on the connection goroutine when the commands of
	// one read have run, before their replies are written and before the
	// connection waits for the client; after each prepared run of more
	// than one command, before the next run is prepared (see Preparer);
	// and before a protocol error is answered.
	Drained(c *Conn)
}

// Preparer is implemented by a Handler that can do part of a pipelined
// command's work ahead of its turn, outside anything the commands before
// it hold (parsing a JSON argument, say).
//
// The connection calls Prepare for the commands of a read in order, and
// reads the next command before serving this one only while Prepare says
// true: the commands read so far form a run, served in the same order,
// each once, and Drained follows the run. Prepare must say false for any
// command whose running can change how the next command is read
// (authentication, closing the connection), and for a connection that has
// not authenticated; that command is still served, last in its run. A run
// holds at most MaxPrepared commands.
type Preparer interface {
	Prepare(c *Conn, args [][]byte) bool
}

// MaxPrepared bounds how many commands one prepared run holds: the
// connection serves them and calls Drained before it prepares more.
const MaxPrepared = 64

// OutputLimit is Redis's client-output-buffer-limit for one class of
// clients: a client whose pending output passes Hard bytes, or stays above
// Soft bytes for longer than SoftFor, is disconnected. Zero disables a
// bound.
type OutputLimit struct {
	Hard    int64
	Soft    int64
	SoftFor time.Duration
}

// DefaultPubSubLimit is Redis's default for pub/sub clients: 32mb 8mb 60.
var DefaultPubSubLimit = OutputLimit{Hard: 32 << 20, Soft: 8 << 20, SoftFor: 60 * time.Second}

// DefaultReplicaLimit is Redis's default for replicas and monitors:
// 256mb 64mb 60. The normal class's default is no limit.
var DefaultReplicaLimit = OutputLimit{Hard: 256 << 20, Soft: 64 << 20, SoftFor: 60 * time.Second}

// OutputClass is the class of clients whose output limit applies to a
// connection, as Redis's client-output-buffer-limit classes.
type OutputClass int32

// The classes.
const (
	ClassNormal  OutputClass = iota // every other client
	ClassReplica                    // MONITOR (and, later, replicas)
	ClassPubSub                     // subscribed to a channel or pattern
	numClasses
)

// Server accepts connections and serves each on its own goroutine.
type Server struct {
	handler Handler
	log     zerolog.Logger

	limits       atomic.Pointer[Limits]
	outputLimits [numClasses]atomic.Pointer[OutputLimit]
	closing      atomic.Bool
	nextID       atomic.Uint64
	wg           sync.WaitGroup

	// OutputLimitDisconnections counts clients closed for passing their
	// output buffer limit (INFO client_output_buffer_limit_disconnections).
	OutputLimitDisconnections atomic.Int64
	// TotalConnections counts accepted connections.
	TotalConnections atomic.Int64
	// RejectedConnections counts connections refused past MaxClients.
	RejectedConnections atomic.Int64
	// SettleTimeouts counts the SettleInput calls that gave up at their
	// bound with a subscriber's input still unserved.
	SettleTimeouts atomic.Int64

	// MaxClients bounds the number of connected clients (0: no bound).
	MaxClients atomic.Int64

	inputPeak recentPeak // the largest read buffers of the last seconds

	watch   inputWatch   // the subscribed connections' input (settle_linux.go)
	watched atomic.Int32 // connections in it

	quit     chan struct{} // closed by Shutdown
	quitOnce sync.Once

	mu    sync.Mutex // guards the fields below
	ln    net.Listener
	conns map[uint64]*Conn
}

// NewServer returns a server that runs commands with h and logs to log.
func NewServer(h Handler, log zerolog.Logger) *Server {
	s := &Server{handler: h, log: log, conns: make(map[uint64]*Conn), quit: make(chan struct{})}
	lim := DefaultLimits()
	s.limits.Store(&lim)
	for class, l := range [numClasses]OutputLimit{ClassReplica: DefaultReplicaLimit, ClassPubSub: DefaultPubSubLimit} {
		s.outputLimits[class].Store(&l)
	}
	return s
}

// Limits returns the protocol limits in force. Safe for concurrent use.
func (s *Server) Limits() Limits { return *s.limits.Load() }

// SetLimits changes the protocol limits for every connection. Safe for
// concurrent use.
func (s *Server) SetLimits(l Limits) { s.limits.Store(&l) }

// OutputLimit returns the output buffer limit of a class of clients. Safe
// for concurrent use.
func (s *Server) OutputLimit(class OutputClass) OutputLimit { return *s.outputLimits[class].Load() }

// SetOutputLimit changes the output buffer limit of a class of clients.
// Safe for concurrent use.
func (s *Server) SetOutputLimit(class OutputClass, l OutputLimit) { s.outputLimits[class].Store(&l) }

// Serve accepts connections on ln until Shutdown or Close. It returns nil
// after a shutdown, or the accept error that stopped it. An accept error
// that passes (out of file descriptors or memory, a connection aborted
// before it was accepted: see retryableAccept) does not stop it: as
// net/http's Server.Serve does, it waits 5 ms, doubling up to 1 s while the
// errors go on, and tries again, logging at most once a second.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	var backoff acceptBackoff
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !retryableAccept(err) {
				return err
			}
			delay, report, failed := backoff.failed(time.Now())
			if report {
				s.log.Warn().Err(err).Dur("retry_in", delay).Int("errors", failed).
					Int("clients", s.NumConns()).Msg("accept failed; retrying")
			}
			select {
			case <-time.After(delay):
			case <-s.quit:
				return nil
			}
			continue
		}
		backoff.reset()
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			tc.SetKeepAlive(true)
			tc.SetKeepAlivePeriod(300 * time.Second)
		}
		c := &Conn{
			srv:     s,
			nc:      nc,
			id:      s.nextID.Add(1),
			addr:    nc.RemoteAddr().String(),
			laddr:   nc.LocalAddr().String(),
			created: time.Now(),
			flags:   "N",
		}
		c.W.Proto = 2
		c.W.Late = true
		c.proto.Store(2)
		c.lastActive.Store(c.created.UnixNano())
		s.handler.Opened(c)
		s.mu.Lock()
		max := s.MaxClients.Load()
		if s.closing.Load() || (max > 0 && int64(len(s.conns)) >= max) {
			s.mu.Unlock()
			s.RejectedConnections.Add(1)
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
			nc.Close()
			continue
		}
		s.conns[c.id] = c
		s.mu.Unlock()
		s.TotalConnections.Add(1)
		s.goTracked(c.serve)
	}
}

// goTracked starts fn on a goroutine that Shutdown waits for.
func (s *Server) goTracked(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c.id)
	s.mu.Unlock()
}

func (s *Server) outputLimitReached(c *Conn) {
	s.OutputLimitDisconnections.Add(1)
	s.log.Warn().Uint64("client", c.id).Str("addr", c.addr).
		Msg("client closed for overcoming of output buffer limits (pubsub)")
	c.nc.Close()
}

// Conns returns the live connections, sorted by id. Safe for concurrent use.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	out := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// NumConns returns the number of live connections.
func (s *Server) NumConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Conn returns the live connection with the given id, or nil.
func (s *Server) Conn(id uint64) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id]
}

// Shutdown stops accepting, lets every connection finish the commands it
// is running, then closes them and waits for their goroutines, or until ctx
// ends (then the rest are closed at once).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.quitOnce.Do(func() { close(s.quit) })
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Wake connections blocked in Read; a connection running a command
	// finishes it and its replies are written before it closes.
	for _, c := range conns {
		c.nc.SetReadDeadline(time.Now())
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range s.Conns() {
			c.Kill()
		}
		<-done
		return ctx.Err()
	}
}
