package cpus

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

const (
	// Interval is how often the Tuner samples the CPU times.
	Interval = 250 * time.Millisecond
	// window is how many samples a decision to remove processors
	// averages; adding one looks at the last sample only, so that a burst
	// of work gets the CPUs soon.
	window = 4
	// saturated: the process keeps its processors busy when it uses all
	// but this much of them.
	saturated = 0.05
	// idleToGrow is the machine's idle CPU (in CPUs) needed to add a
	// processor.
	idleToGrow = 0.5
	// spare is the CPU time (in CPUs) kept free when removing processors.
	spare = 0.1

	minHold = time.Second
	maxHold = 30 * time.Second
)

// Sample is one interval's CPU use, in CPUs (seconds of CPU time per second
// of wall time).
type Sample struct {
	// Busy is the CPU time the process used.
	Busy float64
	// Idle is the machine's idle CPU time.
	Idle float64
}

// Next returns how many processors to run with after sample s was measured
// with procs of them, on a machine where at most max may run. It is the
// Tuner's whole policy; see the package doc.
func Next(procs, max int, s Sample) int {
	if procs < max && s.Busy >= float64(procs)-saturated && s.Idle >= idleToGrow {
		grow := int(s.Idle + 0.5) // round the idle CPUs to the nearest whole one
		return min(max, procs+grow)
	}
	if want := int(math.Ceil(s.Busy + spare)); want < procs {
		return max1(want)
	}
	return procs
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// Tuner sets GOMAXPROCS from the load. Procs and Changes are safe for
// concurrent use; Start is called once, and Stop only after it.
type Tuner struct {
	max  int
	log  zerolog.Logger
	read func() (busy, idle float64, ok bool) // seconds since an origin
	now  func() time.Time
	set  func(int)

	procs   atomic.Int64 // processors in use now
	changes atomic.Int64

	// Owned by the sampling goroutine (or by the test driving step).
	last       [2]float64 // busy and idle totals at the previous sample, seconds
	lastAt     time.Time
	samples    []Sample
	hold       time.Duration
	changedAt  time.Time
	lastChange int  // +1 grew, -1 shrank, 0 none yet
	failed     bool // the last read failed

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Tuner that will run between 1 and max processors (max < 1:
// the runtime's current GOMAXPROCS). It does nothing until Start.
func New(max int, log zerolog.Logger) *Tuner {
	if max < 1 {
		max = runtime.GOMAXPROCS(0)
	}
	t := &Tuner{max: max, log: log, read: readTimes, now: time.Now, set: func(n int) { runtime.GOMAXPROCS(n) },
		hold: minHold, stop: make(chan struct{}), done: make(chan struct{})}
	t.procs.Store(int64(max))
	return t
}

// Procs returns how many processors run Go code now.
func (t *Tuner) Procs() int { return int(t.procs.Load()) }

// Changes returns how many times the Tuner changed the number of processors.
func (t *Tuner) Changes() int64 { return t.changes.Load() }

// Start sets GOMAXPROCS to max and starts sampling. It returns false, and
// leaves GOMAXPROCS alone, when the CPU times cannot be read here.
func (t *Tuner) Start() bool {
	busy, idle, ok := t.read()
	if !ok {
		close(t.done)
		return false
	}
	t.begin(t.now(), busy, idle)
	go t.loop()
	return true
}

// begin sets GOMAXPROCS to max and takes the first CPU time totals.
func (t *Tuner) begin(now time.Time, busy, idle float64) {
	t.set(t.max)
	t.last, t.lastAt, t.changedAt = [2]float64{busy, idle}, now, now
}

// Stop ends the sampling and waits for it. GOMAXPROCS stays as it is.
func (t *Tuner) Stop() {
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.done
}

func (t *Tuner) loop() {
	defer close(t.done)
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.sample()
		}
	}
}

// sample reads the CPU times and takes a step. A failed read (out of file
// descriptors, say) skips the sample, and the next one is measured from a
// fresh baseline.
func (t *Tuner) sample() {
	busy, idle, ok := t.read()
	now := t.now() // the read's time: the tick may have waited
	if !ok {
		if !t.failed {
			t.log.Warn().Msg("cannot read CPU times; threads stay as they are until they can be read again")
		}
		t.failed = true
		return
	}
	if t.failed {
		t.failed = false
		t.last, t.lastAt, t.samples = [2]float64{busy, idle}, now, t.samples[:0]
		return
	}
	t.step(now, busy, idle)
}

// step takes the CPU time totals (seconds) read at now and changes the
// number of processors if the policy says so.
func (t *Tuner) step(now time.Time, busy, idle float64) {
	dt := now.Sub(t.lastAt).Seconds()
	if dt <= 0 {
		return
	}
	s := Sample{Busy: (busy - t.last[0]) / dt, Idle: (idle - t.last[1]) / dt}
	t.last, t.lastAt = [2]float64{busy, idle}, now
	t.samples = append(t.samples, s)
	if len(t.samples) > window {
		t.samples = t.samples[1:]
	}
	since := now.Sub(t.changedAt)
	if since < t.hold {
		return
	}
	procs := t.Procs()
	next := Next(procs, t.max, s)
	if next < procs {
		// Removing processors goes by the average of a full window.
		if len(t.samples) < window {
			return
		}
		var avg Sample
		for _, x := range t.samples {
			avg.Busy += x.Busy / window
			avg.Idle += x.Idle / window
		}
		s = avg
		next = min(procs, Next(procs, t.max, avg))
	}
	if next == procs {
		return
	}
	dir := 1
	if next < procs {
		dir = -1
	}
	switch {
	case t.lastChange == -dir && since < 2*t.hold:
		// Reversed as soon as it could: the load sits on the boundary.
		t.hold = min(2*t.hold, maxHold)
	case since >= 4*t.hold:
		// The previous setting held for a while: the load changed.
		t.hold = minHold
	}
	t.set(next)
	t.procs.Store(int64(next))
	t.changes.Add(1)
	t.changedAt, t.lastChange = now, dir
	t.samples = t.samples[:0] // the samples around a change mix both settings
	t.log.Debug().Int("threads", next).Int("was", procs).Float64("busy_cpus", s.Busy).
		Float64("idle_cpus", s.Idle).Dur("hold", t.hold).Msg("threads changed")
}
