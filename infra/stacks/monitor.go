package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/envvar"
)

// Sizing. The functions are small Go binaries: 128 MB is plenty.
const (
	monitorTimeoutSeconds = 30
	// A batch of more than a few findings is posted as one summary plus
	// at most a few CRITICAL ones in full (slackalert.Handler): a handful
	// of posts at Slack's ~1 message/s, plus a Retry-After.
	slackTimeoutSeconds = 60
	// An alert storm (a deployment across the organization, an attacker
	// at work) is read in batches of up to 100 gathered over up to 5
	// seconds, so that it becomes a few summary posts rather than a
	// channel flooded for minutes. Lambda lets an SQS batch exceed 10
	// only with a batching window.
	slackBatchSize          = 100
	slackBatchWindowSeconds = 5
	// Slack allows about one message per second per channel: two readers
	// (the smallest maximum concurrency an SQS event source accepts) keep
	// bursts short, and reserved concurrency matches it so none is throttled.
	slackMaxConcurrency = 2
	// A flood of CloudTrail events (a big deployment across the
	// organization) queues in Lambda's asynchronous queue instead of
	// running up the bill.
	monitorReservedConcurrency = 10
	// Both delivery layers give up after six hours; by then the dead-letter
	// queue alarm has long fired.
	maxEventAgeHours = 6
	// EventBridge retries invoking the monitor this often before the
	// event goes to the dead-letter queue.
	eventTargetRetries = 20
	// Lambda retries a failed asynchronous invocation at most twice.
	asyncRetries = 2
	// A Slack message that failed this often goes to the dead-letter queue.
	slackMaxReceiveCount = 5
	// How long messages are kept (SECURITY.md): the Slack queue's until
	// they are posted or 4 days, the dead-letter queues' as long as SQS
	// allows, for someone to read them; the functions' logs for 90 days.
	slackQueueRetentionDays = 4
	dlqRetentionDays        = 14
	logRetention            = awslogs.RetentionDays_THREE_MONTHS
)

// Assets are the folders holding each function's bootstrap, and nothing
// else: `make bootstraps` writes build/ARCH/monitor and build/ARCH/slack.
type Assets struct {
	Monitor string
	Slack   string
	Audit   string
	// Suppressions is a folder holding suppressions.yaml alone, the
	// file of Config.Suppressions; empty for none.
	Suppressions string
}

// SuppressionsFile is the suppressions file's name in its asset: the
// layer puts it at /opt/suppressions.yaml.
const SuppressionsFile = "suppressions.yaml"

// AssetsFor returns the Makefile's asset folders for an architecture,
// relative to the repository root (where cdk.json runs the app).
func AssetsFor(arch string) Assets {
	return Assets{Monitor: "build/" + arch + "/monitor", Slack: "build/" + arch + "/slack", Audit: "build/" + arch + "/audit"}
}

// MonitorStackProps configure the monitor stack.
type MonitorStackProps struct {
	awscdk.StackProps
	Config Config
	Assets Assets
	// Central adds the organization's event bus and a rule on it.
	Central bool
}

// MonitorStack is lambdawatch in one account and region: the two rules on
// the default bus, the monitor, the alert topic, the Slack path and the alarms;
// in the organization layout also the central event bus.
type MonitorStack struct {
	awscdk.Stack

	Key             awskms.Key
	AlertTopic      awssns.Topic
	AlarmTopic      awssns.Topic
	Monitor         awslambda.Function
	Slack           awslambda.Function
	MonitorDLQ      awssqs.Queue
	SlackQueue      awssqs.Queue
	SlackDLQ        awssqs.Queue
	SlackSecret     awssecretsmanager.ISecret
	CreatedSecret   bool
	Names           Names
	DefaultBusRule  awsevents.Rule     // the Lambda calls
	TamperRule      awsevents.Rule     // the calls that could blind lambdawatch
	CentralBus      awsevents.EventBus // nil outside the organization layout
	CentralBusRule  awsevents.Rule     // nil outside the organization layout
	CentralTamper   awsevents.Rule     // nil outside the organization layout
	MonitorLogGroup awslogs.LogGroup
	SlackLogGroup   awslogs.LogGroup
	Alarms          []awscloudwatch.Alarm
	Trail           awscloudtrail.Trail // nil unless Config.CreateTrail
	TrailBucket     awss3.Bucket        // nil unless Config.CreateTrail
	StateTable      awsdynamodb.Table
	auditFields     // nil unless Config.Audit
}

