package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// binPath is the server binary TestMain builds.
var binPath string

// parallelPerCPU is how many tests run at once per CPU unless -parallel
// says otherwise. Each end-to-end test spends most of its time waiting on
// its own server process (start-up, restarts, fsync ticks, sockets), so
// go test's default (one per CPU) would leave the CPUs mostly idle.
// maxParallel caps it on big machines: every test runs its own server.
const (
	parallelPerCPU = 4
	maxParallel    = 16
)

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(min(parallelPerCPU*runtime.GOMAXPROCS(0), maxParallel)))
	}
	dir, err := os.MkdirTemp("", "bucketd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bucketd")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "..")
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the server:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverEnv is the environment every server process the tests start gets:
// the test's own, with the race detector's one-second sleep at exit
// (atexit_sleep_ms) turned off. Every test stops at least one server, so
// that sleep alone was most of the suite's time; races are still reported
// as they happen (see raceReported).
func serverEnv() []string {
	return append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// raceReported fails t when the server's log holds a race detector report.
func (s *Server) raceReported(t testing.TB) {
	if strings.Contains(s.Log(), "WARNING: DATA RACE") {
		t.Errorf("the server reported a data race")
	}
}

// Server is a running bucketd process.
type Server struct {
	t    testing.TB
	Addr string
	Dir  string
	Args []string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	log strings.Builder
}

// Start starts a server on 127.0.0.1:0 with a fresh data directory and
// extra flags, and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return StartIn(t, t.TempDir(), args...)
}

// StartIn starts a server whose data directory is dir.
func StartIn(t testing.TB, dir string, args ...string) *Server {
	t.Helper()
	return startUnder(t, nil, dir, args...)
}

// startUnder is StartIn with the server run by a wrapper command (prefix,
// e.g. prlimit and its flags; nil: none).
func startUnder(t testing.TB, prefix []string, dir string, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, Dir: dir, Args: args, done: make(chan struct{})}
	full := append(append(append([]string(nil), prefix...), binPath, "--port", "0", "--bind", "127.0.0.1", "--dir", dir), args...)
	s.cmd = exec.Command(full[0], full[1:]...)
	s.cmd.Env = serverEnv()
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			var entry struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "ready to accept connections" {
				select {
				case ready <- entry.Addr:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.Addr = <-ready:
	case <-s.done:
		t.Fatalf("server exited before it was ready:\n%s", s.Log())
	case <-time.After(30 * time.Second):
		s.Kill()
		t.Fatalf("server not ready after 30s:\n%s", s.Log())
	}
	t.Cleanup(func() {
		s.checkInvariants(t)
		s.Stop()
		s.raceReported(t)
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	return s
}

// checkInvariants asks a running server to verify that its indexes agree
// with its records (STORE.CHECK), as every test must leave them.
func (s *Server) checkInvariants(t testing.TB) {
	if s.Exited() {
		return
	}
	nc, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		return
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(nc, "*1\r\n$11\r\nSTORE.CHECK\r\n")
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "+OK") || strings.HasPrefix(line, "-NOAUTH") {
		return
	}
	t.Errorf("STORE.CHECK after the test: %s", strings.TrimSpace(line))
}

// Log returns what the server logged so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop stops the server with SIGTERM and waits for it to exit; it
// returns the exit code.
func (s *Server) Stop() int {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	return s.cmd.ProcessState.ExitCode()
}

// Kill kills the server with SIGKILL and waits for it.
func (s *Server) Kill() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to end and returns its exit code, or
// -2 if it is still running.
func (s *Server) Wait(d time.Duration) int {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -2
	}
}

// Client returns a go-redis client speaking protocol proto (2 or 3).
func (s *Server) Client(t testing.TB, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: proto, MaxRetries: -1, PoolSize: 4})
	t.Cleanup(func() { c.Close() })
	return c
}

// Raw opens a plain TCP connection to the server.
func (s *Server) Raw(t testing.TB) *RawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &RawConn{t: t, Conn: nc, r: bufio.NewReader(nc)}
}

// RawConn is a raw connection that writes bytes and reads RESP replies.
type RawConn struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

