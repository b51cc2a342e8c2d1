package engine

import "sync"

// scanPause is DEBUG SCAN-PAUSE's state for one bucket: the next frozen
// read of the bucket stops, holding its frozen copy and no lock, until
// DEBUG SCAN-RESUME. Tests use it to show over a real socket that writes
// commit while a read is in progress, and that the read sees the bucket as
// it was when it began.
type scanPause struct {
	mu     sync.Mutex
	armed  bool
	paused int           // reads stopped now
	resume chan struct{} // closed by ResumeScans
}

// PauseScans arms a stop in the named bucket's next frozen read (DEBUG
// SCAN-PAUSE).
func (s *Store) PauseScans(name string) error {
	b, err := s.lookup(name)
	if err != nil {
		return err
	}
	p := &b.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.armed && p.paused == 0 {
		p.resume = make(chan struct{})
	}
	p.armed = true
	return nil
}

// PausedScans returns how many reads of the bucket are stopped by
// PauseScans now (DEBUG SCAN-PAUSED).
func (s *Store) PausedScans(name string) (int, error) {
	b, err := s.lookup(name)
	if err != nil {
		return 0, err
	}
	b.pause.mu.Lock()
	defer b.pause.mu.Unlock()
	return b.pause.paused, nil
}

// ResumeScans lets the stopped reads of the bucket go on and disarms the
// stop (DEBUG SCAN-RESUME). It returns how many it let go.
func (s *Store) ResumeScans(name string) (int, error) {
	b, err := s.lookup(name)
	if err != nil {
		return 0, err
	}
	p := &b.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.paused
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
	p.armed = false
	return n, nil
}

// pauseHere stops a frozen read of b while a stop is armed. It is called
// with no lock held.
func (b *Bucket) pauseHere() {
	p := &b.pause
	p.mu.Lock()
	if !p.armed {
		p.mu.Unlock()
		return
	}
	p.armed = false
	p.paused++
	ch := p.resume
	p.mu.Unlock()
	<-ch
	p.mu.Lock()
	p.paused--
	p.mu.Unlock()
}
