// Package detect judges CloudTrail records of Lambda calls and reports
// dangerous permission changes as findings. It is pure: no I/O, no AWS SDK.
package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// Config is what the rules need to know about the deployment.
type Config struct {
	// TrustedAccounts may be granted access without a finding.
	TrustedAccounts []string
	// OrgID is the organization whose accounts count as trusted (o-...).
	OrgID string
	// Now stands in for records without an eventTime; nil means time.Now.
	Now func() time.Time
	// MonitorPrefix starts the names of lambdawatch's own resources (its
	// rules, functions, topic and queues); empty means
	// DefaultMonitorPrefix.
	MonitorPrefix string
	// DeployRoles are patterns (path.Match: * and ?) of the names of the
	// roles CloudFormation deploys lambdawatch with; its changes made
	// through CloudFormation by one of these roles are the deployment's.
	// Empty means DefaultDeployRoles.
	DeployRoles []string
}

// DefaultDeployRoles is the role the CDK bootstrap gives CloudFormation
// to deploy with, in any qualifier, account and region.
var DefaultDeployRoles = []string{"cdk-*-cfn-exec-role-*"}

// DefaultMonitorPrefix is the stack's default name prefix.
const DefaultMonitorPrefix = "lambdawatch"

// Validate checks account IDs and the organization ID, so that a typo in
// configuration is caught at start-up rather than trusting nobody.
func (c Config) Validate() error {
	var errs []error
	for _, a := range c.TrustedAccounts {
		if !awsid.IsAccountID(a) {
			errs = append(errs, fmt.Errorf("trusted account %q is not a 12-digit account ID", a))
		}
	}
	if c.OrgID != "" && !awsid.IsOrgID(c.OrgID) {
		errs = append(errs, fmt.Errorf("organization ID %q does not look like o-xxxxxxxxxx", c.OrgID))
	}
	if c.MonitorPrefix != "" && !awsid.IsMonitorPrefix(c.MonitorPrefix) {
		errs = append(errs, fmt.Errorf("monitor prefix %q: want 1 to 40 letters, digits or hyphens", c.MonitorPrefix))
	}
	for _, r := range c.DeployRoles {
		if !awsid.IsRolePattern(r) {
			errs = append(errs, fmt.Errorf("deploy role %q: want a role name, with * or ? standing for any characters", r))
		}
	}
	return errors.Join(errs...)
}

// EOLWindow is how far ahead a coming runtime deprecation is reported, at
// LOW.
const EOLWindow = 90 * 24 * time.Hour

// Engine applies the rules to records. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	trusted map[string]bool
	prefix  string   // MonitorPrefix, lower case
	deploy  []string // DeployRoles, or the default
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
	e.prefix = strings.ToLower(orDefault(strings.TrimSpace(cfg.MonitorPrefix), DefaultMonitorPrefix))
	e.deploy = cfg.DeployRoles
	if len(e.deploy) == 0 {
		e.deploy = DefaultDeployRoles
	}
	return e
}

// event is one CloudTrail call and the judge that reads it. Rules list
// the events they read; a judge may raise findings of every rule that
// lists its event.
type event struct {
	Call
	judge func(e *Engine, rec cloudtrail.Record) ([]verdict, error)
}

// Event sources of the services the rules read.
const (
	sourceLambda     = cloudtrail.LambdaSource
	sourceCloudTrail = "cloudtrail.amazonaws.com"
	sourceEvents     = "events.amazonaws.com"
	sourceSNS        = "sns.amazonaws.com"
	sourceSQS        = "sqs.amazonaws.com"
)

// dispatch finds the events a record is, by source and call, and the
// rules each event may raise.
type dispatch struct {
	events map[Call][]*event
	rules  map[*event][]string
}

func newDispatch(rules []Rule) dispatch {
	d := dispatch{events: map[Call][]*event{}, rules: map[*event][]string{}}
	for _, r := range rules {
		for _, ev := range r.Reads {
			if !slices.Contains(d.events[ev.Call], ev) {
				d.events[ev.Call] = append(d.events[ev.Call], ev)
			}
			d.rules[ev] = append(d.rules[ev], r.ID)
		}
	}
	return d
}

// rulesDispatch is set in init, beside Watched.
var rulesDispatch dispatch

// Judge returns the findings one record raises, at every severity; callers
// filter. Records of calls no rule reads raise none. An error names what
// in the record could not be read; findings judged from the rest of the
// record come with it.
func (e *Engine) Judge(rec cloudtrail.Record) ([]Finding, error) {
	call := Call{EventSource: strings.ToLower(rec.EventSource), Name: rec.Action()}
	var (
		out  []Finding
		errs []error
	)
	for _, ev := range rulesDispatch.events[call] {
		vs, err := ev.judge(e, rec)
		errs = appendNew(errs, err)
		for _, v := range vs {
			out = append(out, e.eventFinding(rec, v))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		err = fmt.Errorf("%s %s: %w", rec.EventName, rec.EventID, err)
	}
	return out, err
}

// appendNew adds each of err's lines that errs lacks: judges of one call
// read the same fields, and an unreadable field is reported once.
func appendNew(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	if len(errs) == 0 {
		return append(errs, err) // whole, so that errors.Is sees through it
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if !slices.ContainsFunc(errs, func(o error) bool { return strings.Contains("\n"+o.Error()+"\n", "\n"+line+"\n") }) {
			errs = append(errs, errors.New(line))
		}
	}
	return errs
}

// trustedAccount reports whether an account may be granted access freely.
func (e *Engine) trustedAccount(account, owner string) bool {
	return account != "" && (account == owner || e.trusted[account])
}

// shortActor keeps the part of an ARN a person recognises: user/alice,
// assumed-role/Deploy/session.
func shortActor(arn string) string {
	if arn == "" {
		return "someone"
	}
	if a, err := awsid.ParseARN(arn); err == nil && a.Resource != "" {
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
