package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/hunt"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

// Exit statuses of scan.
const (
	exitOK       = 0
	exitFindings = 1 // a finding at or above --fail-on
	exitUsage    = 2 // bad flags, or an input that could not be read
)

type scanOptions struct {
	report
	paths []string
	// filter narrows the inputs by the folders CloudTrail files them in,
	// and the records by their time, account and region.
	filter archive.Filter
	// prefilter skips the JSON decoding of files that hold no watched
	// call; off, every file is decoded (to check the filter).
	prefilter bool
	progress  bool // draw a progress bar on standard error
}

func parseScanFlags(args []string, stderr io.Writer) (scanOptions, error) {
	var (
		o                 scanOptions
		since, until      string
		accounts, regions string
		deployRoles       string
		fset              = flag.NewFlagSet("scan", flag.ContinueOnError)
	)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lambdawatch scan [flags] PATH...\n\nPATH is a file, a folder (walked for .json, .jsonl, .ndjson and .gz files) or - for standard input.\nEach may hold EventBridge events, CloudTrail records, CloudTrail log files, JSON arrays or JSON Lines, gzipped or not.\n\nExit status: 0, or 1 when a finding reaches --fail-on, or 2 when an input could not be read.\n\nFlags:")
		fset.PrintDefaults()
	}
	o.flags(fset)
	fset.StringVar(&o.config.MonitorPrefix, "monitor-prefix", cmp.Or(os.Getenv("MONITOR_PREFIX"), detect.DefaultMonitorPrefix), "name `prefix` of lambdawatch's own resources, whose changes are monitor-tampering (default from MONITOR_PREFIX)")
	fset.StringVar(&deployRoles, "deploy-roles", os.Getenv("MONITOR_DEPLOY_ROLES"), "comma-separated `patterns` of the roles CloudFormation deploys lambdawatch with (default from MONITOR_DEPLOY_ROLES, else cdk-*-cfn-exec-role-*)")
	fset.StringVar(&since, "since", "", "only calls at or after this `time`: a date (2026-01-02), an RFC 3339 time, or a time back from now (36h, 90d, 2w)")
	fset.StringVar(&until, "until", "", "only calls at or before this `time` (a date means the whole day)")
	fset.StringVar(&accounts, "accounts", "", "only these comma-separated `accounts`")
	fset.StringVar(&regions, "regions", "", "only these comma-separated `regions`")
	fset.BoolVar(&o.prefilter, "prefilter", true, "skip the JSON decoding of files whose bytes name no watched call; -prefilter=false decodes every file")
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	now := time.Now()
	errs := o.parse(now)
	o.config.DeployRoles = list(deployRoles)
	o.filter.Accounts, o.filter.Regions = list(accounts), list(regions)
	var err error
	if since != "" {
		if o.filter.Since, err = archive.ParseTime(since, now); err != nil {
			errs = append(errs, fmt.Errorf("--since: %w", err))
		}
	}
	if until != "" {
		if o.filter.Until, err = archive.ParseUntil(until, now); err != nil {
			errs = append(errs, fmt.Errorf("--until: %w", err))
		}
	}
	if err := o.filter.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.config.Validate(); err != nil {
		errs = append(errs, err)
	}
	o.progress = isTerminal(stderr)
	o.paths = fset.Args()
	if len(o.paths) == 0 {
		errs = append(errs, errors.New("no PATH given (use - for standard input)"))
	}
	if i := slices.Index(o.paths, "-"); i >= 0 && slices.Contains(o.paths[i+1:], "-") {
		errs = append(errs, errors.New("- (standard input) given more than once"))
	}
	return o, errors.Join(errs...)
}

// list splits a comma-separated flag value.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func scan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseScanFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lambdawatch scan: %v\n", err)
		return exitUsage
	}
	return runScan(o, stdin, stdout, stderr)
}

// runScan is scan once its flags are read.
func runScan(o scanOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := hunt.Hunter{Judge: detect.New(o.config), Min: o.min, Filter: o.filter}
	if o.prefilter {
		h.Prefilter = prefilter.New(detect.WatchedNames())
	}
	var bar *progress
	if o.progress {
		bar = newProgress(stderr)
		h.Progress = huntProgress{bar}
		// Every line on either stream goes through the bar, which steps
		// aside for it: one terminal shows both.
		stdout, stderr = bar.writer(stdout), bar.writer(stderr)
	}
	out := newPrinter(o.format, stdout)
	var (
		sum      summary
		writeErr error
	)
	// Inputs are judged in parallel and printed in the order given.
	for res := range h.Hunt(ctx, o.paths, stdin) {
		for _, e := range res.Errs {
			fmt.Fprintln(stderr, e)
		}
		for i := range res.Findings {
			o.suppress.Apply(&res.Findings[i], start)
		}
		sum.add(res)
		for _, f := range res.Findings {
			if writeErr == nil {
				writeErr = out.print(f)
			}
		}
	}
	if bar != nil {
		bar.finish()
	}
	if writeErr == nil {
		writeErr = out.flush()
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "lambdawatch scan: write: %v\n", writeErr)
		return exitUsage
	}
	sum.write(stderr, o.min, time.Since(start))
	switch {
	case sum.errs > 0:
		return exitUsage
	case o.failSet && sum.failsOn(o.failOn):
		return exitFindings
	}
	return exitOK
}

func listRules(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tWHAT")
	for _, r := range detect.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	if err := tw.Flush(); err != nil {
		return exitUsage
	}
	return exitOK
}
