package cluster

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"bucketd/snapshot"
)

// headerNode returns a node that proposes as id, in epoch.
func headerNode(id string, epoch uint64) *Node {
	n := &Node{opts: Options{NodeID: id}}
	n.epoch.Store(epoch)
	return n
}

// TestHeaderRoundTrip checks that parseHeader gives back what
// appendHeader wrote: the node's id and epoch, the mark, and the entries
// that follow the header byte for byte; that the header is the version
// byte, two 8-byte numbers, the id's length and the id; and that
// appendHeader keeps what dst held.
func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	entries := snapshot.AppendDefinition(nil, snapshot.DefNode, []byte("n2"), []byte("10.0.0.2:6380"))
	entries = snapshot.AppendDefinition(entries, snapshot.DefDrop, []byte("b"))
	tests := []struct {
		name    string
		id      string
		epoch   uint64
		last    int64
		entries []byte
	}{
		{"typical", "n1", 0x9e3779b97f4a7c15, 42, entries},
		{"no entries", "n1", 1, 0, nil},
		{"empty id", "", 7, 1, entries},
		{"binary id", "\x00\xff'B'\r\n", 3, 2, []byte("x")},
		{"id of 255 bytes", strings.Repeat("i", 255), 5, 9, entries},
		{"zero epoch", "node-a", 0, 1, entries},
		{"max epoch", "node-a", math.MaxUint64, 1, entries},
		{"max mark", "node-a", 9, math.MaxInt64, entries},
		{"negative mark", "node-a", 9, -1, entries},
		{"min mark", "node-a", 9, math.MinInt64, entries},
		{"entries that look like a header", "n1", 11, 12, []byte("B\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02n9")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := headerNode(tc.id, tc.epoch)
			prefix := []byte("before")
			data := n.appendHeader(bytes.Clone(prefix), tc.last)
			if !bytes.HasPrefix(data, prefix) {
				t.Fatalf("appendHeader lost dst's bytes: %q", data)
			}
			header := data[len(prefix):]
			if len(header) != 18+len(tc.id) || header[0] != 'B' || int(header[17]) != len(tc.id) || string(header[18:]) != tc.id {
				t.Fatalf("header %q: want 'B', epoch, mark, %d, %q", header, len(tc.id), tc.id)
			}
			data = append(data, tc.entries...)
			id, epoch, last, rest, err := parseHeader(data[len(prefix):])
			if err != nil {
				t.Fatalf("parseHeader: %v", err)
			}
			if id != tc.id || epoch != tc.epoch || last != tc.last || !bytes.Equal(rest, tc.entries) {
				t.Fatalf("parseHeader = %q, %#x, %d, %q; want %q, %#x, %d, %q", id, epoch, last, rest, tc.id, tc.epoch, tc.last, tc.entries)
			}
		})
	}
}

// TestHeaderEpochNow checks that appendHeader writes the node's epoch at
// the time of the call (a rebuild picks a new one).
func TestHeaderEpochNow(t *testing.T) {
	t.Parallel()
	n := headerNode("n1", 1)
	first := n.appendHeader(nil, 1)
	n.epoch.Store(2)
	second := n.appendHeader(nil, 1)
	for i, h := range []struct {
		data []byte
		want uint64
	}{{first, 1}, {second, 2}} {
		if _, epoch, _, _, err := parseHeader(h.data); err != nil || epoch != h.want {
			t.Errorf("header %d: epoch %d, %v; want %d", i, epoch, err, h.want)
		}
	}
}

// TestParseHeaderRefuses checks that data too short for a header, or for
// the id its length byte announces, or with another version byte, is an
// error with nothing parsed.
func TestParseHeaderRefuses(t *testing.T) {
	t.Parallel()
	good := headerNode("n1", 77).appendHeader(nil, 5)
	good = snapshot.AppendDefinition(good, snapshot.DefDrop, []byte("b"))
	withVersion := func(v byte) []byte {
		b := bytes.Clone(good)
		b[0] = v
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version only", []byte("B")},
		{"17 bytes", good[:17]},
		{"no id length", append([]byte("B"), make([]byte, 16)...)},
		{"id cut short", good[:19]},
		{"id length past the end", append(append([]byte("B"), make([]byte, 16)...), 3, 'a', 'b')},
		{"id length 255, no id", append(append([]byte("B"), make([]byte, 16)...), 255)},
		{"version 'A'", withVersion('A')},
		{"version 'b'", withVersion('b')},
		{"version 0", withVersion(0)},
		{"an entry without a header", snapshot.AppendDefinition(nil, snapshot.DefDrop, []byte("b"))},
	}
	for _, tc := range tests {
		id, epoch, last, entries, err := parseHeader(tc.data)
		if err == nil {
			t.Errorf("%s: parseHeader(%q) succeeded: %q, %d, %d, %q", tc.name, tc.data, id, epoch, last, entries)
			continue
		}
		if id != "" || epoch != 0 || last != 0 || entries != nil {
			t.Errorf("%s: parseHeader(%q) failed (%v) but returned %q, %d, %d, %q", tc.name, tc.data, err, id, epoch, last, entries)
		}
	}
	// Every prefix of a good header shorter than it is refused; the
	// header alone parses with no entries.
	h := headerNode("node-7", 77).appendHeader(nil, 5)
	for n := 0; n < len(h); n++ {
		if _, _, _, _, err := parseHeader(h[:n]); err == nil {
			t.Errorf("parseHeader of the first %d of %d header bytes succeeded", n, len(h))
		}
	}
	if id, _, _, entries, err := parseHeader(h); err != nil || id != "node-7" || len(entries) != 0 {
		t.Errorf("parseHeader(header alone) = %q, %q, %v", id, entries, err)
	}
}

