//go:build unix

package scenario

import (
	"os"
	"syscall"
)

// openFlags open an input without waiting for a writer, should it be a
// named pipe after all.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
