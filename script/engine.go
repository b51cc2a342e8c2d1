package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	lua "github.com/yuin/gopher-lua"
)

// Options configure an Engine.
type Options struct {
	// Log receives redis.log's lines.
	Log zerolog.Logger
	// MaxMemory is the script memory limit in bytes (memory.go); 0: none.
	MaxMemory int64
}

// Engine runs Lua scripts: the cache of EVAL scripts by SHA1, the function
// libraries, a pool of interpreter states and the registry of running
// scripts that SCRIPT KILL and FUNCTION KILL stop. It is safe for
// concurrent use; each run has an interpreter of its own.
type Engine struct {
	log zerolog.Logger
	mem *memory

	pool sync.Pool // *state
	// gen moves on every SCRIPT FLUSH and library change: a pooled state
	// whose gen differs drops its compiled functions and libraries.
	gen atomic.Uint64

	mu      sync.RWMutex
	scripts map[string]*Script
	libs    libraries // guarded by mu

	runMu     sync.Mutex
	runs      map[*Run]struct{}
	noQueries bool // StopQueries was called: query runs stop as they start

	stats struct {
		calls, errors, killed atomic.Int64
	}
}

// New returns an engine.
func New(opts Options) *Engine {
	e := &Engine{log: opts.Log, scripts: map[string]*Script{}, runs: map[*Run]struct{}{}}
	e.mem = newMemory(opts.MaxMemory, e.declareBusy)
	e.libs.init()
	e.pool.New = func() any { return e.newState() }
	return e
}

// Close stops the engine's memory sampler.
func (e *Engine) Close() { e.mem.close() }

// SetMaxMemory changes the memory limit (CONFIG SET script-max-memory).
func (e *Engine) SetMaxMemory(n int64) {
	e.mem.limit.Store(max(n, 0))
	e.mem.over.Store(false) // the sampler judges the new limit at its next tick
}

// Script is a compiled EVAL script.
type Script struct {
	// SHA is the hex SHA1 of Body.
	SHA string
	// Body is the source as given.
	Body string
	// Flags come from a #!lua flags=… first line.
	Flags Flags
	proto *lua.FunctionProto
}

