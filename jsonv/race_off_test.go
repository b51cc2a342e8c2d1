//go:build !race

package jsonv

// raceEnabled is set when testing with -race, under which sync.Pool drops
// items at random and allocation counts are not meaningful.
const raceEnabled = false
