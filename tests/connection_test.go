package tests

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// cxHello is the exact HELLO reply bucketd owes a connection with this id.
func cxHello(proto int, id int64) string {
	head := "*14\r\n"
	if proto == 3 {
		head = "%7\r\n"
	}
	return head + pxBulk("server") + pxBulk("bucketd") + pxBulk("version") + pxBulk("7.2.0") +
		pxBulk("proto") + fmt.Sprintf(":%d\r\n", proto) + pxBulk("id") + fmt.Sprintf(":%d\r\n", id) +
		pxBulk("mode") + pxBulk("standalone") + pxBulk("role") + pxBulk("master") +
		pxBulk("modules") + "*0\r\n"
}

// cxClientFields parses one CLIENT LIST / CLIENT INFO line.
func cxClientFields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

// cxClientNamed finds the CLIENT LIST line of the connection named name.
func cxClientNamed(list, name string) map[string]string {
	for _, line := range strings.Split(list, "\n") {
		if f := cxClientFields(line); f["name"] == name {
			return f
		}
	}
	return nil
}

var cxProtos = []int{2, 3}

// TestConnSimpleReplies runs the same commands over go-redis in RESP2 and RESP3.
func TestConnSimpleReplies(t *testing.T) {
	t.Parallel()
	s := Start(t)
	cases := []struct {
		args    []any
		want    any
		wantErr string
	}{
		{args: []any{"ping"}, want: "PONG"},
		{args: []any{"PING", "hello world"}, want: "hello world"},
		{args: []any{"echo", "a b\r\nc"}, want: "a b\r\nc"},
		{args: []any{"select", "0"}, want: "OK"},
		{args: []any{"select", "1"}, wantErr: "ERR DB index is out of range"},
		{args: []any{"select", "x"}, wantErr: "ERR value is not an integer or out of range"},
		{args: []any{"echo"}, wantErr: "ERR wrong number of arguments for 'echo' command"},
		{args: []any{"ping", "a", "b"}, wantErr: "ERR wrong number of arguments for 'ping' command"},
		{args: []any{"foo", "a", "b"}, wantErr: "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{args: []any{"foo"}, wantErr: "ERR unknown command 'foo', with args beginning with: "},
		{args: []any{"b.get"}, wantErr: "ERR wrong number of arguments for 'b.get' command"},
		{args: []any{"B.GET", "x"}, wantErr: "ERR wrong number of arguments for 'b.get' command"},
		{args: []any{"client", "foo"}, wantErr: "ERR unknown subcommand 'foo'. Try CLIENT HELP."},
		{args: []any{"CLIENT", "FOO"}, wantErr: "ERR unknown subcommand 'FOO'. Try CLIENT HELP."},
		{args: []any{"client"}, wantErr: "ERR wrong number of arguments for 'client' command"},
		{args: []any{"client", "id", "x"}, wantErr: "ERR wrong number of arguments for 'client|id' command"},
		{args: []any{"config", "get"}, wantErr: "ERR wrong number of arguments for 'config|get' command"},
		{args: []any{"command", "foo"}, wantErr: "ERR unknown subcommand 'foo'. Try COMMAND HELP."},
		{args: []any{"auth", "x"}, wantErr: "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
		{args: []any{"auth", "default", "anything"}, want: "OK"},
		{args: []any{"hello", "4"}, wantErr: "NOPROTO unsupported protocol version"},
		{args: []any{"hello", "abc"}, wantErr: "ERR Protocol version is not an integer or out of range"},
		{args: []any{"hello", "3", "foo"}, wantErr: "ERR Syntax error in HELLO option 'foo'"},
		{args: []any{"client", "setname", "a b"}, wantErr: "ERR Client names cannot contain spaces, newlines or special characters."},
		{args: []any{"client", "setinfo", "foo", "x"}, wantErr: "ERR Unrecognized option 'foo'"},
		{args: []any{"shutdown", "foo"}, wantErr: "ERR syntax error"},
		{args: []any{"flushall", "later"}, wantErr: "ERR syntax error"},
		{args: []any{"slowlog", "get", "x"}, wantErr: "ERR count should be greater than or equal to -1"},
	}
	for _, proto := range cxProtos {
		c := s.Client(t, proto)
		for _, tc := range cases {
			t.Run(fmt.Sprintf("resp%d/%v", proto, tc.args), func(t *testing.T) {
				got, err := c.Do(ctx(t), tc.args...).Result()
				if tc.wantErr != "" {
					if err == nil || err.Error() != tc.wantErr {
						t.Fatalf("got (%v, %v), want error %q", got, err, tc.wantErr)
					}
					return
				}
				if err != nil || !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got (%#v, %v), want %#v", got, err, tc.want)
				}
			})
		}
	}
	if s.Exited() {
		t.Fatal("server exited")
	}
}

// TestConnRawReplies checks exact bytes for RESP2 and RESP3 connections.
func TestConnRawReplies(t *testing.T) {
	t.Parallel()
	s := Start(t)
	cases := []struct {
		args  []string
		resp2 string
		resp3 string // "" means the same as resp2
	}{
		{args: []string{"PING"}, resp2: "+PONG\r\n"},
		{args: []string{"PING", "hi"}, resp2: "$2\r\nhi\r\n"},
		{args: []string{"ECHO", ""}, resp2: "$0\r\n\r\n"},
		{args: []string{"ECHO", "a\x00b\r\n"}, resp2: "$5\r\na\x00b\r\n\r\n"},
		{args: []string{"CLIENT", "GETNAME"}, resp2: "$-1\r\n", resp3: "_\r\n"},
		{args: []string{"SELECT", "1"}, resp2: "-ERR DB index is out of range\r\n"},
		{args: []string{"HELLO", "4"}, resp2: "-NOPROTO unsupported protocol version\r\n"},
		{args: []string{"foo", "a", "b"}, resp2: "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"},
		{args: []string{"b.get"}, resp2: "-ERR wrong number of arguments for 'b.get' command\r\n"},
		{args: []string{"CLIENT", "FOO"}, resp2: "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"},
		{args: []string{"INFO", "nosuchsection"}, resp2: "$0\r\n\r\n", resp3: "=4\r\ntxt:\r\n"},
		{args: []string{"CONFIG", "GET", "maxclients"}, resp2: "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n", resp3: "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"},
		{args: []string{"CONFIG", "GET", "nosuch*"}, resp2: "*0\r\n", resp3: "%0\r\n"},
		{args: []string{"COMMAND", "DOCS", "nosuch"}, resp2: "*0\r\n", resp3: "%0\r\n"},
		{args: []string{"COMMAND", "DOCS", "echo"},
			resp2: "*2\r\n$4\r\necho\r\n*8\r\n" + pxBulk("summary") + pxBulk("Returns the given string.") + pxBulk("since") + pxBulk("1.0.0") + pxBulk("group") + pxBulk("connection") + pxBulk("syntax") + pxBulk("message"),
			resp3: "%1\r\n$4\r\necho\r\n%4\r\n" + pxBulk("summary") + pxBulk("Returns the given string.") + pxBulk("since") + pxBulk("1.0.0") + pxBulk("group") + pxBulk("connection") + pxBulk("syntax") + pxBulk("message")},
		// Redis 7 answers an unknown name with addReplyNull: $-1 in RESP2, _ in RESP3.
		{args: []string{"COMMAND", "INFO", "b.get", "get-nonexistent"},
			resp2: "*2\r\n*10\r\n$5\r\nb.get\r\n:3\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*2\r\n+@read\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n",
			resp3: "*2\r\n*10\r\n$5\r\nb.get\r\n:3\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~2\r\n+@read\r\n+@fast\r\n~0\r\n*0\r\n*0\r\n_\r\n"},
	}
	for _, proto := range cxProtos {
		rc := s.Raw(t)
		if proto == 3 {
			rc.Do("HELLO", "3")
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("resp%d/%v", proto, tc.args), func(t *testing.T) {
				want := tc.resp2
				if proto == 3 && tc.resp3 != "" {
					want = tc.resp3
				}
				if got := rc.Do(tc.args...); got != want {
					t.Fatalf("got  %q\nwant %q", got, want)
				}
			})
		}
	}
}

func TestConnHello(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("raw/%d", proto), func(t *testing.T) {
			rc := s.Raw(t)
			id := pxInt(t, rc.Do("CLIENT", "ID"))
			if got, want := rc.Do("HELLO", strconv.Itoa(proto)), cxHello(proto, id); got != want {
				t.Fatalf("HELLO %d:\ngot  %q\nwant %q", proto, got, want)
			}
			// HELLO without a version answers in the protocol in use.
			if got, want := rc.Do("HELLO"), cxHello(proto, id); got != want {
				t.Fatalf("HELLO:\ngot  %q\nwant %q", got, want)
			}
			if got, want := rc.Do("HELLO", strconv.Itoa(proto), "SETNAME", "myname"), cxHello(proto, id); got != want {
				t.Fatalf("HELLO SETNAME:\ngot  %q\nwant %q", got, want)
			}
			if got := rc.Do("CLIENT", "GETNAME"); got != "$6\r\nmyname\r\n" {
				t.Fatalf("CLIENT GETNAME = %q", got)
			}
			// A failed HELLO changes nothing.
			if got := rc.Do("HELLO", "4"); got != "-NOPROTO unsupported protocol version\r\n" {
				t.Fatalf("HELLO 4 = %q", got)
			}
			if got, want := rc.Do("HELLO"), cxHello(proto, id); got != want {
				t.Fatalf("HELLO after HELLO 4:\ngot  %q\nwant %q", got, want)
			}
			if got := rc.Do("HELLO", strconv.Itoa(5-proto), "SETNAME", "bad name"); got != "-ERR Client names cannot contain spaces, newlines or special characters.\r\n" {
				t.Fatalf("HELLO SETNAME with a space = %q", got)
			}
			if got, want := rc.Do("HELLO"), cxHello(proto, id); got != want {
				t.Fatalf("a failed HELLO changed the protocol or name:\ngot  %q\nwant %q", got, want)
			}
			if got := rc.Do("CLIENT", "GETNAME"); got != "$6\r\nmyname\r\n" {
				t.Fatalf("CLIENT GETNAME after a failed HELLO SETNAME = %q", got)
			}
		})
		t.Run(fmt.Sprintf("go-redis/%d", proto), func(t *testing.T) {
			conn := s.Client(t, proto).Conn()
			defer conn.Close()
			id, err := conn.ClientID(ctx(t)).Result()
			if err != nil {
				t.Fatal(err)
			}
			got, err := conn.Hello(ctx(t), proto, "", "", "").Result()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"server": "bucketd", "version": "7.2.0", "proto": int64(proto), "id": id,
				"mode": "standalone", "role": "master", "modules": []any{}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("HELLO %d = %#v, want %#v", proto, got, want)
			}
		})
	}
}

func TestConnAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "s3cret")
	const noauth = "-NOAUTH Authentication required.\r\n"
	const wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	rc := s.Raw(t)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, noauth},
		{[]string{"B.GET", "users", "a"}, noauth},
		{[]string{"CLIENT", "GETNAME"}, noauth},
		{[]string{"b.get"}, "-ERR wrong number of arguments for 'b.get' command\r\n"},
		{[]string{"nosuch"}, "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
		{[]string{"HELLO", "3"}, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"},
		{[]string{"HELLO", "3", "AUTH", "default", "wrong"}, wrongpass},
		{[]string{"AUTH", "wrong"}, wrongpass},
		{[]string{"AUTH", "other", "s3cret"}, wrongpass},
		{[]string{"AUTH", "a", "b", "c"}, "-ERR syntax error\r\n"},
		{[]string{"PING"}, noauth},
		{[]string{"AUTH", "s3cret"}, "+OK\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"AUTH", "wrong"}, wrongpass},
		{[]string{"PING"}, "+PONG\r\n"}, // a failed AUTH does not log out
		{[]string{"RESET"}, "+RESET\r\n"},
		{[]string{"PING"}, noauth},
		{[]string{"AUTH", "default", "s3cret"}, "+OK\r\n"},
		{[]string{"ECHO", "in"}, "$2\r\nin\r\n"},
	}
	for i, st := range steps {
		if got := rc.Do(st.args...); got != st.want {
			t.Fatalf("step %d %v: got %q, want %q", i, st.args, got, st.want)
		}
	}

	t.Run("hello-auth-setname", func(t *testing.T) {
		rc := s.Raw(t)
		hello := rc.Do("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "n1")
		if want := cxHello(3, pxInt(t, rc.Do("CLIENT", "ID"))); hello != want {
			t.Fatalf("got  %q\nwant %q", hello, want)
		}
		if got := rc.Do("CLIENT", "GETNAME"); got != "$2\r\nn1\r\n" {
			t.Fatalf("CLIENT GETNAME = %q", got)
		}
	})
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("go-redis/%d", proto), func(t *testing.T) {
			bad := s.Client(t, proto)
			if err := bad.Ping(ctx(t)).Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
				t.Fatalf("PING without password: %v", err)
			}
			good := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: proto, Password: "s3cret", MaxRetries: -1})
			defer good.Close()
			if got, err := good.Ping(ctx(t)).Result(); err != nil || got != "PONG" {
				t.Fatalf("PING with password: %q %v", got, err)
			}
			wrong := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: proto, Password: "nope", MaxRetries: -1})
			defer wrong.Close()
			if err := wrong.Ping(ctx(t)).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS invalid username-password pair or user is disabled.") {
				t.Fatalf("PING with a wrong password: %v", err)
			}
		})
	}
}

