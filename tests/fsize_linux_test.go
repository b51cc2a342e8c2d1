package tests

import (
	"syscall"
	"testing"
	"unsafe"
)

// limitFileSize sets the server process's RLIMIT_FSIZE: its writes to a
// file past size bytes fail with EFBIG ("file too large"), the way a full
// disk refuses them — the one disk error a test can cause in a running
// server without root tricks on the filesystem. size < 0 lifts the limit.
func limitFileSize(t *testing.T, s *Server, size int64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if size >= 0 {
		lim.Cur = uint64(size)
	}
	var old syscall.Rlimit
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(s.cmd.Process.Pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(&lim)), uintptr(unsafe.Pointer(&old)), 0, 0)
	if errno != 0 {
		t.Skipf("prlimit(RLIMIT_FSIZE) on the server: %v", errno)
	}
}
