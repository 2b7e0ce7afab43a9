package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// topic keeps what was published, and refuses while fail is set, or
// what has the rule attribute failRule.
type topic struct {
	mu       sync.Mutex
	fail     bool
	failRule string
	got      []*sns.PublishInput
}

func (t *topic) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail || t.failRule != "" && aws.ToString(in.MessageAttributes[notify.AttrRule].StringValue) == t.failRule {
		return nil, errors.New("InternalError: SNS is down")
	}
	t.got = append(t.got, in)
	return &sns.PublishOutput{MessageId: aws.String(fmt.Sprint(len(t.got)))}, nil
}

// digests decodes the JSON member of each published message.
func (t *topic) digests(tb testing.TB) []digest.Digest {
	var out []digest.Digest
	for _, in := range t.got {
		var m notify.Members
		var d digest.Digest
		if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal([]byte(m.SQS), &d); err != nil {
			tb.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// queue keeps the batches sent, failing the entries whose body has failOn.
type queue struct {
	batches [][]sqstypes.SendMessageBatchRequestEntry
	failOn  string
}

func (q *queue) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.batches = append(q.batches, slices.Clone(in.Entries))
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if q.failOn != "" && strings.Contains(aws.ToString(e.MessageBody), q.failOn) {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError")})
		}
	}
	return out, nil
}

// auditor finds one HIGH and one LOW finding per account and region, and
// fails one read in account 999988887777.
func auditor(calls *[]Target) AuditFunc {
	var mu sync.Mutex
	return func(ctx context.Context, account string, regions []string) ([]detect.Finding, []error) {
		var fs []detect.Finding
		var errs []error
		for _, r := range regions {
			mu.Lock()
			*calls = append(*calls, Target{Account: account, Region: r})
			mu.Unlock()
			fs = append(fs,
				detect.Finding{Rule: detect.RulePublicLayer, Severity: detect.High, Account: account, Region: r, Summary: "layer shared in " + account + "/" + r},
				detect.Finding{Rule: detect.RuleEOLRuntime, Severity: detect.Low, Account: account, Region: r, Summary: "runtime soon deprecated"})
			if account == "999988887777" {
				errs = append(errs, fmt.Errorf("audit %s: lambda ListFunctions: AccessDenied", r))
			}
		}
		return fs, errs
	}
}

func accounts(ids ...string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return ids, nil }
}

func TestScheduleOneDigest(t *testing.T) {
	var calls []Target
	tp := &topic{}
	s := &Sweep{Topic: "arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts", SNS: tp, Audit: auditor(&calls),
		Regions: []string{"eu-west-1", "us-east-1"}, Accounts: accounts("111122223333", "444455556666", "999988887777"),
		MinSeverity: detect.Medium, Now: func() time.Time { return time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC) }}
	if _, err := s.Handle(t.Context(), json.RawMessage(`{"source":"scheduler"}`)); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 6 {
		t.Errorf("audited %v, want 3 accounts in 2 regions", calls)
	}
	ds := tp.digests(t)
	if len(ds) != 1 {
		t.Fatalf("%d digests, want one for the run", len(ds))
	}
	d := ds[0]
	if len(d.Findings) != 6 || d.Unread != 2 || len(d.Accounts) != 3 || d.Severity != detect.High {
		t.Errorf("digest: %d findings (want the 6 HIGH, LOW left out), %d unread (want 2), accounts %v, severity %s", len(d.Findings), d.Unread, d.Accounts, d.Severity)
	}
	if got, want := aws.ToString(tp.got[0].Subject), "lambdawatch audit: 6 HIGH in 3 accounts, 2 unread"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
}