func TestConnClient(t *testing.T) {
	t.Parallel()
	s := Start(t)
	rc := s.Raw(t)
	id := pxInt(t, rc.Do("CLIENT", "ID"))
	if other := pxInt(t, s.Raw(t).Do("CLIENT", "ID")); other <= id {
		t.Fatalf("ids not increasing: %d then %d", id, other)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"CLIENT", "GETNAME"}, "$-1\r\n"},
		{[]string{"CLIENT", "SETNAME", "conn-a"}, "+OK\r\n"},
		{[]string{"CLIENT", "GETNAME"}, "$6\r\nconn-a\r\n"},
		{[]string{"CLIENT", "SETNAME", "bad\nname"}, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
		{[]string{"CLIENT", "GETNAME"}, "$6\r\nconn-a\r\n"},
		{[]string{"CLIENT", "SETNAME", ""}, "+OK\r\n"}, // an empty name clears it
		{[]string{"CLIENT", "GETNAME"}, "$-1\r\n"},
		{[]string{"CLIENT", "SETNAME", "conn-a"}, "+OK\r\n"},
		{[]string{"CLIENT", "SETINFO", "LIB-NAME", "mylib"}, "+OK\r\n"},
		{[]string{"CLIENT", "SETINFO", "lib-ver", "1.2.3"}, "+OK\r\n"},
		{[]string{"CLIENT", "SETINFO", "lib-ver", "1 2"}, "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"},
		{[]string{"CLIENT", "KILL", "1.2.3.4:5"}, "-ERR No such client\r\n"},
		{[]string{"CLIENT", "KILL", "ID", "999999"}, ":0\r\n"},
		{[]string{"CLIENT", "KILL", "ID", "abc"}, "-ERR client-id should be greater than 0\r\n"},
		{[]string{"CLIENT", "KILL", "ID"}, "-ERR No such client\r\n"}, // three arguments: the old addr form
		{[]string{"CLIENT", "KILL", "ID", "1", "SKIPME"}, "-ERR syntax error\r\n"},
	}
	for i, st := range steps {
		if got := rc.Do(st.args...); got != st.want {
			t.Fatalf("step %d %v: got %q, want %q", i, st.args, got, st.want)
		}
	}

	info := cxClientFields(pxText(t, rc.Do("CLIENT", "INFO")))
	for k, v := range map[string]string{"id": strconv.FormatInt(id, 10), "addr": rc.LocalAddr().String(), "name": "conn-a",
		"lib-name": "mylib", "lib-ver": "1.2.3", "resp": "2", "db": "0", "multi": "-1", "flags": "N", "user": "default"} {
		if info[k] != v {
			t.Errorf("CLIENT INFO %s=%q, want %q (%v)", k, info[k], v, info)
		}
	}
	t.Run("cmd-is-the-running-command", func(t *testing.T) {
		// Redis sets c->lastcmd before running the command, so CLIENT INFO
		// reports cmd=client|info (see the CLIENT INFO page's example).
		fresh := s.Raw(t)
		if got := cxClientFields(pxText(t, fresh.Do("CLIENT", "INFO")))["cmd"]; got != "client|info" {
			t.Errorf("first CLIENT INFO: cmd=%q, want client|info", got)
		}
		fid := strconv.FormatInt(pxInt(t, fresh.Do("CLIENT", "ID")), 10)
		fresh.Do("PING")
		if got := cxClientFields(pxText(t, fresh.Do("CLIENT", "LIST", "ID", fid)))["cmd"]; got != "client|list" {
			t.Errorf("CLIENT LIST ID <own id> after PING: cmd=%q, want client|list", got)
		}
	})

	t.Run("list-shows-go-redis-clients", func(t *testing.T) {
		for _, proto := range cxProtos {
			name := fmt.Sprintf("gr%d", proto)
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: proto, ClientName: name, MaxRetries: -1})
			defer c.Close()
			if err := c.Ping(ctx(t)).Err(); err != nil {
				t.Fatal(err)
			}
			list, err := s.Client(t, 3).ClientList(ctx(t)).Result()
			if err != nil {
				t.Fatal(err)
			}
			f := cxClientNamed(list, name)
			if f == nil {
				t.Fatalf("no client named %s in CLIENT LIST:\n%s", name, list)
			}
			if f["resp"] != strconv.Itoa(proto) || !strings.HasPrefix(f["lib-name"], "go-redis(") || f["lib-ver"] != redis.Version() {
				t.Errorf("CLIENT LIST line of %s: resp=%s lib-name=%s lib-ver=%s, want resp=%d lib-name=go-redis(... lib-ver=%s",
					name, f["resp"], f["lib-name"], f["lib-ver"], proto, redis.Version())
			}
		}
		raw := pxText(t, rc.Do("CLIENT", "LIST", "ID", strconv.FormatInt(id, 10)))
		if strings.Count(raw, "\n") != 1 || cxClientFields(raw)["name"] != "conn-a" {
			t.Errorf("CLIENT LIST ID %d = %q", id, raw)
		}
		if got := rc.Do("CLIENT", "LIST", "ID", "abc"); got != "-ERR Invalid client ID\r\n" {
			t.Errorf("CLIENT LIST ID abc = %q", got)
		}
	})

	kills := []struct {
		name string
		args func(victimID int64, victimAddr string) []string
		want string
	}{
		{"by-id", func(id int64, _ string) []string { return []string{"CLIENT", "KILL", "ID", strconv.FormatInt(id, 10)} }, ":1\r\n"},
		{"by-addr-old-form", func(_ int64, addr string) []string { return []string{"CLIENT", "KILL", addr} }, "+OK\r\n"},
		{"by-addr-filter", func(_ int64, addr string) []string { return []string{"CLIENT", "KILL", "ADDR", addr} }, ":1\r\n"},
	}
	for _, k := range kills {
		t.Run("kill-"+k.name, func(t *testing.T) {
			victim := s.Raw(t)
			vid := pxInt(t, victim.Do("CLIENT", "ID"))
			if got := rc.Do(k.args(vid, victim.LocalAddr().String())...); got != k.want {
				t.Fatalf("got %q, want %q", got, k.want)
			}
			if got, err := victim.ReadErr(5 * time.Second); got != "" || !errors.Is(err, io.EOF) {
				t.Fatalf("killed connection read (%q, %v), want EOF", got, err)
			}
			eventually(t, 5*time.Second, "the killed client to leave CLIENT LIST", func() bool {
				return !strings.Contains(pxText(t, rc.Do("CLIENT", "LIST")), fmt.Sprintf("id=%d ", vid))
			})
			if got := rc.Do("PING"); got != "+PONG\r\n" {
				t.Fatalf("killer PING = %q", got)
			}
		})
	}
	t.Run("kill-self", func(t *testing.T) {
		self := s.Raw(t)
		sid := strconv.FormatInt(pxInt(t, self.Do("CLIENT", "ID")), 10)
		if got := self.Do("CLIENT", "KILL", "ID", sid); got != ":0\r\n" {
			t.Fatalf("CLIENT KILL ID self (skipme yes) = %q", got)
		}
		if got := self.Do("CLIENT", "KILL", "ID", sid, "SKIPME", "no"); got != ":1\r\n" {
			t.Fatalf("CLIENT KILL ID self SKIPME no = %q", got)
		}
		if !self.Closed(5 * time.Second) {
			t.Fatal("connection not closed after killing itself")
		}
		// The old form may kill the caller too: Redis queues +OK, then closes
		// (CLIENT_CLOSE_AFTER_REPLY in clientKillCommand).
		old := s.Raw(t)
		old.Send(pxCommand("CLIENT", "KILL", old.LocalAddr().String()))
		if got, err := old.ReadErr(5 * time.Second); got != "+OK\r\n" {
			t.Fatalf("CLIENT KILL <own addr>: read (%q, %v), want +OK then the connection closed", got, err)
		}
		if !old.Closed(5 * time.Second) {
			t.Fatal("connection not closed after CLIENT KILL <own addr>")
		}
	})
}

