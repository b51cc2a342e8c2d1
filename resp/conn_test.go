package resp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// logHandler answers each command with its name and logs the calls the
// connection makes: "P:name" (Prepare), "S:name" (Serve), "D" (Drained).
// Commands named STOP end a prepared run.
type logHandler struct {
	mu  sync.Mutex
	log []string
}

func (h *logHandler) add(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

func (h *logHandler) calls() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.log, " ")
}

func (h *logHandler) Opened(c *Conn)  { c.Authed = true }
func (h *logHandler) Closed(c *Conn)  {}
func (h *logHandler) Drained(c *Conn) { h.add("D") }
func (h *logHandler) Serve(c *Conn, args [][]byte) {
	h.add("S:" + string(args[0]))
	c.W.Simple(string(args[0]))
}

// prepHandler is a logHandler that is also a Preparer.
type prepHandler struct{ *logHandler }

func (h prepHandler) Prepare(c *Conn, args [][]byte) bool {
	h.add("P:" + string(args[0]))
	return string(args[0]) != "STOP"
}

// pipeListener hands the server the ends of in-memory pipes: a write of the
// client reaches the server in one read, so the runs a test sees do not
// depend on how TCP splits the bytes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// serveOne starts a server with h and returns the client end of one
// connection to it.
func serveOne(t *testing.T, h Handler) net.Conn {
	t.Helper()
	_, client := servePipe(t, NewServer(h, zerolog.Nop()))
	return client
}

// servePipe serves one in-memory connection on srv and returns its client
// side; the test's end closes it and shuts srv down.
func servePipe(t *testing.T, srv *Server) (*Server, net.Conn) {
	t.Helper()
	ln := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	client, server := net.Pipe()
	ln.conns <- server
	go srv.Serve(ln)
	t.Cleanup(func() {
		client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, client
}

func commands(names ...string) []byte {
	var b []byte
	for _, n := range names {
		b = fmt.Appendf(b, "*1\r\n$%d\r\n%s\r\n", len(n), n)
	}
	return b
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

// readReplies reads until it has want, or fails.
func readReplies(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, len(want))
	buf := make([]byte, 4096)
	for len(got) < len(want) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read: %v after %q, want %q", err, got, want)
		}
	}
	if string(got) != want {
		t.Fatalf("replies %q, want %q", got, want)
	}
}

func calls(kind string, names ...string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = kind + ":" + n
	}
	return strings.Join(out, " ")
}

func replies(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("+" + n + "\r\n")
	}
	return b.String()
}

func TestConnRuns(t *testing.T) {
	many := numbered("A", 70)
	tests := []struct {
		name  string
		sent  []string
		calls string
	}{
		{"one command", []string{"A1"}, "P:A1 S:A1 D"},
		{"a run", []string{"A1", "A2", "A3"}, "P:A1 P:A2 P:A3 S:A1 S:A2 S:A3 D"},
		{"a command that ends a run", []string{"A1", "A2", "STOP", "A3", "A4"},
			"P:A1 P:A2 P:STOP S:A1 S:A2 S:STOP D P:A3 P:A4 S:A3 S:A4 D"},
		{"STOP first", []string{"STOP", "A1"}, "P:STOP S:STOP P:A1 S:A1 D"},
		{"at most MaxPrepared in a run", many,
			calls("P", many[:MaxPrepared]...) + " " + calls("S", many[:MaxPrepared]...) + " D " +
				calls("P", many[MaxPrepared:]...) + " " + calls("S", many[MaxPrepared:]...) + " D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &logHandler{}
			c := serveOne(t, prepHandler{h})
			if _, err := c.Write(commands(tt.sent...)); err != nil {
				t.Fatal(err)
			}
			readReplies(t, c, replies(tt.sent...))
			if got := h.calls(); got != tt.calls {
				t.Errorf("calls\n got  %s\n want %s", got, tt.calls)
			}
		})
	}
}

