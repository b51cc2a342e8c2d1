//go:build race

package engine_test

// raceEnabled shortens the random and load tests under the race detector,
// which slows them about tenfold.
const raceEnabled = true