func TestConnCommandIntrospection(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			c := s.Client(t, proto)
			all, err := c.Command(ctx(t)).Result()
			if err != nil {
				t.Fatal(err)
			}
			count, err := c.Do(ctx(t), "COMMAND", "COUNT").Int()
			if err != nil || count != len(all) || count == 0 {
				t.Fatalf("COMMAND COUNT = %d (%v), len(COMMAND) = %d", count, err, len(all))
			}
			for _, name := range []string{"ping", "hello", "client", "config", "b.get", "bucket.define"} {
				if all[name] == nil {
					t.Errorf("COMMAND lacks %s", name)
				}
			}
			if g := all["b.get"]; g != nil && (g.Arity != 3 || g.FirstKeyPos != 1 || g.LastKeyPos != 1 || g.StepCount != 1 || !reflect.DeepEqual(g.Flags, []string{"readonly", "fast"})) {
				t.Errorf("COMMAND b.get = %+v", *g)
			}
			docs, err := c.Do(ctx(t), "COMMAND", "DOCS").Result()
			if err != nil {
				t.Fatal(err)
			}
			entries := map[string]map[string]any{}
			switch d := docs.(type) {
			case map[any]any: // RESP3: a map keyed by name
				for k, v := range d {
					m := map[string]any{}
					for dk, dv := range v.(map[any]any) {
						m[dk.(string)] = dv
					}
					entries[k.(string)] = m
				}
			case []any: // RESP2: flat name, doc pairs
				for i := 0; i+1 < len(d); i += 2 {
					m := map[string]any{}
					doc := d[i+1].([]any)
					for j := 0; j+1 < len(doc); j += 2 {
						m[doc[j].(string)] = doc[j+1]
					}
					entries[d[i].(string)] = m
				}
			default:
				t.Fatalf("COMMAND DOCS reply of type %T", docs)
			}
			if len(entries) != count {
				t.Fatalf("COMMAND DOCS has %d entries, COMMAND COUNT is %d", len(entries), count)
			}
			for name, doc := range entries {
				for _, field := range []string{"summary", "since", "group"} {
					if v, ok := doc[field].(string); !ok || v == "" {
						t.Errorf("COMMAND DOCS %s: %s = %#v", name, field, doc[field])
					}
				}
			}
			if g := entries["b.get"]; g["group"] != "bucket" || g["summary"] != "Returns the record with that key." {
				t.Errorf("COMMAND DOCS b.get = %v", g)
			}
		})
	}
}

