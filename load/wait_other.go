//go:build !linux

package load

import "time"

// Elsewhere waits rest on the runtime's timers alone: no kicks, no spin.

const waitSpinMax time.Duration = 0

func kickAt(*waiter)         {}
func kickDone(*waiter)       {}
func spinCap() time.Duration { return 0 }
