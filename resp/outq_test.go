package resp

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// queued returns the bytes q would write.
func queued(q *outQueue) []byte {
	var b []byte
	for _, p := range q.buffers(nil) {
		b = append(b, p...)
	}
	return b
}

func TestOutQueue(t *testing.T) {
	base := chunksInUse.Load()
	data := make([]byte, 3*ChunkSize+100)
	for i := range data {
		data[i] = byte(i % 251)
	}
	tests := []struct {
		name   string
		pushes []int // sizes pushed, from data, in order
		writes []int // bytes written (consumed) after the pushes
		chunks int   // chunks held at the end
		head   int   // written bytes of the first chunk at the end
	}{
		{"empty", nil, nil, 0, 0},
		{"one small", []int{10}, nil, 1, 0},
		{"exactly a chunk", []int{ChunkSize}, nil, 1, 0},
		{"a chunk and a byte", []int{ChunkSize, 1}, nil, 2, 0},
		{"a frame across chunks", []int{ChunkSize - 5, 100}, nil, 2, 0},
		{"a frame of three chunks", []int{3*ChunkSize + 100}, nil, 4, 0},
		{"part written", []int{ChunkSize + 10}, []int{100}, 2, 100},
		{"first chunk written", []int{ChunkSize + 10}, []int{ChunkSize}, 1, 0},
		{"all written", []int{ChunkSize + 10}, []int{ChunkSize + 10}, 0, 0},
		{"written in steps", []int{2*ChunkSize + 10}, []int{5, ChunkSize, ChunkSize + 5}, 0, 0},
		{"written in steps, some left", []int{2*ChunkSize + 10}, []int{5, ChunkSize + 1}, 2, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q outQueue
			var want []byte
			at := 0
			for _, n := range tt.pushes {
				q.push(data[at : at+n])
				want = append(want, data[at:at+n]...)
				at = (at + n) % len(data)
			}
			for _, n := range tt.writes {
				q.consume(n)
				want = want[n:]
			}
			if got := queued(&q); !bytes.Equal(got, want) {
				t.Fatalf("queued %d bytes, want %d (or they differ)", len(got), len(want))
			}
			if q.pending() != len(want) {
				t.Errorf("pending %d, want %d", q.pending(), len(want))
			}
			if len(q.chunks) != tt.chunks || q.head != tt.head {
				t.Errorf("%d chunks, head %d; want %d, %d", len(q.chunks), q.head, tt.chunks, tt.head)
			}
			if q.accounted() != q.pending()+q.head || q.memory() > q.accounted()+ChunkSize {
				t.Errorf("accounted %d, memory %d for %d pending", q.accounted(), q.memory(), q.pending())
			}
			if got := chunksInUse.Load() - base; got != int64(tt.chunks) {
				t.Errorf("%d chunks in use, want %d", got, tt.chunks)
			}
			var dst outQueue
			dst.push([]byte("x"))
			q.moveTo(&dst)
			if got := queued(&dst); !bytes.Equal(got, append([]byte("x"), want...)) || q.pending() != 0 {
				t.Errorf("moveTo: %d bytes queued, %d left", len(got), q.pending())
			}
			dst.release()
			if got := chunksInUse.Load() - base; got != 0 {
				t.Errorf("%d chunks in use after release", got)
			}
		})
	}
}

// unreadSubscriber returns the server's Conn of an asynchronous connection
// whose client never reads, once its writer is blocked writing to it (an
// in-memory pipe holds no bytes: its writes wait for the reader), and the
// client end.
func unreadSubscriber(t *testing.T, lim OutputLimit) (*Server, *Conn, net.Conn) {
	t.Helper()
	srv := NewServer(subHandler{conns: make(chan *Conn, 1)}, zerolog.Nop())
	for class := range numClasses {
		srv.SetOutputLimit(class, lim) // the test handler's connections are of the normal class
	}
	_, client := servePipe(t, srv)
	client.Write(commands("SUB"))
	c := <-srv.handler.(subHandler).conns
	// The +SUB reply is queued: the writer blocks writing it.
	poll(t, "the writer to block on the unread socket", func() bool {
		c.outMu.Lock()
		defer c.outMu.Unlock()
		return c.writing
	})
	return srv, c, client
}

