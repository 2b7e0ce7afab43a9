// Command scanbench measures `lambdawatch scan` against plain
// single-threaded zcat on the same synthetic CloudTrail archive, and checks
// that the prefilter changes no finding. `make bench` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

func main() {
	var (
		dir   = flag.String("dir", "build/bench", "`folder` for the archive (written when it does not hold this archive)")
		bin   = flag.String("lambdawatch", "bin/lambdawatch", "the lambdawatch `binary` to measure")
		files = flag.Int("files", 3000, "log `files` to write")
		per   = flag.Int("records", 40, "`records` in each file")
		runs  = flag.Int("runs", 5, "timed `runs` of each command, interleaved; the best counts")
	)
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "scanbench: -runs must be at least 1")
		os.Exit(2)
	}
	if err := bench(*dir, *bin, *files, *per, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
}

func bench(dir, bin string, files, per, runs int, out io.Writer) error {
	w, err := archive(dir, cloudtrailtest.Archive{Files: files, RecordsPerFile: per, Seed: 1})
	if err != nil {
		return err
	}
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
	// What no scan can beat: the binary's start (rules reads nothing), and
	// inflating every file, already in memory, on every core, the way scan
	// does (cloudtrail.InputReader).
	startup := func() (time.Duration, []byte, error) { return timed(exec.Command(bin, "rules")) }
	stored := make([][]byte, len(w.Paths))
	for i, p := range w.Paths {
		if stored[i], err = os.ReadFile(p); err != nil {
			return err
		}
	}
	inflate := func() (time.Duration, []byte, error) { return inflateAll(stored) }
	// The commands take turns, so that a spell of other load on a shared
	// machine slows all of them rather than one.
	cmds := []func() (time.Duration, []byte, error){zcat, scan(true), scan(false), startup, inflate}
	names := []string{"zcat", "scan", "scan -prefilter=false", "rules", "inflate"}
	times, outs, err := interleaved(runs, names, cmds)
	if err != nil {
		return err
	}
	zt, st, ft := slices.Min(times[0]), slices.Min(times[1]), slices.Min(times[2])
	ut, it := slices.Min(times[3]), slices.Min(times[4])
	found, full := outs[1], outs[2]
	// Each round's own ratio, to show the spread.
	ratios := make([]float64, runs)
	for i := range runs {
		ratios[i] = times[1][i].Seconds() / times[0][i].Seconds()
	}
	slices.Sort(ratios)
	n := bytes.Count(found, []byte("\n"))
	fmt.Fprintf(out, "zcat (1 core):                    %7.3fs  %6.0f MB/s\n", zt.Seconds(), mbps(w.Bytes, zt))
	fmt.Fprintf(out, "lambdawatch scan:                 %7.3fs  %6.0f MB/s  %.2f of zcat's time\n", st.Seconds(), mbps(w.Bytes, st), st.Seconds()/zt.Seconds())
	fmt.Fprintf(out, "lambdawatch scan -prefilter=false: %6.3fs  %6.0f MB/s  %.2f of zcat's time\n", ft.Seconds(), mbps(w.Bytes, ft), ft.Seconds()/zt.Seconds())
	fmt.Fprintf(out, "start-up alone (lambdawatch rules):  %5.3fs  %.2f of zcat's time\n", ut.Seconds(), ut.Seconds()/zt.Seconds())
	fmt.Fprintf(out, "inflate alone, in memory, %d workers: %5.3fs  %.2f of zcat's time (with the start-up: %.2f)\n",
		runtime.GOMAXPROCS(0), it.Seconds(), it.Seconds()/zt.Seconds(), (ut+it).Seconds()/zt.Seconds())
	fmt.Fprintf(out, "scan's time over zcat's, round by round (%d rounds): %.2f to %.2f, median %.2f\n", runs, ratios[0], ratios[runs-1], ratios[runs/2])
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

// interleaved runs each command once as a warm-up (which fills the page
// cache), then n rounds of each in turn. It returns each command's times,
// round by round, and the output of its fastest run.
func interleaved(n int, names []string, cmds []func() (time.Duration, []byte, error)) ([][]time.Duration, [][]byte, error) {
	times := make([][]time.Duration, len(cmds))
	outs := make([][]byte, len(cmds))
	for round := -1; round < n; round++ {
		for i, f := range cmds {
			d, o, err := f()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", names[i], err)
			}
			if round < 0 {
				continue
			}
			if len(times[i]) == 0 || d < slices.Min(times[i]) {
				outs[i] = o
			}
			times[i] = append(times[i], d)
		}
	}
	return times, outs, nil
}

// inflateAll gunzips every input, held in memory, with one worker for
// each core, each with an InputReader as scan's workers have.
func inflateAll(stored [][]byte) (time.Duration, []byte, error) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, runtime.GOMAXPROCS(0))
	)
	start := time.Now()
	for i := range errs {
		wg.Go(func() {
			var ir cloudtrail.InputReader
			for j := int(next.Add(1)) - 1; j < len(stored); j = int(next.Add(1)) - 1 {
				if _, err := ir.Read(bytes.NewReader(stored[j])); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), nil, errors.Join(errs...)
}

// manifest is what scanbench notes beside an archive it wrote, so that a
// later run measures the same archive without writing it again.
type manifest struct {
	Archive cloudtrailtest.Archive
	Written cloudtrailtest.Written
}

// manifestName is hidden: a hunt passes over hidden files.
const manifestName = ".scanbench.json"

// archive returns the archive a describes in dir, writing it unless dir
// already holds it: its manifest names a, and every file is there with its
// size.
func archive(dir string, a cloudtrailtest.Archive) (cloudtrailtest.Written, error) {
	if w, ok := written(dir, a); ok {
		return w, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return cloudtrailtest.Written{}, err
	}
	w, err := cloudtrailtest.Write(dir, a)
	if err != nil {
		return w, fmt.Errorf("write archive: %w", err)
	}
	b, err := json.Marshal(manifest{Archive: a, Written: w})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, manifestName), b, 0o644)
	}
	if err != nil {
		return w, fmt.Errorf("write archive: %w", err)
	}
	// Written pages still on their way to disk would slow the runs.
	syscall.Sync()
	return w, nil
}

// written reads dir's manifest and reports whether it describes a, and the
// files it lists are all there.
func written(dir string, a cloudtrailtest.Archive) (cloudtrailtest.Written, bool) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return cloudtrailtest.Written{}, false
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Archive != a || len(m.Written.Paths) != m.Written.Files {
		return cloudtrailtest.Written{}, false
	}
	var stored int64
	for _, p := range m.Written.Paths {
		info, err := os.Stat(p)
		if err != nil {
			return cloudtrailtest.Written{}, false
		}
		stored += info.Size()
	}
	return m.Written, stored == m.Written.Stored
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
