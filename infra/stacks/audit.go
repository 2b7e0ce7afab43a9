package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/envvar"
)

// The scheduled audit's sizing. One account's regions are read in well
// under Lambda's 15 minutes (docs/audit.md); the organization layout gives
// each account and region an invocation of its own.
const (
	auditTimeoutSeconds = 900
	auditMemoryMB       = 256
	// Invocations reading the queue at once in the organization layout:
	// each audits one account and region, and IAM and WAF are read at a
	// pace, so a few at a time go through a large organization in minutes
	// without nearing any account's API limits.
	auditMaxConcurrency = 5
	auditMaxReceive     = 3
	// The schedule retries a failed invocation this often within the hour.
	auditScheduleRetries = 2
)

// AuditReadActions are the read calls the audit makes, one for each call
// of pkg/audit's client interfaces, and nothing else: the audit
// function's role and the member accounts' audit role allow exactly these.
var AuditReadActions = []string{
	"lambda:ListFunctions", "lambda:GetFunction", "lambda:ListAliases", "lambda:ListVersionsByFunction",
	"lambda:GetPolicy", "lambda:ListFunctionUrlConfigs", "lambda:GetFunctionUrlConfig",
	"lambda:ListLayers", "lambda:ListLayerVersions", "lambda:GetLayerVersionPolicy",
	"iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
	// API Gateway's read calls are all one IAM action.
	"apigateway:GET",
	"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
	"wafv2:ListWebACLs", "wafv2:GetWebACL", "wafv2:ListResourcesForWebACL", "wafv2:GetWebACLForResource",
	"ec2:DescribeRegions",
}

// addAudit adds the scheduled audit: the function, its schedule, and in
// the organization layout the queue that fans the run out.
func (s *MonitorStack) addAudit(cfg Config, asset string) {
	names := s.Names
	org := cfg.Organization()
	regions := cfg.Regions
	env := map[string]string{
		envvar.SNSTopicARN:     *s.AlertTopic.TopicArn(),
		envvar.TrustedAccounts: strings.Join(cfg.TrustedAccounts, ","),
		envvar.OrgID:           cfg.OrgID,
		envvar.MinSeverity:     cfg.MinSeverity.String(),
		envvar.MonitorPrefix:   names.Prefix,
		// Empty: the function's own region.
		envvar.AuditRegions: strings.Join(regions, ","),
	}
	s.AuditDLQ = newQueue(s.Stack, "AuditDeadLetterQueue", names.AuditDLQ, nil)
	s.AuditLogGroup, s.Audit = newFunction(s.Stack, "Audit", fnProps{
		cfg:         cfg,
		name:        names.AuditFunction,
		roleName:    names.AuditFunctionRole,
		asset:       asset,
		description: "lambdawatch audit: judges what the accounts hold on a schedule, publishes a digest",
		timeout:     auditTimeoutSeconds,
		memory:      auditMemoryMB,
		reserved:    map[bool]float64{true: auditMaxConcurrency, false: 1}[org],
		env:         env,
	})
	fn := s.Audit
	s.grantLedger(fn)
	s.stateFilter("Audit", s.AuditLogGroup)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("ReadState"),
		Actions: jsii.Strings(AuditReadActions...),
		// The audit reads every function, role, API and load balancer.
		Resources: jsii.Strings("*"),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishDigest"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &[]*string{s.AlertTopic.TopicArn()},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("UseTopicKey"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{s.Key.KeyArn()},
	}))
	if org {
		fn.AddEnvironment(jsii.String(envvar.AuditRole), jsii.String(names.AuditRole), nil)
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("AssumeMemberAuditRole"),
			Actions: jsii.Strings("sts:AssumeRole"),
			// The member accounts' audit role, by name, in any account:
			// the organization's accounts are listed at run time.
			Resources: &[]*string{s.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("iam"), Region: jsii.String(""), Account: jsii.String("*"),
				Resource: jsii.String("role"), ResourceName: jsii.String(names.AuditRole),
			})},
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("ListOrganizationAccounts"),
			Actions: jsii.Strings("organizations:ListAccounts"),
			// ListAccounts takes no resource.
			Resources: jsii.Strings("*"),
		}))
		s.AuditQueue = newQueue(s.Stack, "AuditQueue", names.AuditQueue, &awssqs.QueueProps{
			// AWS's advice: at least six times the function's timeout,
			// within SQS's 12 hours.
			VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(min(6*auditTimeoutSeconds, 43200))),
			DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: s.AuditDLQ, MaxReceiveCount: jsii.Number(auditMaxReceive)},
		})
		fn.AddEnvironment(jsii.String(envvar.AuditQueueURL), s.AuditQueue.QueueUrl(), nil)
		s.AuditQueue.GrantSendMessages(fn)
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(s.AuditQueue, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(1),
			ReportBatchItemFailures: jsii.Bool(true),
			MaxConcurrency:          jsii.Number(auditMaxConcurrency),
		}))
	}

	// EventBridge Scheduler invokes the function with a role of its own,
	// which only this account's schedules may assume.
	invoker := awsiam.NewRole(s.Stack, jsii.String("AuditScheduleRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": s.Account()},
		}),
		Description: jsii.String("lambdawatch audit schedule: invoke the audit function"),
	})
	// The target grants the role lambda:InvokeFunction on the function
	// (and its qualifiers) and sqs:SendMessage on the dead-letter queue.
	s.AuditScheduleRole = invoker
	s.AuditSchedule = awsscheduler.NewSchedule(s.Stack, jsii.String("AuditSchedule"), &awsscheduler.ScheduleProps{
		ScheduleName: jsii.String(names.AuditSchedule),
		Description:  jsii.String("lambdawatch: the scheduled audit of what the accounts hold"),
		Schedule:     awsscheduler.ScheduleExpression_Expression(jsii.String(cfg.AuditSchedule), nil),
		Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
			Role:            invoker,
			DeadLetterQueue: s.AuditDLQ,
			RetryAttempts:   jsii.Number(auditScheduleRetries),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
		}),
	})

	sum := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	maximum := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}
	for _, a := range []struct {
		id, description string
		metric          awscloudwatch.IMetric
	}{
		{"AuditErrorsAlarm", "The lambdawatch audit function failed; a scheduled audit may be missing", fn.MetricErrors(sum)},
		{"AuditDeadLetterAlarm", "A scheduled audit, or an account's part of it, was given up: see the audit dead-letter queue", s.AuditDLQ.MetricApproximateNumberOfMessagesVisible(maximum)},
	} {
		s.alarm(a.id, a.description, a.metric)
	}
}

