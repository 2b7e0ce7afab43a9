// Package stacks builds lambdawatch's CloudFormation stacks with the AWS CDK:
// the monitor stack (single account, or the central account of an
// organization) and the forwarder stacks that send member accounts' and
// regions' watched calls to the central event bus.
//
// infra/main.go reads the CDK context into a Config, calls Build and synthesizes.
// Nothing here reads the environment or talks to AWS, so tests synthesize the
// same stacks with no credentials.
package stacks

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	suppressions "github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// Context keys, as set in cdk.json or with `cdk synth -c key=value`.
const (
	CtxTrustedAccounts    = "trustedAccounts"
	CtxOrgID              = "orgId"
	CtxMinSeverity        = "minSeverity"
	CtxAlertEmails        = "alertEmails"
	CtxSlackSecretArn     = "slackSecretArn"
	CtxSlackMinSeverity   = "slackMinSeverity"
	CtxArchitecture       = "architecture"
	CtxReserveConcurrency = "reserveConcurrency"
	CtxCreateTrail        = "createTrail"
	CtxCentralAccountID   = "centralAccountId"
	CtxCentralRegion      = "centralRegion"
	CtxRegions            = "regions"
	CtxMonitorPrefix      = "monitorPrefix"
	CtxDeployRoles        = "deployRoles"
	CtxAudit              = "audit"
	CtxAuditSchedule      = "auditSchedule"
	CtxSuppressions       = "suppressions"
	CtxSecurityHub        = "securityHub"
)

// ContextKeys lists every key the app reads; cdk.json lists each with its
// default, so that it documents them (a test keeps the two in step).
var ContextKeys = []string{
	CtxTrustedAccounts, CtxOrgID, CtxMinSeverity, CtxAlertEmails, CtxSlackSecretArn,
	CtxSlackMinSeverity, CtxArchitecture, CtxReserveConcurrency, CtxCreateTrail,
	CtxCentralAccountID, CtxCentralRegion, CtxRegions, CtxMonitorPrefix, CtxDeployRoles,
	CtxAudit, CtxAuditSchedule, CtxSuppressions, CtxSecurityHub,
}

// DefaultAuditSchedule runs the audit once a day.
const DefaultAuditSchedule = "rate(1 day)"

// DefaultMonitorPrefix starts the physical names of lambdawatch's resources
// unless the context says otherwise.
const DefaultMonitorPrefix = "lambdawatch"

// MaxMonitorPrefix keeps the longest name built on the prefix
// (Names.ForwardLambdaRule) within EventBridge's 64 characters; the
// monitor checks MONITOR_PREFIX against the same awsid.MaxMonitorPrefix.
const MaxMonitorPrefix = awsid.MaxMonitorPrefix

// Architectures of the Lambda bootstraps, as the Makefile's ARCH names them.
const (
	ArchARM64 = "arm64"
	ArchX8664 = "x86_64"
)

// Config is the app's configuration, read from the CDK context.
type Config struct {
	// TrustedAccounts and OrgID reach the monitor as TRUSTED_ACCOUNTS and ORG_ID.
	TrustedAccounts []string
	OrgID           string
	// MinSeverity is the lowest severity the monitor publishes.
	MinSeverity detect.Severity
	// SlackMinSeverity is the lowest severity the Slack queue's filter policy lets through.
	SlackMinSeverity detect.Severity
	// AlertEmails are subscribed to the alert topic and to the alarm topic.
	AlertEmails []string
	// SlackSecretArn names an existing secret (complete ARN); empty means
	// the stack creates one, to be filled in after deploy.
	SlackSecretArn string
	// Architecture is ArchARM64 or ArchX8664.
	Architecture string
	// ReserveConcurrency reserves concurrency for both functions. Accounts
	// whose concurrency quota is still the new-account 10 cannot reserve any;
	// they set reserveConcurrency=false until the quota is raised.
	ReserveConcurrency bool
	// CreateTrail adds a trail, for accounts without one: EventBridge
	// delivers CloudTrail events only while a trail is logging.
	CreateTrail bool

	// Organization layout: set together, or not at all.
	CentralAccountID string
	CentralRegion    string
	// Regions to forward from (always including CentralRegion).
	Regions []string

	// MonitorPrefix starts every physical name (Names), so that the tamper
	// rules, which read MONITOR_PREFIX, know lambdawatch's own resources.
	MonitorPrefix string

	// Audit adds the scheduled audit, run on AuditSchedule (an
	// EventBridge Scheduler expression: rate(...), cron(...)).
	Audit         bool
	AuditSchedule string
	// Suppressions is the path of a suppressions file (docs/suppressions.md)
	// bundled with the monitor and the audit; it is checked at synth.
	Suppressions string
	// SecurityHub imports the monitor's and the audit's findings into
	// Security Hub's default product of the account and region, in ASFF.
	SecurityHub bool

	// DeployRoles are glob patterns (* for any run of characters) on the
	// names of the roles whose CloudFormation calls are the deployment, not
	// tampering; they reach the monitor as MONITOR_DEPLOY_ROLES. Empty
	// leaves the engine's default, the CDK bootstrap's execution role.
	DeployRoles []string
}