// FuzzParseHeader feeds parseHeader arbitrary data: it must never panic,
// and what it accepts must be exactly the header appendHeader writes for
// the id, epoch and mark it found, followed by the entries it returned.
func FuzzParseHeader(f *testing.F) {
	f.Add(headerNode("n1", 0x1234567890abcdef).appendHeader(nil, 99))
	f.Add(snapshot.AppendDefinition(headerNode("", 1).appendHeader(nil, 0), snapshot.DefNode, []byte("n1"), []byte("h:1")))
	f.Add(headerNode(strings.Repeat("x", 255), math.MaxUint64).appendHeader(nil, -1))
	f.Add([]byte("B"))
	f.Add([]byte("*2\r\n$8\r\n00000000\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, epoch, last, entries, err := parseHeader(data)
		if err != nil {
			if id != "" || epoch != 0 || last != 0 || entries != nil {
				t.Fatalf("parseHeader(%q) failed (%v) but returned %q, %d, %d, %q", data, err, id, epoch, last, entries)
			}
			return
		}
		again := append(headerNode(id, epoch).appendHeader(nil, last), entries...)
		again[0] = data[0] // 'B' or 'S': the header is the same but for it
		if _, err := entriesOf(data, entries); err != nil && data[0] != headerS2 {
			t.Fatalf("entriesOf(%q): %v for entries stored as they are", data, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("parseHeader(%q) = %q, %#x, %d, %q, which encode as %q", data, id, epoch, last, entries, again)
		}
	})
}

// TestCompressedEntries checks the two forms of a log entry's data: short
// entries follow the header as they are ('B'), long ones compressed with
// S2 ('S'), and entriesOf gives back the entries in both cases.
func TestCompressedEntries(t *testing.T) {
	t.Parallel()
	n := headerNode("n1", 5)
	short := snapshot.AppendDefinition(nil, snapshot.DefDrop, []byte("b"))
	long := bytes.Repeat(snapshot.AppendDefinition(nil, snapshot.DefNode, []byte("n2"), []byte("10.0.0.2:6380")), 40)
	for _, tc := range []struct {
		name    string
		entries []byte
		version byte
	}{{"short", short, headerVersion}, {"long", long, headerS2}} {
		data := n.entryPayload(tc.entries, 9)
		if data[0] != tc.version {
			t.Fatalf("%s: version byte %q, want %q", tc.name, data[0], tc.version)
		}
		if tc.version == headerS2 && len(data) >= len(tc.entries) {
			t.Errorf("%s: %d bytes compressed to %d", tc.name, len(tc.entries), len(data))
		}
		id, epoch, last, entries, err := parseHeader(data)
		if err != nil || id != "n1" || epoch != 5 || last != 9 {
			t.Fatalf("%s: parseHeader: %q %d %d %v", tc.name, id, epoch, last, err)
		}
		got, err := entriesOf(data, entries)
		if err != nil || !bytes.Equal(got, tc.entries) {
			t.Fatalf("%s: entriesOf: %v; got back %d bytes, want %d", tc.name, err, len(got), len(tc.entries))
		}
	}
}

// A node that has started a rebuild takes no entry into its queue: the
// rebuild clears the queue and empties the state the entry's commit went
// into (queue).
func TestQueueRefusedWhileRebuilding(t *testing.T) {
	n := &Node{opts: Options{NodeID: "n1"}, rebuilding: true}
	err := n.queue(func(dst []byte) []byte { return append(dst, "entry"...) })
	if !errors.Is(err, ErrNotLeader) || len(n.buf) != 0 || n.queued != 0 {
		t.Errorf("queue while rebuilding: %v, %d bytes queued, %d entries; want ErrNotLeader and nothing", err, len(n.buf), n.queued)
	}
}
