package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

// Exit statuses of scan.
const (
	exitOK       = 0
	exitFindings = 1 // a finding at or above --fail-on
	exitUsage    = 2 // bad flags, or an input that could not be read
)

type scanOptions struct {
	format  string
	min     detect.Severity
	failOn  detect.Severity
	failSet bool
	config  detect.Config
	paths   []string
	// prefilter skips the JSON decoding of files that hold no watched
	// call; off, every file is decoded (to check the filter).
	prefilter bool
	progress  bool // draw a progress bar on standard error
}

func parseScanFlags(args []string, stderr io.Writer) (scanOptions, error) {
	var (
		o                       scanOptions
		trusted, minSev, failOn string
		fset                    = flag.NewFlagSet("scan", flag.ContinueOnError)
	)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lambdawatch scan [flags] PATH...\n\nPATH is a file, a folder (walked for .json, .jsonl, .ndjson and .gz files) or - for standard input.\nEach may hold EventBridge events, CloudTrail records, CloudTrail log files, JSON arrays or JSON Lines, gzipped or not.\n\nExit status: 0, or 1 when a finding reaches --fail-on, or 2 when an input could not be read.\n\nFlags:")
		fset.PrintDefaults()
	}
	fset.StringVar(&o.format, "format", "text", "output `format`: text (a table) or json (JSON Lines, one finding a line)")
	fset.StringVar(&trusted, "trusted-accounts", "", "comma-separated `accounts` that may be granted access")
	fset.StringVar(&o.config.OrgID, "org-id", "", "your AWS Organizations `ID` (o-...); grants to it are trusted")
	fset.StringVar(&o.config.MonitorPrefix, "monitor-prefix", cmp.Or(os.Getenv("MONITOR_PREFIX"), detect.DefaultMonitorPrefix), "name `prefix` of lambdawatch's own resources, whose changes are monitor-tampering (default from MONITOR_PREFIX)")
	fset.StringVar(&minSev, "min-severity", "MEDIUM", "print findings at or above this `level`: INFO, LOW, MEDIUM, HIGH, CRITICAL")
	fset.StringVar(&failOn, "fail-on", "", "exit 1 when a printed finding is at or above this `level`")
	fset.BoolVar(&o.prefilter, "prefilter", true, "skip the JSON decoding of files whose bytes name no watched call; -prefilter=false decodes every file")
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if o.format != "text" && o.format != "json" {
		errs = append(errs, fmt.Errorf("--format %q: want text or json", o.format))
	}
	for _, a := range strings.Split(trusted, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.config.TrustedAccounts = append(o.config.TrustedAccounts, a)
		}
	}
	if err := o.config.Validate(); err != nil {
		errs = append(errs, err)
	}
	var err error
	if o.min, err = detect.ParseSeverity(minSev); err != nil {
		errs = append(errs, fmt.Errorf("--min-severity: %w", err))
	}
	if failOn != "" {
		o.failSet = true
		if o.failOn, err = detect.ParseSeverity(failOn); err != nil {
			errs = append(errs, fmt.Errorf("--fail-on: %w", err))
		}
	}
	o.progress = isTerminal(stderr)
	o.paths = fset.Args()
	if len(o.paths) == 0 {
		errs = append(errs, errors.New("no PATH given (use - for standard input)"))
	}
	if i := slices.Index(o.paths, "-"); i >= 0 && slices.Contains(o.paths[i+1:], "-") {
		errs = append(errs, errors.New("- (standard input) given more than once"))
	}
	return o, errors.Join(errs...)
}

func scan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseScanFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lambdawatch scan: %v\n", err)
		return exitUsage
	}
	return runScan(o, stdin, stdout, stderr)
}

