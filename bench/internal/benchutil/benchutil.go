// Package benchutil holds what the bench programs share: starting a
// bucketd, the machine's description for their reports, error handling.
package benchutil

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// CPUModel returns the processor's model name from /proc/cpuinfo (the
// architecture where that is not available).
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// Check stops the program on an error: a benchmark that cannot run has
// nothing to report.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}

// Server is a bucketd process a bench program started.
type Server struct {
	// Cmd is the process.
	Cmd *exec.Cmd
	// Addr is the address it listens on.
	Addr string
	// Ready is the time from exec to "ready to accept connections".
	Ready time.Duration
	// Done is closed when the process has exited.
	Done chan struct{}
}

// Start runs bin on 127.0.0.1 with a free port and data under dir, plus
// args, and returns once the server logs that it is ready.
func Start(bin, dir string, args ...string) *Server {
	Check(os.MkdirAll(dir, 0o755))
	full := append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", dir}, args...)
	cmd := exec.Command(bin, full...)
	stderr, err := cmd.StderrPipe()
	Check(err)
	began := time.Now()
	Check(cmd.Start())
	s := &Server{Cmd: cmd, Done: make(chan struct{})}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var tail []string
	for sc.Scan() {
		tail = append(tail, sc.Text())
		var e struct{ Message, Addr string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Message == "ready to accept connections" {
			s.Addr, s.Ready = e.Addr, time.Since(began)
			go func() {
				io.Copy(io.Discard, stderr)
				cmd.Wait()
				close(s.Done)
			}()
			return s
		}
	}
	cmd.Wait()
	panic("bucketd did not start:\n" + strings.Join(tail, "\n"))
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Check(err)
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// WaitPort waits until something listens on 127.0.0.1:port, for 5 s at
// most.
func WaitPort(port string) {
	for range 200 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	panic("server on port " + port + " did not start")
}

// StartRedis starts a redis-server in dir on a free port, without
// persistence unless args say otherwise (later flags win), and waits for
// it.
func StartRedis(dir string, args ...string) (*exec.Cmd, string) {
	port := FreePort()
	full := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, args...)
	cmd := exec.Command("redis-server", full...)
	Check(cmd.Start())
	WaitPort(port)
	return cmd, port
}

// Bucketd returns bin, or, when it is empty, a bucketd built into dir from
// this module (go build).
func Bucketd(bin, dir string) string {
	if bin != "" {
		return bin
	}
	out := filepath.Join(dir, "bucketd")
	cmd := exec.Command("go", "build", "-o", out, "bucketd")
	cmd.Stderr = os.Stderr
	Check(cmd.Run())
	return out
}
