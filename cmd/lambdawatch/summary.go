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
)

// summary adds up what a scan read and found, for the closing lines on
// standard error.
type summary struct {
	inputs, decoded, skipped, records, errs int
	unfiltered                              int
	bytes, compressed                       int64
	byRule                                  map[string]int
	printed                                 int
	worst                                   detect.Severity
}

func (s *summary) add(res result) {
	if res.input {
		s.inputs++
	}
	if res.decoded {
		s.decoded++
	}
	if res.skipped {
		s.skipped++
	}
	if res.unfiltered {
		s.unfiltered++
	}
	s.records += res.records
	s.bytes += res.bytes
	s.compressed += res.compressed
	s.errs += len(res.errs)
	for _, f := range res.findings {
		if s.byRule == nil {
			s.byRule = map[string]int{}
		}
		s.byRule[f.Rule]++
		s.printed++
		s.worst = max(s.worst, f.Severity)
	}
}

// write prints the summary:
//
//	3 findings at MEDIUM or above in 40 records judged from 2000 inputs; 1 errors
//	by rule: public-invoke 2, cross-account-invoke 1
//	read 2000 files, 150.2 MB (12.0 MB stored) in 0.41s, 366.3 MB/s; 1998 held no watched call and were not decoded
func (s *summary) write(w io.Writer, min detect.Severity, elapsed time.Duration) {
	fmt.Fprintf(w, "%d findings at %s or above in %d records judged from %d inputs", s.printed, min, s.records, s.inputs)
	if s.errs > 0 {
		fmt.Fprintf(w, "; %d errors", s.errs)
	}
	fmt.Fprintln(w)
	if len(s.byRule) > 0 {
		rules := slices.SortedFunc(maps.Keys(s.byRule), func(a, b string) int {
			return cmp.Or(cmp.Compare(s.byRule[b], s.byRule[a]), cmp.Compare(a, b))
		})
		parts := make([]string, len(rules))
		for i, r := range rules {
			parts[i] = fmt.Sprintf("%s %d", r, s.byRule[r])
		}
		fmt.Fprintf(w, "by rule: %s\n", strings.Join(parts, ", "))
	}
	secs := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "read %d files, %s (%s stored) in %.2fs, %s/s", s.decoded+s.skipped, size(s.bytes), size(s.compressed), elapsed.Seconds(), size(int64(float64(s.bytes)/secs)))
	if s.skipped > 0 {
		fmt.Fprintf(w, "; %d held no watched call and were not decoded", s.skipped)
	}
	fmt.Fprintln(w)
}
