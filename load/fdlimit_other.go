//go:build !unix

package load

// fileLimit is unknown here: workers are bounded by MaxWorkers alone.
func fileLimit() uint64 { return 0 }
