//go:build race

package index

// raceEnabled shortens the random tests under the race detector, which
// slows them about tenfold.
const raceEnabled = true
