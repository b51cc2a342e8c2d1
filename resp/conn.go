package resp

import (
	"errors"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// closeFlushTimeout bounds how long a closing asynchronous connection
	// waits for its queued output to reach the client.
	closeFlushTimeout = 2 * time.Second
)

// Conn is one client connection. The fields documented as owned by the
// connection goroutine may only be used from Handler.Serve; the methods say
// who may call them.
type Conn struct {
	srv     *Server
	nc      net.Conn
	id      uint64
	addr    string
	laddr   string
	created time.Time

	// W collects the replies of the command being served. Owned by the
	// connection goroutine.
	W Writer
	// Authed reports whether the client has authenticated (or no password
	// is required). Owned by the connection goroutine.
	Authed bool
	// Session holds the command layer's per-connection state. Owned by the
	// connection goroutine.
	Session any

	rd         Reader
	run        cmdRun // the commands being run; owned by the connection goroutine
	closeAfter bool   // owned by the connection goroutine
	aborted    bool   // Abort was called: nothing more is written

	proto      atomic.Int32
	qbufLen    atomic.Int64 // bytes pending in the read buffer (see noteQueryBuffer)
	qbufCap    atomic.Int64 // the read buffer's size
	qbufPeak   atomic.Int64 // the read buffer's largest size
	lastActive atomic.Int64 // unix nanoseconds of the last command

	infoMu  sync.Mutex // guards the fields below
	name    string
	libName string
	libVer  string
	lastCmd string
	flags   string

	outMu   sync.Mutex // guards the fields below
	async   bool       // a writer goroutine owns the socket's write side
	out     outQueue   // queued output, written in place by the writer
	writing bool       // the writer is writing from out's chunks
	// inputPending is true from a read that returned bytes until they are
	// served (SettleInput); watched says the socket is in the server's
	// input set, closedFD that it is about to close (settle_linux.go).
	inputPending atomic.Bool
	servedReads  atomic.Uint64 // reads begun, each after the bytes of the one before were served
	raw          *rawReader    // the socket's reader, made at the first read (readInput)
	watchMu      sync.Mutex
	watched      bool
	closedFD     bool

	softSince time.Time    // when the output first passed the soft limit
	softTimer *time.Timer  // checks the soft limit when no output comes (checkSoft)
	class     atomic.Int32 // its OutputClass (SetOutputClass)
	holding   int          // Push keeps frames in held until as many Releases as Holds
	held      outQueue
	closed    bool // no more output is accepted
	cut       bool // closed for passing the output limit: the writer disconnects
	cutMemory int  // the chunks given back when it was cut
	wake      chan struct{}
	writerEnd chan struct{}
}

// ID returns the connection's unique id (CLIENT ID). Safe for concurrent use.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr returns the client's address. Safe for concurrent use.
func (c *Conn) RemoteAddr() string { return c.addr }

// LocalAddr returns the server-side address of the connection. Safe for
// concurrent use.
func (c *Conn) LocalAddr() string { return c.laddr }

// Created returns when the connection was accepted. Safe for concurrent use.
func (c *Conn) Created() time.Time { return c.created }

// LastActive returns when the connection last ran a command. Safe for
// concurrent use.
func (c *Conn) LastActive() time.Time { return time.Unix(0, c.lastActive.Load()) }

// Proto returns the protocol version in use (2 or 3). Safe for concurrent use.
func (c *Conn) Proto() int { return int(c.proto.Load()) }

// SetProto switches the protocol version of replies. Connection goroutine only.
func (c *Conn) SetProto(p int) {
	c.W.Proto = p
	c.proto.Store(int32(p))
}

// Info returns the connection's name, client library name and version, the
// last command it ran and its flags text. Safe for concurrent use.
func (c *Conn) Info() (name, libName, libVer, lastCmd, flags string) {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	return c.name, c.libName, c.libVer, c.lastCmd, c.flags
}

// SetName sets the connection name (CLIENT SETNAME). Safe for concurrent use.
func (c *Conn) SetName(name string) {
	c.infoMu.Lock()
	c.name = name
	c.infoMu.Unlock()
}

// SetLib records the client library's name or version (CLIENT SETINFO); an
// empty argument leaves that value unchanged. Safe for concurrent use.
func (c *Conn) SetLib(name, ver string) {
	c.infoMu.Lock()
	c.libName, c.libVer = name, ver
	c.infoMu.Unlock()
}

// SetLibName sets the library name alone (CLIENT SETINFO LIB-NAME; empty
// clears it). Safe for concurrent use.
func (c *Conn) SetLibName(name string) {
	c.infoMu.Lock()
	c.libName = name
	c.infoMu.Unlock()
}

