package engine_test

import "bucketd/engine"

// mustBegin is engine.Store.Begin for the external tests.
func mustBegin(s *engine.Store, names []string) *engine.Tx {
	t, err := s.Begin(names)
	if err != nil {
		panic(err)
	}
	return t
}