func TestConnWithoutPreparer(t *testing.T) {
	h := &logHandler{}
	c := serveOne(t, h)
	c.Write(commands("A1", "A2", "A3"))
	readReplies(t, c, replies("A1", "A2", "A3"))
	if got, want := h.calls(), "S:A1 S:A2 S:A3 D"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// A command cut in two is served once its rest arrives; the commands
// before it are answered at once.
func TestConnRunEndsAtAPartialCommand(t *testing.T) {
	h := &logHandler{}
	c := serveOne(t, prepHandler{h})
	all := commands("A1", "A2", "A3")
	cut := len(all) - 4
	c.Write(all[:cut])
	readReplies(t, c, replies("A1", "A2"))
	if got, want := h.calls(), "P:A1 P:A2 S:A1 S:A2 D"; got != want {
		t.Fatalf("calls before the rest: %q, want %q", got, want)
	}
	c.Write(all[cut:])
	readReplies(t, c, replies("A3"))
	if got, want := h.calls(), "P:A1 P:A2 S:A1 S:A2 D P:A3 S:A3 D"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// The commands before a protocol error run and are answered, then the
// error, then the connection closes.
func TestConnRunBeforeProtocolError(t *testing.T) {
	h := &logHandler{}
	c := serveOne(t, prepHandler{h})
	c.Write(append(commands("A1", "A2"), "*1\r\n$x\r\n"...))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := replies("A1", "A2") + "-ERR Protocol error: invalid bulk length\r\n"
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("replies %q, want %q", got, want)
	}
	if got, want := h.calls(), "P:A1 P:A2 S:A1 S:A2 D"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// command encodes one command with its arguments.
func command(args ...string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// kept is an argument a keepHandler kept, and a copy of what it was.
type kept struct{ arg, was []byte }

// keepHandler keeps every argument past the command name, aliasing the
// read buffer (what the argument rule allows until Drained), and checks at
// each Drained that they are unchanged. Commands named STOP end a
// prepared run.
type keepHandler struct {
	mu      sync.Mutex
	cur     []kept   // kept since the last Drained
	gens    [][]kept // kept, by the Drained that ended them
	broken  []string // arguments changed before their Drained
	earlier []bool   // at each Drained, whether the arguments of the earlier ones were all poisoned
}

func (h *keepHandler) Opened(c *Conn) { c.Authed = true }
func (h *keepHandler) Closed(c *Conn) {}
func (h *keepHandler) Prepare(c *Conn, args [][]byte) bool {
	return string(args[0]) != "STOP"
}

func (h *keepHandler) Serve(c *Conn, args [][]byte) {
	h.mu.Lock()
	for _, a := range args[1:] {
		h.cur = append(h.cur, kept{arg: a, was: bytes.Clone(a)})
	}
	h.mu.Unlock()
	c.W.Simple(string(args[0]))
}

func (h *keepHandler) Drained(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.cur {
		if !bytes.Equal(k.arg, k.was) {
			h.broken = append(h.broken, fmt.Sprintf("%q became %q", k.was, k.arg))
		}
	}
	h.earlier = append(h.earlier, allPoisoned(h.gens...))
	h.gens = append(h.gens, h.cur)
	h.cur = nil
}

// allPoisoned reports whether every byte of the kept arguments is the
// poison of verify mode.
func allPoisoned(gens ...[]kept) bool {
	for _, g := range gens {
		for _, k := range g {
			if len(bytes.Trim(k.arg, string([]byte{poisonByte}))) > 0 {
				return false
			}
		}
	}
	return true
}

// noneChanged reports whether the kept arguments still hold their bytes.
func noneChanged(gens ...[]kept) bool {
	for _, g := range gens {
		for _, k := range g {
			if !bytes.Equal(k.arg, k.was) {
				return false
			}
		}
	}
	return true
}

// The argument rule: the arguments of served commands stay unchanged
// until Drained, even when the rest of the read is moved over them
// afterwards; in verify mode they are poisoned right after it, and only
// then.
func TestArgumentRule(t *testing.T) {
	tests := []struct {
		name    string
		verify  bool
		sent    [][]string
		partial bool // a command cut in two follows the others
		drains  int
	}{
		{"one run", false, [][]string{{"A", "a1"}, {"A", "a2"}}, false, 1},
		{"one run, verify", true, [][]string{{"A", "a1"}, {"A", "a2"}}, false, 1},
		{"two runs", false, [][]string{{"A", "a1"}, {"STOP", "s1"}, {"A", "a2"}, {"STOP", "s2"}}, false, 2},
		{"two runs, verify", true, [][]string{{"A", "a1"}, {"STOP", "s1"}, {"A", "a2"}, {"STOP", "s2"}}, false, 2},
		{"a partial command left", false, [][]string{{"A", "a1"}, {"A", "a2"}}, true, 2},
		{"a partial command left, verify", true, [][]string{{"A", "a1"}, {"A", "a2"}}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := verifyMode
			verifyMode = tt.verify
			defer func() { verifyMode = old }()
			h := &keepHandler{}
			c := serveOne(t, h)
			var sent []byte
			var want []string
			for _, cmd := range tt.sent {
				sent = append(sent, command(cmd...)...)
				want = append(want, cmd[0])
			}
			last := command("A", "the last one, long enough to be cut")
			cut := len(last) / 2
			if tt.partial {
				sent = append(sent, last[:cut]...)
			}
			c.Write(sent)
			readReplies(t, c, replies(want...))
			if tt.partial {
				c.Write(last[cut:])
				readReplies(t, c, replies("A"))
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.gens) != tt.drains {
				t.Fatalf("Drained called %d times, want %d", len(h.gens), tt.drains)
			}
			if h.broken != nil {
				t.Errorf("arguments changed before Drained: %v", h.broken)
			}
			if tt.partial {
				return // the moved rest of the read overwrote them: allowed past Drained
			}
			for i, ok := range h.earlier {
				if ok != tt.verify && i > 0 {
					t.Errorf("at Drained %d, the arguments of the earlier ones poisoned: %v", i+1, ok)
				}
			}
			if got := allPoisoned(h.gens...); got != tt.verify {
				t.Errorf("the arguments poisoned after the last Drained: %v, want %v", got, tt.verify)
			}
			if got := noneChanged(h.gens...); got == tt.verify {
				t.Errorf("the arguments unchanged after the last Drained: %v", got)
			}
		})
	}
}
