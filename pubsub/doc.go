// Package pubsub is the registry of channel and pattern subscriptions and
// the fan-out of published messages, with Redis 7's semantics: a PUBLISH
// reaches each client subscribed to the channel once, and each client once
// per matching pattern it subscribed to, and its reply counts exactly
// those deliveries.
//
// A Subscriber is anything that can take a message frame without blocking
// (a connection's bounded output queue: see resp.Conn.Push). Publish holds
// the hub's read lock while it hands frames to subscribers, and that is
// safe because handing over never blocks and never writes to a socket; a
// subscriber that cannot keep up is cut off by its own queue's limit, not
// by the hub.
//
// Frames are encoded once per publish and protocol version (RESP2 arrays,
// RESP3 push frames) and shared by every subscriber that receives them.
// Publishing to a channel nobody listens to costs two atomic loads when
// there are no subscriptions at all, and a map look-up plus one match per
// distinct pattern otherwise.
package pubsub
