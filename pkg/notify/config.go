package notify

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/state"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// Config is the monitor function's configuration, from the environment
// variables envvar names.
type Config struct {
	TopicARN        string          // SNS_TOPIC_ARN
	TrustedAccounts []string        // TRUSTED_ACCOUNTS, comma-separated
	OrgID           string          // ORG_ID
	MinSeverity     detect.Severity // MIN_SEVERITY, default MEDIUM
	MonitorPrefix   string          // MONITOR_PREFIX, default detect.DefaultMonitorPrefix
	DeployRoles     []string        // MONITOR_DEPLOY_ROLES, default detect.DefaultDeployRoles
	StateTable      string          // STATE_TABLE; empty: no shared state
	StateLease      time.Duration   // STATE_LEASE; 0: state.DefaultLease
	Suppressions    *suppress.List  // read from SUPPRESSIONS_FILE
	SecurityHub     bool            // SECURITY_HUB=true: findings go to Security Hub too
}

// Detect is the engine's configuration.
func (c Config) Detect() detect.Config {
	return detect.Config{TrustedAccounts: c.TrustedAccounts, OrgID: c.OrgID, MonitorPrefix: c.MonitorPrefix, DeployRoles: c.DeployRoles}
}

// ConfigFromEnv reads the monitor's configuration with getenv (os.Getenv
// in the function). SNS endpoints and credentials are not here: the SDK's
// own chain reads them (AWS_ENDPOINT_URL_SNS, AWS_REGION, ...). Account and
// organization IDs, the prefix and the deploy-role patterns are checked as
// the CDK app checks them (awsid), and every bad value is named: a typo in
// TRUSTED_ACCOUNTS would otherwise trust nobody, silently.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TopicARN:      strings.TrimSpace(getenv(envvar.SNSTopicARN)),
		OrgID:         strings.TrimSpace(getenv(envvar.OrgID)),
		MinSeverity:   detect.Medium,
		MonitorPrefix: strings.TrimSpace(getenv(envvar.MonitorPrefix)),
	}
	var errs []error
	if c.TopicARN == "" {
		errs = append(errs, fmt.Errorf("%s is not set", envvar.SNSTopicARN))
	}
	trusted, err := awsid.SplitAccountIDs(envvar.TrustedAccounts, getenv(envvar.TrustedAccounts))
	if err != nil {
		errs = append(errs, err)
	}
	c.TrustedAccounts = trusted
	if c.OrgID != "" && !awsid.IsOrgID(c.OrgID) {
		errs = append(errs, fmt.Errorf("%s: %q is not an organization ID (o- and 10 to 32 lower-case letters or digits)", envvar.OrgID, c.OrgID))
	}
	if s := getenv(envvar.MinSeverity); strings.TrimSpace(s) != "" {
		sev, err := detect.ParseSeverity(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envvar.MinSeverity, err))
		}
		c.MinSeverity = sev
	}
	if c.MonitorPrefix == "" {
		c.MonitorPrefix = detect.DefaultMonitorPrefix
	}
	if !awsid.IsMonitorPrefix(c.MonitorPrefix) {
		errs = append(errs, fmt.Errorf("%s: %q: want 1 to %d letters, digits or hyphens", envvar.MonitorPrefix, c.MonitorPrefix, awsid.MaxMonitorPrefix))
	}
	for _, r := range strings.Split(getenv(envvar.MonitorDeployRoles), ",") {
		switch r = strings.TrimSpace(r); {
		case r == "":
		case awsid.IsRolePattern(r):
			c.DeployRoles = append(c.DeployRoles, r)
		default:
			errs = append(errs, fmt.Errorf("%s: %q: want a role name, with * or ? standing for any characters", envvar.MonitorDeployRoles, r))
		}
	}
	c.StateTable = strings.TrimSpace(getenv(envvar.StateTable))
	if c.StateLease, err = parseStateLease(getenv(envvar.StateLease)); err != nil {
		errs = append(errs, err)
	}
	if v := strings.TrimSpace(getenv(envvar.SecurityHub)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: want true or false", envvar.SecurityHub, v))
		}
		c.SecurityHub = b
	}
	if path := strings.TrimSpace(getenv(envvar.SuppressionsFile)); path != "" {
		// A file that does not load fails the cold start: nothing is
		// muted or unmuted by accident.
		l, err := suppress.Load(path, time.Now())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envvar.SuppressionsFile, err))
		}
		c.Suppressions = l
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("monitor configuration: %w", err)
	}
	return c, nil
}

// maxStateLease is the longest STATE_LEASE accepted: Lambda's longest
// timeout. A longer lease would only keep a dead invocation's claim from
// its retries.
const maxStateLease = 15 * time.Minute

// parseStateLease reads STATE_LEASE's value: a Go duration above 0 and at
// most maxStateLease; empty is 0, state.DefaultLease.
func parseStateLease(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration (such as 2m or 90s)", envvar.StateLease, v)
	}
	if d <= 0 || d > maxStateLease {
		return 0, fmt.Errorf("%s: %q: want more than 0 and at most %s", envvar.StateLease, v, "15m")
	}
	return d, nil
}

// Monitor builds the monitor's handler on the SDK's configuration.
func (c Config) Monitor(awsCfg aws.Config, log *slog.Logger) *Monitor {
	m := &Monitor{
		Topic:       c.TopicARN,
		SNS:         sns.NewFromConfig(awsCfg, RetryThrottles),
		Judge:       detect.New(c.Detect()),
		MinSeverity: c.MinSeverity,
		Suppress:    c.Suppressions,
		Log:         log,
	}
	if c.StateTable != "" {
		m.State = state.New(dynamodb.NewFromConfig(awsCfg), c.StateTable, state.WithLease(c.StateLease))
	}
	if c.SecurityHub {
		m.SecurityHub = asff.NewImporter(securityhub.NewFromConfig(awsCfg))
		m.Product = c.Product(awsCfg.Region)
	}
	return m
}

// Product is the Security Hub product findings are imported into: the
// default product of the account and region the alert topic is in, which
// are the function's.
func (c Config) Product(region string) asff.Product {
	a, _ := awsid.ParseARN(c.TopicARN)
	return asff.Product{Partition: a.Partition, Region: cmp.Or(a.Region, region), Account: a.Account}
}

// ThrottleCodes are SNS's modelled throttling errors, which the SDK's
// default retryer does not know.
var ThrottleCodes = []string{"Throttled", "KMSThrottling"}

// RetryThrottles is an SNS client option that makes its retryer retry
// ThrottleCodes too.
func RetryThrottles(o *sns.Options) {
	o.Retryer = retry.AddWithErrorCodes(o.Retryer, ThrottleCodes...)
}
