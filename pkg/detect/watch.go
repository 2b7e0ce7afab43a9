package detect

// Service is one AWS service whose CloudTrail records the rules read.
type Service struct {
	// EventSource is CloudTrail's eventSource: lambda.amazonaws.com.
	EventSource string
	// Source is the source EventBridge gives its events: aws.lambda.
	Source string
	// Actions are the API calls the rules read, without the version
	// suffixes Lambda's event names carry (AddPermission20150331v2).
	Actions []string
}

// Watched lists every call any rule reads, by service. The EventBridge
// rules that feed the monitor, and the hunting prefilter that skips log
// files holding none of these calls, are both built from it: a rule that
// reads a call not listed here would never see it.
var Watched = []Service{
	{
		EventSource: "lambda.amazonaws.com", Source: "aws.lambda",
		Actions: append(append([]string(nil), Actions...),
			// Tampering with lambdawatch's own functions.
			"DeleteFunction",
			"PutFunctionConcurrency",
			"UpdateFunctionCode",
			"UpdateEventSourceMapping",
			"DeleteEventSourceMapping",
		),
	},
	{
		EventSource: "cloudtrail.amazonaws.com", Source: "aws.cloudtrail",
		// PutInsightSelectors is left out: Insights analyse the events
		// still recorded, and no change to them drops any.
		Actions: []string{"StopLogging", "DeleteTrail", "PutEventSelectors", "UpdateTrail"},
	},
	{
		EventSource: "events.amazonaws.com", Source: "aws.events",
		// PutTargets can replace a target in place (same id, new ARN).
		Actions: []string{"DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets",
			// The organization layout's central bus and its policy.
			"DeleteEventBus", "PutPermission", "RemovePermission"},
	},
	{
		EventSource: "sns.amazonaws.com", Source: "aws.sns",
		// A filter policy set on the Slack queue's subscription drops alerts.
		Actions: []string{"DeleteTopic", "SetTopicAttributes", "Unsubscribe", "SetSubscriptionAttributes"},
	},
	{
		EventSource: "sqs.amazonaws.com", Source: "aws.sqs",
		Actions: []string{"DeleteQueue", "SetQueueAttributes", "PurgeQueue"},
	},
}
