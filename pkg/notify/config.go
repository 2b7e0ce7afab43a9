package notify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Config is the monitor function's configuration.
type Config struct {
	TopicARN        string          // SNS_TOPIC_ARN
	TrustedAccounts []string        // TRUSTED_ACCOUNTS, comma-separated
	OrgID           string          // ORG_ID
	MinSeverity     detect.Severity // MIN_SEVERITY, default MEDIUM
	MonitorPrefix   string          // MONITOR_PREFIX, default detect.DefaultMonitorPrefix
	DeployRoles     []string        // MONITOR_DEPLOY_ROLES, default detect.DefaultDeployRoles
}

// Detect is the engine's configuration.
func (c Config) Detect() detect.Config {
	return detect.Config{TrustedAccounts: c.TrustedAccounts, OrgID: c.OrgID, MonitorPrefix: c.MonitorPrefix, DeployRoles: c.DeployRoles}
}

// ConfigFromEnv reads the monitor's configuration with getenv (os.Getenv
// in the function). SNS endpoints and credentials are not here: the SDK's
// own chain reads them (AWS_ENDPOINT_URL_SNS, AWS_REGION, ...).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TopicARN:      strings.TrimSpace(getenv("SNS_TOPIC_ARN")),
		OrgID:         strings.TrimSpace(getenv("ORG_ID")),
		MinSeverity:   detect.Medium,
		MonitorPrefix: strings.TrimSpace(getenv("MONITOR_PREFIX")),
	}
	var errs []error
	if c.TopicARN == "" {
		errs = append(errs, errors.New("SNS_TOPIC_ARN is not set"))
	}
	for _, a := range strings.Split(getenv("TRUSTED_ACCOUNTS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.TrustedAccounts = append(c.TrustedAccounts, a)
		}
	}
	if s := getenv("MIN_SEVERITY"); strings.TrimSpace(s) != "" {
		sev, err := detect.ParseSeverity(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("MIN_SEVERITY: %w", err))
		}
		c.MinSeverity = sev
	}
	if c.MonitorPrefix == "" {
		c.MonitorPrefix = detect.DefaultMonitorPrefix
	}
	if err := (detect.Config{MonitorPrefix: c.MonitorPrefix}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("MONITOR_PREFIX: %w", err))
	}
	for _, r := range strings.Split(getenv("MONITOR_DEPLOY_ROLES"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.DeployRoles = append(c.DeployRoles, r)
		}
	}
	if err := (detect.Config{DeployRoles: c.DeployRoles}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("MONITOR_DEPLOY_ROLES: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("monitor configuration: %w", err)
	}
	return c, nil
}

// ThrottleCodes are SNS's modelled throttling errors, which the SDK's
// default retryer does not know.
var ThrottleCodes = []string{"Throttled", "KMSThrottling"}

// RetryThrottles is an SNS client option that makes its retryer retry
// ThrottleCodes too.
func RetryThrottles(o *sns.Options) {
	o.Retryer = retry.AddWithErrorCodes(o.Retryer, ThrottleCodes...)
}
