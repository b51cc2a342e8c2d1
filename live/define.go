package live

import (
	"bytes"
	"sort"

	"bucketd/engine"
	"bucketd/jsonv"
)

// Define defines query name with its JSON definition (QUERY.DEFINE). The
// definition must parse (unless it holds placeholders, see parseDefinition)
// and its bucket must exist, unless the bucket is itself a placeholder.
// Defining an existing name again with the same canonical definition
// succeeds and changes nothing; with a different one it fails with
// *ExistsError. Channels subscribed before the query existed start
// receiving results. OnDefinitionChange is called after a change.
//
// Errors: *NameError, *jsonv.SyntaxError, *query.Error, *filter.Error,
// *engine.NoBucketError, *ExistsError, ErrClosed.
func (m *Manager) Define(name string, data []byte) error {
	return m.define(name, data, true)
}

// Restore defines a query from persisted data without side effects: it does
// not call OnDefinitionChange and does not require the bucket to exist (a
// query of a bucket that is gone reports NOBUCKET when it runs). Restoring a
// name already defined with the same definition is a no-op. data nil
// replays a drop: the definition goes (its channels end as with Drop), and
// the hook is not called either.
func (m *Manager) Restore(name string, data []byte) error {
	if data == nil {
		m.drop(name, false)
		return nil
	}
	return m.define(name, data, false)
}

func (m *Manager) define(name string, data []byte, live bool) error {
	var (
		d   *definition
		err error
	)
	if kind, code, ok := parseFunctionJSON(data); ok && !live {
		d, err = m.functionDefinition(name, kind, code, true)
	} else {
		d, err = parseDefinition(name, data)
	}
	if err != nil {
		return err
	}
	return m.install(d, live)
}

// install makes d the definition of its name; live: a client's
// QUERY.DEFINE (the bucket must exist, the hook is called).
func (m *Manager) install(d *definition, live bool) error {
	name := d.name
	m.defMu.Lock()
	defer m.defMu.Unlock()
	if m.isClosed() {
		return ErrClosed
	}
	m.mu.Lock()
	old := m.defs[name]
	m.mu.Unlock()
	if old != nil {
		if bytes.Equal(old.json, d.json) {
			return nil
		}
		return &ExistsError{Name: name}
	}
	if live && d.bucket != "" {
		if _, err := m.store.Definition(d.bucket); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.defs[name] = d
	m.pokeFunctionsLocked()
	for _, ch := range m.chans {
		if ch.name != name {
			continue
		}
		ch.mu.Lock()
		ch.attach(d)
		if ch.nsubs > 0 {
			m.poke(ch)
		}
		ch.mu.Unlock()
	}
	m.mu.Unlock()
	if live && m.OnDefinitionChange != nil {
		m.OnDefinitionChange(name, append([]byte(nil), d.json...))
	}
	return nil
}

// Drop removes query name (QUERY.DROP) and reports whether it existed.
// Every subscription to its channels ends: the subscriber leaves the hub
// and the Revoke hook is called for it. OnDefinitionChange is called with
// nil after a drop.
func (m *Manager) Drop(name string) bool { return m.drop(name, true) }

func (m *Manager) drop(name string, hook bool) bool {
	m.defMu.Lock()
	defer m.defMu.Unlock()
	m.mu.Lock()
	if m.defs[name] == nil {
		m.mu.Unlock()
		return false
	}
	delete(m.defs, name)
	revs := m.endWhere(func(ch *channel) bool { return ch.name == name })
	m.pokeFunctionsLocked()
	m.mu.Unlock()
	m.revokeAll(revs)
	if hook && m.OnDefinitionChange != nil {
		m.OnDefinitionChange(name, nil)
	}
	return true
}

// BucketDropped is called by the command layer after BUCKET.DROP removed a
// bucket: the queries defined on that bucket are dropped (as by Drop, hook
// included), and every channel reading it ends, including channels of
// queries whose bucket is a parameter (those definitions stay).
func (m *Manager) BucketDropped(bucket string) {
	m.defMu.Lock()
	defer m.defMu.Unlock()
	m.mu.Lock()
	var names []string
	for name, d := range m.defs {
		if d.bucket == bucket {
			names = append(names, name)
			delete(m.defs, name)
		}
	}
	sort.Strings(names)
	revs := m.endWhere(func(ch *channel) bool {
		if ch.def == nil || ch.def.kind != KindQuery {
			return false
		}
		if ch.def.bucket == bucket {
			return true
		}
		return ch.q != nil && ch.q.Bucket == bucket
	})
	m.mu.Unlock()

	// The bucket's watch goes with it: a bucket defined again under the
	// same name starts from a fresh watch (and fresh ranks).
	// Function channels that read it run again (and find it gone).
	var rerun []*channel
	m.watchMu.Lock()
	if bw := (*m.watches.Load())[bucket]; bw != nil {
		bw.mu.Lock()
		m.retire(bw, true)
		rerun = bw.functionChannels()
		bw.mu.Unlock()
	}
	m.watchMu.Unlock()
	for _, ch := range rerun {
		m.poke(ch)
	}

	m.revokeAll(revs)
	if m.OnDefinitionChange != nil {
		for _, n := range names {
			m.OnDefinitionChange(n, nil)
		}
	}
}

// BucketChanged is called by the command layer after BUCKET.DEFINE or
// BUCKET.ALTER changed a bucket's definition: the channels waiting for a
// bucket of that name, and the function channels that read it (or found
// it missing), run again. Declarative channels that read it are not
// affected (the records did not change).
func (m *Manager) BucketChanged(bucket string) {
	bw := (*m.watches.Load())[bucket]
	if bw == nil {
		return
	}
	bw.mu.Lock()
	chans := bw.functionChannels()
	chans = append(chans, bw.waiting...)
	bw.mu.Unlock()
	for _, ch := range chans {
		m.poke(ch)
	}
}

// endWhere ends every channel for which match holds (read under the
// channel's lock) and returns the subscriptions ended. m.mu must be held.
func (m *Manager) endWhere(match func(ch *channel) bool) []revocation {
	var revs []revocation
	for _, ch := range m.chans {
		ch.mu.Lock()
		hit := match(ch)
		ch.mu.Unlock()
		if hit {
			revs = append(revs, m.end(ch)...)
		}
	}
	return revs
}

// List returns the query names, sorted (QUERY.LIST).
func (m *Manager) List() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.defs))
	for n := range m.defs {
		out = append(out, n)
	}
	m.mu.Unlock()
	sort.Strings(out)
	return out
}

