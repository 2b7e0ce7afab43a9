package hunt

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenRegular: a file opened without the poller reads as os.Open
// reads it, and its errors say what os.Open's and Read's say.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("0123456789abcdef"), 5000) // several reads' worth
	path := filepath.Join(dir, "a.json")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openRegular(path)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(io.LimitReader(f, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("read %d bytes, want %d", got.Len(), len(want))
	}
	if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("read past the end: %d, %v", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second close: %v", err)
	}

	for _, p := range []string{filepath.Join(dir, "missing.json"), dir} {
		_, osErr := os.Open(p)
		rf, err := openRegular(p)
		if osErr != nil || err != nil {
			if err == nil || osErr == nil || err.Error() != osErr.Error() || errors.Is(err, fs.ErrNotExist) != errors.Is(osErr, fs.ErrNotExist) {
				t.Errorf("%s: openRegular: %v; os.Open: %v", p, err, osErr)
			}
			continue
		}
		// A folder opens, and fails on the first read, as with os.Open.
		of, _ := os.Open(p)
		_, osErr = of.Read(make([]byte, 10))
		of.Close()
		_, err = rf.Read(make([]byte, 10))
		rf.Close()
		if err == nil || osErr == nil || err.Error() != osErr.Error() {
			t.Errorf("%s: read: %v; os.Open's: %v", p, err, osErr)
		}
	}
}
