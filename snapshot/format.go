package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Op is one operation of an entry: a name and its arguments, all bulk
// strings.
type Op [][]byte

// castagnoli is the CRC-32C table; every entry carries the checksum of its
// operations so that a flipped byte anywhere is detected.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendEntry appends one entry to dst in RESP form: an array whose first
// element is the CRC-32C (8 hex digits) of the bytes that follow, then one
// array of bulk strings per operation. One commit is one entry, so a commit
// is replayed whole or not at all.
func AppendEntry(dst []byte, ops []Op) []byte {
	e := beginEntry(dst, len(ops))
	for _, op := range ops {
		e.op(len(op))
		for _, a := range op {
			e.bulk(a)
		}
	}
	return e.end()
}

// entryBuilder writes one entry (AppendEntry's form) word by word, for
// writers that would otherwise build the operations only to copy them.
type entryBuilder struct {
	dst   []byte
	crcAt int // where the checksum's 8 digits go
	body  int // where the checksummed bytes start
}

// beginEntry starts an entry of ops operations at the end of dst.
func beginEntry(dst []byte, ops int) entryBuilder {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(ops+1), 10)
	dst = append(dst, "\r\n$8\r\n"...)
	crcAt := len(dst)
	dst = append(dst, "00000000\r\n"...)
	return entryBuilder{dst: dst, crcAt: crcAt, body: len(dst)}
}

// op starts an operation of words words, its name included.
func (e *entryBuilder) op(words int) {
	e.dst = append(e.dst, '*')
	e.dst = strconv.AppendInt(e.dst, int64(words), 10)
	e.dst = append(e.dst, "\r\n"...)
}

// head writes a bulk string's header, for n bytes.
func (e *entryBuilder) head(n int) {
	e.dst = append(e.dst, '$')
	e.dst = strconv.AppendInt(e.dst, int64(n), 10)
	e.dst = append(e.dst, "\r\n"...)
}

// bulk writes a word.
func (e *entryBuilder) bulk(a []byte) {
	e.head(len(a))
	e.dst = append(append(e.dst, a...), "\r\n"...)
}

// str writes a word given as a string.
func (e *entryBuilder) str(a string) {
	e.head(len(a))
	e.dst = append(append(e.dst, a...), "\r\n"...)
}

// uint writes a number as a word.
func (e *entryBuilder) uint(n uint64) {
	var digits [20]byte
	e.bulk(strconv.AppendUint(digits[:0], n, 10))
}

// int writes a number as a word.
func (e *entryBuilder) int(n int64) {
	var digits [20]byte
	e.bulk(strconv.AppendInt(digits[:0], n, 10))
}

// end fills in the checksum and returns the data with the entry.
func (e *entryBuilder) end() []byte {
	sum := crc32.Checksum(e.dst[e.body:], castagnoli)
	const hexdigits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		e.dst[e.crcAt+i] = hexdigits[sum&0xf]
		sum >>= 4
	}
	return e.dst
}

// errIncomplete reports an entry cut short by the end of the data.
var errIncomplete = errors.New("incomplete entry")

// ErrTorn reports that the data ends with an incomplete entry, as a crash
// in the middle of a write leaves it: Reader.Next returns it once the
// complete entries before it have been read.
var ErrTorn = errors.New("torn last entry")

// CorruptError reports data that is not a valid entry.
type CorruptError struct {
	File   string
	Offset int64
	Msg    string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: corrupt entry at offset %d: %s", e.File, e.Offset, e.Msg)
}

// Reader reads entries from data.
type Reader struct {
	data []byte
	off  int
	file string
}

// NewReader returns a reader of the entries in data; file names the data
// in errors.
func NewReader(data []byte, file string) *Reader { return &Reader{data: data, file: file} }

// Offset returns the offset just after the last entry read.
func (r *Reader) Offset() int64 { return int64(r.off) }

