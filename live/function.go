package live

import (
	"errors"
	"time"

	"bucketd/engine"
	"bucketd/jsonv"
)

// Kind is the kind of a query definition.
type Kind uint8

// The kinds of definition.
const (
	// KindQuery is a declarative query (JSON), maintained incrementally.
	KindQuery Kind = iota
	// KindLua is a Lua chunk that reads the global params.
	KindLua
	// KindFunction is a library function flagged no-writes, called with
	// the parameters.
	KindFunction
)

// String returns the kind as QUERY.INFO shows it.
func (k Kind) String() string {
	switch k {
	case KindLua:
		return "lua"
	case KindFunction:
		return "function"
	}
	return "query"
}

// Runner runs function queries for the manager. The command layer
// implements it: it owns the script engine and the commands a query reads
// with.
type Runner interface {
	// Prepare checks a function query's code and returns what Run needs:
	// a Lua chunk must compile; a function must exist and be flagged
	// no-writes, unless restoring (the libraries may come back after the
	// queries).
	Prepare(kind Kind, code string, restoring bool) (any, error)
	// Run runs the query once with params (a JSON object's text, "" for
	// none) and returns its result as JSON text. Its reads run inside t
	// when t is not nil, and each is reported to tr before it reads; lim
	// may stop them.
	Run(kind Kind, code string, prepared any, params string, t *engine.Tx, tr *Tracker, lim engine.ReadLimit) ([]byte, error)
}

const (
	// optimisticRuns is how many runs a function query gets without locks
	// before it runs inside a transaction over the buckets it read.
	optimisticRuns = 3
	// maxDepth bounds function queries run by QUERY.RUN inside another.
	maxDepth = 8
	// busyRetry is how soon a channel whose read met a busy script tries
	// again.
	busyRetry = 20 * time.Millisecond
	// costlyRun is the run time from which a function channel rests
	// between runs (restFor).
	costlyRun = time.Millisecond
)

// restFor is how long a function channel whose last run took cost, and
// ended since ago, waits before its next run. Rule: a channel whose runs
// take costlyRun or more rests as long as its last run took, so that one
// channel re-run by a stream of writes keeps a worker at most half busy
// and leaves the writers their share of the CPU (changes meanwhile
// coalesce into the next run). Cheaper runs do not rest. Checked by
// TestRestFor.
func restFor(cost, ago time.Duration) time.Duration {
	if cost < costlyRun {
		return 0
	}
	return cost - ago
}

// DepthError reports function queries nested deeper than maxDepth through
// QUERY.RUN (a query that runs itself, for one).
type DepthError struct{}

// Error implements error.
func (*DepthError) Error() string {
	return "query nesting too deep: more than 8 function queries run inside one another through QUERY.RUN"
}

// functionJSON is the stored form of a function definition:
// {"lua":"<chunk>"} or {"function":"<name>"}.
func functionJSON(kind Kind, code string) []byte {
	b := append([]byte(`{"`), kind.String()...)
	b = append(b, `":`...)
	return append(jsonv.AppendString(b, code), '}')
}

// parseFunctionJSON recognises the stored form of a function definition.
func parseFunctionJSON(data []byte) (Kind, string, bool) {
	o, err := jsonv.ParseObject(data)
	if err != nil || o.Len() != 1 {
		return 0, "", false
	}
	for _, k := range []Kind{KindLua, KindFunction} {
		if v, ok := o.Get(k.String()); ok {
			if s, ok := v.(string); ok {
				return k, s, true
			}
		}
	}
	return 0, "", false
}

// DefineFunction defines query name as a Lua chunk (KindLua) or a library
// function (KindFunction), QUERY.DEFINE's LUA and FUNCTION forms. The code
// must pass the runner's Prepare. Redefinition rules, hooks and waiting
// channels are as for Define. Errors: *NameError, *ExistsError, ErrClosed,
// and Prepare's.
func (m *Manager) DefineFunction(name string, kind Kind, code string) error {
	d, err := m.functionDefinition(name, kind, code, false)
	if err != nil {
		return err
	}
	return m.install(d, true)
}

// functionDefinition builds a function definition.
func (m *Manager) functionDefinition(name string, kind Kind, code string, restoring bool) (*definition, error) {
	if !engine.ValidName(name) {
		return nil, &NameError{Name: name}
	}
	if m.runner == nil {
		return nil, errors.New("function queries are not available")
	}
	prepared, err := m.runner.Prepare(kind, code, restoring)
	if err != nil {
		return nil, err
	}
	return &definition{name: name, kind: kind, code: code, prepared: prepared, json: functionJSON(kind, code)}, nil
}

// FunctionsChanged runs every live function channel again: FUNCTION LOAD,
// DELETE, FLUSH or RESTORE changed the libraries, which a FUNCTION query
// calls, or a LUA query through QUERY.RUN of one.
func (m *Manager) FunctionsChanged() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pokeFunctionsLocked()
}

// pokeFunctionsLocked pokes every live function channel. A definition or
// a library changed: a function query may have run it through QUERY.RUN
// (read sets record what a run read, not which definitions it ran; such
// changes are rare). m.mu must be held.
func (m *Manager) pokeFunctionsLocked() {
	for _, ch := range m.chans {
		ch.mu.Lock()
		if ch.def != nil && ch.def.kind != KindQuery && ch.nsubs > 0 {
			m.poke(ch)
		}
		ch.mu.Unlock()
	}
}

