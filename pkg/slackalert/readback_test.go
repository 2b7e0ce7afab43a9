package slackalert_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/localrun"
	"github.com/lambdawatch/lambdawatch/pkg/slackalert"
)

const key = "posted#3f1c2a4b#public-invoke#arn:aws:lambda:eu-west-1:111122223333:function:f#*"

var message = slack.WebhookMessage{Text: "CRITICAL public-invoke: f"}

// stall is Slack taking the message and answering after the attempt
// has given up.
var stall = localrun.SlackAnswer{AcceptFirst: true, Delay: time.Hour}

// TestRetrierReadBack: through slack-go against a Slack stand-in that
// speaks chat.postMessage and conversations.history, an attempt whose
// outcome is unknown is read back before the next one, and a message
// found there is not posted again; a read that fails, or finds nothing,
// posts again.
func TestRetrierReadBack(t *testing.T) {
	for _, tc := range []struct {
		name       string
		before     string // a message posted with this key before the Retrier's
		answers    map[int]localrun.SlackAnswer
		historyErr string
		attempts   int
		clockAhead time.Duration // the Retrier's clock is ahead of Slack's

		wantPosts, wantCalls, wantReads int
		wantLog                         string // with the read-back's outcome
	}{
		{name: "accepted, answered after the attempt's timeout: found, not posted again",
			answers: map[int]localrun.SlackAnswer{1: stall}, wantPosts: 1, wantCalls: 1, wantReads: 1, wantLog: slackalert.LogFoundPosted},
		{name: "accepted, connection dropped: found",
			answers: map[int]localrun.SlackAnswer{1: {AcceptFirst: true, Hangup: true}}, wantPosts: 1, wantCalls: 1, wantReads: 1, wantLog: slackalert.LogFoundPosted},
		{name: "timed out before Slack took it: not found, posted again",
			answers: map[int]localrun.SlackAnswer{1: {Delay: time.Hour}}, wantPosts: 1, wantCalls: 2, wantReads: 1, wantLog: slackalert.LogNotFound},
		{name: "dropped before Slack took it: not found, posted again",
			answers: map[int]localrun.SlackAnswer{1: {Hangup: true}}, wantPosts: 1, wantCalls: 2, wantReads: 1, wantLog: slackalert.LogNotFound},
		{name: "another alert in the window is not this one",
			before: "posted#another", answers: map[int]localrun.SlackAnswer{2: {Delay: time.Hour}}, wantPosts: 2, wantCalls: 3, wantReads: 1, wantLog: slackalert.LogNotFound},
		{name: "this alert from before the window does not count",
			before: key, clockAhead: time.Minute, answers: map[int]localrun.SlackAnswer{2: {Delay: time.Hour}}, wantPosts: 2, wantCalls: 3, wantReads: 1, wantLog: slackalert.LogNotFound},
		{name: "history without its scope: posted again, and logged",
			answers: map[int]localrun.SlackAnswer{1: stall}, historyErr: "missing_scope", wantPosts: 2, wantCalls: 2, wantReads: 1, wantLog: slackalert.LogReadBackFailed},
		{name: "history rate limited: posted again, and logged",
			answers: map[int]localrun.SlackAnswer{1: stall}, historyErr: "ratelimited", wantPosts: 2, wantCalls: 2, wantReads: 1, wantLog: slackalert.LogReadBackFailed},
		{name: "a 500 is an answer: nothing read back",
			answers: map[int]localrun.SlackAnswer{1: {Status: http.StatusInternalServerError}}, wantPosts: 1, wantCalls: 2},
		{name: "the last attempt unanswered: read back before giving up",
			answers: map[int]localrun.SlackAnswer{1: stall}, attempts: 1, wantPosts: 1, wantCalls: 1, wantReads: 1, wantLog: slackalert.LogFoundPosted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := localrun.StartFakeSlack(func(n int, _ slack.WebhookMessage) localrun.SlackAnswer { return tc.answers[n] })
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fs.Close)
			fs.SetHistoryError(tc.historyErr)
			bot := slackalert.BotPoster{Client: slack.New("xoxb-test", slack.OptionAPIURL(fs.APIURL)), Channel: "C0123456789"}
			if tc.before != "" {
				if err := bot.Post(t.Context(), tc.before, message); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			r := &slackalert.Retrier{Poster: bot, Finder: bot, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
				MaxAttempts: tc.attempts, AttemptTimeout: 200 * time.Millisecond, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
			if tc.clockAhead > 0 {
				r.Now = func() time.Time { return time.Now().Add(tc.clockAhead) }
			}
			// No deadline: the attempts' timeouts bound the test, and a
			// clock ahead would leave no time to retry.
			if err := r.Post(context.Background(), key, message); err != nil {
				t.Fatalf("post: %v", err)
			}
			posts := fs.Take()
			if len(posts) != tc.wantPosts || fs.Requests() != tc.wantCalls || fs.HistoryReads() != tc.wantReads {
				t.Errorf("%d posts, %d chat.postMessage calls, %d history reads; want %d, %d, %d\n%s",
					len(posts), fs.Requests(), fs.HistoryReads(), tc.wantPosts, tc.wantCalls, tc.wantReads, logs.String())
			}
			for _, m := range posts {
				if m.Method != "chat.postMessage" || m.Metadata == nil || m.Metadata.EventType != slackalert.MetadataEventType {
					t.Fatalf("post %+v: want chat.postMessage with lambdawatch's metadata", m)
				}
				if got := m.Metadata.EventPayload[slackalert.MetadataKey]; got != slackalert.KeyDigest(tc.before) && got != slackalert.KeyDigest(key) {
					t.Errorf("metadata %v names neither key", m.Metadata.EventPayload)
				}
			}
			out := logs.String()
			for _, msg := range []string{slackalert.LogFoundPosted, slackalert.LogNotFound, slackalert.LogReadBackFailed} {
				if want := msg == tc.wantLog; strings.Contains(out, `"msg":"`+msg+`"`) != want {
					t.Errorf("log %q: logged %v, want %v\n%s", msg, !want, want, out)
				}
			}
			if tc.wantLog == slackalert.LogReadBackFailed && !strings.Contains(out, tc.historyErr) {
				t.Errorf("the read-back failure does not name Slack's error %s:\n%s", tc.historyErr, out)
			}
		})
	}
}

