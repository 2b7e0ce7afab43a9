package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/slackalert"
)

// config is what the function reads from its environment.
type config struct {
	SecretARN  string        // envvar.SlackSecretARN: Secrets Manager secret, JSON
	WebhookURL string        // envvar.SlackWebhookURL: for local runs, instead of the secret
	APIURL     string        // envvar.SlackAPIURL: Web API base for bot tokens (tests, local fakes)
	LogLevel   slog.Level    // envvar.LogLevel: debug, info (default), warn, error
	StateTable string        // envvar.StateTable: what was posted, across batches and containers
	StateLease time.Duration // envvar.StateLease: how long a claim holds its key; 0: state.DefaultLease
}

// maxStateLease is the longest STATE_LEASE accepted: Lambda's longest
// timeout, past which a lease only keeps a dead invocation's claim from
// its retries.
const maxStateLease = 15 * time.Minute

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		SecretARN:  strings.TrimSpace(getenv(envvar.SlackSecretARN)),
		WebhookURL: strings.TrimSpace(getenv(envvar.SlackWebhookURL)),
		APIURL:     strings.TrimSpace(getenv(envvar.SlackAPIURL)),
		StateTable: strings.TrimSpace(getenv(envvar.StateTable)),
	}
	switch {
	case c.SecretARN == "" && c.WebhookURL == "":
		return c, fmt.Errorf("set %s (or %s for local runs)", envvar.SlackSecretARN, envvar.SlackWebhookURL)
	case c.SecretARN != "" && c.WebhookURL != "":
		return c, fmt.Errorf("set %s or %s, not both", envvar.SlackSecretARN, envvar.SlackWebhookURL)
	}
	if c.WebhookURL != "" {
		if err := checkURL(envvar.SlackWebhookURL, c.WebhookURL, true); err != nil {
			return c, err
		}
	}
	if c.APIURL != "" {
		if err := checkURL(envvar.SlackAPIURL, c.APIURL, true); err != nil {
			return c, err
		}
		if !strings.HasSuffix(c.APIURL, "/") {
			c.APIURL += "/" // slack-go appends method names
		}
	}
	if v := strings.TrimSpace(getenv(envvar.StateLease)); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return c, fmt.Errorf("%s: %q is not a duration (such as 2m or 90s)", envvar.StateLease, v)
		case d <= 0 || d > maxStateLease:
			return c, fmt.Errorf("%s: %q: want more than 0 and at most 15m", envvar.StateLease, v)
		}
		c.StateLease = d
	}
	if lv := getenv(envvar.LogLevel); lv != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lv)); err != nil {
			return c, fmt.Errorf("%s: %w", envvar.LogLevel, err)
		}
	}
	return c, nil
}

// checkURL accepts https URLs, and http ones when local fakes are allowed.
// Errors never quote the URL: a webhook URL is a secret.
func checkURL(name, raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a URL", name)
	}
	if u.Host == "" || (u.Scheme != "https" && (!allowHTTP || u.Scheme != "http")) {
		want := "https"
		if allowHTTP {
			want = "http or https"
		}
		// Only known schemes are named: "host/path:x" parses with its
		// start, secret path and all, as the scheme.
		got := "another scheme"
		switch u.Scheme {
		case "":
			got = "no scheme"
		case "http", "https":
			got = u.Scheme
			if u.Host == "" {
				got += " without a host"
			}
		}
		return fmt.Errorf("%s must be an absolute %s URL (got %s)", name, want, got)
	}
	return nil
}

// SecretGetter is the part of the Secrets Manager client the function uses.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// slackSecret is the secret's JSON: webhook_url, or bot_token and channel.
type slackSecret struct {
	WebhookURL string `json:"webhook_url"`
	BotToken   string `json:"bot_token"`
	Channel    string `json:"channel"`
}

// loadSecret reads and checks the secret. Errors name the secret and the
// key at fault but never quote a value.
func loadSecret(ctx context.Context, sm SecretGetter, arn string) (slackSecret, error) {
	var s slackSecret
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return s, fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return s, fmt.Errorf("secret %s: no SecretString (binary secrets are not supported), want JSON with webhook_url or bot_token and channel", arn)
	}
	if err := json.Unmarshal([]byte(*out.SecretString), &s); err != nil {
		// The JSON error may quote part of the secret: leave it out.
		return s, fmt.Errorf("secret %s: not a JSON object with webhook_url or bot_token and channel", arn)
	}
	if err := s.validate(); err != nil {
		return s, fmt.Errorf("secret %s: %w", arn, err)
	}
	return s, nil
}

func (s slackSecret) validate() error {
	hasHook, hasBot := s.WebhookURL != "", s.BotToken != "" || s.Channel != ""
	switch {
	case hasHook && hasBot:
		return errors.New("has webhook_url and bot_token/channel: set one")
	case hasHook:
		return checkURL("webhook_url", s.WebhookURL, false)
	case s.BotToken == "":
		return errors.New("no webhook_url and no bot_token")
	case s.Channel == "":
		return errors.New("bot_token without channel")
	}
	return nil
}

// newPoster makes the poster the secret asks for, wrapped in retries.
func newPoster(s slackSecret, apiURL string, hc *http.Client, log *slog.Logger) slackalert.Poster {
	if s.WebhookURL != "" {
		return &slackalert.Retrier{Poster: slackalert.WebhookPoster{URL: s.WebhookURL, Client: hc}, Log: log}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if apiURL != "" {
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	bot := slackalert.BotPoster{Client: slack.New(s.BotToken, opts...), Channel: s.Channel}
	// A bot reads the channel back after an unanswered attempt.
	return &slackalert.Retrier{Poster: bot, Finder: bot, Log: log}
}

// setup builds the handler: once per cold start. newSecrets is called only
// when the secret is needed, so local runs need no AWS configuration.
func setup(ctx context.Context, c config, log *slog.Logger, newSecrets func(context.Context) (SecretGetter, error)) (*slackalert.Handler, error) {
	s := slackSecret{WebhookURL: c.WebhookURL}
	if c.SecretARN != "" {
		sm, err := newSecrets(ctx)
		if err != nil {
			return nil, fmt.Errorf("secrets manager client: %w", err)
		}
		if s, err = loadSecret(ctx, sm, c.SecretARN); err != nil {
			return nil, err
		}
	}
	if s.WebhookURL != "" {
		log.Info("slack configured", "mode", "webhook", "fromSecret", c.SecretARN != "")
	} else {
		log.Info("slack configured", "mode", "bot", "fromSecret", true, "channel", s.Channel)
	}
	return &slackalert.Handler{Poster: newPoster(s, c.APIURL, &http.Client{}, log), Log: log}, nil
}
