//go:build !linux

package tests

import "testing"

// limitFileSize needs Linux's prlimit(2) on another process; elsewhere the
// tests that use it are skipped.
func limitFileSize(t *testing.T, _ *Server, _ int64) {
	t.Helper()
	t.Skip("limitFileSize: prlimit(RLIMIT_FSIZE) on another process is Linux only")
}
