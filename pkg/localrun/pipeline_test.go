package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
)

// The binaries are built once, for every test of the package.
var (
	buildOnce sync.Once
	bins      localrun.Binaries
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func binaries(t *testing.T) localrun.Binaries {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "localrun-test-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		bins, buildErr = localrun.Build(ctx, buildDir)
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return bins
}

// syncBuffer collects the pipeline's logs, shown when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// await reports whether the logs come to hold text. The emulator passes
// the function's output on as it comes, so a line written at the end of an
// invocation may arrive just after the invocation's answer.
func (s *syncBuffer) await(text string) bool {
	for range 100 {
		if strings.Contains(s.String(), text) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// publishFault makes goaws answer Publish with a 500 while rule is set,
// for messages of that rule; it counts the refusals.
type publishFault struct {
	rule    atomic.Value // string
	refused atomic.Int32
}

func (f *publishFault) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, _ := f.rule.Load().(string)
		if rule != "" && r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte("Action=Publish")) && bytes.Contains(body, []byte("StringValue="+rule)) {
				f.refused.Add(1)
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected by the test</Message></Error><RequestId>t</RequestId></ErrorResponse>`)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// event reads an EventBridge event from testdata, giving it (and its
// record) fresh ids so that the warm monitor does not take it for one it
// has published.
func event(t *testing.T, name, eventID string) events.CloudWatchEvent {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var detail map[string]any
	if err := json.Unmarshal(raw["detail"], &detail); err != nil {
		t.Fatal(err)
	}
	if eventID != "" {
		detail["eventID"] = eventID
	}
	d, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	raw["detail"] = d
	data, _ = json.Marshal(raw)
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	ev.ID = "eb-" + eventID
	return ev
}

func finding(t *testing.T, a localrun.Alert) detect.Finding {
	t.Helper()
	var f detect.Finding
	if err := json.Unmarshal([]byte(a.Body), &f); err != nil {
		t.Fatalf("sqs member is not a finding: %v\n%s", err, a.Body)
	}
	return f
}

func rules(t *testing.T, as []localrun.Alert) []string {
	var rs []string
	for _, a := range as {
		rs = append(rs, finding(t, a).Rule)
	}
	return rs
}

// texts lists every string in a JSON document: what Slack would show.
func texts(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, texts(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, texts(e)...)
		}
		return out
	}
	return nil
}

func TestPipeline(t *testing.T) {
	b := binaries(t)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline logs:\n%s", logs.String())
		}
	})
	fakeSlack, err := localrun.StartFakeSlack(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakeSlack.Close)
	fault := &publishFault{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	p, err := localrun.Start(ctx, localrun.Config{
		Dir: t.TempDir(), Bin: b, SlackWebhookURL: fakeSlack.URL,
		MonitorEnv:    []string{"TRUSTED_ACCOUNTS=444455556666", "ORG_ID=o-a1b2c3d4e5", "MIN_SEVERITY=MEDIUM"},
		SNSMiddleware: fault.wrap,
		Logs:          logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	// send sends ev and fails the test on a pipeline error (not a
	// function's).
	send := func(t *testing.T, ev events.CloudWatchEvent) localrun.Result {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		res, err := p.Send(sctx, ev)
		if err != nil {
			t.Fatalf("send %s: %v", ev.ID, err)
		}
		return res
	}

	t.Run("alert reaches email and Slack", func(t *testing.T) {
		res := send(t, event(t, "public-invoke.json", "11111111-0000-4000-8000-000000000001"))
		if res.MonitorErr != nil || res.SlackErr != nil {
			t.Fatalf("monitor: %v; slack: %v", res.MonitorErr, res.SlackErr)
		}
		if len(res.Alerts) != 1 {
			t.Fatalf("%d alerts, want 1", len(res.Alerts))
		}
		a := res.Alerts[0]
		f := finding(t, a)
		if f.Rule != detect.RulePublicInvoke || f.Severity != detect.Critical || f.Function != "payments-api" {
			t.Errorf("finding %s", f)
		}
		if want := "[CRITICAL] public-invoke: payments-api in 111122223333/eu-west-1"; a.Subject != want {
			t.Errorf("subject %q, want %q", a.Subject, want)
		}
		for k, want := range map[string]string{"severity": "CRITICAL", "rule": "public-invoke", "account": "111122223333", "region": "eu-west-1"} {
			if a.Attributes[k] != want {
				t.Errorf("attribute %s = %q, want %q", k, a.Attributes[k], want)
			}
		}
		rule, _ := detect.RuleByID(detect.RulePublicInvoke)
		flat := strings.Join(strings.Fields(a.Email), " ")
		for _, want := range []string{
			strings.Join(strings.Fields(rule.Why), " "),
			strings.Join(strings.Fields(rule.Remedy), " "),
			"Permissions: https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/payments-api?tab=permissions",
			"User agent: Boto3/1.40.70",
			"Source IP: 203.0.113.66",
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("email lacks %q:\n%s", want, a.Email)
			}
		}
		if a.SlackFailed {
			t.Error("Slack delivery reported failed")
		}
		msgs := fakeSlack.Take()
		if len(msgs) != 1 {
			t.Fatalf("Slack got %d messages, want 1", len(msgs))
		}
		if !strings.Contains(msgs[0].Text, "payments-api") || !strings.Contains(msgs[0].Text, "CRITICAL") {
			t.Errorf("Slack message does not name the function and severity:\n%s", msgs[0].Text)
		}
	})

	t.Run("redelivered event publishes nothing", func(t *testing.T) {
		before := fakeSlack.Requests()
		for i := 0; i < 2; i++ {
			res := send(t, event(t, "public-invoke.json", "11111111-0000-4000-8000-000000000001"))
			if res.MonitorErr != nil {
				t.Fatal(res.MonitorErr)
			}
			if len(res.Alerts) != 0 {
				t.Errorf("redelivery %d published %v", i+1, rules(t, res.Alerts))
			}
		}
		if n := fakeSlack.Requests() - before; n != 0 {
			t.Errorf("Slack got %d requests for a redelivered event", n)
		}
	})

	t.Run("injection attempt arrives escaped", func(t *testing.T) {
		res := send(t, event(t, "injection.json", "11111111-0000-4000-8000-000000000002"))
		if res.MonitorErr != nil || len(res.Alerts) != 1 {
			t.Fatalf("monitor: %v; %d alerts, want 1", res.MonitorErr, len(res.Alerts))
		}
		a := res.Alerts[0]
		if strings.ContainsAny(a.Subject, "\r\n<>") || len(a.Subject) >= 100 {
			t.Errorf("subject %q", a.Subject)
		}
		for _, line := range strings.Split(a.Email, "\n") {
			line = strings.TrimSpace(line)
			if (strings.HasPrefix(line, "Permissions:") || strings.HasPrefix(line, "CloudTrail:")) &&
				!strings.Contains(line, " https://eu-west-1.console.aws.amazon.com/") {
				t.Errorf("link line points elsewhere: %q", line)
			}
		}
		msgs := fakeSlack.Take()
		if len(msgs) != 1 {
			t.Fatalf("Slack got %d messages, want 1", len(msgs))
		}
		var doc any
		if err := json.Unmarshal(msgs[0].Raw, &doc); err != nil {
			t.Fatal(err)
		}
		escaped := false
		for _, s := range texts(doc) {
			for _, bad := range []string{"<!channel>", "<https://evil.example|"} {
				if strings.Contains(s, bad) {
					t.Errorf("Slack text carries %q unescaped: %q", bad, s)
				}
			}
			escaped = escaped || strings.Contains(s, "&lt;!channel&gt;")
		}
		if !escaped {
			t.Errorf("the user agent did not arrive, escaped, in Slack:\n%s", msgs[0].Raw)
		}
	})

	slackCases := []struct {
		name     string
		behave   localrun.SlackBehavior
		requests int // at least
	}{
		{"Slack answers 429 with Retry-After, then 200", func(n int, _ slack.WebhookMessage) localrun.SlackAnswer {
			if n == 1 {
				return localrun.SlackAnswer{Status: http.StatusTooManyRequests, RetryAfter: "1"}
			}
			return localrun.SlackAnswer{}
		}, 2},
		{"Slack answers 500, then 200", func(n int, _ slack.WebhookMessage) localrun.SlackAnswer {
			if n == 1 {
				return localrun.SlackAnswer{Status: http.StatusInternalServerError}
			}
			return localrun.SlackAnswer{}
		}, 2},
		{"Slack answers slowly", func(int, slack.WebhookMessage) localrun.SlackAnswer {
			return localrun.SlackAnswer{Delay: 2 * time.Second}
		}, 1},
	}
	for i, tc := range slackCases {
		t.Run(tc.name, func(t *testing.T) {
			base := fakeSlack.Requests()
			fakeSlack.SetBehavior(func(n int, m slack.WebhookMessage) localrun.SlackAnswer { return tc.behave(n-base, m) })
			defer fakeSlack.SetBehavior(nil)
			res := send(t, event(t, "public-invoke.json", fmt.Sprintf("22222222-0000-4000-8000-%012d", i)))
			if res.MonitorErr != nil || res.SlackErr != nil || len(res.Alerts) != 1 {
				t.Fatalf("monitor: %v; slack: %v; %d alerts", res.MonitorErr, res.SlackErr, len(res.Alerts))
			}
			if res.Alerts[0].SlackFailed || len(res.SlackResponses) != 1 || len(res.SlackResponses[0].BatchItemFailures) != 0 {
				t.Errorf("delivery failed: %+v", res.SlackResponses)
			}
			if got := fakeSlack.Take(); len(got) != 1 {
				t.Errorf("Slack accepted %d messages, want 1", len(got))
			}
			if n := fakeSlack.Requests() - base; n < tc.requests {
				t.Errorf("Slack got %d requests, want at least %d", n, tc.requests)
			}
		})
	}

	t.Run("Slack that keeps failing yields batch item failures", func(t *testing.T) {
		fakeSlack.SetBehavior(func(int, slack.WebhookMessage) localrun.SlackAnswer {
			return localrun.SlackAnswer{Status: http.StatusServiceUnavailable}
		})
		defer fakeSlack.SetBehavior(nil)
		base := fakeSlack.Requests()
		res := send(t, event(t, "public-invoke.json", "33333333-0000-4000-8000-000000000001"))
		if res.MonitorErr != nil || res.SlackErr != nil || len(res.Alerts) != 1 {
			t.Fatalf("monitor: %v; slack: %v; %d alerts", res.MonitorErr, res.SlackErr, len(res.Alerts))
		}
		a := res.Alerts[0]
		if len(res.SlackResponses) != 1 {
			t.Fatalf("%d Slack responses", len(res.SlackResponses))
		}
		fs := res.SlackResponses[0].BatchItemFailures
		if len(fs) != 1 || fs[0].ItemIdentifier != a.MessageID || !a.SlackFailed {
			t.Errorf("batchItemFailures %+v, want the message %s", fs, a.MessageID)
		}
		if n := fakeSlack.Requests() - base; n < 2 {
			t.Errorf("Slack got %d requests: the function did not retry", n)
		}
		if got := fakeSlack.Take(); len(got) != 0 {
			t.Errorf("Slack accepted %d messages", len(got))
		}
	})

	t.Run("failed publish fails the invocation; the retry publishes the rest", func(t *testing.T) {
		ev := event(t, "two-findings.json", "44444444-0000-4000-8000-000000000001")
		fault.rule.Store(detect.RuleForeignLayer)
		res := send(t, ev)
		fault.rule.Store("")
		var fe *localrun.FunctionError
		if !errors.As(res.MonitorErr, &fe) || !strings.Contains(fe.Message, "InternalError") {
			t.Fatalf("monitor error %v, want the publish failure", res.MonitorErr)
		}
		if got := rules(t, res.Alerts); fmt.Sprint(got) != fmt.Sprint([]string{detect.RuleEOLRuntime}) {
			t.Errorf("first try published %v, want [%s]", got, detect.RuleEOLRuntime)
		}
		if n := fault.refused.Load(); n < 2 {
			t.Errorf("SNS refused %d publishes: the SDK did not retry", n)
		}

		res = send(t, ev) // Lambda's retry
		if res.MonitorErr != nil {
			t.Fatal(res.MonitorErr)
		}
		if got := rules(t, res.Alerts); fmt.Sprint(got) != fmt.Sprint([]string{detect.RuleForeignLayer}) {
			t.Errorf("retry published %v, want only [%s]", got, detect.RuleForeignLayer)
		}
		res = send(t, ev)
		if len(res.Alerts) != 0 {
			t.Errorf("third delivery published %v", rules(t, res.Alerts))
		}
		fakeSlack.Take()
	})

	t.Run("events not for lambdawatch succeed quietly", func(t *testing.T) {
		for _, ev := range []events.CloudWatchEvent{
			{ID: "x1", DetailType: "Scheduled Event", Source: "aws.events", Detail: json.RawMessage(`{}`)},
			{ID: "x2", DetailType: "AWS API Call via CloudTrail", Source: "aws.lambda", Detail: json.RawMessage(`{"eventID":"m","eventSource":"lambda.amazonaws.com","eventName":"GetFunction20150331v2"}`)},
			{ID: "x3", DetailType: "AWS API Call via CloudTrail", Source: "aws.lambda", Detail: json.RawMessage(`"not a record"`)},
		} {
			res := send(t, ev)
			if res.MonitorErr != nil || len(res.Alerts) != 0 {
				t.Errorf("event %s: monitor %v, %d alerts", ev.ID, res.MonitorErr, len(res.Alerts))
			}
		}
		if !logs.await(`"msg":"malformed CloudTrail record, dropped"`) {
			t.Error("the malformed record is not logged")
		}
	})

	t.Run("emulator reports", func(t *testing.T) {
		rs := p.Monitor.Reports()
		if len(rs) < 10 {
			t.Fatalf("%d REPORT lines from the monitor's emulator, want one per invocation", len(rs))
		}
		for _, r := range rs {
			if r.RequestID == "" || r.Duration <= 0 {
				t.Errorf("report %+v", r)
			}
		}
	})
}
