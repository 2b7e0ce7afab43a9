package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// ownWords are the words of the function's own error texts: a value such
// as "hook_u" turns up inside webhook_url without anything leaking.
var ownWords = []string{"webhook_url", "bot_token", "channel", "secretstring", "secrets manager", "https", "http", "scheme", "absolute", "binary", "supported"}

// mask blots the function's own words out of s, lower-cased.
func mask(s string) string {
	s = strings.ToLower(s)
	for _, w := range ownWords {
		s = strings.ReplaceAll(s, w, "\x00")
	}
	return s
}

// leaks reports a value of the secret that msg shows, compared without
// regard to case (url.Parse lowers a scheme) and with the function's own
// words blotted out of both: what is left of the value must not be in the
// message. Short values are skipped: "C1" or "x" turn up in any sentence.
func leaks(msg string, values ...string) (string, bool) {
	m := mask(msg)
	for _, v := range values {
		left := mask(v)
		if len(strings.ReplaceAll(left, "\x00", "")) >= 6 && strings.Contains(m, left) {
			return v, true
		}
	}
	return "", false
}

// TestLeaks: the leak check finds a secret inside a message, whatever
// words the two share, and lets the function's own words be.
func TestLeaks(t *testing.T) {
	url := "https://hooks.slack.com/services/T0/B0/SECRETXXXX"
	for _, tt := range []struct {
		msg, value string
		want       bool
	}{
		{"webhook_url must be an absolute https URL (got " + url + ")", url, true},
		{"webhook_url: not a URL: SECRETTOKEN:rest", "SECRETTOKEN:rest", true},
		{"not a JSON object with webhook_url or bot_token and channel", "hook_u", false},
		{"webhook_url must be an absolute https URL (got another scheme)", url, false},
		{"bot_token without channel", "xoxb-123456-abcdef", false},
	} {
		if _, got := leaks(tt.msg, tt.value); got != tt.want {
			t.Errorf("leaks(%q, %q) = %v, want %v", tt.msg, tt.value, got, tt.want)
		}
	}
}

// FuzzLoadSecret: whatever the secret holds, loading it gives one usable
// mode (an https webhook, or a bot token with a channel) or an error that
// names the secret and quotes none of its values.
func FuzzLoadSecret(f *testing.F) {
	for _, s := range []string{
		`{"webhook_url":"https://hooks.slack.com/services/T0/B0/XXXXXXXX"}`,
		`{"bot_token":"xoxb-123456-abcdef","channel":"C0123456"}`,
		`{"webhook_url":"http://hooks.slack.com/services/T0/B0/XXXXXXXX"}`,
		`{"webhook_url":"SECRETTOKEN:rest"}`,
		`{"webhook_url":"https://hooks.slack.com/x","bot_token":"xoxb-1","channel":"C1"}`,
		`{"bot_token":"xoxb-only-a-token"}`,
		`{"webhook_url":12}`, `["a"]`, `not json at all, xoxb-123456`, `{"webhook_url":"https://\u0000/x"}`, ``,
	} {
		f.Add(s)
	}
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack"
	f.Fuzz(func(t *testing.T, value string) {
		s, err := loadSecret(context.Background(), &fakeSecrets{arn: arn, value: value}, arn)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "secret "+arn+": ") {
				t.Errorf("error %q does not name the secret", err)
			}
			var parsed map[string]any
			vals := []string{value}
			if json.Unmarshal([]byte(value), &parsed) == nil {
				vals = vals[:0]
				for _, v := range parsed {
					if s, ok := v.(string); ok {
						vals = append(vals, s)
					}
				}
			}
			if v, bad := leaks(strings.TrimPrefix(err.Error(), "secret "+arn+": "), vals...); bad {
				t.Errorf("error %q shows the secret's value %q", err, v)
			}
			return
		}
		switch {
		case s.WebhookURL != "":
			u, perr := url.Parse(s.WebhookURL)
			if perr != nil || u.Scheme != "https" || u.Host == "" || s.BotToken != "" || s.Channel != "" {
				t.Errorf("accepted webhook secret %+v", s)
			}
		case s.BotToken == "" || s.Channel == "":
			t.Errorf("accepted bot secret without token or channel: %+v", s)
		}
	})
}

// FuzzConfigFromEnv: the function's configuration is one source of the
// Slack credentials with well-formed URLs, or an error that quotes no URL.
func FuzzConfigFromEnv(f *testing.F) {
	f.Add("arn:aws:secretsmanager:us-east-1:1:secret:s", "", "", "")
	f.Add("", "http://127.0.0.1:9/services/T0/B0/XXXXXXXX", "", "debug")
	f.Add("a", "", "http://localhost:1/api", "loud")
	f.Add("a", "https://h/x", "", "")
	f.Add("", "hooks.slack.com/services/SECRETPATH", "", "")
	f.Add("", "SECRETSCHEME:x", "", "")
	f.Add(" \t", "\n", "ftp://x/y", "INFO+2")
	f.Fuzz(func(t *testing.T, arn, hook, api, level string) {
		env := map[string]string{"SLACK_SECRET_ARN": arn, "SLACK_WEBHOOK_URL": hook, "SLACK_API_URL": api, "LOG_LEVEL": level}
		c, err := configFromEnv(func(k string) string { return env[k] })
		if err != nil {
			if v, bad := leaks(err.Error(), strings.TrimSpace(hook), strings.TrimSpace(api)); bad {
				t.Errorf("error %q quotes %q", err, v)
			}
			return
		}
		if (c.SecretARN == "") == (c.WebhookURL == "") {
			t.Fatalf("config %+v: want exactly one of secret and webhook", c)
		}
		for name, raw := range map[string]string{"webhook": c.WebhookURL, "api": c.APIURL} {
			if raw == "" {
				continue
			}
			if u, perr := url.Parse(raw); perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				t.Errorf("%s URL %q accepted", name, raw)
			}
		}
		if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
			t.Errorf("API URL %q without the trailing slash slack-go needs", c.APIURL)
		}
	})
}

// A URL without "//" parses with its start as the scheme: an error that
// quoted the scheme would show part of the secret.
func TestURLErrorsQuoteNoPart(t *testing.T) {
	for _, raw := range []string{"xoxbSECRETPART:rest", "SECRETPART:x@y", "mailto:SECRETPART"} {
		for _, allowHTTP := range []bool{true, false} {
			err := checkURL("webhook_url", raw, allowHTTP)
			if err == nil || strings.Contains(strings.ToLower(err.Error()), "secretpart") {
				t.Errorf("checkURL(%q): %v; want an error without the value", raw, err)
			}
		}
	}
}
