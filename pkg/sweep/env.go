package sweep

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// FromEnv builds the audit function's sweep from its environment (the
// monitor's variables, STATE_TABLE for its memory, and AUDIT_REGIONS, AUDIT_ROLE, AUDIT_QUEUE_URL) and
// the SDK's configuration. A bad value is an error naming it: the cold
// start fails rather than audit with the wrong trust.
func FromEnv(ctx context.Context, getenv func(string) string, cfg aws.Config, log *slog.Logger) (*Sweep, error) {
	mc, err := notify.ConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("audit configuration: %w", err)
	}
	var errs []error
	var regions []string
	for _, r := range strings.Split(getenv(envvar.AuditRegions), ",") {
		switch r = strings.TrimSpace(r); {
		case r == "":
		case awsid.IsRegion(r):
			regions = append(regions, r)
		default:
			errs = append(errs, fmt.Errorf("%s: %q is not a region", envvar.AuditRegions, r))
		}
	}
	if len(regions) == 0 {
		regions = []string{cfg.Region}
	}
	role := strings.TrimSpace(getenv(envvar.AuditRole))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("audit configuration: %w", err)
	}
	cfg.Retryer = audit.Retryer(cmp.Or(cfg.RetryMaxAttempts, audit.DefaultAttempts), 0)
	self, partition, err := audit.Caller(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("audit: who am I: %w", err)
	}
	a := &auditRun{cfg: cfg, partition: partition, role: role, auditor: audit.New(audit.Options{}), engine: detect.New(mc.Detect())}
	s := &Sweep{
		Topic:       mc.TopicARN,
		SNS:         sns.NewFromConfig(cfg, notify.RetryThrottles),
		Audit:       a.audit,
		Regions:     regions,
		MinSeverity: mc.MinSeverity,
		Suppress:    mc.Suppressions,
		Log:         log,
		Accounts:    func(context.Context) ([]string, error) { return []string{self}, nil },
	}
	if role != "" {
		orgs := organizations.NewFromConfig(cfg)
		s.Accounts = func(ctx context.Context) ([]string, error) { return audit.OrgAccounts(ctx, orgs) }
	}
	if mc.StateTable != "" {
		db := dynamodb.NewFromConfig(cfg)
		s.Ledger, s.Claims = ledger.New(db, mc.StateTable, 0), state.New(db, mc.StateTable)
	}
	if mc.SecurityHub {
		s.SecurityHub = asff.NewImporter(securityhub.NewFromConfig(cfg))
		s.Product = mc.Product(cfg.Region)
	}
	if url := strings.TrimSpace(getenv(envvar.AuditQueueURL)); url != "" {
		s.Queue, s.QueueURL = sqs.NewFromConfig(cfg), url
	}
	return s, nil
}

// auditRun audits one account's regions: in its own account with the
// function's credentials, in the others by assuming their audit role.
type auditRun struct {
	cfg       aws.Config
	partition string
	role      string // empty: the function's own account only
	auditor   *audit.Auditor
	engine    *detect.Engine
}

func (r *auditRun) audit(ctx context.Context, account string, regions []string) ([]detect.Finding, []error) {
	cfg := r.cfg
	if r.role != "" {
		assumed, err := audit.AssumeRole(ctx, cfg, audit.RoleARN(r.partition, account, r.role))
		if err != nil {
			return nil, []error{fmt.Errorf("audit %s: assume %s: %w", account, r.role, err)}
		}
		cfg = assumed
	}
	inv := r.auditor.Audit(ctx, audit.NewAccount(cfg, account, r.partition), regions)
	rep := audit.Judge(r.engine, inv, time.Now())
	errs := append(inv.Errors, rep.Errors...)
	for _, reg := range inv.Regions {
		errs = append(errs, reg.Errors...)
	}
	return rep.Findings, errs
}
