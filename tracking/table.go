package tracking

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/redcon"

	"bucketd/engine"
	"bucketd/resp"
)

// Target is a connection invalidation messages can be sent to.
type Target interface {
	// Proto is the connection's protocol version, 2 or 3.
	Proto() int
	// Push queues a frame without blocking; false when it cannot.
	Push(frame []byte) bool
	// Subscribed reports whether a RESP2 connection is in subscribed mode,
	// where a message on __redis__:invalidate can reach it.
	Subscribed() bool
}

// Options are CLIENT TRACKING's options.
type Options struct {
	BCAST, OptIn, OptOut, NoLoop bool
	// Redirect is the id of the client that receives the messages; 0: the
	// client itself.
	Redirect uint64
	// Prefixes are BCAST's key name prefixes; none means every key.
	Prefixes []string
}

// Channel is where a RESP2 redirection target receives the messages.
const Channel = "__redis__:invalidate"

// MaxKeys bounds the keys remembered for the default mode, as Redis's
// tracking-table-max-keys does by default: past it, the oldest-looking
// keys are invalidated and forgotten.
const MaxKeys = 1_000_000

// client is one tracking client.
type client struct {
	id     uint64
	self   Target
	opts   Options
	broken bool // its redirection target has gone (told once)
}

// redisError is an error whose text is Redis's, capitals and full stop
// included.
func redisError(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Table holds the tracking clients and what they read.
type Table struct {
	find    func(id uint64) Target // a client by id, or nil
	maxKeys int                    // MaxKeys; smaller in tests

	mu      sync.Mutex
	clients map[uint64]*client
	keys    map[string]map[uint64]struct{} // default mode: key name → readers
	n       atomic.Int32                   // len(clients): 0 makes Committed free
	noLoop  atomic.Int32                   // clients with NOLOOP
	sent    atomic.Int64                   // invalidation messages sent
}

// New returns an empty table; find looks a client up by id, for
// redirections.
func New(find func(id uint64) Target) *Table {
	return &Table{find: find, maxKeys: MaxKeys, clients: map[uint64]*client{}, keys: map[string]map[uint64]struct{}{}}
}

// Active reports whether any client tracks; one atomic load.
func (t *Table) Active() bool { return t.n.Load() > 0 }

// NoLoop reports whether any tracking client has NOLOOP, so that writers
// must name themselves (engine.Tx.SetOrigin).
func (t *Table) NoLoop() bool { return t.noLoop.Load() > 0 }

// Clients returns the number of tracking clients.
func (t *Table) Clients() int { return int(t.n.Load()) }

// Sent returns the number of invalidation messages sent since start.
func (t *Table) Sent() int64 { return t.sent.Load() }

// Keys returns the number of key names remembered for the default mode.
func (t *Table) Keys() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// Enable turns tracking on for client id, or changes its options, after
// Redis's checks (their texts without the ERR code).
func (t *Table) Enable(id uint64, self Target, o Options) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.clients[id]
	switch {
	case !o.BCAST && len(o.Prefixes) > 0:
		return redisError("PREFIX option requires BCAST mode to be enabled")
	case old != nil && old.opts.BCAST != o.BCAST:
		return redisError("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
	case o.BCAST && (o.OptIn || o.OptOut):
		return redisError("OPTIN and OPTOUT are not compatible with BCAST")
	case o.OptIn && o.OptOut:
		return redisError("You can't use both OPTIN and OPTOUT")
	case old != nil && (o.OptIn && old.opts.OptOut || o.OptOut && old.opts.OptIn):
		return redisError("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
	}
	if o.BCAST {
		for i, p := range o.Prefixes {
			if old != nil {
				for _, q := range old.opts.Prefixes {
					if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
						return redisError("Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap.", p, q)
					}
				}
			}
			for _, q := range o.Prefixes[i+1:] {
				if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
					return redisError("Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap.", p, q)
				}
			}
		}
	}
	c := old
	if c == nil {
		c = &client{id: id, self: self}
		t.clients[id] = c
		t.n.Add(1)
	} else if c.opts.NoLoop {
		t.noLoop.Add(-1)
	}
	prefixes := c.opts.Prefixes
	if o.BCAST {
		prefixes = append(append([]string(nil), prefixes...), o.Prefixes...)
	}
	c.opts = o
	c.opts.Prefixes = prefixes
	c.broken = false
	if o.NoLoop {
		t.noLoop.Add(1)
	}
	return nil
}

// Disable turns tracking off for client id and forgets what it read.
func (t *Table) Disable(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.clients[id]
	if c == nil {
		return
	}
	delete(t.clients, id)
	t.n.Add(-1)
	if c.opts.NoLoop {
		t.noLoop.Add(-1)
	}
	// Its registrations go lazily: a key's readers are checked against
	// t.clients when the key changes.
}

// Info returns client id's options and whether it tracks, and whether its
// redirection is broken.
func (t *Table) Info(id uint64) (o Options, on, broken bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.clients[id]
	if c == nil {
		return Options{}, false, false
	}
	return c.opts, true, c.broken
}

