package schema

import (
	"errors"
	"math"
	"strings"
	"testing"

	"bucketd/jsonv"
)

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   jsonv.Value
		want int64
	}{
		{1.0, 1}, {5000.0, 5000}, {1.5, 2}, {0.5, 1}, {86400000.0, 86400000}, {9007199254740992.0, 1 << 53},
		{"30s", 30000}, {"5m", 300000}, {"1h", 3600000}, {"1.5h", 5400000}, {"7d", 604800000},
		{"0.5s", 500}, {"30 s", 30000}, {"30\t\u00a0s", 30000}, {"1.1s", 1100}, {"001s", 1000},
		{"0.001s", 1}, {"104249991d", 104249991 * 86400000},
	}
	for _, tt := range ok {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%#v) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in   jsonv.Value
		text string
	}{
		{0.0, "0"}, {-1.0, "-1"}, {0.4, "0.4"}, {1e300, "1e+300"}, {math.Inf(1), "null"}, {math.NaN(), "null"},
		{"", ""}, {"30", "30"}, {"30ms", "30ms"}, {"30S", "30S"}, {"1w", "1w"}, {" 30s", " 30s"}, {"30s ", "30s "},
		{"-5s", "-5s"}, {"+5s", "+5s"}, {".5s", ".5s"}, {"5.s", "5.s"}, {"1e3s", "1e3s"}, {"0s", "0s"}, {"0.0001s", "0.0001s"},
		{"s", "s"}, {"5 5s", "5 5s"}, {"1,5h", "1,5h"}, {"104249992d", "104249992d"}, {"５s", "５s"},
		{nil, "null"}, {true, "true"}, {[]jsonv.Value{1.0}, "[1]"}, {&jsonv.Object{Keys: []string{"a"}, Vals: []jsonv.Value{1.0}}, `{"a":1}`},
	}
	for _, tt := range bad {
		got, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%#v) = %d, want error", tt.in, got)
			continue
		}
		want := `Invalid TTL format "` + tt.text + `". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`
		if err.Error() != want {
			t.Errorf("ParseDuration(%#v)\n error %v\n want  %s", tt.in, err, want)
		}
		var de *DurationError
		if !errors.Is(err, ErrInvalidTTL) || !errors.As(err, &de) {
			t.Errorf("ParseDuration(%#v): error type %T", tt.in, err)
		}
	}
	if _, err := ParseDuration("1\n5s"); err == nil || strings.ContainsAny(err.Error(), "\n") {
		t.Errorf("newline: %q", err)
	}
}

func TestParseDurationArg(t *testing.T) {
	for in, want := range map[string]int64{"5000": 5000, "1.5": 2, "1e3": 1000, "30s": 30000, "1.5h": 5400000} {
		if got, err := ParseDurationArg(in); err != nil || got != want {
			t.Errorf("ParseDurationArg(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"0", "-5", "", "abc", "0x10", "1e400", "30 ms"} {
		_, err := ParseDurationArg(in)
		want := `Invalid TTL format "` + in + `". Expected a number (ms) or string like "30s", "5m", "1h", "7d".`
		if err == nil || err.Error() != want {
			t.Errorf("ParseDurationArg(%q): %v", in, err)
		}
	}
}
