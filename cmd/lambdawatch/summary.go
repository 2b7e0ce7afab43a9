package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/hunt"
)

// tally counts the findings printed, by rule, whatever produced them.
type tally struct {
	printed    int
	suppressed int             // of printed
	worst      detect.Severity // of the printed findings not suppressed
	byRule     map[string]int
}

func (t *tally) add(f detect.Finding) {
	if t.byRule == nil {
		t.byRule = map[string]int{}
	}
	t.byRule[f.Rule]++
	t.printed++
	if f.Suppressed != "" {
		t.suppressed++ // reported, but it fails nothing
		return
	}
	t.worst = max(t.worst, f.Severity)
}

// failsOn reports whether a printed finding that is not suppressed is at
// or above sev.
func (t *tally) failsOn(sev detect.Severity) bool {
	return t.printed > t.suppressed && t.worst >= sev
}

// writeByRule writes the findings by rule, most first, when there are any:
//
//	by rule: public-invoke 2, cross-account-invoke 1
func (t *tally) writeByRule(w io.Writer) {
	if len(t.byRule) == 0 {
		return
	}
	rules := slices.SortedFunc(maps.Keys(t.byRule), func(a, b string) int {
		return cmp.Or(cmp.Compare(t.byRule[b], t.byRule[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmt.Sprintf("%s %d", r, t.byRule[r])
	}
	fmt.Fprintf(w, "by rule: %s\n", strings.Join(parts, ", "))
}

// summary adds up what a scan read and found, for the closing lines on
// standard error.
type summary struct {
	tally
	inputs, decoded, skipped, records, errs int
	unfiltered                              int
	bytes, compressed                       int64
}

func (s *summary) add(res hunt.Result) {
	if res.Input {
		s.inputs++
	}
	if res.Decoded {
		s.decoded++
	}
	if res.Skipped {
		s.skipped++
	}
	if res.Unfiltered {
		s.unfiltered++
	}
	s.records += res.Records
	s.bytes += res.Bytes
	s.compressed += res.Compressed
	s.errs += len(res.Errs)
	for _, f := range res.Findings {
		s.tally.add(f)
	}
}

// write prints the summary:
//
//	3 findings at MEDIUM or above in 40 records judged from 2000 inputs; 1 error
//	by rule: public-invoke 2, cross-account-invoke 1
//	read 2000 files, 150.2 MB (12.0 MB stored) in 0.41s, 366.3 MB/s; 1998 held no watched call and were not decoded
func (s *summary) write(w io.Writer, min detect.Severity, elapsed time.Duration) {
	fmt.Fprintf(w, "%s at %s or above in %s judged from %s", count(s.printed, "finding"), min, count(s.records, "record"), count(s.inputs, "input"))
	if s.suppressed > 0 {
		fmt.Fprintf(w, " (%d suppressed)", s.suppressed)
	}
	if s.errs > 0 {
		fmt.Fprintf(w, "; %s", count(s.errs, "error"))
	}
	fmt.Fprintln(w)
	s.writeByRule(w)
	secs := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "read %s, %s (%s stored) in %.2fs, %s/s", count(s.decoded+s.skipped, "file"), size(s.bytes), size(s.compressed), elapsed.Seconds(), size(int64(float64(s.bytes)/secs)))
	if s.skipped > 0 {
		fmt.Fprintf(w, "; %d held no watched call and %s not decoded", s.skipped, plural(s.skipped, "was", "were"))
	}
	fmt.Fprintln(w)
	if s.unfiltered > 0 {
		fmt.Fprintf(w, "%s outside the AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD layout %s read whole: --since, --until, --accounts and --regions applied to %s records only\n",
			count(s.unfiltered, "file"), plural(s.unfiltered, "was", "were"), plural(s.unfiltered, "its", "their"))
	}
}

// count writes n and a noun, plural unless n is 1: "1 finding", "0 findings".
func count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, plural(n, noun, noun+"s"))
}

// plural picks the word for n things.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
