package live

import (
	"errors"
	"strings"
	"sync/atomic"

	"bucketd/engine"
	"bucketd/pubsub"
)

// NotifyFlags are the classes of keyspace notifications a server sends,
// Redis's notify-keyspace-events (docs/commands.md, "Keyspace
// notifications").
type NotifyFlags uint32

// The classes, with Redis's letters.
const (
	NotifyKeyspace NotifyFlags = 1 << iota // K: __keyspace@0__:<key> <event>
	NotifyKeyevent                         // E: __keyevent@0__:<event> <key>
	NotifyGeneric                          // g: del, expire, persist
	NotifyString                           // $: set (a record written)
	NotifyList                             // l
	NotifySet                              // s
	NotifyHash                             // h
	NotifyZset                             // z
	NotifyExpired                          // x: expired
	NotifyEvicted                          // e: evicted
	NotifyStream                           // t
	NotifyKeyMiss                          // m (no event: bucketd sends none)
	NotifyModule                           // d
	NotifyNew                              // n: new (a record inserted)

	// NotifyAll is A: every class but m and n.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash | NotifyZset |
		NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// notifyLetters maps each letter to its class, in the order Redis writes
// them back (CONFIG GET).
var notifyLetters = []struct {
	letter byte
	flag   NotifyFlags
}{
	{'g', NotifyGeneric}, {'$', NotifyString}, {'l', NotifyList}, {'s', NotifySet}, {'h', NotifyHash},
	{'z', NotifyZset}, {'x', NotifyExpired}, {'e', NotifyEvicted}, {'t', NotifyStream}, {'d', NotifyModule},
	{'n', NotifyNew},
}

// errNotifyClass is Redis's text for a letter that is no class.
//
//lint:ignore ST1005 Redis's text, sent as it is
var errNotifyClass = errors.New("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

// ParseNotifyFlags parses a notify-keyspace-events value, with Redis's
// error text for a letter it does not know.
func ParseNotifyFlags(v string) (NotifyFlags, error) {
	var f NotifyFlags
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case 'A':
			f |= NotifyAll
		case 'K':
			f |= NotifyKeyspace
		case 'E':
			f |= NotifyKeyevent
		case 'm':
			f |= NotifyKeyMiss
		default:
			found := false
			for _, l := range notifyLetters {
				if l.letter == c {
					f |= l.flag
					found = true
				}
			}
			if !found {
				return 0, errNotifyClass
			}
		}
	}
	return f, nil
}

// String writes the flags back as Redis does: A for all the classes it
// covers (then n is not shown, as in Redis), else each class's letter; then
// K, E and m.
func (f NotifyFlags) String() string {
	var b strings.Builder
	if f&NotifyAll == NotifyAll {
		b.WriteByte('A')
	} else {
		for _, l := range notifyLetters {
			if f&l.flag != 0 {
				b.WriteByte(l.letter)
			}
		}
	}
	for _, l := range []struct {
		letter byte
		flag   NotifyFlags
	}{{'K', NotifyKeyspace}, {'E', NotifyKeyevent}, {'m', NotifyKeyMiss}} {
		if f&l.flag != 0 {
			b.WriteByte(l.letter)
		}
	}
	return b.String()
}

// Keyspace sends Redis's keyspace notifications for committed record
// changes (engine.Observer): on __keyspace@0__:<bucket>:<key> the event's
// name, on __keyevent@0__:<event> the key name. A record inserted is `new`
// (n) then `set` ($), one updated `set`, its expiry set `expire` (g) or
// removed `persist` (g); one deleted is `del` (g), `expired` (x) or
// `evicted` (e). A cleared bucket sends none, as Redis's FLUSHALL does. It
// runs inside the commit, as Events does; nothing is built unless the
// classes are on and somebody listens.
type Keyspace struct {
	hub   *pubsub.Hub
	flags atomic.Uint32
}

// NewKeyspace returns the keyspace notifier over h, sending nothing until
// SetFlags; register it with engine.Store.AddObserver.
func NewKeyspace(h *pubsub.Hub) *Keyspace { return &Keyspace{hub: h} }

// SetFlags sets the classes sent (CONFIG SET notify-keyspace-events).
func (k *Keyspace) SetFlags(f NotifyFlags) { k.flags.Store(uint32(f)) }

// Committed implements engine.Observer.
func (k *Keyspace) Committed(changes []engine.Change) {
	f := NotifyFlags(k.flags.Load())
	if f&(NotifyKeyspace|NotifyKeyevent) == 0 || f&(NotifyAll|NotifyNew) == 0 || k.hub.Idle() {
		return
	}
	var name []byte
	for i := range changes {
		ch := &changes[i]
		if ch.Op == engine.OpCleared || ch.Op == engine.OpNote {
			continue
		}
		name = engine.AppendKeyName(name[:0], ch.Bucket, ch.Key)
		if ch.Op == engine.OpInserted && f&NotifyNew != 0 {
			k.notify(f, "new", name)
		}
		event, class := changeEvent(ch)
		if f&class != 0 {
			k.notify(f, event, name)
		}
	}
}

// changeEvent returns the event a change sends and its class.
func changeEvent(ch *engine.Change) (string, NotifyFlags) {
	switch ch.Op {
	case engine.OpDeleted:
		switch ch.Reason {
		case engine.ReasonExpired:
			return "expired", NotifyExpired
		case engine.ReasonEvicted:
			return "evicted", NotifyEvicted
		}
		return "del", NotifyGeneric
	case engine.OpUpdated:
		switch ch.Reason {
		case engine.ReasonExpire:
			return "expire", NotifyGeneric
		case engine.ReasonPersist:
			return "persist", NotifyGeneric
		}
	}
	return "set", NotifyString
}

// notify publishes one event, on the keyspace and keyevent channels that f
// asks for and somebody listens to.
func (k *Keyspace) notify(f NotifyFlags, event string, key []byte) {
	if f&NotifyKeyspace != 0 {
		channel := "__keyspace@0__:" + string(key)
		if k.hub.Wants(channel) {
			k.hub.Publish(channel, []byte(event))
		}
	}
	if f&NotifyKeyevent != 0 {
		channel := "__keyevent@0__:" + event
		if k.hub.Wants(channel) {
			k.hub.Publish(channel, key)
		}
	}
}