// NewMonitorStack builds the monitor stack.
func NewMonitorStack(scope constructs.Construct, id string, props *MonitorStackProps) *MonitorStack {
	cfg := props.Config
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("lambdawatch: alerts on dangerous AWS Lambda permission changes")
	}
	s := &MonitorStack{Stack: awscdk.NewStack(scope, &id, &sp), Names: cfg.Names()}
	stack := s.Stack
	names := s.Names

	// One customer managed key encrypts both topics: SNS's AWS managed key
	// cannot be used by CloudWatch alarms, and one key keeps the cost at rest
	// to a single key.
	s.Key = awskms.NewKey(stack, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("lambdawatch: encrypts the alert and alarm topics"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	// CloudWatch publishes the alarms into the encrypted alarm topic.
	s.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"), // in a key policy, * is this key
	}), nil)

	s.AlertTopic = awssns.NewTopic(stack, jsii.String("AlertTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(names.AlertTopic),
		DisplayName: jsii.String("lambdawatch findings"),
		MasterKey:   s.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	s.AlarmTopic = awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(names.AlarmTopic),
		DisplayName: jsii.String("lambdawatch alarms"),
		MasterKey:   s.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	// CloudWatch publishes alarm notifications as its service principal.
	// The topic policy that EnforceSSL creates replaces SNS's default policy
	// (which let the account's own sources publish), so without this
	// statement every alarm action fails ("not authorized to perform:
	// SNS:Publish ... because no resource-based policy allows"), visible
	// only in the alarm's history. Limited to this account's and region's
	// alarms.
	s.AlarmTopic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{s.AlarmTopic.TopicArn()},
		Conditions: &map[string]any{
			"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("cloudwatch"),
				Resource:     jsii.String("alarm"),
				ResourceName: jsii.String("*"),
				ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))
	for _, email := range cfg.AlertEmails {
		s.AlertTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
		s.AlarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}

	// Events EventBridge could not deliver and invocations that failed
	// after Lambda's retries land in one queue: either way an event went
	// unjudged, and one alarm covers both.
	s.MonitorDLQ = newQueue(stack, "MonitorDeadLetterQueue", names.MonitorDLQ, nil)

	s.MonitorLogGroup, s.Monitor = newFunction(stack, "Monitor", fnProps{
		cfg:         cfg,
		name:        names.MonitorFunction,
		asset:       props.Assets.Monitor,
		description: "lambdawatch monitor: judges CloudTrail records of Lambda calls, publishes findings",
		timeout:     monitorTimeoutSeconds,
		reserved:    monitorReservedConcurrency,
		env: map[string]string{
			envvar.SNSTopicARN:     *s.AlertTopic.TopicArn(),
			envvar.TrustedAccounts: strings.Join(cfg.TrustedAccounts, ","),
			envvar.OrgID:           cfg.OrgID,
			envvar.MinSeverity:     cfg.MinSeverity.String(),
			// The tamper rules know lambdawatch's own resources by it.
			envvar.MonitorPrefix: names.Prefix,
			// Whose CloudFormation calls are the deployment, not tampering;
			// empty: the engine's default.
			envvar.MonitorDeployRoles: strings.Join(cfg.DeployRoles, ","),
		},
		async: &asyncProps{onFailure: s.MonitorDLQ},
	})
	// Publishing to an encrypted topic needs the key too. Written out rather
	// than Topic.GrantPublish, which grants kms:GenerateDataKey*.
	s.Monitor.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishFindings"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &[]*string{s.AlertTopic.TopicArn()},
	}))
	s.Monitor.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("UseTopicKey"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{s.Key.KeyArn()},
	}))

	// Two rules per bus that split the EventBridge calls: the Lambda rule
	// takes those naming the tamper rule, the tamper rule all others, so
	// that disabling either is seen through the other, once (pattern.go).
	s.DefaultBusRule = s.monitorRule("LambdaCallsRule", names.LambdaRule, nil, lambdaCallPattern(names.TamperRule),
		"lambdawatch: Lambda permission and configuration calls, and EventBridge calls on the tamper rule, in this account and region")
	s.TamperRule = s.monitorRule("TamperRule", names.TamperRule, nil, tamperPattern(names.TamperRule),
		"lambdawatch: CloudTrail, EventBridge, SNS and SQS calls that could blind lambdawatch, in this account and region")
	if props.Central {
		s.CentralBus = awsevents.NewEventBus(stack, jsii.String("CentralBus"), &awsevents.EventBusProps{
			EventBusName: jsii.String(names.CentralBus),
			Description:  jsii.String("lambdawatch: calls forwarded from the organization's accounts and regions"),
		})
		// Any principal of the organization, and nobody else, may put
		// events: the forwarders' roles in every member account and region.
		// (Each synth warns that CfnEventBusPolicy#principal is deprecated:
		// cdk-nag's EVB1 check reads it. This policy sets Statement only.)
		s.CentralBus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OrganizationAccountsPutEvents"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  &[]*string{s.CentralBus.EventBusArn()},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrgID},
			},
		}))
		// Rule names are unique per bus: the central bus's rules share
		// the default bus's names.
		s.CentralBusRule = s.monitorRule("ForwardedLambdaCallsRule", names.LambdaRule, s.CentralBus, lambdaCallPattern(names.TamperRule),
			"lambdawatch: Lambda calls, and EventBridge calls on the tamper rule, forwarded from the organization's accounts and regions")
		s.CentralTamper = s.monitorRule("ForwardedTamperRule", names.TamperRule, s.CentralBus, tamperPattern(names.TamperRule),
			"lambdawatch: tampering calls forwarded from the organization's accounts and regions")
	}

	// The Slack path: topic -> queue (raw delivery, filtered on severity) ->
	// Slack function. Messages SNS cannot deliver and messages the function
	// keeps failing share one dead-letter queue.
	s.SlackDLQ = newQueue(stack, "SlackDeadLetterQueue", names.SlackDLQ, nil)
	s.SlackQueue = newQueue(stack, "SlackQueue", names.SlackQueue, &awssqs.QueueProps{
		// AWS's advice: at least six times the function's timeout.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * slackTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(slackQueueRetentionDays)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           s.SlackDLQ,
			MaxReceiveCount: jsii.Number(slackMaxReceiveCount),
		},
	})
	s.AlertTopic.AddSubscription(awssnssubscriptions.NewSqsSubscription(s.SlackQueue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		FilterPolicy: &map[string]awssns.SubscriptionFilter{
			"severity": awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{
				Allowlist: jsii.Strings(cfg.SlackMinSeverity.AtLeast()...),
			}),
		},
		DeadLetterQueue: s.SlackDLQ,
	}))

	if cfg.SlackSecretArn != "" {
		s.SlackSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("SlackSecret"), jsii.String(cfg.SlackSecretArn))
	} else {
		// The value is filled in after deploy (README); CloudFormation does
		// not overwrite it on later deploys, since this placeholder never
		// changes.
		s.SlackSecret = awssecretsmanager.NewSecret(stack, jsii.String("SlackSecret"), &awssecretsmanager.SecretProps{
			Description:       jsii.String(`lambdawatch Slack destination: {"webhook_url":"https://hooks.slack.com/..."} or {"bot_token":"xoxb-...","channel":"C..."}`),
			SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String("{}")),
		})
		s.CreatedSecret = true
	}

	s.SlackLogGroup, s.Slack = newFunction(stack, "Slack", fnProps{
		cfg:         cfg,
		name:        names.SlackFunction,
		asset:       props.Assets.Slack,
		description: "lambdawatch Slack: posts findings from the Slack queue to Slack",
		timeout:     slackTimeoutSeconds,
		reserved:    slackMaxConcurrency,
		env:         map[string]string{envvar.SlackSecretARN: *s.SlackSecret.SecretArn()},
	})
	s.Slack.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadSlackSecret"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{s.SlackSecret.SecretArn()},
	}))
	s.Slack.AddEventSource(awslambdaeventsources.NewSqsEventSource(s.SlackQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(slackBatchSize),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(slackBatchWindowSeconds)),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(slackMaxConcurrency),
	}))

	s.addAlarms()
	s.addState()
	if cfg.Audit {
		s.addAudit(cfg, props.Assets.Audit)
	}
	if props.Assets.Suppressions != "" {
		s.addSuppressions(props.Assets.Suppressions)
	}
	if cfg.SecurityHub {
		s.addSecurityHub()
	}
	if cfg.CreateTrail {
		s.Trail, s.TrailBucket = newTrail(stack)
	}

	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("AlertTopicArn", "Findings are published here; subscribe more endpoints to it", s.AlertTopic.TopicArn())
	out("AlarmTopicArn", "CloudWatch alarms of lambdawatch itself", s.AlarmTopic.TopicArn())
	out("SlackSecretArn", "Put the Slack webhook URL or bot token here", s.SlackSecret.SecretArn())
	if s.CentralBus != nil {
		out("CentralEventBusArn", "Forwarders in member accounts and regions send here", s.CentralBus.EventBusArn())
	}
	return s
}

