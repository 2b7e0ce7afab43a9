package main

import (
	"bytes"
	"cmp"
	"context"
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

	"github.com/lambdawatch/lambdawatch/pkg/archive"
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
	// filter narrows the inputs by the folders CloudTrail files them in,
	// and the records by their time, account and region.
	filter archive.Filter
	// prefilter skips the JSON decoding of files that hold no watched
	// call; off, every file is decoded (to check the filter).
	prefilter bool
	progress  bool // draw a progress bar on standard error
}

func parseScanFlags(args []string, stderr io.Writer) (scanOptions, error) {
	var (
		o                       scanOptions
		trusted, minSev, failOn string
		since, until            string
		accounts, regions       string
		deployRoles             string
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
	fset.StringVar(&deployRoles, "deploy-roles", os.Getenv("MONITOR_DEPLOY_ROLES"), "comma-separated `patterns` of the roles CloudFormation deploys lambdawatch with (default from MONITOR_DEPLOY_ROLES, else cdk-*-cfn-exec-role-*)")
	fset.StringVar(&minSev, "min-severity", "MEDIUM", "print findings at or above this `level`: INFO, LOW, MEDIUM, HIGH, CRITICAL")
	fset.StringVar(&failOn, "fail-on", "", "exit 1 when a printed finding is at or above this `level`")
	fset.StringVar(&since, "since", "", "only calls at or after this `time`: a date (2026-01-02), an RFC 3339 time, or a time back from now (36h, 90d, 2w)")
	fset.StringVar(&until, "until", "", "only calls at or before this `time` (a date means the whole day)")
	fset.StringVar(&accounts, "accounts", "", "only these comma-separated `accounts`")
	fset.StringVar(&regions, "regions", "", "only these comma-separated `regions`")
	fset.BoolVar(&o.prefilter, "prefilter", true, "skip the JSON decoding of files whose bytes name no watched call; -prefilter=false decodes every file")
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if o.format != "text" && o.format != "json" {
		errs = append(errs, fmt.Errorf("--format %q: want text or json", o.format))
	}
	o.config.TrustedAccounts = list(trusted)
	o.config.DeployRoles = list(deployRoles)
	o.filter.Accounts, o.filter.Regions = list(accounts), list(regions)
	now := time.Now()
	var err error
	if since != "" {
		if o.filter.Since, err = archive.ParseTime(since, now); err != nil {
			errs = append(errs, fmt.Errorf("--since: %w", err))
		}
	}
	if until != "" {
		if o.filter.Until, err = archive.ParseUntil(until, now); err != nil {
			errs = append(errs, fmt.Errorf("--until: %w", err))
		}
	}
	if err := o.filter.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.config.Validate(); err != nil {
		errs = append(errs, err)
	}
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

// list splits a comma-separated flag value.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := scanner{engine: detect.New(o.config), min: o.min, filter: o.filter, ctx: ctx}
	if o.prefilter {
		s.prefilter = prefilter.New(watchedActions())
	}
	if o.progress {
		s.progress = newProgress(stderr)
	}
	s.s3 = func(ctx context.Context) (archive.API, error) { return archive.NewClient(ctx) }
	out := newPrinter(o.format, stdout)
	var (
		sum      summary
		writeErr error
	)
	// Inputs are judged in parallel and printed in the order given.
	for res := range s.scan(o.paths, stdin, workers(o.paths)) {
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
	if sum.unfiltered > 0 {
		fmt.Fprintf(stderr, "%d files outside the AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD layout were read whole: --since, --until, --accounts and --regions applied to their records only\n", sum.unfiltered)
	}
	switch {
	case sum.errs > 0:
		return exitUsage
	case o.failSet && sum.printed > 0 && sum.worst >= o.failOn:
		return exitFindings
	}
	return exitOK
}

// workers is how many inputs are judged at once. Opening and reading a
// file waits on the kernel, so twice as many workers as cores keep the
// cores busy; an object in S3 waits on the network for tens of
// milliseconds, so reading from S3 takes many more.
func workers(paths []string) int {
	n := 2 * runtime.GOMAXPROCS(0)
	if slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, "s3://") }) {
		n = max(n, 64)
	}
	return n
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
	ctx       context.Context
	engine    *detect.Engine
	prefilter *prefilter.Filter // nil: decode every input
	filter    archive.Filter
	min       detect.Severity
	progress  *progress // nil: none shown
	// s3 makes the S3 client, once, when a path names a bucket.
	s3 func(context.Context) (archive.API, error)
}

