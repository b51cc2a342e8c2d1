package jsonv

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// Limits on what a pooled parser keeps between documents.
const (
	maxPooledStack = 1 << 12 // elements in each of the vals and keys stacks
	maxPooledBuf   = 1 << 16 // bytes of unescape buffer
	maxInternLen   = 32      // longest key that is interned
)

// parser holds the state of one Parse call. Parsers are pooled so the
// scratch stacks, the unescape buffer and the key table are reused.
type parser struct {
	data  []byte
	pos   int
	depth int
	// alias lets string values without escapes point into data
	// (ParseObjectAliased) instead of into copies.
	alias bool
	// top, if not nil, receives the top-level object (see newObject).
	top *Object
	// reuseTop lets the top-level object's values go into top.Vals's
	// array (ParseObjectReuse) instead of a new one.
	reuseTop bool

	// vals and keys are stacks of the elements of the arrays and objects
	// being parsed. Each container appends its elements and, when closed,
	// copies them into exactly sized slices and pops them.
	vals []Value
	keys []string

	// buf receives the content of strings that contain escapes.
	buf []byte

	// lastKeys is the key slice of the last top-level object parsed: the
	// next one with the same keys in the same order shares it (see
	// sharedKeys).
	lastKeys []string

	// names interns short object keys, so documents with the same shape
	// share their key strings instead of allocating them again. It is a
	// direct-mapped cache: a colliding key replaces the previous one.
	names [1 << 8]string
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// getParser returns a parser ready to parse data.
func getParser(data []byte) *parser {
	p := parserPool.Get().(*parser)
	p.data, p.pos, p.depth, p.alias, p.top, p.reuseTop = data, 0, 0, false, nil, false
	return p
}

// putParser clears p and returns it to the pool unless it grew too large.
func putParser(p *parser) {
	p.data, p.top = nil, nil
	clear(p.vals) // after an error the stacks may still hold values
	p.vals = p.vals[:0]
	clear(p.keys)
	p.keys = p.keys[:0]
	if cap(p.vals) > maxPooledStack || cap(p.keys) > maxPooledStack || cap(p.buf) > maxPooledBuf {
		return
	}
	parserPool.Put(p)
}

// popVals truncates the vals stack to n, clearing the popped entries so the
// pool does not keep them alive.
func (p *parser) popVals(n int) {
	clear(p.vals[n:])
	p.vals = p.vals[:n]
}

// sharedKeys returns an exactly sized copy of keys, the keys of the object
// just parsed; a top-level object with the same keys as the previous one
// gets the previous one's slice instead, so that records of one shape sent
// one after another do not each allocate their names. Sharing is safe
// because nothing writes into an Object's Keys in place: Set appends (and
// cap == len makes that copy), Delete copies unless it drops the last key.
func (p *parser) sharedKeys(keys []string) []string {
	if p.depth == 1 {
		if last := p.lastKeys; len(last) == len(keys) {
			same := true
			for i, k := range keys {
				if last[i] != k {
					same = false
					break
				}
			}
			if same {
				return last
			}
		}
	}
	out := make([]string, len(keys))
	copy(out, keys)
	if p.depth == 1 {
		p.lastKeys = out
	}
	return out
}

// intern returns raw as a string, reusing an earlier copy for short keys.
func (p *parser) intern(raw []byte) string {
	if len(raw) == 0 || len(raw) > maxInternLen {
		return string(raw)
	}
	// Hash the length and up to 16 bytes: the first and last 8.
	var h uint64
	if n := len(raw); n >= 8 {
		h = binary.LittleEndian.Uint64(raw) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(raw[n-8:]), 29)
	} else {
		for _, c := range raw {
			h = h<<8 | uint64(c)
		}
	}
	h = (h ^ uint64(len(raw))) * 0x9E3779B97F4A7C15
	slot := &p.names[h>>(64-8)]
	if *slot == string(raw) {
		return *slot
	}
	*slot = string(raw)
	return *slot
}
