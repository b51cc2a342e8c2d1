package snapshot

import (
	"os"
	"syscall"
)

// datasync makes f's data durable with fdatasync(2), as Redis does: with
// the file's size unchanged (preallocChunk), no metadata is written.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
