package engine

import "syscall"

// scanNice is the nice value of the scan workers' threads: the kernel gives
// a thread of nice 10 about a tenth of the CPU share of one of nice 0 when
// both want it, and all of the CPU when nothing else does.
const scanNice = 10

// lowerThreadPriority gives the calling thread nice scanNice and reports
// whether it could. On Linux, setpriority with PRIO_PROCESS and a thread
// id sets that thread's value only; raising a nice value needs no
// privilege.
func lowerThreadPriority() bool {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), scanNice) == nil
}
