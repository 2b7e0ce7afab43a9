package hunt

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// openRegular opens a regular file for reading without the runtime
// poller's set-up. os.Open puts every descriptor in non-blocking mode and
// offers it to epoll, which refuses regular files, and then puts it back:
// five system calls a file, on top of open, read and close, which an
// archive of small files pays thousands of times. A regular file never
// blocks on a read that the poller could wait for, so a plain blocking
// descriptor loses nothing. Errors read as those of os.Open and
// (*os.File).Read do.
func openRegular(path string) (io.ReadCloser, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return &fdFile{fd: fd, name: path}, nil
	}
}

// fdFile reads a blocking descriptor with plain system calls. os.NewFile
// would still ask the descriptor's flags (a fcntl) and arm a cleanup for
// each file; the one owner here closes it.
type fdFile struct {
	fd   int
	name string
}

// maxRead is the most one read asks for, as os caps it: some kernels
// refuse larger counts.
const maxRead = 1 << 30

func (f *fdFile) Read(p []byte) (int, error) {
	if f.fd < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: os.ErrClosed}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > maxRead {
		p = p[:maxRead]
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Close() error {
	if f.fd < 0 {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	// Linux frees the descriptor even when close reports EINTR: retrying
	// could close another file's.
	if err != nil && !errors.Is(err, syscall.EINTR) {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}
