package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

// finding is what these tests read of a printed finding.
type finding struct {
	EventID   string    `json:"eventID"`
	EventTime time.Time `json:"eventTime"`
	Rule      string    `json:"rule"`
}

func findings(t *testing.T, out string) []finding {
	t.Helper()
	var fs []finding
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var f finding
		if err := dec.Decode(&f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// scanArgs runs scan and returns its output and exit status.
func scanArgs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errs bytes.Buffer
	code = run(append([]string{"scan", "--format", "json", "--min-severity", "INFO"}, args...), nil, &out, &errs)
	return out.String(), errs.String(), code
}

// writeArchive writes a synthetic archive over a few days: 288 files a day.
func writeArchive(t *testing.T) (string, cloudtrailtest.Written) {
	t.Helper()
	dir := t.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 700, RecordsPerFile: 4, WatchedEvery: 40, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return dir, w
}

// TestFiltersLocal: --since and --until (a date meaning the whole day),
// --accounts and --regions reach the hunt: the findings of a full scan
// that fall within them, and no folder read outside them.
func TestFiltersLocal(t *testing.T) {
	dir, _ := writeArchive(t)
	all, _, code := scanArgs(t, dir)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	every := findings(t, all)
	day2 := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	var want []string
	for _, f := range every {
		if !f.EventTime.Before(day2) && f.EventTime.Before(day2.AddDate(0, 0, 1)) {
			want = append(want, f.EventID+f.Rule)
		}
	}
	if len(want) == 0 || len(want) == len(every) {
		t.Fatalf("%d of %d findings on the second day: the test proves little", len(want), len(every))
	}
	out, stderr, code := scanArgs(t, "--since", "2026-10-02", "--until", "2026-10-02", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []string
	for _, f := range findings(t, out) {
		got = append(got, f.EventID+f.Rule)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d findings, want %d", len(got), len(want))
	}
	if n := readFiles(t, stderr); n < 288 || n > 2*288 {
		t.Errorf("read %d files for one day", n)
	}
	for _, args := range [][]string{{"--accounts", "999999999999"}, {"--regions", "us-east-1"}} {
		out, stderr, code := scanArgs(t, append(args, dir)...)
		if code != exitOK || len(findings(t, out)) != 0 || readFiles(t, stderr) != 0 {
			t.Errorf("%v: exit %d, %d findings: %s", args, code, len(findings(t, out)), stderr)
		}
	}

	_, stderr, code = scanArgs(t, "--since", "3y", "--regions", "mars-1", dir)
	if code != exitUsage || !strings.Contains(stderr, "--since") || !strings.Contains(stderr, "mars-1") {
		t.Errorf("bad bounds: exit %d: %s", code, stderr)
	}
}

func readFiles(t *testing.T, summary string) int {
	t.Helper()
	i := strings.Index(summary, "read ")
	if i < 0 {
		t.Fatalf("no summary: %s", summary)
	}
	var n int
	if _, err := fmtSscan(summary[i+len("read "):], &n); err != nil {
		t.Fatalf("summary %q: %v", summary, err)
	}
	return n
}

// TestScanS3 reads the archive from an S3 protocol server on loopback,
// reached as the AWS CLI would reach it (AWS_ENDPOINT_URL_S3), and finds
// what a local scan of the same files finds; a broken object is named by
// its URL and does not stop the scan.
func TestScanS3(t *testing.T) {
	dir, w := writeArchive(t)
	const bucket = "trail-logs"
	srvURL := archivetest.UploadArchive(t, bucket, dir, w.Paths)
	brokenKey := archivetest.BrokenKey

	t.Setenv("AWS_ENDPOINT_URL_S3", srvURL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	os.Unsetenv("AWS_ENDPOINT_URL") // set but empty would hide the S3 one

	local, _, code := scanArgs(t, dir)
	if code != exitOK {
		t.Fatalf("local: exit %d", code)
	}
	remote, stderr, code := scanArgs(t, "s3://"+bucket+"/org/")
	if code != exitUsage {
		t.Errorf("exit %d, want %d for the broken object: %s", code, exitUsage, stderr)
	}
	if !strings.Contains(stderr, "s3://"+bucket+"/"+brokenKey+": gzip") {
		t.Errorf("the broken object is not named: %s", stderr)
	}
	if remote != local || len(findings(t, remote)) == 0 {
		t.Errorf("S3 scan found %d, local %d", len(findings(t, remote)), len(findings(t, local)))
	}
	if n := readFiles(t, stderr); n != len(w.Paths)+1 {
		t.Errorf("read %d objects, want %d (the digest skipped)", n, len(w.Paths)+1)
	}

	// One day, listed alone.
	day, stderr, code := scanArgs(t, "--since", "2026-10-02", "--until", "2026-10-02", "s3://"+bucket+"/org/")
	if code != exitOK {
		t.Fatalf("one day: exit %d: %s", code, stderr)
	}
	localDay, _, _ := scanArgs(t, "--since", "2026-10-02", "--until", "2026-10-02", dir)
	if day != localDay || len(findings(t, day)) == 0 {
		t.Errorf("one day from S3: %d findings, locally %d", len(findings(t, day)), len(findings(t, localDay)))
	}

	_, stderr, code = scanArgs(t, "s3://no-such-bucket/")
	if code != exitUsage || !strings.Contains(stderr, "s3://no-such-bucket/") {
		t.Errorf("missing bucket: exit %d: %s", code, stderr)
	}
}

// fmtSscan reads the leading number of s.
func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