// runScan is scan once its flags are read.
func runScan(o scanOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	start := time.Now()
	s := scanner{engine: detect.New(o.config), min: o.min}
	if o.prefilter {
		s.filter = prefilter.New(watchedActions())
	}
	if o.progress {
		s.progress = newProgress(stderr)
	}
	out := newPrinter(o.format, stdout)
	var (
		sum      summary
		writeErr error
	)
	// Inputs are judged in parallel and printed in the order given.
	for res := range s.scan(o.paths, stdin, runtime.GOMAXPROCS(0)) {
		if len(res.errs) > 0 && s.progress != nil {
			s.progress.clear()
		}
		for _, e := range res.errs {
			fmt.Fprintln(stderr, e)
		}
		sum.add(res)
		for _, f := range res.findings {
			if writeErr == nil {
				writeErr = out.print(f)
			}
		}
	}
	if s.progress != nil {
		s.progress.finish()
	}
	if writeErr == nil {
		writeErr = out.flush()
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "lambdawatch scan: write: %v\n", writeErr)
		return exitUsage
	}
	sum.write(stderr, o.min, time.Since(start))
	switch {
	case sum.errs > 0:
		return exitUsage
	case o.failSet && sum.printed > 0 && sum.worst >= o.failOn:
		return exitFindings
	}
	return exitOK
}

// watchedActions are the calls any rule reads: the prefilter keeps the
// files that name one.
func watchedActions() []string {
	var names []string
	for _, svc := range detect.Watched {
		names = append(names, svc.Actions...)
	}
	return names
}

// scanner judges inputs: files, folders of them, standard input.
type scanner struct {
	engine   *detect.Engine
	filter   *prefilter.Filter // nil: decode every input
	min      detect.Severity
	progress *progress // nil: none shown
}

// result is what one input gave, or an error met while finding inputs.
type result struct {
	input      bool // an input was read (or tried)
	decoded    bool // its bytes were decoded: the prefilter kept them
	skipped    bool // the prefilter showed it holds no watched call
	records    int
	bytes      int64 // read, decompressed
	compressed int64 // read, as stored
	findings   []detect.Finding
	errs       []string
}

// job is one input on its way through the workers; done closes when res
// is ready.
type job struct {
	name string
	open func() (io.ReadCloser, error)
	res  result
	done chan struct{}
}

