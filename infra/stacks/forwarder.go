package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ForwarderStackProps configure a forwarder stack.
type ForwarderStackProps struct {
	awscdk.StackProps
	CentralAccountID string
	CentralRegion    string
	Names            Names
	// Audit adds the role the central audit function assumes here.
	Audit bool
}

// ForwarderStack forwards one account's and region's Lambda calls, and the
// calls that could blind lambdawatch, to the central event bus, with two
// rules split like the monitor's (pattern.go): the Lambda rule also
// forwards the EventBridge calls naming the forwarder's tamper rule, the
// tamper rule every other EventBridge call, so that each call is forwarded
// once and a forwarding rule disabled has its disabling forwarded by the
// other. On the central bus, every forwarded call meets exactly one of the
// monitor's rules. Its template is deployable as is by CloudFormation
// StackSets to every account and region: no assets, no bootstrap version
// check, no account or region of its own in it (only the central bus's), and
// in the central account's central region, where the monitor already reads
// the default bus, its rule is disabled so that no event is judged twice.
type ForwarderStack struct {
	awscdk.Stack

	Rule        awsevents.Rule // the Lambda calls
	TamperRule  awsevents.Rule // the calls that could blind lambdawatch
	Role        awsiam.Role
	DLQ         awssqs.Queue
	DLQAlarm    awscloudwatch.Alarm
	CentralBus  awsevents.IEventBus
	ForwardHere awscdk.CfnCondition
	AuditRole   awsiam.Role // nil unless the audit is on; created in the central region only
}

// NewForwarderStack builds a forwarder stack.
func NewForwarderStack(scope constructs.Construct, id string, props *ForwarderStackProps) *ForwarderStack {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("lambdawatch forwarder: sends this account's and region's Lambda permission calls, and changes to trails, rules, topics and queues, to the central lambdawatch event bus")
	}
	// No bootstrap resources: member accounts are not CDK-bootstrapped,
	// and StackSets cannot satisfy the BootstrapVersion parameter.
	sp.Synthesizer = awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{})
	// No AWS::CDK::Metadata resource either: StackSets deploy this template
	// to regions the CDK did not synthesize it for, some without that type.
	sp.AnalyticsReporting = jsii.Bool(false)
	s := &ForwarderStack{Stack: awscdk.NewStack(scope, &id, &sp)}
	stack := s.Stack

	busArn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("events"),
		Account:      jsii.String(props.CentralAccountID),
		Region:       jsii.String(props.CentralRegion),
		Resource:     jsii.String("event-bus"),
		ResourceName: jsii.String(props.Names.CentralBus),
	})
	s.CentralBus = awsevents.EventBus_FromEventBusArn(stack, jsii.String("CentralBus"), busArn)

	s.ForwardHere = awscdk.NewCfnCondition(stack, jsii.String("ForwardHere"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionAnd(
			awscdk.Fn_ConditionEquals(awscdk.Aws_ACCOUNT_ID(), jsii.String(props.CentralAccountID)),
			awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(props.CentralRegion)),
		)),
	})

	// EventBridge needs a role to put events on another account's or
	// region's bus. The target below grants it events:PutEvents on the
	// central bus, and nothing else.
	s.Role = awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("lambdawatch forwarder: put the watched calls on the central event bus"),
	})

	s.DLQ = newQueue(stack, "ForwardDeadLetterQueue", props.Names.ForwardDLQ, nil)
	// The alarm has no action: this stack has no topic, and the monitor's
	// alarm topic is in another account. It shows in CloudWatch in this
	// account and region, and its state changes are EventBridge events
	// there, for whoever watches the member accounts.
	s.DLQAlarm = awscloudwatch.NewAlarm(stack, jsii.String("ForwardDeadLetterAlarm"), &awscloudwatch.AlarmProps{
		Metric: s.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}),
		AlarmDescription:   jsii.String("lambdawatch forwarder: watched calls did not reach the central event bus; see the forwarder's dead-letter queue"),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	s.Rule = s.forwardRule("ForwardLambdaCallsRule", props.Names.ForwardLambdaRule, lambdaCallPattern(props.Names.ForwardTamperRule),
		"lambdawatch: forward Lambda permission calls, and EventBridge calls on the forward-tamper rule, to the central event bus")
	s.TamperRule = s.forwardRule("ForwardTamperRule", props.Names.ForwardTamperRule, tamperPattern(props.Names.ForwardTamperRule),
		"lambdawatch: forward CloudTrail, EventBridge, SNS and SQS calls that could blind lambdawatch to the central event bus")

	if props.Audit {
		s.addMemberAuditRole(props)
	}

	awscdk.NewCfnOutput(stack, jsii.String("CentralEventBusArn"), &awscdk.CfnOutputProps{
		Value:       busArn,
		Description: jsii.String("Where this forwarder sends the watched calls"),
	})
	return s
}

// forwardRule sends the events of pattern to the central bus, enabled
// everywhere but in the central account's central region.
func (s *ForwarderStack) forwardRule(id, name string, pattern *awsevents.EventPattern, description string) awsevents.Rule {
	rule := awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String(description),
		EventPattern: pattern,
	})
	// The CDK's event bus target sets no retry policy, so EventBridge's
	// default applies (24 hours, 185 attempts); what still fails lands in
	// the dead-letter queue.
	rule.AddTarget(awseventstargets.NewEventBus(s.CentralBus, &awseventstargets.EventBusProps{
		DeadLetterQueue: s.DLQ,
		Role:            s.Role,
	}))
	cfnRule := rule.Node().DefaultChild().(awsevents.CfnRule)
	cfnRule.SetState(awscdk.Token_AsString(
		awscdk.Fn_ConditionIf(s.ForwardHere.LogicalId(), jsii.String("ENABLED"), jsii.String("DISABLED")), nil))
	return rule
}
