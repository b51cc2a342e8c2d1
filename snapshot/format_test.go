package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// sampleEntries are entries of every shape the files hold: one operation,
// several operations (a transaction, a snapshot batch), empty and binary
// arguments, a long argument whose length has several digits.
func sampleEntries() [][]Op {
	rec := []byte(`{"id":"k1","name":"Ann","tags":["a","b"],"_version":3,"_createdAt":1700000000000,"_updatedAt":1700000000500}`)
	return [][]Op{
		{{[]byte("DEFINE"), []byte("users"), []byte(`{"key":"id","schema":{"id":{"type":"string"}}}`)}},
		{{[]byte("PUT"), []byte("users"), []byte("1"), []byte("0"), rec}},
		{
			{[]byte("PUT"), []byte("users"), []byte("2"), []byte("0"), rec},
			{[]byte("DEL"), []byte("orders"), []byte("7"), []byte(`12`)},
			{[]byte("CLEAR"), []byte("logs"), []byte("3")},
		},
		{{[]byte("X"), []byte(""), []byte("\x00\r\n*2\r\n$8\r\n\xff")}},
		{{[]byte("PUT"), []byte("big"), bytes.Repeat([]byte("z"), 1500)}},
		{{[]byte("DEL"), []byte("users"), []byte("4"), []byte(`"k1"`)}},
	}
}

// encodeAll returns the entries one after the other and where each
// starts (plus the total length at the end).
func encodeAll(entries [][]Op) ([]byte, []int) {
	var data []byte
	starts := []int{0}
	for _, e := range entries {
		data = AppendEntry(data, e)
		starts = append(starts, len(data))
	}
	return data, starts
}

// readAll reads every entry until the end or an error.
func readAll(data []byte) ([][]Op, *Reader, error) {
	r := NewReader(data, "test.aof")
	var out [][]Op
	for {
		ops, err := r.Next()
		if err != nil || ops == nil {
			return out, r, err
		}
		out = append(out, ops)
	}
}

// opsEqual compares operations, treating nil and empty arguments alike.
func opsEqual(a, b []Op) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if !bytes.Equal(a[i][j], b[i][j]) {
				return false
			}
		}
	}
	return true
}

func TestEntryRoundTrip(t *testing.T) {
	entries := sampleEntries()
	data, starts := encodeAll(entries)
	got, r, err := readAll(data)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if len(got) != len(entries) {
		t.Fatalf("read %d entries, wrote %d", len(got), len(entries))
	}
	for i := range entries {
		if !opsEqual(got[i], entries[i]) {
			t.Errorf("entry %d: got %q, want %q", i, got[i], entries[i])
		}
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("Offset after the last entry = %d, want %d", r.Offset(), len(data))
	}
	// Each entry alone is RESP: an array of len(ops)+1, the checksum first.
	for i, e := range entries {
		one := data[starts[i]:starts[i+1]]
		prefix := fmt.Sprintf("*%d\r\n$8\r\n", len(e)+1)
		if !bytes.HasPrefix(one, []byte(prefix)) {
			t.Errorf("entry %d starts %q, want %q", i, one[:min(len(one), 16)], prefix)
		}
		crc := one[len(prefix) : len(prefix)+8]
		if strings.Trim(string(crc), "0123456789abcdef") != "" {
			t.Errorf("entry %d checksum %q is not 8 lower-case hex digits", i, crc)
		}
	}
	// Appending is deterministic and does not disturb what dst holds.
	again := AppendEntry([]byte("prefix"), entries[1])
	if string(again[6:]) != string(data[starts[1]:starts[2]]) || string(again[:6]) != "prefix" {
		t.Errorf("AppendEntry onto a prefix gave %q", again)
	}
	// Empty data is a clean end.
	if ops, err := NewReader(nil, "empty").Next(); ops != nil || err != nil {
		t.Errorf("empty data: got %q, %v; want nil, nil", ops, err)
	}
}

