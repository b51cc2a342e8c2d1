// Package commands is bucketd's command layer: the one command table
// (name, arity, flags, handler), the dispatcher that applies Redis's rules
// in Redis's order (unknown command, arity, authentication, subscribed
// mode, MULTI queueing), and one handler per command, grouped by area:
// connection.go, admin.go, config.go, info.go, slowlog.go, bucket.go,
// records.go, tx.go, pubsub.go.
//
// Handlers run on their connection's goroutine and write replies to
// Ctx.W. Engine errors become RESP errors with their codes in one place,
// errorReply in errors.go.
//
// Transactions: MULTI queues commands with a private copy of their
// arguments; EXEC runs every bucket command inside one engine.Tx that
// locks all the buckets they name (and the watched ones), rolls everything
// back at the first failure, and runs the other queued commands after the
// commit.
package commands
