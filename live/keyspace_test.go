package live

import (
	"testing"
)

// The notify-keyspace-events values parse and print back as Redis's do.
func TestNotifyFlags(t *testing.T) {
	for _, c := range []struct {
		in, out string
		err     bool
	}{
		{"", "", false}, {"KEA", "AKE", false}, {"AKEn", "AKE", false}, {"Kg$", "g$K", false},
		{"Exe", "xeE", false}, {"KEg$lshzxetdm", "AKEm", false}, {"nK", "nK", false},
		{"EKxg", "gxKE", false}, {"AAA", "A", false}, {"m", "m", false},
		{"KEq", "", true}, {"kea", "", true}, {" K", "", true}, {"K,E", "", true},
	} {
		f, err := ParseNotifyFlags(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseNotifyFlags(%q): error %v, want error %v", c.in, err, c.err)
			continue
		}
		if err != nil {
			if err.Error() != "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." {
				t.Errorf("ParseNotifyFlags(%q): error %q", c.in, err)
			}
			continue
		}
		if got := f.String(); got != c.out {
			t.Errorf("ParseNotifyFlags(%q).String() = %q, want %q", c.in, got, c.out)
		}
	}
}

// What parses prints back to a value that parses to the same classes,
// but for n, which Redis's printing leaves out after A.
func FuzzNotifyFlags(f *testing.F) {
	for _, s := range []string{"", "KEA", "AKEn", "g$lshzxetdmnKE", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseNotifyFlags(s)
		if err != nil {
			return
		}
		back, err := ParseNotifyFlags(fl.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, fl.String(), err)
		}
		want := fl
		if fl&NotifyAll == NotifyAll {
			want &^= NotifyNew
		}
		if back != want {
			t.Fatalf("%q: %b printed as %q, parsed back as %b", s, fl, fl.String(), back)
		}
	})
}
