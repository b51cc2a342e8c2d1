// Package tracking is Redis's server-assisted client-side caching (CLIENT
// TRACKING) over bucketd's records (docs/commands.md, "Client-side
// caching"). A tracking client is told, by an "invalidate" push, when a
// record it may have cached changes: in the default mode, one whose key
// it read (each read registers the key; the first change after it sends
// one message and forgets the registration, as in Redis); in BCAST mode,
// any record whose key name starts with one of its prefixes. A record's
// key name is <bucket>:<key>, as in the key space.
//
// The Table is an observer of the store's committed changes (outside
// package engine): it runs inside the commit, with the written buckets
// locked, and only queues frames on connections (Target.Push never
// blocks). Messages go to the client itself (RESP3) or to the client it
// redirects to (RESP3, or RESP2 in subscribed mode as a message on
// __redis__:invalidate); a RESP2 client without a redirection gets none,
// as in Redis. A cleared bucket sends the "flush everything" message (a
// null) to the clients that tracked any of its records or whose prefixes
// can match it, since its keys are not listed.
package tracking
