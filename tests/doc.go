// Package tests holds bucketd's end-to-end tests: each starts the real
// server binary on 127.0.0.1:0 with a temporary data directory and talks
// to it over real sockets with go-redis (RESP2 and RESP3), redis-cli and
// raw connections. TestMain builds the binary once, with -race when the
// tests run with -race, so races in the server fail the run too.
package tests
