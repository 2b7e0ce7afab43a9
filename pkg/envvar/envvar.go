// Package envvar names the environment variables of lambdawatch's Lambda
// functions: the stack (infra/stacks) sets them, the functions read them,
// and both use these names, so that a rename cannot leave one side behind.
package envvar

// The monitor function's (functions/monitor, notify.ConfigFromEnv).
const (
	SNSTopicARN        = "SNS_TOPIC_ARN"        // the alert topic (required)
	TrustedAccounts    = "TRUSTED_ACCOUNTS"     // comma-separated account IDs
	OrgID              = "ORG_ID"               // the organization whose accounts are trusted
	MinSeverity        = "MIN_SEVERITY"         // the lowest severity published
	MonitorPrefix      = "MONITOR_PREFIX"       // how the names of the stack's own resources start
	MonitorDeployRoles = "MONITOR_DEPLOY_ROLES" // comma-separated patterns of the deploying roles
)

// The Slack function's (functions/slack).
const (
	SlackSecretARN  = "SLACK_SECRET_ARN"  // the Secrets Manager secret with the destination
	SlackWebhookURL = "SLACK_WEBHOOK_URL" // a webhook instead of the secret, for local runs
	SlackAPIURL     = "SLACK_API_URL"     // the Web API base for bot tokens (local fakes)
)

// The audit function's (functions/audit), besides the monitor's.
const (
	AuditRegions  = "AUDIT_REGIONS"   // comma-separated regions; empty: the function's own
	AuditRole     = "AUDIT_ROLE"      // the role assumed in each member account (organization layout)
	AuditQueueURL = "AUDIT_QUEUE_URL" // the queue a run fans out through (organization layout)
)

// Both functions', and the audit function's.
const (
	// StateTable is the DynamoDB table that remembers what was delivered;
	// unset, each container remembers alone.
	StateTable = "STATE_TABLE"
	StateLease = "STATE_LEASE" // how long a claim in STATE_TABLE holds its key (Go duration; default 2m, at most 15m)
	// SuppressionsFile is the suppressions file bundled with the function;
	// unset, nothing is suppressed.
	SuppressionsFile = "SUPPRESSIONS_FILE"
	// SecurityHub, true, imports each finding into Security Hub as well.
	SecurityHub = "SECURITY_HUB"

	// LogLevel is the functions' own log level (debug, info, warn, error).
	LogLevel = "LOG_LEVEL"
	// LambdaLogLevel is the level Lambda's advanced logging controls set;
	// the monitor falls back on it.
	LambdaLogLevel = "AWS_LAMBDA_LOG_LEVEL"
)
