// Command s3bench measures how fast an S3 archive is read as `lambdawatch
// scan s3://...` reads it: gofakes3 on loopback, filled with gzipped
// CloudTrail log files, behind a proxy that adds a fixed latency to each
// request; every object listed through archive.Bucket and read whole by
// archive.Concurrency workers. It prints files/s, the connections the
// client opened, the LIST and GET calls it made and the client's CPU per
// object.
//
// The server runs in a child process, so the CPU measured is the client's
// alone.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

const bucket = "trail"

type options struct {
	objects, records, runs int
	latency                time.Duration
	on                     string // "call" or "get"
	since                  string // a --since bound, to list folder by folder
	accounts, regions      int
	gunzip                 bool
	cpuprofile             string
}

func main() {
	var o options
	flag.IntVar(&o.objects, "objects", 2000, "log `files` in the bucket")
	flag.IntVar(&o.records, "records", 40, "`records` in each file")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "`delay` the proxy adds to each request")
	flag.StringVar(&o.on, "on", "call", "what the delay applies to: `call` (every request, LIST too) or get (object reads only)")
	flag.StringVar(&o.since, "since", "", "list with a --since `bound` (folder by folder, pruned) instead of flat")
	flag.IntVar(&o.accounts, "accounts", 1, "`accounts` the files are spread over")
	flag.IntVar(&o.regions, "regions", 1, "`regions` of each account the files are spread over")
	flag.BoolVar(&o.gunzip, "gunzip", false, "inflate each object as the scan does, rather than only read it")
	flag.IntVar(&o.runs, "runs", 3, "timed `runs`, each with a new client")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write the client's CPU profile over all runs to `file`")
	serve := flag.Bool("serve", false, "run the server side (started by s3bench itself)")
	flag.Parse()
	var err error
	if *serve {
		err = serveChild(o, os.Stdin, os.Stdout)
	} else {
		err = bench(o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.objects < 1 || o.objects > 1_000_000:
		return fmt.Errorf("-objects %d: want 1 to 1,000,000", o.objects)
	case o.records < 1 || o.records > 10_000:
		return fmt.Errorf("-records %d: want 1 to 10,000", o.records)
	case o.runs < 1 || o.runs > 100:
		return fmt.Errorf("-runs %d: want 1 to 100", o.runs)
	case o.latency < 0 || o.latency > 10*time.Second:
		return fmt.Errorf("-latency %s: want 0 to 10s", o.latency)
	case o.accounts < 1 || o.accounts > 1000 || o.regions < 1 || o.regions > 40:
		return fmt.Errorf("-accounts %d, -regions %d: want 1 to 1,000 accounts and 1 to 40 regions", o.accounts, o.regions)
	case o.on != "call" && o.on != "get":
		return fmt.Errorf("-on %q: want call or get", o.on)
	}
	return nil
}

// ready is the child's first line: where its proxy listens, what it holds.
type ready struct {
	URL     string `json:"url"`
	Objects int    `json:"objects"`
	Stored  int64  `json:"stored"`
	Bytes   int64  `json:"bytes"`
}

// serveChild fills gofakes3, puts the proxy in front, says where on out,
// and answers "reset" and "stats" lines from in until in ends.
func serveChild(o options, in io.Reader, out io.Writer) (err error) {
	srv, err := archivetest.NewServer(archivetest.Options{Delay: o.latency, GetsOnly: o.on == "get"})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.Close()) }()
	var total ready
	parts := o.accounts * o.regions
	for i := range parts {
		a := cloudtrailtest.Archive{
			Files:          o.objects/parts + btoi(i < o.objects%parts),
			RecordsPerFile: o.records,
			Account:        fmt.Sprintf("%012d", 111122223333+i/o.regions),
			Region:         regions[i%o.regions],
			Seed:           uint64(i + 1),
		}
		f, err := srv.Fill(bucket, "", a)
		if err != nil {
			return err
		}
		total.Objects += len(f.Keys)
		total.Stored += f.Stored
		total.Bytes += f.Bytes
	}
	total.URL = srv.URL
	enc := json.NewEncoder(out)
	if err := enc.Encode(total); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "reset":
			srv.Reset()
			err = enc.Encode(srv.Stats())
		case "stats":
			err = enc.Encode(srv.Stats())
		default:
			err = fmt.Errorf("unknown command %q", sc.Text())
		}
		if err != nil {
			return err
		}
	}
	return sc.Err()
}

// regions are where the files come from, in turn.
var regions = []string{
	"eu-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-central-1", "eu-west-2", "eu-west-3",
	"eu-north-1", "eu-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
	"ap-southeast-2", "ap-south-1", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1",
	"ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "eu-central-2", "eu-south-2",
	"il-central-1", "me-central-1", "ca-west-1", "mx-central-1", "ap-southeast-5", "ap-southeast-7",
	"us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1", "eusc-de-east-1", "ap-east-2",
	"ap-southeast-6", "us-iso-east-1",
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// child is the server process, spoken to a line at a time.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

func startChild(o options) (*child, ready, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, ready{}, err
	}
	cmd := exec.Command(self, "-serve", "-objects", fmt.Sprint(o.objects), "-records", fmt.Sprint(o.records),
		"-accounts", fmt.Sprint(o.accounts), "-regions", fmt.Sprint(o.regions), "-latency", o.latency.String(), "-on", o.on)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, ready{}, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, ready{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, ready{}, fmt.Errorf("start the server: %w", err)
	}
	c := &child{cmd: cmd, in: in, out: json.NewDecoder(out)}
	var r ready
	if err := c.out.Decode(&r); err != nil {
		return nil, ready{}, errors.Join(fmt.Errorf("the server did not start: %w", err), c.close())
	}
	return c, r, nil
}