// poll waits for cond, or fails the test after 10 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A subscriber that never reads is cut at its hard limit, holding no more
// than the limit and one chunk on the way; Push keeps returning at once
// while its writer is blocked on the full socket; the disconnection is
// counted and the chunks go back to the pool.
func TestPushPastTheLimit(t *testing.T) {
	const hard = 256 << 10
	tests := []struct {
		name  string
		lim   OutputLimit
		frame int
	}{
		{"hard limit, small frames", OutputLimit{Hard: hard}, 100},
		{"hard limit, 1 KB frames", OutputLimit{Hard: hard}, 1024},
		{"hard limit, frames larger than a chunk", OutputLimit{Hard: hard}, ChunkSize + 300},
		{"a frame larger than the limit", OutputLimit{Hard: hard}, hard + 1},
		{"soft limit of no seconds", OutputLimit{Hard: 4 * hard, Soft: hard, SoftFor: 0}, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := chunksInUse.Load()
			chunksPeak.Store(base)
			srv, c, client := unreadSubscriber(t, tt.lim)
			frame := bytes.Repeat([]byte{'m'}, tt.frame)
			limit := tt.lim.Hard
			if tt.lim.Soft > 0 {
				// The soft limit's clock starts at the first frame past it.
				limit = tt.lim.Soft + int64(tt.frame)
			}
			pushed := 0
			for c.Push(frame) {
				pushed += len(frame)
				if pushed > 2*int(limit)+tt.frame {
					t.Fatalf("%d bytes pushed and the subscriber is not cut", pushed)
				}
				c.outMu.Lock()
				writing, acc, cut := c.writing, c.out.accounted(), c.cut
				c.outMu.Unlock()
				// Under a soft limit the timer may cut the connection (and
				// stop its writer) between this Push and the look.
				if !writing && !cut {
					t.Fatal("the writer stopped writing to the unread socket")
				}
				if m := c.OutputMemory(); m > int(limit)+ChunkSize || acc > int(limit) {
					t.Fatalf("after %d bytes: %d bytes of chunks held, %d accounted; limit %d", pushed, m, acc, limit)
				}
			}
			if tt.frame <= int(limit) && pushed < int(limit)-ChunkSize-tt.frame {
				t.Errorf("cut after %d bytes, limit %d", pushed, limit)
			}
			// A cut subscriber refuses at once, before its writer has
			// even noticed.
			for range 100 {
				if c.Push(frame) {
					t.Fatal("Push accepted a frame after the cut")
				}
			}
			poll(t, "the disconnection to be counted", func() bool { return srv.OutputLimitDisconnections.Load() == 1 })
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, client); err != nil {
				t.Errorf("the client's connection ended with %v, want EOF", err)
			}
			poll(t, "the chunks to go back to the pool", func() bool { return chunksInUse.Load() == base })
			if m := c.OutputMemory(); m != 0 {
				t.Errorf("%d bytes of chunks still held", m)
			}
			if peak := (chunksPeak.Load() - base) * ChunkSize; peak > limit+ChunkSize {
				t.Errorf("%d bytes of chunks at the peak, limit %d", peak, limit)
			}
		})
	}
}

// holdHandler is a subHandler whose HOLD command holds the output, pushes
// a frame as a publisher would, writes its reply and releases.
type holdHandler struct {
	subHandler
	frame []byte
}

func (h holdHandler) Serve(c *Conn, args [][]byte) {
	if string(args[0]) != "HOLD" {
		h.subHandler.Serve(c, args)
		return
	}
	c.EnableAsync()
	c.Hold()
	c.Push(h.frame)
	c.W.Simple("HELD")
	c.Release()
}

// A frame pushed during a hold reaches the client after the reply, even
// when it spans chunks.
func TestHoldRelease(t *testing.T) {
	frame := bytes.Repeat([]byte{'f'}, 2*ChunkSize+7)
	h := holdHandler{subHandler: subHandler{conns: make(chan *Conn, 1)}, frame: frame}
	c := serveOne(t, h)
	c.Write(commands("HOLD", "PING"))
	readReplies(t, c, "+HELD\r\n"+string(frame)+"+PING\r\n")
}

// Closing the connection while output is queued gives the chunks back.
func TestCloseReleasesChunks(t *testing.T) {
	base := chunksInUse.Load()
	srv, c, client := unreadSubscriber(t, OutputLimit{})
	for range 100 {
		if !c.Push(make([]byte, 1000)) {
			t.Fatal("Push refused")
		}
	}
	client.Close()
	poll(t, "the chunks to go back to the pool", func() bool { return chunksInUse.Load() == base })
	if srv.OutputLimitDisconnections.Load() != 0 {
		t.Error("a closed connection was counted as cut")
	}
	if c.Push([]byte("x")) {
		t.Error("Push accepted a frame on a closed connection")
	}
}

// Cut subscribers that gave back enough chunks make the memory go back to
// the system.
func TestCutReclaims(t *testing.T) {
	oldAfter, oldDelay := reclaimAfter, reclaimDelay
	reclaimAfter, reclaimDelay = 64<<10, 0
	defer func() { reclaimAfter, reclaimDelay = oldAfter, oldDelay }()
	before := reclaims.Load()
	srv, c, _ := unreadSubscriber(t, OutputLimit{Hard: 128 << 10})
	for c.Push(make([]byte, 1000)) {
	}
	poll(t, "the disconnection to be counted", func() bool { return srv.OutputLimitDisconnections.Load() == 1 })
	poll(t, "a reclaim", func() bool { return reclaims.Load() > before })
}
