package cpus

import (
	"strings"
	"testing"
)

func TestParseIdle(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want float64
		ok   bool
	}{
		{"linux", "cpu  4705 356 584 3699176 23 0 5 0 0 0\ncpu0 1393 280 290 1848462 9 0 4 0 0 0\n", 36991.99, true},
		{"four fields only", "cpu  4705 356 584 3699176\n", 0, false},
		{"per-CPU line first", "cpu0 1393 280 290 1848462 9 0 4 0 0 0\n", 0, false},
		{"not a number", "cpu  4705 356 584 x 23 0\n", 0, false},
		{"negative", "cpu  4705 356 584 -1 23 0\n", 0, false},
		{"sum overflows", "cpu  1 1 1 18446744073709551615 1 0\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseIdle([]byte(tt.stat))
			if ok != tt.ok || (ok && (got < tt.want-1e-6 || got > tt.want+1e-6)) {
				t.Errorf("ParseIdle(%q) = %v, %v; want %v, %v", tt.stat, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseIdle(f *testing.F) {
	f.Add([]byte("cpu  4705 356 584 3699176 23 0 5 0 0 0\n"))
	f.Add([]byte("cpu 1 2 3 4 5"))
	f.Add([]byte("cpu0 1 2 3 4 5\n"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		idle, ok := ParseIdle(stat)
		if !ok {
			return
		}
		if idle < 0 {
			t.Fatalf("negative idle %v from %q", idle, stat)
		}
		first, _, _ := strings.Cut(string(stat), "\n")
		if f := strings.Fields(first); len(f) < 6 || f[0] != "cpu" {
			t.Fatalf("accepted %q whose first line is not the aggregate cpu line", stat)
		}
	})
}
