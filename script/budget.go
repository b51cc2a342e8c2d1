package script

import (
	"sync"
	"sync/atomic"
	"time"
)

// budget is the context.Context of one script run, through which the
// interpreter stops it. gopher-lua calls Done before every instruction of
// the main loop (vm.go, mainLoopWithContext), so Done is the script's
// instruction hook:
//
//   - it returns the stop channel, which Stop closes (SCRIPT KILL, FUNCTION
//     KILL, the memory limit); the interpreter then raises Err's text as an
//     error at the next instruction, and again after any pcall that caught
//     it, until the script has unwound;
//   - every checkEvery instructions it reads the clock, to declare the run
//     busy once it passes the busy threshold; at every instruction it reads
//     the memory flag of the engine's sampler (memory.go).
//
// Rule: Done runs on the script's goroutine only. Coroutines get a child
// context from context.WithCancel, which would call Done from a goroutine
// of its own unless the parent has AfterFunc: budget has it, so nobody else
// calls Done (checked by the race detector in TestKillCoroutine).
type budget struct {
	stop     chan struct{}
	stopOnce sync.Once
	reason   atomic.Pointer[string] // why it stopped: Err's text

	count   uint32
	start   time.Time
	busyAt  time.Duration // 0: never busy
	onBusy  func()        // called once, on the script's goroutine
	memory  *memory       // the engine's sampler, or nil
	isBusy  bool
	afterMu sync.Mutex
	after   []func()
}

// checkEvery is how many instructions run between two checks of the clock
// and of the memory flag; a power of two.
const checkEvery = 1024

func newBudget(busyAt time.Duration, onBusy func(), mem *memory) *budget {
	return &budget{stop: make(chan struct{}), start: time.Now(), busyAt: busyAt, onBusy: onBusy, memory: mem}
}

// Deadline implements context.Context: a run has none.
func (b *budget) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context; it is the instruction hook (see budget).
// The memory flag is read at every instruction, not every checkEvery: one
// instruction can double a string, so a thousand could exhaust the machine.
func (b *budget) Done() <-chan struct{} {
	b.count++
	if b.count&(checkEvery-1) == 0 || b.memory != nil && b.memory.over.Load() {
		b.check()
	}
	return b.stop
}

// check runs the periodic checks: the busy threshold and the memory limit.
// redis.call runs it too, so that a script spending its time in commands
// is checked as well.
func (b *budget) check() {
	if !b.isBusy && b.busyAt > 0 && time.Since(b.start) >= b.busyAt {
		b.isBusy = true
		if b.onBusy != nil {
			b.onBusy()
		}
	}
	if b.memory != nil && b.memory.over.Load() {
		b.Stop(b.memory.message())
	}
}

// Err implements context.Context: the reason of the stop, nil before.
func (b *budget) Err() error {
	if r := b.reason.Load(); r != nil {
		return stopError(*r)
	}
	return nil
}

// Value implements context.Context.
func (b *budget) Value(any) any { return nil }

// AfterFunc lets context.WithCancel (coroutines) hear of the stop without
// a goroutine calling Done (see budget).
func (b *budget) AfterFunc(f func()) (stop func() bool) {
	b.afterMu.Lock()
	defer b.afterMu.Unlock()
	select {
	case <-b.stop:
		go f()
		return func() bool { return false }
	default:
	}
	i := len(b.after)
	b.after = append(b.after, f)
	return func() bool {
		b.afterMu.Lock()
		defer b.afterMu.Unlock()
		if b.after[i] == nil {
			return false
		}
		b.after[i] = nil
		return true
	}
}

// Stop stops the run with reason, the error text its caller gets; only
// the first reason counts. It may be called from any goroutine.
func (b *budget) Stop(reason string) {
	b.stopOnce.Do(func() {
		b.reason.Store(&reason)
		close(b.stop)
		b.afterMu.Lock()
		fs := b.after
		b.after = nil
		b.afterMu.Unlock()
		for _, f := range fs {
			if f != nil {
				go f()
			}
		}
	})
}

// stopped returns the reason of the stop, or "".
func (b *budget) stopped() string {
	if r := b.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// stopError is the error a stopped run raises in the interpreter.
type stopError string

func (e stopError) Error() string { return string(e) }
