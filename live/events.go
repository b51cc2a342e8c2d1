package live

import (
	"sync"
	"sync/atomic"

	"bucketd/engine"
	"bucketd/jsonv"
	"bucketd/pubsub"
)

// Events turns committed changes into pub/sub messages on
// bucket.<name>.<inserted|updated|deleted|cleared>. It runs inside the
// commit, with the bucket locked, so one bucket's events leave in commit
// order; Publish never blocks, and a payload is only built when somebody
// listens on a matching channel.
type Events struct {
	hub       *pubsub.Hub
	published atomic.Int64
	names     sync.Map // bucket name → *[5]string, the channel of each Op
}

// NewEvents returns the publisher of h's change events; register it with
// engine.Store.AddObserver.
func NewEvents(h *pubsub.Hub) *Events { return &Events{hub: h} }

// Published returns how many changes have been committed (and offered as
// events) since the start.
func (p *Events) Published() int64 { return p.published.Load() }

// channel returns bucket.<name>.<op>, built once per bucket.
func (p *Events) channel(bucket string, op engine.Op) string {
	v, ok := p.names.Load(bucket)
	if !ok {
		var names [5]string
		for o := engine.OpInserted; o <= engine.OpCleared; o++ {
			names[o] = "bucket." + bucket + "." + o.String()
		}
		v, _ = p.names.LoadOrStore(bucket, &names)
	}
	return v.(*[5]string)[op]
}

// Message is a PUBLISH (or SPUBLISH, on the shard hub) made inside a
// transaction, placed among its changes with engine.Tx.Note: Events
// delivers it in its place at commit, between the events of the changes
// made before and after it, and a rollback drops it.
type Message struct {
	Hub     *pubsub.Hub
	Channel string
	Payload []byte
}

// Committed implements engine.Observer: the events of the changes and the
// transaction's messages (Message notes), in their order.
func (p *Events) Committed(changes []engine.Change) {
	n := 0
	for i := range changes {
		ch := &changes[i]
		if ch.Op == engine.OpNote {
			if m, ok := ch.Note.(Message); ok {
				m.Hub.Publish(m.Channel, m.Payload)
			}
			continue
		}
		n++
		if p.hub.Idle() {
			continue
		}
		channel := p.channel(ch.Bucket, ch.Op)
		if !p.hub.Wants(channel) {
			continue
		}
		p.hub.Publish(channel, EventPayload(ch, nil))
	}
	p.published.Add(int64(n))
}

// EventPayload appends the JSON payload of a change's event to dst.
func EventPayload(ch *engine.Change, dst []byte) []byte {
	b := append(dst, `{"type":"`...)
	b = append(b, ch.Op.String()...)
	b = append(b, `","bucket":`...)
	b = jsonv.AppendString(b, ch.Bucket)
	switch ch.Op {
	case engine.OpInserted:
		b = append(b, `,"key":`...)
		b = jsonv.Append(b, ch.Key)
		b = append(b, `,"record":`...)
		b = ch.New.AppendJSON(b)
	case engine.OpUpdated:
		b = append(b, `,"key":`...)
		b = jsonv.Append(b, ch.Key)
		b = append(b, `,"oldRecord":`...)
		b = ch.Old.AppendJSON(b)
		b = append(b, `,"newRecord":`...)
		b = ch.New.AppendJSON(b)
	case engine.OpDeleted:
		b = append(b, `,"key":`...)
		b = jsonv.Append(b, ch.Key)
		b = append(b, `,"record":`...)
		b = ch.Old.AppendJSON(b)
		b = append(b, `,"reason":`...)
		b = jsonv.AppendString(b, ch.Reason)
	case engine.OpCleared:
		b = append(b, `,"count":`...)
		b = jsonv.AppendNumber(b, float64(ch.Count))
	}
	b = append(b, `,"seq":`...)
	b = jsonv.AppendNumber(b, float64(ch.Seq))
	return append(b, '}')
}
