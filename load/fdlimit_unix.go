//go:build unix

package load

import "syscall"

// fileLimit raises the soft limit on open files to the hard limit where the
// system allows it (the Go runtime does the same at start on most systems;
// this covers the rest) and returns the soft limit in force, 0 if unknown.
func fileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return uint64(lim.Cur)
}
