package engine

import (
	"fmt"
	"hash/maphash"
	"strings"
	"unsafe"
)

// keySeed seeds the hash of string keys; it is random per process, so a
// client cannot choose keys that collide.
var keySeed = maphash.MakeSeed()

// strKeyMap finds a bucket's entries by string key. It is keyed by a 64-bit
// hash of the key, not by the key: a map keyed by the string would need its
// own copy of every key (one pointing into a record's text would keep that
// text alive after updates), 8 to 32 bytes a record beside a wider slot.
// The entry's record confirms a match. A key whose hash another key's entry
// holds goes to coll, keyed by a copy of the key: with a random 64-bit hash
// that does not happen by chance; TestStrKeyMapCollisions forces it with a
// weak hash. A key is in exactly one of m and coll.
type strKeyMap struct {
	m    map[uint64]*entry
	coll map[string]*entry // nil while no keys collide
	hash func(string) uint64
}

// newStrKeyMap returns an empty map with room for n keys.
func newStrKeyMap(n int) *strKeyMap {
	return &strKeyMap{m: make(map[uint64]*entry, n), hash: keyHash}
}

func keyHash(k string) uint64 { return maphash.String(keySeed, k) }

// keyIs reports whether e's key is k.
func keyIs(e *entry, k string) bool {
	s, ok := e.rec.Key().(string)
	return ok && s == k
}

func (km *strKeyMap) len() int { return len(km.m) + len(km.coll) }

// get returns the entry of key k, or nil.
func (km *strKeyMap) get(k string) *entry {
	if km.coll != nil {
		if e := km.coll[k]; e != nil {
			return e
		}
	}
	if e := km.m[km.hash(k)]; e != nil && keyIs(e, k) {
		return e
	}
	return nil
}

// getBytes is get for a key given as bytes (a command's argument), which
// it does not keep.
func (km *strKeyMap) getBytes(k []byte) *entry {
	return km.get(unsafe.String(unsafe.SliceData(k), len(k)))
}

// set makes e the entry of its key k, replacing the entry of that key if
// there is one.
func (km *strKeyMap) set(k string, e *entry) {
	if km.coll != nil {
		if _, ok := km.coll[k]; ok {
			km.coll[k] = e
			return
		}
	}
	h := km.hash(k)
	if cur := km.m[h]; cur != nil && !keyIs(cur, k) {
		if km.coll == nil {
			km.coll = make(map[string]*entry)
		}
		km.coll[strings.Clone(k)] = e
		return
	}
	km.m[h] = e
}

// del removes key k.
func (km *strKeyMap) del(k string) {
	if km.coll != nil {
		if _, ok := km.coll[k]; ok {
			delete(km.coll, k)
			if len(km.coll) == 0 {
				km.coll = nil
			}
			return
		}
	}
	h := km.hash(k)
	if cur := km.m[h]; cur != nil && keyIs(cur, k) {
		delete(km.m, h)
	}
}

// check verifies that every entry of m is under its key's hash and every
// entry of coll under its own key.
func (km *strKeyMap) check() error {
	for h, e := range km.m {
		if k, ok := e.rec.Key().(string); !ok || km.hash(k) != h {
			return fmt.Errorf("key %v is not under its hash", e.rec.Key())
		}
	}
	if km.coll != nil && len(km.coll) == 0 {
		return fmt.Errorf("empty collision map left allocated")
	}
	for k, e := range km.coll {
		if !keyIs(e, k) {
			return fmt.Errorf("colliding key %q holds the entry of %v", k, e.rec.Key())
		}
	}
	return nil
}
