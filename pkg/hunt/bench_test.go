//go:build unix

package hunt

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// BenchmarkHunt hunts through a synthetic archive on disk (1,000 gzipped
// log files of 40 records, about 50 MB uncompressed, one record in 2,000
// flagged) with the prefilter, as `lambdawatch scan` does, with as many
// workers as cores and with the default (twice as many). Besides the
// time, cpu-ns/op is the CPU time the process spent: a hunt keeps every
// core busy, so it is what the work costs.
func BenchmarkHunt(b *testing.B) {
	dir := b.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 1000, RecordsPerFile: 40, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cores := runtime.GOMAXPROCS(0)
	for _, workers := range []int{cores, Workers([]string{dir})} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			h := &Hunter{Judge: detect.New(detect.Config{}), Min: detect.Info, Prefilter: watched(), Workers: workers}
			b.SetBytes(w.Bytes)
			cpu0 := cpuTime()
			for b.Loop() {
				found := 0
				for res := range h.Hunt(context.Background(), []string{dir}, nil) {
					if len(res.Errs) > 0 {
						b.Fatal(res.Errs[0])
					}
					found += len(res.Findings)
				}
				if found != w.Watched {
					b.Fatalf("%d findings, want %d", found, w.Watched)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(w.Files*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// cpuTime is the CPU time the process has spent, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
