package detect

// Rule ids: stable, part of the output format and of SNS filter policies.
const (
	RulePublicInvoke        = "public-invoke"
	RulePublicFunctionURL   = "public-function-url"
	RuleFunctionURLAuthNone = "function-url-auth-none"
	RuleCrossAccountInvoke  = "cross-account-invoke"
	RulePublicLayer         = "public-layer"
	RuleCrossAccountLayer   = "cross-account-layer"
	RuleConfusedDeputy      = "confused-deputy"
	RuleForeignLayer        = "foreign-layer"
	RuleEOLRuntime          = "eol-runtime"
	RulePermissionRemoved   = "permission-removed"
	RuleTrailDisabled       = "trail-disabled"
	RuleMonitorTampering    = "monitor-tampering"
)

// Rule describes a rule for people: what it means and what to do.
type Rule struct {
	ID       string
	Severity Severity // the severity of a succeeded call; some rules lower it
	Title    string
	Why      string
	Remedy   string
}

// Rules lists every rule, most severe first. README, email and Slack text
// come from here.
var Rules = []Rule{
	{
		ID: RulePublicInvoke, Severity: Critical,
		Title:  "Function invocable by anyone",
		Why:    "The resource policy lets any AWS account or anonymous caller invoke the function: anyone who learns its ARN can run it, read what it returns and run up its bill.",
		Remedy: "Remove the statement (aws lambda remove-permission) unless the function is meant to be public; if a service must invoke it, grant that service with a source account or source ARN instead of *.",
	},
	{
		ID: RulePublicFunctionURL, Severity: Critical,
		Title:  "Function URL callable by anyone",
		Why:    "The function has (or is being given) a URL that anyone on the internet can call without signing the request.",
		Remedy: "Switch the URL to AuthType AWS_IAM, or delete the URL and remove the statement, unless the endpoint is meant to be public and does its own authentication.",
	},
	{
		ID: RuleFunctionURLAuthNone, Severity: High,
		Title:  "Function URL without authentication",
		Why:    "A function URL with AuthType NONE skips IAM: once a statement allows the public, anyone can call it.",
		Remedy: "Use AuthType AWS_IAM unless the endpoint is meant to be public and does its own authentication.",
	},
	{
		ID: RuleCrossAccountInvoke, Severity: High,
		Title:  "Function invocable from another account",
		Why:    "An account outside this one and the trusted accounts may invoke the function, directly or through a foreign organization or source account.",
		Remedy: "Confirm the account is expected; if it is, add it to the trusted accounts, otherwise remove the statement.",
	},
	{
		ID: RulePublicLayer, Severity: High,
		Title:  "Layer version shared with everyone",
		Why:    "Any AWS account may read and attach this layer version, including whatever code and secrets are packed in it.",
		Remedy: "Remove the layer version permission, or share it with the organization only (--organization-id).",
	},
	{
		ID: RuleTrailDisabled, Severity: High,
		Title:  "CloudTrail logging stopped or narrowed",
		Why:    "A trail was stopped or deleted, or no longer records write management events (of other regions, of the organization's other accounts, or of the services lambdawatch watches). Calls made from now on may leave no record: lambdawatch and every other tool that reads CloudTrail stop seeing them. Attackers do this before the changes they want to hide.",
		Remedy: "Confirm the change with whoever made it. If it was not expected, restore the trail (aws cloudtrail start-logging, or put back event selectors that include all management events, multi-region), treat the caller's credentials as compromised, and review what they did before and after in the organization's other trails or CloudTrail Lake.",
	},
	{
		ID: RuleMonitorTampering, Severity: High,
		Title:  "lambdawatch itself changed outside its deployment",
		Why:    "One of lambdawatch's own resources (its EventBridge rules, functions, alert topic or queues) was disabled, deleted, throttled, purged or reconfigured by someone other than its CloudFormation deployment. Alerts can stop with no other sign: this may be the last one.",
		Remedy: "Confirm the change with whoever made it. If it was not expected, redeploy the lambdawatch stack to restore its resources, treat the caller's credentials as compromised, and hunt through the archived CloudTrail logs since the change with lambdawatch scan.",
	},
	{
		ID: RuleCrossAccountLayer, Severity: Medium,
		Title:  "Layer version shared with another account",
		Why:    "An account or organization outside the trusted ones may read and attach this layer version.",
		Remedy: "Confirm the sharing is expected; if it is, add the account to the trusted accounts, otherwise remove the layer version permission.",
	},
	{
		ID: RuleConfusedDeputy, Severity: Medium,
		Title:  "Service may invoke on behalf of any account",
		Why:    "A service principal may invoke the function with no source account, or with a source ARN that names no account or a foreign one: another account's resource of that service can trigger it (confused deputy).",
		Remedy: "Re-add the permission with --source-account set to this account and --source-arn naming the exact resource.",
	},
	{
		ID: RuleForeignLayer, Severity: Medium,
		Title:  "Function runs a layer from an untrusted account",
		Why:    "A layer runs inside the function with its role and sees its events and secrets; this one is published by an account that is neither this one nor trusted.",
		Remedy: "Confirm the publisher; if it is expected, add its account to the trusted accounts, otherwise detach the layer.",
	},
	{
		ID: RuleEOLRuntime, Severity: Medium,
		Title:  "Function on a deprecated runtime",
		Why:    "The runtime is past (or close to) its deprecation date: it no longer gets security patches, and AWS will block updates to it.",
		Remedy: "Move the function to a supported runtime of the same language.",
	},
	{
		ID: RulePermissionRemoved, Severity: Info,
		Title:  "Permission removed",
		Why:    "A statement was removed from a function or layer policy; recorded so that a grant and its removal can be read together.",
		Remedy: "Nothing, unless the removal was unexpected and broke an integration.",
	},
}

// RuleByID finds a rule's description.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
