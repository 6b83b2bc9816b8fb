//go:build !unix

package scenario

import "os"

// openFlags open an input; only unix has named pipes that block an open.
const openFlags = os.O_RDONLY
