//go:build race

package histogram

// raceEnabled: the race detector slows the coverage test's millions of
// recorded samples several times over.
const raceEnabled = true
