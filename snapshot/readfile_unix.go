//go:build unix

package snapshot

import (
	"os"
	"syscall"
)

// readData returns the contents of the file at path, mapped into memory
// read-only instead of copied (no zeroed buffer of the file's size, no
// copy, and nothing left for the collector): release unmaps it, after
// which nothing may touch the data. The loaders copy what they keep (the
// records' decoders own their strings, and applyOps clones the other
// arguments it passes on).
func readData(path string) (data []byte, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, func() {}, nil
	}
	if int64(int(st.Size())) != st.Size() {
		return nil, nil, syscall.EFBIG
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		// Some file systems cannot map files: read them.
		data, err = os.ReadFile(path)
		return data, func() {}, err
	}
	return data, func() { syscall.Munmap(data) }, nil
}