// SetLibVer sets the library version alone (CLIENT SETINFO LIB-VER).
// Safe for concurrent use.
func (c *Conn) SetLibVer(ver string) {
	c.infoMu.Lock()
	c.libVer = ver
	c.infoMu.Unlock()
}

// SetFlags records the CLIENT LIST flags text (for example "N", "P", "x").
// Safe for concurrent use.
func (c *Conn) SetFlags(flags string) {
	c.infoMu.Lock()
	c.flags = flags
	c.infoMu.Unlock()
}

// CloseAfterReply makes the connection close once the current replies have
// been written (QUIT). Connection goroutine only.
func (c *Conn) CloseAfterReply() { c.closeAfter = true }

// Abort drops the replies collected and not yet sent, and closes the
// connection once the current command returns, sending nothing more: for
// replies that must not go out (a write the disk refused under
// appendfsync always). Connection goroutine only.
func (c *Conn) Abort() {
	c.W.Reset()
	c.closeAfter = true
	c.aborted = true
}

// Kill closes the connection at once (CLIENT KILL, shutdown). Safe for
// concurrent use; the connection goroutine notices and cleans up.
func (c *Conn) Kill() {
	c.outMu.Lock()
	c.closed = true
	c.signalLocked()
	c.outMu.Unlock()
	c.nc.Close()
}

// EnableAsync hands the socket's write side to a writer goroutine so that
// Push can be called by other goroutines. It is idempotent. Connection
// goroutine only.
func (c *Conn) EnableAsync() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.async {
		return
	}
	c.async = true
	c.wake = make(chan struct{}, 1)
	c.writerEnd = make(chan struct{})
	c.srv.goTracked(c.writer)
}

// Async reports whether c's output goes through its writer goroutine
// (EnableAsync): its replies may leave before Drained is called.
func (c *Conn) Async() bool {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.async
}

// Sync moves the replies collected in W to the output queue of an
// asynchronous connection, so that messages pushed after this call reach the
// client after them. Handlers call it before they register a subscription.
// On a synchronous connection it does nothing (replies are written when the
// batch ends). Connection goroutine only.
func (c *Conn) Sync() {
	if c.aborted {
		c.W.Reset() // nothing more goes out (Abort)
		return
	}
	if len(c.W.B) == 0 {
		return
	}
	c.W.Fill()
	c.outMu.Lock()
	if !c.async {
		c.outMu.Unlock()
		return
	}
	c.queueLocked(c.W.B) // a cut connection is closed by its writer
	c.outMu.Unlock()
	c.W.B = c.W.B[:0]
}

// Hold makes Push keep the frames it is given aside, behind the replies
// the command is writing, until Release (Holds nest). A subscribe command holds the
// output, writes its confirmation, registers the subscription and
// releases: a message published once the subscription exists is never
// lost, and never reaches the client before the confirmation. Connection
// goroutine only, on an asynchronous connection.
func (c *Conn) Hold() {
	c.outMu.Lock()
	c.holding++
	c.outMu.Unlock()
}

// Release queues the replies collected in W and ends one Hold; the last
// Release of nested Holds (EXEC holds the output around a SUBSCRIBE that
// holds it too) then queues the frames held since the first. Connection
// goroutine only.
func (c *Conn) Release() {
	c.W.Fill()
	c.outMu.Lock()
	if len(c.W.B) > 0 {
		c.queueLocked(c.W.B)
	}
	c.holding--
	if c.holding == 0 {
		if c.closed {
			c.held.release()
		} else if c.held.pending() > 0 {
			// Counted against the limit when pushed: only moved now.
			c.held.moveTo(&c.out)
			c.signalLocked()
		}
	}
	c.outMu.Unlock()
	c.W.B = c.W.B[:0]
}

// Push queues a message frame for an asynchronous connection: it copies
// the frame into the connection's output queue and wakes its writer. It
// never blocks, never writes to the socket and never copies more than the
// frame, so that a publisher can call it under its own locks. It returns
// false when the connection is closed, or is cut by this frame for passing
// its output buffer limit: then the queue's chunks go back to the pool and
// the connection's writer goroutine disconnects and counts it, off the
// publisher's path. Safe for concurrent use.
func (c *Conn) Push(frame []byte) bool {
	c.outMu.Lock()
	if c.closed || !c.async {
		c.outMu.Unlock()
		return false
	}
	if !c.admitLocked(len(frame)) {
		c.cutLocked()
		c.outMu.Unlock()
		return false
	}
	if c.holding > 0 {
		c.held.push(frame)
	} else {
		c.out.push(frame)
		c.signalLocked()
	}
	c.outMu.Unlock()
	return true
}

