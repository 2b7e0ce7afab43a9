package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// ResourceType names the kind of resource a finding judges.
type ResourceType string

// Resource types.
const (
	TypeFunction        ResourceType = "function"
	TypeAlias           ResourceType = "function-alias"
	TypeVersion         ResourceType = "function-version"
	TypeFunctionURL     ResourceType = "function-url"
	TypeLayerVersion    ResourceType = "layer-version"
	TypeLayer           ResourceType = "layer" // a layer named without its version
	TypeTrail           ResourceType = "trail"
	TypeEventRule       ResourceType = "event-rule"
	TypeEventBus        ResourceType = "event-bus"
	TypeTopic           ResourceType = "sns-topic"
	TypeQueue           ResourceType = "sqs-queue"
	typeNone            ResourceType = ""
	unrecordedName                   = "(name not recorded)"
	functionARNResource              = "function:"
)

// Resource is what a judge judges: one function (with its qualifier),
// layer version, trail, rule, topic or queue, and the account that owns
// it.
type Resource struct {
	// ARN is the resource's ARN with its qualifier, or its name as given
	// when the account or region that would complete it is unknown.
	ARN     string
	Type    ResourceType
	Account string
	Region  string
	// Name is how a person names it: as the call gave it (payments:prod,
	// a full ARN) or as the audit found it. Empty means ARN.
	Name string
}

func (r Resource) shown() string { return orDefault(orDefault(r.Name, r.ARN), unrecordedName) }

// verdict is one rule a judge finds broken: what it found, for the
// finding's fields and its summary.
type verdict struct {
	rule string
	// circumstance moves the severity from the rule's own (see
	// Rule.Adjusted); empty for none.
	circumstance Circumstance
	res          Resource
	principal    string
	// fill sets the finding's fields besides the resource: Function,
	// Layer, Action, Conditions ...
	fill func(*Finding)
	// The summary: the action a call took (verb and object: "let" "anyone
	// (*) invoke payments"), or the state found (subject, verb, object),
	// and what follows from it when the call succeeded.
	act phrase
}

// phrase is a summary made of what happened: an actor (the caller, or
// the resource as it stands), a verb and its object.
type phrase struct {
	verb   string // the base form: let, share, create
	object string
	// result follows a call that succeeded: ": it no longer runs".
	result string
}

// past is a verb's past tense: the verbs the rules use are few, and all
// but these are regular.
func past(verb string) string {
	switch verb {
	case "let", "set", "put":
		return verb
	case "make":
		return "made"
	case "stop":
		return "stopped"
	}
	if strings.HasSuffix(verb, "e") {
		return verb + "d"
	}
	return verb + "ed"
}

// present is a verb's third person: the verb a resource's state takes.
func present(verb string) string {
	switch verb {
	case "have":
		return "has"
	}
	return verb + "s"
}

// summary of a call: "user/alice let anyone (*) invoke payments", or,
// refused, "user/alice tried to let ... (AccessDenied)".
func (p phrase) call(actor string, failed bool, errorCode string) string {
	if failed {
		return fmt.Sprintf("%s tried to %s %s (%s)", actor, p.verb, p.object, orDefault(errorCode, "failed"))
	}
	return actor + " " + past(p.verb) + " " + p.object + p.result
}

// summary of a state: "statement "s1" of payments lets anyone (*) invoke
// payments".
func (p phrase) state(subject string) string {
	return subject + " " + present(p.verb) + " " + p.object + p.result
}

