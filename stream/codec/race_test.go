//go:build race

package codec_test

// raceEnabled is set when the race detector is on. It makes sync.Pool drop
// items at random, so pooled scratch space is reallocated.
const raceEnabled = true
