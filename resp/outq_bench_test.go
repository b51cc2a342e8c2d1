package resp

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// subHandler makes a connection asynchronous on SUB (as SUBSCRIBE does)
// and hands it to the test.
type subHandler struct{ conns chan *Conn }

func (h subHandler) Opened(c *Conn)  { c.Authed = true }
func (h subHandler) Closed(c *Conn)  {}
func (h subHandler) Drained(c *Conn) {}
func (h subHandler) Serve(c *Conn, args [][]byte) {
	if string(args[0]) == "SUB" {
		c.EnableAsync()
		c.W.Simple("SUB")
		c.Sync()
		h.conns <- c
		return
	}
	c.W.Simple(string(args[0]))
}

// tcpSubscriber starts a server on loopback TCP and returns the client end
// of a connection and the server's Conn for it, made asynchronous.
func tcpSubscriber(tb testing.TB, srv *Server) (net.Conn, *Conn) {
	tb.Helper()
	h := srv.handler.(subHandler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	client.Write(commands("SUB"))
	c := <-h.conns
	buf := make([]byte, len("+SUB\r\n"))
	if _, err := io.ReadFull(client, buf); err != nil {
		tb.Fatal(err)
	}
	return client, c
}

// BenchmarkPushFlush pushes frames to one subscriber that reads them all:
// the fast path of a healthy subscriber (Push, the writer goroutine, the
// socket).
func BenchmarkPushFlush(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			srv := NewServer(subHandler{conns: make(chan *Conn, 1)}, zerolog.Nop())
			srv.SetOutputLimit(ClassNormal, OutputLimit{})
			client, c := tcpSubscriber(b, srv)
			frame := bytes.Repeat([]byte{'x'}, size)
			done := make(chan error, 1)
			total := int64(b.N) * int64(size)
			go func() {
				_, err := io.CopyN(io.Discard, client, total)
				done <- err
			}()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				if !c.Push(frame) {
					b.Fatal("Push refused")
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPushFlushPaced is BenchmarkPushFlush with at most 32 frames in
// flight, as when publishers are paced by their own clients: the queue
// stays short and each frame's cost includes waking the writer.
func BenchmarkPushFlushPaced(b *testing.B) {
	const window = 32
	for _, size := range []int{64, 1024} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			srv := NewServer(subHandler{conns: make(chan *Conn, 1)}, zerolog.Nop())
			client, c := tcpSubscriber(b, srv)
			frame := bytes.Repeat([]byte{'x'}, size)
			inFlight := make(chan struct{}, window) // one token per frame not yet read
			done := make(chan error, 1)
			total := int64(b.N) * int64(size)
			go func() {
				buf := make([]byte, 64<<10)
				var read, freed int64
				for read < total {
					n, err := client.Read(buf)
					read += int64(n)
					for ; freed < read/int64(size); freed++ {
						<-inFlight
					}
					if err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				inFlight <- struct{}{}
				if !c.Push(frame) {
					b.Fatal("Push refused")
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
