package snapshot

import (
	"io"
	"testing"

	"bucketd/engine"
)

// BenchmarkWriteImage measures taking an image of 300,000 records and
// writing it as a snapshot (to io.Discard): a rewrite's work once the
// file is switched.
func BenchmarkWriteImage(b *testing.B) {
	s := engine.New(engine.Options{})
	fillUsers(b, s, 300_000)
	b.ResetTimer()
	for range b.N {
		images := s.Capture(nil)
		if _, err := WriteImage(io.Discard, images, nil, nil, 0); err != nil {
			b.Fatal(err)
		}
		engine.ReleaseImages(images)
	}
}