// Send writes raw bytes.
func (c *RawConn) Send(s string) {
	c.t.Helper()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// Do sends a command as a RESP array and returns its reply.
func (c *RawConn) Do(args ...string) string {
	c.t.Helper()
	return c.DoWithin(10*time.Second, args...)
}

// DoWithin is Do with a read timeout of d, for a reply that takes long
// under -race on a busy machine.
func (c *RawConn) DoWithin(d time.Duration, args ...string) string {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.Send(b.String())
	return c.readWithin(d)
}

// Read reads one whole RESP reply and returns its raw text.
func (c *RawConn) Read() string {
	c.t.Helper()
	return c.readWithin(10 * time.Second)
}

// readWithin is Read with a read timeout of d.
func (c *RawConn) readWithin(d time.Duration) string {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var b strings.Builder
	if err := readReply(c.r, &b); err != nil {
		c.t.Fatalf("read: %v (so far %q)", err, b.String())
	}
	return b.String()
}

// ReadErr reads one reply and returns the error that stopped it, if any.
func (c *RawConn) ReadErr(d time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	var b strings.Builder
	err := readReply(c.r, &b)
	return b.String(), err
}

// Closed reports whether the server closed the connection within d.
func (c *RawConn) Closed(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.r.ReadByte()
	return err == io.EOF || (err != nil && !isTimeout(err))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func readReply(r *bufio.Reader, b *strings.Builder) error {
	line, err := r.ReadString('\n')
	b.WriteString(line)
	if err != nil {
		return err
	}
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	var n int
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return nil
	case '$', '=', '!':
		fmt.Sscanf(line[1:], "%d", &n)
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		b.Write(buf)
		return nil
	case '*', '~', '>':
		fmt.Sscanf(line[1:], "%d", &n)
	case '%', '|':
		fmt.Sscanf(line[1:], "%d", &n)
		n *= 2
	default:
		return fmt.Errorf("unknown reply type %q", line)
	}
	for i := 0; i < n; i++ {
		if err := readReply(r, b); err != nil {
			return err
		}
	}
	return nil
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ctx returns a context that ends with the test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// redisCLI returns the path of redis-cli, skipping the test when it is not
// installed (CI sets BUCKETD_REQUIRE_REDIS_CLI=1 to make that a failure).
func redisCLI(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		if os.Getenv("BUCKETD_REQUIRE_REDIS_CLI") != "" {
			t.Fatal("redis-cli is required (apt-get install redis-tools)")
		}
		t.Skip("redis-cli not installed (apt-get install redis-tools)")
	}
	return p
}

// CLI runs redis-cli against the server with args and returns its output.
func (s *Server) CLI(t testing.TB, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	full := append([]string{"-h", host, "-p", port}, args...)
	out, err := exec.Command(redisCLI(t), full...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// CLIStdin runs redis-cli with a script on standard input.
func (s *Server) CLIStdin(t testing.TB, script string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	full := append([]string{"-h", host, "-p", port}, args...)
	cmd := exec.Command(redisCLI(t), full...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli: %v\n%s", err, out)
	}
	return string(out)
}

// replyError is an error reply decoded by parseReply.
type replyError string

// Error implements error.
func (e replyError) Error() string { return string(e) }

// decodeReply parses s, which must hold exactly one RESP2 or RESP3 reply
// (see parseReply).
func decodeReply(t testing.TB, s string) any {
	t.Helper()
	v, rest := parseReply(t, s)
	if rest != "" {
		t.Fatalf("trailing bytes after reply %q: %q", s, rest)
	}
	return v
}

// parseReply parses the RESP2 or RESP3 reply at the start of s and returns
// it with the rest of s: simple, bulk and verbatim strings (without the
// format prefix) as string, integers as int64, nulls as nil, errors as
// replyError, and arrays, sets, pushes and maps (flattened) as []any.
func parseReply(t testing.TB, s string) (any, string) {
	t.Helper()
	i := strings.Index(s, "\r\n")
	if i < 1 {
		t.Fatalf("bad reply %q", s)
	}
	line, rest := s[1:i], s[i+2:]
	switch s[0] {
	case '+':
		return line, rest
	case '-':
		return replyError(line), rest
	case ':':
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("bad integer reply %q", s)
		}
		return n, rest
	case '_':
		return nil, rest
	case '$', '=':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return nil, rest
		}
		if len(rest) < n+2 {
			t.Fatalf("short bulk reply %q", s)
		}
		body := rest[:n]
		if s[0] == '=' && len(body) >= 4 {
			body = body[4:]
		}
		return body, rest[n+2:]
	case '*', '>', '~', '%':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return nil, rest
		}
		if s[0] == '%' {
			n *= 2
		}
		out := make([]any, n)
		for k := range out {
			out[k], rest = parseReply(t, rest)
		}
		return out, rest
	}
	t.Fatalf("unknown reply %q", s)
	return nil, ""
}
