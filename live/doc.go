// Package live holds the observers of the store that feed pub/sub: the
// change events on bucket.<name>.<op> (Events) and the reactive queries
// (docs/commands.md, "Reactive queries"): the QUERY.* definitions and their
// live result channels, "query.<name>" and "query.<name>:<params>", on the
// pub/sub hub. It sits outside package engine, which knows nothing of
// pub/sub, and frames messages only through pubsub.AppendMessage.
//
// # Model
//
// A definition is a declarative query (package query) with optional
// "{{ params.x }}" placeholders anywhere, the bucket included. A channel is
// one definition with one set of parameters. Subscribers name a channel as
// they like; the manager canonicalises it (CanonicalChannel: keys sorted at
// every depth, compact, "{}" meaning no parameters), so equal parameters
// share one channel and one evaluation. Each subscriber still receives its
// messages under the exact name it subscribed to (that is what Redis client
// libraries match on), and the hub registration is per name. QUERY.SUBSCRIBE
// uses the canonical name. An object whose values are all "asc"/"desc"
// keeps its key order in the canonical form, since it may be a "sort"
// clause, where order is meaning.
//
// A channel exists while it has subscribers. The first subscriber makes the
// manager read the bucket; the first message of every subscriber is the
// current result (pushed to that subscriber alone when the channel already
// has it, else the next evaluation's); then one message each time the
// result's bytes change, never when they did not. The last message always
// equals a fresh QUERY.RUN (Run), byte for byte. The last unsubscribe ends
// the channel: its state is dropped and its bucket's changes stop costing
// anything for it. A name in the "query." namespace that does not parse (a
// bad query name, parameters that are not a JSON object) is an ordinary
// channel. A channel of a query that is not defined yet is silent until
// QUERY.DEFINE defines it. Pattern subscriptions (PSUBSCRIBE query.*) see
// the messages of live channels but do not make a channel live.
//
// # Incremental maintenance
//
// The manager is an engine.Observer. At commit, with the written buckets
// locked, it folds each change into the state of every live channel of that
// bucket, from the change record alone (was the old record a member, is the
// new one: it matches the filter and has not expired), and marks the channel
// for publishing. Per result kind:
//
//   - count, sum, avg, min, max (aggState): members and their contributions.
//     Sums and averages are kept as exact integer sums while every number is
//     an integer and the magnitudes add up to at most 2^53; then any order of
//     float additions gives the same bits, so the result equals a fresh
//     evaluation's. With other numbers the result is read in full (float
//     addition is not associative). min and max keep an ordered multiset.
//   - groupBy (groupState): per group the same aggregate plus its members
//     ordered by position in the bucket, for the order of first appearance
//     and the key shown.
//   - records (listState): the members in result order; with a limit, only
//     the first offset+limit. A record entering or moving within that bound
//     is placed; one leaving it, with nothing known to take its place, makes
//     the next evaluation a full read ("re-read only when a member leaves").
//
// Positions are the bucket's order: the key in an ordered bucket, else an
// insertion rank the watch keeps per record (built once from a full reading,
// then maintained from inserts and deletes) while some channel needs it.
//
// A change to a bucket no live channel reads costs one map look-up.
//
// # Consistency
//
// A full read (the first evaluation, or a state that cannot be maintained)
// uses engine.Store.ReadView: the channel is registered with its bucket
// under the bucket's read lock, while the store takes a frozen copy of the
// bucket (O(1)), so the observer folds in exactly the changes committed
// after the reading. Walking the copy, evaluating and building the state
// happen without that lock, writers going on; changes that arrive meanwhile
// are logged and replayed onto the new state before it is installed. Only
// the first registration needing insertion ranks in an unordered bucket
// walks the bucket under its lock, to build the ranks.
// Changes of one commit are folded in under one hold of the watch's lock, so
// a worker never renders half a transaction.
//
// # Publishing and coalescing
//
// The observer only schedules (poke); a small pool of workers (Options.
// Workers) renders and publishes. A channel's sched state (idle, queued,
// again) guarantees at most one evaluation in flight per channel: pokes that
// arrive while it is queued or being evaluated coalesce into one more round,
// so a burst (or a transaction of 100 writes) yields at most one new result
// per round. Under a sustained stream of changes a channel also publishes
// at most once per Options.Interval (DefaultInterval, 1ms): a round due
// sooner after the last publish waits on a timer for the rest of it, pokes
// coalescing meanwhile, while the first change after a quiet interval is
// published at once. That bounds the cost of fanning a hot channel out to
// many subscribers (each push is a queue append and a socket write per
// subscriber) at the price of at most one interval of latency for changes
// that follow each other closely. Results are compared by bytes before
// publishing. Publishing to
// the hub, pushing a new subscriber's first message and ending a round
// happen under the channel's lock, so no message overtakes a subscriber's
// first one.
//
// # Errors
//
// Define checks the name (engine.ValidName), the JSON (*jsonv.SyntaxError),
// the query (query.Parse, when it has no placeholders; else the object shape
// and a literal "bucket") and that the bucket exists (*engine.NoBucketError);
// an identical redefinition succeeds, a different one is *ExistsError. A
// channel whose query fails at run time (a missing parameter, a parameter
// that makes the query invalid, a bucket given by a parameter that does not
// exist) publishes nothing and keeps its subscribers; QUERY.RUN reports the
// error and QUERY.INFO shows it. A channel waiting for a missing bucket is
// re-evaluated when a bucket of that name is defined (BucketChanged) and at
// each write to it.
//
// # Function queries
//
// A definition may instead be Lua code (KindLua, KindFunction), which the
// Runner (the command layer, with the script engine) runs; every read the
// code makes is reported to the run's Tracker before it reads (readset.go):
// keys, a filter, or the whole bucket, and a bucket that does not exist is
// read whole (its creation and first writes matter). For a live channel,
// each report is installed at once in the bucket's watch, in indexes the
// observer consults per change (observeFunctions): whole-bucket readers,
// readers by record key, filters indexed by an equality they imply
// (field, value), and the other filters, matched one by one. A change
// pokes exactly the channels whose read set its old or new record touches,
// and costs a few map look-ups otherwise (counted as skipped). When a run
// ends its registrations replace the previous run's, so a change between
// a report and the run's end is never missed: it pokes the channel, which
// runs again.
//
// Consistency (runConsistent): a run of one read is one reading under its
// bucket's lock. A channel's run of several reads that was poked while it
// ran may have seen part of a commit: it is not published and runs again;
// after optimisticRuns such runs it runs inside a transaction over the
// buckets it read (engine.Store.Begin), reading further buckets only by
// running again with them. A one-off run (QUERY.RUN) checks instead that
// no bucket it read changed (engine.Version). A channel whose runs are
// costly rests between them (restFor), its changes coalescing meanwhile.
//
// # Drops
//
// Drop (QUERY.DROP), and BucketDropped (after BUCKET.DROP, which drops the
// queries defined on that bucket and ends the channels of parameterised
// queries that read it) remove each subscriber from the hub, then call
// Options.Revoke outside the manager's locks: the command layer forgets the
// channel in the connection's session, under the session's subscription
// lock, and queues the `unsubscribe` frame with the connection's remaining
// count, so the count is exact and ordered with the connection's own
// subscribe-family replies. OnDefinitionChange reports definition changes to
// persistence; Definitions and Restore list and replay them.
//
// # Caveats
//
// Expiry is not a change: a record that expires leaves live results when the
// TTL sweep deletes it (within --ttl-interval), like its `deleted` event,
// while QUERY.RUN hides it at once. A query given a bucket that does not
// exist yet is evaluated when the bucket is defined.
//
// # Locks
//
// Lock order, outermost first:
//
//	Manager.defMu          definition changes, their hooks and Revoke calls
//	commands session lock  (subState.mu: Revoke, subscribe-family commands)
//	Manager.mu             definitions and the channel map
//	channel.mu             a channel's subscribers, last result, publishing
//	pubsub.Hub's lock      (inside Subscribe, Unsubscribe, Publish)
//
//	engine bucket lock     (held by the committing writer, by ReadView, or
//	                       by a function query's run in a transaction)
//	Manager.watchMu        creating and retiring bucket watches
//	bucketWatch.mu         a bucket's registrations, states and ranks
//	Manager.qMu            the run queue (innermost; poke may run anywhere)
//
// The two chains meet only in workers, which never hold a lock of the first
// chain while taking one of the second. The Revoke hook runs with defMu
// held and no other lock of the manager; the observer takes bucketWatch.mu
// and qMu and nothing else. A
// channel's reg and waiting fields belong to the worker processing it (one
// at a time).
package live
