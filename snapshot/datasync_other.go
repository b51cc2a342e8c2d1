//go:build !linux

package snapshot

import "os"

// datasync makes f's data durable: fsync(2) (F_FULLFSYNC on macOS), where
// Linux uses fdatasync(2).
func datasync(f *os.File) error { return f.Sync() }