func TestFanOut(t *testing.T) {
	var ids []string
	for i := range 12 {
		ids = append(ids, fmt.Sprintf("1000000000%02d", i))
	}
	var calls []Target
	q := &queue{}
	tp := &topic{}
	s := &Sweep{Topic: "t", SNS: tp, Audit: auditor(&calls), Regions: []string{"eu-west-1", "us-east-1"}, Accounts: accounts(ids...), Queue: q, QueueURL: "https://sqs/q"}
	if err := s.HandleSchedule(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 || len(tp.got) != 0 {
		t.Errorf("fanning out audited %d targets and published %d digests itself", len(calls), len(tp.got))
	}
	var targets []Target
	for _, b := range q.batches {
		if len(b) > 10 {
			t.Errorf("a batch of %d, over SQS's 10", len(b))
		}
		for _, e := range b {
			var tg Target
			if err := json.Unmarshal([]byte(aws.ToString(e.MessageBody)), &tg); err != nil {
				t.Fatal(err)
			}
			targets = append(targets, tg)
		}
	}
	if len(targets) != 24 || len(q.batches) != 3 {
		t.Errorf("%d targets in %d batches, want 24 in 3", len(targets), len(q.batches))
	}
	q2 := &queue{failOn: ids[3]}
	s.Queue = q2
	if err := s.HandleSchedule(t.Context()); err == nil || !strings.Contains(err.Error(), "InternalError") {
		t.Errorf("a target SQS refused: %v, want an error so that the schedule retries", err)
	}
}

func TestHandleQueue(t *testing.T) {
	var calls []Target
	tp := &topic{}
	s := &Sweep{Topic: "t", SNS: tp, Audit: auditor(&calls), Regions: []string{"eu-west-1"}}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m0", Body: `{"account":"444455556666","region":"eu-central-1"}`, EventSource: "aws:sqs"},
		{MessageId: "m1", Body: `{"account":"444455556666"}`, EventSource: "aws:sqs"},
		{MessageId: "m2", Body: `{"account":"1","region":"x","extra":true}`, EventSource: "aws:sqs"},
	}}
	raw, _ := json.Marshal(ev)
	out, err := s.Handle(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.SQSEventResponse)
	if !slices.Equal(calls, []Target{{Account: "444455556666", Region: "eu-central-1"}}) {
		t.Errorf("audited %v, want the one good target", calls)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m1", "m2"}) {
		t.Errorf("failed %v, want the two bad targets", failed)
	}
	if ds := tp.digests(t); len(ds) != 1 || ds[0].Regions[0] != "eu-central-1" {
		t.Errorf("digests %+v, want one for eu-central-1", ds)
	}
	tp.fail = true
	resp, _ = s.HandleQueue(t.Context(), events.SQSEvent{Records: ev.Records[:1]})
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("a digest SNS refused was not reported for retry: %+v", resp)
	}
}

// TestDigestSuppressions: suppressed findings are counted, not listed;
// an expired entry mutes nothing and is named in the digest.
func TestDigestSuppressions(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	l, err := suppress.Parse("s.yaml", []byte("suppressions:\n  - rule: public-layer\n    account: \"111122223333\"\n    reason: shared on purpose\n    expires: 2027-01-31\n  - rule: public-layer\n    account: \"444455556666\"\n    reason: old approval\n    expires: 2026-11-30\n"), now)
	if err != nil {
		t.Fatal(err)
	}
	var calls []Target
	tp := &topic{}
	s := &Sweep{Topic: "t", SNS: tp, Audit: auditor(&calls), Regions: []string{"eu-west-1"}, Accounts: accounts("111122223333", "444455556666"),
		MinSeverity: detect.Medium, Suppress: l, Now: func() time.Time { return now }}
	if err := s.HandleSchedule(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := tp.digests(t)[0]
	if len(d.Findings) != 1 || d.Findings[0].Account != "444455556666" || d.Suppressed != 1 {
		t.Errorf("digest lists %v with %d suppressed, want the other account's finding and 1", d.Findings, d.Suppressed)
	}
	if len(d.Expired) != 1 || !strings.Contains(d.Expired[0], "s.yaml:6: old approval, expired 2026-11-30") {
		t.Errorf("expired %q, want the lapsed entry named by its line", d.Expired)
	}
}
