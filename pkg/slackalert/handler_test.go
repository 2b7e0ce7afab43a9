package slackalert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// recorder is a Poster that records messages and fails those whose text
// contains one of fail.
type recorder struct {
	fail []string
	got  []slack.WebhookMessage
	keys []string // the key of each message in got
}

func (r *recorder) Post(ctx context.Context, key string, msg slack.WebhookMessage) error {
	for _, f := range r.fail {
		if strings.Contains(msg.Text, f) {
			return errors.New("slack server error: 500 Internal Server Error")
		}
	}
	r.got = append(r.got, msg)
	r.keys = append(r.keys, key)
	return nil
}

func body(t *testing.T, f detect.Finding) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// event makes an SQS batch; message i has id "m<i>".
func event(t *testing.T, bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("m%d", i), Body: b,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
		})
	}
	return ev
}

// withID gives a finding a recognisable actor so recorder can fail it.
func withActor(f detect.Finding, actor string) detect.Finding {
	f.Actor = actor
	return f
}

func failedIDs(r events.SQSEventResponse) []string {
	var ids []string
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

func TestHandler(t *testing.T) {
	crit := func(actor string) string { return body(t, withActor(typical(), actor)) }
	high := func(actor string) string {
		f := withActor(typical(), actor)
		f.Rule, f.Severity = detect.RuleCrossAccountInvoke, detect.High
		return body(t, f)
	}
	critOf := func(rule, actor string) string {
		f := withActor(typical(), actor)
		f.Rule = rule
		return body(t, f)
	}
	for _, tc := range []struct {
		name       string
		bodies     []string
		fail       []string // texts whose post fails
		wantPosts  []string // actor (or "lambdawatch:" for a summary) in each posted text, in order
		wantFailed []string
	}{
		{"one", []string{crit("a1")}, nil, []string{"a1"}, nil},
		{"five individually", []string{crit("a1"), high("a2"), high("a3"), high("a4"), crit("a5")}, nil,
			[]string{"a1", "a2", "a3", "a4", "a5"}, nil},
		{"one post fails", []string{crit("a1"), high("a2"), crit("a3")}, []string{"a2"},
			[]string{"a1", "a3"}, []string{"m1"}},
		{"bad message fails, others posted", []string{"not json", crit("a1"), `{"Type":"Notification","TopicArn":"t","Message":"{}"}`}, nil,
			[]string{"a1"}, []string{"m0", "m2"}},
		{"bad messages do not count towards a summary", []string{"x", "y", crit("a1"), high("a2"), high("a3"), high("a4"), high("a5")}, nil,
			[]string{"a1", "a2", "a3", "a4", "a5"}, []string{"m0", "m1"}},
		{"six become a summary and the criticals", []string{high("a0"), crit("a1"), high("a2"), critOf("r3", "a3"), high("a4"), high("a5")}, nil,
			[]string{"lambdawatch: 6 alerts", "a1", "a3"}, nil},
		{"one critical of a rule in full", []string{crit("a0"), crit("a1"), crit("a2"), crit("a3"), crit("a4"), crit("a5"), crit("a6")}, nil,
			[]string{"lambdawatch: 7 alerts", "a0"}, nil},
		{"at most three criticals in full", []string{crit("a0"), critOf("r1", "a1"), crit("a2"), critOf("r2", "a3"), critOf("r3", "a4"), critOf("r4", "a5")}, nil,
			[]string{"lambdawatch: 6 alerts", "a0", "a1", "a3"}, nil},
		{"summary fails: all but the posted criticals", []string{high("a0"), crit("a1"), high("a2"), critOf("r3", "a3"), high("a4"), high("a5")}, []string{"lambdawatch:"},
			[]string{"a1", "a3"}, []string{"m0", "m2", "m4", "m5"}},
		{"critical fails after the summary: it is retried", []string{high("a0"), crit("a1"), high("a2"), critOf("r3", "a3"), high("a4"), high("a5")}, []string{"a3"},
			[]string{"lambdawatch: 6 alerts", "a1"}, []string{"m3"}},
		{"duplicates posted once", []string{crit("a1"), crit("a1"), high("a2")}, nil, []string{"a1", "a2"}, nil},
		{"a duplicate shares the failure", []string{crit("a1"), high("a2"), crit("a1")}, []string{"a1"}, []string{"a2"}, []string{"m0", "m2"}},
		{"duplicates do not count towards a summary", []string{crit("a1"), crit("a1"), crit("a1"), high("a2"), high("a3"), high("a4"), high("a5")}, nil,
			[]string{"a1", "a2", "a3", "a4", "a5"}, nil},
		{"summary fails with duplicates", []string{high("a0"), crit("a1"), high("a2"), critOf("r3", "a3"), high("a4"), high("a5"), high("a0")}, []string{"lambdawatch:"},
			[]string{"a1", "a3"}, []string{"m0", "m2", "m4", "m5", "m6"}},
		{"everything fails", []string{high("a0"), crit("a1"), high("a2"), critOf("r3", "a3"), high("a4"), high("a5")}, []string{"lambdawatch:", "a1", "a3"},
			nil, []string{"m0", "m1", "m2", "m3", "m4", "m5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fail: tc.fail}
			var logs bytes.Buffer
			h := &Handler{Poster: rec, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			resp, err := h.Handle(context.Background(), event(t, tc.bodies...))
			if err != nil {
				t.Fatalf("Handle returned an error: %v", err)
			}
			if got := failedIDs(resp); !slices.Equal(got, tc.wantFailed) {
				t.Errorf("failed %v, want %v", got, tc.wantFailed)
			}
			if len(rec.got) != len(tc.wantPosts) {
				t.Fatalf("%d posts, want %d (%v)", len(rec.got), len(tc.wantPosts), tc.wantPosts)
			}
			for i, want := range tc.wantPosts {
				if !strings.Contains(rec.got[i].Text, want) {
					t.Errorf("post %d: text %q, want it to contain %q", i, rec.got[i].Text, want)
				}
			}
			for _, id := range tc.wantFailed {
				if !strings.Contains(logs.String(), `"messageId":"`+id+`"`) {
					t.Errorf("no log names failed message %s:\n%s", id, logs.String())
				}
			}
		})
	}
}

func TestHandlerLogsBadMessageClearly(t *testing.T) {
	var logs bytes.Buffer
	h := &Handler{Poster: &recorder{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	if _, err := h.Handle(context.Background(), event(t, `{"severity":"HIGH"}`)); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &rec); err != nil {
		t.Fatalf("log is not JSON: %v\n%s", err, logs.String())
	}
	if rec["level"] != "ERROR" || rec["err"] != `message 0 (id m0): body has no "rule": not a finding` || rec["receiveCount"] != "1" {
		t.Errorf("log record %v", rec)
	}
}

func TestHandlerPostFailureLog(t *testing.T) {
	var logs bytes.Buffer
	h := &Handler{Poster: &recorder{fail: []string{"a1"}}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	if _, err := h.Handle(context.Background(), event(t, body(t, typical()), body(t, withActor(typical(), "a1")))); err != nil {
		t.Fatal(err)
	}
	want := `"err":"message 1 (id m1): post to slack: slack server error: 500 Internal Server Error"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %s:\n%s", want, logs.String())
	}
}

// Out of time: nothing more is started and all unposted messages fail.
func TestHandlerDeadline(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Poster: rec, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	resp, _ := h.Handle(ctx, event(t, body(t, typical()), body(t, typical())))
	if got := failedIDs(resp); !slices.Equal(got, []string{"m0", "m1"}) || len(rec.got) != 0 {
		t.Errorf("failed %v with %d posts, want both failed and none posted", got, len(rec.got))
	}
}

// The handler keeps Reserve back from the deadline for its response.
func TestHandlerReserve(t *testing.T) {
	var got time.Time
	p := posterFunc(func(ctx context.Context, _ slack.WebhookMessage) error {
		got, _ = ctx.Deadline()
		return nil
	})
	h := &Handler{Poster: p, Log: slog.New(slog.DiscardHandler), Reserve: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	h.Handle(ctx, event(t, body(t, typical())))
	if want := deadline.Add(-2 * time.Second); !got.Equal(want) {
		t.Errorf("poster's deadline %s, want %s (the invocation's less Reserve)", got, want)
	}
}

type posterFunc func(context.Context, slack.WebhookMessage) error

func (f posterFunc) Post(ctx context.Context, _ string, m slack.WebhookMessage) error {
	return f(ctx, m)
}

// End to end through the httptest Slack: a batch with a 429 in the middle.
func TestHandlerWithWebhook(t *testing.T) {
	fs, srv := newFakeSlack(t, answer{status: 200}, answer{status: 429, retryAfter: "3"}, answer{status: 200})
	clock := &fakeClock{now: time.Now()}
	h := &Handler{Poster: fakeRetrier(WebhookPoster{URL: srv.URL}, clock), Log: slog.New(slog.DiscardHandler)}
	resp, _ := h.Handle(context.Background(), event(t, body(t, typical()), body(t, injected())))
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %v", resp.BatchItemFailures)
	}
	got := fs.posted()
	if len(got) != 2 {
		t.Fatalf("%d delivered, want 2", len(got))
	}
	for _, m := range got {
		checkSafe(t, m)
	}
	if RenderText(got[1]) != RenderText(Build(injected())) {
		t.Errorf("delivered payload differs from the built one")
	}
}

// Each post carries the key a read-back finds it by: a finding's posted
// key; a summary's, the same for the same findings; a digest's.
func TestHandlerPostKeys(t *testing.T) {
	one := withActor(typical(), "alice")
	rec := &recorder{}
	(&Handler{Poster: rec, Log: slog.New(slog.DiscardHandler)}).Handle(t.Context(), event(t, body(t, one)))
	if len(rec.keys) != 1 || rec.keys[0] != state.PostedKey(one) {
		t.Errorf("keys %q, want the finding's posted key %q", rec.keys, state.PostedKey(one))
	}

	var bodies []string
	for i := range 7 {
		f := withActor(injected(), fmt.Sprintf("actor-%d", i))
		f.EventID = fmt.Sprintf("e-%d", i)
		bodies = append(bodies, body(t, f))
	}
	summary := func(bodies []string) []string {
		rec := &recorder{}
		(&Handler{Poster: rec, Log: slog.New(slog.DiscardHandler)}).Handle(t.Context(), event(t, bodies...))
		return rec.keys
	}
	first, again, fewer := summary(bodies), summary(bodies), summary(bodies[1:])
	if len(first) < 2 || !strings.HasPrefix(first[0], "summary#") || first[0] != again[0] || first[0] == fewer[0] {
		t.Errorf("summary keys %q, %q and %q: want summary#, the same for the same findings, another for others", first, again, fewer)
	}
	for _, k := range first[1:] {
		if !strings.HasPrefix(k, state.PostedPrefix+"#") {
			t.Errorf("a CRITICAL posted in full has key %q, want its posted key", k)
		}
	}
}
