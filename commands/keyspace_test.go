package commands

import (
	"testing"

	"bucketd/pubsub/glob"
)

// bucketFilter keeps every bucket a pattern can match: for each pattern and
// name, a key of that bucket that the pattern matches means the filter
// accepts the bucket.
func TestBucketFilter(t *testing.T) {
	buckets := []string{"users", "users2", "us", "orders", "u"}
	keys := []string{"", "1", "a:b", "x*y", "long-key"}
	for _, pattern := range []string{
		"*", "users:*", "users*", "us*:1", "u?ers:*", "users:1", "orders:[ab]*", `users\:1`, "[uo]*", "use", "users:", ":*", "",
	} {
		f := bucketFilter(pattern)
		for _, b := range buckets {
			for _, k := range keys {
				name := b + ":" + k
				if glob.Match(pattern, name) && f != nil && !f(b) {
					t.Errorf("pattern %q matches %q but the filter drops bucket %q", pattern, name, b)
				}
			}
		}
	}
	for pattern, want := range map[string]map[string]bool{
		"users:*": {"users": true, "users2": false, "us": false},
		"us*":     {"users": true, "us": true, "orders": false},
		"u?ers:1": {"users": true, "u": true, "orders": false},
	} {
		f := bucketFilter(pattern)
		for b, ok := range want {
			if got := f == nil || f(b); got != ok {
				t.Errorf("bucketFilter(%q)(%q) = %v, want %v", pattern, b, got, ok)
			}
		}
	}
}
