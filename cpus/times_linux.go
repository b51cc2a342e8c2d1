package cpus

import (
	"os"
	"syscall"
)

// readTimes returns the CPU time the process has used and the idle time
// of the machine since boot, in seconds.
func readTimes() (busy, idle float64, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0, false
	}
	busy = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	idle, ok = ParseIdle(stat)
	return busy, idle, ok
}