// cxDefineBuckets defines two small buckets and inserts n records into "users"
// and one into "teams" over c.
func cxDefineBuckets(t *testing.T, c *redis.Client, n int) {
	t.Helper()
	def := `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number"}}}`
	for _, b := range []string{"users", "teams"} {
		if got, err := c.Do(ctx(t), "BUCKET.DEFINE", b, def).Result(); err != nil || got != "OK" {
			t.Fatalf("BUCKET.DEFINE %s: %v %v", b, got, err)
		}
	}
	for i := 0; i < n; i++ {
		if err := c.Do(ctx(t), "B.INSERT", "users", fmt.Sprintf(`{"id":"u%d","n":%d}`, i, i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Do(ctx(t), "B.INSERT", "teams", `{"id":"t1","n":1}`).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestConnInfoDBSizeFlushAll(t *testing.T) {
	t.Parallel()
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			s := Start(t)
			c := s.Client(t, proto)
			if n, err := c.DBSize(ctx(t)).Result(); err != nil || n != 0 {
				t.Fatalf("DBSIZE on an empty server = %d %v", n, err)
			}
			cxDefineBuckets(t, c, 2)
			if n, err := c.DBSize(ctx(t)).Result(); err != nil || n != 3 {
				t.Fatalf("DBSIZE = %d %v, want 3", n, err)
			}

			def, err := c.Info(ctx(t)).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"# Server\r\n", "redis_version:7.2.0\r\n", "# Clients\r\n", "# Stats\r\n", "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n", "# Buckets\r\n"} {
				if !strings.Contains(def, want) {
					t.Errorf("INFO lacks %q:\n%s", want, def)
				}
			}
			two, err := c.Info(ctx(t), "server", "clients").Result()
			if err != nil || !strings.HasPrefix(two, "# Server\r\n") || !strings.Contains(two, "\r\n# Clients\r\nconnected_clients:") || strings.Contains(two, "# Buckets") {
				t.Errorf("INFO server clients = %q %v", two, err)
			}
			server, err := c.Info(ctx(t), "server").Result()
			if err != nil || !strings.HasPrefix(server, "# Server\r\nredis_version:7.2.0\r\n") || strings.Contains(server, "# Clients") || strings.Contains(server, "# Buckets") {
				t.Errorf("INFO server = %q %v", server, err)
			}
			buckets, err := c.Info(ctx(t), "buckets").Result()
			if err != nil || !strings.HasPrefix(buckets, "# Buckets\r\nbuckets:2\r\n") ||
				!strings.Contains(buckets, "\r\nbucket_users:records=2,indexes=0,") || !strings.Contains(buckets, "\r\nbucket_teams:records=1,") {
				t.Errorf("INFO buckets = %q %v", buckets, err)
			}
			if got, err := c.Info(ctx(t), "nosuchsection").Result(); err != nil || got != "" {
				t.Errorf("INFO nosuchsection = %q %v, want empty", got, err)
			}

			if got, err := c.FlushAll(ctx(t)).Result(); err != nil || got != "OK" {
				t.Fatalf("FLUSHALL = %q %v", got, err)
			}
			if n, err := c.DBSize(ctx(t)).Result(); err != nil || n != 0 {
				t.Fatalf("DBSIZE after FLUSHALL = %d %v", n, err)
			}
			if got, err := c.Do(ctx(t), "BUCKET.LIST").Result(); err != nil || !reflect.DeepEqual(got, []any{"teams", "users"}) {
				t.Fatalf("BUCKET.LIST after FLUSHALL = %#v %v", got, err)
			}
			if err := c.Do(ctx(t), "B.GET", "users", "u0").Err(); err != redis.Nil {
				t.Fatalf("B.GET after FLUSHALL: %v, want nil", err)
			}
			if err := c.Do(ctx(t), "B.INSERT", "users", `{"id":"u0","n":"not a number"}`).Err(); err == nil || !strings.HasPrefix(err.Error(), "VALIDATION ") {
				t.Fatalf("the schema was lost by FLUSHALL: %v", err)
			}
			if err := c.Do(ctx(t), "B.INSERT", "users", `{"id":"u0","n":5}`).Err(); err != nil {
				t.Fatal(err)
			}
			if n, err := c.DBSize(ctx(t)).Result(); err != nil || n != 1 {
				t.Fatalf("DBSIZE = %d %v, want 1", n, err)
			}
		})
	}
}