// addSuppressions bundles the suppressions file as a layer of the
// functions that alert: the monitor and the audit.
func (s *MonitorStack) addSuppressions(asset string) {
	layer := awslambda.NewLayerVersion(s.Stack, jsii.String("Suppressions"), &awslambda.LayerVersionProps{
		Code:               awslambda.Code_FromAsset(jsii.String(asset), nil),
		Description:        jsii.String("lambdawatch: the suppressions file"),
		CompatibleRuntimes: &[]awslambda.Runtime{awslambda.Runtime_PROVIDED_AL2023()},
	})
	fns := []awslambda.Function{s.Monitor}
	if s.Audit != nil {
		fns = append(fns, s.Audit)
	}
	for _, fn := range fns {
		fn.AddLayers(layer)
		fn.AddEnvironment(jsii.String(envvar.SuppressionsFile), jsii.String("/opt/"+SuppressionsFile), nil)
	}
}

// addSecurityHub lets the functions that alert import their findings into
// Security Hub's default product of this account and region.
func (s *MonitorStack) addSecurityHub() {
	product := s.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("securityhub"), Resource: jsii.String("product"),
		ResourceName: jsii.String(*s.Account() + "/default"),
	})
	fns := []awslambda.Function{s.Monitor}
	if s.Audit != nil {
		fns = append(fns, s.Audit)
	}
	for _, fn := range fns {
		fn.AddEnvironment(jsii.String(envvar.SecurityHub), jsii.String("true"), nil)
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ImportFindings"),
			Actions:   jsii.Strings("securityhub:BatchImportFindings"),
			Resources: &[]*string{product},
		}))
	}
}

