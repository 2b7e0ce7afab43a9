package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// fakeSNS records what is published; fail decides, per call, whether it
// fails.
type fakeSNS struct {
	mu   sync.Mutex
	ins  []*sns.PublishInput
	fail func(n int, in *sns.PublishInput) error
	n    int
}

func (p *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.fail != nil {
		if err := p.fail(p.n, in); err != nil {
			return nil, err
		}
	}
	p.ins = append(p.ins, in)
	return &sns.PublishOutput{MessageId: aws.String(fmt.Sprintf("m-%d", p.n))}, nil
}

// rules lists the rule of each published finding, in order.
func (p *fakeSNS) rules(t *testing.T) []string {
	t.Helper()
	var rs []string
	for _, in := range p.ins {
		var m Members
		if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
			t.Fatal(err)
		}
		var f detect.Finding
		if err := json.Unmarshal([]byte(m.SQS), &f); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, f.Rule)
	}
	return rs
}

// fakeJudge returns fixed findings for every Lambda record and counts calls.
type fakeJudge struct {
	findings []detect.Finding
	err      error
	recs     []cloudtrail.Record
}

func (j *fakeJudge) Judge(rec cloudtrail.Record) ([]detect.Finding, error) {
	j.recs = append(j.recs, rec)
	out := make([]detect.Finding, len(j.findings))
	for i, f := range j.findings {
		f.EventID = rec.EventID
		out[i] = f
	}
	return out, j.err
}

func event(t *testing.T, detail string) events.CloudWatchEvent {
	t.Helper()
	return events.CloudWatchEvent{
		Version: "0", ID: "eb-1", DetailType: cloudtrail.DetailType, Source: SourceLambda,
		AccountID: "111122223333", Region: "eu-west-1", Detail: json.RawMessage(detail),
	}
}

const lambdaDetail = `{"eventVersion":"1.08","eventID":"ev-1","eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","requestParameters":{"functionName":"f","principal":"*"}}`

func threeFindings() []detect.Finding {
	return []detect.Finding{
		{Rule: detect.RulePublicInvoke, Severity: detect.Critical, Function: "f", Principal: "*", Region: "eu-west-1", Account: "111122223333"},
		{Rule: detect.RuleFunctionURLAuthNone, Severity: detect.High, Function: "f", Region: "eu-west-1", Account: "111122223333"},
		{Rule: detect.RulePermissionRemoved, Severity: detect.Info, Function: "f", Region: "eu-west-1", Account: "111122223333"},
	}
}

