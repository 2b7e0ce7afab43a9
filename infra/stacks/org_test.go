package stacks_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

// The organization layout's bus is named after its prefix.
const centralBusArn = "arn:aws:events:" + testRegion + ":" + testAccount + ":event-bus/" + testPrefix

func TestOrganizationStacks(t *testing.T) {
	want := []string{stacks.MonitorStackName, "LambdaWatchForwarder-eu-west-1", "LambdaWatchForwarder-us-east-1"}
	if !slices.Equal(org.order, want) {
		t.Fatalf("stacks %v, want %v (the central region first, added to regions=us-east-1)", org.order, want)
	}
	for i, f := range org.stacks.Forwarders {
		region := org.cfg.Regions[i]
		if *f.Region() != region || !*awscdk.Token_IsUnresolved(f.Account()) {
			t.Errorf("%s: environment %s/%s, want any account in %s", *f.StackName(), *f.Account(), *f.Region(), region)
		}
	}
}

func TestCentralBus(t *testing.T) {
	tpl := org.monitorJSON()
	bus := only(t, tpl, "AWS::Events::EventBus", nil)
	monitor := fnID(t, org, "lambdawatch monitor")
	dlq := byPath(t, tpl, "LambdaWatch/MonitorDeadLetterQueue/Resource")
	check(t, "bus", func() {
		org.monitor().HasResourceProperties(jsii.String("AWS::Events::EventBus"), obj{"Name": testPrefix})
	})
	check(t, "bus policy", func() {
		org.monitor().ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(1))
		org.monitor().HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), obj{
			"EventBusName": ref(bus),
			"Statement": assertions.Match_ObjectEquals(&obj{
				"Sid":       assertions.Match_AnyValue(),
				"Effect":    "Allow",
				"Principal": obj{"AWS": "*"},
				"Action":    "events:PutEvents",
				"Resource":  arn(bus),
				"Condition": obj{"StringEquals": obj{"aws:PrincipalOrgID": testOrg}},
			}),
		})
	})
	check(t, "rules", func() {
		org.monitor().ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(4))
	})
	// Each bus has both rules, with the same patterns and targets.
	for _, name := range []string{testPrefix + "-lambda-calls", testPrefix + "-tamper"} {
		defaultRule := only(t, tpl, "AWS::Events::Rule", func(p map[string]any) bool { return p["Name"] == name && p["EventBusName"] == nil })
		pattern := props(tpl, defaultRule)["EventPattern"]
		for _, busName := range []any{assertions.Match_Absent(), ref(bus)} {
			check(t, name+" on "+jsonString(busName), func() {
				org.monitor().HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
					"Name":         name,
					"EventBusName": busName,
					"EventPattern": assertions.Match_ObjectEquals(&obj{"source": pattern.(map[string]any)["source"],
						"detail-type": pattern.(map[string]any)["detail-type"], "detail": pattern.(map[string]any)["detail"]}),
					"Targets": arrayEq(obj{
						"Arn":              arn(monitor),
						"Id":               assertions.Match_AnyValue(),
						"DeadLetterConfig": obj{"Arn": arn(dlq)},
						"RetryPolicy":      obj{"MaximumRetryAttempts": float64(20), "MaximumEventAgeInSeconds": float64(6 * 3600)},
					}),
				})
			})
		}
	}
	check(t, "single account has no bus", func() {
		single.monitor().ResourceCountIs(jsii.String("AWS::Events::EventBus"), jsii.Number(0))
		single.monitor().ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(0))
	})
}