// monitorRule routes the events of pattern on bus (nil: the default bus) to
// the monitor; every rule's target has the same retries and dead-letter
// queue. The Lambda permission the target adds carries the rule's ARN as
// SourceArn.
func (s *MonitorStack) monitorRule(id, name string, bus awsevents.IEventBus, pattern *awsevents.EventPattern, description string) awsevents.Rule {
	props := &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String(description),
		EventPattern: pattern,
	}
	if bus != nil {
		props.EventBus = bus
	}
	rule := awsevents.NewRule(s.Stack, jsii.String(id), props)
	rule.AddTarget(awseventstargets.NewLambdaFunction(s.Monitor, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: s.MonitorDLQ,
		RetryAttempts:   jsii.Number(eventTargetRetries),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(maxEventAgeHours)),
	}))
	return rule
}

// addAlarms reports a broken alert path on the alarm topic: function errors
// and throttles, and anything in a dead-letter queue.
func (s *MonitorStack) addAlarms() {
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}
	maximum := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum")}
	for _, a := range []struct {
		id, description string
		metric          awscloudwatch.IMetric
	}{
		{"MonitorErrorsAlarm", "The lambdawatch monitor function failed; findings may be missing", s.Monitor.MetricErrors(sum)},
		{"MonitorThrottlesAlarm", "The lambdawatch monitor function was throttled; findings are delayed", s.Monitor.MetricThrottles(sum)},
		{"SlackErrorsAlarm", "The lambdawatch Slack function failed; Slack alerts may be missing", s.Slack.MetricErrors(sum)},
		{"SlackThrottlesAlarm", "The lambdawatch Slack function was throttled; Slack alerts are delayed", s.Slack.MetricThrottles(sum)},
		{"MonitorDeadLetterAlarm", "CloudTrail events went unjudged: see the monitor's dead-letter queue", s.MonitorDLQ.MetricApproximateNumberOfMessagesVisible(maximum)},
		{"SlackDeadLetterAlarm", "Findings did not reach Slack: see the Slack dead-letter queue", s.SlackDLQ.MetricApproximateNumberOfMessagesVisible(maximum)},
	} {
		s.alarm(a.id, a.description, a.metric)
	}
}