// Pending returns the bytes queued or being written on an asynchronous
// connection. Safe for concurrent use.
func (c *Conn) Pending() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.out.pending() + c.held.pending()
}

// OutputQueue returns the chunks of an asynchronous connection's output
// queue and the bytes they hold (CLIENT LIST's oll and omem). Safe for
// concurrent use.
func (c *Conn) OutputQueue() (chunks, bytes int) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.out.chunks) + len(c.held.chunks), c.out.pending() + c.held.pending()
}

// OutputMemory returns the bytes of the chunks an asynchronous
// connection's output queue holds: at most its output limit and one
// chunk. Safe for concurrent use.
func (c *Conn) OutputMemory() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.out.memory() + c.held.memory()
}

// queueLocked appends b to the output queue and wakes the writer. It
// returns false when b would pass the pub/sub output buffer limit: the
// connection is then cut (see cutLocked). Output for a connection closed
// otherwise is dropped. c.outMu must be held.
func (c *Conn) queueLocked(b []byte) bool {
	if c.closed {
		return !c.cut
	}
	if !c.admitLocked(len(b)) {
		c.cutLocked()
		return false
	}
	c.out.push(b)
	c.signalLocked()
	return true
}

// admitLocked applies Redis's client-output-buffer-limit rule for pub/sub
// clients to the output queued so far and n bytes more: it reports
// whether they may be queued. The queues count what they account for
// (outQueue.accounted), so a connection never holds more than its hard
// limit and one chunk per queue. c.outMu must be held.
func (c *Conn) admitLocked(n int) bool {
	lim := c.srv.OutputLimit(OutputClass(c.class.Load()))
	total := int64(c.out.accounted() + c.held.accounted() + n)
	if lim.Hard > 0 && total > lim.Hard {
		return false
	}
	if lim.Soft > 0 && total > lim.Soft {
		now := time.Now()
		if c.softSince.IsZero() {
			c.softSince = now
			// The limit holds by time even when nothing more is queued:
			// checkSoft looks again once SoftFor has passed.
			if c.softTimer == nil {
				c.softTimer = time.AfterFunc(lim.SoftFor+time.Millisecond, c.checkSoft)
			} else {
				c.softTimer.Reset(lim.SoftFor + time.Millisecond)
			}
		} else if now.Sub(c.softSince) > lim.SoftFor {
			return false
		}
	} else {
		c.softSince = time.Time{}
	}
	return true
}

// checkSoft cuts the connection if its output has stayed above the soft
// limit for longer than the limit allows, with nothing queued meanwhile;
// if it is still above but not for long enough (the limit changed), it
// looks again later.
func (c *Conn) checkSoft() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closed || c.softSince.IsZero() {
		return
	}
	lim := c.srv.OutputLimit(OutputClass(c.class.Load()))
	total := int64(c.out.accounted() + c.held.accounted())
	switch {
	case lim.Soft <= 0 || total <= lim.Soft:
		c.softSince = time.Time{}
	case time.Since(c.softSince) > lim.SoftFor:
		c.cutLocked()
	default:
		c.softTimer.Reset(time.Until(c.softSince.Add(lim.SoftFor)) + time.Millisecond)
	}
}

// SetOutputClass sets the class whose output limit applies (subscribed:
// pub/sub; MONITOR: replica; else normal). Safe for concurrent use.
func (c *Conn) SetOutputClass(class OutputClass) { c.class.Store(int32(class)) }

// cutLocked closes the connection for passing its output limit, at the
// cost of giving its chunks back: the chunks the writer is writing from
// are given back by the writer, which also wakes (its socket's write
// deadline is moved to the past), closes the socket, logs and counts the
// disconnection. c.outMu must be held.
func (c *Conn) cutLocked() {
	c.closed, c.cut = true, true
	c.srv.remove(c) // gone from CLIENT LIST at once
	c.cutMemory = c.held.memory()
	c.held.release()
	if c.writing {
		c.nc.SetWriteDeadline(time.Unix(1, 0))
	} else {
		c.cutMemory += c.out.memory()
		c.out.release()
	}
	c.signalLocked()
}

