package embedded

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a run
// that ends must leave nothing behind (connections, timers, workers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
