package localrun_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
	"github.com/lambdawatch/lambdawatch/pkg/slackalert"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// stateItem reads key's item from the state table: its status, token and
// lease (zero once done).
func stateItem(t *testing.T, db *dynamodb.Client, key string) (status, token string, lease time.Time) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(motostate.StateTableName),
		Key:            map[string]types.AttributeValue{state.PartitionKey: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	s := func(name string) string {
		v, _ := out.Item[name].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	if n, ok := out.Item["lease"].(*types.AttributeValueMemberN); ok {
		ms, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			t.Fatalf("lease %q of %s: %v", n.Value, key, err)
		}
		lease = time.UnixMilli(ms)
	}
	return s("status"), s("token"), lease
}

// logLines are the functions' JSON log lines with the message msg.
func logLines(logs string, msg string) []map[string]any {
	var out []map[string]any
	for l := range strings.Lines(logs) {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// slackSecret puts value in moto's Secrets Manager and returns its ARN.
func slackSecret(t *testing.T, endpoint, value string) string {
	t.Helper()
	sm := secretsmanager.NewFromConfig(motostate.Config(), func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String("lambdawatch/slack"), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("create the Slack secret in moto: %v", err)
	}
	return aws.ToString(out.ARN)
}

// lateAnswer: Slack takes the first post but answers only after the
// Slack function's attempt has given up (its 10-second attempt timeout);
// later posts are answered at once.
func lateAnswer(n int, _ slack.WebhookMessage) localrun.SlackAnswer {
	if n == 1 {
		return localrun.SlackAnswer{AcceptFirst: true, Delay: time.Hour}
	}
	return localrun.SlackAnswer{}
}

// TestPipelineSlackAnsweredLate: Slack accepts a post and answers after
// the attempt's timeout. With a bot token the Slack function (the real
// bootstrap, its secret in moto's Secrets Manager, its state table in
// moto's DynamoDB) reads the channel back before retrying, finds the
// message by its metadata and posts nothing more: one post. An incoming
// webhook cannot be read back: the retry posts it again, and Slack shows
// it twice; delivery there is at least once.
func TestPipelineSlackAnsweredLate(t *testing.T) {
	endpoint, db := motostate.StartStateTable(t)
	withTable := []string{"STATE_TABLE=" + motostate.StateTableName, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}

	t.Run("bot token: read back, posted once", func(t *testing.T) {
		fakeSlack, err := localrun.StartFakeSlack(lateAnswer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fakeSlack.Close)
		arn := slackSecret(t, endpoint, `{"bot_token":"xoxb-drill","channel":"C0123456789"}`)
		p, logs, ctx := startPipeline(t, localrun.Config{SlackEnv: append([]string{
			"SLACK_SECRET_ARN=" + arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + endpoint, "SLACK_API_URL=" + fakeSlack.APIURL,
		}, withTable...)})
		res, err := p.Send(ctx, event(t, "public-invoke.json", "99999999-0000-4000-8000-000000000001"))
		if err != nil {
			t.Fatal(err)
		}
		if res.MonitorErr != nil || res.SlackErr != nil || len(res.Alerts) != 1 {
			t.Fatalf("monitor: %v; slack: %v; %d alerts", res.MonitorErr, res.SlackErr, len(res.Alerts))
		}
		if res.Alerts[0].SlackFailed {
			t.Error("the Slack function reported the message failed: SQS would post it again")
		}
		key := state.PostedKey(finding(t, res.Alerts[0]))
		posts := fakeSlack.Take()
		if len(posts) != 1 || fakeSlack.Requests() != 1 || fakeSlack.HistoryReads() != 1 {
			t.Fatalf("%d posts from %d chat.postMessage calls and %d history reads, want 1, 1, 1", len(posts), fakeSlack.Requests(), fakeSlack.HistoryReads())
		}
		if md := posts[0].Metadata; md == nil || md.EventType != slackalert.MetadataEventType || md.EventPayload[slackalert.MetadataKey] != slackalert.KeyDigest(key) {
			t.Errorf("metadata %+v, want %s with the digest of %s", md, slackalert.MetadataEventType, key)
		}
		if status, _, _ := stateItem(t, db, key); status != state.StatusDone {
			t.Errorf("%s is %q, want done", key, status)
		}
		logs.await(`"msg":"batch done"`)
		if n := len(logLines(logs.String(), slackalert.LogFoundPosted)); n != 1 {
			t.Errorf("%d %q log lines, want 1", n, slackalert.LogFoundPosted)
		}
	})

	t.Run("webhook: posted again, at least once", func(t *testing.T) {
		fakeSlack, err := localrun.StartFakeSlack(lateAnswer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fakeSlack.Close)
		p, logs, ctx := startPipeline(t, localrun.Config{SlackWebhookURL: fakeSlack.URL, SlackEnv: withTable})
		res, err := p.Send(ctx, event(t, "public-invoke.json", "99999999-0000-4000-8000-000000000002"))
		if err != nil {
			t.Fatal(err)
		}
		if res.MonitorErr != nil || res.SlackErr != nil || len(res.Alerts) != 1 || res.Alerts[0].SlackFailed {
			t.Fatalf("monitor: %v; slack: %v; %d alerts", res.MonitorErr, res.SlackErr, len(res.Alerts))
		}
		if posts := fakeSlack.Take(); len(posts) != 2 || fakeSlack.HistoryReads() != 0 {
			t.Errorf("%d posts, %d history reads; want the late-answered post posted again (2) and nothing read", len(posts), fakeSlack.HistoryReads())
		}
		logs.await(`"msg":"slack post succeeded after retries"`)
		if n := len(logLines(logs.String(), "slack post failed, retrying")); n != 1 {
			t.Errorf("%d retry log lines, want 1", n)
		}
	})
}
