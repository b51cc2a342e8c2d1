package engine

import "bucketd/jsonv"

// Version identifies the committed state of one bucket: two equal Versions
// taken at different times mean that no change of the bucket committed in
// between and the bucket was not dropped or defined again. The zero Version
// stands for a bucket that does not exist. Versions are comparable with ==.
//
// It lets a reader that takes several reads without a transaction (a
// reactive query written as a function, package live) check afterwards
// that they all saw one state: take the Version before each read and
// compare it with the Version at the end.
type Version struct {
	b   *Bucket
	seq uint64
}

// Version returns the current Version of the named bucket without taking
// its lock. A commit's Version moves before its changes reach the
// observers and before its locks are released, so a Version taken before a
// read is never newer than what the read sees.
func (s *Store) Version(name string) Version {
	b := s.snapshot()[name]
	if b == nil {
		return Version{}
	}
	return Version{b: b, seq: b.commits.Load()}
}

// ParseKey parses arg as a key of the named bucket, as its reads do, without
// taking the bucket's lock (its caller may hold it in a transaction).
// Errors: NoBucketError, ArgError.
func (s *Store) ParseKey(bucket, arg string) (jsonv.Value, error) {
	b := s.snapshot()[bucket]
	if b == nil {
		return nil, &NoBucketError{Bucket: bucket}
	}
	k, err := b.defNow.Load().ParseKey(arg)
	if err != nil {
		return nil, &ArgError{Msg: err.Error()}
	}
	return k, nil
}
