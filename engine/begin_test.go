package engine

// mustBegin is Store.Begin for tests, where no long transaction is
// busy: an error is a bug.
func mustBegin(s *Store, names []string) *Tx {
	t, err := s.Begin(names)
	if err != nil {
		panic(err)
	}
	return t
}
