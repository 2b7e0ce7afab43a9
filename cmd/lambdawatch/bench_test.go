package main

import (
	"fmt"
	"io"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

// BenchmarkScanArchive scans a synthetic archive laid out and shaped as
// CloudTrail writes it: 1,000 gzipped log files of 40 records (about
// 50 MB uncompressed), one record in 2,000 a call the rules flag. It
// reports files/s and MB/s (uncompressed), the figures that decide how long
// a hunt takes, with the prefilter and without it.
func BenchmarkScanArchive(b *testing.B) {
	dir := b.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 1000, RecordsPerFile: 40, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, pre := range []bool{true, false} {
		b.Run(fmt.Sprintf("prefilter=%v", pre), func(b *testing.B) {
			b.SetBytes(w.Bytes)
			for b.Loop() {
				if code := run([]string{"scan", "--format", "json", fmt.Sprintf("--prefilter=%v", pre), dir}, nil, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(w.Files*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
