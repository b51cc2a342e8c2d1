//go:build !linux

package snapshot

// adviseLoad does nothing outside Linux: the advice it gives there
// (hugepages_linux.go) has no portable form.
func adviseLoad(estimate int64) (advised int64, done func()) { return 0, func() {} }
