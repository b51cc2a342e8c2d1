package resp

import (
	"net"
	"sync"
	"sync/atomic"
)

// ChunkSize is the size of the chunks an asynchronous connection's output
// queue is made of (Redis's reply blocks are 16 KB too).
const ChunkSize = 16 << 10

// chunk is one block of queued output.
type chunk = [ChunkSize]byte

// chunkPool recycles the chunks of every output queue in the process
// (nats-server pools its outbound buffers the same way). The garbage
// collector empties it when chunks stay unused.
var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// Chunks taken from the pool and not yet given back, and the most there
// ever were: process-wide, shared by every Server.
var chunksInUse, chunksPeak atomic.Int64

// OutputQueueMemory returns the bytes held now, and at most so far, by the
// output queues of asynchronous connections (whole chunks, in use or not),
// over the whole process. Safe for concurrent use.
func OutputQueueMemory() (now, peak int64) {
	return chunksInUse.Load() * ChunkSize, chunksPeak.Load() * ChunkSize
}

func getChunk() *chunk {
	n := chunksInUse.Add(1)
	for {
		p := chunksPeak.Load()
		if n <= p || chunksPeak.CompareAndSwap(p, n) {
			break
		}
	}
	return chunkPool.Get().(*chunk)
}

func putChunk(c *chunk) {
	chunksInUse.Add(-1)
	chunkPool.Put(c)
}

// outQueue is a FIFO of bytes kept in pooled chunks, so that a queue never
// holds much more memory than its bytes, and never copies them to grow.
// Every chunk but the last is full. The writer reads the queued bytes in
// place (see buffers) while producers append behind them; the two never
// touch the same bytes. The zero value is an empty queue. Its owner
// guards it with a lock.
type outQueue struct {
	chunks []*chunk
	head   int // bytes of chunks[0] already written
	tail   int // bytes of the last chunk filled
}

// pending returns the bytes queued and not yet written.
func (q *outQueue) pending() int {
	if len(q.chunks) == 0 {
		return 0
	}
	return (len(q.chunks)-1)*ChunkSize + q.tail - q.head
}

// accounted returns the bytes the output limit counts: from the start of
// the first chunk to the end of the data, that is the pending bytes and
// the written part of the first chunk, which the queue still holds. The
// memory the queue holds is at most accounted + one chunk.
func (q *outQueue) accounted() int { return q.pending() + q.head }

// memory returns the bytes of the chunks the queue holds.
func (q *outQueue) memory() int { return len(q.chunks) * ChunkSize }

// push copies b to the end of the queue.
func (q *outQueue) push(b []byte) {
	for len(b) > 0 {
		if len(q.chunks) == 0 || q.tail == ChunkSize {
			q.chunks = append(q.chunks, getChunk())
			q.tail = 0
		}
		n := copy(q.chunks[len(q.chunks)-1][q.tail:], b)
		q.tail += n
		b = b[n:]
	}
}

// moveTo appends the queue's bytes to dst and empties the queue.
func (q *outQueue) moveTo(dst *outQueue) {
	for _, b := range q.buffers(nil) {
		dst.push(b)
	}
	q.release()
}

// buffers appends to dst the queued bytes, in place, for one write.
func (q *outQueue) buffers(dst net.Buffers) net.Buffers {
	for i, c := range q.chunks {
		start, end := 0, ChunkSize
		if i == 0 {
			start = q.head
		}
		if i == len(q.chunks)-1 {
			end = q.tail
		}
		dst = append(dst, c[start:end])
	}
	return dst
}

// consume drops the first n pending bytes (written), giving back the
// chunks they emptied.
func (q *outQueue) consume(n int) {
	drop := 0
	for n > 0 && drop < len(q.chunks) {
		end := ChunkSize
		if drop == len(q.chunks)-1 {
			end = q.tail
		}
		step := min(n, end-q.head)
		q.head += step
		n -= step
		if q.head < end {
			break
		}
		// This chunk is written out.
		putChunk(q.chunks[drop])
		drop++
		q.head = 0
	}
	if drop > 0 {
		left := copy(q.chunks, q.chunks[drop:])
		clear(q.chunks[left:])
		q.chunks = q.chunks[:left]
		if left == 0 {
			q.tail = 0
		}
	}
}

// release gives every chunk back to the pool and empties the queue. No
// write may be reading them.
func (q *outQueue) release() {
	for i, c := range q.chunks {
		putChunk(c)
		q.chunks[i] = nil
	}
	q.chunks = q.chunks[:0]
	if cap(q.chunks) > 64 {
		q.chunks = nil
	}
	q.head, q.tail = 0, 0
}
