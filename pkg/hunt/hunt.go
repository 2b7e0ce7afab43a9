// Package hunt judges CloudTrail records where they are kept: files,
// folders of archived logs, S3 buckets and standard input. It walks the
// inputs, reads many at once, passes over the files that name no watched
// call, applies the time, account and region bounds, and yields what each
// input gave in the order the inputs were named.
package hunt

import (
	"context"
	"errors"
	"io"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

// Judge finds what the rules say of one record; *detect.Engine is one.
type Judge interface {
	Judge(cloudtrail.Record) ([]detect.Finding, error)
}

// Progress hears how a hunt goes, to show it. Its methods are called
// from several goroutines at once.
type Progress interface {
	// Found counts an input found by the walk, before it is read.
	Found()
	// Walked says every input has been found.
	Walked()
	// Done counts an input read and judged.
	Done(Result)
}

// DefaultWholeRead is the largest input read whole, decompressed, when
// Hunter.WholeRead is zero: CloudTrail's log files are far smaller.
const DefaultWholeRead = 8 << 20

// Hunter judges the records of inputs. Judge is required; the zero value
// of every other field is a working default.
type Hunter struct {
	Judge Judge
	// Min is the lowest severity a Result carries.
	Min detect.Severity
	// Filter narrows the inputs by the folders CloudTrail files them in,
	// and the records by their time, account and region.
	Filter archive.Filter
	// Prefilter passes over the files, and within a file the records, that
	// name no watched call without decoding them; nil decodes every input.
	Prefilter *prefilter.Filter
	// Progress, when not nil, hears of each input found and judged.
	Progress Progress
	// NewS3 makes the S3 client, once, when a path names a bucket; nil
	// means archive.NewClient (credentials and endpoint as the AWS CLI
	// finds them).
	NewS3 func(context.Context) (archive.API, error)
	// Workers is how many inputs are judged at once; zero means Workers
	// of the paths.
	Workers int
	// WholeRead is the largest input read whole, decompressed, so that the
	// prefilter can search it; a larger one streams, each record through
	// the prefilter. A worker holds at most about this much. Zero means
	// DefaultWholeRead.
	WholeRead int
}

// Result is what one input gave, or an error met while finding inputs
// (Input false).
type Result struct {
	Name       string // the input as named: a path, s3://bucket/key or -
	Input      bool   // an input was read (or tried)
	Unfiltered bool   // outside the AWSLogs layout while a bound is set: bounds applied to its records only
	Decoded    bool   // its bytes were decoded: the prefilter kept them
	Skipped    bool   // the prefilter showed it holds no watched call
	Records    int    // records within the bounds, judged
	Bytes      int64  // read, decompressed
	Compressed int64  // read, as stored
	// Findings are those at or above Min, in the order of the records.
	Findings []detect.Finding
	// Errs name the input and, for a bad record, where in it; one bad
	// record does not hide the others.
	Errs []error
}

// Workers is how many inputs are judged at once by default. Opening and
// reading a file waits on the kernel, so twice as many workers as cores
// keep the cores busy; an object in S3 waits on the network for tens of
// milliseconds, so reading from S3 takes many more.
func Workers(paths []string) int {
	n := 2 * runtime.GOMAXPROCS(0)
	if slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, "s3://") }) {
		n = max(n, archive.Concurrency) // as many as the S3 client keeps connections for
	}
	return n
}

// job is one input on its way through the workers; done closes when res
// is ready.
type job struct {
	name string
	open func() (io.ReadCloser, error)
	res  Result
	done chan struct{}
}

// failed is a job that carries only an error.
func failed(err error) *job {
	j := &job{res: Result{Errs: []error{err}}, done: make(chan struct{})}
	close(j.done)
	return j
}

// Hunt yields a Result for each input under paths, in order, judging up
// to Workers inputs at once: an archive holds many small files. A path is
// a file (read whatever its name), a folder (walked for files that may
// hold records, following symbolic links), s3://bucket/prefix, or - for
// stdin. Stopping the loop early stops the walk and the workers; ctx ends
// S3 listings and reads.
func (h *Hunter) Hunt(ctx context.Context, paths []string, stdin io.Reader) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		if h.Judge == nil {
			yield(Result{Errs: []error{errors.New("hunt: no Judge set")}})
			return
		}
		workers := h.Workers
		if workers <= 0 {
			workers = Workers(paths)
		}
		ordered := make(chan *job, 4*workers)
		work := make(chan *job)
		stop := make(chan struct{})
		defer close(stop)

		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				var ir cloudtrail.InputReader
				for j := range work {
					unfiltered := j.res.Unfiltered
					j.res = h.input(j.name, j.open, &ir)
					j.res.Unfiltered = unfiltered
					if h.Progress != nil {
						h.Progress.Done(j.res)
					}
					close(j.done)
				}
			})
		}
		go func() {
			defer func() {
				close(work)
				wg.Wait()
				close(ordered)
			}()
			// send queues j for yielding, then for a worker; it reports
			// false once the consumer has gone.
			send := func(j *job) bool {
				select {
				case ordered <- j:
				case <-stop:
					return false
				}
				if j.open == nil {
					return true // an error already in j.res
				}
				if h.Progress != nil {
					h.Progress.Found()
				}
				select {
				case work <- j:
					return true
				case <-stop:
					return false
				}
			}
			w := walker{h: h, ctx: ctx, send: send, stdin: stdin, walked: map[string]bool{}}
			for _, p := range paths {
				if !w.inputs(p) {
					return
				}
			}
			if h.Progress != nil {
				h.Progress.Walked()
			}
		}()
		for j := range ordered {
			<-j.done
			if !yield(j.res) {
				return
			}
		}
	}
}
