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
)

// TestSummary checks the closing lines against what was printed and what
// the folder holds: two files with grants, three with other calls only.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	grant, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("grant%d.json", i)), grant, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := `{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"x"}]}`
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("other%d.json", i)), []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, pre := range []string{"true", "false"} {
		t.Run("prefilter="+pre, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"scan", "--format", "json", "--prefilter=" + pre, dir}, nil, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			byRule := map[string]int{}
			dec := json.NewDecoder(&stdout)
			for dec.More() {
				var f struct{ Rule string }
				if err := dec.Decode(&f); err != nil {
					t.Fatal(err)
				}
				byRule[f.Rule]++
			}
			if len(byRule) == 0 {
				t.Fatal("no findings printed")
			}
			got := stderr.String()
			for rule, n := range byRule {
				if !strings.Contains(got, fmt.Sprintf("%s %d", rule, n)) {
					t.Errorf("summary lacks %q: %s", fmt.Sprintf("%s %d", rule, n), got)
				}
			}
			if !regexp.MustCompile(`(?m)^read 5 files, [0-9.]+ [kM]?B \([0-9.]+ [kM]?B stored\) in `).MatchString(got) {
				t.Errorf("no read line: %s", got)
			}
			skipped := strings.Contains(got, "3 held no watched call and were not decoded")
			if skipped != (pre == "true") {
				t.Errorf("prefilter %s, summary %q", pre, got)
			}
			// The records count tells what was decoded.
			wantRecords := map[string]string{"true": "in 2 records", "false": "in 5 records"}[pre]
			if !strings.Contains(got, wantRecords) {
				t.Errorf("want %q: %s", wantRecords, got)
			}
		})
	}
}

// TestProgress draws the bar into a buffer, as it would on a terminal.
func TestProgress(t *testing.T) {
	o, err := parseScanFlags([]string{"--format", "json", "../../events"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.progress {
		t.Fatal("a buffer is not a terminal: no bar")
	}
	o.progress = true
	var stdout, stderr bytes.Buffer
	if code := runScan(o, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// The bar draws at most every 100 ms; the first draw always comes.
	if !regexp.MustCompile(`[0-9.]+ [kM]?B read, [0-9.]+ [kM]?B/s`).MatchString(stderr.String()) {
		t.Errorf("no bar drawn: %q", stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), " not decoded\n") {
		t.Errorf("the summary does not end the output: %q", stderr.String())
	}
}

// TestMonitorPrefix: the prefix names lambdawatch's own parts; the
// default is lambdawatch, the flag and MONITOR_PREFIX change it.
func TestMonitorPrefix(t *testing.T) {
	const sample = "../../events/monitor-tampering-deletefunction-monitor.json"
	if _, err := os.Stat(sample); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  string
		args []string
		want bool
	}{
		{"default", "", nil, true},
		{"flag naming another stack", "", []string{"--monitor-prefix", "watchtower"}, false},
		{"environment naming another stack", "watchtower", nil, false},
		{"flag over environment", "watchtower", []string{"--monitor-prefix", "lambdawatch"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MONITOR_PREFIX", tt.env)
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"scan", "--format", "json"}, tt.args...), sample)
			if code := run(args, nil, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.Contains(stdout.String(), `"rule":"monitor-tampering"`); got != tt.want {
				t.Errorf("monitor-tampering found: %v, want %v: %s", got, tt.want, stdout.String())
			}
		})
	}
	var stderr bytes.Buffer
	if code := run([]string{"scan", "--monitor-prefix", "no spaces", sample}, nil, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no spaces") {
		t.Errorf("a bad prefix: exit %d: %s", code, stderr.String())
	}
}