// alarm raises an alarm on the alarm topic, on breach and on recovery,
// when metric reaches 1 in a period.
func (s *MonitorStack) alarm(id, description string, metric awscloudwatch.IMetric) {
	alarm := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	alarm.AddAlarmAction(action)
	alarm.AddOkAction(action)
	s.Alarms = append(s.Alarms, alarm)
}

// newQueue is an SQS queue encrypted with SQS's own key (SNS and EventBridge
// can write to it without key policies) that refuses requests without TLS.
func newQueue(scope constructs.Construct, id, name string, props *awssqs.QueueProps) awssqs.Queue {
	if props == nil {
		// Dead-letter queues keep messages as long as SQS allows.
		props = &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(dlqRetentionDays))}
	}
	props.QueueName = jsii.String(name)
	props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
	props.EnforceSSL = jsii.Bool(true)
	return awssqs.NewQueue(scope, jsii.String(id), props)
}

type asyncProps struct {
	onFailure awssqs.IQueue
}

type fnProps struct {
	cfg         Config
	name        string
	roleName    string  // empty: CloudFormation names the role
	memory      float64 // MB; 0: 128
	asset       string
	description string
	timeout     float64
	reserved    float64
	env         map[string]string
	async       *asyncProps
}

// newFunction builds a Go function on provided.al2023 with its own log group
// and a role allowed to write to that log group only (no AWS managed
// policy, whose log permissions cover every log group).
func newFunction(scope constructs.Construct, id string, p fnProps) (awslogs.LogGroup, awslambda.Function) {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	roleProps := &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("lambdawatch %s function", strings.ToLower(id))),
	}
	if p.roleName != "" {
		roleProps.RoleName = jsii.String(p.roleName)
	}
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), roleProps)
	// The log group's ARN ends in ":*", which covers its log streams.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))

	env := map[string]*string{}
	for k, v := range p.env {
		env[k] = jsii.String(v)
	}
	arch := awslambda.Architecture_ARM_64()
	if p.cfg.Architecture == ArchX8664 {
		arch = awslambda.Architecture_X86_64()
	}
	props := &awslambda.FunctionProps{
		FunctionName:          jsii.String(p.name),
		Description:           jsii.String(p.description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          arch,
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(p.asset), nil),
		Role:                  role,
		MemorySize:            jsii.Number(max(p.memory, 128)),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(p.timeout)),
		Environment:           &env,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
	}
	if p.cfg.ReserveConcurrency {
		props.ReservedConcurrentExecutions = jsii.Number(p.reserved)
	}
	if p.async != nil {
		props.OnFailure = awslambdadestinations.NewSqsDestination(p.async.onFailure)
		props.RetryAttempts = jsii.Number(asyncRetries)
		props.MaxEventAge = awscdk.Duration_Hours(jsii.Number(maxEventAgeHours))
	}
	fn := awslambda.NewFunction(scope, jsii.String(id+"Function"), props)
	return logs, fn
}
