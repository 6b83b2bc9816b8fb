//go:build unix

package load

import (
	"syscall"
	"testing"
)

// fileLimit raises a lowered soft limit back to the hard limit.
func TestFileLimitRaisesSoftLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	if lim.Max <= 512 || lim.Max > 1<<40 {
		t.Skipf("hard limit %d: nothing to raise to", lim.Max)
	}
	low := lim
	low.Cur = 512
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	if got := fileLimit(); got != uint64(lim.Max) {
		t.Errorf("fileLimit() = %d after lowering the soft limit to 512, want the hard limit %d", got, lim.Max)
	}
}
