package pubsub

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/tidwall/redcon"

	"bucketd/pubsub/glob"
	"bucketd/resp"
)

// Subscriber receives message frames. Push is called under the hub's read
// lock, by any publisher: it must not block, nor do more work than copying
// the frame (a subscriber that falls behind is disconnected by its own
// goroutine, not by the publisher). *resp.Conn is one.
type Subscriber interface {
	// Proto returns the protocol version (2 or 3) frames must be in.
	Proto() int
	// Push queues one frame, which it must copy (the frame is shared by
	// the subscribers); false means the subscriber is gone or was just cut.
	Push(frame []byte) bool
}

type patternSubs struct {
	pat  *glob.Pattern
	subs map[Subscriber]struct{}
}

// Hub holds every subscription. Its methods are safe for concurrent use.
type Hub struct {
	// mu guards channels and patterns.
	mu       sync.RWMutex
	channels map[string]map[Subscriber]struct{}
	patterns map[string]*patternSubs

	// shard makes it the hub of shard channels (SSUBSCRIBE, SPUBLISH): its
	// messages are `smessage` frames.
	shard bool

	nChannels atomic.Int64 // len(channels)
	nPatterns atomic.Int64 // len(patterns)
	published atomic.Int64 // messages delivered
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{channels: make(map[string]map[Subscriber]struct{}), patterns: make(map[string]*patternSubs)}
}

// NewShardHub returns an empty hub of shard channels, whose messages are
// `smessage` frames (SSUBSCRIBE, SPUBLISH); it is used without patterns.
func NewShardHub() *Hub {
	h := NewHub()
	h.shard = true
	return h
}

// Subscribe adds s to channel and reports whether it was not there yet.
func (h *Hub) Subscribe(s Subscriber, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.channels[channel]
	if set == nil {
		set = make(map[Subscriber]struct{})
		h.channels[channel] = set
		h.nChannels.Store(int64(len(h.channels)))
	}
	if _, ok := set[s]; ok {
		return false
	}
	set[s] = struct{}{}
	return true
}

// Unsubscribe removes s from channel and reports whether it was there. It
// returns the number of subscribers left on the channel.
func (h *Hub) Unsubscribe(s Subscriber, channel string) (removed bool, left int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.channels[channel]
	if _, ok := set[s]; !ok {
		return false, len(set)
	}
	delete(set, s)
	if len(set) == 0 {
		delete(h.channels, channel)
		h.nChannels.Store(int64(len(h.channels)))
	}
	return true, len(set)
}

// PSubscribe adds s to pattern and reports whether it was not there yet.
func (h *Hub) PSubscribe(s Subscriber, pattern string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.patterns[pattern]
	if ps == nil {
		ps = &patternSubs{pat: glob.Compile(pattern), subs: make(map[Subscriber]struct{})}
		h.patterns[pattern] = ps
		h.nPatterns.Store(int64(len(h.patterns)))
	}
	if _, ok := ps.subs[s]; ok {
		return false
	}
	ps.subs[s] = struct{}{}
	return true
}

// PUnsubscribe removes s from pattern and reports whether it was there.
func (h *Hub) PUnsubscribe(s Subscriber, pattern string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.patterns[pattern]
	if ps == nil {
		return false
	}
	if _, ok := ps.subs[s]; !ok {
		return false
	}
	delete(ps.subs, s)
	if len(ps.subs) == 0 {
		delete(h.patterns, pattern)
		h.nPatterns.Store(int64(len(h.patterns)))
	}
	return true
}

// Idle reports whether nobody subscribes to anything: then no message can
// reach anybody. Two atomic loads.
func (h *Hub) Idle() bool { return h.nChannels.Load() == 0 && h.nPatterns.Load() == 0 }

// Wants reports whether a message published on channel would reach
// anybody, so that a publisher can skip building it.
func (h *Hub) Wants(channel string) bool {
	if h.nChannels.Load() == 0 && h.nPatterns.Load() == 0 {
		return false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.channels[channel]) > 0 {
		return true
	}
	for _, ps := range h.patterns {
		if ps.pat.Match(channel) {
			return true
		}
	}
	return false
}

