// Package resp is bucketd's network layer: the TCP listener, one goroutine per
// connection, the request reader with Redis's protocol limits, and the RESP2 /
// RESP3 reply writer.
//
// # Connections
//
// A Conn is served by one goroutine that reads what the client sent, parses
// every complete command in the buffer, hands each to the Handler in order,
// then writes all the replies in one system call. Replies go to Conn.W, which
// only that goroutine touches.
//
// A Handler that is also a Preparer sees the pipelined commands of a read
// in runs of up to MaxPrepared: each command of a run is prepared, in
// order, before the first one is served, so that work such as parsing a
// JSON argument happens outside whatever the commands ahead of it hold. A
// run ends at a command the Preparer declines to look past.
// Handler.Drained follows each run of several commands, and the read.
//
// A connection's Writer is Late: a record reply (BulkJSON) takes its room
// at once, its length being known, and its text is copied in when the
// replies are sent, after Drained, so not under a lock the run held.
//
// A connection that subscribes to pub/sub channels switches to asynchronous
// output (EnableAsync): from then on a second goroutine owns the socket's
// write side, fed from a queue that publishers append to with Push. Push never
// blocks and never writes to the socket; a subscriber whose queue passes the
// output buffer limits (Redis's client-output-buffer-limit pubsub rule) is
// disconnected and counted. No lock is ever held across a socket write.
//
// # Locking
//
// Conn.outMu guards the asynchronous output queue and the connection's closed
// state. Conn.infoMu guards the fields other goroutines read for CLIENT LIST
// (name, library, last command). Server.mu guards the set of live
// connections. No two of these are held at once.
//
// # Protocol limits
//
// The reader follows Redis 7: `Protocol error: invalid multibulk length`,
// `invalid bulk length` (over proto-max-bulk-len, 512 MB by default), stricter
// limits before AUTH (10 arguments, 16 KiB bulks), 64 KiB inline commands,
// and a query-buffer limit (1 GiB by default) past which the client is
// closed without a reply. A protocol error is replied to and then the
// connection is closed.
package resp