// definition returns the definition of name, or *NoQueryError.
func (m *Manager) definition(name string) (*definition, error) {
	m.mu.Lock()
	d := m.defs[name]
	m.mu.Unlock()
	if d == nil {
		return nil, &NoQueryError{Name: name}
	}
	return d, nil
}

// toRun returns the definition of query name and its parameters for one
// run. Errors: *NoQueryError, *jsonv.SyntaxError.
func (m *Manager) toRun(name string, params []byte) (*definition, *jsonv.Object, error) {
	d, err := m.definition(name)
	if err != nil {
		return nil, nil, err
	}
	p, err := parseParams(params)
	if err != nil {
		return nil, nil, err
	}
	return d, p, nil
}

// Run evaluates query name once with params (a JSON object, or nil for
// none) and returns its result, the bytes a subscriber would receive
// (QUERY.RUN). Errors: *NoQueryError, *jsonv.SyntaxError (bad params),
// *query.ParamError, *query.Error, *filter.Error, *engine.NoBucketError,
// and the read's *engine.TimeoutError or *engine.CancelledError (lim says
// when the caller has gone).
func (m *Manager) Run(name string, params []byte, lim engine.ReadLimit) ([]byte, error) {
	return m.RunIn(nil, name, params, lim)
}

// RunIn is Run inside transaction t (a script's QUERY.RUN), which sees
// t's own writes; t must hold the query's bucket. t nil is Run.
func (m *Manager) RunIn(t *engine.Tx, name string, params []byte, lim engine.ReadLimit) ([]byte, error) {
	d, p, err := m.toRun(name, params)
	if err != nil {
		return nil, err
	}
	if d.kind != KindQuery {
		return m.runFunctionOnce(t, d, p, lim)
	}
	q, err := d.prepare(p)
	if err != nil {
		return nil, err
	}
	return m.store.Limit(lim).Find(t, q, nil)
}

// ChannelFor returns the canonical channel of query name with params (a
// JSON object, or nil) for QUERY.SUBSCRIBE and QUERY.UNSUBSCRIBE. When check
// is set the query must be defined and its parameters must give a query
// that parses. Errors: *NoQueryError, *jsonv.SyntaxError, *query.ParamError,
// *query.Error, *filter.Error.
func (m *Manager) ChannelFor(name string, params []byte, check bool) (string, error) {
	p, err := parseParams(params)
	if err != nil {
		return "", err
	}
	if check {
		d, err := m.definition(name)
		if err != nil {
			return "", err
		}
		if _, err := d.prepare(p); err != nil {
			return "", err
		}
	}
	return ChannelName(name, p), nil
}