func (c *child) ask(cmd string) (archivetest.Stats, error) {
	var s archivetest.Stats
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return s, fmt.Errorf("server: %w", err)
	}
	if err := c.out.Decode(&s); err != nil {
		return s, fmt.Errorf("server: %w", err)
	}
	return s, nil
}

func (c *child) close() error {
	c.in.Close()
	return c.cmd.Wait()
}

// run is one timed read of the whole bucket.
type run struct {
	files   int
	bytes   int64
	wall    time.Duration
	cpu     time.Duration // the client process's, user and system
	allocs  uint64        // heap allocations
	alloced uint64        // heap bytes allocated
	stats   archivetest.Stats
}

func (r run) filesPerSec() float64 { return float64(r.files) / r.wall.Seconds() }

func bench(o options, out io.Writer) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	var filter archive.Filter
	if o.since != "" {
		t, err := archive.ParseTime(o.since, time.Now())
		if err != nil {
			return fmt.Errorf("-since: %w", err)
		}
		filter.Since = t
	}
	c, r, err := startChild(o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("server: %w", cerr))
		}
	}()
	listing := "no bound (flat)"
	if filter.Bounded() {
		listing = "since " + filter.Since.UTC().Format(time.RFC3339) + " (folder by folder)"
	}
	fmt.Fprintf(out, "bucket: %d log files (accounts: %d, regions: %d each), %.1f MB gzipped (%.1f MB of records), gofakes3 at %s\n",
		r.Objects, o.accounts, o.regions, float64(r.Stored)/1e6, float64(r.Bytes)/1e6, r.URL)
	work := "read"
	if o.gunzip {
		work = "read and inflated"
	}
	fmt.Fprintf(out, "latency: %s on each %s; objects %s by %d workers; listing %s; %s/%s, %d CPUs\n",
		o.latency, map[string]string{"call": "call (LIST too)", "get": "GET"}[o.on], work, archive.Concurrency, listing, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var runs []run
	for i := range o.runs {
		if _, err := c.ask("reset"); err != nil {
			return err
		}
		res, err := readAll(context.Background(), r.URL, filter, o.gunzip)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		if res.stats, err = c.ask("stats"); err != nil {
			return err
		}
		if o.since == "" && res.files != r.Objects {
			return fmt.Errorf("run %d: read %d files of %d", i+1, res.files, r.Objects)
		}
		runs = append(runs, res)
		fmt.Fprintf(out, "run %d: %d files in %.2fs: %5.0f files/s, %4d connections (%d open at most), %3d LIST, %4d GET, %.3f ms CPU/object, %.1f KB and %.0f allocations/object\n",
			i+1, res.files, res.wall.Seconds(), res.filesPerSec(), res.stats.Conns, res.stats.MaxOpen, res.stats.Lists, res.stats.Gets,
			float64(res.cpu.Microseconds())/1000/float64(res.files), float64(res.alloced)/1024/float64(res.files), float64(res.allocs)/float64(res.files))
	}
	if len(runs) > 1 {
		lo, hi := runs[0].filesPerSec(), runs[0].filesPerSec()
		for _, r := range runs[1:] {
			lo, hi = min(lo, r.filesPerSec()), max(hi, r.filesPerSec())
		}
		fmt.Fprintf(out, "files/s: %.0f to %.0f over %d runs\n", lo, hi, len(runs))
	}
	return nil
}

// readAll reads every object of the bucket as the scan reads it, with a
// new client: list, open, read to the end, close.
func readAll(ctx context.Context, url string, filter archive.Filter, gunzip bool) (run, error) {
	client, err := archive.NewClient(ctx,
		config.WithBaseEndpoint(url),
		config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")),
		// The machine's own AWS settings play no part.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)
	if err != nil {
		return run{}, err
	}
	b := &archive.Bucket{Client: client, Name: bucket, Filter: filter}
	var res run
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	start := time.Now()
	keys := func(yield func(string, error) bool) {
		for o, err := range b.Objects(ctx) {
			if !yield(o.Key, err) {
				return
			}
		}
	}
	var consume func(int, io.Reader) (int64, error)
	if gunzip {
		readers := make([]cloudtrail.InputReader, archive.Concurrency)
		consume = func(worker int, r io.Reader) (int64, error) {
			data, err := readers[worker].Read(r)
			return int64(len(data)), err
		}
	}
	read, err := archivetest.ReadAll(ctx, keys, archive.Concurrency, b.Open, consume)
	res.files, res.bytes = read.Objects, read.Bytes
	res.wall = time.Since(start)
	res.cpu = cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	res.allocs, res.alloced = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	// The next run starts without connections, as the next scan would.
	if c, ok := client.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	return res, err
}

// cpuTime is the CPU this process has used, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