// Next returns the next entry's operations. At the clean end of the data
// it returns nil, nil. An incomplete last entry is ErrTorn (Offset then
// says where the good data ends); anything else that is not a valid entry
// is a *CorruptError.
func (r *Reader) Next() ([]Op, error) {
	if r.off >= len(r.data) {
		return nil, nil
	}
	ops, n, err := parseEntry(r.data[r.off:])
	if err == nil {
		r.off += n
		return ops, nil
	}
	if err == errIncomplete {
		// A crash mid-write leaves an incomplete entry at the very end. If a
		// complete, valid entry follows somewhere after this point, the
		// data was damaged instead (a length digit changed, say).
		switch {
		case lengthDamaged(r.data[r.off:]):
			err = errors.New("a length in the last entry is damaged: the entry is whole, and its checksum holds with the length its bytes give")
		case !validEntryAfter(r.data[r.off+1:]):
			return nil, ErrTorn
		default:
			err = errors.New("an entry's length runs past a later valid entry")
		}
	}
	return nil, &CorruptError{File: r.file, Offset: int64(r.off), Msg: err.Error()}
}

// dataEnd returns where the entries of an append-only file's data end:
// before the zeros that preallocation (aof.go, preallocChunk) leaves after
// them when the server stopped without closing the file. An entry ends
// with CRLF, never with a zero byte.
func dataEnd(data []byte) int {
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	return end
}

// lostWriteMax bounds how far before the end of the entries a lost
// write may lie (lostWrite): under always, only the last write can have
// holes, and none is larger (maxSyncedWrite).
const lostWriteMax = 1 << 20

// lostWrite reports whether the entries of an append-only file's data,
// which end at end, stop loading at at because a power cut kept part of
// the last write from the disk: the write went over preallocated zeros
// (aof.go, preallocChunk), so such a part reads as zeros, in the disk's
// 512-byte sectors. It holds when all of these do:
//   - zeros follow the entries (the file was preallocated and not
//     closed: without zeros ahead, appends reach the disk in order);
//   - the entry at at reads as zeros from its start to the next sector
//     boundary (the write's first sector lost), or the first whole
//     aligned sector of zeros after that boundary comes before any
//     complete entry after at;
//   - those zeros are within lostWriteMax of end.
//
// Damage to written bytes that zeroes no sector (a flipped bit), or that
// lies further from the end, is not taken for a lost write.
func lostWrite(data []byte, at, end int) bool {
	const sector = 512
	if end >= len(data) || at >= end {
		return false
	}
	lo := end - lostWriteMax // the last write starts at lo or after
	next := (at/sector + 1) * sector
	if allZero(data[at:min(next, end)]) {
		return at >= lo
	}
	for b := next; b+sector <= end; b += sector {
		if allZero(data[b : b+sector]) {
			return b >= lo && !validEntryAfter(data[at+1:b])
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lengthDamaged reports whether b, an entry that parses as incomplete, is
// in fact whole with one bulk's length made larger by damage (a digit
// changed): for some bulk header, the length that makes the entry end
// exactly at the end of b, with a CRLF after the bulk where one stands,
// gives an entry whose checksum holds. A torn write cannot pass that test
// (the checksum covers the whole entry and the missing bytes), so such an
// entry must not be cut off as torn: it was acknowledged. The search is
// bounded: the last 16 bulk headers, 64 CRLFs after each, and entries of
// at most 1 MB (a larger one is judged by its last bulk only).
func lengthDamaged(b []byte) bool {
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return false
	}
	heads, crlfs := 16, 64
	if len(b) > 1<<20 {
		heads, crlfs = 1, 1
	}
	for end := len(b); heads > 0; heads-- {
		h := bytes.LastIndex(b[:end], []byte("\r\n$"))
		if h < 0 {
			return false
		}
		end = h
		h += 2 // the '$'
		nl := bytes.Index(b[h:], []byte("\r\n"))
		if nl < 0 {
			continue
		}
		ps := h + nl + 2 // the payload's start
		tried := 0
		for at := len(b) - 2; at >= ps && tried < crlfs; tried++ {
			fixed := make([]byte, 0, len(b)+8)
			fixed = append(fixed, b[:h]...)
			fixed = append(fixed, '$')
			fixed = strconv.AppendInt(fixed, int64(at-ps), 10)
			fixed = append(fixed, "\r\n"...)
			fixed = append(fixed, b[ps:]...)
			if _, n, err := parseEntry(fixed); err == nil && n == len(fixed) {
				return true
			}
			at = bytes.LastIndex(b[ps:at], []byte("\r\n"))
			if at < 0 {
				break
			}
			at += ps
		}
	}
	return false
}

// validEntryAfter reports whether a complete entry with a good checksum
// starts anywhere in data.
func validEntryAfter(data []byte) bool {
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '*')
		if j < 0 {
			return false
		}
		i += j
		if _, _, err := parseEntry(data[i:]); err == nil {
			return true
		}
		i++
	}
	return false
}

