package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a scan has come on a terminal: files done of
// those found so far, bytes read, rate and, once every input has been
// found, the time left.
type progress struct {
	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	start  time.Time
	listed int64
	files  int64
	bytes  int64 // decompressed
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
			progressbar.OptionClearOnFinish(),
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
	p.bar.ChangeMax64(p.listed)
}

// done counts an input judged.
func (p *progress) done(res result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files++
	p.bytes += res.bytes
	rate := float64(p.bytes) / max(time.Since(p.start).Seconds(), 1e-3)
	p.bar.Describe(fmt.Sprintf("%s read, %s/s", size(p.bytes), size(int64(rate))))
	_ = p.bar.Add64(1) // a bar that cannot draw is no reason to stop
}

// clear removes the bar so a line can be printed; the next update draws
// it again.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Clear()
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
}

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
