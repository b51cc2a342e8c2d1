package resp

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Handing memory back to the system after bursts. Two things free big
// amounts at once: cut subscribers, whose output chunks go back to the pool
// (which keeps them until two garbage collections have passed), and big
// read buffers let go after their command. An idle server collects only
// every two minutes, so hundreds of megabytes would stay held long after.
// Once reclaimAfter bytes in all have been freed, a timer runs,
// reclaimDelay later (when the burst is over), two collections and hands
// the freed memory back to the system. At most one is pending at a time;
// it runs on the timer's goroutine, which touches no server state, off
// every connection's path.
var (
	reclaimAfter int64 = 16 << 20
	reclaimDelay       = time.Second
)

var reclaimState struct {
	mu    sync.Mutex // guards the fields below
	given int64      // bytes freed since the last reclaim was armed
	armed bool       // a reclaim is due
}

// reclaims counts the reclaims done.
var reclaims atomic.Int64

// noteFreed records that n bytes of chunks or buffers were let go, and
// arms a reclaim when enough were.
func noteFreed(n int64) {
	reclaimState.mu.Lock()
	reclaimState.given += n
	arm := !reclaimState.armed && reclaimState.given >= reclaimAfter
	if arm {
		reclaimState.armed, reclaimState.given = true, 0
	}
	reclaimState.mu.Unlock()
	if arm {
		time.AfterFunc(reclaimDelay, reclaim)
	}
}

// reclaim empties the chunk pool and returns the memory freed to the
// system.
func reclaim() {
	runtime.GC()         // the pool's chunks move to its victim cache
	debug.FreeOSMemory() // a second collection frees them, and the memory is returned
	reclaimState.mu.Lock()
	reclaimState.armed = false
	reclaimState.mu.Unlock()
	reclaims.Add(1)
}
