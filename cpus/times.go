package cpus

import (
	"bytes"
	"strconv"
)

// userHZ is the unit of /proc/stat's times: Linux reports them in 1/100 s
// on every architecture (USER_HZ).
const userHZ = 100

// ParseIdle returns the machine's idle time in seconds (idle plus iowait,
// over all CPUs) from the aggregate "cpu" line of Linux's /proc/stat. It
// reports false when that line is missing or malformed.
func ParseIdle(stat []byte) (float64, bool) {
	line, _, _ := bytes.Cut(stat, []byte{'\n'})
	fields := bytes.Fields(line)
	// cpu user nice system idle iowait ...
	if len(fields) < 6 || string(fields[0]) != "cpu" {
		return 0, false
	}
	var ticks uint64
	for _, f := range fields[4:6] {
		n, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil || ticks+n < ticks {
			return 0, false
		}
		ticks += n
	}
	return float64(ticks) / userHZ, true
}
