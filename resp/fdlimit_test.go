package resp

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

func TestFitMaxClients(t *testing.T) {
	eperm := errors.New("operation not permitted")
	tests := []struct {
		name      string
		max       int64
		cur, hard uint64
		setErr    error
		want      int64
		wantSet   uint64 // the soft limit asked for, 0: none
		wantLog   string
		wantErr   bool
	}{
		{"fits", 10000, 65536, 65536, nil, 10000, 0, "", false},
		{"fits exactly", 100, 132, 132, nil, 100, 0, "", false},
		{"raised", 10000, 1024, 1 << 20, nil, 10000, 10032, "raised the open files limit", false},
		{"raised to the hard limit, then lowered", 10000, 1024, 4096, nil, 4064, 4096, "maxclients lowered", false},
		{"raise refused", 10000, 1024, 1 << 20, eperm, 992, 10032, "operation not permitted", false},
		{"hard limit reached", 10000, 40, 40, nil, 8, 0, `"maxclients":8`, false},
		{"infinite hard limit", 50, 40, ^uint64(0), nil, 50, 82, "raised", false},
		{"no room", 10000, 32, 32, nil, 0, 0, "", true},
		{"no bound", 0, 40, 40, nil, 0, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			var asked uint64
			set := func(l *syscall.Rlimit) error {
				asked = l.Cur
				if l.Max != tt.hard {
					t.Errorf("hard limit changed to %d", l.Max)
				}
				return tt.setErr
			}
			got, err := fitMaxClients(tt.max, syscall.Rlimit{Cur: tt.cur, Max: tt.hard}, set, zerolog.New(&logs))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "ulimit -n") {
				t.Errorf("error %q does not say what to raise", err)
			}
			if got != tt.want || asked != tt.wantSet {
				t.Errorf("maxclients %d, soft limit asked %d; want %d, %d", got, asked, tt.want, tt.wantSet)
			}
			if !strings.Contains(logs.String(), tt.wantLog) || tt.wantLog == "" && logs.Len() > 0 {
				t.Errorf("log %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}

// TestFitMaxClientsHere runs the real thing: the limit of this process
// holds at least what it returns.
func TestFitMaxClientsHere(t *testing.T) {
	got, err := FitMaxClients(100, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got < 1 || uint64(got)+reservedFDs > lim.Cur {
		t.Errorf("maxclients %d with an open files limit of %d", got, lim.Cur)
	}
}
