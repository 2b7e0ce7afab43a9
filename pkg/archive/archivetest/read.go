package archivetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
)

// Read is what ReadAll read.
type Read struct {
	Objects int
	Bytes   int64
}

// ReadAll reads every key keys yields with workers at once, as a scan
// reads a bucket: open, read to the end, close. consume reads a body (nil:
// discard it); worker numbers the caller's per-worker state, 0 to
// workers-1. It returns what was read and every error met, the listing's
// among them; the keys that fail do not stop the others.
func ReadAll(ctx context.Context, keys iter.Seq2[string, error], workers int,
	open func(context.Context, string) (io.ReadCloser, error),
	consume func(worker int, r io.Reader) (int64, error),
) (Read, error) {
	if consume == nil {
		consume = func(_ int, r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }
	}
	work := make(chan string, 4*workers)
	var (
		mu   sync.Mutex
		read Read
		errs []error
		wg   sync.WaitGroup
	)
	for i := range max(workers, 1) {
		wg.Go(func() {
			for key := range work {
				n, err := readOne(ctx, key, i, open, consume)
				mu.Lock()
				read.Bytes += n
				if err != nil {
					errs = append(errs, err)
				} else {
					read.Objects++
				}
				mu.Unlock()
			}
		})
	}
	for key, err := range keys {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			continue
		}
		work <- key
	}
	close(work)
	wg.Wait()
	return read, errors.Join(errs...)
}

func readOne(ctx context.Context, key string, worker int,
	open func(context.Context, string) (io.ReadCloser, error),
	consume func(int, io.Reader) (int64, error),
) (int64, error) {
	r, err := open(ctx, key)
	if err != nil {
		return 0, err
	}
	n, err := consume(worker, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("read %s: %w", key, err)
	}
	return n, nil
}