// TestReaderTornLastEntry cuts the data at every byte offset inside its
// last entry: the complete entries are read, then ErrTorn, with Offset at
// the start of the torn entry.
func TestReaderTornLastEntry(t *testing.T) {
	for _, last := range []int{1, 2, 3, 4, 5} { // a few shapes of last entry
		entries := sampleEntries()[:last+1]
		data, starts := encodeAll(entries)
		lastStart, end := starts[last], starts[last+1]
		for cut := lastStart + 1; cut < end; cut++ {
			got, r, err := readAll(data[:cut])
			if !errors.Is(err, ErrTorn) {
				t.Fatalf("last entry %d cut at %d of %d..%d: got error %v, want ErrTorn", last, cut, lastStart, end, err)
			}
			if r.Offset() != int64(lastStart) {
				t.Fatalf("last entry %d cut at %d: Offset %d, want %d", last, cut, r.Offset(), lastStart)
			}
			if len(got) != last {
				t.Fatalf("last entry %d cut at %d: read %d complete entries, want %d", last, cut, len(got), last)
			}
		}
		// Cut exactly at an entry boundary: a clean end.
		if got, _, err := readAll(data[:lastStart]); err != nil || len(got) != last {
			t.Errorf("cut at the boundary %d: %d entries, %v", lastStart, len(got), err)
		}
	}
}

// flipOutcome classifies what the reader makes of damaged data.
func flipOutcome(data []byte, want [][]Op, entryStart int) string {
	got, r, err := readAll(data)
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		if ce.File != "test.aof" {
			return fmt.Sprintf("CorruptError names file %q", ce.File)
		}
		if ce.Offset != int64(entryStart) {
			return fmt.Sprintf("CorruptError at offset %d, want the damaged entry's %d", ce.Offset, entryStart)
		}
		if !strings.Contains(ce.Error(), "test.aof") || !strings.Contains(ce.Error(), fmt.Sprint(entryStart)) {
			return fmt.Sprintf("CorruptError text %q names neither file nor offset", ce.Error())
		}
		return ""
	case errors.Is(err, ErrTorn):
		return fmt.Sprintf("ErrTorn at offset %d", r.Offset())
	case err != nil:
		return fmt.Sprintf("unexpected error %T %v", err, err)
	}
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = opsEqual(got[i], want[i])
	}
	if same {
		return "accepted silently (same operations read)"
	}
	return fmt.Sprintf("accepted silently with different operations (%d entries)", len(got))
}

// TestReaderFlippedByteInMiddleEntry damages every byte of each middle
// entry with every other byte value (so every single-bit flip too): the
// reader must answer *CorruptError naming the file and the entry's offset —
// never ErrTorn (which start-up would cut off silently) and never success.
func TestReaderFlippedByteInMiddleEntry(t *testing.T) {
	entries := sampleEntries()
	data, starts := encodeAll(entries)
	for mid := 1; mid < len(entries)-1; mid++ {
		t.Run(fmt.Sprint("entry-", mid), func(t *testing.T) {
			t.Parallel() // CPU-bound, and ten times slower under -race
			from, to := starts[mid], starts[mid+1]
			offsets := []int{}
			for off := from; off < to; off++ {
				if to-from > 1000 && off-from > 200 && to-off > 20 {
					continue // the long entry: its head and its tail
				}
				offsets = append(offsets, off)
			}
			bad := map[string][]string{}
			damaged := bytes.Clone(data) // one byte replaced at a time, then put back
			for _, off := range offsets {
				for v := 0; v < 256; v++ {
					if byte(v) == data[off] {
						continue
					}
					damaged[off] = byte(v)
					if what := flipOutcome(damaged, entries, from); what != "" {
						bad[what] = append(bad[what], fmt.Sprintf("byte %d %q→%q", off-from, data[off], byte(v)))
					}
				}
				damaged[off] = data[off]
			}
			for what, where := range bad {
				t.Errorf("middle entry %d (file bytes %d..%d): %s for %d replacements: %s",
					mid, from, to, what, len(where), strings.Join(where[:min(len(where), 12)], ", "))
			}
		})
	}
}