// eventFinding makes a verdict on a call into a finding.
func (e *Engine) eventFinding(rec cloudtrail.Record, v verdict) Finding {
	f := Finding{
		EventID:         rec.EventID,
		EventTime:       rec.EventTime,
		EventName:       rec.EventName,
		Outcome:         Succeeded,
		Account:         v.res.Account,
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
	e.complete(&f, v)
	f.Summary = v.act.call(shortActor(f.Actor), rec.Failed(), rec.ErrorCode)
	return f
}

// stateFinding makes a verdict on a resource's state into a finding.
func (e *Engine) stateFinding(v verdict, subject string) Finding {
	f := Finding{Account: v.res.Account, Region: v.res.Region, EventTime: e.cfg.Now().UTC()}
	e.complete(&f, v)
	f.Summary = v.act.state(subject)
	return f
}

// complete sets what events and state share: rule, severity, resource.
func (e *Engine) complete(f *Finding, v verdict) {
	rule, _ := RuleByID(v.rule)
	f.Rule = v.rule
	f.Severity = rule.SeverityIn(v.circumstance)
	if f.Outcome == Failed {
		f.Severity = min(f.Severity, rule.SeverityIn(CallFailed))
	}
	f.Principal = v.principal
	f.ResourceARN = v.res.ARN
	f.ResourceType = v.res.Type
	if f.Region == "" {
		f.Region = v.res.Region
	}
	if v.fill != nil {
		v.fill(f)
	}
}

// functionResource names a function from what a call gave: a name, a
// partial or full ARN, and a qualifier.
func functionResource(name, qualifier, account, region string) Resource {
	name = strings.TrimSpace(name)
	shown := qualified(name, qualifier)
	r := Resource{Type: TypeFunction, Account: account, Region: region, Name: shown}
	base, qual := splitFunction(name)
	if qual == "" {
		qual = qualifier
	}
	switch {
	case qual == "$LATEST" || qual == "":
	case allDigits(qual):
		r.Type = TypeVersion
	default:
		r.Type = TypeAlias
	}
	if a, err := awsid.ParseARN(name); err == nil {
		account = orDefault(a.Account, account)
		region = orDefault(a.Region, region)
		r.Account, r.Region = account, region
	} else if acct, _, ok := strings.Cut(name, ":"); ok && awsid.IsAccountID(acct) {
		account = acct
		r.Account = account
	}
	if base == "" || !awsid.IsAccountID(account) || region == "" {
		r.ARN = shown
		return r
	}
	r.ARN = "arn:" + partition(region) + ":lambda:" + region + ":" + account + ":function:" + base
	if qual != "" {
		r.ARN += ":" + qual
	}
	return r
}

// splitFunction takes a function's name and qualifier from any form Lambda
// accepts: name, name:qualifier, account:function:name[:qualifier] and
// full ARNs.
func splitFunction(s string) (name, qualifier string) {
	if i := strings.LastIndex(s, functionARNResource); i >= 0 && (i == 0 || s[i-1] == ':') {
		s = s[i+len(functionARNResource):]
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

// layerResource names a layer version from a layer's name or ARN and its
// version.
func layerResource(name, version, account, region string) Resource {
	name = strings.TrimSpace(name)
	r := Resource{Type: TypeLayerVersion, Account: account, Region: region, Name: layerVersion(name, version)}
	if a, err := awsid.ParseARN(name); err == nil {
		r.Account, r.Region = orDefault(a.Account, account), orDefault(a.Region, region)
		if strings.Count(a.Resource, ":") >= 2 {
			r.ARN = name // already a layer version ARN
			return r
		}
		name = strings.TrimPrefix(a.Resource, "layer:")
	}
	if version == "" {
		r.Type = TypeLayer
	}
	if name == "" || !awsid.IsAccountID(r.Account) || r.Region == "" {
		r.ARN = r.Name
		return r
	}
	r.ARN = "arn:" + partition(r.Region) + ":lambda:" + r.Region + ":" + r.Account + ":layer:" + layerVersion(name, version)
	return r
}

// partition is the ARN partition of a region; aws for one unknown.
func partition(region string) string {
	if p, ok := awsid.Partition(region); ok {
		return p
	}
	return awsid.PartitionAWS
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// JudgeGrant judges one statement of a function's or layer version's
// resource policy, as Lambda stores it: the statement an AddPermission
// call stored, or one of those GetPolicy returns. A Deny grants nothing.
func (e *Engine) JudgeGrant(r Resource, st policy.Statement) []Finding {
	var out []Finding
	subject := "the policy of " + r.shown()
	if st.Sid != "" {
		subject = fmt.Sprintf("statement %q of %s", st.Sid, subject)
	}
	for _, v := range e.judgeGrant(r, st) {
		out = append(out, e.stateFinding(v, subject))
	}
	return out
}

// JudgeRuntime judges the runtime a function runs on, at a moment.
func (e *Engine) JudgeRuntime(r Resource, runtime string, at time.Time) []Finding {
	v, ok := e.judgeRuntime(r, runtime, at)
	if !ok {
		return nil
	}
	v.act = phrase{verb: "run", object: "on runtime " + v.act.object}
	return []Finding{e.stateFinding(v, r.shown())}
}

// JudgeLayers judges the layers a function runs (their version ARNs). An
// error names each entry that is not a layer version ARN.
func (e *Engine) JudgeLayers(r Resource, layers []string) ([]Finding, error) {
	vs, err := e.judgeLayers(r, layers)
	out := make([]Finding, 0, len(vs))
	for _, v := range vs {
		v.act = phrase{verb: "run", object: v.act.object}
		out = append(out, e.stateFinding(v, r.shown()))
	}
	return out, err
}

// JudgeURLAuth judges a function URL's auth type.
func (e *Engine) JudgeURLAuth(r Resource, authType, url string) []Finding {
	v, ok := e.judgeURLAuth(r, authType, url)
	if !ok {
		return nil
	}
	v.act = phrase{verb: "have", object: "AuthType NONE (no authentication)"}
	return []Finding{e.stateFinding(v, "the function URL of "+r.shown())}
}
