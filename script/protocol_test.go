package script

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"bucketd/resp"
)

// protoCaller answers "debug protocol <type>" as Redis's DEBUG PROTOCOL
// does, in the protocol of the script (w.Proto).
type protoCaller struct{}

func (protoCaller) Call(args [][]byte, w *resp.Writer) {
	resp3 := w.Proto >= 3
	switch string(args[2]) {
	case "bignum":
		if resp3 {
			w.Raw([]byte("(1234567999999999999999999999999999999\r\n"))
		} else {
			w.BulkString("1234567999999999999999999999999999999")
		}
	case "map":
		w.Map(3)
		for i := range 3 {
			w.Int(int64(i))
			w.Bool(i == 1)
		}
	case "set":
		w.Set(3)
		for i := range 3 {
			w.Int(int64(i))
		}
	case "double":
		w.Double(3.141)
	case "null":
		w.Null()
	case "verbatim":
		w.Verbatim("txt", "This is a verbatim\nstring")
	case "true":
		w.Bool(true)
	case "false":
		w.Bool(false)
	case "attrib":
		if resp3 {
			w.Raw([]byte("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"))
		}
		w.BulkString("Some real reply following the attribute")
	}
}

// TestProtocolParsing follows Redis's "test RESP<script>/<client> <type>
// protocol parsing" tests: a reply read in the script's protocol, returned
// to a client of another.
func TestProtocolParsing(t *testing.T) {
	e := New(Options{Log: zerolog.Nop(), MaxMemory: 64 << 20})
	t.Cleanup(e.Close)
	cases := []struct {
		typ        string
		resp2, all string // reply when the script or the client is RESP2; when both are RESP3
	}{
		{"bignum", "$37\r\n1234567999999999999999999999999999999\r\n", "(1234567999999999999999999999999999999\r\n"},
		// Map and set order is the Lua table's (lua_next order in Redis).
		{"map", "*6\r\n", "%3\r\n"},
		{"set", "*3\r\n", "~3\r\n"},
		{"double", "$5\r\n3.141\r\n", ",3.141\r\n"},
		{"verbatim", "$25\r\nThis is a verbatim\nstring\r\n", "=29\r\ntxt:This is a verbatim\nstring\r\n"},
		{"true", ":1\r\n", "#t\r\n"},
		{"false", ":0\r\n", "#f\r\n"},
	}
	for script := 2; script <= 3; script++ {
		for client := 2; client <= 3; client++ {
			body := "redis.setresp(" + string(rune('0'+script)) + ") return redis.call('debug', 'protocol', ARGV[1])"
			s, err := e.Load([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			run := func(typ string) string {
				w := resp.Writer{Proto: client}
				if err := e.Eval(s, &Call{Args: [][]byte{[]byte(typ)}, Caller: protoCaller{}}, &w); err != nil {
					return "-" + err.Error()
				}
				return string(w.B)
			}
			for _, c := range cases {
				want := c.resp2
				if script == 3 && client == 3 {
					want = c.all
				}
				if got := run(c.typ); !strings.HasPrefix(got, want) {
					t.Errorf("RESP%d/%d %s: got %q, want prefix %q", script, client, c.typ, got, want)
				}
			}
			nullWant := "$-1\r\n"
			if client == 3 {
				nullWant = "_\r\n"
			}
			if got := run("null"); got != nullWant {
				t.Errorf("RESP%d/%d null: got %q, want %q", script, client, got, nullWant)
			}
			if got, want := run("attrib"), "$39\r\nSome real reply following the attribute\r\n"; got != want {
				t.Errorf("RESP%d/%d attrib: got %q, want %q", script, client, got, want)
			}
		}
	}
	malformed := []struct {
		proto int
		want  string
	}{{2, "$8\r\n123  123\r\n"}, {3, "(123  123\r\n"}}
	for _, c := range malformed {
		if got := eval(t, e, "return {big_number='123\\r\\n123'}", c.proto); got != c.want {
			t.Errorf("malformed big number, RESP%d: got %q, want %q", c.proto, got, c.want)
		}
	}
}
