package detect

import (
	"bytes"
	"os"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// BenchmarkJudgeAddPermission decodes one EventBridge event of a typical
// AddPermission call and judges it: the monitor's work per event.
func BenchmarkJudgeAddPermission(b *testing.B) {
	data, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		b.Fatal(err)
	}
	e := New(testConfig)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for rec, err := range cloudtrail.Decode(bytes.NewReader(data)) {
			if err != nil {
				b.Fatal(err)
			}
			fs, err := e.Judge(rec)
			if err != nil || len(fs) != 1 {
				b.Fatalf("findings %v, %v", fs, err)
			}
			n++
		}
		if n != 1 {
			b.Fatalf("%d records", n)
		}
	}
}

// FuzzJudge runs the decoder and every rule over arbitrary input: nothing
// may panic, and every finding must be complete.
func FuzzJudge(f *testing.F) {
	for _, name := range []string{
		"public-invoke-addpermission-star.json",
		"public-layer.json",
		"function-url-auth-none-create.json",
		"foreign-layer-update-function-configuration.json",
		"eol-runtime-create-function-python39.json",
		"confused-deputy-apigateway-sourcearn-no-account.json",
		"public-function-url-console-flow.jsonl",
		"trail-disabled-advanced-selectors-exclude-lambda.json",
		"trail-disabled-event-selectors-no-management.json",
		"monitor-tampering-setqueueattributes-slack.json",
		"harmless-updatefunctioncode-monitor-cloudformation.json",
	} {
		data, err := os.ReadFile("../../events/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Tamper detection: trails, selectors, lambdawatch's own parts.
	for _, seed := range []string{
		`{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","requestParameters":{"name":"t"}}`,
		`{"eventSource":"cloudtrail.amazonaws.com","eventName":"PutEventSelectors","errorCode":"AccessDenied","requestParameters":{"trailName":"t","eventSelectors":[{"includeManagementEvents":false},"x",null]}}`,
		`{"eventSource":"cloudtrail.amazonaws.com","eventName":"PutEventSelectors","requestParameters":{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"eventSource","notEquals":["lambda.amazonaws.com"]},{"field":"readOnly","equals":"x"}]},{"fieldSelectors":7}]}}`,
		`{"eventSource":"cloudtrail.amazonaws.com","eventName":"UpdateTrail","requestParameters":{"name":"t","isMultiRegionTrail":false,"isOrganizationTrail":"false"}}`,
		`{"eventSource":"events.amazonaws.com","eventName":"RemoveTargets","requestParameters":{"rule":"arn:aws:events:eu-west-1:111122223333:rule/bus/lambdawatch-x","ids":["a",1]}}`,
		`{"eventSource":"sns.amazonaws.com","eventName":"Unsubscribe","requestParameters":{"subscriptionArn":"arn:aws:sns:::lambdawatch"}}`,
		`{"eventSource":"sqs.amazonaws.com","eventName":"SetQueueAttributes","requestParameters":{"queueUrl":"/","attributes":{"Policy":1}}}`,
		`{"eventSource":"lambda.amazonaws.com","eventName":"DeleteEventSourceMapping20150331","userIdentity":{"invokedBy":"cloudformation.amazonaws.com"},"responseElements":{"eventSourceArn":"lambdawatch"}}`,
		`{"eventSource":"lambda.amazonaws.com","eventName":"PutFunctionConcurrency20171031","requestParameters":{"functionName":"123456789012:function:lambdawatch-slack:1","reservedConcurrentExecutions":"0"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Add([]byte(`{"eventSource":"lambda.amazonaws.com","eventName":"AddPermission","requestParameters":{"principal":"*","layers":[1]},"responseElements":{"statement":"{\"Principal\":{\"AWS\":[\"*\"]},\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":\"*\"}}}"}}`))
	e := New(testConfig)
	f.Fuzz(func(t *testing.T, data []byte) {
		for rec, err := range cloudtrail.Decode(bytes.NewReader(data)) {
			if err != nil {
				continue
			}
			fs, _ := e.Judge(rec)
			for _, x := range fs {
				if x.Rule == "" || x.Summary == "" || x.Outcome == "" {
					t.Errorf("incomplete finding %+v", x)
				}
				if x.Outcome == Failed && x.Severity > Low {
					t.Errorf("failed call at %s", x.Severity)
				}
				if !reads(x.Rule, rec) {
					t.Errorf("%s raised by %s, a call the rule does not declare", x.Rule, rec.EventName)
				}
			}
		}
	})
}
