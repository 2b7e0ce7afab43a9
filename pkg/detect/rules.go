package detect

import (
	"slices"
	"strings"
)

// Rule ids: stable, part of the output format and of SNS filter policies.
const (
	RulePublicInvoke        = "public-invoke"
	RulePublicFunctionURL   = "public-function-url"
	RuleFunctionURLAuthNone = "function-url-auth-none"
	RuleCrossAccountInvoke  = "cross-account-invoke"
	RulePublicLayer         = "public-layer"
	RuleCrossAccountLayer   = "cross-account-layer"
	RuleConfusedDeputy      = "confused-deputy"
	RuleUnreadableGrant     = "unreadable-grant"
	RuleForeignLayer        = "foreign-layer"
	RuleEOLRuntime          = "eol-runtime"
	RulePermissionRemoved   = "permission-removed"
	RuleTrailDisabled       = "trail-disabled"
	RuleMonitorTampering    = "monitor-tampering"
	RulePrivilegedRole      = "privileged-role"
	RuleWAFMissing          = "waf-missing"
	RuleDenialOfWallet      = "denial-of-wallet"
)

// Circumstance is something about a finding that moves its severity
// away from the rule's own.
type Circumstance string

// Circumstances the rules declare severities for.
const (
	// CallFailed: the call was refused, so nothing changed. Every rule
	// that reads calls gives one: worth recording, not paging on.
	CallFailed Circumstance = "call-failed"
	// DeprecationSoon: a runtime's deprecation is less than EOLWindow away.
	DeprecationSoon Circumstance = "deprecation-soon"
)

// StateKind is a kind of resource state a rule can judge, as an audit of
// an account reads it rather than a call that changed it.
type StateKind string

// Kinds of state.
const (
	StateFunctionPolicy  StateKind = "function-policy"  // GetPolicy of the function
	StateQualifiedPolicy StateKind = "qualified-policy" // GetPolicy of an alias or version
	StateLayerPolicy     StateKind = "layer-version-policy"
	StateFunctionURL     StateKind = "function-url-config"
	StateFunctionConfig  StateKind = "function-config" // runtime, layers
)

// Rule is one rule, declared once: what it finds, for people, and what it
// reads. Everything that lists rules or calls derives from Rules.
type Rule struct {
	ID string
	// Severity is the severity of a finding in no special circumstance.
	Severity Severity
	// Adjusted gives the severity in each circumstance that changes it;
	// for CallFailed it is the most a failed call can be.
	Adjusted map[Circumstance]Severity
	Title    string
	Why      string
	Remedy   string
	// Reads are the CloudTrail calls the rule judges, each with the
	// judge that reads it. Judges that reach several rules at once (a
	// grant is public or cross-account, never both) are shared.
	Reads []*event
	// States are the kinds of state the rule judges.
	States []StateKind
}

// Calls lists the CloudTrail calls the rule reads.
func (r Rule) Calls() []Call {
	out := make([]Call, 0, len(r.Reads))
	for _, ev := range r.Reads {
		out = append(out, ev.Call)
	}
	return out
}

// SeverityIn is the rule's severity in a circumstance.
func (r Rule) SeverityIn(c Circumstance) Severity {
	if s, ok := r.Adjusted[c]; ok {
		return s
	}
	return r.Severity
}

// failedLow is the Adjusted of rules that only say a failed call was made.
var failedLow = map[Circumstance]Severity{CallFailed: Low}