// scan yields a result for each input under paths, in order, judging up to
// workers inputs at once: an archive holds many small files.
func (s *scanner) scan(paths []string, stdin io.Reader, workers int) iter.Seq[result] {
	return func(yield func(result) bool) {
		ordered := make(chan *job, 4*workers)
		work := make(chan *job)
		stop := make(chan struct{})
		defer close(stop)

		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				var ir cloudtrail.InputReader
				for j := range work {
					j.res = s.input(j.name, j.open, &ir)
					if s.progress != nil {
						s.progress.done(j.res)
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
			// send queues j for printing, then for a worker; it reports
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
				if s.progress != nil {
					s.progress.found()
				}
				select {
				case work <- j:
					return true
				case <-stop:
					return false
				}
			}
			w := walker{send: send, stdin: stdin, walked: map[string]bool{}}
			for _, p := range paths {
				if !w.inputs(p) {
					return
				}
			}
			if s.progress != nil {
				s.progress.walked()
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

// failed is a job that carries only an error.
func failed(format string, args ...any) *job {
	j := &job{res: result{errs: []string{fmt.Sprintf(format, args...)}}, done: make(chan struct{})}
	close(j.done)
	return j
}

// walker finds the inputs that paths name.
type walker struct {
	send   func(*job) bool // false once nobody wants more
	stdin  io.Reader
	walked map[string]bool // folders walked, by real path: links may loop
}

// inputs sends a job for each input p names: a file, a folder (walked,
// following symbolic links) or standard input. It reports false when send
// does.
func (w *walker) inputs(p string) bool {
	if p == "-" {
		return w.send(&job{name: "-", open: func() (io.ReadCloser, error) { return io.NopCloser(w.stdin), nil }, done: make(chan struct{})})
	}
	info, err := os.Stat(p)
	if err != nil {
		return w.send(failed("%v", err))
	}
	if !info.IsDir() {
		return w.send(fileJob(p))
	}
	return w.walk(p)
}

func fileJob(path string) *job {
	return &job{name: path, open: func() (io.ReadCloser, error) { return os.Open(path) }, done: make(chan struct{})}
}

// walk sends a job for each file under root that may hold records. It
// skips hidden entries and CloudTrail's digest files, which list log files
// but hold no calls.
func (w *walker) walk(root string) bool {
	send := w.send
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return send(failed("%v", err))
	}
	if w.walked[real] {
		return true
	}
	w.walked[real] = true
	ok := true
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		name := d.Name()
		shown := filepath.Join(root, strings.TrimPrefix(path, real)) // as the user named it
		switch {
		case err != nil:
			ok = send(failed("%v", err))
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
			w.walked[path] = true
		case d.Type()&fs.ModeSymlink != 0:
			info, err := os.Stat(path)
			switch {
			case err != nil:
				ok = send(failed("%v", err))
			case info.IsDir():
				ok = w.walk(shown)
			case info.Mode().IsRegular() && cloudtrail.RecordFile(name):
				ok = send(fileJob(shown))
			}
		case d.Type().IsRegular() && cloudtrail.RecordFile(name):
			ok = send(fileJob(shown))
		}
		if !ok {
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil && ok {
		ok = send(failed("%s: %v", root, err))
	}
	return ok
}

// input reads and judges one input. The bytes of a file that holds no
// watched call are not decoded: that is most of an archive.
func (s *scanner) input(name string, open func() (io.ReadCloser, error), ir *cloudtrail.InputReader) result {
	res := result{input: true}
	r, err := open()
	if err != nil {
		res.errs = append(res.errs, err.Error())
		return res
	}
	data, rest, readErr := ir.Open(r, wholeRead)
	records := cloudtrail.DecodeBytes(data)
	var stream *counter
	switch {
	case rest != nil:
		// Too large to hold whole (a big export, say): decoded as it
		// comes, without the prefilter, which needs the whole file.
		stream = &counter{r: io.MultiReader(bytes.NewReader(data), rest)}
		records = cloudtrail.DecodeStream(stream)
	case s.filter != nil && !s.filter.Match(data):
		res.skipped = true
		records = nil
	}
	if records != nil {
		res.decoded = true
		for rec, err := range records {
			if err != nil {
				res.errs = append(res.errs, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			res.records++
			findings, err := s.engine.Judge(rec)
			if err != nil {
				res.errs = append(res.errs, fmt.Sprintf("%s: %s: %v", name, rec.Position, err))
			}
			for _, f := range findings {
				if f.Severity >= s.min {
					res.findings = append(res.findings, f)
				}
			}
		}
	}
	res.bytes, res.compressed = int64(len(data)), ir.Compressed
	if stream != nil {
		res.bytes = stream.n
	}
	if err := r.Close(); err != nil && readErr == nil {
		readErr = err
	}
	if readErr != nil {
		res.errs = append(res.errs, fmt.Sprintf("%s: %v", name, readErr))
	}
	return res
}

// wholeRead is the largest input read whole, decompressed, so that the
// prefilter can search it: CloudTrail's log files are far smaller. Each
// worker keeps a buffer this large at most.
var wholeRead = 32 << 20 // lowered by tests

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// printer writes findings as a table or as JSON Lines.
type printer struct {
	format string
	tw     *tabwriter.Writer
	enc    *json.Encoder
	rows   int
}

func newPrinter(format string, w io.Writer) *printer {
	p := &printer{format: format}
	if format == "json" {
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
	} else {
		p.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	return p
}

func (p *printer) print(f detect.Finding) error {
	if p.enc != nil {
		return p.enc.Encode(f)
	}
	if p.rows == 0 {
		fmt.Fprintln(p.tw, "SEVERITY\tRULE\tTIME\tACCOUNT\tREGION\tRESOURCE\tPRINCIPAL\tSUMMARY")
	}
	p.rows++
	sev := f.Severity.String()
	if f.Outcome == detect.Failed {
		sev += " (failed)"
	}
	cells := []string{sev, f.Rule, f.EventTime.UTC().Format("2006-01-02 15:04:05Z"), f.Account, f.Region, f.Resource(), f.Principal, f.Summary}
	for i, c := range cells {
		cells[i] = cell(c)
	}
	_, err := fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
	return err
}

func (p *printer) flush() error {
	if p.tw != nil {
		return p.tw.Flush()
	}
	return nil
}

// cell makes a value safe for one table cell: records carry text an
// attacker chose (user agents, session names), which must not move the
// cursor, clear the screen or break the table.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		// Control characters, and format characters such as U+202E
		// (right-to-left override), which can make text read backwards.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}

func listRules(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tWHAT")
	for _, r := range detect.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	if err := tw.Flush(); err != nil {
		return exitUsage
	}
	return exitOK
}
