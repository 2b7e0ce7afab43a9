package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/schollz/progressbar/v3"

	"github.com/lambdawatch/lambdawatch/pkg/audit"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

type auditOptions struct {
	report
	regions     []string // empty: the SDK's region; "all": every enabled one
	role        string
	accounts    []string
	org         bool
	concurrency int
	quotas      bool
	progress    bool
}

func parseAuditFlags(args []string, stderr io.Writer) (auditOptions, error) {
	var (
		o                 auditOptions
		regions, accounts string
		fset              = flag.NewFlagSet("audit", flag.ContinueOnError)
	)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lambdawatch audit [flags]\n\nReads the Lambda functions of an account (or, with --role, of several) as they stand, with\ntheir policies, URLs, layers, roles and what fronts them, and judges them with the rules.\nCredentials and endpoints come from the SDK's usual chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...).\n\nExit status: 0, or 1 when a finding reaches --fail-on, or 2 when something could not be read.\n\nFlags:")
		fset.PrintDefaults()
	}
	o.flags(fset)
	fset.StringVar(&regions, "regions", "", "comma-separated `regions` to read, or all for every region enabled for each account (EC2 DescribeRegions); default the SDK's region")
	fset.StringVar(&o.config.MonitorPrefix, "monitor-prefix", cmp.Or(os.Getenv("MONITOR_PREFIX"), detect.DefaultMonitorPrefix), "name `prefix` of lambdawatch's own resources (default from MONITOR_PREFIX)")
	fset.StringVar(&o.role, "role", "", "`name` of a role to assume in each account (arn:PARTITION:iam::ACCOUNT:role/NAME); needs --accounts or --org")
	fset.StringVar(&accounts, "accounts", "", "comma-separated `accounts` to audit through --role")
	fset.BoolVar(&o.org, "org", false, "audit every active account of the organization (Organizations ListAccounts) through --role")
	fset.IntVar(&o.concurrency, "concurrency", audit.DefaultConcurrency, "`calls` in flight to each service of each account and region")
	fset.BoolVar(&o.quotas, "lambda-quotas", true, "pace Lambda's calls at the rates its API allows (GetPolicy and the other control-plane calls 15 a second each, GetFunction 100); -lambda-quotas=false for stand-ins without quotas")
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fset.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fset.Args()))
	}
	errs = append(errs, o.parse(time.Now())...)
	o.regions = list(regions)
	if slices.Contains(o.regions, "all") && len(o.regions) > 1 {
		errs = append(errs, errors.New("--regions: all stands alone"))
	}
	for _, r := range o.regions {
		if _, ok := awsid.Partition(r); !ok && r != "all" {
			errs = append(errs, fmt.Errorf("--regions: %q is not a region name", r))
		}
	}
	o.accounts = list(accounts)
	for _, a := range o.accounts {
		if !awsid.IsAccountID(a) {
			errs = append(errs, fmt.Errorf("--accounts: %q is not a 12-digit account ID", a))
		}
	}
	switch {
	case o.role == "" && (o.org || len(o.accounts) > 0):
		errs = append(errs, errors.New("--accounts and --org need --role: the role to assume in each account"))
	case o.role != "" && !o.org && len(o.accounts) == 0:
		errs = append(errs, errors.New("--role needs --accounts or --org"))
	case o.org && len(o.accounts) > 0:
		errs = append(errs, errors.New("--accounts and --org: give one"))
	}
	if o.concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency %d: want 1 or more", o.concurrency))
	}
	if err := o.config.Validate(); err != nil {
		errs = append(errs, err)
	}
	o.progress = isTerminal(stderr)
	return o, errors.Join(errs...)
}

func auditCmd(args []string, stdout, stderr io.Writer) int {
	o, err := parseAuditFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lambdawatch audit: %v\n", err)
		return exitUsage
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "lambdawatch audit: AWS configuration: %v\n", err)
		return exitUsage
	}
	// Throttling is expected when reading thousands of functions: the
	// adaptive retryer backs off and slows the client, trying more often
	// than the SDK's 3 unless AWS_MAX_ATTEMPTS says otherwise.
	cfg.Retryer = audit.Retryer(cmp.Or(cfg.RetryMaxAttempts, audit.DefaultAttempts), 0)
	return runAudit(ctx, o, cfg, stdout, stderr)
}