// Rules lists every rule, most severe first: the README's table, the
// email and Slack text, `lambdawatch rules`, the EventBridge patterns and
// the hunt's prefilter all come from here.
var Rules = []Rule{
	{
		ID: RulePublicInvoke, Severity: Critical, Adjusted: failedLow,
		Title:  "Function invocable by anyone",
		Why:    "The resource policy lets any AWS account or anonymous caller invoke the function: anyone who learns its ARN can run it, read what it returns and run up its bill.",
		Remedy: "Remove the statement (aws lambda remove-permission) unless the function is meant to be public; if a service must invoke it, grant that service with a source account or source ARN instead of *.",
		Reads:  []*event{addPermission}, States: grantStates,
	},
	{
		ID: RulePublicFunctionURL, Severity: Critical, Adjusted: failedLow,
		Title:  "Function URL callable by anyone",
		Why:    "The function has (or is being given) a URL that anyone on the internet can call without signing the request.",
		Remedy: "Switch the URL to AuthType AWS_IAM, or delete the URL and remove the statement, unless the endpoint is meant to be public and does its own authentication.",
		Reads:  []*event{addPermission}, States: grantStates,
	},
	{
		ID: RuleFunctionURLAuthNone, Severity: High, Adjusted: failedLow,
		Title:  "Function URL without authentication",
		Why:    "A function URL with AuthType NONE skips IAM: once a statement allows the public, anyone can call it.",
		Remedy: "Use AuthType AWS_IAM unless the endpoint is meant to be public and does its own authentication.",
		Reads:  []*event{createFunctionURL, updateFunctionURL}, States: []StateKind{StateFunctionURL},
	},
	{
		ID: RuleCrossAccountInvoke, Severity: High, Adjusted: failedLow,
		Title:  "Function invocable from another account",
		Why:    "An account outside this one and the trusted accounts may invoke the function, directly or through a foreign organization or source account.",
		Remedy: "Confirm the account is expected; if it is, add it to the trusted accounts, otherwise remove the statement.",
		Reads:  []*event{addPermission}, States: grantStates,
	},
	{
		ID: RulePublicLayer, Severity: High, Adjusted: failedLow,
		Title:  "Layer version shared with everyone",
		Why:    "Any AWS account may read and attach this layer version, including whatever code and secrets are packed in it.",
		Remedy: "Remove the layer version permission, or share it with the organization only (--organization-id).",
		Reads:  []*event{addLayerPermission}, States: []StateKind{StateLayerPolicy},
	},
	{
		ID: RuleTrailDisabled, Severity: High, Adjusted: failedLow,
		Title:  "CloudTrail logging stopped or narrowed",
		Why:    "A trail was stopped or deleted, or no longer records write management events (of other regions, of the organization's other accounts, or of the services lambdawatch watches). Calls made from now on may leave no record: lambdawatch and every other tool that reads CloudTrail stop seeing them. Attackers do this before the changes they want to hide.",
		Remedy: "Confirm the change with whoever made it. If it was not expected, restore the trail (aws cloudtrail start-logging, or put back event selectors that include all management events, multi-region), treat the caller's credentials as compromised, and review what they did before and after in the organization's other trails or CloudTrail Lake.",
		Reads:  trailCalls,
	},
	{
		ID: RuleMonitorTampering, Severity: High, Adjusted: failedLow,
		Title:  "lambdawatch itself changed outside its deployment",
		Why:    "One of lambdawatch's own resources (its EventBridge rules, functions, alert topic or queues) was disabled, deleted, throttled, purged or reconfigured by someone other than its CloudFormation deployment. Alerts can stop with no other sign: this may be the last one.",
		Remedy: "Confirm the change with whoever made it. If it was not expected, redeploy the lambdawatch stack to restore its resources, treat the caller's credentials as compromised, and hunt through the archived CloudTrail logs since the change with lambdawatch scan.",
		Reads:  tamperCalls,
	},
	{
		ID: RulePrivilegedRole, Severity: High, Adjusted: map[Circumstance]Severity{Escalation: Medium},
		Title:  "Function runs with a privileged role",
		Why:    "The execution role allows every action on every resource, or a call that widens privilege (iam:PassRole, writing or attaching policies, changing a trust policy, minting access keys, assuming any role, rewriting or opening up functions): whoever gets code into the function, through a bug or a dependency, gets those rights.",
		Remedy: "Give the function a role of its own that allows only the calls and resources it uses; move iam:PassRole and policy writes to deployment roles.",
		States: []StateKind{StateExecutionRole},
	},
	{
		ID: RuleCrossAccountLayer, Severity: Medium, Adjusted: failedLow,
		Title:  "Layer version shared with another account",
		Why:    "An account or organization outside the trusted ones may read and attach this layer version.",
		Remedy: "Confirm the sharing is expected; if it is, add the account to the trusted accounts, otherwise remove the layer version permission.",
		Reads:  []*event{addLayerPermission}, States: []StateKind{StateLayerPolicy},
	},
	{
		ID: RuleConfusedDeputy, Severity: Medium, Adjusted: failedLow,
		Title:  "Service may invoke on behalf of any account",
		Why:    "A service principal may invoke the function with no source account, or with a source ARN that names no account or a foreign one: another account's resource of that service can trigger it (confused deputy).",
		Remedy: "Re-add the permission with --source-account set to this account and --source-arn naming the exact resource.",
		Reads:  []*event{addPermission}, States: grantStates,
	},
	{
		ID: RuleUnreadableGrant, Severity: Medium, Adjusted: failedLow,
		Title:  "Grant that could not be read",
		Why:    "A permission was granted, but neither the statement Lambda stored nor the request names whom it lets in: lambdawatch cannot tell whether it is public, and says so rather than staying silent.",
		Remedy: "Read the resource policy as it stands (aws lambda get-policy, or get-layer-version-policy) and judge the statement by hand; remove it if it is not expected.",
		Reads:  []*event{addPermission, addLayerPermission},
	},
	{
		ID: RuleForeignLayer, Severity: Medium, Adjusted: failedLow,
		Title:  "Function runs a layer from an untrusted account",
		Why:    "A layer runs inside the function with its role and sees its events and secrets; this one is published by an account that is neither this one nor trusted.",
		Remedy: "Confirm the publisher; if it is expected, add its account to the trusted accounts, otherwise detach the layer.",
		Reads:  []*event{createFunction, updateFunctionConfig}, States: []StateKind{StateFunctionConfig},
	},
	{
		ID: RuleEOLRuntime, Severity: Medium, Adjusted: map[Circumstance]Severity{CallFailed: Low, DeprecationSoon: Low},
		Title:  "Function on a deprecated runtime",
		Why:    "The runtime is past (or close to) its deprecation date: it no longer gets security patches, and AWS will block updates to it.",
		Remedy: "Move the function to a supported runtime of the same language.",
		Reads:  []*event{createFunction, updateFunctionConfig}, States: []StateKind{StateFunctionConfig},
	},
	{
		ID: RuleWAFMissing, Severity: Medium, Adjusted: map[Circumstance]Severity{NotPublic: Low},
		Title:  "Lambda behind API Gateway or a load balancer without WAF",
		Why:    "A REST API stage or an application load balancer invokes Lambda with no web ACL in front: nothing filters injection, bots or floods before they reach the function (Security Hub APIGateway.4, ELB.16). HTTP APIs and function URLs cannot take a web ACL and are not judged.",
		Remedy: "Associate a regional web ACL with the stage or load balancer (aws wafv2 associate-web-acl), with AWS's managed rule groups and a rate-based rule.",
		States: []StateKind{StateFront},
	},
	{
		ID: RuleDenialOfWallet, Severity: Medium,
		Title:  "Function anyone can invoke without limit",
		Why:    "Anyone can reach the function (a public grant, a URL with AuthType NONE, an API route with no authorization, an internet-facing load balancer), it has no reserved concurrency, and no throttling, usage plan or rate-based WAF rule caps that path: a flood of calls runs up the bill and can take the account's concurrency from every other function.",
		Remedy: "Cap the path: stage or route throttling, a usage plan with API keys, or a rate-based WAF rule; or reserve concurrency for the function; or require authorization.",
		States: []StateKind{StateInvokePath},
	},
	{
		ID: RulePermissionRemoved, Severity: Info, Adjusted: map[Circumstance]Severity{CallFailed: Info},
		Title:  "Permission removed",
		Why:    "A statement was removed from a function or layer policy; recorded so that a grant and its removal can be read together.",
		Remedy: "Nothing, unless the removal was unexpected and broke an integration.",
		Reads:  []*event{removePermission, removeLayerPermission},
	},
}

