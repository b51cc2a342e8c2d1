package engine

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/tidwall/btree"

	"bucketd/jsonv"
)

// MemSize estimates the heap bytes the record takes in its bucket: the
// record and its slot (MEMORY USAGE).
func (r *Record) MemSize() int64 { return r.memSize() + 48 }

// The key space (docs/commands.md, "Key space"): every record is also a Redis key,
// named <bucket>:<key>, for SCAN, KEYS, RANDOMKEY and the commands that
// take key names. Bucket names hold no colon, so a name splits at its
// first one.

// AppendKeyName appends the key name of the record of bucket with key k:
// the bucket, a colon, and the key, a string as it is and a number in its
// JSON form.
func AppendKeyName(dst []byte, bucket string, k jsonv.Value) []byte {
	dst = append(dst, bucket...)
	dst = append(dst, ':')
	if s, ok := k.(string); ok {
		return append(dst, s...)
	}
	return jsonv.Append(dst, k)
}

// SplitKeyName splits a key name into its bucket and its key text; ok is
// false when it has no colon or nothing before it (no record has that name).
func SplitKeyName(name string) (bucket, key string, ok bool) {
	bucket, key, ok = strings.Cut(name, ":")
	return bucket, key, ok && bucket != ""
}

// A SCAN cursor is a bucket's creation number (Bucket.id) shifted left by
// scanSeqBits, or'ed with the insertion position (entry.seq) of the next
// record to visit. Buckets are visited in creation order and records in
// insertion order, and neither moves while it exists, so every record that
// exists for a whole scan is visited exactly once (a record deleted and
// inserted again gets a new position and may be visited twice, as Redis
// allows). The cursor holds 2^24 bucket creations and 2^40 insertions into
// one bucket since start-up; a cursor past those ends the scan early.
const (
	scanSeqBits = 40
	scanSeqMask = 1<<scanSeqBits - 1
	scanMaxID   = 1<<(64-scanSeqBits) - 1
)

// bucketsFrom returns the buckets with creation number id or more that want
// accepts (nil: all), in creation order.
func (s *Store) bucketsFrom(id uint64, want func(name string) bool) []*Bucket {
	var out []*Bucket
	for name, b := range s.snapshot() {
		if b.id >= id && (want == nil || want(name)) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Bucket) int { return cmp.Compare(a.id, b.id) })
	return out
}

// Scan visits, from cursor on, up to count records of the buckets want
// accepts (nil: all), in cursor order, calling visit for those that have
// not expired; it returns the cursor to continue from, 0 when the scan is
// complete. Cursor 0 starts a scan. Each bucket is read from a frozen copy
// (see frozen), so writers go on meanwhile.
func (s *Store) Scan(cursor uint64, count int, want func(bucket string) bool, visit func(bucket string, rec *Record)) (uint64, error) {
	id, from := cursor>>scanSeqBits, cursor&scanSeqMask
	left := max(count, 1)
	for _, b := range s.bucketsFrom(id, want) {
		start := uint64(0)
		if b.id == id {
			start = from
		}
		var next *entry
		err := s.frozenSeq(b, func(tree *btree.BTreeG[*entry], now int64) {
			tree.Ascend(&entry{seq: start}, func(e *entry) bool {
				if left == 0 {
					next = e
					return false
				}
				left--
				if !e.rec.expired(now) {
					visit(b.name, e.rec)
				}
				return true
			})
		})
		switch err.(type) {
		case nil:
		case *NoBucketError: // dropped since: nothing of it to visit
			continue
		default:
			return 0, err
		}
		if next != nil {
			if b.id > scanMaxID || next.seq > scanSeqMask {
				return 0, nil
			}
			return b.id<<scanSeqBits | next.seq, nil
		}
	}
	return 0, nil
}

// Each visits every record that has not expired of the buckets want
// accepts (nil: all), bucket by bucket, until visit returns false (KEYS).
func (s *Store) Each(want func(bucket string) bool, visit func(bucket string, rec *Record) bool) error {
	for _, b := range s.bucketsFrom(0, want) {
		more := true
		err := s.frozenSeq(b, func(tree *btree.BTreeG[*entry], now int64) {
			tree.Scan(func(e *entry) bool {
				if !e.rec.expired(now) {
					more = visit(b.name, e.rec)
				}
				return more
			})
		})
		if _, gone := err.(*NoBucketError); err != nil && !gone {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Random returns a record chosen at random among those of every bucket
// (each record about as likely as any other), or a nil record when there
// is none (RANDOMKEY).
func (s *Store) Random() (string, *Record, error) {
	buckets := s.bucketsFrom(0, nil)
	for try := 0; try < 100; try++ {
		sizes := make([]int, len(buckets))
		total := 0
		for i, b := range buckets {
			if err := b.acquire(false); err != nil {
				if _, gone := err.(*NoBucketError); gone {
					continue
				}
				return "", nil, err
			}
			sizes[i] = b.st.len()
			b.mu.RUnlock()
			total += sizes[i]
		}
		if total == 0 {
			return "", nil, nil
		}
		n := rand.IntN(total)
		for i, b := range buckets {
			if n >= sizes[i] {
				n -= sizes[i]
				continue
			}
			var rec *Record
			err := s.frozenSeq(b, func(tree *btree.BTreeG[*entry], now int64) {
				if e, ok := tree.GetAt(min(n, tree.Len()-1)); ok && !e.rec.expired(now) {
					rec = e.rec
				}
			})
			if _, gone := err.(*NoBucketError); err != nil && !gone {
				return "", nil, err
			}
			if rec != nil {
				return b.name, rec, nil
			}
			break // expired or gone meanwhile: draw again
		}
	}
	return "", nil, nil
}

// frozenSeq runs fn on a frozen copy of b's insertion-order tree, taken
// under b's read lock and read without it. It fails with a NoBucketError
// when b was dropped, and a BusyError when a busy script holds it.
func (s *Store) frozenSeq(b *Bucket, fn func(tree *btree.BTreeG[*entry], now int64)) error {
	if err := b.acquire(false); err != nil {
		return err
	}
	b.enter()
	tree := b.frozenBySeq()
	b.mu.RUnlock()
	defer b.leave()
	now := s.Now()
	return s.unlocked(b, func() error {
		if tree.Len() > 0 {
			fn(tree, now)
		}
		return nil
	})
}
