package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// TestTableNoTime: a record with no time shows - in the table, as any
// empty cell does, not the zero time.
func TestTableNoTime(t *testing.T) {
	b, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	delete(ev.Detail, "eventTime")
	rec, err := json.Marshal(ev.Detail) // the bare record: no envelope time either
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scan", "-"}, bytes.NewReader(rec), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("table: %q", stdout.String())
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	if header[2] != "TIME" || row[2] != "-" || strings.Contains(stdout.String(), "0001-01-01") {
		t.Errorf("table: %q", stdout.String())
	}
}

// TestSummaryWords: each count in the summary agrees with its noun and
// verb, for one and for many.
func TestSummaryWords(t *testing.T) {
	one := summary{inputs: 1, decoded: 0, skipped: 1, records: 1, errs: 1, unfiltered: 1, bytes: 1500, compressed: 500}
	one.tally.add(detect.Finding{Rule: "public-invoke", Severity: detect.Critical})
	many := summary{inputs: 3, decoded: 1, skipped: 2, records: 2, errs: 2, unfiltered: 2, bytes: 1500, compressed: 500}
	many.tally.add(detect.Finding{Rule: "public-invoke", Severity: detect.Critical})
	many.tally.add(detect.Finding{Rule: "public-layer", Severity: detect.High})
	tests := []struct {
		name string
		s    summary
		want string
	}{
		{"none", summary{}, "0 findings at MEDIUM or above in 0 records judged from 0 inputs\n" +
			"read 0 files, 0 B (0 B stored) in 2.00s, 0 B/s\n"},
		{"one", one, "1 finding at MEDIUM or above in 1 record judged from 1 input; 1 error\n" +
			"by rule: public-invoke 1\n" +
			"read 1 file, 1.5 kB (500 B stored) in 2.00s, 750 B/s; 1 held no watched call and was not decoded\n" +
			"1 file outside the AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD layout was read whole: --since, --until, --accounts and --regions applied to its records only\n"},
		{"many", many, "2 findings at MEDIUM or above in 2 records judged from 3 inputs; 2 errors\n" +
			"by rule: public-invoke 1, public-layer 1\n" +
			"read 3 files, 1.5 kB (500 B stored) in 2.00s, 750 B/s; 2 held no watched call and were not decoded\n" +
			"2 files outside the AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD layout were read whole: --since, --until, --accounts and --regions applied to their records only\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		tt.s.write(&b, detect.Medium, 2*time.Second)
		if b.String() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, b.String(), tt.want)
		}
	}
}

// screen is what a terminal shows of out: a carriage return goes back to
// the start of the line, and what follows overwrites it.
func screen(out string) []string {
	var lines []string
	var line []rune
	col := 0
	for _, r := range out {
		switch r {
		case '\r':
			col = 0
		case '\n':
			lines = append(lines, strings.TrimRight(string(line), " "))
			line, col = nil, 0
		default:
			if col < len(line) {
				line[col] = r
			} else {
				line = append(line, r)
			}
			col++
		}
	}
	return append(lines, strings.TrimRight(string(line), " "))
}

// elapsed matches the figures of the summary that depend on time.
var elapsed = regexp.MustCompile(`in [0-9.]+s, [0-9.]+ [kMGTP]?B/s`)

// TestOneTerminal: with standard output and standard error on one
// terminal, the bar drawn among the findings, the errors, the table and
// the summary, each line shows whole and alone: the terminal reads as the
// output without a bar does.
func TestOneTerminal(t *testing.T) {
	dir := t.TempDir()
	if _, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 300, RecordsPerFile: 40, WatchedEvery: 100, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, "AWSLogs", fmt.Sprintf("bad%02d.json", i)), []byte("not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			o, err := parseScanFlags([]string{"--format", format, "--min-severity", "INFO", dir}, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			terminal := func(bar bool) (raw string, lines []string) {
				o.progress = bar
				var both bytes.Buffer // one terminal: both streams, in the order written
				if code := runScan(o, nil, &both, &both); code != exitUsage {
					t.Fatalf("exit %d, want %d for the bad files", code, exitUsage)
				}
				return both.String(), screen(elapsed.ReplaceAllString(both.String(), "in TIME"))
			}
			raw, got := terminal(true)
			_, want := terminal(false)
			if !strings.Contains(raw, "B read, ") {
				t.Fatal("no bar drawn: the test proves nothing")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				for i := range max(len(got), len(want)) {
					var g, w string
					if i < len(got) {
						g = got[i]
					}
					if i < len(want) {
						w = want[i]
					}
					if g != w {
						t.Errorf("line %d:\n got %.200q\nwant %.200q", i+1, g, w)
						break
					}
				}
			}
		})
	}
}

// TestBarStepsAside: the bar is cleared for every write, is not drawn
// over a line left unfinished, and comes back once the line ends.
func TestBarStepsAside(t *testing.T) {
	var term bytes.Buffer
	p := newProgress(&term)
	out := p.writer(&term)
	frames := func() int { return strings.Count(term.String(), "B read, ") }
	// The bar draws at most every 100 ms, so each step waits that long to
	// be sure a frame would come.
	step := func(n int64) {
		time.Sleep(150 * time.Millisecond)
		p.found()
		p.done(n)
	}
	step(1000)
	first := frames()
	if first == 0 {
		t.Fatalf("no first frame: %q", term.String())
	}
	fmt.Fprint(out, "SEVERITY  RULE")
	step(1000)
	fmt.Fprint(out, "  TIME\n")
	if frames() != first {
		t.Errorf("a frame drawn over an unfinished line: %q", term.String())
	}
	step(1000)
	if frames() == first {
		t.Errorf("no frame once the line ended: %q", term.String())
	}
	fmt.Fprintln(out, "CRITICAL  public-invoke")
	p.finish()
	step(1000)
	if got := screen(term.String()); strings.Join(got, "\n") != "SEVERITY  RULE  TIME\nCRITICAL  public-invoke\n" {
		t.Errorf("screen %q from %q", got, term.String())
	}
}
