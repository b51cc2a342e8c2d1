package commands

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestSettingsTable checks the one table of flags and CONFIG parameters:
// every setting formats its default in a form its own parser takes back,
// every flag is a CONFIG parameter, and names are unique.
func TestSettingsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range settings {
		if seen[st.name] {
			t.Errorf("%s: listed twice", st.name)
		}
		seen[st.name] = true
		def := DefaultConfig()
		got := st.get(&def)
		if st.noFlag {
			if st.set != nil || st.runtime {
				t.Errorf("%s: a CONFIG-only parameter has a setter", st.name)
			}
			continue
		}
		if st.help == "" || st.set == nil {
			t.Errorf("%s: a flag needs help and a setter", st.name)
			continue
		}
		back := DefaultConfig()
		if err := st.set(&back, got); err != nil {
			t.Errorf("%s: its default %q does not parse: %v", st.name, got, err)
		} else if again := st.get(&back); again != got {
			t.Errorf("%s: %q formats back as %q", st.name, got, again)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := DefaultConfig()
	RegisterFlags(fs, &cfg)
	fs.VisitAll(func(f *flag.Flag) {
		if findSetting(f.Name) == nil {
			t.Errorf("flag --%s is no CONFIG parameter", f.Name)
		}
	})
	for _, st := range settings {
		f := fs.Lookup(st.name)
		switch {
		case st.noFlag && f != nil:
			t.Errorf("CONFIG-only parameter %s is a flag", st.name)
		case !st.noFlag && f == nil:
			t.Errorf("CONFIG parameter %s is no flag", st.name)
		case f != nil && (f.Usage != st.help || f.DefValue != st.get(&cfg)):
			t.Errorf("flag --%s: usage %q, default %q", st.name, f.Usage, f.DefValue)
		}
	}
}

func TestSettingsParse(t *testing.T) {
	cases := []struct {
		name, value, want, err string
	}{
		{"port", "0", "0", ""},
		{"port", "70000", "", "between 0 and 65535"},
		{"loglevel", "WARNING", "warn", ""},
		{"loglevel", "loud", "", "must be one of"},
		{"appendfsync", "Always", "always", ""},
		{"appendfsync", "sometimes", "", "must be one of"},
		{"appendonly", "no", "no", ""},
		{"appendonly", "maybe", "", "'yes' or 'no'"},
		{"ttl-interval", "250ms", "250ms", ""},
		{"ttl-interval", "0s", "", "positive duration"},
		{"maxclients", "0", "", "between 1 and"},
		{"proto-max-bulk-len", "2mb", "2097152", ""},
		{"proto-max-bulk-len", "10kb", "", "bigger than 1mb"},
		{"slowlog-max-len", "-1", "", "between 0 and"},
		{"threads", "auto", "auto", ""},
		{"threads", "2", "2", ""},
		{"threads", "-3", "", "auto, or 0"},
		{"client-output-buffer-limit", "pubsub 1mb 512kb 10", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10", ""},
		{"client-output-buffer-limit", "pubsub 1mb", "", "Wrong number of arguments in buffer limit configuration."},
		{"client-output-buffer-limit", "normal 1mb 512kb 5 replica 2mb 1mb 6", "normal 1048576 524288 5 slave 2097152 1048576 6 pubsub 33554432 8388608 60", ""},
		{"client-output-buffer-limit", "master 1 1 1", "", "Invalid client class specified in buffer limit configuration."},
		{"client-output-buffer-limit", "pubsub 1mb x 1", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"client-output-buffer-limit", "pubsub 1mb 1 -1", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
	}
	for _, tc := range cases {
		st := findSetting(tc.name)
		cfg := DefaultConfig()
		err := st.set(&cfg, tc.value)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s %q: error %v, want %q", tc.name, tc.value, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s %q: %v", tc.name, tc.value, err)
		case tc.err == "" && st.get(&cfg) != tc.want:
			t.Errorf("%s %q: got %q, want %q", tc.name, tc.value, st.get(&cfg), tc.want)
		}
	}
}

func TestRegisterFlagsParse(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := DefaultConfig()
	RegisterFlags(fs, &cfg)
	if err := fs.Parse([]string{"--port", "7000", "--appendonly", "no", "--threads", "auto"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7000 || cfg.AppendOnly || cfg.Threads != ThreadsAuto {
		t.Errorf("flags not applied: %+v", cfg)
	}
	if err := fs.Parse([]string{"--appendfsync", "never"}); err == nil {
		t.Error("--appendfsync never was taken")
	}
}
