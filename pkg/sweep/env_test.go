package sweep_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lambdawatch/lambdawatch/internal/auditfixture"
	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/sweep"
)

// TestSweepMoto builds the audit function's sweep from its environment,
// as the function does, over moto: the seeded account's Lambda, IAM and
// API Gateway, the state table in its DynamoDB, and the alert topic in
// its SNS with a queue subscribed to read what was published. The first
// run alerts each CRITICAL and HIGH finding and lists everything as new;
// after the public grant is removed, the second run alerts nothing and
// lists that grant as resolved.
func TestSweepMoto(t *testing.T) {
	moto := motoserver.Start(t)
	ctx := t.Context()
	cfg := motoserver.Config(moto.URL, auditfixture.Region)
	if err := auditfixture.SeedAll(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	motostate.CreateStateTable(t, dynamodb.NewFromConfig(cfg), motostate.StateTableName)
	topic, inbox := subscribedQueue(t, cfg)

	env := map[string]string{
		envvar.SNSTopicARN: topic, envvar.StateTable: motostate.StateTableName, envvar.MinSeverity: "LOW",
		envvar.AuditRegions: auditfixture.Region,
	}
	s, err := sweep.FromEnv(ctx, func(k string) string { return env[k] }, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	if err := s.HandleSchedule(ctx); err != nil {
		t.Fatal(err)
	}
	alerts, d := inbox(t)
	c := d.Changes
	if c == nil || !c.Complete || c.NewCount != len(d.Findings) || c.ResolvedCount != 0 || len(d.Findings) == 0 {
		t.Fatalf("first run: %d findings, changes %+v; want every finding new", len(d.Findings), c)
	}
	pages := 0
	for _, f := range d.Findings {
		if f.Severity >= sweep.AlertAbove {
			pages++
		}
	}
	if len(alerts) != pages || !slices.ContainsFunc(alerts, func(f detect.Finding) bool {
		return f.Rule == detect.RulePublicInvoke && f.Function == auditfixture.FnPublic
	}) {
		t.Errorf("first run: %d alerts, want one for each of the %d CRITICAL and HIGH findings, the public grant on %s among them", len(alerts), pages, auditfixture.FnPublic)
	}

	if _, err := lambda.NewFromConfig(cfg).RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(auditfixture.FnPublic), StatementId: aws.String("public")}); err != nil {
		t.Fatal(err)
	}
	if err := s.HandleSchedule(ctx); err != nil {
		t.Fatal(err)
	}
	alerts, d = inbox(t)
	c = d.Changes
	if len(alerts) != 0 || c == nil || c.NewCount != 0 {
		t.Errorf("second run: %d alerts, changes %+v; want nothing new", len(alerts), c)
	}
	if c == nil || !slices.ContainsFunc(c.Resolved, func(f detect.Finding) bool {
		return f.Rule == detect.RulePublicInvoke && f.Function == auditfixture.FnPublic
	}) {
		t.Errorf("second run: resolved %+v, want the removed public grant on %s", c, auditfixture.FnPublic)
	}
}

// subscribedQueue makes the alert topic in moto's SNS with a queue
// subscribed, and returns the topic and a reader of what one run
// published: its alerts and its one digest.
func subscribedQueue(t *testing.T, cfg aws.Config) (string, func(*testing.T) ([]detect.Finding, digest.Digest)) {
	ctx := t.Context()
	sc, qc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("lambdawatch-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:" + cfg.Region + ":" + motoserver.DefaultAccount + ":inbox")}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(topic.TopicArn), func(t *testing.T) (alerts []detect.Finding, d digest.Digest) {
		t.Helper()
		digests := 0
		for {
			out, err := qc.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				break
			}
			for _, m := range out.Messages {
				// SNS's envelope, with the sqs member of the message.
				var env struct {
					Message           string
					MessageAttributes map[string]struct{ Value string }
				}
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
					t.Fatal(err)
				}
				if env.MessageAttributes[notify.AttrRule].Value == digest.Rule {
					digests++
					if err := json.Unmarshal([]byte(env.Message), &d); err != nil {
						t.Fatal(err)
					}
				} else {
					var f detect.Finding
					if err := json.Unmarshal([]byte(env.Message), &f); err != nil {
						t.Fatal(err)
					}
					alerts = append(alerts, f)
				}
				if _, err := qc.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if digests != 1 {
			t.Fatalf("%d digests published by one run, want 1", digests)
		}
		return alerts, d
	}
}
