// Package index holds the in-memory structures behind a bucket's secondary
// and unique indexes. It knows nothing of buckets, records or RESP: items are
// of any comparable type T (the engine stores its record slots), values are
// decoded JSON (jsonv.Value).
//
// # Basics
//
// An Index covers one field. Only scalar values are indexed: strings, numbers
// and booleans (see Indexable); null or absent fields, arrays and objects are
// not, so queries on them must scan. For each JSON type the index keeps a
// hash from each distinct value to its posting (the items holding it), for
// equality and $in, and, once a range has been asked of the index, a B-tree
// of the distinct values. Items within a posting are kept in ascending order
// of pos, the order position the engine gives each item, so results come
// out in a stable order.
//
// # The value tree is built on first need
//
// A field only ever compared for equality costs one hash insert per write,
// as a Redis set does: the value trees are not built until the first Range
// (a range, $startsWith, or a scan in value order), which sorts the distinct
// values and loads them, O(d log d) once, under the caller's read lock
// (concurrent first Ranges are serialised by the index's own mutex). From
// then on every Add and Remove maintains the trees, so ranges cost what they
// did before. Decided by measurement (issue 23): fresh B.UPSERTs with an
// e-mail index, 50 clients, pipeline 16, keys from 10^8, went from 84k/s and
// 17.9 µs of server CPU per write to 137k/s and 11.4 µs; the tree's inserts
// had been 20% of all CPU (string comparisons at every level of a tree of
// all-distinct values). Hinted inserts would not help there: new values
// arrive in random order.
//
// # Strings are hashed, not copied
//
// The hash of each JSON type maps a key to the value's items. For numbers
// and booleans the key is the value. For strings it is a 64-bit hash of the
// value (hash/maphash, seeded at random per process), and the index reads
// the value of an item through the function given to New, which reads the
// item's record: a string that one item holds costs the index a 16-byte
// hash entry and no copy of the string (a hash keyed by the string needs a
// copy of every value, since one pointing into a record's text would keep
// that text alive after updates, and a wider entry). Lookups confirm the
// value on the item found. A value whose hash another value already holds
// goes to a small side hash keyed by the value itself; with a random 64-bit
// hash that does not happen by chance, and the model test forces it with a
// weak hash (TestModel, seeds 4 and 5). Measured (issue 23), 200,000
// records with an e-mail index and a role index: 482 → 429 bytes per record
// after their insert, 546 → 461 after each was rewritten once; fresh
// B.UPSERTs with that index went from 118k–135k/s to 157k–166k/s (server
// CPU per write 11.6–13.3 → 9.2–9.7 µs). The price is on lookups of a value
// one item holds, which read the item to confirm it: BenchmarkStrings'
// Eq1of100k went from 43 to 88 ns (a cache miss on the item, which the
// caller reads next anyway); a range over 1,000 of 100,000 strings went
// from 105 to 80 µs.
//
// A posting takes the cheapest form for its size:
//
//   - one item is stored inline in the hash entry, with no allocation of its
//     own (unique-ish fields such as e-mail addresses), in a hash of single
//     items whose entries are just a key and the item;
//   - 2 to 64 items live in a slice sorted by pos, in a group that also
//     keeps its own copy of the value;
//
// Values compare as jsonv.Equal and jsonv.Compare do: 1 and 1.0 are the same
// value, -0 is folded into 0, "1" and 1 differ. A range matches only values of
// its bounds' type: numbers with numbers, strings with strings (byte order),
// booleans with booleans (false < true).
//
// A Unique covers a unique field: a hash from each distinct scalar value to
// the one item holding it.
//
// # Complexity
//
// With d the distinct values of the JSON type concerned, n the items in the
// posting concerned and k the items visited (hash operations are expected
// O(1)):
//
//	Add      new value: O(1) until the first Range, O(log d) after.
//	         Value with one item: O(1).
//	         Slice posting: O(1) amortised when it has the largest pos
//	         (the usual case: new records get increasing positions),
//	         else O(log 64 + 64) worst case (binary search and memmove).
//	         Tree posting: O(height) = O(log₃₂ n) when it has the largest
//	         pos (B-tree Load appends to the rightmost leaf: no search, no
//	         memmove, at most 4 node visits for a million items), O(log n)
//	         otherwise. The 65th item converts the slice, O(64), once.
//	Remove   last item of a value: O(1) unordered, O(log d) ordered.
//	         Slice posting: O(log 64 + 64).
//	         Tree posting: O(log n); shrinking to 32 converts back, O(32).
//	Eq       O(1 + k).
//	CountEq  O(1).
//	Range    O(log d + v + k), v being the distinct values within the bounds;
//	         the first one also builds the value trees, O(d log d).
//	Len, Distinct, MemoryBytes  O(1).
//	Check    O(N log N) over all N items; for tests.
//	Unique   Get, Set, Delete: O(1).
//
// # Memory
//
// Measured with runtime.MemStats by TestMemoryBytes, for 100,000 items whose
// type T is a pointer: about 19 bytes per item when they share 3 values,
// about 24 bytes per item for all-distinct strings or numbers while
// unordered, 42 (numbers) and 83 (strings: the value tree keeps its own
// copies) once ordered. MemoryBytes estimates the same figures in O(1)
// time.
//
// Go maps never give memory back; the hashes here are rebuilt once they fall
// to a quarter of their high-water mark (at least 256 entries), an O(len)
// copy that follows at least 3·len deletions, and are freed when empty.
//
// # Caveats
//
// Index and Unique are not safe for concurrent use: the caller holds the lock
// of the bucket they belong to for every call, reads included. The functions
// given to Eq and Range must not change the index they iterate.
//
// pos must be unique per item and must not change while the item is indexed:
// remove the item, change its position, add it back. Two items with the same
// pos are taken to be the same item: Add replaces the one indexed, Remove of
// the other does nothing.
//
// The function given to New must give the value an item is indexed under
// for as long as it is indexed: move an item whose value changes out of the
// index before the change (Remove with the old value) and back after it.
//
// NaN is not indexed. The index copies the strings it keeps (values with
// two or more items, the value trees), never a string it was given.
package index
