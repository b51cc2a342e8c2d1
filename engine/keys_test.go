package engine

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"bucketd/jsonv"
)

// TestStrKeyMapCollisions drives a key map whose hash collides often (the
// key's length mod 3) against a Go map, through sets, replacements and
// deletes, checking every key after each step.
func TestStrKeyMapCollisions(t *testing.T) {
	for _, c := range []struct {
		name string
		hash func(string) uint64
	}{
		{"weak", func(k string) uint64 { return uint64(len(k) % 3) }},
		{"real", keyHash},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh := newShape([]string{"id"}, 0)
			km := newStrKeyMap(0)
			km.hash = c.hash
			model := map[string]*entry{}
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([]string, 40)
			for i := range keys {
				keys[i] = strconv.Itoa(i * i * 7)
			}
			sawColl := false
			for step := range 4000 {
				k := keys[rng.IntN(len(keys))]
				switch rng.IntN(3) {
				case 0, 1:
					e := &entry{rec: buildRecord(sh, []jsonv.Value{k}), seq: uint64(step)}
					km.set(k, e)
					model[k] = e
				default:
					km.del(k)
					delete(model, k)
				}
				sawColl = sawColl || km.coll != nil
				if err := km.check(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if km.len() != len(model) {
					t.Fatalf("step %d: len %d, want %d", step, km.len(), len(model))
				}
				for _, k := range keys {
					if got := km.get(k); got != model[k] {
						t.Fatalf("step %d: get(%q) = %v, want %v", step, k, got, model[k])
					}
					if got := km.getBytes([]byte(k)); got != model[k] {
						t.Fatalf("step %d: getBytes(%q) = %v, want %v", step, k, got, model[k])
					}
				}
			}
			if want := c.name == "weak"; sawColl != want {
				t.Errorf("collisions seen: %v, want %v", sawColl, want)
			}
		})
	}
}
