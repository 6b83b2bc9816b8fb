//go:build !linux

package load

import "time"

// pendingKicks: elsewhere there is no kicker.
func pendingKicks() int { return 0 }

// processUsage: not measured elsewhere.
func processUsage() (cpu time.Duration, switches int64, ok bool) { return 0, 0, false }
