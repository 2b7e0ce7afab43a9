// Command scanbench measures `lambdawatch scan` against plain
// single-threaded zcat on the same synthetic CloudTrail archive, and checks
// that the prefilter changes no finding. `make bench` runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

func main() {
	var (
		dir   = flag.String("dir", "build/bench", "`folder` for the archive (rewritten)")
		bin   = flag.String("lambdawatch", "bin/lambdawatch", "the lambdawatch `binary` to measure")
		files = flag.Int("files", 3000, "log `files` to write")
		per   = flag.Int("records", 40, "`records` in each file")
		runs  = flag.Int("runs", 5, "timed `runs` of each command; the best counts")
	)
	flag.Parse()
	if err := bench(*dir, *bin, *files, *per, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
}

func bench(dir, bin string, files, per, runs int, out io.Writer) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: files, RecordsPerFile: per, Seed: 1})
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	// Written pages still on their way to disk would slow the runs.
	syscall.Sync()
	fmt.Fprintf(out, "archive: %d files, %d records (%d flagged), %.1f MB uncompressed, %.1f MB gzipped, in %s\n",
		w.Files, w.Records, w.Watched, float64(w.Bytes)/1e6, float64(w.Stored)/1e6, dir)
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())

	// zcat reads every file in one process, on one core, writing to
	// /dev/null as `zcat FILES > /dev/null` would.
	zcat := func() (time.Duration, []byte, error) {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, nil, err
		}
		defer null.Close()
		cmd := exec.Command("zcat", w.Paths...)
		cmd.Stdout = null
		return timed(cmd)
	}
	scan := func(pre bool) func() (time.Duration, []byte, error) {
		return func() (time.Duration, []byte, error) {
			return timed(exec.Command(bin, "scan", "--format", "json", "--min-severity", "INFO", fmt.Sprintf("--prefilter=%v", pre), dir))
		}
	}
	zt, _, err := best(runs, zcat)
	if err != nil {
		return fmt.Errorf("zcat: %w", err)
	}
	st, found, err := best(runs, scan(true))
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	ft, full, err := best(runs, scan(false))
	if err != nil {
		return fmt.Errorf("scan -prefilter=false: %w", err)
	}
	n := bytes.Count(found, []byte("\n"))
	fmt.Fprintf(out, "zcat (1 core):                    %7.3fs  %6.0f MB/s\n", zt.Seconds(), mbps(w.Bytes, zt))
	fmt.Fprintf(out, "lambdawatch scan:                 %7.3fs  %6.0f MB/s  %.2f of zcat's time\n", st.Seconds(), mbps(w.Bytes, st), st.Seconds()/zt.Seconds())
	fmt.Fprintf(out, "lambdawatch scan -prefilter=false: %6.3fs  %6.0f MB/s  %.2f of zcat's time\n", ft.Seconds(), mbps(w.Bytes, ft), ft.Seconds()/zt.Seconds())
	if !bytes.Equal(sorted(found), sorted(full)) {
		return fmt.Errorf("the prefilter changed the findings: %d lines with it, %d without", n, bytes.Count(full, []byte("\n")))
	}
	if n != w.Watched {
		return fmt.Errorf("%d findings, want one for each of the %d flagged records", n, w.Watched)
	}
	fmt.Fprintf(out, "findings: %d with the prefilter, the same %d without\n", n, n)
	return nil
}

// timed runs cmd and returns its wall time and standard output.
func timed(cmd *exec.Cmd) (time.Duration, []byte, error) {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, nil, fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(stderr.String()))
	}
	return d, stdout.Bytes(), nil
}

// best runs f n times (after one warm-up run that fills the page cache)
// and keeps the fastest: other load on the machine only slows a run.
func best(n int, f func() (time.Duration, []byte, error)) (time.Duration, []byte, error) {
	if _, _, err := f(); err != nil {
		return 0, nil, err
	}
	var (
		min time.Duration
		out []byte
	)
	for i := range n {
		d, o, err := f()
		if err != nil {
			return 0, nil, err
		}
		if i == 0 || d < min {
			min, out = d, o
		}
	}
	return min, out, nil
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func sorted(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n"))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
