package cpus

import (
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The figures below were measured on 2 cores shared with redis-benchmark
// (50 clients): the process's and the machine's CPU use, in CPUs.
func TestNext(t *testing.T) {
	tests := []struct {
		name       string
		procs, max int
		s          Sample
		want       int
	}{
		{"unpipelined reads on one: the client has the other CPU", 1, 2, Sample{Busy: 0.93, Idle: 0.08}, 1},
		{"pipelined reads on one", 1, 2, Sample{Busy: 0.98, Idle: 0.06}, 1},
		{"pipelined upserts on one: saturated, a CPU idle", 1, 2, Sample{Busy: 1.00, Idle: 0.71}, 2},
		{"pipelined upserts on two: they use them", 2, 2, Sample{Busy: 1.33, Idle: 0.35}, 2},
		{"unpipelined reads on two: one is enough", 2, 2, Sample{Busy: 0.85, Idle: 0.30}, 1},
		{"pipelined reads on two: keeps a spare tenth", 2, 2, Sample{Busy: 0.97, Idle: 0.15}, 2},
		{"idle server", 2, 2, Sample{Busy: 0.01, Idle: 1.99}, 1},
		{"idle server on many", 16, 16, Sample{Busy: 0.2, Idle: 15.8}, 1},
		{"saturated but nothing idle", 1, 2, Sample{Busy: 1.0, Idle: 0.2}, 1},
		{"not saturated, much idle", 1, 2, Sample{Busy: 0.6, Idle: 1.4}, 1},
		{"already at max", 2, 2, Sample{Busy: 2.0, Idle: 0.9}, 2},
		{"grows by the idle CPUs", 2, 16, Sample{Busy: 2.0, Idle: 9.6}, 12},
		{"growth stops at max", 4, 8, Sample{Busy: 3.99, Idle: 7.0}, 8},
		{"shrinks to the use plus a spare tenth", 16, 16, Sample{Busy: 4.5, Idle: 11}, 5},
		{"never below one", 3, 4, Sample{Busy: 0, Idle: 4}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Next(tt.procs, tt.max, tt.s); got != tt.want {
				t.Errorf("Next(%d, %d, %+v) = %d, want %d", tt.procs, tt.max, tt.s, got, tt.want)
			}
		})
	}
}

// sim drives a Tuner with synthetic CPU times, one Interval at a time.
type sim struct {
	t          *testing.T
	tu         *Tuner
	now        time.Time
	busy, idle float64
	sets       []int
}

func newSim(t *testing.T, max int) *sim {
	s := &sim{t: t, now: time.Unix(1e9, 0)}
	s.tu = New(max, zerolog.Nop())
	s.tu.set = func(n int) { s.sets = append(s.sets, n) }
	s.tu.begin(s.now, 0, 0)
	return s
}

// run feeds n intervals in which the process used busy CPUs and the
// machine left idle CPUs idle.
func (s *sim) run(n int, busy, idle float64) {
	for range n {
		s.now = s.now.Add(Interval)
		s.busy += busy * Interval.Seconds()
		s.idle += idle * Interval.Seconds()
		s.tu.step(s.now, s.busy, s.idle)
	}
}

func TestTunerStartsWithMaxAndFollowsTheLoad(t *testing.T) {
	s := newSim(t, 2)
	if len(s.sets) != 1 || s.sets[0] != 2 || s.tu.Procs() != 2 {
		t.Fatalf("after begin: sets %v, procs %d; want [2], 2", s.sets, s.tu.Procs())
	}
	// Within the first hold (1 s) nothing changes, however idle.
	s.run(3, 0.01, 1.99)
	if s.tu.Procs() != 2 {
		t.Fatalf("changed within the first hold: procs %d", s.tu.Procs())
	}
	s.run(1, 0.01, 1.99)
	if s.tu.Procs() != 1 {
		t.Fatalf("idle after the hold: procs %d, want 1", s.tu.Procs())
	}
	// Upserts saturate the one processor: the tuner waits for the hold,
	// then for two samples after the change, and grows.
	s.run(3, 1.0, 0.7)
	if s.tu.Procs() != 1 {
		t.Fatalf("grew within the hold: procs %d", s.tu.Procs())
	}
	s.run(1, 1.0, 0.7)
	if s.tu.Procs() != 2 {
		t.Fatalf("saturated with a CPU idle: procs %d, want 2", s.tu.Procs())
	}
	// While the upserts use both, it stays.
	s.run(40, 1.33, 0.35)
	if s.tu.Procs() != 2 || s.tu.Changes() != 2 {
		t.Fatalf("busy on two: procs %d, changes %d; want 2, 2", s.tu.Procs(), s.tu.Changes())
	}
	if want := []int{2, 1, 2}; !slices.Equal(s.sets, want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", s.sets, want)
	}
}