// paramsText is the JSON text of params, "" for none.
func paramsText(p *jsonv.Object) string {
	if p == nil {
		return ""
	}
	return string(jsonv.Marshal(p))
}

// evaluateFunction runs ch's function query and records what it read.
func (m *Manager) evaluateFunction(ch *channel, d *definition) ([]byte, error) {
	m.evaluations.Add(1)
	start := time.Now()
	res, tr, err := m.runConsistent(d, paramsText(ch.params), ch, engine.ReadLimit{})
	ch.ranAt = time.Now()
	ch.cost = ch.ranAt.Sub(start)
	words := tr.words()
	ch.mu.Lock()
	ch.reads = words
	ch.runs++
	ch.mu.Unlock()
	var busy *engine.BusyError
	if errors.As(err, &busy) {
		// A long script holds a bucket it reads: try again soon, as
		// nothing else may poke it.
		time.AfterFunc(busyRetry, func() { m.poke(ch) })
	}
	return res, err
}

// runConsistent runs a function query until one run saw a single state of
// the store, and returns its result and tracker. A run with one read is
// consistent by itself (one read walks one frozen copy); with several,
// a live channel's run is consistent when no change to what it had read
// was committed while it ran (its channel was not poked), and a one-off
// run when no bucket it read changed. After optimisticRuns runs that were
// not, it runs inside a transaction over the buckets the last one read,
// which keeps writers out for the length of the run. A live channel's
// read set is installed as it reads (Tracker) and replaces the previous
// run's when the run ends.
func (m *Manager) runConsistent(d *definition, params string, ch *channel, lim engine.ReadLimit) (res []byte, tr *Tracker, err error) {
	var held []string
	for attempt := 0; ; attempt++ {
		locked := attempt >= optimisticRuns
		tr = &Tracker{m: m, ch: ch}
		if m.isClosed() {
			return nil, tr, ErrClosed // the server is stopping
		}
		var t *engine.Tx
		if locked {
			if t, err = m.store.Begin(held); err != nil {
				return nil, tr, err
			}
			tr.held = append(make([]string, 0, len(held)), held...)
		}
		m.runs.Add(1)
		res, err = m.runner.Run(d.kind, d.code, d.prepared, params, t, tr, lim)
		if t != nil {
			t.Rollback() // it wrote nothing: this only releases the locks
		}
		if ch != nil {
			m.swapRegs(ch, tr)
		}
		switch {
		case locked:
			if len(tr.unheld) > 0 && attempt < optimisticRuns+maxDepth {
				held = append(held, tr.unheld...) // it read further this time
				m.reruns.Add(1)
				continue
			}
			return res, tr, err
		case tr.reads <= 1:
			return res, tr, err
		case ch != nil && ch.sched.Load() != schedAgain:
			return res, tr, err
		case ch == nil && tr.unchanged():
			return res, tr, err
		}
		m.reruns.Add(1)
		if ch != nil {
			// The next run covers the pokes received so far.
			ch.sched.CompareAndSwap(schedAgain, schedQueued)
		}
		held = tr.names()
	}
}

// swapRegs installs tr's registrations as ch's, removing the previous
// run's. Called by the worker that owns ch.
func (m *Manager) swapRegs(ch *channel, tr *Tracker) {
	old := ch.fregs
	ch.fregs = tr.regs()
	m.removeRegs(old)
}

// removeRegs takes function registrations out of their watches, retiring
// watches left unused.
func (m *Manager) removeRegs(regs []*fnReg) {
	if len(regs) == 0 {
		return
	}
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	for _, r := range regs {
		bw := r.bw
		bw.mu.Lock()
		bw.removeReg(r)
		m.retire(bw, false)
		bw.mu.Unlock()
	}
}

// runFunctionOnce runs a function query for QUERY.RUN: inside t when a
// script runs it (t holds what it may read), else until consistent.
func (m *Manager) runFunctionOnce(t *engine.Tx, d *definition, p *jsonv.Object, lim engine.ReadLimit) ([]byte, error) {
	if t != nil {
		m.runs.Add(1)
		return m.runner.Run(d.kind, d.code, d.prepared, paramsText(p), t, &Tracker{m: m}, lim)
	}
	res, _, err := m.runConsistent(d, paramsText(p), nil, lim)
	return res, err
}

// RunTracked is QUERY.RUN inside a function query's run: what the query
// named reads is reported to tr, the caller's tracker. A declarative query
// reads its bucket's records that match its filter; a function query runs
// nested, up to maxDepth deep (*DepthError). Other errors are RunIn's.
func (m *Manager) RunTracked(t *engine.Tx, name string, params []byte, lim engine.ReadLimit, tr *Tracker) ([]byte, error) {
	d, p, err := m.toRun(name, params)
	if err != nil {
		return nil, err
	}
	if d.kind == KindQuery {
		q, err := d.prepare(p)
		if err != nil {
			return nil, err
		}
		tr.Open(q.Bucket)
		tr.Filter(q.Bucket, q.Filter, "the filter of query "+name)
		return m.store.Limit(lim).Find(t, q, nil)
	}
	if tr.depth >= maxDepth {
		return nil, &DepthError{}
	}
	tr.depth++
	defer func() { tr.depth-- }()
	m.runs.Add(1)
	return m.runner.Run(d.kind, d.code, d.prepared, paramsText(p), t, tr, lim)
}
