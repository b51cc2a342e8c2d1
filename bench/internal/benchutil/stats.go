package benchutil

import (
	"context"
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