// frames encodes a message lazily, once per protocol version.
type frames struct {
	shard            bool
	channel, pattern string
	payload          []byte
	enc              [2][]byte
}

func (f *frames) get(proto int) []byte {
	i := 0
	if proto == 3 {
		i = 1
	}
	if f.enc[i] == nil {
		switch {
		case f.shard:
			b := resp.AppendPush(nil, proto, 3)
			b = resp.AppendBulkString(b, "smessage")
			b = resp.AppendBulkString(b, f.channel)
			f.enc[i] = redcon.AppendBulk(b, f.payload)
		case f.pattern == "":
			f.enc[i] = AppendMessage(nil, proto, f.channel, f.payload)
		default:
			b := resp.AppendPush(nil, proto, 4)
			b = resp.AppendBulkString(b, "pmessage")
			b = resp.AppendBulkString(b, f.pattern)
			b = resp.AppendBulkString(b, f.channel)
			f.enc[i] = redcon.AppendBulk(b, f.payload)
		}
	}
	return f.enc[i]
}

// AppendMessage appends a `message` frame carrying payload on channel in
// protocol proto (a RESP2 array or a RESP3 push): the frame Publish sends
// to a channel's subscribers. It is the one encoder of that frame; the live
// queries use it to give one new subscriber the current result.
func AppendMessage(dst []byte, proto int, channel string, payload []byte) []byte {
	dst = resp.AppendPush(dst, proto, 3)
	dst = resp.AppendBulkString(dst, "message")
	dst = resp.AppendBulkString(dst, channel)
	return redcon.AppendBulk(dst, payload)
}

// Publish delivers payload to the channel's subscribers and to those of
// every matching pattern, and returns the number of deliveries (Redis's
// PUBLISH reply). It never blocks on a subscriber.
func (h *Hub) Publish(channel string, payload []byte) int {
	if h.nChannels.Load() == 0 && h.nPatterns.Load() == 0 {
		return 0
	}
	n := 0
	h.mu.RLock()
	if set := h.channels[channel]; len(set) > 0 {
		f := frames{shard: h.shard, channel: channel, payload: payload}
		for s := range set {
			if s.Push(f.get(s.Proto())) {
				n++
			}
		}
	}
	for pattern, ps := range h.patterns {
		if !ps.pat.Match(channel) {
			continue
		}
		f := frames{channel: channel, pattern: pattern, payload: payload}
		for s := range ps.subs {
			if s.Push(f.get(s.Proto())) {
				n++
			}
		}
	}
	h.mu.RUnlock()
	h.published.Add(int64(n))
	return n
}

// Channels returns the channels with at least one subscriber that match
// pattern ("" matches all), sorted.
func (h *Hub) Channels(pattern string) []string {
	var p *glob.Pattern
	if pattern != "" {
		p = glob.Compile(pattern)
	}
	h.mu.RLock()
	out := make([]string, 0, len(h.channels))
	for ch := range h.channels {
		if p == nil || p.Match(ch) {
			out = append(out, ch)
		}
	}
	h.mu.RUnlock()
	sort.Strings(out)
	return out
}

// NumSub returns the number of subscribers of channel (patterns excluded).
func (h *Hub) NumSub(channel string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels[channel])
}

// NumReceivers returns how many subscriptions a message on channel would
// reach now, patterns included: what PUBLISH would return.
func (h *Hub) NumReceivers(channel string) int {
	if h.Idle() {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := len(h.channels[channel])
	for _, ps := range h.patterns {
		if ps.pat.Match(channel) {
			n += len(ps.subs)
		}
	}
	return n
}

// NumPat returns the number of distinct patterns subscribed to.
func (h *Hub) NumPat() int { return int(h.nPatterns.Load()) }

// NumChannels returns the number of channels with subscribers.
func (h *Hub) NumChannels() int { return int(h.nChannels.Load()) }

// Delivered returns the number of messages delivered since start.
func (h *Hub) Delivered() int64 { return h.published.Load() }