func TestConnTimeQuitReset(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("time/resp%d", proto), func(t *testing.T) {
			got, err := s.Client(t, proto).Time(ctx(t)).Result()
			if d := time.Since(got); err != nil || d > 5*time.Second || d < -5*time.Second {
				t.Fatalf("TIME = %v %v, now is %v", got, err, time.Now())
			}
		})
	}
	t.Run("time/raw", func(t *testing.T) {
		v, rest := parseReply(t, s.Raw(t).Do("TIME"))
		arr, ok := v.([]any)
		if !ok || rest != "" || len(arr) != 2 {
			t.Fatalf("TIME = %#v", v)
		}
		sec, err1 := strconv.ParseInt(arr[0].(string), 10, 64)
		usec, err2 := strconv.ParseInt(arr[1].(string), 10, 64)
		if err1 != nil || err2 != nil || usec < 0 || usec > 999999 || sec < time.Now().Unix()-5 || sec > time.Now().Unix()+5 {
			t.Fatalf("TIME = %v", arr)
		}
	})
	for _, proto := range cxProtos {
		t.Run(fmt.Sprintf("quit/resp%d", proto), func(t *testing.T) {
			rc := s.Raw(t)
			rc.Do("HELLO", strconv.Itoa(proto))
			if got := rc.Do("QUIT"); got != "+OK\r\n" {
				t.Fatalf("QUIT = %q", got)
			}
			if got, err := rc.ReadErr(5 * time.Second); got != "" || !errors.Is(err, io.EOF) {
				t.Fatalf("after QUIT read (%q, %v), want EOF", got, err)
			}
		})
	}
	t.Run("reset", func(t *testing.T) {
		rc := s.Raw(t)
		id := pxInt(t, rc.Do("CLIENT", "ID"))
		steps := []struct {
			args []string
			want string
		}{
			{[]string{"HELLO", "3", "SETNAME", "before"}, cxHello(3, id)},
			{[]string{"MULTI"}, "+OK\r\n"},
			{[]string{"PING"}, "+QUEUED\r\n"},
			{[]string{"RESET"}, "+RESET\r\n"},
			{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
			{[]string{"CLIENT", "GETNAME"}, "$-1\r\n"}, // RESP2 null: the name and RESP3 are gone
			{[]string{"HELLO"}, cxHello(2, id)},
			{[]string{"RESET", "x"}, "-ERR wrong number of arguments for 'reset' command\r\n"},
		}
		for i, st := range steps {
			if got := rc.Do(st.args...); got != st.want {
				t.Fatalf("step %d %v: got %q, want %q", i, st.args, got, st.want)
			}
		}
	})
}
