package hunt

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// walker finds the inputs that paths name.
type walker struct {
	h      *Hunter
	ctx    context.Context
	send   func(*job) bool // false once nobody wants more
	stdin  io.Reader
	walked map[string]bool // folders walked, by real path: links may loop

	client    archive.API
	clientErr error
}

// inputs sends a job for each input p names: a file, a folder (walked,
// following symbolic links) or standard input. It reports false when send
// does.
func (w *walker) inputs(p string) bool {
	if p == "-" {
		return w.send(&job{name: "-", open: func() (io.ReadCloser, error) { return io.NopCloser(w.stdin), nil }, done: make(chan struct{})})
	}
	if strings.HasPrefix(p, "s3://") {
		return w.bucket(p)
	}
	info, err := os.Stat(p)
	if err != nil {
		return w.send(failed(err))
	}
	if !info.IsDir() {
		return w.file(p, true, info.Mode().IsRegular())
	}
	return w.walk(p)
}

// file sends a job for the file at path, unless the filter rules it out.
// A file named on the command line is read whatever its name, as long as
// no bound rules it out.
func (w *walker) file(path string, named, regular bool) bool {
	f := w.h.Filter
	key := filepath.ToSlash(path)
	if !f.Keep(key) && (!named || f.Bounded() && cloudtrail.RecordFile(filepath.Base(path))) {
		return true
	}
	// A regular file skips the poller's set-up (see openRegular); a pipe
	// or a device named on the command line is opened as usual.
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	if regular {
		open = func() (io.ReadCloser, error) { return openRegular(path) }
	}
	j := &job{name: path, open: open, done: make(chan struct{})}
	// Without a bound nothing is unfiltered: one parse of the path a file
	// saves, in an archive of thousands.
	if f.Bounded() {
		j.res.Unfiltered = f.Unfiltered(key)
	}
	return w.send(j)
}

// bucket sends a job for each object under an s3:// URL, listed as the
// filter allows, in key order.
func (w *walker) bucket(url string) bool {
	name, prefix, err := archive.ParseURL(url)
	if err != nil {
		return w.send(failed(err))
	}
	client, err := w.s3()
	if err != nil {
		return w.send(failed(fmt.Errorf("%s: %w", url, err)))
	}
	b := &archive.Bucket{Client: client, Name: name, Prefix: prefix, Filter: w.h.Filter}
	for obj, err := range b.Objects(w.ctx) {
		if err != nil {
			if !w.send(failed(err)) {
				return false
			}
			continue
		}
		j := &job{name: b.URL(obj.Key), open: func() (io.ReadCloser, error) { return b.Open(w.ctx, obj.Key) }, done: make(chan struct{})}
		j.res.Unfiltered = obj.Unfiltered
		if !w.send(j) {
			return false
		}
	}
	return true
}

// s3 returns the S3 client, made on first use.
func (w *walker) s3() (archive.API, error) {
	if w.client == nil && w.clientErr == nil {
		if w.h.NewS3 != nil {
			w.client, w.clientErr = w.h.NewS3(w.ctx)
		} else {
			w.client, w.clientErr = archive.NewClient(w.ctx)
		}
	}
	return w.client, w.clientErr
}

// walk sends a job for each file under root that may hold records. It
// skips hidden entries and CloudTrail's digest files, which list log files
// but hold no calls.
func (w *walker) walk(root string) bool {
	send := w.send
	real, err := filepath.EvalSymlinks(root)
	if err == nil {
		// Absolute, so that a folder reached by a relative path and by a
		// link to its absolute path is one folder.
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return send(failed(err))
	}
	if w.walked[real] {
		return true
	}
	w.walked[real] = true
	ok := true
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if ok = send(failed(err)); !ok {
				return filepath.SkipAll
			}
			return nil
		}
		name := d.Name()
		shown := filepath.Join(root, strings.TrimPrefix(path, real)) // as the user named it
		switch {
		case path != real && strings.HasPrefix(name, "."):
			if d.IsDir() {
				return filepath.SkipDir
			}
		case strings.Contains(name, "CloudTrail-Digest"):
			if d.IsDir() {
				return filepath.SkipDir
			}
		case d.IsDir():
			// Below a real root, paths are real: a folder a link led to
			// before is not walked again.
			if path != real && w.walked[path] {
				return filepath.SkipDir
			}
			if path != real && !w.h.Filter.Descend(filepath.ToSlash(shown)+"/") {
				return filepath.SkipDir // years, days, accounts, regions out of bounds
			}
			w.walked[path] = true
		case d.Type()&fs.ModeSymlink != 0:
			info, err := os.Stat(path)
			switch {
			case err != nil:
				ok = send(failed(err))
			case info.IsDir():
				ok = w.walk(shown)
			case info.Mode().IsRegular() && cloudtrail.RecordFile(name):
				ok = w.file(shown, false, true)
			}
		case d.Type().IsRegular() && cloudtrail.RecordFile(name):
			ok = w.file(shown, false, true)
		}
		if !ok {
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil && ok {
		ok = send(failed(fmt.Errorf("%s: %w", root, err)))
	}
	return ok
}
