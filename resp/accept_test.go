package resp

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// failingListener returns err from its first fails Accept calls, then
// accepts real connections.
type failingListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
	err   error
	calls int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls++
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, l.err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func acceptErr(e syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", e)}
}

// TestServeSurvivesAcceptErrors checks that running out of file
// descriptors (or the like) does not end Serve: it waits and goes on
// serving, and logs the errors.
func TestServeSurvivesAcceptErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			tcp, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := &failingListener{Listener: tcp, fails: 5, err: acceptErr(errno)}
			var logs syncBuffer
			srv := NewServer(&logHandler{}, zerolog.New(&logs))
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()

			c, err := net.Dial("tcp", tcp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(commands("PING"))
			readReplies(t, c, replies("PING"))

			if !strings.Contains(logs.String(), `"message":"accept failed; retrying"`) ||
				!strings.Contains(logs.String(), errno.Error()) {
				t.Errorf("log %q does not report the accept error", logs.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-served; err != nil {
				t.Fatalf("Serve = %v after Shutdown, want nil", err)
			}
		})
	}
}

// TestServeStopsOnOtherAcceptErrors checks that an error that does not
// pass still ends Serve, and that Shutdown ends a Serve waiting out errors.
func TestServeStopsOnOtherAcceptErrors(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	ln := &failingListener{Listener: tcp, fails: 1, err: acceptErr(syscall.EBADF)}
	srv := NewServer(&logHandler{}, zerolog.Nop())
	if err := srv.Serve(ln); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Serve = %v, want EBADF", err)
	}

	ln = &failingListener{Listener: tcp, fails: 1 << 30, err: acceptErr(syscall.EMFILE)}
	srv = NewServer(&logHandler{}, zerolog.Nop())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		ln.mu.Lock()
		calls := ln.calls
		ln.mu.Unlock()
		if calls >= 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	srv.Shutdown(context.Background())
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v after Shutdown, want nil", err)
	}
}

func TestAcceptBackoff(t *testing.T) {
	var b acceptBackoff
	now := time.Unix(1000, 0)
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	reports := 0
	for i, w := range want {
		d, report, _ := b.failed(now.Add(time.Duration(i) * 100 * time.Millisecond))
		if d != w*time.Millisecond {
			t.Fatalf("delay %d = %v, want %v", i, d, w*time.Millisecond)
		}
		if report {
			reports++
		}
	}
	// Ten errors within 0.9 s: the first is logged, the rest are counted.
	if reports != 1 {
		t.Errorf("%d reports, want 1", reports)
	}
	d, report, n := b.failed(now.Add(2 * time.Second))
	if d != time.Second || !report || n != 10 {
		t.Errorf("after a second: %v, %v, %d; want 1s, true, 10", d, report, n)
	}
	b.reset()
	if d, _, _ := b.failed(now.Add(3 * time.Second)); d != 5*time.Millisecond {
		t.Errorf("after reset: %v, want 5ms", d)
	}
}
