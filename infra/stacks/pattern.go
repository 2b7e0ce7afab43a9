package stacks

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// cloudTrailDetailType is the detail-type EventBridge gives CloudTrail records.
const cloudTrailDetailType = "AWS API Call via CloudTrail"

// Event sources of detect.Watched that the rules split on.
const (
	lambdaEventSource = "lambda.amazonaws.com"
	eventsEventSource = "events.amazonaws.com"
)

// Every rule also matches the EventBridge calls. A rule that is disabled,
// deleted or stripped of its target does not deliver the event that did it,
// so each rule watches the other's: disabling one is seen through the
// other. Both then deliver the other EventBridge calls; the monitor
// remembers the CloudTrail event IDs of findings it published and drops a
// redelivered one, and the Slack function posts identical findings of a
// batch once.

// lambdaCallPattern matches the Lambda calls of detect.Watched and the
// EventBridge calls.
func lambdaCallPattern() *awsevents.EventPattern {
	return callPattern(watched(func(s detect.Service) bool {
		return s.EventSource == lambdaEventSource || s.EventSource == eventsEventSource
	}))
}

// tamperPattern matches the calls of every other service of detect.Watched
// (CloudTrail, EventBridge, SNS, SQS): those that could blind lambdawatch.
func tamperPattern() *awsevents.EventPattern {
	return callPattern(watched(func(s detect.Service) bool { return s.EventSource != lambdaEventSource }))
}

func watched(keep func(detect.Service) bool) []detect.Service {
	var out []detect.Service
	for _, s := range detect.Watched {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// callPattern matches CloudTrail records, as EventBridge delivers them, of
// the services' calls. CloudTrail's names carry API versions
// (AddPermission20150331v2), so names match as prefixes; "$or" pairs each
// event source with its own names, so that no service's name is matched in
// another's records. The monitor's rules and the forwarders' rules use the
// same patterns, so a forwarded event always has a rule to meet.
func callPattern(services []detect.Service) *awsevents.EventPattern {
	var sources []string
	var branches []any
	for _, s := range services {
		if !slices.Contains(sources, s.Source) {
			sources = append(sources, s.Source)
		}
		names := make([]any, len(s.Actions))
		for i, a := range s.Actions {
			names[i] = awsevents.Match_Prefix(jsii.String(a))
		}
		branches = append(branches, map[string]any{
			"eventSource": jsii.Strings(s.EventSource),
			"eventName":   awsevents.Match_AnyOf(names...),
		})
	}
	detail := map[string]any{"$or": branches}
	if len(branches) == 1 {
		detail = branches[0].(map[string]any)
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings(sources...),
		DetailType: jsii.Strings(cloudTrailDetailType),
		Detail:     &detail,
	}
}