func TestForwarders(t *testing.T) {
	// Each forwarding rule carries the pattern of one of the monitor's
	// rules, split on the forwarder's tamper rule instead of the monitor's.
	monitorPattern := func(name string) any {
		r := only(t, org.monitorJSON(), "AWS::Events::Rule", func(p map[string]any) bool { return p["EventBusName"] == nil && p["Name"] == name })
		s := strings.ReplaceAll(jsonString(props(org.monitorJSON(), r)["EventPattern"]), `"`+testPrefix+`-tamper"`, `"`+testPrefix+`-forward-tamper"`)
		var p any
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatalf("pattern of %s: %v", name, err)
		}
		return p
	}
	forwards := map[string]any{
		testPrefix + "-forward-lambda-calls": monitorPattern(testPrefix + "-lambda-calls"),
		testPrefix + "-forward-tamper":       monitorPattern(testPrefix + "-tamper"),
	}
	for _, name := range org.order[1:] {
		t.Run(name, func(t *testing.T) {
			tpl, tt := org.json[name], org.templates[name]
			// StackSets and unbootstrapped member accounts: nothing to
			// upload, no bootstrap version to check.
			if tpl["Parameters"] != nil || tpl["Rules"] != nil {
				t.Errorf("template has parameters %v or rules %v", tpl["Parameters"], tpl["Rules"])
			}
			if strings.Contains(jsonString(tpl), "aws:asset:") || strings.Contains(jsonString(tpl), "cdk-hnb659fds") {
				t.Errorf("template refers to assets or the CDK bootstrap")
			}
			check(t, "no CDK metadata resource", func() { tt.ResourceCountIs(jsii.String("AWS::CDK::Metadata"), jsii.Number(0)) })
			// The forwarding role; the member audit role is TestMemberAuditRole's.
			role := only(t, tpl, "AWS::IAM::Role", func(p map[string]any) bool { return p["RoleName"] != testPrefix+"-audit" })
			dlq := only(t, tpl, "AWS::SQS::Queue", func(p map[string]any) bool { return p["QueueName"] == testPrefix+"-forward-dlq" })
			rules := resources(tpl, "AWS::Events::Rule")
			if len(rules) != len(forwards) {
				t.Errorf("%d rules, want %d", len(rules), len(forwards))
			}
			for rule, r := range rules {
				p := r["Properties"].(map[string]any)
				pattern, ok := forwards[p["Name"].(string)]
				if !ok || !reflect.DeepEqual(p["EventPattern"], pattern) {
					t.Errorf("forwarding rule %v pattern %s differs from the monitor's %s", p["Name"], jsonString(p["EventPattern"]), jsonString(pattern))
				}
				check(t, "dead-letter queue of "+rule, func() {
					tt.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{
						"Queues": arrayEq(ref(dlq)),
						"PolicyDocument": obj{"Statement": arrayWith(like(obj{
							"Effect": "Allow", "Action": "sqs:SendMessage",
							"Principal": obj{"Service": "events.amazonaws.com"},
							"Condition": obj{"ArnEquals": obj{"aws:SourceArn": arn(rule)}},
						}))},
					})
				})
			}
			// The partition is the central region's: a bus cannot be
			// reached across partitions anyway.
			busArn := centralBusArn
			check(t, "condition", func() {
				tt.HasCondition(jsii.String("ForwardHere"), obj{"Fn::Not": []any{obj{"Fn::And": []any{
					obj{"Fn::Equals": []any{ref("AWS::AccountId"), testAccount}},
					obj{"Fn::Equals": []any{ref("AWS::Region"), testRegion}},
				}}}})
			})
			check(t, "rules", func() {
				tt.ResourcePropertiesCountIs(jsii.String("AWS::Events::Rule"), obj{
					"EventBusName": assertions.Match_Absent(),
					"State":        obj{"Fn::If": []any{"ForwardHere", "ENABLED", "DISABLED"}},
					"Targets": arrayEq(obj{
						"Arn":              busArn,
						"Id":               assertions.Match_AnyValue(),
						"RoleArn":          arn(role),
						"DeadLetterConfig": obj{"Arn": arn(dlq)},
					}),
				}, jsii.Number(2))
			})
			check(t, "role", func() {
				tt.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj{
					"AssumeRolePolicyDocument": obj{"Statement": arrayEq(like(obj{
						"Action": "sts:AssumeRole", "Principal": obj{"Service": "events.amazonaws.com"},
					}))},
				})
				tt.ResourceCountIs(jsii.String("AWS::IAM::Policy"), jsii.Number(1))
				tt.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{
					"Roles": arrayEq(ref(role)),
					"PolicyDocument": obj{"Statement": arrayEq(obj{
						"Effect": "Allow", "Action": "events:PutEvents", "Resource": busArn,
					})},
				})
			})
			// SECURITY.md: the forwarder's dead-letter queue raises an alarm
			// in its own account and region, with no action.
			check(t, "dead-letter alarm", func() {
				tt.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(1))
				tt.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
					"Namespace":          "AWS/SQS",
					"MetricName":         "ApproximateNumberOfMessagesVisible",
					"Dimensions":         arrayEq(obj{"Name": "QueueName", "Value": obj{"Fn::GetAtt": []any{dlq, "QueueName"}}}),
					"Statistic":          "Maximum",
					"Threshold":          float64(1),
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"TreatMissingData":   "notBreaching",
					"AlarmActions":       assertions.Match_Absent(),
				})
			})
			check(t, "nothing else", func() {
				tt.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(0))
				tt.HasOutput(jsii.String("CentralEventBusArn"), obj{"Value": busArn})
			})
		})
	}
}

// TestForwarderTemplatesInterchangeable: StackSets deploy one template to
// every region, so the per-region stacks must not differ but for names.
func TestForwarderTemplatesInterchangeable(t *testing.T) {
	norm := func(name string) string {
		var strip func(v any) any
		strip = func(v any) any {
			switch v := v.(type) {
			case map[string]any:
				out := map[string]any{}
				for k, e := range v {
					if k == "Metadata" || k == "Sid" {
						continue // construct paths and statement IDs name the stack
					}
					out[k] = strip(e)
				}
				return out
			case []any:
				out := make([]any, len(v))
				for i, e := range v {
					out[i] = strip(e)
				}
				return out
			}
			return v
		}
		return jsonString(strip(org.json[name]))
	}
	first := norm(org.order[1])
	for _, name := range org.order[2:] {
		if got := norm(name); got != first {
			t.Errorf("%s differs from %s:\n%s\n%s", name, org.order[1], got, first)
		}
	}
}
