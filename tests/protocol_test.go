package tests

import (
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pxBulk encodes s as a RESP bulk string.
func pxBulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// pxCommand encodes args as a RESP array of bulk strings.
func pxCommand(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		b.WriteString(pxBulk(a))
	}
	return b.String()
}

// pxInt reads an integer reply (":n\r\n") and returns n.
func pxInt(t *testing.T, reply string) int64 {
	t.Helper()
	if !strings.HasPrefix(reply, ":") || !strings.HasSuffix(reply, "\r\n") {
		t.Fatalf("want an integer reply, got %q", reply)
	}
	n, err := strconv.ParseInt(reply[1:len(reply)-2], 10, 64)
	if err != nil {
		t.Fatalf("bad integer reply %q", reply)
	}
	return n
}

// pxText returns the text of a bulk (RESP2) or verbatim (RESP3) reply.
func pxText(t *testing.T, reply string) string {
	t.Helper()
	i := strings.Index(reply, "\r\n")
	if i < 0 || (reply[0] != '$' && reply[0] != '=') {
		t.Fatalf("want a bulk or verbatim reply, got %q", reply)
	}
	body := strings.TrimSuffix(reply[i+2:], "\r\n")
	if reply[0] == '=' {
		if !strings.HasPrefix(body, "txt:") {
			t.Fatalf("verbatim reply without txt: format: %q", reply)
		}
		body = body[4:]
	}
	return body
}

// pxErrorThenClose sends input on a fresh connection and expects exactly
// the error reply want, then the connection closed.
func pxErrorThenClose(t *testing.T, s *Server, input, want string) {
	t.Helper()
	rc := s.Raw(t)
	rc.Send(input)
	var got string
	var err error
	for err == nil && len(got) < len(want) {
		var reply string
		reply, err = rc.ReadErr(10 * time.Second)
		got += reply
	}
	if got != want || err != nil {
		t.Fatalf("input %.60q: read (%q, %v), want %q", input, got, err, want)
	}
	if !rc.Closed(5 * time.Second) {
		t.Fatalf("input %.60q: connection still open after %q", input, want)
	}
}

// pxAlive checks that the server still answers a new client.
func pxAlive(t *testing.T, s *Server) {
	t.Helper()
	if s.Exited() {
		t.Fatalf("server exited:\n%s", s.Log())
	}
	if got := s.Raw(t).Do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING on a new connection = %q", got)
	}
}

// TestProtoErrors checks Redis's protocol errors; the texts are what Redis
// passes to addReplyError, which puts "ERR " before them.
func TestProtoErrors(t *testing.T) {
	t.Parallel()
	s := Start(t, "--proto-max-bulk-len", "1mb")
	cases := []struct {
		name, input, want string
	}{
		{"multibulk-too-long", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk-not-a-number", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk-plus-sign", "*+1\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"bulk-over-proto-max-bulk-len", "*1\r\n$2000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk-over-limit-after-an-arg", "*2\r\n$4\r\nECHO\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk-negative", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk-not-a-number", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"expected-dollar", "*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"},
		{"expected-dollar-second-arg", "*2\r\n$4\r\nECHO\r\n:12\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"unbalanced-double-quote", "ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"unbalanced-single-quote", "ECHO 'abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"quote-followed-by-text", "ECHO \"a\"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"single-quote-followed-by-quote", "ECHO 'it''s'\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		// 64 KiB + 1 bytes without a line end (PROTO_INLINE_MAX_SIZE), sent
		// whole so that the server reads everything before it closes.
		{"too-big-inline", strings.Repeat("a", 64<<10+1), "-ERR Protocol error: too big inline request\r\n"},
		{"too-big-mbulk-count", "*" + strings.Repeat("1", 64<<10), "-ERR Protocol error: too big mbulk count string\r\n"},
		{"too-big-bulk-count", "*1\r\n$" + strings.Repeat("1", 64<<10), "-ERR Protocol error: too big bulk count string\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pxErrorThenClose(t, s, tc.input, tc.want)
		})
	}
	t.Run("replies-before-the-error-arrive", func(t *testing.T) {
		pxErrorThenClose(t, s, "*1\r\n$4\r\nPING\r\nPING\r\n*x\r\n", "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n")
	})
	pxAlive(t, s)
}

