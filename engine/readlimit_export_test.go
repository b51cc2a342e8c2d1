package engine

import "time"

// SetReadClock makes the read-time limit of s read clock instead of
// time.Now. Call it before the store is used.
func SetReadClock(s *Store, clock func() time.Time) { s.reads.clock = clock }
