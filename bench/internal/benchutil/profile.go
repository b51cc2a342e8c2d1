package benchutil

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// StartProfile fetches a profile (kind: profile for CPU, allocs) of the
// next d from bucketd's pprof endpoint into file; the channel gets the
// outcome.
func StartProfile(addr, kind, file string, d time.Duration) chan error {
	secs := max(1, int(d.Round(time.Second).Seconds()))
	out := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, secs))
		if err != nil {
			out <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			out <- fmt.Errorf("profile: %s", resp.Status)
			return
		}
		f, err := os.Create(file)
		if err != nil {
			out <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		out <- err
	}()
	return out
}
