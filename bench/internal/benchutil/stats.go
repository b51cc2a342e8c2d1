package benchutil

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// List formats xs with prec decimals, separated by spaces: the individual
// runs a report prints beside their median.
func List(xs []float64, prec int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', prec, 64)
	}
	return strings.Join(parts, " ")
}

// Client returns a RESP2 go-redis client of s with pool connections and
// patient timeouts.
func (s *Server) Client(pool int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, PoolSize: pool, MaxRetries: -1,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute})
}

// Stop shuts s down without saving and waits for it to exit (killing it
// after 30 s).
func (s *Server) Stop() {
	c := s.Client(1)
	c.Do(context.Background(), "SHUTDOWN", "NOSAVE") // no reply: the connection closes
	c.Close()
	select {
	case <-s.Done:
	case <-time.After(30 * time.Second):
		s.Cmd.Process.Kill()
		<-s.Done
	}
}

// CPUTime returns a process's CPU time so far (user + system), 0 when it
// cannot be read (not Linux, or the process is gone).
func CPUTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 per second).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// Info returns INFO <section> of c's server as its fields by name.
func Info(c *redis.Client, section string) map[string]string {
	text, err := c.Info(context.Background(), section).Result()
	Check(err)
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			fields[k] = v
		}
	}
	return fields
}
