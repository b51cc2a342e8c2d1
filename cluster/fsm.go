package cluster

import (
	"bufio"

	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"bucketd/engine"
	"bucketd/snapshot"
)

// fsm is the node's raft.FSM: it applies committed entries to the target
// (doc.go). Raft calls Apply, Snapshot and Restore from one goroutine.
type fsm struct {
	n   *Node
	dec *engine.RecordDecoder
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	n := f.n
	defer n.applied.Store(l.Index)
	id, epoch, last, entries, err := parseHeader(l.Data)
	if err != nil {
		n.log.Error().Err(err).Uint64("index", l.Index).Msg("cannot apply a log entry")
		return err
	}
	if id == n.opts.NodeID && epoch == n.epoch.Load() && last > 0 {
		n.applied.Store(l.Index)
		n.markDone(last) // applied already, when it was queued
		return nil
	}
	if entries, err = entriesOf(l.Data, entries); err != nil {
		n.log.Error().Err(err).Uint64("index", l.Index).Msg("cannot uncompress a committed log entry: this node's data may differ from the leader's")
		return err
	}
	if err := snapshot.ApplyEntries(f.dec, entries, applyTarget{n}); err != nil {
		// The leader committed it, so it applied there: a node that cannot
		// apply it has diverged. Say so loudly; the next entries go on.
		n.log.Error().Err(err).Uint64("index", l.Index).Msg("cannot apply a committed log entry: this node's data may differ from the leader's")
		return err
	}
	return nil
}

// applyTarget is the target with the members' addresses, which the node
// keeps itself.
type applyTarget struct{ n *Node }

func (t applyTarget) Changes(c []engine.Replicated) error { return t.n.opts.Target.Changes(c) }
func (t applyTarget) Define(name string, def []byte, altered bool) error {
	return t.n.opts.Target.Define(name, def, altered)
}
func (t applyTarget) Drop(name string) error              { return t.n.opts.Target.Drop(name) }
func (t applyTarget) Query(name string, def []byte) error { return t.n.opts.Target.Query(name, def) }
func (t applyTarget) Functions(payload []byte) error      { return t.n.opts.Target.Functions(payload) }
func (t applyTarget) Member(id, clientAddr string) error  { t.n.members.set(id, clientAddr); return nil }

// Snapshot implements raft.FSM: the image is taken now, under the store's
// locks, and written by Persist once the entries queued before it are
// committed (doc.go).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	n := f.n
	var upTo int64
	write, release := n.opts.Target.Capture(func() {
		n.mu.Lock()
		upTo = n.queued
		n.mu.Unlock()
	})
	return &fsmSnapshot{n: n, write: write, release: release, upTo: upTo, members: n.members.all()}, nil
}

// Restore implements raft.FSM: the state is replaced by the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("raft snapshot: %w", err)
	}
	var members map[string]string
	if err := json.Unmarshal(line, &members); err != nil {
		return fmt.Errorf("raft snapshot: members: %w", err)
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("raft snapshot: %w", err)
	}
	f.n.opts.Target.Reset()
	if err := f.n.opts.Target.Restore(data); err != nil {
		return err
	}
	f.n.members.replace(members)
	f.dec = f.n.opts.Target.Decoder() // the buckets are new
	// The snapshot restored is the newest in the store (one a leader
	// sends is stored before it is restored).
	if metas, err := f.n.snaps.List(); err == nil && len(metas) > 0 {
		f.n.applied.Store(metas[0].Index)
	}
	return nil
}

// persistWait bounds how long a snapshot waits for the writes it holds to
// be committed.
const persistWait = 30 * time.Second

// fsmSnapshot is a snapshot being written.
type fsmSnapshot struct {
	n       *Node
	write   func(w io.Writer) error
	release func()
	upTo    int64
	members map[string]string
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.n.waitDurableFor(s.upTo, persistWait); err != nil {
		sink.Cancel()
		return fmt.Errorf("raft snapshot: it holds writes that were not committed: %w", err)
	}
	line, _ := json.Marshal(s.members)
	w := bufio.NewWriterSize(sink, 1<<20)
	w.Write(append(line, '\n'))
	if err := s.write(w); err != nil {
		sink.Cancel()
		return err
	}
	if err := w.Flush(); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() { s.release() }

// membersMap holds the members' client addresses.
type membersMap struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *membersMap) get(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[id]
}

func (m *membersMap) set(id, addr string) {
	m.mu.Lock()
	m.m[id] = addr
	m.mu.Unlock()
}

func (m *membersMap) all() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.m))
	for k, v := range m.m {
		out[k] = v
	}
	return out
}

func (m *membersMap) replace(all map[string]string) {
	m.mu.Lock()
	m.m = all
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.mu.Unlock()
}

// errRebuilding fails the writes a rebuild interrupts.
var errRebuilding = &DownError{Msg: "the node lost its leadership with writes in flight and is rebuilding its state"}

// scheduleRebuild starts a rebuild unless one is under way.
func (n *Node) scheduleRebuild() {
	n.mu.Lock()
	if n.rebuilding {
		n.mu.Unlock()
		return
	}
	n.rebuilding = true
	n.mu.Unlock()
	go n.rebuild()
}

// rebuild throws the node's state away and builds it again from its last
// snapshot and the log, under a new epoch (doc.go). Raft is shut down and
// started again over the same log, stable store, snapshots and transport.
func (n *Node) rebuild() {
	n.rebuildMu.Lock()
	defer n.rebuildMu.Unlock()
	defer func() {
		n.mu.Lock()
		n.rebuilding = false
		n.mu.Unlock()
	}()
	if n.closed.Load() {
		return
	}
	n.log.Warn().Msg("rebuilding this node's state from the last snapshot and the log: it lost its leadership with writes not known to be committed")
	n.readyTerm.Store(0)
	// Every write queued so far fails first: a snapshot being written
	// waits for them (fsmSnapshot.Persist), and Raft's shutdown for it.
	n.mu.Lock()
	n.failedUpTo, n.failErr = n.queued, errRebuilding
	n.buf = n.buf[:0]
	n.cond.Broadcast()
	n.mu.Unlock()
	old := n.raft()
	close(n.watchDone)
	// A rebuild that does not end in time is logged with every
	// goroutine's stack: something holds Raft's goroutines or the store.
	slow := time.AfterFunc(20*time.Second, func() {
		buf := make([]byte, 4<<20)
		n.log.Error().Str("goroutines", string(buf[:runtime.Stack(buf, true)])).Msg("the rebuild has taken 20 s")
	})
	defer slow.Stop()
	if err := old.Shutdown().Error(); err != nil {
		n.log.Error().Err(err).Msg("raft shutdown for the rebuild failed")
	}
	n.log.Info().Msg("rebuild: raft stopped; emptying the state")
	n.newEpoch()
	n.opts.Target.Reset()
	n.fsm.dec = n.opts.Target.Decoder()
	// Raft's shutdown closed the transport: listen again on its address.
	trans, err := newTransport(n.RaftAddr(), n.hl)
	if err != nil {
		n.log.Error().Err(err).Msg("cannot listen for raft again after the rebuild: the node stops replicating")
		return
	}
	n.trans = trans
	r, err := raft.NewRaft(n.rconf, n.fsm, n.logs, n.store, n.snaps, n.trans)
	if err != nil {
		n.log.Error().Err(err).Msg("cannot start raft again after the rebuild: the node stops replicating")
		return
	}
	n.rp.Store(r)
	n.watchDone = make(chan struct{})
	n.wg.Add(1)
	go n.watchLeadership(r, n.watchDone)
	n.log.Info().Msg("rebuilt; catching up from the leader")
}
