package cloudtrail_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/broken")

// outcomes lists what a decode yields, one line each: a record's
// position, name and ID, or an error.
func outcomes(seq func(func(cloudtrail.Record, error) bool)) (lines []string, recs []cloudtrail.Record) {
	for rec, err := range seq {
		if err != nil {
			lines = append(lines, "error: "+err.Error())
			continue
		}
		lines = append(lines, rec.Position+": "+rec.EventName+" "+rec.EventID)
		recs = append(recs, rec)
	}
	return lines, recs
}

// flagged are the IDs of the records that raise a finding.
func flagged(t *testing.T, recs []cloudtrail.Record) []string {
	t.Helper()
	e := detect.New(detect.Config{Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	var ids []string
	for _, rec := range recs {
		fs, err := e.Judge(rec)
		if err != nil {
			t.Errorf("%s: %v", rec.Position, err)
		}
		if len(fs) > 0 {
			ids = append(ids, rec.EventID)
		}
	}
	return ids
}

// TestBrokenRecordHidesNothing: a broken record in a log file is named by
// its position and the records after it are still read and judged, by
// Decode, by DecodeStream and through the prefilter; a file cut short
// keeps what came before the cut. What each file decodes to is in its
// .golden file (go test -run TestBrokenRecordHidesNothing -update
// rewrites them).
func TestBrokenRecordHidesNothing(t *testing.T) {
	tests := []struct {
		file    string
		flagged []string // IDs of the records that raise findings
	}{
		{"syntax-error-between-grants.json", []string{"grant-1", "grant-2"}},
		{"syntax-error-between-grants-pretty.json", []string{"grant-1", "grant-2"}},
		{"unmatched-bracket-between-grants.json", []string{"grant-1", "grant-2"}},
		{"bad-escape-between-grants.json", []string{"grant-1", "grant-2"}},
		{"wrong-type-between-grants.json", []string{"grant-1", "grant-2"}},
		{"broken-other-call-between-grants.json", []string{"grant-1", "grant-2"}},
		{"missing-comma-between-grants.json", []string{"grant-1", "grant-2"}},
		{"concatenated-first-broken.json", []string{"grant-1", "grant-2"}},
		{"jsonl-cut-line.jsonl", []string{"grant-1", "grant-2"}},
		{"jsonl-line-break-in-string.jsonl", []string{"grant-1", "grant-2"}},
		{"truncated.json", []string{"grant-1", "grant-2"}},
		{"truncated.json.gz", []string{"grant-1"}},
	}
	var names []string
	for _, s := range detect.Watched {
		names = append(names, s.Actions...)
	}
	filter := prefilter.New(names)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "broken", tt.file)
			stored, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			whole, recs := outcomes(cloudtrail.Decode(bytes.NewReader(stored)))
			golden := path + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(strings.Join(whole, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(whole, "\n") + "\n"; got != string(want) {
				t.Errorf("Decode:\n%s\nwant (%s):\n%s", got, golden, want)
			}
			if !slices.ContainsFunc(whole, func(s string) bool { return strings.HasPrefix(s, "error: record ") }) {
				t.Errorf("no record named broken")
			}
			if got := flagged(t, recs); !slices.Equal(got, tt.flagged) {
				t.Errorf("flagged %q, want %q", got, tt.flagged)
			}

			// As a hunt reads an input too large to hold whole: its
			// first bytes, then the rest as it comes.
			var ir cloudtrail.InputReader
			data, rest, err := ir.Open(bytes.NewReader(stored), 256)
			if err != nil {
				t.Fatal(err)
			}
			if rest == nil {
				rest = bytes.NewReader(nil)
			}
			streamed, _ := outcomes(cloudtrail.DecodeStream(io.MultiReader(bytes.NewReader(data), rest), nil))
			if got := strings.Join(streamed, "\n") + "\n"; got != string(want) {
				t.Errorf("DecodeStream:\n%s\nwant (%s):\n%s", got, golden, want)
			}

			// Through the prefilter, as a hunt reads a file it keeps.
			data, readErr := ir.Read(bytes.NewReader(stored))
			if !filter.Match(data) {
				t.Fatal("the prefilter drops the file")
			}
			_, kept := outcomes(cloudtrail.DecodeBytes(data, filter.Match))
			if readErr != nil && !strings.HasSuffix(tt.file, ".gz") {
				t.Errorf("read: %v", readErr)
			}
			if got := flagged(t, kept); !slices.Equal(got, tt.flagged) {
				t.Errorf("through the prefilter: flagged %q, want %q", got, tt.flagged)
			}
		})
	}
}