// SHA1 returns the lower-case hex SHA1 of b, as EVALSHA names scripts.
func SHA1(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// Load compiles body and caches it by its SHA1 (SCRIPT LOAD, EVAL). A
// script already cached is returned as it is. Errors are *Error.
func (e *Engine) Load(body []byte) (*Script, error) {
	sha := SHA1(body)
	e.mu.RLock()
	s := e.scripts[sha]
	e.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	flags, code, err := evalShebang(string(body))
	if err != nil {
		return nil, err
	}
	proto, err := compile(code, "user_script")
	if err != nil {
		return nil, &Error{Text: "ERR Error compiling script (new function): " + err.Error()}
	}
	s = &Script{SHA: sha, Body: string(body), Flags: flags, proto: proto}
	e.mu.Lock()
	if old := e.scripts[sha]; old != nil {
		s = old
	} else {
		e.scripts[sha] = s
	}
	e.mu.Unlock()
	return s, nil
}

// Lookup returns the cached script with that SHA1 (any case), or nil.
func (e *Engine) Lookup(sha string) *Script {
	if len(sha) != 40 {
		return nil
	}
	var low [40]byte
	for i := range 40 {
		c := sha[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.scripts[string(low[:])]
}

// Flush forgets every cached script (SCRIPT FLUSH).
func (e *Engine) Flush() {
	e.mu.Lock()
	e.scripts = map[string]*Script{}
	e.mu.Unlock()
	e.gen.Add(1)
}

// Stats returns the number of cached scripts and the memory their sources
// take.
func (e *Engine) Stats() (scripts int, bytes int64) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, s := range e.scripts {
		bytes += int64(len(s.Body))
	}
	return len(e.scripts), bytes
}

// Counters returns how many runs started, failed and were killed.
func (e *Engine) Counters() (calls, errors, killed int64) {
	return e.stats.calls.Load(), e.stats.errors.Load(), e.stats.killed.Load()
}

// Kind says whether a run is an EVAL script's or a function's.
type Kind uint8

// The kinds of run.
const (
	KindEval Kind = iota
	KindFunction
	// KindQuery is a reactive query's run (Engine.Query): SCRIPT KILL and
	// FUNCTION KILL do not stop it, its own time limit does, and it is not
	// counted among the scripts run.
	KindQuery
)

// Run is a running script, as SCRIPT KILL, FUNCTION KILL and FUNCTION
// STATS see it.
type Run struct {
	// Kind is the run's kind.
	Kind Kind
	// Name is the function's name, or the script's SHA1.
	Name string
	// Command is the command that started it, its arguments as given.
	Command []string
	// Start is when it started.
	Start time.Time
	b     *budget

	busyAt time.Duration
	onBusy func()
	limit  time.Duration // Call.TimeLimit
	begun  atomic.Bool   // Begin succeeded: the run may be declared busy
	busy   bool          // declared busy; guarded by Engine.runMu
}

// Running returns the runs in progress.
func (e *Engine) Running() []*Run {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	out := make([]*Run, 0, len(e.runs))
	for r := range e.runs {
		out = append(out, r)
	}
	return out
}

// Kill stops every run of that kind in progress, which then fails with
// Redis's text for a killed script and is rolled back by its caller, and
// returns how many it stopped.
func (e *Engine) Kill(k Kind) int {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	n := 0
	for r := range e.runs {
		if r.Kind == k && r.b.stopped() == "" {
			r.b.Stop(killedText(k))
			e.stats.killed.Add(1)
			n++
		}
	}
	return n
}

// killedText is what a killed run fails with; Redis says SCRIPT KILL
// whichever command killed it.
func killedText(Kind) string { return "ERR Script killed by user with SCRIPT KILL..." }

// TimeLimitText is the error of a run stopped by its Call.TimeLimit.
func TimeLimitText(d time.Duration) string {
	return "ERR query run stopped: it ran longer than query-time-limit (" + strconv.FormatInt(d.Milliseconds(), 10) + " ms)"
}

// declareBusy calls OnBusy for the runs past their busy threshold, and
// stops the runs past their time limit; the memory sampler calls it every
// tick while scripts run. It holds runMu
// while it calls, so a run cannot end (unregister) in the middle of it.
func (e *Engine) declareBusy() {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	for r := range e.runs {
		if r.limit > 0 && time.Since(r.Start) >= r.limit {
			r.b.Stop(TimeLimitText(r.limit))
		}
		if !r.busy && r.busyAt > 0 && r.onBusy != nil && r.begun.Load() && time.Since(r.Start) >= r.busyAt {
			r.busy = true
			r.onBusy()
		}
	}
}

func (e *Engine) register(r *Run) {
	e.runMu.Lock()
	e.runs[r] = struct{}{}
	if r.Kind == KindQuery && e.noQueries {
		r.b.Stop(stoppingText)
	}
	e.runMu.Unlock()
}

// stoppingText is the error of a query run stopped by StopQueries.
const stoppingText = "ERR the server is shutting down"

// StopQueries stops every query run in progress and every one that starts
// from now on (the server is stopping: nothing may keep it waiting).
func (e *Engine) StopQueries() {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	e.noQueries = true
	for r := range e.runs {
		if r.Kind == KindQuery {
			r.b.Stop(stoppingText)
		}
	}
}

func (e *Engine) unregister(r *Run) {
	e.runMu.Lock()
	delete(e.runs, r)
	e.runMu.Unlock()
}

// Error is a script error, as the reply's text (with its code).
type Error struct{ Text string }

// Error implements error.
func (e *Error) Error() string { return e.Text }
