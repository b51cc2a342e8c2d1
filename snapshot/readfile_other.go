//go:build !unix

package snapshot

import "os"

// readData returns the contents of the file at path (see the unix
// version); release does nothing.
func readData(path string) (data []byte, release func(), err error) {
	data, err = os.ReadFile(path)
	return data, func() {}, err
}
