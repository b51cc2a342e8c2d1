package engine

import "syscall"

const scanNiceWanted = scanNice

// threadNice returns the calling thread's nice value.
func threadNice() int {
	// The raw system call returns 20 - nice; Go's wrapper passes it on.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		return -100
	}
	return 20 - p
}
