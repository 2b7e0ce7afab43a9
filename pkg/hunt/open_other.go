//go:build !linux

package hunt

import (
	"io"
	"os"
)

// openRegular is os.Open where no cheaper way to open a regular file is
// known; see open_linux.go.
func openRegular(path string) (io.ReadCloser, error) {
	return os.Open(path)
}