// TestReaderGarbage checks damage that is not a single flip.
func TestReaderGarbage(t *testing.T) {
	good := AppendEntry(nil, []Op{{[]byte("PUT"), []byte("b"), []byte("{}")}})
	cases := map[string][]byte{
		"not RESP":          []byte("hello world\r\n"),
		"zero ops":          []byte("*1\r\n$8\r\n00000000\r\n"),
		"empty op":          []byte("*2\r\n$8\r\n00000000\r\n*0\r\n"),
		"short crc":         []byte("*2\r\n$7\r\n0000000\r\n*1\r\n$1\r\nX\r\n"),
		"non-hex crc":       []byte("*2\r\n$8\r\nzzzzzzzz\r\n*1\r\n$1\r\nX\r\n"),
		"negative length":   []byte("*2\r\n$8\r\n00000000\r\n*1\r\n$-1\r\n"),
		"long header":       []byte("*2" + strings.Repeat("9", 40)),
		"bulk without CRLF": []byte("*2\r\n$8\r\n00000000\r\n*1\r\n$1\r\nXYZ\r\n"),
		"header without CR": []byte("*2\n$8\r\n00000000\r\n"),
		"wrong checksum":    append(bytes.Replace(bytes.Clone(good), []byte("PUT"), []byte("PUX"), 1), good...),
		"good then garbage": append(bytes.Clone(good), "garbage that is long enough to not be a torn header"...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := readAll(data)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CorruptError", err)
			}
		})
	}
}

// hugeCounts are entries whose element or argument count is absurd for
// their size: a damaged header. TestReaderHugeCount reads them in a child
// process, because a reader that believes the count dies of a fatal "out of
// memory" that no test can recover from.
var hugeCounts = map[string]string{
	"element-count":  "*2147483647\r\n$8\r\n00000000\r\n*1\r\n$1\r\nX\r\n",
	"argument-count": "*2\r\n$8\r\n00000000\r\n*2147483647\r\n$1\r\nX\r\n",
	"element-1e9":    "*1000000000\r\n$8\r\n00000000\r\n*1\r\n$1\r\nX\r\n",
}

// TestReaderHugeCount: a header that claims two billion elements in a
// 40-byte file is a *CorruptError, read without allocating for the claim —
// not a crash of the process (which for the server means no "corrupt entry
// at offset" message, just a Go runtime dump).
func TestReaderHugeCount(t *testing.T) {
	if name := os.Getenv("SNAPSHOT_HUGE_CHILD"); name != "" {
		good := AppendEntry(nil, []Op{{[]byte("PUT"), []byte("b"), []byte("{}")}})
		_, _, err := readAll(append([]byte(hugeCounts[name]), good...))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ce *CorruptError
		fmt.Printf("RESULT corrupt=%v alloc=%d err=%v\n", errors.As(err, &ce), ms.TotalAlloc, err)
		return
	}
	for name := range hugeCounts {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each in its own process
			cmd := exec.Command(os.Args[0], "-test.run=^TestReaderHugeCount$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SNAPSHOT_HUGE_CHILD="+name)
			out, err := cmd.CombinedOutput()
			text := string(out)
			i := strings.Index(text, "RESULT ")
			if err != nil || i < 0 {
				first := text
				if j := strings.Index(first, "\n\n"); j > 0 {
					first = first[:j]
				}
				t.Fatalf("reading %q crashed the process (%v): %s", hugeCounts[name], err, first)
			}
			var corrupt bool
			var alloc int64
			fmt.Sscanf(text[i:], "RESULT corrupt=%t alloc=%d", &corrupt, &alloc)
			if !corrupt {
				t.Errorf("reading %q: %s, want a *CorruptError", hugeCounts[name], text[i:])
			}
			if alloc > 1<<30 {
				t.Errorf("reading %q allocated %d bytes", hugeCounts[name], alloc)
			}
		})
	}
}

// claimsHugeCount reports whether data holds an array header of more than
// a million elements (see TestReaderHugeCount): the fuzzer skips those so
// that it goes on looking for other failures.
func claimsHugeCount(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '*' {
			continue
		}
		n, j := 0, i+1
		for ; j < len(data) && j-i <= 12 && data[j] >= '0' && data[j] <= '9'; j++ {
			n = n*10 + int(data[j]-'0')
		}
		if n > 1_000_000 {
			return true
		}
	}
	return false
}

