//go:build race

package keydir

// raceOn is whether the race detector is on: the long randomized tests
// then run fewer seeds and operations, since it slows them tenfold.
const raceOn = true