func TestTunerHoldDoublesWhenItFlaps(t *testing.T) {
	s := newSim(t, 2)
	// A load that fits one CPU when it has two, but saturates one with a CPU
	// idle: each change reverses the previous one.
	var at []time.Time
	last := s.tu.Changes()
	for range 400 { // 100 s
		if s.tu.Procs() == 2 {
			s.run(1, 0.85, 0.9)
		} else {
			s.run(1, 1.0, 0.9)
		}
		if c := s.tu.Changes(); c != last {
			last = c
			at = append(at, s.now)
		}
	}
	if len(at) < 4 {
		t.Fatalf("only %d changes; the load should flap", len(at))
	}
	if len(at) > 12 {
		t.Fatalf("%d changes in 100 s: the hold did not grow", len(at))
	}
	for i := 2; i < len(at); i++ {
		if gap, prev := at[i].Sub(at[i-1]), at[i-1].Sub(at[i-2]); gap < prev && prev < maxHold {
			t.Errorf("change %d came %v after the previous, sooner than the %v before it", i, gap, prev)
		}
	}
	if s.tu.hold != maxHold {
		t.Errorf("hold %v after flapping for 100 s, want %v", s.tu.hold, maxHold)
	}
	// A load that keeps either setting for four holds, then changes: the
	// change brings the hold back to its start.
	s.run(int(4*maxHold/Interval)+1, 0.95*float64(s.tu.Procs()), 0.1)
	if s.tu.Changes() != last {
		t.Fatalf("changed under a load that keeps %d processors", s.tu.Procs())
	}
	if s.tu.Procs() == 1 {
		s.run(1, 1.0, 0.9)
	} else {
		s.run(4, 0.2, 1.8)
	}
	if s.tu.Changes() != last+1 {
		t.Fatalf("no change when the load changed after a calm spell")
	}
	if s.tu.hold != minHold {
		t.Errorf("hold %v after a change that ended a calm spell, want %v", s.tu.hold, minHold)
	}
}

// Phases of load longer than the hold (a benchmark's runs, say) are
// followed each time, at once: no phase change counts as flapping.
func TestTunerFollowsPhases(t *testing.T) {
	s := newSim(t, 2)
	s.run(24, 0.01, 1.99) // idle: down to one, and stays a while
	for phase := range 10 {
		if phase%2 == 0 {
			s.run(1, 1.0, 0.7) // pipelined writes: one sample is enough to grow
			if s.tu.Procs() != 2 {
				t.Fatalf("phase %d: busy, procs %d after one sample", phase, s.tu.Procs())
			}
			s.run(40, 1.4, 0.3)
		} else {
			s.run(4, 0.01, 1.99) // idle: a second's average
			if s.tu.Procs() != 1 {
				t.Fatalf("phase %d: idle, procs %d after a second", phase, s.tu.Procs())
			}
			s.run(40, 0.01, 1.99)
		}
		if s.tu.hold != minHold {
			t.Fatalf("phase %d: hold %v, want %v", phase, s.tu.hold, minHold)
		}
	}
}

// A read that fails skips its sample, and the next is measured from a
// fresh baseline: the CPU time spent in between is not taken for one
// interval's.
func TestTunerSkipsFailedReads(t *testing.T) {
	s := newSim(t, 2)
	fail := false
	s.tu.read = func() (float64, float64, bool) { return s.busy, s.idle, !fail }
	s.tu.now = func() time.Time { return s.now }
	tick := func(busy, idle float64) {
		s.now = s.now.Add(Interval)
		s.busy += busy * Interval.Seconds()
		s.idle += idle * Interval.Seconds()
		s.tu.sample()
	}
	for range 8 {
		tick(1.4, 0.3) // busy on two: stays
	}
	fail = true
	for range 20 {
		tick(0, 2) // five idle seconds go unseen
	}
	fail = false
	tick(0, 2) // the fresh baseline
	if s.tu.Procs() != 2 || len(s.tu.samples) != 0 {
		t.Fatalf("after the reads came back: procs %d, samples %v; want 2, none", s.tu.Procs(), s.tu.samples)
	}
	for range 3 {
		tick(1.4, 0.3)
	}
	if s.tu.Procs() != 2 {
		t.Fatalf("busy after the failed reads: procs %d, want 2", s.tu.Procs())
	}
	for range 4 {
		tick(0, 2)
	}
	if s.tu.Procs() != 1 {
		t.Errorf("idle for a second after the reads came back: procs %d, want 1", s.tu.Procs())
	}
}

func TestTunerWithoutTimes(t *testing.T) {
	tu := New(2, zerolog.Nop())
	set := false
	tu.read = func() (float64, float64, bool) { return 0, 0, false }
	tu.set = func(int) { set = true }
	if tu.Start() {
		t.Fatal("Start reported true without CPU times")
	}
	tu.Stop() // must not block
	if set {
		t.Error("GOMAXPROCS was set without CPU times")
	}
}

func TestTunerStartStop(t *testing.T) {
	tu := New(0, zerolog.Nop())
	var sets []int
	tu.set = func(n int) { sets = append(sets, n) }
	if _, _, ok := readTimes(); !ok {
		t.Skip("no CPU times on this system")
	}
	if !tu.Start() {
		t.Fatal("Start failed where the CPU times can be read")
	}
	tu.Stop()
	tu.Stop() // twice is fine
	if len(sets) == 0 || sets[0] != tu.max {
		t.Errorf("GOMAXPROCS set to %v, want %d first", sets, tu.max)
	}
}
