package hunt

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// TestNamedPipe: a pipe named as a path (as <(zcat log.gz) names one) is
// not a regular file: it is opened as os.Open opens it, and read whole.
func TestNamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "records.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write(rec)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		wrote <- err
	}()
	h := &Hunter{Judge: detect.New(detect.Config{})}
	var found int
	for res := range h.Hunt(context.Background(), []string{fifo}, nil) {
		found += len(res.Findings)
		for _, e := range res.Errs {
			t.Error(e)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if found != 1 {
		t.Errorf("%d findings from the pipe, want 1", found)
	}
}

// BenchmarkOpen opens, reads and closes 3,000 small files, as a hunt
// through an archive does, with os.Open, with a blocking descriptor
// wrapped by os.NewFile, and with openRegular. Compare the ns/file of the
// three, run side by side.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	paths := make([]string, 3000)
	data := make([]byte, 8<<10) // a gzipped log file of 40 records is about this size
	for i := range paths {
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("%04d.json.gz", i))
		if err := os.WriteFile(paths[i], data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	openers := []struct {
		name string
		open func(string) (io.ReadCloser, error)
	}{
		{"open=os.Open", func(p string) (io.ReadCloser, error) { return os.Open(p) }},
		{"open=os.NewFile", func(p string) (io.ReadCloser, error) {
			fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return nil, &os.PathError{Op: "open", Path: p, Err: err}
			}
			return os.NewFile(uintptr(fd), p), nil
		}},
		{"open=openRegular", openRegular},
	}
	for _, o := range openers {
		b.Run(o.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(paths) * len(data)))
			for b.Loop() {
				for _, p := range paths {
					f, err := o.open(p)
					if err != nil {
						b.Fatal(err)
					}
					buf.Reset()
					if _, err := buf.ReadFrom(f); err != nil {
						b.Fatal(err)
					}
					if err := f.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(paths)), "ns/file")
		})
	}
}