// result is what one input gave, or an error met while finding inputs.
type result struct {
	input      bool // an input was read (or tried)
	unfiltered bool // outside the AWSLogs layout while a bound is set
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
					unfiltered := j.res.unfiltered
					j.res = s.input(j.name, j.open, &ir)
					j.res.unfiltered = unfiltered
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
			w := walker{s: s, send: send, stdin: stdin, walked: map[string]bool{}}
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
	s      *scanner
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
		return w.send(failed("%v", err))
	}
	if !info.IsDir() {
		return w.file(p, true)
	}
	return w.walk(p)
}

// file sends a job for the file at path, unless the filter rules it out.
// A file named on the command line is read whatever its name, as long as
// no bound rules it out.
func (w *walker) file(path string, named bool) bool {
	key := filepath.ToSlash(path)
	if !w.s.filter.Keep(key) && (!named || w.s.filter.Bounded() && cloudtrail.RecordFile(filepath.Base(path))) {
		return true
	}
	j := fileJob(path)
	j.res.unfiltered = w.s.filter.Unfiltered(key)
	return w.send(j)
}

// bucket sends a job for each object under an s3:// URL, listed as the
// filter allows, in key order.
func (w *walker) bucket(url string) bool {
	name, prefix, err := archive.ParseURL(url)
	if err != nil {
		return w.send(failed("%v", err))
	}
	client, err := w.s3()
	if err != nil {
		return w.send(failed("%s: %v", url, err))
	}
	b := &archive.Bucket{Client: client, Name: name, Prefix: prefix, Filter: w.s.filter}
	for obj, err := range b.Objects(w.s.ctx) {
		if err != nil {
			if !w.send(failed("%v", err)) {
				return false
			}
			continue
		}
		j := &job{name: b.URL(obj.Key), open: func() (io.ReadCloser, error) { return b.Open(w.s.ctx, obj.Key) }, done: make(chan struct{})}
		j.res.unfiltered = obj.Unfiltered
		if !w.send(j) {
			return false
		}
	}
	return true
}

// s3 returns the S3 client, made on first use.
func (w *walker) s3() (archive.API, error) {
	if w.client == nil && w.clientErr == nil {
		w.client, w.clientErr = w.s.s3(w.s.ctx)
	}
	return w.client, w.clientErr
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
	if err == nil {
		// Absolute, so that a folder reached by a relative path and by a
		// link to its absolute path is one folder.
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return send(failed("%v", err))
	}
	if w.walked[real] {
		return true
	}
	w.walked[real] = true
	ok := true
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if ok = send(failed("%v", err)); !ok {
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
			if path != real && !w.s.filter.Descend(filepath.ToSlash(shown)+"/") {
				return filepath.SkipDir // years, days, accounts, regions out of bounds
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
				ok = w.file(shown, false)
			}
		case d.Type().IsRegular() && cloudtrail.RecordFile(name):
			ok = w.file(shown, false)
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
	// Within a file the prefilter passes, it also passes over the
	// records that name no watched call.
	var keep func([]byte) bool
	if s.prefilter != nil {
		keep = s.prefilter.Match
	}
	records := cloudtrail.DecodeBytes(data, keep)
	switch {
	case rest != nil:
		// Too large to hold whole (a big export, say): decoded as it
		// comes, each record through the prefilter.
		records = cloudtrail.DecodeStream(io.MultiReader(bytes.NewReader(data), rest), keep)
	case readErr == nil && s.prefilter != nil && looksJSON(data) && !s.prefilter.Match(data):
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
			if !s.keep(rec) {
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
	res.bytes, res.compressed = ir.Decompressed, ir.Compressed
	if err := r.Close(); err != nil && readErr == nil {
		readErr = err
	}
	if readErr != nil {
		res.errs = append(res.errs, fmt.Sprintf("%s: %v", name, readErr))
	}
	return res
}

// keep applies the filter's bounds to a record: a file's folder tells its
// day, account and region only roughly (and not at all outside the
// AWSLogs layout).
func (s *scanner) keep(rec cloudtrail.Record) bool {
	f := s.filter
	return f.InTime(rec.EventTime) &&
		(len(f.Accounts) == 0 || slices.Contains(f.Accounts, rec.RecipientAccountID)) &&
		(len(f.Regions) == 0 || slices.Contains(f.Regions, rec.AWSRegion))
}

// looksJSON reports whether data starts as JSON does (after a byte order
// mark and spaces), or is empty. What does not is decoded in full, so that
// a file that is not JSON at all (still gzipped, say, or encrypted) is
// reported rather than passed over as holding no watched call.
func looksJSON(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(data) == 0 || data[0] == '{' || data[0] == '['
}

// wholeRead is the largest input read whole, decompressed, so that the
// prefilter can search it: CloudTrail's log files are far smaller. A
// larger one streams; a worker holds at most about this much.
var wholeRead = 8 << 20 // lowered by tests

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
