package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
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
	fset.StringVar(&minSev, "min-severity", "MEDIUM", "print findings at or above this `level`: INFO, LOW, MEDIUM, HIGH, CRITICAL")
	fset.StringVar(&failOn, "fail-on", "", "exit 1 when a printed finding is at or above this `level`")
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
	o.paths = fset.Args()
	if len(o.paths) == 0 {
		errs = append(errs, errors.New("no PATH given (use - for standard input)"))
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
	s := scanner{
		engine: detect.New(o.config),
		min:    o.min,
		stderr: stderr,
	}
	out := newPrinter(o.format, stdout)
	s.emit = out.print
	for _, p := range o.paths {
		s.path(p, stdin)
	}
	if err := out.flush(); err != nil {
		fmt.Fprintf(stderr, "lambdawatch scan: write: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%d findings at %s or above in %d records from %d inputs", s.printed, o.min, s.records, s.inputs)
	if s.errors > 0 {
		fmt.Fprintf(stderr, "; %d errors", s.errors)
	}
	fmt.Fprintln(stderr)
	switch {
	case s.errors > 0:
		return exitUsage
	case o.failSet && s.printed > 0 && s.worst >= o.failOn:
		return exitFindings
	}
	return exitOK
}

type scanner struct {
	engine  *detect.Engine
	min     detect.Severity
	emit    func(detect.Finding) error
	stderr  io.Writer
	inputs  int
	records int
	printed int
	worst   detect.Severity
	errors  int
}

func (s *scanner) fail(format string, args ...any) {
	s.errors++
	fmt.Fprintf(s.stderr, format+"\n", args...)
}

// path scans a file, a folder or standard input.
func (s *scanner) path(p string, stdin io.Reader) {
	if p == "-" {
		s.input("-", stdin)
		return
	}
	info, err := os.Stat(p)
	if err != nil {
		s.fail("%v", err)
		return
	}
	if !info.IsDir() {
		s.file(p)
		return
	}
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			s.fail("%v", err)
			return nil
		}
		name := d.Name()
		if path != p && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && recordFile(name) {
			s.file(path)
		}
		return nil
	})
	if err != nil {
		s.fail("%s: %v", p, err)
	}
}

// recordFile says whether a file met in a folder may hold records.
func recordFile(name string) bool {
	for _, ext := range []string{".json", ".jsonl", ".ndjson", ".gz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func (s *scanner) file(path string) {
	f, err := os.Open(path)
	if err != nil {
		s.fail("%v", err)
		return
	}
	defer f.Close()
	s.input(path, f)
}

func (s *scanner) input(name string, r io.Reader) {
	s.inputs++
	for rec, err := range cloudtrail.Decode(r) {
		if err != nil {
			s.fail("%s: %v", name, err)
			continue
		}
		s.records++
		findings, err := s.engine.Judge(rec)
		if err != nil {
			s.fail("%s: %v", name, err)
		}
		for _, f := range findings {
			if f.Severity < s.min {
				continue
			}
			if err := s.emit(f); err != nil {
				s.fail("write: %v", err)
				return
			}
			s.printed++
			s.worst = max(s.worst, f.Severity)
		}
	}
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
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
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