// grantStates are the policies a function's grants live in.
var grantStates = []StateKind{StateFunctionPolicy, StateQualifiedPolicy}

// RuleByID finds a rule's description.
func RuleByID(id string) (Rule, bool) {
	i := slices.IndexFunc(Rules, func(r Rule) bool { return r.ID == id })
	if i < 0 {
		return Rule{}, false
	}
	return Rules[i], true
}

// Call is a CloudTrail call a rule reads. Lambda's event names carry
// version suffixes (AddPermission20150331v2), so Name is the call without
// one, and EventBridge matches it as a prefix.
type Call struct {
	// EventSource is CloudTrail's eventSource: lambda.amazonaws.com.
	EventSource string
	Name        string
}

// Service is one AWS service whose CloudTrail records the rules read.
type Service struct {
	// EventSource is CloudTrail's eventSource: lambda.amazonaws.com.
	EventSource string
	// Source is the source EventBridge gives its events: aws.lambda.
	Source string
	// Actions are the API calls the rules read, without the version
	// suffixes Lambda's event names carry (AddPermission20150331v2).
	Actions []string
}

// Watched lists every call any rule reads, by service (in the order the
// rules first read them) and by name. The EventBridge rules that feed the monitor, the
// hunting prefilter and the Athena query are all built from it.
//
// It is set in init, as the trail rule's judge reads it.
var Watched []Service

func init() {
	Watched = watched(Rules)
	rulesDispatch = newDispatch(Rules)
}

func watched(rules []Rule) []Service {
	var out []Service
	for _, r := range rules {
		for _, c := range r.Calls() {
			i := slices.IndexFunc(out, func(s Service) bool { return s.EventSource == c.EventSource })
			if i < 0 {
				out = append(out, Service{EventSource: c.EventSource, Source: eventBridgeSource(c.EventSource)})
				i = len(out) - 1
			}
			if !slices.Contains(out[i].Actions, c.Name) {
				out[i].Actions = append(out[i].Actions, c.Name)
			}
		}
	}
	for _, s := range out {
		slices.Sort(s.Actions)
	}
	return out
}

// eventBridgeSource is the source EventBridge gives a service's events:
// lambda.amazonaws.com's are aws.lambda.
func eventBridgeSource(eventSource string) string {
	name, _, _ := strings.Cut(eventSource, ".")
	return "aws." + name
}

// WatchedNames lists every call name any rule reads, for the prefilter.
func WatchedNames() []string {
	var names []string
	for _, s := range Watched {
		names = append(names, s.Actions...)
	}
	return names
}
