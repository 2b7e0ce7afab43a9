package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
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

// severities reads --min-severity and --fail-on (empty: never fail).
func severities(minSev, failOn string) (min, fail detect.Severity, failSet bool, errs []error) {
	var err error
	if min, err = detect.ParseSeverity(minSev); err != nil {
		errs = append(errs, fmt.Errorf("--min-severity: %w", err))
	}
	if failOn != "" {
		failSet = true
		if fail, err = detect.ParseSeverity(failOn); err != nil {
			errs = append(errs, fmt.Errorf("--fail-on: %w", err))
		}
	}
	return min, fail, failSet, errs
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