func (m *Manager) isClosed() bool {
	m.qMu.Lock()
	defer m.qMu.Unlock()
	return m.closed
}

// Info describes a query for QUERY.INFO.
type Info struct {
	// Name is the query name.
	Name string
	// Definition is the canonical definition.
	Definition []byte
	// Kind is "query" (declarative), "lua" or "function".
	Kind string
	// Bucket is the bucket read, "" when a parameter gives it (or a
	// function query reads what it likes).
	Bucket string
	// Parameterized reports whether the definition holds placeholders.
	Parameterized bool
	// ActiveSubscriptions counts subscriptions to the query's channels.
	ActiveSubscriptions int
	// Channels describes each live channel, sorted by name.
	Channels []ChannelInfo
}

// ChannelInfo describes one live channel of a query.
type ChannelInfo struct {
	// Channel is the canonical channel name.
	Channel string
	// Subscribers counts its subscriptions.
	Subscribers int
	// Mode says how its result is maintained ("incremental:count", …).
	Mode string
	// Evaluations and Published count results computed and sent; Runs
	// counts a function query's runs.
	Evaluations, Published, Runs int64
	// Reads is a function query's last read set, one line per bucket.
	Reads []string
	// Error is the last evaluation's error, "" when it succeeded.
	Error string
}

// Info returns the description of query name, or *NoQueryError.
func (m *Manager) Info(name string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.defs[name]
	if d == nil {
		return Info{}, &NoQueryError{Name: name}
	}
	info := Info{Name: name, Kind: d.kind.String(), Definition: append([]byte(nil), d.json...), Bucket: d.bucket,
		Parameterized: d.kind == KindQuery && d.q == nil}
	for _, ch := range m.chans {
		if ch.name != name {
			continue
		}
		ch.mu.Lock()
		ci := ChannelInfo{Channel: ch.key, Subscribers: ch.nsubs, Evaluations: ch.evals, Published: ch.pubs}
		switch {
		case ch.err != nil:
			ci.Mode, ci.Error = "error", ch.err.Error()
		case ch.q != nil:
			ci.Mode = modeOf(ch.q)
		case d.kind != KindQuery:
			ci.Mode, ci.Runs = "function", ch.runs
			ci.Reads = append([]string(nil), ch.reads...)
		}
		if ch.lastErr != nil {
			ci.Error = ch.lastErr.Error()
		}
		ch.mu.Unlock()
		info.ActiveSubscriptions += ci.Subscribers
		info.Channels = append(info.Channels, ci)
	}
	sort.Slice(info.Channels, func(i, j int) bool { return info.Channels[i].Channel < info.Channels[j].Channel })
	return info, nil
}

// JSON encodes the description:
// {"name","definition","bucket","parameterized","activeSubscriptions","channels":[…]}.
func (i Info) JSON() []byte {
	b := []byte(`{"name":`)
	b = jsonv.AppendString(b, i.Name)
	b = append(b, `,"kind":`...)
	b = jsonv.AppendString(b, i.Kind)
	b = append(b, `,"definition":`...)
	b = append(b, i.Definition...)
	b = append(b, `,"bucket":`...)
	if i.Bucket == "" {
		b = append(b, "null"...)
	} else {
		b = jsonv.AppendString(b, i.Bucket)
	}
	b = append(b, `,"parameterized":`...)
	b = jsonv.Append(b, i.Parameterized)
	b = append(b, `,"activeSubscriptions":`...)
	b = jsonv.AppendNumber(b, float64(i.ActiveSubscriptions))
	b = append(b, `,"channels":[`...)
	for n, c := range i.Channels {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"channel":`...)
		b = jsonv.AppendString(b, c.Channel)
		b = append(b, `,"subscribers":`...)
		b = jsonv.AppendNumber(b, float64(c.Subscribers))
		b = append(b, `,"mode":`...)
		b = jsonv.AppendString(b, c.Mode)
		b = append(b, `,"evaluations":`...)
		b = jsonv.AppendNumber(b, float64(c.Evaluations))
		b = append(b, `,"published":`...)
		b = jsonv.AppendNumber(b, float64(c.Published))
		if c.Mode == "function" {
			b = append(b, `,"runs":`...)
			b = jsonv.AppendNumber(b, float64(c.Runs))
			b = append(b, `,"reads":[`...)
			for n, r := range c.Reads {
				if n > 0 {
					b = append(b, ',')
				}
				b = jsonv.AppendString(b, r)
			}
			b = append(b, ']')
		}
		if c.Error != "" {
			b = append(b, `,"error":`...)
			b = jsonv.AppendString(b, c.Error)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