// target is one account to audit.
type target struct {
	account   string
	partition string
	cfg       aws.Config
	regions   []string
}

// runAudit is audit once its flags and the SDK's configuration are read.
func runAudit(ctx context.Context, o auditOptions, cfg aws.Config, stdout, stderr io.Writer) int {
	start := time.Now()
	var (
		errs []string
		mu   sync.Mutex
	)
	report := func(err error) {
		mu.Lock()
		errs = append(errs, err.Error())
		mu.Unlock()
	}
	targets, fatal := targets(ctx, o, cfg, report)
	if fatal != nil {
		fmt.Fprintf(stderr, "lambdawatch audit: %v\n", fatal)
		return exitUsage
	}
	var bar *auditBar
	if o.progress {
		bar = newAuditBar(stderr)
	}
	opts := audit.Options{Concurrency: o.concurrency, IgnoreLambdaQuotas: !o.quotas}
	if bar != nil {
		opts.Progress = bar
	}
	auditor := audit.New(opts)
	engine := detect.New(o.config)
	results := make([]audit.Report, len(targets))
	invs := make([]*audit.AccountInventory, len(targets))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4) // accounts read at once
	for i, t := range targets {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			invs[i] = auditor.Audit(ctx, audit.NewAccount(t.cfg, t.account, t.partition), t.regions)
			results[i] = audit.Judge(engine, invs[i], time.Now())
		})
	}
	wg.Wait()
	if bar != nil {
		bar.finish()
	}

	tally := audit.Tally{}
	var findings []detect.Finding
	functions, regions := 0, 0
	for i, inv := range invs {
		for _, r := range inv.Regions {
			regions++
			functions += len(r.Functions)
			for _, e := range r.Errors {
				report(e)
			}
		}
		for _, e := range inv.Errors {
			report(e)
		}
		for _, e := range results[i].Errors {
			report(e)
		}
		tally.Add(results[i].Tally)
		for _, f := range results[i].Findings {
			if f.Severity >= o.min {
				o.suppress.Apply(&f, start)
				findings = append(findings, f)
			}
		}
	}
	slices.SortStableFunc(findings, func(a, b detect.Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region), cmp.Compare(a.ResourceARN, b.ResourceARN), cmp.Compare(a.Rule, b.Rule))
	})
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if err := printFindings(o.format, stdout, findings); err != nil {
		fmt.Fprintf(stderr, "lambdawatch audit: write: %v\n", err)
		return exitUsage
	}
	worst, failing, suppressed := detect.Info, 0, 0
	for _, f := range findings {
		if f.Suppressed != "" {
			suppressed++ // reported, but it fails nothing
			continue
		}
		failing++
		worst = max(worst, f.Severity)
	}
	fmt.Fprintf(stderr, "%s at %s or above in %s of %s and %s, read in %.1fs", count(len(findings), "finding"), o.min, count(functions, "function"), count(len(targets), "account"), count(regions, "region"), time.Since(start).Seconds())
	if suppressed > 0 {
		fmt.Fprintf(stderr, " (%d suppressed)", suppressed)
	}
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "; %d calls or resources could not be read or judged", len(errs))
	}
	fmt.Fprintln(stderr)
	writeCompliance(stderr, tally)
	switch {
	case len(errs) > 0:
		return exitUsage
	case o.failSet && failing > 0 && worst >= o.failOn:
		return exitFindings
	}
	return exitOK
}

