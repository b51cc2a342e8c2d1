package cluster

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/klauspost/compress/s2"

	"bucketd/engine"
	"bucketd/snapshot"
)

// The journal side of the node (doc.go): the store calls Log, LogDefine
// and LogDrop inside its commits, with the locks held; they only queue the
// entry. The pump proposes the queue to Raft; settle watches the proposals
// and fails the marks of those Raft refused.

// maxInflight bounds the proposals in flight (pump). One: while a log
// entry is on its way through Raft (the leader's append, a follower's,
// the commit), the commits of every client queue, and go as the next
// entry. bench/cluster, three nodes on 2 cores, two runs of each, taken
// in turns, each the median of 3 rounds: pipeline 1, ratio to a single
// node 0.54-0.55 (24 commits an entry) against 0.50-0.53 with two in
// flight (14); pipeline 16 0.48-0.54 against 0.48-0.49. TestClusterGroupCommit holds the batching: 40
// clients at once give 17 commits an entry here, 64 in flight gave 6.
const maxInflight = 1

// header is the start of a log entry's data: a version byte, the epoch
// and the mark of its last commit, then the proposing node's id.
//
//	[0] 'B' or 'S'  [1:9] epoch  [9:17] last mark  [17] len(id)  [18:] id, then the entries
//
// 'B': the entries follow as they are; 'S': compressed with S2
// (github.com/klauspost/compress/s2), which the pump does when they are
// compressAbove bytes or more. Compression costs the leader little and
// saves every node BoltDB pages and the network bytes: three nodes on 2
// cores, redis-benchmark B.UPSERT, 4 pairs, pipeline 16: +8% to +24%
// writes/s (35k-44k against 33k-38k), pipeline 1: +8% to +17% in 3 of 4.
// S2 has no checksum of its own: damage shows as an error of S2 or of the
// entries' own CRC-32C (snapshot.ApplyEntries). TestHeaderRoundTrip and
// TestCompressedEntries check both forms.
const (
	headerVersion = 'B'
	headerS2      = 'S'
	compressAbove = 512
)

// appendHeader appends the header of an entry whose last commit has mark
// last. The node id fits its length byte: Open refuses longer ids.
func (n *Node) appendHeader(dst []byte, last int64) []byte {
	dst = append(dst, headerVersion)
	dst = binary.LittleEndian.AppendUint64(dst, n.epoch.Load())
	dst = binary.LittleEndian.AppendUint64(dst, uint64(last))
	dst = append(dst, byte(len(n.opts.NodeID)))
	return append(dst, n.opts.NodeID...)
}

// parseHeader splits a log entry's data.
func parseHeader(b []byte) (id string, epoch uint64, last int64, entries []byte, err error) {
	if len(b) < 18 || (b[0] != headerVersion && b[0] != headerS2) || len(b) < 18+int(b[17]) {
		return "", 0, 0, nil, errors.New("not a bucketd replication entry")
	}
	epoch = binary.LittleEndian.Uint64(b[1:9])
	last = int64(binary.LittleEndian.Uint64(b[9:17]))
	l := int(b[17])
	return string(b[18 : 18+l]), epoch, last, b[18+l:], nil
}

