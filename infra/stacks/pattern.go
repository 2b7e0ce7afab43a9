package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// lambdaCallPattern matches CloudTrail records of the Lambda calls the
// detection rules read (detect.Actions), as EventBridge delivers them.
// CloudTrail's names carry API versions (AddPermission20150331v2), so the
// pattern matches prefixes. The monitor's rules and the forwarders' rule use
// the same pattern, so a forwarded event always has a rule to meet.
func lambdaCallPattern() *awsevents.EventPattern {
	names := make([]any, len(detect.Actions))
	for i, a := range detect.Actions {
		names[i] = awsevents.Match_Prefix(jsii.String(a))
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.lambda"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail: &map[string]any{
			"eventSource": jsii.Strings("lambda.amazonaws.com"),
			"eventName":   awsevents.Match_AnyOf(names...),
		},
	}
}
