package stacks

// Every cdk-nag suppression of the app lives in this file, each with its reason.

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNag suppresses the findings below and runs cdk-nag's AWS Solutions
// checks over the app at synthesis: unsuppressed errors fail `cdk synth`,
// and the reports (CSV and JSON, one per stack) land in the cloud assembly.
func ApplyNag(app awscdk.App, s *Stacks) {
	suppressMonitor(s.Monitor)
	for _, f := range s.Forwarders {
		suppressForwarder(f)
	}
	AddNagChecks(app)
}

// AddNagChecks adds the AWS Solutions checks to scope, without suppressions.
func AddNagChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports:       jsii.Bool(true),
		ReportFormats: &[]cdknag.NagReportFormat{cdknag.NagReportFormat_CSV, cdknag.NagReportFormat_JSON},
		Verbose:       jsii.Bool(true),
	}), nil)
}

func suppress(construct any, id, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(id), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

func suppressMonitor(m *MonitorStack) {
	suppress(m.MonitorDLQ, "AwsSolutions-SQS3",
		"This queue is the dead-letter queue of the monitor's EventBridge targets and asynchronous invocations; a dead-letter queue of its own would only move the problem, and its depth raises an alarm.")
	// The Slack dead-letter queue needs none: cdk-nag sees it is the Slack
	// queue's redrive target.
	if m.Audit != nil {
		suppressPath(m.Stack, "/"+*m.Stack.StackName()+"/AuditRole/DefaultPolicy/Resource", "AwsSolutions-IAM5",
			"The audit reads every function, layer, role, API, load balancer and web ACL of the account: its read calls (and only those, AuditReadActions) take every resource; organizations:ListAccounts takes none; sts:AssumeRole names the member accounts' audit role, in accounts known only at run time.")
		suppress(m.AuditScheduleRole, "AwsSolutions-IAM5",
			"The CDK's scheduler target grants lambda:InvokeFunction on the audit function and its qualifiers (ARN:*); the function is the only one named, and the role can be assumed only by this account's schedules.")
		suppress(m.AuditDLQ, "AwsSolutions-SQS3",
			"This queue is the dead-letter queue of the audit's schedule and fan-out queue; a dead-letter queue of its own would only move the problem, and its depth raises an alarm.")
	}
	if m.TrailBucket != nil {
		suppress(m.TrailBucket, "AwsSolutions-S1",
			"The bucket holds only the optional trail's log files, which lambdawatch never reads (it gets the events from EventBridge); access logs would need a second bucket, and CloudTrail's log file validation already detects tampering.")
	}
	if m.CreatedSecret {
		suppress(m.SlackSecret, "AwsSolutions-SMG4",
			"The secret holds a Slack webhook URL or bot token, which only Slack can issue: Secrets Manager cannot rotate it. Rotate it in Slack and put the new value with `aws secretsmanager put-secret-value`.")
	}
}

// suppressPath suppresses a finding on the construct at path, for
// constructs the CDK makes (a role's default policy).
func suppressPath(stack awscdk.Stack, path, id, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String(path), &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(id), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

func suppressForwarder(f *ForwarderStack) {
	if f.AuditRole != nil {
		suppress(f.AuditRole, "AwsSolutions-IAM5",
			"The central audit reads every function, layer, role, API, load balancer and web ACL of this account: its read calls (and only those, AuditReadActions) take every resource.")
	}
	suppress(f.DLQ, "AwsSolutions-SQS3",
		"This queue is the dead-letter queue of the forwarding rule's target; a dead-letter queue of its own would only move the problem.")
}
