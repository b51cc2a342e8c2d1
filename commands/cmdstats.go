package commands

import (
	"fmt"
	"math"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Command statistics, as Redis keeps them (docs/commands.md, "INFO"): per
// command the calls, their time, those refused before they ran
// (rejected_calls) and those that replied an error (failed_calls), with a
// latency histogram for latencystats; per error code the error replies
// (errorstats). CONFIG RESETSTAT clears them.

// latencyBuckets is the histogram's size: bucket i counts the calls that
// took [2^(i/4), 2^((i+1)/4)) µs, so that a percentile is off by 19% at
// most; the last bucket takes everything longer (about 2^31 µs and more).
const latencyBuckets = 124

// cmdStats are one command's figures. The calls are the histogram's sum:
// a call costs two atomic additions (its time and its bucket).
type cmdStats struct {
	usec     atomic.Int64
	rejected atomic.Int64
	failed   atomic.Int64
	hist     [latencyBuckets]atomic.Int64
}

// latencyBucket returns the bucket of a call of d.
func latencyBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	return min(int(4*math.Log2(us)), latencyBuckets-1)
}

// record counts one call of d; failed says it replied an error.
func (st *cmdStats) record(d time.Duration, failed bool) {
	st.usec.Add(int64(d / time.Microsecond))
	st.hist[latencyBucket(d)].Add(1)
	if failed {
		st.failed.Add(1)
	}
}

// calls returns the calls counted.
func (st *cmdStats) calls() int64 {
	var n int64
	for i := range st.hist {
		n += st.hist[i].Load()
	}
	return n
}

// percentile returns the latency in µs under which p percent of the calls
// fell: the upper bound of the bucket that holds that rank.
func (st *cmdStats) percentile(p float64) float64 {
	total := st.calls()
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(p / 100 * float64(total)))
	var seen int64
	for i := range st.hist {
		if seen += st.hist[i].Load(); seen >= rank {
			return math.Pow(2, float64(i+1)/4)
		}
	}
	return math.Pow(2, float64(latencyBuckets)/4)
}

func (st *cmdStats) reset() {
	st.usec.Store(0)
	st.rejected.Store(0)
	st.failed.Store(0)
	for i := range st.hist {
		st.hist[i].Store(0)
	}
}

// maxErrorCodes bounds the error codes errorstats keeps apart, as Redis
// does (128); later codes are not counted apart.
const maxErrorCodes = 128

// errorStats counts error replies by code (the reply's first word).
type errorStats struct {
	total atomic.Int64
	mu    sync.Mutex
	codes map[string]*atomic.Int64
}

// note counts one error reply, msg being its text ("ERR …", "-ERR …").
func (e *errorStats) note(msg []byte) {
	e.total.Add(1)
	text := strings.TrimPrefix(string(msg), "-")
	code, _, _ := strings.Cut(text, " ")
	code = strings.TrimRight(code, "\r\n")
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.codes[code]
	if n == nil {
		if len(e.codes) >= maxErrorCodes {
			return
		}
		if e.codes == nil {
			e.codes = map[string]*atomic.Int64{}
		}
		n = new(atomic.Int64)
		e.codes[code] = n
	}
	n.Add(1)
}

func (e *errorStats) reset() {
	e.total.Store(0)
	e.mu.Lock()
	e.codes = nil
	e.mu.Unlock()
}

// reject answers a command refused before it ran with msg, counting it
// against the command (nil: unknown) and its error code, and marking a
// MULTI that queues it as failed.
func (s *Server) reject(c *Ctx, cmd *Command, msg string) {
	c.Sess.flagTx()
	if cmd != nil {
		cmd.stats.rejected.Add(1)
	}
	s.errors.note([]byte(msg))
	c.W.Error(msg)
}

// allCommands returns every command and subcommand, sorted.
func (s *Server) allCommands() []*Command {
	var out []*Command
	for _, cmd := range s.table.Sorted() {
		out = append(out, cmd)
		out = append(out, sortedSubs(cmd)...)
	}
	return out
}

func infoCommandStats(s *Server, b *strings.Builder) {
	for _, cmd := range s.allCommands() {
		calls := cmd.stats.calls()
		if calls == 0 && cmd.stats.rejected.Load() == 0 {
			continue
		}
		usec := cmd.stats.usec.Load()
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			cmd.Name, calls, usec, perCall, cmd.stats.rejected.Load(), cmd.stats.failed.Load())
	}
}

func infoLatencyStats(s *Server, b *strings.Builder) {
	for _, cmd := range s.allCommands() {
		if cmd.stats.calls() == 0 {
			continue
		}
		fmt.Fprintf(b, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n",
			cmd.Name, cmd.stats.percentile(50), cmd.stats.percentile(99), cmd.stats.percentile(99.9))
	}
}

func infoErrorStats(s *Server, b *strings.Builder) {
	s.errors.mu.Lock()
	codes := make([]string, 0, len(s.errors.codes))
	for c := range s.errors.codes {
		codes = append(codes, c)
	}
	s.errors.mu.Unlock()
	sortStrings(codes)
	for _, c := range codes {
		s.errors.mu.Lock()
		n := s.errors.codes[c]
		s.errors.mu.Unlock()
		if n != nil {
			fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", c, n.Load())
		}
	}
}

func infoCPU(s *Server, b *strings.Builder) {
	for _, who := range []struct {
		suffix string
		flag   int
	}{{"", syscall.RUSAGE_SELF}, {"_children", syscall.RUSAGE_CHILDREN}} {
		var ru syscall.Rusage
		if syscall.Getrusage(who.flag, &ru) != nil {
			continue
		}
		field(b, "used_cpu_sys"+who.suffix, fmt.Sprintf("%.6f", float64(ru.Stime.Sec)+float64(ru.Stime.Usec)/1e6))
		field(b, "used_cpu_user"+who.suffix, fmt.Sprintf("%.6f", float64(ru.Utime.Sec)+float64(ru.Utime.Usec)/1e6))
	}
	// The Go runtime's estimates, which compare with each other only: the
	// CPU its threads were busy, and the garbage collector's part of it.
	busy := runtimeMetric("/cpu/classes/total:cpu-seconds") - runtimeMetric("/cpu/classes/idle:cpu-seconds")
	field(b, "used_cpu_busy", fmt.Sprintf("%.6f", busy))
	field(b, "used_cpu_gc", fmt.Sprintf("%.6f", runtimeMetric("/cpu/classes/gc/total:cpu-seconds")))
}

// runtimeMetric reads one runtime/metrics value as a float, or 0 if this
// Go runtime does not have it.
func runtimeMetric(name string) float64 {
	sample := []rtmetrics.Sample{{Name: name}}
	rtmetrics.Read(sample)
	switch v := sample[0].Value; v.Kind() {
	case rtmetrics.KindFloat64:
		return v.Float64()
	case rtmetrics.KindUint64:
		return float64(v.Uint64())
	}
	return 0
}

// resetStats is CONFIG RESETSTAT: the command, error and call counters.
func (s *Server) resetStats() {
	s.stats.commands.Store(0)
	s.errors.reset()
	for _, cmd := range s.allCommands() {
		cmd.stats.reset()
	}
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
