package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/lambdawatch/lambdawatch/pkg/hunt"
)

// progress shows how far a scan has come on a terminal: files done of
// those found so far, bytes read, rate and, once every input has been
// found, the time left.
//
// The bar shares its line with whatever else the command prints to the
// terminal, on standard output or standard error. So that a line and the
// bar never run into each other, every frame is drawn under mu, and every
// other write goes through writer, which clears the bar first and keeps it
// off the screen while a line is left unfinished.
type progress struct {
	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	start  time.Time
	listed int64
	files  int64
	bytes  int64 // decompressed

	all      bool // every input has been found
	maxSet   bool // the bar knows how many
	drawn    bool // a frame may be on the screen
	open     bool // the last write through writer did not end its line
	finished bool
}

// isTerminal reports whether w is a terminal: the bar is drawn only there,
// so logs and pipes stay clean.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer) *progress {
	return &progress{
		start: time.Now(),
		bar: progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			// No spinner on a timer: its goroutine would draw outside mu,
			// between the clearing of the bar and the line it made room
			// for. The spinner turns as inputs are done instead.
			progressbar.OptionSetSpinnerChangeInterval(0),
		),
	}
}

// found counts an input found by the walk.
func (p *progress) found() {
	p.mu.Lock()
	p.listed++
	p.mu.Unlock()
}

// walked says every input has been found: the bar gets its end.
func (p *progress) walked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all = true
	p.draw()
}

// done counts an input judged, of n bytes.
func (p *progress) done(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files++
	p.bytes += n
	p.draw()
}

// draw brings the bar up to date on the screen; mu is held. The bar comes
// with the first input done, and never over an unfinished line: the
// counts catch up on the next draw.
func (p *progress) draw() {
	if p.open || p.finished || p.files == 0 {
		return
	}
	if p.all && !p.maxSet {
		p.bar.ChangeMax64(p.listed)
		p.maxSet = true
	}
	rate := float64(p.bytes) / max(time.Since(p.start).Seconds(), 1e-3)
	p.bar.Describe(fmt.Sprintf("%s read, %s/s", size(p.bytes), size(int64(rate))))
	_ = p.bar.Set64(p.files) // a bar that cannot draw is no reason to stop
	p.drawn = true
}

// clear takes the bar off the screen; mu is held.
func (p *progress) clear() {
	if p.drawn {
		_ = p.bar.Clear()
		p.drawn = false
	}
}

// finish takes the bar off the screen for good.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.finished = true
}

// writer returns w for lines that share the terminal with the bar: each
// write clears the bar first, and the bar comes back once the line is
// ended.
func (p *progress) writer(w io.Writer) io.Writer {
	return &aside{p: p, w: w}
}

// aside is a writer the bar steps aside for.
type aside struct {
	p *progress
	w io.Writer
}

func (a *aside) Write(b []byte) (int, error) {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	a.p.clear()
	if len(b) > 0 {
		a.p.open = b[len(b)-1] != '\n'
	}
	return a.w.Write(b)
}

// huntProgress shows a hunt on the bar.
type huntProgress struct{ *progress }

func (h huntProgress) Found()               { h.found() }
func (h huntProgress) Walked()              { h.walked() }
func (h huntProgress) Done(res hunt.Result) { h.done(res.Bytes) }

// size writes a byte count for people: 1.5 MB.
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTP"[i])
}