func (c *Conn) signalLocked() {
	if c.wake != nil {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// writer owns the socket's write side of an asynchronous connection. It
// writes the queued chunks in place, with one writev, while producers keep
// appending behind them; it gives back the chunks it has written.
func (c *Conn) writer() {
	defer close(c.writerEnd)
	var iov net.Buffers
	for {
		c.outMu.Lock()
		for c.out.pending() == 0 && !c.cut {
			if c.closed {
				c.out.release()
				c.outMu.Unlock()
				return
			}
			c.outMu.Unlock()
			<-c.wake
			c.outMu.Lock()
		}
		if c.cut {
			c.disconnectLocked()
			return
		}
		iov = c.out.buffers(iov[:0])
		c.writing = true
		c.outMu.Unlock()

		bufs := iov // WriteTo consumes its receiver
		n, err := bufs.WriteTo(c.nc)
		clear(iov)

		c.outMu.Lock()
		c.writing = false
		if c.cut {
			c.disconnectLocked()
			return
		}
		c.out.consume(int(n))
		if err != nil {
			c.closed = true
			c.out.release()
			c.held.release()
			c.outMu.Unlock()
			c.nc.Close()
			return
		}
		if !c.admitLocked(0) { // refreshes the soft-limit clock as the queue drains
			c.cutLocked()
		}
		c.outMu.Unlock()
	}
}

// disconnectLocked ends a connection cut for passing its output limit: it
// gives back the chunks left, unlocks c.outMu, then closes the socket,
// logs and counts the disconnection, and notes the memory given back (see
// noteFreed). Writer goroutine only, with c.outMu held.
func (c *Conn) disconnectLocked() {
	given := c.cutMemory + c.out.memory() + c.held.memory()
	c.out.release()
	c.held.release()
	c.outMu.Unlock()
	c.srv.outputLimitReached(c)
	noteFreed(int64(given))
}

// flush writes the replies collected in W. Connection goroutine only.
func (c *Conn) flush() error {
	if c.aborted {
		c.W.Reset()
		return net.ErrClosed
	}
	if len(c.W.B) == 0 {
		return nil
	}
	c.W.Fill() // the records' texts, copied after the bucket's lock is released
	c.outMu.Lock()
	if c.async {
		if c.closed {
			c.outMu.Unlock()
			return net.ErrClosed
		}
		ok := c.queueLocked(c.W.B)
		c.outMu.Unlock()
		c.W.B = c.W.B[:0]
		if !ok {
			return errOutputLimit // the writer disconnects
		}
		return nil
	}
	c.outMu.Unlock()
	_, err := c.nc.Write(c.W.B)
	if cap(c.W.B) > 1<<20 {
		c.W.B = nil
	} else {
		c.W.B = c.W.B[:0]
	}
	return err
}

var errOutputLimit = errors.New("output buffer limit reached")

// serve is the connection goroutine.
func (c *Conn) serve() {
	defer c.finish()
	defer func() {
		if r := recover(); r != nil {
			c.srv.log.Error().Uint64("client", c.id).Interface("panic", r).
				Bytes("stack", debug.Stack()).Msg("panic while serving a connection; closing it")
		}
	}()
	buf := make([]byte, 0, initialReadBuffer)
	prep, _ := c.srv.handler.(Preparer)
	verify := verifyMode
	for {
		// Parse and run every complete command in the buffer, in runs: a
		// run is one command, or, with a Preparer, the commands it
		// prepared before any of them is served.
		//
		// The argument rule (see the package doc): the bytes of a served
		// command stay where they are, unchanged, until Drained is called;
		// only then may they be poisoned (verify mode), moved over or read
		// into. buf[:drained] holds the bytes already past a Drained.
		off, served, drained := 0, 0, 0
		more := true // the buffer may hold another complete command
		var perr error
		for more && off < len(buf) && !c.closeAfter && perr == nil {
			lim := c.srv.Limits()
			c.run.reset()
			// last is the run's final command, served from the Reader's
			// own table: only the commands read past are copied.
			var last [][]byte
			for {
				args, n, err := c.rd.Next(buf[off:], c.Authed, lim)
				if err != nil {
					perr = err
					break
				}
				if n == 0 {
					more = false
					break
				}
				off += n
				if args == nil {
					continue
				}
				if prep == nil || !prep.Prepare(c, args) || len(c.run.cmds)+1 == MaxPrepared {
					last = args
					break
				}
				c.run.add(args) // the next Next reuses the Reader's table
			}
			size := len(c.run.cmds)
			if last != nil {
				size++
			}
			for i := range size {
				args := last
				if i < len(c.run.cmds) {
					args = c.run.cmds[i]
				}
				c.srv.handler.Serve(c, args)
				served++
				if c.async && len(c.W.B) > 0 {
					c.Sync() // keep replies and pushed messages in order
				}
			}
			if size > 1 && more && off < len(buf) && perr == nil && !c.closeAfter {
				c.srv.handler.Drained(c) // before the next run is prepared
				drained = poisonServed(verify, buf, drained, off)
			}
		}
		c.run.reset()
		if perr != nil {
			var pe *ProtocolError
			if errors.As(perr, &pe) {
				c.W.Error(pe.Msg)
				c.srv.handler.Drained(c)
				poisonServed(verify, buf, drained, off)
				c.flush()
				c.srv.log.Debug().Uint64("client", c.id).Str("error", pe.Msg).Msg("protocol error; closing")
			} else {
				c.srv.handler.Drained(c)
				poisonServed(verify, buf, drained, off)
				c.srv.log.Warn().Uint64("client", c.id).Err(perr).Msg("closing client")
			}
			return
		}
		if served > 0 {
			c.srv.handler.Drained(c)
			poisonServed(verify, buf, drained, off)
		}
		if off > 0 {
			// Only now, past Drained, may the served bytes be reused.
			rest := copy(buf, buf[off:])
			buf = buf[:rest]
		}
		pipelined := served > 1 && len(c.W.B) > 0
		if err := c.flush(); err != nil {
			return
		}
		if c.closeAfter || c.srv.closing.Load() {
			return
		}
		buf = c.rd.Room(buf)
		c.noteQueryBuffer(buf)
		if pipelined {
			// A pipelining client answers replies with more commands, but
			// not at once: reading now would mostly return "nothing yet"
			// (a wasted read, then a park and a wake-up). Letting the other
			// connections' goroutines run first makes the read more often
			// find the next commands; alone, this returns at once. (B.GET,
			// pipeline 16, 50 clients, 2 cores: 0.65-0.75 -> 0.80-0.99 of
			// Redis.) An unpipelined client is not kept waiting for it.
			runtime.Gosched()
		}
		c.servedReads.Add(1)
		n, err := c.readInput(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return
		}
		c.lastActive.Store(time.Now().UnixNano()) // once per read, not per command
	}
}

// verifyMode is BUCKETD_VERIFY=1, read once at start. In verify mode a
// connection enforces the argument rule (see the package doc): once Drained
// has been called, it overwrites the read-buffer bytes of the commands it
// has served with poisonByte, so that code which kept an argument, or
// anything aliasing one, past Drained reads garbage and fails its tests
// instead of working by luck until the buffer is reused. It costs a memset
// per read; production runs without it.
var verifyMode = os.Getenv("BUCKETD_VERIFY") == "1"

// poisonByte is what verify mode writes over served commands.
const poisonByte = 0xDB

// poisonServed overwrites buf[from:to], served commands past Drained, with
// poisonByte when verify is set, and returns to: where the next bytes to
// poison start. It must only be called right after Drained.
func poisonServed(verify bool, buf []byte, from, to int) int {
	if verify {
		for i := range buf[from:to] {
			buf[from+i] = poisonByte
		}
	}
	return to
}

// cmdRun holds the arguments of the commands of one run: copies of the
// Reader's argument tables (which it reuses), aliasing the read buffer.
type cmdRun struct {
	cmds [][][]byte
	slab [][]byte
}

// add appends a command's arguments to the run.
func (r *cmdRun) add(args [][]byte) {
	if len(r.slab)+len(args) > cap(r.slab) {
		// A new slab: the commands already in the run keep the old one.
		r.slab = make([][]byte, 0, max(2*cap(r.slab), len(args), 64))
	}
	start := len(r.slab)
	r.slab = append(r.slab, args...)
	r.cmds = append(r.cmds, r.slab[start:len(r.slab):len(r.slab)])
}

// reset empties the run, dropping its references into the read buffer.
func (r *cmdRun) reset() {
	clear(r.slab)
	r.slab = r.slab[:0]
	clear(r.cmds)
	r.cmds = r.cmds[:0]
	if cap(r.slab) > 4096 {
		r.slab = nil
	}
}

// finish releases the connection once its goroutine ends.
func (c *Conn) finish() {
	c.outMu.Lock()
	async := c.async
	c.closed = true
	c.signalLocked()
	c.outMu.Unlock()
	if async {
		// Let the writer deliver what is queued (QUIT's +OK, say), within a bound.
		c.nc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		<-c.writerEnd
	}
	c.unwatchClosing()
	c.nc.Close()
	c.noteQueryBuffer(nil)
	c.srv.handler.Closed(c)
	c.srv.remove(c)
}