func newMonitor(p Publisher, j Judge, logs *bytes.Buffer) *Monitor {
	return &Monitor{
		Topic: topic, SNS: p, Judge: j, MinSeverity: detect.Medium,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func TestMonitorIgnores(t *testing.T) {
	tests := []struct {
		name string
		ev   func(events.CloudWatchEvent) events.CloudWatchEvent
		log  string // expected in the logs
	}{
		{"other source", func(e events.CloudWatchEvent) events.CloudWatchEvent { e.Source = "aws.s3"; return e }, `"msg":"ignored event"`},
		{"other detail type", func(e events.CloudWatchEvent) events.CloudWatchEvent {
			e.DetailType = "Scheduled Event"
			return e
		}, `"msg":"ignored event"`},
		{"other service", func(e events.CloudWatchEvent) events.CloudWatchEvent {
			e.Detail = json.RawMessage(`{"eventID":"x","eventSource":"s3.amazonaws.com","eventName":"PutObject"}`)
			return e
		}, `"msg":"ignored record of another service"`},
		{"malformed detail", func(e events.CloudWatchEvent) events.CloudWatchEvent {
			e.Detail = json.RawMessage(`{"eventID": 12`)
			return e
		}, `"level":"ERROR","msg":"malformed CloudTrail record, dropped"`},
		{"detail of the wrong shape", func(e events.CloudWatchEvent) events.CloudWatchEvent {
			e.Detail = json.RawMessage(`["not a record"]`)
			return e
		}, `"level":"ERROR","msg":"malformed CloudTrail record, dropped","event":"eb-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeSNS{}
			j := &fakeJudge{findings: threeFindings()}
			var logs bytes.Buffer
			m := newMonitor(p, j, &logs)
			if err := m.Handle(context.Background(), tt.ev(event(t, lambdaDetail))); err != nil {
				t.Fatalf("Handle = %v, want nil: a retry cannot help", err)
			}
			if len(p.ins) != 0 || p.n != 0 {
				t.Errorf("published %d messages, want none", p.n)
			}
			if len(j.recs) != 0 {
				t.Errorf("judged %d records, want none", len(j.recs))
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("logs lack %s:\n%s", tt.log, logs.String())
			}
		})
	}
}

func TestMonitorPublishesAtOrAboveMinimum(t *testing.T) {
	p := &fakeSNS{}
	j := &fakeJudge{findings: threeFindings()}
	var logs bytes.Buffer
	m := newMonitor(p, j, &logs)
	if err := m.Handle(context.Background(), event(t, lambdaDetail)); err != nil {
		t.Fatal(err)
	}
	want := []string{detect.RulePublicInvoke, detect.RuleFunctionURLAuthNone}
	if got := p.rules(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published %v, want %v", got, want)
	}
	if len(j.recs) != 1 || j.recs[0].RecipientAccountID != "111122223333" || j.recs[0].AWSRegion != "eu-west-1" {
		t.Errorf("judged %+v: the envelope's account and region should fill the record's gaps", j.recs)
	}
	for _, in := range p.ins {
		if aws.ToString(in.TopicArn) != topic || aws.ToString(in.MessageStructure) != "json" {
			t.Errorf("publish to %q, structure %q", aws.ToString(in.TopicArn), aws.ToString(in.MessageStructure))
		}
	}

	m.MinSeverity = detect.Critical
	p.ins = nil
	e := event(t, strings.Replace(lambdaDetail, "ev-1", "ev-2", 1))
	if err := m.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if got := p.rules(t); fmt.Sprint(got) != fmt.Sprint([]string{detect.RulePublicInvoke}) {
		t.Errorf("at CRITICAL published %v", got)
	}
}

func TestMonitorRedeliveryPublishesOnce(t *testing.T) {
	p := &fakeSNS{}
	m := newMonitor(p, &fakeJudge{findings: threeFindings()}, &bytes.Buffer{})
	for i := 0; i < 3; i++ {
		e := event(t, lambdaDetail)
		e.ID = fmt.Sprintf("eb-%d", i) // EventBridge may redeliver under a new id
		if err := m.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.ins) != 2 {
		t.Errorf("three deliveries of one event published %d messages, want 2", len(p.ins))
	}
	// Another event with the same findings is not a duplicate.
	if err := m.Handle(context.Background(), event(t, strings.Replace(lambdaDetail, "ev-1", "ev-9", 1))); err != nil {
		t.Fatal(err)
	}
	if len(p.ins) != 4 {
		t.Errorf("a second event published %d messages in all, want 4", len(p.ins))
	}
}

func TestMonitorRetryPublishesOnlyWhatFailed(t *testing.T) {
	down := errors.New("ServiceUnavailable: try later")
	failSecond := true
	p := &fakeSNS{fail: func(n int, in *sns.PublishInput) error {
		if failSecond && strings.Contains(aws.ToString(in.Message), detect.RuleFunctionURLAuthNone) {
			return down
		}
		return nil
	}}
	var logs bytes.Buffer
	m := newMonitor(p, &fakeJudge{findings: threeFindings()}, &logs)
	err := m.Handle(context.Background(), event(t, lambdaDetail))
	if !errors.Is(err, down) {
		t.Fatalf("Handle = %v, want the publish error so that Lambda retries", err)
	}
	if got := p.rules(t); fmt.Sprint(got) != fmt.Sprint([]string{detect.RulePublicInvoke}) {
		t.Fatalf("first delivery published %v", got)
	}

	failSecond = false
	if err := m.Handle(context.Background(), event(t, lambdaDetail)); err != nil {
		t.Fatal(err)
	}
	want := []string{detect.RulePublicInvoke, detect.RuleFunctionURLAuthNone}
	if got := p.rules(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the retry published %v, want %v", got, want)
	}
	if !strings.Contains(logs.String(), `"msg":"finding already published, skipped"`) {
		t.Errorf("the skip is not logged:\n%s", logs.String())
	}
}

func TestMonitorPublishesPartlyJudged(t *testing.T) {
	p := &fakeSNS{}
	j := &fakeJudge{findings: threeFindings()[:1], err: errors.New("requestParameters.layers: not a list")}
	var logs bytes.Buffer
	m := newMonitor(p, j, &logs)
	if err := m.Handle(context.Background(), event(t, lambdaDetail)); err != nil {
		t.Fatalf("Handle = %v: a judge error is not retryable", err)
	}
	if len(p.ins) != 1 {
		t.Errorf("published %d, want the 1 finding judged", len(p.ins))
	}
	if !strings.Contains(logs.String(), "not a list") {
		t.Errorf("the judge's error is not logged:\n%s", logs.String())
	}
}

func TestMonitorNoEventID(t *testing.T) {
	p := &fakeSNS{}
	m := newMonitor(p, &fakeJudge{findings: threeFindings()[:1]}, &bytes.Buffer{})
	detail := `{"eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2"}`
	e1, e2 := event(t, detail), event(t, detail)
	e2.ID = "eb-2"
	for _, e := range []events.CloudWatchEvent{e1, e1, e2} {
		if err := m.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.ins) != 2 {
		t.Errorf("published %d, want 2: without an eventID the EventBridge id keys the memory", len(p.ins))
	}
}

func TestRecentForgetsOldest(t *testing.T) {
	r := newRecent(3)
	for _, k := range []string{"a", "b", "c", "a", "d"} {
		r.add(k)
	}
	for k, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true, "e": false} {
		if r.has(k) != want {
			t.Errorf("has(%q) = %v, want %v", k, !want, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{"defaults", map[string]string{"SNS_TOPIC_ARN": topic},
			Config{TopicARN: topic, MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch"}, ""},
		{"all", map[string]string{"SNS_TOPIC_ARN": topic, "TRUSTED_ACCOUNTS": " 444455556666, ,555566667777 ", "ORG_ID": "o-a1b2c3d4e5", "MIN_SEVERITY": "high", "MONITOR_PREFIX": " sec-watch-2 ", "MONITOR_DEPLOY_ROLES": "platform-deployer, cdk-*-cfn-exec-role-*"},
			Config{TopicARN: topic, TrustedAccounts: []string{"444455556666", "555566667777"}, OrgID: "o-a1b2c3d4e5", MinSeverity: detect.High, MonitorPrefix: "sec-watch-2", DeployRoles: []string{"platform-deployer", "cdk-*-cfn-exec-role-*"}}, ""},
		{"bad deploy role", map[string]string{"SNS_TOPIC_ARN": topic, "MONITOR_DEPLOY_ROLES": "role/with/path"}, Config{}, "MONITOR_DEPLOY_ROLES"},
		{"blank prefix is the default", map[string]string{"SNS_TOPIC_ARN": topic, "MONITOR_PREFIX": "  "},
			Config{TopicARN: topic, MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch"}, ""},
		{"bad prefix", map[string]string{"SNS_TOPIC_ARN": topic, "MONITOR_PREFIX": "lambda/watch"}, Config{}, "MONITOR_PREFIX"},
		{"prefix too long", map[string]string{"SNS_TOPIC_ARN": topic, "MONITOR_PREFIX": strings.Repeat("w", 41)}, Config{}, "MONITOR_PREFIX"},
		{"no topic", map[string]string{}, Config{}, "SNS_TOPIC_ARN is not set"},
		{"bad severity", map[string]string{"SNS_TOPIC_ARN": topic, "MIN_SEVERITY": "urgent"}, Config{}, "MIN_SEVERITY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMonitorWatchedServices: the monitor hands the engine the records of
// every service detect.Watched lists, and publishes their findings.
func TestMonitorWatchedServices(t *testing.T) {
	tests := []struct {
		file     string
		want     []string
		fromCase bool // eventSource spelled in another case
	}{
		{"trail-disabled-stoplogging.json", []string{detect.RuleTrailDisabled}, false},
		{"trail-disabled-advanced-selectors-exclude-lambda.json", []string{detect.RuleTrailDisabled}, true},
		{"monitor-tampering-disablerule-lambda-calls.json", []string{detect.RuleMonitorTampering}, false},
		{"monitor-tampering-deletefunction-monitor.json", []string{detect.RuleMonitorTampering}, false},
		{"monitor-tampering-deletetopic-alerts.json", []string{detect.RuleMonitorTampering}, true},
		{"monitor-tampering-setqueueattributes-slack.json", []string{detect.RuleMonitorTampering}, false},
		{"harmless-disablerule-other-team.json", nil, false},
		{"harmless-updatefunctioncode-monitor-cloudformation.json", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("../../events/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.CloudWatchEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if tt.fromCase {
				var d map[string]any
				if err := json.Unmarshal(ev.Detail, &d); err != nil {
					t.Fatal(err)
				}
				d["eventSource"] = strings.ToUpper(d["eventSource"].(string))
				ev.Detail, _ = json.Marshal(d)
			}
			p := &fakeSNS{}
			var logs bytes.Buffer
			m := newMonitor(p, detect.New(detect.Config{}), &logs)
			if err := m.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if got := p.rules(t); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("published %v, want %v; logs:\n%s", got, tt.want, logs.String())
			}
		})
	}
}

func TestConfigDetect(t *testing.T) {
	c, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"SNS_TOPIC_ARN": topic, "MONITOR_PREFIX": "secwatch", "ORG_ID": "o-a1b2c3d4e5"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Detect()
	if d.MonitorPrefix != "secwatch" || d.OrgID != "o-a1b2c3d4e5" || d.Validate() != nil {
		t.Errorf("Detect() = %+v", d)
	}
}