func TestProtoIgnoredAndInline(t *testing.T) {
	t.Parallel()
	s := Start(t)
	cases := []struct {
		name, input, want string
	}{
		{"negative-multibulk", "*-10\r\nPING\r\n", "+PONG\r\n"},
		{"null-multibulk", "*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"empty-multibulk", "*0\r\nPING\r\n", "+PONG\r\n"},
		{"bare-crlf", "\r\n\r\nPING\r\n", "+PONG\r\n"},
		{"blank-inline", "   \t \r\nPING\r\n", "+PONG\r\n"},
		{"inline-ping", "PING\r\n", "+PONG\r\n"},
		{"inline-lf-only", "PING\n", "+PONG\r\n"},
		{"inline-lower-case", "ping hi\r\n", "$2\r\nhi\r\n"},
		{"inline-double-quotes", "ECHO \"a b\"\r\n", "$3\r\na b\r\n"},
		{"inline-single-quotes", "ECHO 'a \"b\"'\r\n", "$5\r\na \"b\"\r\n"},
		{"inline-escapes", "ECHO \"\\x41\\n\\t\\\"\"\r\n", "$4\r\nA\n\t\"\r\n"},
		{"inline-single-escape", "ECHO 'a\\'b'\r\n", "$3\r\na'b\r\n"},
		{"inline-extra-spaces", "  ECHO    x  \r\n", "$1\r\nx\r\n"},
		{"inline-unknown", "FOO a b\r\n", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"},
		{"multibulk-then-inline", "*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nECHO y\r\n", "$1\r\nx\r\n$1\r\ny\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := s.Raw(t)
			rc.Send(tc.input)
			var got strings.Builder
			for got.Len() < len(tc.want) {
				got.WriteString(rc.Read())
			}
			if got.String() != tc.want {
				t.Fatalf("input %q: got %q, want %q", tc.input, got.String(), tc.want)
			}
			if reply := rc.Do("PING"); reply != "+PONG\r\n" {
				t.Fatalf("PING after %q = %q", tc.input, reply)
			}
		})
	}
}

func TestProtoPreAuthLimits(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "pw")
	pingArgs := func(n int) string {
		args := make([]string, n)
		for i := range args {
			args[i] = "PING"
		}
		return pxCommand(args...)
	}
	t.Run("multibulk-over-10", func(t *testing.T) {
		pxErrorThenClose(t, s, "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n")
	})
	t.Run("bulk-over-16384", func(t *testing.T) {
		pxErrorThenClose(t, s, "*2\r\n$4\r\nECHO\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n")
	})
	t.Run("at-the-limits", func(t *testing.T) {
		rc := s.Raw(t)
		rc.Send(pingArgs(10))
		if got := rc.Read(); got != "-NOAUTH Authentication required.\r\n" {
			t.Fatalf("10 arguments before AUTH: %q", got)
		}
		if got := rc.Do("ECHO", strings.Repeat("e", 16384)); got != "-NOAUTH Authentication required.\r\n" {
			t.Fatalf("a 16384-byte bulk before AUTH: %q", got)
		}
	})
	t.Run("limits-lifted-after-auth", func(t *testing.T) {
		rc := s.Raw(t)
		if got := rc.Do("AUTH", "pw"); got != "+OK\r\n" {
			t.Fatalf("AUTH = %q", got)
		}
		rc.Send(pingArgs(11))
		if got := rc.Read(); got != "-ERR wrong number of arguments for 'ping' command\r\n" {
			t.Fatalf("11 arguments after AUTH: %q", got)
		}
		big := strings.Repeat("b", 100000)
		if got := rc.Do("ECHO", big); got != pxBulk(big) {
			t.Fatalf("a 100000-byte bulk after AUTH: %.60q", got)
		}
	})
	if got := s.Raw(t).Do("PING"); got != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("PING on a new connection = %q", got)
	}
}

func TestProtoQueryBufferLimit(t *testing.T) {
	t.Parallel()
	s := Start(t, "--client-query-buffer-limit", "1mb")
	t.Run("under-the-limit", func(t *testing.T) {
		v := strings.Repeat("v", 500<<10)
		if got := s.Raw(t).Do("ECHO", v); got != pxBulk(v) {
			t.Fatalf("ECHO of 500kb: %.60q", got)
		}
	})
	t.Run("incomplete-bulk-over-the-limit", func(t *testing.T) {
		other := s.Raw(t)
		rc := s.Raw(t)
		go func() {
			// The server closes the connection part way: ignore write errors.
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			rc.Conn.Write([]byte("*2\r\n$4\r\nECHO\r\n$3000000\r\n" + strings.Repeat("x", 2<<20)))
		}()
		got, err := rc.ReadErr(10 * time.Second)
		if got != "" || err == nil || isTimeout(err) {
			t.Fatalf("read (%q, %v), want the connection closed without a reply", got, err)
		}
		if got := other.Do("PING"); got != "+PONG\r\n" {
			t.Fatalf("another client's PING = %q", got)
		}
		pxAlive(t, s)
	})
}

