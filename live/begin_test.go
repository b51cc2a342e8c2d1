package live

import "bucketd/engine"

// mustBegin is engine.Store.Begin for tests, where no long transaction is
// busy: an error is a bug.
func mustBegin(s *engine.Store, names []string) *engine.Tx {
	t, err := s.Begin(names)
	if err != nil {
		panic(err)
	}
	return t
}
