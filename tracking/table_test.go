package tracking

import (
	"slices"
	"strings"
	"testing"

	"bucketd/engine"
)

// fake is a Target that keeps what it is sent.
type fake struct {
	proto      int
	subscribed bool
	got        []string
}

func (f *fake) Proto() int       { return f.proto }
func (f *fake) Subscribed() bool { return f.subscribed }
func (f *fake) Push(b []byte) bool {
	f.got = append(f.got, string(b))
	return true
}

// take returns what f was sent since the last take, as readable texts:
// "key" for an invalidation of key, "*" for a flush.
func (f *fake) take() []string {
	var out []string
	for _, m := range f.got {
		switch {
		case strings.HasSuffix(m, "_\r\n") || strings.HasSuffix(m, "$-1\r\n"):
			out = append(out, "*")
		default:
			lines := strings.Split(strings.TrimSuffix(m, "\r\n"), "\r\n")
			out = append(out, lines[len(lines)-1])
		}
	}
	f.got = nil
	return out
}

func upd(bucket, key string, origin uint64) engine.Change {
	return engine.Change{Op: engine.OpUpdated, Bucket: bucket, Key: key, Origin: origin}
}

func TestTable(t *testing.T) {
	targets := map[uint64]*fake{}
	tab := New(func(id uint64) Target {
		if f := targets[id]; f != nil {
			return f
		}
		return nil
	})
	add := func(id uint64, proto int, o Options) *fake {
		t.Helper()
		f := &fake{proto: proto}
		targets[id] = f
		if err := tab.Enable(id, f, o); err != nil {
			t.Fatal(err)
		}
		return f
	}
	def := add(1, 3, Options{})
	bc := add(2, 3, Options{BCAST: true, Prefixes: []string{"users:", "x"}})
	nl := add(3, 3, Options{NoLoop: true})
	redir := &fake{proto: 2, subscribed: true}
	targets[9] = redir
	viaRedir := add(4, 2, Options{Redirect: 9})

	tab.Read(1, "users:a", "users:b")
	tab.Read(3, "users:a")
	tab.Read(4, "users:a")
	tab.Committed([]engine.Change{upd("users", "a", 3), upd("users", "a", 0), upd("orders", "1", 0)})
	for _, c := range []struct {
		name string
		f    *fake
		want []string
	}{
		{"default: once, then forgotten", def, []string{"users:a"}},
		{"BCAST: every change of its prefixes", bc, []string{"users:a", "users:a"}},
		{"NOLOOP: not its own change, and forgotten with it", nl, nil},
		{"redirected to a RESP2 subscriber", redir, []string{"users:a"}},
		{"the redirecting client itself", viaRedir, nil},
	} {
		if got := c.f.take(); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// A clear flushes once per commit those that read the bucket or whose
	// prefixes can match it, and forgets the bucket's keys.
	tab.Read(1, "users:c")
	tab.Committed([]engine.Change{{Op: engine.OpCleared, Bucket: "users"}, {Op: engine.OpCleared, Bucket: "users2"}})
	if got := def.take(); !slices.Equal(got, []string{"*"}) {
		t.Errorf("clear, default: %v", got)
	}
	if got := bc.take(); !slices.Equal(got, []string{"*"}) {
		t.Errorf("clear, BCAST: %v", got)
	}
	tab.Committed([]engine.Change{upd("users", "b", 0)})
	if got := def.take(); got != nil {
		t.Errorf("a key of a cleared bucket stayed remembered: %v", got)
	}
	bc.take()

	// The redirection gone: a RESP3 tracker would be told; a RESP2 one not.
	delete(targets, 9)
	tab.Read(4, "users:z")
	tab.Committed([]engine.Change{upd("users", "z", 0)})
	if _, _, broken := tab.Info(4); !broken {
		t.Error("a gone redirection is not marked broken")
	}
	if got := viaRedir.take(); got != nil {
		t.Errorf("RESP2 tracker told of a broken redirection: %v", got)
	}

	// Disable: nothing more, and Read is ignored.
	tab.Disable(1)
	tab.Read(1, "users:q")
	tab.Committed([]engine.Change{upd("users", "q", 0)})
	if got := def.take(); got != nil {
		t.Errorf("after Disable: %v", got)
	}
	if tab.Clients() != 4-1 {
		t.Errorf("Clients() = %d", tab.Clients())
	}
}

// Past maxKeys a key is invalidated and forgotten to make room.
func TestTableMaxKeys(t *testing.T) {
	tab := New(func(uint64) Target { return nil })
	tab.maxKeys = 3
	f := &fake{proto: 3}
	if err := tab.Enable(1, f, Options{}); err != nil {
		t.Fatal(err)
	}
	tab.Read(1, "a:1", "a:2", "a:3", "a:4", "a:5")
	if n := tab.Keys(); n != 3 {
		t.Errorf("Keys() = %d, want 3", n)
	}
	if got := f.take(); len(got) != 2 {
		t.Errorf("evicted keys invalidated: %v, want 2", got)
	}
}

func TestEnableErrors(t *testing.T) {
	for _, c := range []struct {
		old  *Options
		o    Options
		want string
	}{
		{nil, Options{Prefixes: []string{"a"}}, "PREFIX option requires BCAST mode to be enabled"},
		{nil, Options{BCAST: true, OptIn: true}, "OPTIN and OPTOUT are not compatible with BCAST"},
		{nil, Options{OptIn: true, OptOut: true}, "You can't use both OPTIN and OPTOUT"},
		{&Options{BCAST: true}, Options{}, "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."},
		{&Options{OptIn: true}, Options{OptOut: true}, "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."},
		{nil, Options{BCAST: true, Prefixes: []string{"ab", "a"}}, "Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap."},
		{&Options{BCAST: true, Prefixes: []string{"abc"}}, Options{BCAST: true, Prefixes: []string{"ab"}}, "Prefix 'ab' overlaps with an existing prefix 'abc'. Prefixes for a single client must not overlap."},
		{&Options{BCAST: true, Prefixes: []string{"abc"}}, Options{BCAST: true, Prefixes: []string{"b"}}, ""},
	} {
		tab := New(func(uint64) Target { return nil })
		f := &fake{proto: 3}
		if c.old != nil {
			if err := tab.Enable(1, f, *c.old); err != nil {
				t.Fatal(err)
			}
		}
		err := tab.Enable(1, f, c.o)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("Enable(%+v) after %+v: %q, want %q", c.o, c.old, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("Enable(%+v) after %+v: no error, want %q", c.o, c.old, c.want)
		}
	}
}