// parseEntry parses one entry at the start of b and returns its operations
// and length.
func parseEntry(b []byte) ([]Op, int, error) {
	p := parser{b: b}
	n, err := p.header('*')
	if err != nil {
		return nil, 0, err
	}
	if n < 2 {
		return nil, 0, fmt.Errorf("entry of %d elements", n)
	}
	crcText, err := p.bulk()
	if err != nil {
		return nil, 0, err
	}
	if len(crcText) != 8 || !lowerHex(crcText) {
		return nil, 0, errors.New("bad checksum field")
	}
	want, perr := strconv.ParseUint(string(crcText), 16, 32)
	if perr != nil {
		return nil, 0, errors.New("bad checksum field")
	}
	body := p.off
	// Allocate by what the data can hold, never by what a damaged count
	// claims (each operation takes at least 4 bytes).
	ops := make([]Op, 0, min(n-1, (len(b)-p.off)/4+1))
	// The words of all the operations share one array, sized for
	// operations as long as the first (a commit's usually are alike), and
	// each operation's slice is capped at its own words.
	var words [][]byte
	for i := 1; i < n; i++ {
		m, err := p.header('*')
		if err != nil {
			return nil, 0, err
		}
		if words == nil {
			words = make([][]byte, 0, min(m*(n-1), (len(b)-p.off)/4+1))
		}
		start := len(words)
		for j := 0; j < m; j++ {
			a, err := p.bulk()
			if err != nil {
				return nil, 0, err
			}
			words = append(words, a)
		}
		if m == 0 {
			return nil, 0, errors.New("empty operation")
		}
		ops = append(ops, Op(words[start:len(words):len(words)]))
	}
	if got := crc32.Checksum(b[body:p.off], castagnoli); uint64(got) != want {
		return nil, 0, fmt.Errorf("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	return ops, p.off, nil
}

// maxCount bounds element counts and bulk lengths in entries (1 GiB).
const maxCount = 1 << 30

func lowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

type parser struct {
	b   []byte
	off int
}

// header reads "<c><n>\r\n".
func (p *parser) header(c byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, errIncomplete
	}
	if p.b[p.off] != c {
		return 0, fmt.Errorf("expected '%c', got %q", c, p.b[p.off])
	}
	end := bytes.IndexByte(p.b[p.off:], '\n')
	if end < 0 {
		if len(p.b)-p.off > 32 {
			return 0, errors.New("header too long")
		}
		return 0, errIncomplete
	}
	line := p.b[p.off+1 : p.off+end]
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return 0, errors.New("header without CRLF")
	}
	n, err := strconv.Atoi(string(line[:len(line)-1]))
	// No entry bucketd writes has more than maxCount elements or bytes in
	// one bulk; a larger number is damage, not a torn write.
	if err != nil || n < 0 || n > maxCount {
		return 0, fmt.Errorf("bad length %q", line[:len(line)-1])
	}
	p.off += end + 1
	return n, nil
}

// bulk reads "$<n>\r\n<n bytes>\r\n".
func (p *parser) bulk() ([]byte, error) {
	n, err := p.header('$')
	if err != nil {
		return nil, err
	}
	if len(p.b)-p.off < n+2 {
		return nil, errIncomplete
	}
	a := p.b[p.off : p.off+n]
	if p.b[p.off+n] != '\r' || p.b[p.off+n+1] != '\n' {
		return nil, errors.New("bulk without CRLF")
	}
	p.off += n + 2
	return a, nil
}