func TestProtoSplitAndPipelined(t *testing.T) {
	t.Parallel()
	s := Start(t)
	t.Run("one-byte-writes", func(t *testing.T) {
		rc := s.Raw(t)
		for _, input := range []string{pxCommand("ECHO", "hello world"), "ECHO \"split inline\"\r\n"} {
			for i := 0; i < len(input); i++ {
				rc.Send(input[i : i+1])
			}
		}
		if got := rc.Read(); got != "$11\r\nhello world\r\n" {
			t.Fatalf("multibulk sent byte by byte: %q", got)
		}
		if got := rc.Read(); got != "$12\r\nsplit inline\r\n" {
			t.Fatalf("inline sent byte by byte: %q", got)
		}
	})
	t.Run("large-bulk-in-chunks", func(t *testing.T) {
		rc := s.Raw(t)
		v := strings.Repeat("0123456789", 30000)
		input := pxCommand("ECHO", v)
		for i := 0; i < len(input); i += 7919 {
			rc.Send(input[i:min(i+7919, len(input))])
		}
		if got := rc.Read(); got != pxBulk(v) {
			t.Fatalf("ECHO of 300000 bytes in chunks: %.60q", got)
		}
	})
	t.Run("1000-pings-in-one-write", func(t *testing.T) {
		rc := s.Raw(t)
		rc.Send(strings.Repeat("*1\r\n$4\r\nPING\r\n", 1000))
		for i := 0; i < 1000; i++ {
			if got := rc.Read(); got != "+PONG\r\n" {
				t.Fatalf("reply %d = %q", i, got)
			}
		}
	})
	t.Run("1000-echoes-in-order", func(t *testing.T) {
		rc := s.Raw(t)
		var b strings.Builder
		for i := 0; i < 1000; i++ {
			if i%2 == 0 {
				b.WriteString(pxCommand("ECHO", fmt.Sprint(i)))
			} else {
				fmt.Fprintf(&b, "ECHO %d\r\n", i)
			}
		}
		rc.Send(b.String())
		for i := 0; i < 1000; i++ {
			if got, want := rc.Read(), pxBulk(fmt.Sprint(i)); got != want {
				t.Fatalf("reply %d = %q, want %q", i, got, want)
			}
		}
	})
}

func TestProtoGarbage(t *testing.T) {
	t.Parallel()
	s := Start(t)
	rng := rand.New(rand.NewSource(20240601))
	prefixes := []string{"", "*", "*2\r\n$", "*3\r\n$4\r\nECHO\r\n", "\"", "$", "*1\r\n"}
	inputs := make([][]byte, 20)
	for i := range inputs {
		b := []byte(prefixes[i%len(prefixes)])
		for n := 1 + rng.Intn(8192); n > 0; n-- {
			if rng.Intn(4) == 0 {
				const special = "\r\n*$:+-\"'\\ 0123456789"
				b = append(b, special[rng.Intn(len(special))])
			} else {
				b = append(b, byte(rng.Intn(256)))
			}
		}
		inputs[i] = b
	}
	var wg sync.WaitGroup
	for _, in := range inputs {
		wg.Add(1)
		go func(in []byte) {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(3 * time.Second))
			for len(in) > 0 { // in pieces, so the parser resumes mid-token
				n := min(len(in), 1+len(in)%997)
				if _, err := nc.Write(in[:n]); err != nil {
					return
				}
				in = in[n:]
			}
			// Half-close: the server reads everything, then EOF, and
			// closes its side, so draining the replies below ends without
			// waiting out the deadline.
			nc.(*net.TCPConn).CloseWrite()
			buf := make([]byte, 4096)
			for {
				if _, err := nc.Read(buf); err != nil {
					return
				}
			}
		}(in)
	}
	wg.Wait()
	pxAlive(t, s)
	if log := s.Log(); strings.Contains(log, "panic") {
		t.Fatalf("the server logged a panic:\n%s", log)
	}
}
