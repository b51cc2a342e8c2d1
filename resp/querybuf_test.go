package resp

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// feed reads data into buf as a connection does, chunk bytes at a time,
// parsing after each read, and returns the buffer and the largest size it
// reached.
func feed(t *testing.T, r *Reader, buf, data []byte, chunk int) ([]byte, int) {
	t.Helper()
	peak := cap(buf)
	for len(data) > 0 {
		buf = r.Room(buf)
		peak = max(peak, cap(buf))
		k := min(chunk, len(data), cap(buf)-len(buf))
		buf = append(buf, data[:k]...)
		data = data[k:]
		args, n, err := r.Next(buf, true, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if args == nil {
				t.Fatalf("n = %d without a command", n)
			}
			buf = buf[:copy(buf, buf[n:])]
		}
	}
	return buf, peak
}

// TestRoomFollowsBytesReceived declares a 512 MB bulk and sends 200 KB of
// it in 4 KB pieces: the buffer must follow what was sent, not what was
// declared.
func TestRoomFollowsBytesReceived(t *testing.T) {
	var r Reader
	data := append([]byte("*1\r\n$536870000\r\n"), bytes.Repeat([]byte("x"), 200<<10)...)
	buf, peak := feed(t, &r, nil, data, 4096)
	if len(buf) != len(data) {
		t.Fatalf("%d bytes pending, want %d", len(buf), len(data))
	}
	if peak > 512<<10 {
		t.Errorf("buffer reached %d bytes for %d received", peak, len(data))
	}
}

// TestRoomBigCommand sends a 3 MB bulk: the buffer grows by doubling, stops
// at the command's size, and is let go once the command is done.
func TestRoomBigCommand(t *testing.T) {
	var r Reader
	payload := strings.Repeat("y", 3<<20)
	cmd := mbulk("SET", payload)
	buf, peak := feed(t, &r, nil, []byte(cmd), 64<<10)
	if len(buf) != 0 {
		t.Fatalf("%d bytes left pending", len(buf))
	}
	if peak != len(cmd) {
		t.Errorf("buffer peaked at %d bytes, want the command's %d", peak, len(cmd))
	}
	if r.prev == 0 || r.args[0] == nil {
		t.Fatal("the Reader does not hold the last command's arguments")
	}
	buf = r.Room(append(buf, "*1\r\n"...))
	if r.prev != 0 || r.args[:cap(r.args)][0] != nil {
		t.Error("the Reader still holds arguments into the buffer let go")
	}
	if cap(buf) != initialReadBuffer || string(buf) != "*1\r\n" {
		t.Errorf("after the command: %d bytes, %q; want %d bytes holding the rest", cap(buf), buf, initialReadBuffer)
	}
}

func TestRoom(t *testing.T) {
	tests := []struct {
		name     string
		pending  int
		size     int
		need     string // a pending command setting Need, or ""
		wantSize int
		wantSame bool
	}{
		{"nil", 0, 0, "", initialReadBuffer, false},
		{"room left", 10, initialReadBuffer, "", initialReadBuffer, true},
		{"full doubles", initialReadBuffer, initialReadBuffer, "", 2 * initialReadBuffer, false},
		{"small bulk: doubles past it", initialReadBuffer, initialReadBuffer, "*1\r\n$20000\r\n", 2 * initialReadBuffer, false},
		{"big bulk: stops at its end", 64 << 10, 64 << 10, "*1\r\n$70000\r\n", 12 + 70000 + 2, false},
		{"huge bulk: doubles", 64 << 10, 64 << 10, "*1\r\n$536870000\r\n", 128 << 10, false},
		{"big buffer mostly free: shrinks", 100, 4 << 20, "", initialReadBuffer, false},
		{"big buffer a third full: kept", 1 << 20, 3 << 20, "", 3 << 20, true},
		{"big buffer, big rest: shrinks to twice it", 600 << 10, 4 << 20, "", 1200 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			buf := make([]byte, tt.pending, tt.size)
			copy(buf, tt.need)
			if tt.need != "" {
				if args, n, err := r.Next(buf, true, DefaultLimits()); args != nil || n != 0 || err != nil {
					t.Fatalf("Next = %q, %d, %v", args, n, err)
				}
			}
			got := r.Room(buf)
			if cap(got) != tt.wantSize || len(got) != tt.pending || !bytes.Equal(got, buf) {
				t.Fatalf("Room: len %d cap %d, want len %d cap %d", len(got), cap(got), tt.pending, tt.wantSize)
			}
			if same := cap(buf) > 0 && &got[:1][0] == &buf[:1][0]; same != tt.wantSame {
				t.Errorf("same buffer: %v, want %v", same, tt.wantSame)
			}
		})
	}
}

// TestConnQueryBuffer checks over a socket that a connection's buffer
// follows the bytes of a huge declared bulk, that QueryBuffer reports
// them, that the recent peak is kept, and that Shutdown closes such a
// connection at once.
func TestConnQueryBuffer(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&logHandler{}, zerolog.Nop())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tcp) }()
	c, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	header := "*1\r\n$536870000\r\n"
	c.Write([]byte(header))
	chunk := bytes.Repeat([]byte("z"), 4096)
	for range 50 {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	want := int64(len(header) + 50*len(chunk))
	var conn *Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cs := srv.Conns(); len(cs) == 1 {
			conn = cs[0]
			if p, _ := conn.QueryBuffer(); p == want {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("query buffer never reached %d bytes", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pending, free := conn.QueryBuffer()
	if size := pending + free; size > 512<<10 {
		t.Errorf("buffer of %d bytes for %d received", size, pending)
	}
	if peak := srv.RecentMaxInputBuffer(); peak != pending+free {
		t.Errorf("RecentMaxInputBuffer = %d, want %d", peak, pending+free)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if p, f := conn.QueryBuffer(); p != 0 || f != 0 {
		t.Errorf("after close: qbuf %d qbuf-free %d", p, f)
	}
}

func TestRecentPeak(t *testing.T) {
	var p recentPeak
	t0 := time.Unix(5000, 0)
	p.note(100, t0)
	p.note(50, t0.Add(time.Second))
	if m := p.max(t0.Add(2 * time.Second)); m != 100 {
		t.Errorf("max = %d, want 100", m)
	}
	if m := p.max(t0.Add(inputPeakSlots * time.Second)); m != 50 {
		t.Errorf("max %ds later = %d, want 50", inputPeakSlots, m)
	}
	p.note(7, t0.Add(inputPeakSlots*time.Second)) // reuses the first slot
	if m := p.max(t0.Add(inputPeakSlots*time.Second + 1)); m != 50 {
		t.Errorf("max = %d, want 50", m)
	}
	if m := p.max(t0.Add(100 * time.Second)); m != 0 {
		t.Errorf("max long after = %d, want 0", m)
	}
}