// targets finds the accounts to audit and their regions. An account
// whose role cannot be assumed, or whose regions cannot be listed, is
// reported and left out; an error returned means nothing can be audited.
func targets(ctx context.Context, o auditOptions, cfg aws.Config, report func(error)) ([]target, error) {
	account, partition, err := audit.Caller(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, err
	}
	if len(o.regions) == 0 {
		if cfg.Region == "" {
			return nil, errors.New("no region: set AWS_REGION or give --regions")
		}
		o.regions = []string{cfg.Region}
	}
	if o.role == "" {
		t := target{account: account, partition: partition, cfg: cfg, regions: o.regions}
		if err := resolveRegions(ctx, &t); err != nil {
			return nil, err
		}
		return []target{t}, nil
	}
	ids := o.accounts
	if o.org {
		if ids, err = audit.OrgAccounts(ctx, organizations.NewFromConfig(cfg)); err != nil {
			return nil, fmt.Errorf("audit %s: %w", account, err)
		}
	}
	found := make([]*target, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			assumed, err := audit.AssumeRole(ctx, cfg, audit.RoleARN(partition, id, o.role))
			if err != nil {
				report(fmt.Errorf("audit %s: %w", id, err))
				return
			}
			t := &target{account: id, partition: partition, cfg: assumed, regions: o.regions}
			if err := resolveRegions(ctx, t); err != nil {
				report(fmt.Errorf("audit %s: %w", id, err))
				return
			}
			found[i] = t
		})
	}
	wg.Wait()
	var out []target
	for _, t := range found {
		if t != nil {
			out = append(out, *t)
		}
	}
	return out, nil
}

// resolveRegions replaces "all" with the regions enabled for the account.
func resolveRegions(ctx context.Context, t *target) error {
	if !slices.Equal(t.regions, []string{"all"}) {
		return nil
	}
	regions, err := audit.EnabledRegions(ctx, ec2.NewFromConfig(t.cfg))
	if err != nil {
		return err
	}
	t.regions = regions
	return nil
}

// printFindings writes findings as a table or as JSON Lines.
func printFindings(format string, w io.Writer, findings []detect.Finding) error {
	if format == formatASFF {
		p := newPrinter(format, w)
		for _, f := range findings {
			if err := p.print(f); err != nil {
				return err
			}
		}
		return nil
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, f := range findings {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	if len(findings) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tACCOUNT\tREGION\tTYPE\tRESOURCE\tSUMMARY")
	for _, f := range findings {
		sev := f.Severity.String()
		if f.Suppressed != "" {
			sev += " (suppressed)"
		}
		cells := []string{sev, f.Rule, f.Account, f.Region, string(f.ResourceType), f.ResourceARN, f.Summary}
		for i, c := range cells {
			cells[i] = cell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// complianceRules are the rules whose standing an auditor asks for
// first: Security Hub's Lambda.1, Lambda.2, APIGateway.4 and ELB.16.
var complianceRules = []string{detect.RulePublicInvoke, detect.RuleEOLRuntime, detect.RuleWAFMissing}

// writeCompliance prints, for each rule, how many resources it judged
// and how many fail: the three compliance rules first, then the rest in
// the registry's order.
func writeCompliance(w io.Writer, t audit.Tally) {
	order := slices.Clone(complianceRules)
	for _, r := range detect.Rules {
		if _, ok := t[r.ID]; ok && !slices.Contains(order, r.ID) {
			order = append(order, r.ID)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tJUDGED\tFAIL\tPASS\tNOT JUDGED")
	for i, id := range order {
		c := t[id]
		if c == nil {
			c = &audit.Count{}
		}
		if i == len(complianceRules) {
			fmt.Fprintln(tw, "other rules:\t\t\t\t")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", id, c.Judged, c.Failed, c.Judged-c.Failed, c.NotJudged)
	}
	_ = tw.Flush()
	if c := t[detect.RuleEOLRuntime]; c != nil && c.NotJudged > 0 {
		fmt.Fprintf(w, "eol-runtime: %d container image functions have no runtime to judge\n", c.NotJudged)
	}
}

// auditBar shows functions read of those found so far.
type auditBar struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	found int64
}

func newAuditBar(w io.Writer) *auditBar {
	return &auditBar{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("reading functions"),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *auditBar) Found(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.found += int64(n)
	b.bar.ChangeMax64(b.found)
}

func (b *auditBar) Done(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Add(n) // a bar that cannot draw is no reason to stop
}

func (b *auditBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Finish()
}