// Read registers keys (key names) as read by client id, in the default
// mode. Call it before the read, so that a change committed after it is
// never missed.
func (t *Table) Read(id uint64, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.clients[id]; c == nil || c.opts.BCAST {
		return
	}
	for _, k := range keys {
		readers := t.keys[k]
		if readers == nil {
			if len(t.keys) >= t.maxKeys {
				t.evictLocked()
			}
			readers = map[uint64]struct{}{}
			t.keys[k] = readers
		}
		readers[id] = struct{}{}
	}
}

// evictLocked forgets a key (the map's first in its random order) after
// invalidating it for its readers.
func (t *Table) evictLocked() {
	for k, readers := range t.keys {
		delete(t.keys, k)
		for id := range readers {
			if c := t.clients[id]; c != nil {
				t.sendLocked(c, k, false)
			}
		}
		return
	}
}

// Committed implements engine.Observer: each change invalidates its key
// name for the clients that read it and the BCAST clients whose prefixes
// it starts with; a cleared bucket flushes the clients that can hold any
// of its records.
func (t *Table) Committed(changes []engine.Change) {
	if t.n.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var name []byte
	var flush map[uint64]bool // the clients a clear flushes, once per commit
	for i := range changes {
		ch := &changes[i]
		if ch.Op == engine.OpNote {
			continue
		}
		if ch.Op == engine.OpCleared {
			if flush == nil {
				flush = map[uint64]bool{}
			}
			t.clearedLocked(ch.Bucket, ch.Origin, flush)
			continue
		}
		name = engine.AppendKeyName(name[:0], ch.Bucket, ch.Key)
		key := string(name)
		if readers := t.keys[key]; readers != nil {
			delete(t.keys, key)
			for id := range readers {
				if c := t.clients[id]; c != nil && !(c.opts.NoLoop && id == ch.Origin) {
					t.sendLocked(c, key, false)
				}
			}
		}
		for _, c := range t.clients {
			if c.opts.BCAST && !(c.opts.NoLoop && c.id == ch.Origin) && c.matches(key) {
				t.sendLocked(c, key, false)
			}
		}
	}
	t.flushLocked(flush)
}

// Dropped flushes the clients that may hold a record of a dropped bucket.
func (t *Table) Dropped(bucket string) {
	if t.n.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	flush := map[uint64]bool{}
	t.clearedLocked(bucket, 0, flush)
	t.flushLocked(flush)
}

// flushLocked sends the "flush everything" message to the clients in ids.
func (t *Table) flushLocked(ids map[uint64]bool) {
	for id := range ids {
		if c := t.clients[id]; c != nil {
			t.sendLocked(c, "", true)
		}
	}
}

// matches reports whether a BCAST client's prefixes take key.
func (c *client) matches(key string) bool {
	if len(c.opts.Prefixes) == 0 {
		return true
	}
	for _, p := range c.opts.Prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// clearedLocked adds to flush the clients that may hold a record of
// bucket (but origin, if it has NOLOOP), forgetting the bucket's keys.
func (t *Table) clearedLocked(bucket string, origin uint64, flush map[uint64]bool) {
	prefix := bucket + ":"
	for k, readers := range t.keys {
		if strings.HasPrefix(k, prefix) {
			delete(t.keys, k)
			for id := range readers {
				flush[id] = true
			}
		}
	}
	for id, c := range t.clients {
		if !c.opts.BCAST {
			continue
		}
		if len(c.opts.Prefixes) == 0 {
			flush[id] = true
		}
		for _, p := range c.opts.Prefixes {
			if strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p) {
				flush[id] = true
			}
		}
	}
	if c := t.clients[origin]; c != nil && c.opts.NoLoop {
		delete(flush, origin)
	}
}

// Flush sends every tracking client the "flush everything" message and
// forgets every read (FLUSHALL, a bucket dropped).
func (t *Table) Flush() {
	if t.n.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.keys)
	for _, c := range t.clients {
		t.sendLocked(c, "", true)
	}
}

// sendLocked sends client c the invalidation of key (flush: of
// everything), to itself or to its redirection.
func (t *Table) sendLocked(c *client, key string, flush bool) {
	target := c.self
	redirected := c.opts.Redirect != 0
	if redirected {
		target = t.find(c.opts.Redirect)
		if target == nil {
			if !c.broken {
				c.broken = true
				if c.self.Proto() >= 3 {
					b := resp.AppendPush(nil, 3, 2)
					b = resp.AppendBulkString(b, "tracking-redir-broken")
					b = redcon.AppendInt(b, int64(c.opts.Redirect))
					c.self.Push(b)
				}
			}
			return
		}
	}
	var b []byte
	switch {
	case target.Proto() >= 3:
		b = resp.AppendPush(b, 3, 2)
		b = resp.AppendBulkString(b, "invalidate")
	case redirected && target.Subscribed():
		b = resp.AppendPush(b, 2, 3)
		b = resp.AppendBulkString(b, "message")
		b = resp.AppendBulkString(b, Channel)
	default:
		return // RESP2 without a subscribed redirection: nowhere to send it
	}
	switch {
	case !flush:
		b = redcon.AppendArray(b, 1)
		b = resp.AppendBulkString(b, key)
	case target.Proto() >= 3:
		b = append(b, "_\r\n"...)
	default:
		b = append(b, "$-1\r\n"...)
	}
	if target.Push(b) {
		t.sent.Add(1)
	}
}
