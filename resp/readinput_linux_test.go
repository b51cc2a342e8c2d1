//go:build linux

package resp

import (
	"net"
	"testing"
)

// readInput, the read of every connection, allocates nothing per read
// (its RawConn and callback are made once per connection).
func TestReadInputAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c := &Conn{nc: server}
	buf := make([]byte, 64)
	msg := []byte("PING\r\n")
	read := func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if n, err := c.readInput(buf); err != nil || n == 0 {
			t.Fatalf("readInput: %d, %v", n, err)
		}
		if !c.inputPending.Load() {
			t.Fatal("inputPending is false after a read that took bytes")
		}
	}
	read() // the first read makes the RawConn and the callback
	if a := testing.AllocsPerRun(100, read); a != 0 {
		t.Errorf("readInput allocates %.1f times per read, want 0", a)
	}
}
