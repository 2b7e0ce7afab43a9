package hunt

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

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

// finding is what these tests read of a finding.
type finding struct {
	id   string
	when time.Time
}

func findings(t *testing.T, h *Hunter, paths ...string) (out []finding, files int, errs []string) {
	t.Helper()
	for res := range h.Hunt(context.Background(), paths, nil) {
		for _, f := range res.Findings {
			out = append(out, finding{f.EventID + " " + f.Rule, f.EventTime})
		}
		if res.Decoded || res.Skipped {
			files++
		}
		for _, e := range res.Errs {
			errs = append(errs, e.Error())
		}
	}
	return out, files, errs
}

// TestFilters: bounds on time, account and region give the findings of a
// full hunt that fall within them, and skip the folders outside them.
func TestFilters(t *testing.T) {
	dir, _ := writeArchive(t)
	judge := detect.New(detect.Config{})
	every, _, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info}, dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	day2 := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	var want []finding
	for _, f := range every {
		if !f.when.Before(day2) && f.when.Before(day2.AddDate(0, 0, 1)) {
			want = append(want, f)
		}
	}
	if len(want) == 0 || len(want) == len(every) {
		t.Fatalf("%d of %d findings on the second day: the test proves little", len(want), len(every))
	}
	oneDay := archive.Filter{Since: day2, Until: day2.AddDate(0, 0, 1).Add(-time.Nanosecond)}
	got, files, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info, Filter: oneDay}, dir)
	if !slices.Equal(got, want) || len(errs) > 0 {
		t.Errorf("got %d findings, want %d; errors %q", len(got), len(want), errs)
	}
	// Day folders out of range are not read: 288 files on the day, and
	// files of the days either side within the delivery margin.
	if files < 288 || files > 2*288 {
		t.Errorf("read %d files for one day", files)
	}

	for _, tt := range []struct {
		filter archive.Filter
		want   int // findings
	}{
		{archive.Filter{Accounts: []string{"111122223333"}}, len(every)},
		{archive.Filter{Accounts: []string{"999999999999"}}, 0},
		{archive.Filter{Regions: []string{"eu-west-1"}}, len(every)},
		{archive.Filter{Regions: []string{"us-east-1"}}, 0},
	} {
		got, files, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info, Filter: tt.filter}, dir)
		if len(got) != tt.want || len(errs) > 0 {
			t.Errorf("%+v: %d findings, want %d; errors %q", tt.filter, len(got), tt.want, errs)
		}
		if tt.want == 0 && files != 0 {
			t.Errorf("%+v: read %d files of another account or region", tt.filter, files)
		}
	}
}

// TestS3 reads the archive from an S3 protocol server on loopback and
// finds what a local hunt of the same files finds; a broken object is
// named by its URL and does not stop the hunt; the client is made once.
func TestS3(t *testing.T) {
	dir, w := writeArchive(t)
	const bucket = "trail-logs"
	srvURL := archivetest.UploadArchive(t, bucket, dir, w.Paths)
	brokenKey := archivetest.BrokenKey

	var made atomic.Int32
	newS3 := func(context.Context) (archive.API, error) {
		made.Add(1)
		return s3.New(s3.Options{
			BaseEndpoint: aws.String(srvURL),
			UsePathStyle: true,
			Region:       "eu-west-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		}), nil
	}
	judge := detect.New(detect.Config{})
	local, _, _ := findings(t, &Hunter{Judge: judge, Min: detect.Info}, dir)
	remote, files, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info, NewS3: newS3}, "s3://"+bucket+"/org/", "s3://"+bucket+"/org/AWSLogs/")
	if made.Load() != 1 {
		t.Errorf("the client was made %d times for two URLs", made.Load())
	}
	// The half that arrived is decoded, and fails; then the gzip stream.
	url := "s3://" + bucket + "/" + brokenKey
	broken := regexp.MustCompile(`^` + regexp.QuoteMeta(url) + `: (record 1 \(line 1\): invalid JSON|gzip: after \d+ bytes): unexpected EOF$`)
	if len(errs) != 4 || !strings.Contains(errs[1], ": gzip: ") || !strings.Contains(errs[3], ": gzip: ") ||
		slices.ContainsFunc(errs, func(e string) bool { return !broken.MatchString(e) }) {
		t.Errorf("the broken object is not named, once for each URL: %q", errs)
	}
	if !slices.Equal(remote[:len(remote)/2], local) || !slices.Equal(remote[len(remote)/2:], local) || len(local) == 0 {
		t.Errorf("S3 hunt found %d (twice over), local %d", len(remote), len(local))
	}
	if files != 2*(len(w.Paths)+1) {
		t.Errorf("read %d objects, want %d (the digest skipped)", files, 2*(len(w.Paths)+1))
	}

	// One day, listed alone.
	day := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	oneDay := archive.Filter{Since: day, Until: day.AddDate(0, 0, 1).Add(-time.Nanosecond)}
	remoteDay, _, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info, Filter: oneDay, NewS3: newS3}, "s3://"+bucket+"/org/")
	localDay, _, _ := findings(t, &Hunter{Judge: judge, Min: detect.Info, Filter: oneDay}, dir)
	if !slices.Equal(remoteDay, localDay) || len(localDay) == 0 || len(errs) > 0 {
		t.Errorf("one day from S3: %d findings, locally %d; errors %q", len(remoteDay), len(localDay), errs)
	}

	_, _, errs = findings(t, &Hunter{Judge: judge, NewS3: newS3}, "s3://no-such-bucket/")
	if len(errs) != 1 || !strings.Contains(errs[0], "s3://no-such-bucket/") {
		t.Errorf("missing bucket: %q", errs)
	}
	// No client: each URL says why, and the local paths are still read.
	noClient := func(context.Context) (archive.API, error) { return nil, errors.New("no credentials") }
	got, _, errs := findings(t, &Hunter{Judge: judge, Min: detect.Info, NewS3: noClient}, "s3://"+bucket+"/org/", dir, "s3:///")
	if !slices.Equal(got, local) || !slices.Equal(errs, []string{"s3://" + bucket + "/org/: no credentials", `"s3:///": want s3://BUCKET[/PREFIX] with a bucket name`}) {
		t.Errorf("%d findings, want %d; errors %q", len(got), len(local), errs)
	}
}