// Names are the physical names built on the prefix.
func (c Config) Names() Names { return NamesFor(c.MonitorPrefix) }

// Organization reports whether the organization-wide layout is configured.
func (c Config) Organization() bool { return c.CentralAccountID != "" }

// Account and organization IDs, regions, role patterns and the prefix are
// checked by awsid, as the monitor checks them at cold start.
var (
	emailRE = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)
	// EventBridge Scheduler's recurring expressions.
	scheduleRE = regexp.MustCompile(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)
	// A complete secret's name ends with the 6 random characters Secrets
	// Manager appends to it; IAM then needs no wildcard.
	secretNameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)
)

// completeSecretArn reports whether s is the complete ARN of a Secrets
// Manager secret: arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX,
// its region of its partition.
func completeSecretArn(s string) bool {
	a, err := awsid.ParseARN(s)
	if err != nil || a.Validate() != nil || a.Service != "secretsmanager" || !awsid.IsRegion(a.Region) || !awsid.IsAccountID(a.Account) {
		return false
	}
	name, ok := strings.CutPrefix(a.Resource, "secret:")
	return ok && secretNameRE.MatchString(name)
}

// ParseConfig reads the configuration through get, which returns a context
// value or nil (awscdk's Node.TryGetContext). Values from `-c` arrive as
// strings; values in cdk.json may also be JSON lists or booleans. Every
// problem is reported at once, so that one synth shows all of them.
func ParseConfig(get func(key string) any) (Config, error) {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("context %s: %s", key, fmt.Sprintf(format, args...)))
	}
	str := func(key string) string {
		switch v := get(key).(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		case float64:
			// An account ID written as a JSON number loses leading zeros.
			bad(key, "write %s as a string, in quotes", strconv.FormatFloat(v, 'f', -1, 64))
		default:
			bad(key, "want a string, got %T", v)
		}
		return ""
	}
	list := func(key string) []string {
		var raw []string
		switch v := get(key).(type) {
		case nil:
		case string:
			raw = strings.Split(v, ",")
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					bad(key, "want a list of strings, got an element %v (%T)", e, e)
					continue
				}
				raw = append(raw, s)
			}
		default:
			bad(key, "want a comma-separated string or a list of strings, got %T", v)
		}
		var out []string
		for _, s := range raw {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	severity := func(key string, def detect.Severity) detect.Severity {
		s := str(key)
		if s == "" {
			return def
		}
		v, err := detect.ParseSeverity(s)
		if err != nil {
			bad(key, "%v", err)
		}
		return v
	}
	boolean := func(key string, def bool) bool {
		switch v := get(key).(type) {
		case nil:
			return def
		case bool:
			return v
		case string:
			if strings.TrimSpace(v) == "" {
				return def
			}
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				bad(key, "want true or false, got %q", v)
			}
			return b
		default:
			bad(key, "want true or false, got %T", v)
			return def
		}
	}

	c := Config{
		TrustedAccounts:    list(CtxTrustedAccounts),
		OrgID:              str(CtxOrgID),
		MinSeverity:        severity(CtxMinSeverity, detect.Medium),
		AlertEmails:        list(CtxAlertEmails),
		SlackSecretArn:     str(CtxSlackSecretArn),
		Architecture:       str(CtxArchitecture),
		ReserveConcurrency: boolean(CtxReserveConcurrency, true),
		CreateTrail:        boolean(CtxCreateTrail, false),
		CentralAccountID:   str(CtxCentralAccountID),
		CentralRegion:      str(CtxCentralRegion),
		Regions:            list(CtxRegions),
		MonitorPrefix:      str(CtxMonitorPrefix),
		DeployRoles:        list(CtxDeployRoles),
		Audit:              boolean(CtxAudit, true),
		AuditSchedule:      cmp.Or(str(CtxAuditSchedule), DefaultAuditSchedule),
		Suppressions:       str(CtxSuppressions),
		SecurityHub:        boolean(CtxSecurityHub, false),
	}
	if c.Suppressions != "" {
		// The functions would refuse it at cold start: refuse it now.
		if _, err := suppressions.Load(c.Suppressions, time.Now()); err != nil {
			bad(CtxSuppressions, "%v", err)
		}
	}
	if !scheduleRE.MatchString(c.AuditSchedule) {
		bad(CtxAuditSchedule, "%q: want an EventBridge Scheduler expression such as rate(1 day), rate(12 hours) or cron(0 6 * * ? *)", c.AuditSchedule)
	}
	// Slack gets what the monitor publishes unless told to be quieter.
	c.SlackMinSeverity = severity(CtxSlackMinSeverity, c.MinSeverity)

	for _, a := range c.TrustedAccounts {
		if !awsid.IsAccountID(a) {
			bad(CtxTrustedAccounts, "%q is not a 12-digit account ID", a)
		}
	}
	if c.OrgID != "" && !awsid.IsOrgID(c.OrgID) {
		bad(CtxOrgID, "%q is not an organization ID (o-...)", c.OrgID)
	}
	for _, e := range c.AlertEmails {
		if !emailRE.MatchString(e) {
			bad(CtxAlertEmails, "%q is not an email address", e)
		}
	}
	if c.SlackSecretArn != "" && !completeSecretArn(c.SlackSecretArn) {
		bad(CtxSlackSecretArn, "%q is not a complete Secrets Manager secret ARN (with its 6-character suffix, as `aws secretsmanager describe-secret --query ARN` prints it)", c.SlackSecretArn)
	}
	for _, r := range c.DeployRoles {
		switch {
		case !awsid.IsRolePattern(r):
			bad(CtxDeployRoles, "%q: want a role name of 1 to %d letters, digits, +=,.@_- or the globs * and ? (a pattern on the role name, not an ARN or a path)", r, awsid.MaxRolePattern)
		case strings.Contains(r, ","):
			// IAM allows commas in role names, but the list reaches the
			// monitor comma-separated and would split there.
			bad(CtxDeployRoles, "%q: a comma cannot reach the monitor, whose %s is comma-separated; write ? for it", r, envvar.MonitorDeployRoles)
		}
	}
	if c.MonitorPrefix == "" {
		c.MonitorPrefix = DefaultMonitorPrefix
	} else if !awsid.IsMonitorPrefix(c.MonitorPrefix) {
		bad(CtxMonitorPrefix, "%q: want 1 to %d letters, digits or hyphens (it starts the names of functions, rules, topics and queues)",
			c.MonitorPrefix, MaxMonitorPrefix)
	}
	switch c.Architecture {
	case "":
		c.Architecture = ArchARM64
	case ArchARM64, ArchX8664:
	default:
		bad(CtxArchitecture, "want %s or %s, got %q", ArchARM64, ArchX8664, c.Architecture)
	}

	org := c.CentralAccountID != "" || c.CentralRegion != "" || len(c.Regions) > 0
	if org {
		if c.OrgID == "" {
			bad(CtxOrgID, "required with %s, %s and %s", CtxCentralAccountID, CtxCentralRegion, CtxRegions)
		}
		if !awsid.IsAccountID(c.CentralAccountID) {
			bad(CtxCentralAccountID, "want the 12-digit ID of the account that runs the monitor, got %q", c.CentralAccountID)
		}
		if !awsid.IsRegion(c.CentralRegion) {
			bad(CtxCentralRegion, "want the region that runs the monitor (e.g. eu-west-1), got %q", c.CentralRegion)
		}
		central, _ := awsid.Partition(c.CentralRegion)
		for _, r := range c.Regions {
			switch p, ok := awsid.Partition(r); {
			case !ok:
				bad(CtxRegions, "%q is not a region name", r)
			case central != "" && p != central:
				// Accounts and event buses do not reach across partitions.
				bad(CtxRegions, "%s is in partition %s, the central region %s in %s: events cannot be forwarded across partitions", r, p, c.CentralRegion, central)
			}
		}
		// Member accounts' events in the central region must be forwarded too.
		if c.CentralRegion != "" && !slices.Contains(c.Regions, c.CentralRegion) {
			c.Regions = append([]string{c.CentralRegion}, c.Regions...)
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("lambdawatch configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}
