package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// printer writes findings, whatever produced them, as a table or as JSON
// Lines.
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