// auditFields are the monitor stack's audit resources; nil when the
// audit is off.
type auditFields struct {
	Audit             awslambda.Function
	AuditLogGroup     awslogs.LogGroup
	AuditDLQ          awssqs.Queue
	AuditQueue        awssqs.Queue // the organization layout's fan-out
	AuditSchedule     awsscheduler.Schedule
	AuditScheduleRole awsiam.Role
}

// addMemberAuditRole adds the role the central audit function assumes in
// each member account: trusted by that function's role only, allowed the
// audit's read calls only. Roles are global, so only the forwarder of the
// central region creates it.
func (s *ForwarderStack) addMemberAuditRole(props *ForwarderStackProps) {
	here := awscdk.NewCfnCondition(s.Stack, jsii.String("AuditRoleHere"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(props.CentralRegion)),
	})
	caller := s.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("iam"), Region: jsii.String(""), Account: jsii.String(props.CentralAccountID),
		Resource: jsii.String("role"), ResourceName: jsii.String(props.Names.AuditFunctionRole),
	})
	s.AuditRole = awsiam.NewRole(s.Stack, jsii.String("AuditRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(props.Names.AuditRole),
		Description: jsii.String("lambdawatch audit: read what this account holds, for the central audit function"),
		// The account, narrowed to the function's role: a principal ARN
		// would have to exist when the role is made.
		AssumedBy: awsiam.NewAccountPrincipal(jsii.String(props.CentralAccountID)).WithConditions(&map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": caller},
		}),
		// The policy is inline so that the role and its policy are one
		// resource under one condition.
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"ReadState": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("ReadState"),
					Actions:   jsii.Strings(AuditReadActions...),
					Resources: jsii.Strings("*"),
				}),
			}}),
		},
	})
	s.AuditRole.Node().DefaultChild().(awsiam.CfnRole).CfnOptions().SetCondition(here)
}