// FuzzReader feeds arbitrary data to the reader: it must never panic nor
// loop, every entry it returns must survive a re-encoding, and it must
// stop with nil, ErrTorn or a *CorruptError.
func FuzzReader(f *testing.F) {
	data, starts := encodeAll(sampleEntries()[:4])
	f.Add(data)
	f.Add(data[:starts[2]+7])
	f.Add([]byte("*2\r\n$8\r\n00000000\r\n*1\r\n$3\r\nEND\r\n"))
	f.Add([]byte("*3\r\n$8\r\n"))
	f.Add([]byte("*99999999999\r\n"))
	f.Add([]byte("*2\r\n$8\r\n00000000\r\n*100000000\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if claimsHugeCount(data) {
			t.Skip("huge element count: TestReaderHugeCount")
		}
		r := NewReader(data, "fuzz")
		prev := int64(0)
		for i := 0; ; i++ {
			ops, err := r.Next()
			if r.Offset() < prev || r.Offset() > int64(len(data)) {
				t.Fatalf("Offset %d out of order (previous %d, len %d)", r.Offset(), prev, len(data))
			}
			if err != nil {
				var ce *CorruptError
				if !errors.Is(err, ErrTorn) && !errors.As(err, &ce) {
					t.Fatalf("error %T %v is neither ErrTorn nor *CorruptError", err, err)
				}
				if ce != nil && ce.Offset != prev {
					t.Fatalf("CorruptError at %d, want %d", ce.Offset, prev)
				}
				return
			}
			if ops == nil {
				if r.Offset() != int64(len(data)) {
					t.Fatalf("clean end at %d of %d", r.Offset(), len(data))
				}
				return
			}
			if r.Offset() == prev {
				t.Fatalf("entry %d consumed no bytes", i)
			}
			back, _, err := readAll(AppendEntry(nil, ops))
			if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], ops) && !opsEqual(back[0], ops) {
				t.Fatalf("entry %d does not survive re-encoding: %q → %q, %v", i, ops, back, err)
			}
			prev = r.Offset()
		}
	})
}

// TestReaderDamagedLengthInLastEntry makes each length of the last entry
// larger, as a changed digit does ($423 → $433): the bytes then parse as an
// entry cut short, but the reader tells the damage from a torn write (the
// entry is whole and its checksum holds with the length its bytes give)
// and answers *CorruptError, so that start-up does not cut off an entry
// that was acknowledged.
func TestReaderDamagedLengthInLastEntry(t *testing.T) {
	checked := 0
	for _, last := range []int{1, 2, 3, 4, 5} {
		entries := sampleEntries()[:last+1]
		data, starts := encodeAll(entries)
		lastStart := starts[last]
		for h := lastStart + 1; h < len(data); h++ {
			if data[h] != '$' || data[h-1] != '\n' {
				continue
			}
			nl := bytes.Index(data[h:], []byte("\r\n"))
			n, err := strconv.Atoi(string(data[h+1 : h+nl]))
			if err != nil {
				continue // a '$' inside a payload
			}
			for _, bigger := range []int{n + 1, n + 10, n*10 + 3} {
				damaged := append(append(bytes.Clone(data[:h]), "$"+strconv.Itoa(bigger)...), data[h+nl:]...)
				_, _, err := readAll(damaged)
				var ce *CorruptError
				if !errors.As(err, &ce) {
					t.Fatalf("last entry %d, length at %d made %d (was %d): got %v, want *CorruptError", last, h, bigger, n, err)
				}
				checked++
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d damaged lengths tried", checked)
	}
}

// BenchmarkParseEntry parses an entry of 1,000 PUTs, as a B.INSERTMANY
// of 1,000 records writes it.
func BenchmarkParseEntry(b *testing.B) {
	ops := make([]Op, 1000)
	for i := range ops {
		rec := fmt.Sprintf(`{"id":"%d","name":"User %d","email":"user%d@example.com","age":%d,"role":"user","_version":1,"_createdAt":1764979200000,"_updatedAt":1764979200000}`, i, i, i, 18+i%60)
		ops[i] = Op{[]byte(opPut), []byte("users"), []byte(fmt.Sprint(i + 1)), []byte("0"), []byte(rec)}
	}
	entry := AppendEntry(nil, ops)
	b.SetBytes(int64(len(entry)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseEntry(entry); err != nil {
			b.Fatal(err)
		}
	}
}