// queue adds an entry built by add to the queue and returns nil, or
// ErrNotLeader when writes may not run here. The check is made under n.mu,
// where a rebuild clears the queue (rebuild): an entry appended after the
// clear would outlive the state it was committed to, which the rebuild
// empties, and be proposed under the new epoch, then taken for one this
// node had applied already (fsm.Apply), and lost here.
func (n *Node) queue(add func(dst []byte) []byte) error {
	n.mu.Lock()
	if n.rebuilding || !n.Writable() {
		n.mu.Unlock()
		return ErrNotLeader
	}
	before := len(n.buf)
	n.buf = add(n.buf)
	grew := len(n.buf) > before
	if grew {
		n.queued++
	}
	n.mu.Unlock()
	if grew {
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Log implements engine.Journal.
func (n *Node) Log(changes []engine.Change) error {
	return n.queue(func(dst []byte) []byte { return snapshot.AppendCommit(dst, changes, true) })
}

// LogDefine implements engine.Journal.
func (n *Node) LogDefine(name string, definition []byte, altered bool) error {
	kind := snapshot.DefBucket
	if altered {
		kind = snapshot.DefAlter
	}
	return n.queue(func(dst []byte) []byte { return snapshot.AppendDefinition(dst, kind, []byte(name), definition) })
}

// LogDrop implements engine.Journal.
func (n *Node) LogDrop(name string) error {
	return n.queue(func(dst []byte) []byte { return snapshot.AppendDefinition(dst, snapshot.DefDrop, []byte(name)) })
}

// LogQuery queues a query's definition (nil: its drop).
func (n *Node) LogQuery(name string, definition []byte) error {
	if definition == nil {
		return n.queue(func(dst []byte) []byte { return snapshot.AppendDefinition(dst, snapshot.DefQueryDrop, []byte(name)) })
	}
	return n.queue(func(dst []byte) []byte {
		return snapshot.AppendDefinition(dst, snapshot.DefQuery, []byte(name), definition)
	})
}

// LogFunctions queues every function library, after a change.
func (n *Node) LogFunctions(payload []byte) error {
	return n.queue(func(dst []byte) []byte { return snapshot.AppendDefinition(dst, snapshot.DefFunctions, payload) })
}

// proposeMember records a node's client address through the log.
func (n *Node) proposeMember(id, clientAddr string) error {
	data := n.appendHeader(nil, 0)
	data = snapshot.AppendDefinition(data, snapshot.DefNode, []byte(id), []byte(clientAddr))
	return n.raft().Apply(data, 10*time.Second).Error()
}

// entryPayload returns a log entry's data: the header, then the entries,
// compressed when they are compressAbove bytes or more (see header).
func (n *Node) entryPayload(entries []byte, last int64) []byte {
	head := n.appendHeader(nil, last)
	if len(entries) < compressAbove {
		return append(append(make([]byte, 0, len(head)+len(entries)), head...), entries...)
	}
	head[0] = headerS2
	out := make([]byte, len(head), len(head)+s2.MaxEncodedLen(len(entries)))
	copy(out, head)
	enc := s2.Encode(out[len(head):cap(out)], entries)
	return out[:len(head)+len(enc)]
}

// entriesOf returns the entries of a log entry's data that parseHeader
// split: as they are, or uncompressed.
func entriesOf(data, entries []byte) ([]byte, error) {
	if data[0] != headerS2 {
		return entries, nil
	}
	return s2.Decode(nil, entries)
}

// pump proposes the queued entries to Raft, in order, each time as one
// log entry: the commits queued while the one before was on its way go
// together (group commit). At most maxInflight proposals are in flight:
// the pump takes a slot first and the queue after, so that an entry holds
// every commit queued until it could go, which costs Raft (encoding, the
// log's fsyncs, the network, a follower's apply) one entry instead of
// many. (bench/cluster: see README, "Replication".)
func (n *Node) pump() {
	defer n.wg.Done()
	defer close(n.inflight)
	var spare []byte
	for {
		select {
		case <-n.stop:
			return
		case <-n.kick:
		}
		select {
		case n.slots <- struct{}{}: // released by settle
		case <-n.stop:
			return
		}
		n.mu.Lock()
		if len(n.buf) == 0 {
			n.mu.Unlock()
			<-n.slots
			continue // an earlier round took it all
		}
		// The queue takes the spare array; this round's array becomes the
		// spare once copied into the payload below.
		data, last := n.buf, n.queued
		n.buf = spare[:0]
		n.mu.Unlock()
		n.proposals.Add(1)
		n.proposed.Store(last)
		payload := n.entryPayload(data, last)
		spare = data
		select {
		case n.inflight <- proposal{f: n.raft().Apply(payload, 0), last: last, epoch: n.epoch.Load()}:
		case <-n.stop:
			return
		}
	}
}

// settle waits for each proposal in order; one that Raft refused (the
// leadership was lost) fails its marks and every mark before it not yet
// applied, and makes the node rebuild its state.
func (n *Node) settle() {
	defer n.wg.Done()
	for p := range n.inflight {
		err := p.f.Error()
		<-n.slots
		if err == nil {
			continue
		}
		n.mu.Lock()
		if p.last > n.failedUpTo {
			n.failedUpTo, n.failErr = p.last, err
		}
		n.cond.Broadcast()
		n.mu.Unlock()
		n.log.Warn().Err(err).Int64("mark", p.last).Msg("a proposal failed: its writes are not acknowledged")
		if p.epoch == n.epoch.Load() {
			n.scheduleRebuild() // else a rebuild since has thrown them away
		}
	}
}

// markDone records that the entries up to mark are committed and applied.
func (n *Node) markDone(mark int64) {
	n.mu.Lock()
	if mark > n.done {
		n.done = mark
		n.cond.Broadcast()
	}
	n.mu.Unlock()
}

// Proposals returns how many log entries the node has proposed, and the
// mark of the last commit in them: their ratio is the commits per entry
// (group commit).
func (n *Node) Proposals() (entries, commits int64) { return n.proposals.Load(), n.proposed.Load() }

// Mark returns the mark of the last entry queued: a command's reply waits
// for the mark after it (WaitDurable).
func (n *Node) Mark() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.queued
}

// WaitDurable waits until the entries up to mark are committed by a
// majority and applied, or fails when they may not be (the leadership was
// lost: their outcome is unknown).
func (n *Node) WaitDurable(mark int64) error { return n.waitDurableFor(mark, 0) }

// waitDurableFor is WaitDurable for at most max (0: no bound).
func (n *Node) waitDurableFor(mark int64, max time.Duration) error {
	var deadline time.Time
	if max > 0 {
		deadline = time.Now().Add(max)
		t := time.AfterFunc(max, func() {
			n.mu.Lock()
			n.cond.Broadcast()
			n.mu.Unlock()
		})
		defer t.Stop()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for n.done < mark {
		if n.failedUpTo >= mark {
			return n.failErr
		}
		if max > 0 && !time.Now().Before(deadline) {
			return errors.New("timed out waiting for the writes to be committed")
		}
		n.cond.Wait()
	}
	return nil
}

// WaitWritten is WaitDurable: a replicated write is acknowledged once
// committed, whatever the fsync policy.
func (n *Node) WaitWritten(mark int64) error { return n.WaitDurable(mark) }

// Policy is "always": replies wait for the commit.
func (n *Node) Policy() string { return snapshot.FsyncAlways }

// Failure returns nil: a node that cannot write refuses writes with
// ErrNotLeader, in the journal.
func (n *Node) Failure() error { return nil }
