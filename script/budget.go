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
//   - at every instruction it reads the memory flag of the engine's
//     sampler (memory.go): one instruction can double a string, so the
//     check cannot wait.
//
// The busy threshold is not the hook's: the sampler declares a run busy
// (Engine.declareBusy), so that a run spending its time in a coroutine
// or in a long command is declared too.
//
// Rule: Done runs on the script's goroutine only. Coroutines get a child
// context from context.WithCancel, which would call Done from a goroutine
// of its own unless the parent has AfterFunc: budget has it, so nobody else
// calls Done (checked by the race detector in TestKillCoroutine).
type budget struct {
	stop     chan struct{}
	stopOnce sync.Once
	reason   atomic.Pointer[string] // why it stopped: Err's text

	start   time.Time
	memory  *memory // the engine's sampler, or nil
	afterMu sync.Mutex
	after   []func()
}

func newBudget(mem *memory) *budget {
	return &budget{stop: make(chan struct{}), start: time.Now(), memory: mem}
}

// Deadline implements context.Context: a run has none.
func (b *budget) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context; it is the instruction hook (see budget).
func (b *budget) Done() <-chan struct{} {
	if b.memory != nil && b.memory.over.Load() {
		b.Stop(b.memory.message())
	}
	return b.stop
}

// check stops the run if the memory flag is up; redis.call runs it too.
func (b *budget) check() {
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
