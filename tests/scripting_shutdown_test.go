package tests

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A looping script does not hold the shutdown: SIGTERM and SHUTDOWN stop
// the running scripts first (rolled back, their callers told), and the
// server exits within its grace period's first seconds, not after it.
func TestScriptShutdownStopsScripts(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SIGTERM", "SHUTDOWN NOSAVE"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			c := s.Raw(t)
			if got := c.Do("BUCKET.DEFINE", "b", `{"key":"id","schema":{"id":{"type":"string"}}}`); got != "+OK\r\n" {
				t.Fatal(got)
			}
			loop := s.Raw(t)
			loop.Send(respCommand("EVAL", `redis.call('B.INSERT', KEYS[1], '{"id":"x"}') while true do end`, "1", "b"))
			eventually(t, 10*time.Second, "the script runs", func() bool {
				return strings.Contains(c.Do("INFO", "stats"), "scripts_run:1\r\n")
			})
			start := time.Now()
			if how == "SIGTERM" {
				s.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				c.Send(respCommand("SHUTDOWN", "NOSAVE"))
			}
			if code := s.Wait(8 * time.Second); code != 0 {
				t.Fatalf("after %s the server is still up or failed (code %d), %v later", how, code, time.Since(start))
			}
			if got, _ := loop.ReadErr(time.Second); !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL...") {
				t.Errorf("the looping script's caller got %q", got)
			}
		})
	}
}

// respCommand encodes a command as a RESP array of bulk strings.
func respCommand(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}
