package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// printer writes findings, whatever produced them, as a table or as JSON
// Lines.
type printer struct {
	format string
	tw     *tabwriter.Writer
	enc    *json.Encoder
	w      io.Writer
	rows   int
	now    time.Time // ASFF's CreatedAt and UpdatedAt
}

// Output formats.
const (
	formatText = "text" // a table
	formatJSON = "json" // JSON Lines of findings
	formatASFF = "asff" // JSON Lines of AWS Security Finding Format findings
)

// checkFormat says whether a --format value is one of the formats.
func checkFormat(format string) error {
	switch format {
	case formatText, formatJSON, formatASFF:
		return nil
	}
	return fmt.Errorf("--format %q: want %s, %s or %s", format, formatText, formatJSON, formatASFF)
}

// report is what scan and audit share: whom the rules trust, which
// findings are printed, marked suppressed or fail the run, and how they
// are printed.
type report struct {
	format   string
	config   detect.Config
	min      detect.Severity
	failOn   detect.Severity
	failSet  bool
	suppress *suppress.List // marks accepted findings: printed, failing nothing

	trusted, minSev, failOnText, suppressions string // as given
}

// flags adds report's flags to fset.
func (r *report) flags(fset *flag.FlagSet) {
	fset.StringVar(&r.format, "format", formatText, "output `format`: text (a table), json (JSON Lines, one finding a line) or asff (JSON Lines of AWS Security Finding Format findings)")
	fset.StringVar(&r.suppressions, "suppressions", "", "a suppressions `file` (docs/suppressions.md): its findings are printed, marked suppressed, and fail nothing")
	fset.StringVar(&r.trusted, "trusted-accounts", "", "comma-separated `accounts` that may be granted access")
	fset.StringVar(&r.config.OrgID, "org-id", "", "your AWS Organizations `ID` (o-...); grants to it are trusted")
	fset.StringVar(&r.minSev, "min-severity", "MEDIUM", "print findings at or above this `level`: INFO, LOW, MEDIUM, HIGH, CRITICAL")
	fset.StringVar(&r.failOnText, "fail-on", "", "exit 1 when a printed finding is at or above this `level`")
}

// parse reads the flags' values once fset is parsed. The suppressions
// file is read here, before anything else: a typo mutes or unmutes
// nothing.
func (r *report) parse(now time.Time) []error {
	var errs []error
	if err := checkFormat(r.format); err != nil {
		errs = append(errs, err)
	}
	r.config.TrustedAccounts = list(r.trusted)
	var err error
	if r.suppressions != "" {
		if r.suppress, err = suppress.Load(r.suppressions, now); err != nil {
			errs = append(errs, fmt.Errorf("--suppressions: %w", err))
		}
	}
	if r.min, err = detect.ParseSeverity(r.minSev); err != nil {
		errs = append(errs, fmt.Errorf("--min-severity: %w", err))
	}
	if r.failOnText != "" {
		r.failSet = true
		if r.failOn, err = detect.ParseSeverity(r.failOnText); err != nil {
			errs = append(errs, fmt.Errorf("--fail-on: %w", err))
		}
	}
	return errs
}

func newPrinter(format string, w io.Writer) *printer {
	p := &printer{format: format, w: w, now: time.Now().UTC()}
	switch format {
	case formatJSON:
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
	case formatASFF:
	default:
		p.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	return p
}

func (p *printer) print(f detect.Finding) error {
	if p.enc != nil {
		return p.enc.Encode(f)
	}
	if p.format == formatASFF {
		partition, _ := awsid.Partition(f.Region)
		b, err := asff.JSON(asff.FromFinding(f, asff.Product{Partition: partition, Region: f.Region, Account: f.Account}, p.now))
		if err != nil {
			return err
		}
		_, err = p.w.Write(append(b, '\n'))
		return err
	}
	if p.rows == 0 {
		fmt.Fprintln(p.tw, "SEVERITY\tRULE\tTIME\tACCOUNT\tREGION\tRESOURCE\tPRINCIPAL\tSUMMARY")
	}
	p.rows++
	sev := f.Severity.String()
	if f.Outcome == detect.Failed {
		sev += " (failed)"
	}
	if f.Suppressed != "" {
		sev += " (suppressed)"
	}
	when := "" // a record with no time: shown as - like any empty cell
	if !f.EventTime.IsZero() {
		when = f.EventTime.UTC().Format("2006-01-02 15:04:05Z")
	}
	cells := []string{sev, f.Rule, when, f.Account, f.Region, f.Resource(), f.Principal, f.Summary}
	for i, c := range cells {
		cells[i] = cell(c)
	}
	_, err := fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
	return err
}

// flush writes the table: its columns are known only once every row is.
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
