package localrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
)

// startPipeline starts a pipeline for one test, its logs shown if the
// test fails.
func startPipeline(t *testing.T, cfg localrun.Config) (*localrun.Pipeline, *syncBuffer, context.Context) {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline logs:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cfg.Dir, cfg.Bin, cfg.Logs = t.TempDir(), binaries(t), logs
	p, err := localrun.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, logs, ctx
}

// stormEvent is the public-invoke grant on function fn-<i>, a record of
// its own.
func stormEvent(t *testing.T, i int) events.CloudWatchEvent {
	t.Helper()
	ev := event(t, "public-invoke.json", fmt.Sprintf("55555555-0000-4000-8000-%012d", i))
	var detail map[string]any
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	fn := fmt.Sprintf("fn-%03d", i)
	detail["requestParameters"].(map[string]any)["functionName"] = fn
	detail["responseElements"].(map[string]any)["statement"] = `{"Sid":"allow-all","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111122223333:function:` + fn + `"}`
	d, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	ev.Detail = d
	return ev
}

var summaryRE = regexp.MustCompile(`^lambdawatch: (\d+) alerts?:`)

// An attacker grants "*" on 500 functions within a minute. The topic gets
// one message per finding; the Slack queue hands them over in batches of
// 100 (the deployed batch size), and Slack gets a few posts whose
// summaries count every finding.
func TestPipelineStorm(t *testing.T) {
	const n, batch = 500, 100
	fakeSlack, err := localrun.StartFakeSlack(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakeSlack.Close)
	p, _, ctx := startPipeline(t, localrun.Config{
		SlackWebhookURL: fakeSlack.URL, SlackBatch: batch,
		MonitorEnv: []string{"TRUSTED_ACCOUNTS=444455556666", "ORG_ID=o-a1b2c3d4e5"},
	})
	evs := make([]events.CloudWatchEvent, n)
	for i := range evs {
		evs[i] = stormEvent(t, i)
	}
	res, err := p.SendAll(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if res.MonitorErr != nil || res.SlackErr != nil {
		t.Fatalf("monitor: %v; slack: %v", res.MonitorErr, res.SlackErr)
	}
	functions := map[string]bool{}
	for _, a := range res.Alerts {
		f := finding(t, a)
		if f.Rule != detect.RulePublicInvoke || a.SlackFailed {
			t.Errorf("alert %s: rule %s, Slack failed %v", a.MessageID, f.Rule, a.SlackFailed)
		}
		functions[f.Function] = true
	}
	if len(res.Alerts) != n || len(functions) != n {
		t.Errorf("%d SNS messages for %d functions, want one per function (%d)", len(res.Alerts), len(functions), n)
	}
	if len(res.SlackResponses) != n/batch {
		t.Errorf("%d Slack invocations, want %d", len(res.SlackResponses), n/batch)
	}
	posts := fakeSlack.Take()
	counted, summaries := 0, 0
	for _, m := range posts {
		if s := summaryRE.FindStringSubmatch(m.Payload.Text); s != nil {
			c, _ := strconv.Atoi(s[1])
			counted += c
			summaries++
			if !strings.Contains(m.Text, fmt.Sprintf("covers *%d alerts*", c)) {
				t.Errorf("summary does not say how many it covers:\n%.400s", m.Text)
			}
		}
	}
	t.Logf("storm: %d events, %d SNS messages, %d Slack invocations, %d Slack posts (%d summaries counting %d findings)",
		n, len(res.Alerts), len(res.SlackResponses), len(posts), summaries, counted)
	if counted != n {
		t.Errorf("summaries count %d findings, want %d", counted, n)
	}
	if len(posts) > 2*n/batch {
		t.Errorf("%d Slack posts, want at most %d (a summary and one CRITICAL per batch)", len(posts), 2*n/batch)
	}
}

const secretARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:lambdawatch/slack-AbCdEf"

// fakeSecretsManager answers GetSecretValue (JSON 1.1 protocol) with
// value as the SecretString.
func fakeSecretsManager(t *testing.T, value string, calls *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.Contains(string(body), secretARN) {
			t.Errorf("request %s %s", r.Header.Get("X-Amz-Target"), body)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"ARN": secretARN, "Name": "lambdawatch/slack", "SecretString": value, "VersionId": "v1"})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// The Slack function cannot read its secret at cold start: the
// invocation fails (so SQS delivers the batch again), the log names the
// secret and never shows its value, and nothing reaches Slack.
func TestPipelineSecretFaults(t *testing.T) {
	const value = "SECRETVALUE-https://hooks.slack.com/services/T0/B0/XXXX"
	for _, tc := range []struct {
		name     string
		endpoint func(t *testing.T, calls *atomic.Int32) string
		wantLog  string
	}{
		{"Secrets Manager unreachable", func(t *testing.T, _ *atomic.Int32) string { return closedPort(t) }, "connection refused"},
		{"secret not JSON", func(t *testing.T, calls *atomic.Int32) string { return fakeSecretsManager(t, value, calls) }, "not a JSON object"},
		{"secret without a webhook", func(t *testing.T, calls *atomic.Int32) string {
			return fakeSecretsManager(t, `{"webhook":"`+value+`"}`, calls)
		}, "no webhook_url and no bot_token"},
		{"secret with an http webhook", func(t *testing.T, calls *atomic.Int32) string {
			return fakeSecretsManager(t, `{"webhook_url":"http://hooks.slack.com/services/SECRETVALUE"}`, calls)
		}, "must be an absolute https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeSlack, err := localrun.StartFakeSlack(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fakeSlack.Close)
			var calls atomic.Int32
			p, logs, ctx := startPipeline(t, localrun.Config{
				SlackEnv: []string{"SLACK_SECRET_ARN=" + secretARN, "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + tc.endpoint(t, &calls)},
				Timeout:  20 * time.Second,
			})
			res, err := p.Send(ctx, event(t, "public-invoke.json", "66666666-0000-4000-8000-000000000001"))
			if err != nil {
				t.Fatal(err)
			}
			if res.MonitorErr != nil || len(res.Alerts) != 1 {
				t.Fatalf("monitor: %v; %d alerts", res.MonitorErr, len(res.Alerts))
			}
			var fe *localrun.FunctionError
			if !errors.As(res.SlackErr, &fe) || !res.Alerts[0].SlackFailed {
				t.Fatalf("Slack function: %v, alert failed %v; want a failed invocation", res.SlackErr, res.Alerts[0].SlackFailed)
			}
			logs.await(`"msg":"setup failed"`)
			out := logs.String()
			var line string
			for l := range strings.Lines(out) {
				if strings.Contains(l, `"msg":"setup failed"`) {
					line = l
				}
			}
			if !strings.Contains(line, secretARN) || !strings.Contains(line, tc.wantLog) {
				t.Errorf("setup log %q: want the secret %s named and %q", line, secretARN, tc.wantLog)
			}
			if strings.Contains(out, "SECRETVALUE") {
				t.Error("the logs show the secret's value")
			}
			if n := fakeSlack.Requests(); n != 0 {
				t.Errorf("Slack got %d requests", n)
			}
			if reachable := !strings.Contains(tc.name, "unreachable"); reachable && calls.Load() == 0 {
				t.Error("the function never asked the stand-in Secrets Manager")
			}
		})
	}
}

// The monitor is deployed with malformed identifiers: its cold start
// fails, so the invocation fails (Lambda retries the event, then hands it
// to the dead-letter queue) rather than judging with an engine that trusts
// nobody; the log names every bad value, and nothing is published.
func TestPipelineMonitorConfigFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		wantErr string // the logged error
	}{
		{"trusted accounts", []string{"TRUSTED_ACCOUNTS=1234,notanaccount", "ORG_ID=o-a1b2c3d4e5"},
			`monitor configuration: TRUSTED_ACCOUNTS: "1234" is not a 12-digit account ID; "notanaccount" is not a 12-digit account ID`},
		{"organization ID", []string{"TRUSTED_ACCOUNTS=444455556666", "ORG_ID=o-abc"},
			`monitor configuration: ORG_ID: "o-abc" is not an organization ID (o- and 10 to 32 lower-case letters or digits)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeSlack, err := localrun.StartFakeSlack(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fakeSlack.Close)
			p, logs, ctx := startPipeline(t, localrun.Config{SlackWebhookURL: fakeSlack.URL, MonitorEnv: tc.env, Timeout: 20 * time.Second})
			res, err := p.Send(ctx, event(t, "public-invoke.json", "77777777-0000-4000-8000-000000000001"))
			if err != nil {
				t.Fatal(err)
			}
			var fe *localrun.FunctionError
			if !errors.As(res.MonitorErr, &fe) || fe.Type != "Runtime.ExitError" {
				t.Fatalf("monitor: %v; want its cold start to fail (Runtime.ExitError)", res.MonitorErr)
			}
			if len(res.Alerts) != 0 || len(res.SlackResponses) != 0 {
				t.Errorf("%d alerts and %d Slack invocations from a monitor that did not start", len(res.Alerts), len(res.SlackResponses))
			}
			logs.await(`"msg":"configuration"`)
			var logged []string
			for l := range strings.Lines(logs.String()) {
				var rec struct{ Level, Msg, Error string }
				if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "configuration" {
					logged = append(logged, rec.Level+" "+rec.Error)
				}
			}
			if len(logged) == 0 || logged[0] != "ERROR "+tc.wantErr {
				t.Errorf("configuration log %q, want ERROR %s", logged, tc.wantErr)
			}
			if n := fakeSlack.Requests(); n != 0 {
				t.Errorf("Slack got %d requests", n)
			}
		})
	}
}