// An incoming webhook cannot be read back: a post Slack took but
// answered late is posted again, and shows twice (at least once).
func TestRetrierWebhookLateAnswerPostsTwice(t *testing.T) {
	fs, err := localrun.StartFakeSlack(func(n int, _ slack.WebhookMessage) localrun.SlackAnswer {
		if n == 1 {
			return stall
		}
		return localrun.SlackAnswer{}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	r := &slackalert.Retrier{Poster: slackalert.WebhookPoster{URL: fs.URL}, Log: slog.New(slog.DiscardHandler),
		AttemptTimeout: 200 * time.Millisecond, BaseDelay: 10 * time.Millisecond}
	if err := r.Post(context.Background(), key, message); err != nil {
		t.Fatal(err)
	}
	if posts := fs.Take(); len(posts) != 2 || fs.HistoryReads() != 0 {
		t.Errorf("%d posts, %d history reads; want 2 and none", len(posts), fs.HistoryReads())
	}
}

// The history read sends what Slack needs: the channel, oldest just
// before the first attempt, metadata asked for, a small limit.
func TestBotPosterPostedReadsSinceWithMetadata(t *testing.T) {
	fs, err := localrun.StartFakeSlack(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	bot := slackalert.BotPoster{Client: slack.New("xoxb-test", slack.OptionAPIURL(fs.APIURL)), Channel: "C0123456789"}
	before := time.Now()
	if err := bot.Post(t.Context(), key, message); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		channel string
		key     string
		since   time.Time
		want    bool
	}{
		{"the key since before it", "C0123456789", key, before.Add(-time.Second), true},
		{"another key", "C0123456789", "posted#other", before.Add(-time.Second), false},
		{"since after it", "C0123456789", key, time.Now().Add(time.Second), false},
		{"another channel", "C999", key, before.Add(-time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bot
			b.Channel = tc.channel
			got, err := b.Posted(t.Context(), tc.key, tc.since)
			if err != nil || got != tc.want {
				t.Errorf("Posted = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// Without the scope, Slack's error comes back.
	fs.SetHistoryError("missing_scope")
	if _, err := bot.Posted(t.Context(), key, before); err == nil || !strings.Contains(err.Error(), "missing_scope") {
		t.Errorf("error %v, want missing_scope", err)
	}
}
