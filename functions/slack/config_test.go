package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/slackalert"
)

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
		want    config
	}{
		{"secret", map[string]string{"SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s"}, "",
			config{SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:s"}},
		{"webhook", map[string]string{"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook", "LOG_LEVEL": "debug"}, "",
			config{WebhookURL: "http://127.0.0.1:9/hook", LogLevel: slog.LevelDebug}},
		{"api url gets a slash", map[string]string{"SLACK_SECRET_ARN": "a", "SLACK_API_URL": "http://localhost:1/api"}, "",
			config{SecretARN: "a", APIURL: "http://localhost:1/api/"}},
		{"nothing", map[string]string{}, "set SLACK_SECRET_ARN", config{}},
		{"both", map[string]string{"SLACK_SECRET_ARN": "a", "SLACK_WEBHOOK_URL": "https://h/x"}, "not both", config{}},
		{"bad webhook", map[string]string{"SLACK_WEBHOOK_URL": "hooks.slack.com/services/SECRET"}, "SLACK_WEBHOOK_URL must be", config{}},
		{"bad level", map[string]string{"SLACK_SECRET_ARN": "a", "LOG_LEVEL": "loud"}, "LOG_LEVEL", config{}},
		{"state lease", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_TABLE": "t", "STATE_LEASE": "45s"}, "",
			config{SecretARN: "a", StateTable: "t", StateLease: 45 * time.Second}},
		{"longest state lease", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_LEASE": "15m"}, "",
			config{SecretARN: "a", StateLease: 15 * time.Minute}},
		{"state lease no duration", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_LEASE": "soon"}, `STATE_LEASE: "soon" is not a duration (such as 2m or 90s)`, config{}},
		{"state lease zero", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_LEASE": "0"}, `STATE_LEASE: "0": want more than 0 and at most 15m`, config{}},
		{"state lease negative", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_LEASE": "-5s"}, `STATE_LEASE: "-5s": want more than 0 and at most 15m`, config{}},
		{"state lease too long", map[string]string{"SLACK_SECRET_ARN": "a", "STATE_LEASE": "1h"}, `STATE_LEASE: "1h": want more than 0 and at most 15m`, config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := configFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "/SECRET") {
					t.Errorf("error quotes the webhook URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != tc.want {
				t.Errorf("config %+v, want %+v", c, tc.want)
			}
		})
	}
}

// fakeSecrets is a SecretGetter holding one secret.
type fakeSecrets struct {
	arn, value string
	binary     bool
	calls      int
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if aws.ToString(in.SecretId) != f.arn {
		return nil, errors.New("ResourceNotFoundException: Secrets Manager can't find the specified secret")
	}
	if f.binary {
		return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte(f.value)}, nil
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func TestLoadSecret(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack"
	for _, tc := range []struct {
		name, value string
		binary      bool
		askARN      string
		wantErr     string
		want        slackSecret
	}{
		{"webhook", `{"webhook_url":"https://hooks.slack.com/services/T/B/x"}`, false, arn, "", slackSecret{WebhookURL: "https://hooks.slack.com/services/T/B/x"}},
		{"bot", `{"bot_token":"xoxb-1","channel":"C1"}`, false, arn, "", slackSecret{BotToken: "xoxb-1", Channel: "C1"}},
		{"missing", `{}`, false, arn, "no webhook_url and no bot_token", slackSecret{}},
		{"bot without channel", `{"bot_token":"xoxb-SECRET"}`, false, arn, "bot_token without channel", slackSecret{}},
		{"both", `{"webhook_url":"https://h/x","bot_token":"t","channel":"c"}`, false, arn, "set one", slackSecret{}},
		{"http webhook", `{"webhook_url":"http://hooks.slack.com/services/SECRET"}`, false, arn, "webhook_url must be an absolute https URL", slackSecret{}},
		{"not json", `SECRET-not-json`, false, arn, "not a JSON object", slackSecret{}},
		{"binary", `{}`, true, arn, "no SecretString", slackSecret{}},
		{"wrong arn", `{}`, false, arn + "-other", "read secret " + arn + "-other: ResourceNotFound", slackSecret{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := &fakeSecrets{arn: arn, value: tc.value, binary: tc.binary}
			s, err := loadSecret(context.Background(), sm, tc.askARN)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.want {
				t.Errorf("secret %+v, want %+v", s, tc.want)
			}
		})
	}
}

// recordingSlack serves webhook and chat.postMessage and keeps what it got.
func recordingSlack(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		msg, err := slackalert.ParsePayload(r.Header.Get("Content-Type"), b)
		if err != nil {
			t.Errorf("slack got a bad payload: %v", err)
		}
		mu.Lock()
		got = append(got, r.URL.Path+" "+msg.Text)
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/api/") {
			form, _ := url.ParseQuery(string(b))
			if form.Get("token") != "xoxb-1" && r.Header.Get("Authorization") != "Bearer xoxb-1" {
				fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
				return
			}
			fmt.Fprint(w, `{"ok":true,"channel":"C1","ts":"1.1"}`)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func finding(t *testing.T) string {
	b, err := json.Marshal(detect.Finding{
		EventID: "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b", EventTime: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC),
		Rule: detect.RulePublicInvoke, Severity: detect.Critical, Account: "123456789012", Region: "us-east-1",
		Function: "f", Principal: "*", Actor: "alice", UserAgent: "<!channel>",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetupEndToEnd(t *testing.T) {
	srv, got := recordingSlack(t)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack"
	for _, tc := range []struct {
		name     string
		cfg      config
		secret   string
		wantPath string
	}{
		{"webhook from env", config{WebhookURL: srv.URL + "/hook"}, "", "/hook"},
		{"bot from secret", config{SecretARN: arn, APIURL: srv.URL + "/api/"}, `{"bot_token":"xoxb-1","channel":"C1"}`, "/api/chat.postMessage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := &fakeSecrets{arn: arn, value: tc.secret}
			newSM := func(context.Context) (SecretGetter, error) { return sm, nil }
			h, err := setup(context.Background(), tc.cfg, slog.New(slog.DiscardHandler), newSM)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.cfg.SecretARN != ""]; sm.calls != want {
				t.Errorf("secret read %d times, want %d", sm.calls, want)
			}
			before := len(got())
			resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
				{MessageId: "ok", Body: finding(t)},
				{MessageId: "bad", Body: "{"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad" {
				t.Errorf("failures %+v, want only the bad message", resp.BatchItemFailures)
			}
			all := got()
			if len(all) != before+1 || !strings.HasPrefix(all[before], tc.wantPath+" CRITICAL public-invoke") {
				t.Errorf("slack got %q, want one post to %s", all[before:], tc.wantPath)
			}
		})
	}
}

func TestSetupFails(t *testing.T) {
	newSM := func(context.Context) (SecretGetter, error) { return nil, errors.New("no credentials") }
	if _, err := setup(context.Background(), config{SecretARN: "a"}, slog.New(slog.DiscardHandler), newSM); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("error %v, want the client error", err)
	}
	sm := &fakeSecrets{arn: "a", value: "{}"}
	if _, err := setup(context.Background(), config{SecretARN: "a"}, slog.New(slog.DiscardHandler),
		func(context.Context) (SecretGetter, error) { return sm, nil }); err == nil || !strings.Contains(err.Error(), "secret a:") {
		t.Errorf("error %v, want the secret named", err)
	}
}
