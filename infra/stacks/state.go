package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// stateMetric is the metric of the lines saying the state table could not
// say or record what was delivered.
const stateMetric = "StateUnavailable"

// addState creates the table that remembers what was delivered, gives the
// functions that deliver it, and alarms when they cannot reach it (they
// deliver anyway: a duplicate, not a loss).
func (s *MonitorStack) addState() {
	s.StateTable = awsdynamodb.NewTable(s.Stack, jsii.String("StateTable"), &awsdynamodb.TableProps{
		TableName:           jsii.String(s.Names.StateTable),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(state.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(state.TTLAttribute),
		Encryption:          awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:       s.Key,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// What was delivered, and what the audit saw, is worth nothing once
		// the stack is gone.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	for _, d := range []struct {
		fn   awslambda.Function
		logs awslogs.LogGroup
		name string
	}{{s.Monitor, s.MonitorLogGroup, "Monitor"}, {s.Slack, s.SlackLogGroup, "Slack"}} {
		d.fn.AddEnvironment(jsii.String(envvar.StateTable), s.StateTable.TableName(), nil)
		grantState(d.fn, s)
		s.stateFilter(d.name, d.logs)
	}
	s.alarm("StateUnavailableAlarm", "lambdawatch could not reach its state table: alerts were delivered anyway and may come twice",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("lambdawatch"), MetricName: jsii.String(stateMetric),
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}))
}

// stateFilter counts the lines in which a function says the table failed
// it, for the alarm.
func (s *MonitorStack) stateFilter(name string, logs awslogs.LogGroup) {
	awslogs.NewMetricFilter(s.Stack, jsii.String(name+"StateFilter"), &awslogs.MetricFilterProps{
		LogGroup:        logs,
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String(state.LogUnavailable)),
		MetricNamespace: jsii.String("lambdawatch"),
		MetricName:      jsii.String(stateMetric),
		MetricValue:     jsii.String("1"),
		DefaultValue:    jsii.Number(0),
	})
}

// grantLedger lets the audit function read and write what it remembers
// of its runs, the items under ledger.Prefix, and none of the delivery
// claims beside them.
func (s *MonitorStack) grantLedger(fn awslambda.Function) {
	fn.AddEnvironment(jsii.String(envvar.StateTable), s.StateTable.TableName(), nil)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RememberAuditRuns"),
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
		Resources: &[]*string{s.StateTable.TableArn()},
		Conditions: &map[string]any{
			"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{ledger.Prefix + "*"}},
		},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("UseStateKey"),
		Actions:   jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
		Resources: &[]*string{s.Key.KeyArn()},
	}))
}

// grantState lets fn claim, mark and release keys in the state table, and
// use the key that encrypts it: the calls pkg/state makes, no more.
func grantState(fn awslambda.Function, s *MonitorStack) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ClaimDeliveries"),
		Actions:   jsii.Strings("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
		Resources: &[]*string{s.StateTable.TableArn()},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("UseStateKey"),
		Actions:   jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
		Resources: &[]*string{s.Key.KeyArn()},
	}))
}
