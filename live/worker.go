package live

import (
	"bytes"
	"errors"
	"time"

	"bucketd/engine"
	"bucketd/engine/query"
	"bucketd/pubsub"
)

// errRetired reports a full read that found its bucket watch retired: the
// channel was ended by a bucket drop meanwhile.
var errRetired = errors.New("bucket watch retired")

// process evaluates ch once: one round, however many changes it covers.
// When pokes arrived during the round, the channel goes to the back of the
// run queue for one more (sched stays queued), so that a channel changed
// faster than it can be evaluated takes its turn with the others instead
// of keeping its worker. A channel
// that published less than the interval ago waits for the rest of it on a
// timer (its sched state stays queued, so pokes keep coalescing): under a
// sustained stream of changes a channel publishes at most once per
// interval, while the first change after a quiet period is published at
// once.
func (m *Manager) process(ch *channel) {
	ch.mu.Lock()
	dead, def, q, qerr := ch.dead, ch.def, ch.q, ch.err
	ch.mu.Unlock()
	if dead || def == nil {
		m.detach(ch)
		if !m.finish(ch) {
			m.enqueue(ch)
		}
		return
	}
	rest := restFor(ch.cost, time.Since(ch.ranAt))
	wait := rest
	if m.interval > 0 {
		wait = max(m.interval-time.Since(ch.lastSent), rest)
	}
	if wait > 0 {
		time.AfterFunc(wait, func() { m.enqueue(ch) })
		return
	}
	// This round covers every change so far.
	ch.sched.CompareAndSwap(schedAgain, schedQueued)
	var res []byte
	err := qerr
	switch {
	case def.kind != KindQuery:
		res, err = m.evaluateFunction(ch, def)
	case err == nil:
		res, err = m.evaluate(ch, q)
	}
	if !m.publish(ch, res, err) {
		m.enqueue(ch)
	}
}

// evaluate returns ch's current result: from the maintained state when it
// can, else by a full read of the bucket.
func (m *Manager) evaluate(ch *channel, q *query.Query) ([]byte, error) {
	m.evaluations.Add(1)
	if rg := ch.reg; rg != nil {
		bw := rg.bw
		bw.mu.Lock()
		var snap renderer
		if !rg.full && !rg.rebuilding && rg.st != nil && !bw.dead {
			snap = rg.st.snapshot()
		}
		if snap != nil {
			bw.mu.Unlock()
			return snap.render(nil), nil
		}
		bw.mu.Unlock()
	}
	return m.fullRead(ch, q)
}

// fullRead evaluates q by reading its bucket, and (re)builds ch's state
// from the same reading: the registration and the taking of the reading (a
// frozen copy) happen under the bucket's read lock, so the observer folds
// in exactly the changes committed after it. The work outside that lock
// (walking the copy, evaluating, building the state) is covered by a log
// of the changes that arrive meanwhile, replayed onto the new state before
// it is installed.
func (m *Manager) fullRead(ch *channel, q *query.Query) ([]byte, error) {
	fn, err := aggFuncOf(q)
	if err != nil {
		return nil, err
	}
	m.fullReads.Add(1)
	needPos := kindOf(q).needsPos()
	var (
		rg      = ch.reg
		matched []*engine.Record
		pos     []position
		retired bool
	)
	v, err := m.store.ReadView(q.Bucket, q.Filter, func(v *engine.View) {
		var bw *bucketWatch
		if rg == nil {
			bw = m.watchFor(q.Bucket)
			rg = &reg{ch: ch, bw: bw, q: q, needPos: needPos}
			bw.regs = append(bw.regs, rg)
			if needPos {
				bw.rankUsers++
			}
		} else {
			bw = rg.bw
			bw.mu.Lock()
			if bw.dead {
				retired = true
				bw.mu.Unlock()
				return
			}
		}
		defer bw.mu.Unlock()
		bw.ordered = v.Ordered
		if needPos && !v.Ordered && bw.ranks == nil {
			// The first registration that needs ranks in this bucket
			// builds them under the bucket's lock: every insert after
			// the reading must find them.
			bw.ranks = make(map[any]uint64)
			v.EachRecord(func(r *engine.Record) bool {
				bw.ranks[r.Key()] = bw.nextRank
				bw.nextRank++
				return true
			})
		}
		rg.rebuilding, rg.full = true, false
		rg.log = rg.log[:0]
	})
	ch.reg = rg
	if err != nil {
		if isNoBucket(err) && ch.reg == nil {
			m.wait(ch, q.Bucket)
		}
		return nil, err
	}
	if retired {
		return nil, errRetired
	}
	m.stopWaiting(ch)
	matched = v.Records
	if needPos {
		// Outside the bucket's lock, ranks may have moved on: a record of
		// the reading deleted (and perhaps inserted again) since has lost
		// its rank here, but its deletion is in rg.log, replayed below.
		pos = make([]position, len(matched))
		rg.bw.mu.Lock()
		for i, r := range matched {
			pos[i] = rg.bw.pos(r.Key())
		}
		rg.bw.mu.Unlock()
	}
	ordered := v.Ordered

	recs := make([]query.Record, len(matched))
	for i, r := range matched {
		recs[i] = r
	}
	res := q.Eval(recs, nil)
	st := newState(q, fn, ordered, matched, pos)

	bw := rg.bw
	bw.mu.Lock()
	if rg.rebuilding {
		for i := range rg.log {
			e := &rg.log[i]
			if _, full := st.apply(&e.c, e.in, e.pos); full {
				rg.full = true
				break
			}
		}
		rg.st, rg.rebuilding = st, false
		clear(rg.log)
		rg.log = rg.log[:0]
	}
	bw.mu.Unlock()
	return res, nil
}

// publish delivers one evaluation's outcome and ends the round under the
// channel's lock: a result that differs from the last one goes to every
// subscriber through the hub (new subscribers included); an equal one only
// to the subscribers still waiting for their first message; an error to
// nobody (QUERY.RUN reports it; subscribers stay). It returns done when the
// channel needs no further round.
func (m *Manager) publish(ch *channel, res []byte, err error) (done bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if !ch.dead {
		ch.evals++
		ch.lastErr = err
		switch {
		case err != nil:
		case !ch.hasLast || !bytes.Equal(res, ch.last):
			ch.last, ch.hasLast = res, true
			ch.pubs++
			// Before finishLocked: once the channel is idle, a poke may
			// start another round on another worker, which reads it.
			ch.lastSent = time.Now()
			m.published.Add(1)
			for alias := range ch.subs {
				m.hub.Publish(alias, res)
			}
			ch.pending = nil
		default:
			for _, p := range ch.pending {
				p.sub.Push(pubsub.AppendMessage(nil, p.sub.Proto(), p.alias, res))
			}
			ch.pending = nil
		}
	}
	return m.finishLocked(ch)
}

// finish ends a round of ch; see finishLocked.
func (m *Manager) finish(ch *channel) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return m.finishLocked(ch)
}

// finishLocked ends a round: it returns true and marks ch idle when no
// poke arrived during the round, else keeps it scheduled for one more.
// ch.mu must be held, so that a subscriber that sees the channel idle also
// sees the result of its last round.
func (m *Manager) finishLocked(ch *channel) bool {
	if ch.sched.CompareAndSwap(schedQueued, schedIdle) {
		return true
	}
	ch.sched.Store(schedQueued)
	return false
}
