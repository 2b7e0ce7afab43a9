package localrun_test

import (
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// TestPipelineExactlyOnce: the real bootstraps under the emulator share a
// state table in moto's DynamoDB. The same event sent to two fresh
// monitor processes (another container, after a retry) is published and
// posted once between them; with the table out of reach it is still
// delivered.
func TestPipelineExactlyOnce(t *testing.T) {
	endpoint, _ := motostate.StartStateTable(t)
	withTable := func(url string) []string {
		return []string{"STATE_TABLE=lambdawatch-state", "AWS_ENDPOINT_URL_DYNAMODB=" + url}
	}

	t.Run("one event, two fresh monitors", func(t *testing.T) {
		fakeSlack, err := localrun.StartFakeSlack(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fakeSlack.Close)
		ev := event(t, "public-invoke.json", "66666666-0000-4000-8000-000000000001")
		alerts := 0
		for range 2 {
			p, _, ctx := startPipeline(t, localrun.Config{SlackWebhookURL: fakeSlack.URL, MonitorEnv: withTable(endpoint), SlackEnv: withTable(endpoint)})
			res, err := p.Send(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.MonitorErr != nil || res.SlackErr != nil {
				t.Fatalf("monitor: %v; slack: %v", res.MonitorErr, res.SlackErr)
			}
			alerts += len(res.Alerts)
			p.Close()
		}
		if posts := fakeSlack.Take(); alerts != 1 || len(posts) != 1 {
			t.Errorf("%d SNS messages and %d Slack posts from two monitors, want 1 and 1", alerts, len(posts))
		}
	})

	t.Run("table out of reach: delivered anyway", func(t *testing.T) {
		fakeSlack, err := localrun.StartFakeSlack(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fakeSlack.Close)
		gone := withTable("http://127.0.0.1:1")
		p, logs, ctx := startPipeline(t, localrun.Config{SlackWebhookURL: fakeSlack.URL, MonitorEnv: gone, SlackEnv: gone})
		res, err := p.Send(ctx, event(t, "public-invoke.json", "66666666-0000-4000-8000-000000000002"))
		if err != nil {
			t.Fatal(err)
		}
		if posts := fakeSlack.Take(); res.MonitorErr != nil || len(res.Alerts) != 1 || len(posts) != 1 {
			t.Errorf("monitor %v, %d SNS messages, %d Slack posts; want the alert delivered", res.MonitorErr, len(res.Alerts), len(posts))
		}
		if !strings.Contains(logs.String(), state.LogUnavailable) {
			t.Error("the functions did not log that the table was out of reach")
		}
	})
}
