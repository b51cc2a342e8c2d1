//go:build !linux

package engine

// lowerThreadPriority does nothing here: there is no portable way to set
// one thread's priority. Long reads still take scan slots.
func lowerThreadPriority() bool { return false }
