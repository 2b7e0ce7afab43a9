// Package detect judges CloudTrail records of Lambda calls and reports
// dangerous permission changes as findings. It is pure: no I/O, no AWS SDK.
package detect

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// Config is what the rules need to know about the deployment.
type Config struct {
	// TrustedAccounts may be granted access without a finding.
	TrustedAccounts []string
	// OrgID is the organization whose accounts count as trusted (o-...).
	OrgID string
	// Now stands in for records without an eventTime; nil means time.Now.
	Now func() time.Time
}

// Validate checks account IDs and the organization ID, so that a typo in
// configuration is caught at start-up rather than trusting nobody.
func (c Config) Validate() error {
	var errs []error
	for _, a := range c.TrustedAccounts {
		if !policy.IsAccountID(a) {
			errs = append(errs, fmt.Errorf("trusted account %q is not a 12-digit account ID", a))
		}
	}
	if c.OrgID != "" && !validOrgID(c.OrgID) {
		errs = append(errs, fmt.Errorf("organization ID %q does not look like o-xxxxxxxxxx", c.OrgID))
	}
	return errors.Join(errs...)
}

func validOrgID(s string) bool {
	if !strings.HasPrefix(s, "o-") || len(s) < 12 || len(s) > 34 {
		return false
	}
	for _, c := range s[2:] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// EOLWindow is how far ahead a coming runtime deprecation is reported, at
// LOW.
const EOLWindow = 90 * 24 * time.Hour

// Engine applies the rules to records. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	trusted map[string]bool
}

// New returns an engine for cfg.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg, trusted: make(map[string]bool, len(cfg.TrustedAccounts))}
	for _, a := range cfg.TrustedAccounts {
		e.trusted[strings.TrimSpace(a)] = true
	}
	if e.cfg.Now == nil {
		e.cfg.Now = time.Now
	}
	return e
}

// Actions are the Lambda API calls the rules read, without version
// suffixes. EventBridge rules subscribe to these as prefixes.
var Actions = []string{
	"AddPermission",
	"RemovePermission",
	"AddLayerVersionPermission",
	"RemoveLayerVersionPermission",
	"CreateFunctionUrlConfig",
	"UpdateFunctionUrlConfig",
	"CreateFunction",
	"UpdateFunctionConfiguration",
}

// Judge returns the findings one record raises, at every severity; callers
// filter. Records of other services, and Lambda calls no rule reads, raise
// none. An error names what in the record could not be read; findings
// judged from the rest of the record come with it.
func (e *Engine) Judge(rec cloudtrail.Record) ([]Finding, error) {
	if !strings.EqualFold(rec.EventSource, cloudtrail.LambdaSource) {
		return nil, nil
	}
	var (
		fs  []Finding
		err error
	)
	switch rec.Action() {
	case "AddPermission":
		fs, err = e.addPermission(rec, false)
	case "AddLayerVersionPermission":
		fs, err = e.addPermission(rec, true)
	case "RemovePermission", "RemoveLayerVersionPermission":
		fs, err = e.removePermission(rec)
	case "CreateFunctionUrlConfig", "UpdateFunctionUrlConfig":
		fs, err = e.urlConfig(rec)
	case "CreateFunction", "UpdateFunctionConfiguration":
		fs, err = e.functionConfig(rec)
	default:
		return nil, nil
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", rec.EventName, rec.EventID, err)
	}
	return fs, err
}

// trustedAccount reports whether an account may be granted access freely.
func (e *Engine) trustedAccount(account, owner string) bool {
	return account != "" && (account == owner || e.trusted[account])
}

// base fills the fields every finding of rec shares.
func (e *Engine) base(rec cloudtrail.Record, owner string) Finding {
	f := Finding{
		EventID:         rec.EventID,
		EventTime:       rec.EventTime,
		EventName:       rec.EventName,
		Outcome:         Succeeded,
		Account:         owner,
		Region:          rec.AWSRegion,
		Actor:           rec.Actor(),
		SourceIPAddress: rec.SourceIPAddress,
		UserAgent:       rec.UserAgent,
		ErrorCode:       rec.ErrorCode,
		ErrorMessage:    rec.ErrorMessage,
	}
	if rec.Failed() {
		f.Outcome = Failed
	}
	return f
}

// finish sets the rule, severity and summary: did is what a succeeded call
// did ("shared layer x with everyone"), try what a failed one attempted
// ("share layer x with everyone"). A failed call is worth recording, not
// paging on: at most LOW.
func finish(f Finding, rule string, sev Severity, did, try string) Finding {
	f.Rule = rule
	f.Severity = sev
	actor := shortActor(f.Actor)
	if f.Outcome == Failed {
		f.Severity = min(sev, Low)
		f.Summary = fmt.Sprintf("%s tried to %s (%s)", actor, try, orDefault(f.ErrorCode, "failed"))
	} else {
		f.Summary = actor + " " + did
	}
	return f
}

// shortActor keeps the part of an ARN a person recognises: user/alice,
// assumed-role/Deploy/session.
func shortActor(arn string) string {
	if arn == "" {
		return "someone"
	}
	if a, err := policy.ParseARN(arn); err == nil && a.Resource != "" {
		return a.Resource
	}
	return arn
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
