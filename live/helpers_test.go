package live

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/jsonv"
	"bucketd/pubsub"
)

// fakeSub is a pubsub.Subscriber that keeps every frame pushed to it.
type fakeSub struct {
	proto  int
	mu     sync.Mutex
	frames [][]byte
}

func (f *fakeSub) Proto() int { return f.proto }

func (f *fakeSub) Push(b []byte) bool {
	f.mu.Lock()
	f.frames = append(f.frames, append([]byte(nil), b...))
	f.mu.Unlock()
	return true
}

// msg is one decoded frame.
type msg struct {
	kind, channel, payload string
}

// messages decodes the frames received so far.
func (f *fakeSub) messages(t testing.TB) []msg {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]msg, 0, len(f.frames))
	for _, fr := range f.frames {
		parts, err := decodeFrame(fr)
		if err != nil || len(parts) != 3 {
			t.Fatalf("bad frame %q: %v", fr, err)
		}
		out = append(out, msg{parts[0], parts[1], parts[2]})
	}
	return out
}

// last returns the payload of the last message, or "" when none.
func (f *fakeSub) last(t testing.TB) (string, int) {
	ms := f.messages(t)
	if len(ms) == 0 {
		return "", 0
	}
	return ms[len(ms)-1].payload, len(ms)
}

// decodeFrame decodes a push/array of bulk strings (and integers).
func decodeFrame(b []byte) ([]string, error) {
	line := func() (string, error) {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return "", fmt.Errorf("no CRLF")
		}
		s := string(b[:i])
		b = b[i+2:]
		return s, nil
	}
	h, err := line()
	if err != nil || len(h) < 2 || (h[0] != '*' && h[0] != '>') {
		return nil, fmt.Errorf("bad header %q", h)
	}
	n, _ := strconv.Atoi(h[1:])
	var out []string
	for range n {
		h, err := line()
		if err != nil {
			return nil, err
		}
		switch h[0] {
		case '$':
			l, _ := strconv.Atoi(h[1:])
			if len(b) < l+2 {
				return nil, fmt.Errorf("short bulk")
			}
			out = append(out, string(b[:l]))
			b = b[l+2:]
		case ':':
			out = append(out, h[1:])
		default:
			return nil, fmt.Errorf("unexpected %q", h)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("trailing bytes %q", b)
	}
	return out, nil
}

// env is a store with a manual clock, a hub and a manager.
type env struct {
	t     testing.TB
	clock atomic.Int64
	store *engine.Store
	hub   *pubsub.Hub
	m     *Manager

	mu      sync.Mutex
	revoked []string
}

func newEnv(t testing.TB) *env {
	e := &env{t: t}
	e.clock.Store(1_700_000_000_000)
	e.store = engine.New(engine.Options{Now: e.clock.Load})
	e.hub = pubsub.NewHub()
	e.m = New(Options{Store: e.store, Hub: e.hub, Workers: 2, Revoke: func(sub pubsub.Subscriber, ch string) {
		e.mu.Lock()
		e.revoked = append(e.revoked, ch)
		e.mu.Unlock()
	}})
	e.store.AddObserver(e.m)
	t.Cleanup(e.m.Close)
	return e
}

func (e *env) bucket(name, def string) {
	e.t.Helper()
	if err := e.store.Define(name, []byte(def)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) define(name, def string) {
	e.t.Helper()
	if err := e.m.Define(name, []byte(def)); err != nil {
		e.t.Fatalf("define %s: %v", name, err)
	}
}

func obj(t testing.TB, s string) *jsonv.Object {
	t.Helper()
	o, err := jsonv.ParseObject([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return o
}

func (e *env) insert(bucket, rec string) {
	e.t.Helper()
	if _, err := e.store.Insert(nil, bucket, obj(e.t, rec), engine.InsertOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) update(bucket, key, changes string) {
	e.t.Helper()
	if _, err := e.store.Update(nil, bucket, key, obj(e.t, changes), -1); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) subscribe(channel string) *fakeSub {
	e.t.Helper()
	s := &fakeSub{proto: 2}
	if !e.m.Subscribe(s, channel) {
		e.t.Fatalf("subscribe %s: already subscribed", channel)
	}
	return s
}

// idle reports whether no channel is queued or being evaluated.
func (m *Manager) idle() bool {
	m.qMu.Lock()
	n := len(m.runq)
	m.qMu.Unlock()
	if n > 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.chans {
		if ch.sched.Load() != schedIdle {
			return false
		}
	}
	return true
}

// quiesce waits until the manager is idle.
func (e *env) quiesce() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.m.idle() {
		if time.Now().After(deadline) {
			e.t.Fatal("manager not idle after 10s")
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// waitNoWatches waits until no bucket is watched. The last unsubscribe of a
// channel is finished by its worker after Unsubscribe returns and after the
// channel has left the manager, where quiesce cannot see it: poll.
func (e *env) waitNoWatches() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(*e.m.watches.Load()) != 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d bucket watches left 10s after the last unsubscribe", len(*e.m.watches.Load()))
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// run is QUERY.RUN.
func (e *env) run(name, params string) string {
	e.t.Helper()
	var p []byte
	if params != "" {
		p = []byte(params)
	}
	out, err := e.m.Run(name, p, engine.ReadLimit{})
	if err != nil {
		e.t.Fatalf("run %s %s: %v", name, params, err)
	}
	return string(out)
}

func filterOf(s string) (*filter.Filter, error) { return filter.ParseJSON([]byte(s)) }
