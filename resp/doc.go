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
// # The argument rule
//
// The arguments a Handler is given, to Prepare and to Serve, are slices of
// the connection's read buffer, and an argument is identified by its
// address there: each command of a run has its bytes at its own place, and
// Serve is handed the very slices (same address, same length) Prepare was.
// The rule:
//
//   - The bytes of a command's arguments stay valid, and unchanged, from
//     Prepare until the connection next calls Handler.Drained. Work derived
//     from them (a parsed JSON argument, a draft record) may keep aliasing
//     them until then, and may be matched to its command by address.
//   - After Drained, the connection may reuse those bytes at once: it moves
//     the unread rest of the buffer over them, or reads new commands into
//     them. Whatever must outlive Drained is copied before it returns.
//
// With the environment variable BUCKETD_VERIFY=1 (read once at start) a
// connection enforces the rule: right after each Drained it overwrites the
// bytes of the commands it has served with 0xDB, so that code keeping a
// reference past the rule reads garbage and fails its tests rather than
// working until a buffer happens to be reused.
//
// A connection's Writer is Late: a record reply (BulkJSON) takes its room
// at once, its length being known, and its text is copied in when the
// replies are sent, after Drained, so not under a lock the run held.
//
// A connection that subscribes to pub/sub channels switches to asynchronous
// output (EnableAsync): from then on a second goroutine owns the socket's
// write side, fed from a queue that publishers append to with Push. The
// queue is a list of fixed-size chunks (ChunkSize) taken from a pool shared
// by every connection; the writer writes them in place, with one writev,
// and gives each back once written, so a queue never grows by copying and
// an idle subscriber holds no chunk. Push copies its frame and nothing
// more: it never blocks and never writes to the socket. A subscriber whose
// queue would pass the output buffer limits (Redis's
// client-output-buffer-limit pubsub rule) is cut at once: Push refuses the
// frame, the queue's chunks go back to the pool, and the connection's
// writer (woken even from a blocked write) closes the socket, logs and
// counts the disconnection, off the publisher's path. So a subscriber
// holds at most its hard limit and one chunk. After a burst of cuts the
// pooled memory is handed back to the system (see noteFreed), rather than
// kept until the idle server next collects garbage. OutputQueueMemory
// reports the chunks in use. No lock is ever held across a socket write.
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
