package detect

import (
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// call builds a record of another service's call.
func call(source, name, params, response string) cloudtrail.Record {
	r := record(name, params, response)
	r.EventSource = source
	return r
}

// byCFN makes r a call CloudFormation made on a stack's behalf.
func byCFN(r cloudtrail.Record) cloudtrail.Record {
	r.UserIdentity.InvokedBy = cloudFormation
	r.SourceIPAddress, r.UserAgent = cloudFormation, cloudFormation
	r.UserIdentity.ARN = "arn:aws:sts::" + owner + ":assumed-role/cdk-hnb659fds-cfn-exec-role-" + owner + "-eu-west-1/AWSCloudFormation"
	return r
}

func TestJudgeTamper(t *testing.T) {
	const (
		ct   = "cloudtrail.amazonaws.com"
		ev   = "events.amazonaws.com"
		sns  = "sns.amazonaws.com"
		sqs  = "sqs.amazonaws.com"
		mgmt = `{"field":"eventCategory","equals":["Management"]}`
	)
	trailHigh := []want{{RuleTrailDisabled, High, ""}}
	trailLow := []want{{RuleTrailDisabled, Low, ""}}
	tamperHigh := []want{{RuleMonitorTampering, High, ""}}
	tamperLow := []want{{RuleMonitorTampering, Low, ""}}
	// spoofedUA: a caller can write any user agent; it is not CloudFormation.
	spoofedUA := record("DeleteFunction20150331", `{"functionName":"lambdawatch-monitor"}`, "")
	spoofedUA.UserAgent = cloudFormation
	// upper: event sources are matched without regard to case.
	upper := call("CloudTrail.AmazonAWS.com", "StopLogging", `{"name":"org-trail"}`, "")
	upperEvents := call("EVENTS.amazonaws.com", "DisableRule", `{"name":"lambdawatch-monitor"}`, "")

	// otherStack: CloudFormation deploying someone's stack with a role
	// that is not the deployment's; noRole: with the caller's own user.
	otherStack := byCFN(call(sqs, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack","attributes":{"Policy":"{}"}}`, ""))
	otherStack.UserIdentity.ARN = "arn:aws:sts::" + owner + ":assumed-role/attacker-stack-role/AWSCloudFormation"
	noRole := byCFN(record("DeleteFunction20150331", `{"functionName":"lambdawatch-monitor"}`, ""))
	noRole.UserIdentity.ARN = "arn:aws:iam::" + owner + ":user/mallory"

	tests := []struct {
		name    string
		rec     cloudtrail.Record
		want    []want
		wantErr string
	}{
		// The deployment is CloudFormation with a deployment role; another
		// stack's CloudFormation is not.
		{"CloudFormation with another role", otherStack, tamperHigh, ""},
		{"CloudFormation without a role", noRole, tamperHigh, ""},
		// Names are the prefix, or the prefix and a hyphen.
		{"look-alike: a longer prefix", call(ev, "DisableRule", `{"name":"lambdawatcher-rule"}`, ""), nil, ""},
		{"the bus is named the prefix", call(ev, "DeleteEventBus", `{"name":"lambdawatch"}`, ""), tamperHigh, ""},
		{"bus policy changed", call(ev, "PutPermission", `{"eventBusName":"lambdawatch","action":"events:PutEvents","principal":"*","statementId":"all"}`, ""), tamperHigh, ""},
		{"bus statement removed", call(ev, "RemovePermission", `{"eventBusName":"arn:aws:events:eu-west-1:111122223333:event-bus/lambdawatch","statementId":"org"}`, ""), tamperHigh, ""},
		{"bus statement removal failed", failed(call(ev, "RemovePermission", `{"eventBusName":"lambdawatch","statementId":"org"}`, "")), tamperLow, ""},
		{"look-alike: the default bus's policy", call(ev, "PutPermission", `{"action":"events:PutEvents","principal":"210987654321","statementId":"x"}`, ""), nil, ""},
		{"subscription filter set", call(sns, "SetSubscriptionAttributes", `{"subscriptionArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts:5e1f","attributeName":"FilterPolicy","attributeValue":"{\"severity\":[\"none\"]}"}`, ""), tamperHigh, ""},
		{"look-alike: another topic's subscription", call(sns, "SetSubscriptionAttributes", `{"subscriptionArn":"arn:aws:sns:eu-west-1:111122223333:billing:5e1f","attributeName":"FilterPolicy"}`, ""), nil, ""},
		// trail-disabled
		{"stop logging", call(ct, "StopLogging", `{"name":"org-trail"}`, ""), trailHigh, ""},
		{"stop logging by ARN", call(ct, "StopLogging", `{"name":"arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"}`, ""), trailHigh, ""},
		{"stop logging failed", failed(call(ct, "StopLogging", `{"name":"org-trail"}`, "")), trailLow, ""},
		{"stop logging by CloudFormation still counts", byCFN(call(ct, "StopLogging", `{"name":"org-trail"}`, "")), trailHigh, ""},
		{"delete trail", call(ct, "DeleteTrail", `{"name":"org-trail"}`, ""), trailHigh, ""},
		{"delete trail failed", failed(call(ct, "DeleteTrail", `{"name":"org-trail"}`, "")), trailLow, ""},
		{"event source in any case", upper, trailHigh, ""},
		{"selectors drop management events", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"All","includeManagementEvents":false,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3"]}]}]}`, ""), trailHigh, ""},
		{"selectors read-only", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true}]}`, ""), trailHigh, ""},
		{"selectors exclude lambda", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"excludeManagementEventSources":["lambda.amazonaws.com"]}]}`, ""), trailHigh, ""},
		{"selectors as strings", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"All","includeManagementEvents":"false"}]}`, ""), trailHigh, ""},
		{"no selectors at all", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[]}`, ""), trailHigh, ""},
		{"selectors drop failed", failed(call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"includeManagementEvents":false}]}`, "")), trailLow, ""},
		{"look-alike: selectors keep management events", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3:::bucket/"]}]}]}`, ""), nil, ""},
		{"look-alike: write-only keeps what is read", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"WriteOnly"}]}`, ""), nil, ""},
		{"look-alike: one selector of two keeps them", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"includeManagementEvents":false},{"readWriteType":"All","includeManagementEvents":true}]}`, ""), nil, ""},
		{"look-alike: kms excluded", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"includeManagementEvents":true,"excludeManagementEventSources":["kms.amazonaws.com","rdsdata.amazonaws.com"]}]}`, ""), nil, ""},
		{"advanced selectors exclude lambda", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[`+mgmt+`,{"field":"eventSource","notEquals":["lambda.amazonaws.com"]}]}]}`, ""), trailHigh, ""},
		{"advanced selectors read-only", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[`+mgmt+`,{"field":"readOnly","equals":["true"]}]}]}`, ""), trailHigh, ""},
		{"advanced selectors data only", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"s3","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`, ""), trailHigh, ""},
		{"look-alike: advanced selectors keep management events", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[`+mgmt+`]},{"name":"s3","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`, ""), nil, ""},
		{"look-alike: advanced selectors exclude kms only", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[`+mgmt+`,{"field":"eventSource","notEquals":["kms.amazonaws.com"]},{"field":"readOnly","equals":["false"]}]}]}`, ""), nil, ""},
		{"update trail to one region", call(ct, "UpdateTrail", `{"name":"org-trail","isMultiRegionTrail":false}`, ""), trailHigh, ""},
		{"update trail out of the organization", call(ct, "UpdateTrail", `{"name":"org-trail","isOrganizationTrail":"false"}`, ""), trailHigh, ""},
		{"update trail failed", failed(call(ct, "UpdateTrail", `{"name":"org-trail","isMultiRegionTrail":false}`, "")), trailLow, ""},
		{"look-alike: update trail bucket", call(ct, "UpdateTrail", `{"name":"org-trail","s3BucketName":"new-bucket","isMultiRegionTrail":true}`, ""), nil, ""},
		{"look-alike: update trail without global services", call(ct, "UpdateTrail", `{"name":"org-trail","includeGlobalServiceEvents":false}`, ""), nil, ""},
		{"look-alike: insight selectors", call(ct, "PutInsightSelectors", `{"trailName":"org-trail","insightSelectors":[]}`, ""), nil, ""},
		{"look-alike: start logging", call(ct, "StartLogging", `{"name":"org-trail"}`, ""), nil, ""},

		// monitor-tampering: EventBridge
		{"disable own rule", call(ev, "DisableRule", `{"name":"lambdawatch-lambda-calls"}`, ""), tamperHigh, ""},
		{"disable own rule failed", failed(call(ev, "DisableRule", `{"name":"lambdawatch-lambda-calls"}`, "")), tamperLow, ""},
		{"events source in any case", upperEvents, tamperHigh, ""},
		{"delete own rule", call(ev, "DeleteRule", `{"name":"lambdawatch-tamper","eventBusName":"default"}`, ""), tamperHigh, ""},
		{"remove targets", call(ev, "RemoveTargets", `{"rule":"lambdawatch-monitor","ids":["Target0"]}`, ""), tamperHigh, ""},
		{"replace targets", call(ev, "PutTargets", `{"rule":"lambdawatch-monitor","targets":[{"id":"Target0","arn":"arn:aws:lambda:eu-west-1:111122223333:function:noop"}]}`, ""), tamperHigh, ""},
		{"put rule disabled", call(ev, "PutRule", `{"name":"lambdawatch-lambda-calls","state":"DISABLED","eventPattern":"{}"}`, ""), tamperHigh, ""},
		{"put rule new pattern", call(ev, "PutRule", `{"name":"lambdawatch-lambda-calls","eventPattern":"{\"source\":[\"aws.none\"]}"}`, ""), tamperHigh, ""},
		{"rule by ARN", call(ev, "DeleteRule", `{"name":"arn:aws:events:eu-west-1:111122223333:rule/lambdawatch-slack"}`, ""), tamperHigh, ""},
		{"rule name in another case", call(ev, "DisableRule", `{"name":"LambdaWatch-monitor"}`, ""), tamperHigh, ""},
		{"look-alike: another team's rule", call(ev, "DisableRule", `{"name":"payments-nightly"}`, ""), nil, ""},
		{"look-alike: prefix inside the name", call(ev, "DisableRule", `{"name":"old-lambdawatch-monitor"}`, ""), nil, ""},
		{"look-alike: rule deployed by CloudFormation", byCFN(call(ev, "PutRule", `{"name":"lambdawatch-lambda-calls","state":"ENABLED"}`, "")), nil, ""},
		{"look-alike: enable rule", call(ev, "EnableRule", `{"name":"lambdawatch-monitor"}`, ""), nil, ""},

		// monitor-tampering: Lambda
		{"delete monitor function", record("DeleteFunction20150331", `{"functionName":"lambdawatch-monitor"}`, ""), tamperHigh, ""},
		{"delete monitor function by ARN", record("DeleteFunction20150331", `{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:lambdawatch-monitor"}`, ""), tamperHigh, ""},
		{"delete monitor function failed", failed(record("DeleteFunction20150331", `{"functionName":"lambdawatch-monitor"}`, "")), tamperLow, ""},
		{"spoofed CloudFormation user agent", spoofedUA, tamperHigh, ""},
		{"throttle slack to zero", record("PutFunctionConcurrency20171031", `{"functionName":"lambdawatch-slack","reservedConcurrentExecutions":0}`, `{"reservedConcurrentExecutions":0}`), tamperHigh, ""},
		{"throttle to zero, from the response", record("PutFunctionConcurrency20171031", `{"functionName":"lambdawatch-slack"}`, `{"reservedConcurrentExecutions":0}`), tamperHigh, ""},
		{"look-alike: concurrency above zero", record("PutFunctionConcurrency20171031", `{"functionName":"lambdawatch-slack","reservedConcurrentExecutions":5}`, ""), nil, ""},
		{"look-alike: other function throttled", record("PutFunctionConcurrency20171031", `{"functionName":"payments","reservedConcurrentExecutions":0}`, ""), nil, ""},
		{"code replaced", record("UpdateFunctionCode20150331v2", `{"functionName":"lambdawatch-monitor","zipFile":"HIDDEN"}`, ""), tamperHigh, ""},
		{"look-alike: code deployed by CloudFormation", byCFN(record("UpdateFunctionCode20150331v2", `{"functionName":"lambdawatch-monitor"}`, "")), nil, ""},
		{"configuration replaced", record("UpdateFunctionConfiguration20150331v2", `{"functionName":"lambdawatch-monitor","environment":{}}`, ""), tamperHigh, ""},
		{"configuration with a foreign layer: both rules", record("UpdateFunctionConfiguration20150331v2", `{"functionName":"lambdawatch-monitor","layers":["arn:aws:lambda:eu-west-1:999988887777:layer:x:2"]}`, ""), []want{{RuleMonitorTampering, High, ""}, {RuleForeignLayer, Medium, foreign}}, ""},
		{"permission removed from monitor", record("RemovePermission20150331v2", `{"functionName":"lambdawatch-monitor","statementId":"AllowEventRule"}`, ""), []want{{RuleMonitorTampering, High, ""}, {RulePermissionRemoved, Info, ""}}, ""},
		{"mapping disabled", record("UpdateEventSourceMapping20150331", `{"uUID":"a1b2c3d4-5678-90ab-cdef-11111EXAMPLE","enabled":false}`, `{"functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:lambdawatch-slack","eventSourceArn":"arn:aws:sqs:eu-west-1:111122223333:lambdawatch-slack"}`), tamperHigh, ""},
		{"mapping deleted, queue only", record("DeleteEventSourceMapping20150331", `{"uUID":"a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"}`, `{"eventSourceArn":"arn:aws:sqs:eu-west-1:111122223333:lambdawatch-slack"}`), tamperHigh, ""},
		{"look-alike: other mapping", record("DeleteEventSourceMapping20150331", `{"uUID":"a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"}`, `{"functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:orders","eventSourceArn":"arn:aws:sqs:eu-west-1:111122223333:orders"}`), nil, ""},
		{"look-alike: other function deleted", record("DeleteFunction20150331", `{"functionName":"payments"}`, ""), nil, ""},

		// monitor-tampering: SNS and SQS
		{"delete alert topic", call(sns, "DeleteTopic", `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"}`, ""), tamperHigh, ""},
		{"topic policy changed", call(sns, "SetTopicAttributes", `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts","attributeName":"Policy","attributeValue":"{}"}`, ""), tamperHigh, ""},
		{"unsubscribed", call(sns, "Unsubscribe", `{"subscriptionArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}`, ""), tamperHigh, ""},
		{"delete topic failed", failed(call(sns, "DeleteTopic", `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"}`, "")), tamperLow, ""},
		{"look-alike: other topic", call(sns, "DeleteTopic", `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:billing-alerts"}`, ""), nil, ""},
		{"look-alike: publish", call(sns, "Publish", `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"}`, ""), nil, ""},
		{"queue attributes", call(sqs, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack","attributes":{"Policy":"{}"}}`, ""), tamperHigh, ""},
		{"dead-letter queue purged", call(sqs, "PurgeQueue", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-monitor-dlq"}`, ""), tamperHigh, ""},
		{"queue deleted", call(sqs, "DeleteQueue", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack"}`, ""), tamperHigh, ""},
		{"queue deleted failed", failed(call(sqs, "DeleteQueue", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack"}`, "")), tamperLow, ""},
		{"look-alike: other queue", call(sqs, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/orders","attributes":{"Policy":"{}"}}`, ""), nil, ""},
		{"look-alike: queue changed by CloudFormation", byCFN(call(sqs, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack","attributes":{"Policy":"{}"}}`, "")), nil, ""},

		// a bad field in one place hides nothing
		{"bad trail name, selectors judged", call(ct, "PutEventSelectors", `{"trailName":{"x":1},"eventSelectors":[{"includeManagementEvents":false}]}`, ""), trailHigh, "requestParameters.trailName: want string, got JSON object"},
		{"bad selector, the other judged", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":[{"readWriteType":"ReadOnly","excludeManagementEventSources":{"a":1}},{"includeManagementEvents":false}]}`, ""), trailHigh, "requestParameters.eventSelectors[0].excludeManagementEventSources"},
		{"unreadable selector counts as recording", call(ct, "PutEventSelectors", `{"trailName":"org-trail","eventSelectors":["x",{"includeManagementEvents":false}]}`, ""), nil, "requestParameters.eventSelectors[0]"},
		{"bad field selector counts as recording", call(ct, "PutEventSelectors", `{"trailName":"org-trail","advancedEventSelectors":[{"name":"m","fieldSelectors":[`+mgmt+`,{"field":"readOnly","equals":"true"}]}]}`, ""), nil, "requestParameters.advancedEventSelectors[0].fieldSelectors[1].equals"},
		{"bad ids, rule judged", call(ev, "RemoveTargets", `{"rule":"lambdawatch-monitor","ids":{"0":"Target0"}}`, ""), tamperHigh, "requestParameters.ids"},
		{"bad attributes, queue judged", call(sqs, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack","attributes":"Policy"}`, ""), tamperHigh, "requestParameters.attributes"},
		{"bad response, request judged", record("DeleteFunction20150331", `{"functionName":"lambdawatch-monitor"}`, `{"functionArn":["x"]}`), tamperHigh, "responseElements.functionArn"},
		{"request not an object", call(ev, "DisableRule", `"lambdawatch-monitor"`, ""), nil, "requestParameters: want an object"},
	}
	// Findings whose record names no resource.
	unnamed := map[string]bool{"bad trail name, selectors judged": true}
	e := New(testConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJudge(t, e, tt.rec, tt.want, tt.wantErr, unnamed[tt.name])
		})
	}
}

// TestTamperFields checks what tamper findings name, and that the prefix
// is configurable.
func TestTamperFields(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		rec    cloudtrail.Record
		tell   func(Finding) bool
		what   string
	}{
		{"trail named", "", call(sourceCloudTrail, "StopLogging", `{"name":"org-trail"}`, ""),
			func(f Finding) bool {
				k, r := f.ResourceKind()
				return f.Trail == "org-trail" && k == "Trail" && r == "org-trail" && strings.Contains(f.Summary, "stopped logging on trail org-trail")
			}, "trail org-trail"},
		{"lost sources listed", "", call(sourceCloudTrail, "PutEventSelectors", `{"trailName":"t","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"eventSource","notEquals":["lambda.amazonaws.com","sqs.amazonaws.com"]}]}]}`, ""),
			func(f Finding) bool {
				return strings.Contains(f.Summary, "lambda.amazonaws.com, sqs.amazonaws.com") && !strings.Contains(f.Summary, "sns")
			}, "the two sources lost"},
		{"rule on another bus", "", call(sourceEvents, "DisableRule", `{"name":"lambdawatch-monitor","eventBusName":"arn:aws:events:eu-west-1:111122223333:event-bus/audit"}`, ""),
			func(f Finding) bool { return f.EventRule == "audit/lambdawatch-monitor" }, "rule audit/lambdawatch-monitor"},
		{"topic from a subscription", "", call(sourceSNS, "Unsubscribe", `{"subscriptionArn":"arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts:0f1e"}`, ""),
			func(f Finding) bool {
				return f.Topic == "arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"
			}, "the topic's ARN"},
		{"queue URL and attributes", "", call(sourceSQS, "SetQueueAttributes", `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack","attributes":{"RedrivePolicy":"{}","Policy":"{}"}}`, ""),
			func(f Finding) bool {
				k, _ := f.ResourceKind()
				return f.Queue == "https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack" && k == "SQS queue" && strings.Contains(f.Summary, "Policy, RedrivePolicy")
			}, "the queue URL and both attributes"},
		{"mapping names the function", "", record("UpdateEventSourceMapping20150331", `{"uUID":"u-1","enabled":false}`, `{"functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:lambdawatch-slack"}`),
			func(f Finding) bool {
				return f.Function == "arn:aws:lambda:eu-west-1:111122223333:function:lambdawatch-slack" && strings.Contains(f.Summary, "u-1")
			}, "the function from the response"},
		{"bus named", "", call(sourceEvents, "PutPermission", `{"eventBusName":"lambdawatch","statementId":"s"}`, ""),
			func(f Finding) bool {
				k, r := f.ResourceKind()
				return f.EventBus == "lambdawatch" && k == "EventBridge event bus" && r == "lambdawatch"
			}, "the event bus"},
		{"own prefix", "secwatch", call(sourceEvents, "DisableRule", `{"name":"secwatch-lambda-calls"}`, ""),
			func(f Finding) bool { return f.Rule == RuleMonitorTampering && f.EventRule == "secwatch-lambda-calls" },
			"a finding for the configured prefix"},
	}
	for _, tt := range tests {
		got, err := New(Config{MonitorPrefix: tt.prefix}).Judge(tt.rec)
		if err != nil || len(got) != 1 || !tt.tell(got[0]) {
			t.Errorf("%s: got %v, %v; want %s", tt.name, got, err, tt.what)
		}
	}
	// With another prefix, the default names are someone else's.
	if got, err := New(Config{MonitorPrefix: "secwatch"}).Judge(call(sourceEvents, "DisableRule", `{"name":"lambdawatch-lambda-calls"}`, "")); err != nil || len(got) != 0 {
		t.Errorf("prefix secwatch judged lambdawatch-lambda-calls: %v, %v", got, err)
	}
}

// TestWatchedCoversRules: every call the rules read is in Watched, so the
// EventBridge rules and the hunting prefilter let it through.
func TestWatchedCoversRules(t *testing.T) {
	read := map[string][]string{
		cloudtrail.LambdaSource: {"DeleteFunction", "PutFunctionConcurrency", "UpdateFunctionCode", "UpdateFunctionConfiguration", "RemovePermission", "UpdateEventSourceMapping", "DeleteEventSourceMapping"},
		sourceCloudTrail:        {"StopLogging", "DeleteTrail", "PutEventSelectors", "UpdateTrail"},
		sourceEvents:            {"DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"},
		sourceSNS:               {"DeleteTopic", "SetTopicAttributes", "Unsubscribe"},
		sourceSQS:               {"DeleteQueue", "SetQueueAttributes", "PurgeQueue"},
	}
	for src, actions := range read {
		var svc *Service
		for i := range Watched {
			if Watched[i].EventSource == src {
				svc = &Watched[i]
			}
		}
		if svc == nil {
			t.Errorf("%s not in Watched", src)
			continue
		}
		for _, a := range actions {
			found := false
			for _, w := range svc.Actions {
				found = found || w == a
			}
			if !found {
				t.Errorf("%s %s read by a rule but not in Watched", src, a)
			}
		}
	}
}

// TestDeployRoles: CloudFormation calls by a configured deployment role are
// the deployment's; by the default role, when another is configured, not.
func TestDeployRoles(t *testing.T) {
	rec := byCFN(record("UpdateFunctionCode20150331v2", `{"functionName":"lambdawatch-monitor"}`, ""))
	rec.UserIdentity.ARN = "arn:aws:sts::" + owner + ":assumed-role/platform-deployer/AWSCloudFormation"
	cdk := byCFN(record("UpdateFunctionCode20150331v2", `{"functionName":"lambdawatch-monitor"}`, ""))
	for _, tt := range []struct {
		roles []string
		rec   cloudtrail.Record
		want  int
	}{
		{nil, rec, 1},
		{nil, cdk, 0},
		{[]string{"platform-*"}, rec, 0},
		{[]string{"platform-*"}, cdk, 1},
		{[]string{"platform-deployer", "cdk-*-cfn-exec-role-*"}, cdk, 0},
	} {
		got, err := New(Config{DeployRoles: tt.roles}).Judge(tt.rec)
		if err != nil || len(got) != tt.want {
			t.Errorf("roles %v, caller %s: %d findings, %v; want %d", tt.roles, tt.rec.UserIdentity.ARN, len(got), err, tt.want)
		}
	}
	for _, bad := range []string{"", "a b", "[", strings.Repeat("r", 65)} {
		if err := (Config{DeployRoles: []string{bad}}).Validate(); err == nil {
			t.Errorf("deploy role %q accepted", bad)
		}
	}
}
