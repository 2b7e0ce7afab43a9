package slackalert

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// fakeSlack is an httptest Slack: each request gets the next scripted
// answer (the last one repeats). It serves webhooks (JSON) and
// chat.postMessage (form) alike.
type fakeSlack struct {
	mu      sync.Mutex
	answers []answer
	got     []slack.WebhookMessage
	calls   atomic.Int32
}

type answer struct {
	status     int
	retryAfter string
	delay      time.Duration
	body       string
}

// serve answers one request as a says, after its delay (or not at all
// when the client gives up first), handing accepted each message it
// answers 200 to.
func (a answer) serve(t *testing.T, w http.ResponseWriter, r *http.Request, body []byte, accepted func(slack.WebhookMessage)) {
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	if a.status == http.StatusOK {
		msg, err := ParsePayload(r.Header.Get("Content-Type"), body)
		if err != nil {
			t.Errorf("fake slack: %v", err)
		}
		accepted(msg)
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	b := a.body
	if b == "" && a.status == http.StatusOK {
		b = "ok"
		if strings.HasPrefix(r.URL.Path, "/api/") {
			b = `{"ok":true,"channel":"C1","ts":"1.2"}`
		}
	}
	_, _ = io.WriteString(w, b)
}

func newFakeSlack(t *testing.T, answers ...answer) (*fakeSlack, *httptest.Server) {
	t.Helper()
	fs := &fakeSlack{answers: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(fs.calls.Add(1)) - 1
		a := fs.answers[min(n, len(fs.answers)-1)]
		body, _ := io.ReadAll(r.Body)
		a.serve(t, w, r, body, func(msg slack.WebhookMessage) {
			fs.mu.Lock()
			fs.got = append(fs.got, msg)
			fs.mu.Unlock()
		})
	}))
	t.Cleanup(srv.Close)
	return fs, srv
}

func (fs *fakeSlack) posted() []slack.WebhookMessage {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]slack.WebhookMessage(nil), fs.got...)
}

// fakeClock records sleeps instead of sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func fakeRetrier(p Poster, c *fakeClock) *Retrier {
	return &Retrier{Poster: p, Now: c.Now, Sleep: c.Sleep, Jitter: func(d time.Duration) time.Duration { return 0 }, Log: slog.New(slog.DiscardHandler)}
}

func TestRetrierWebhook(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answers    []answer
		wantErr    string // "" means delivered
		wantCalls  int
		wantSleeps []time.Duration
	}{
		{"ok", []answer{{status: 200}}, "", 1, nil},
		{"429 with Retry-After", []answer{{status: 429, retryAfter: "7"}, {status: 200}}, "", 2, []time.Duration{7 * time.Second}},
		{"429 without Retry-After backs off", []answer{{status: 429}, {status: 200}}, "", 2, []time.Duration{250 * time.Millisecond}},
		{"429 with a date Retry-After backs off", []answer{{status: 429, retryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"}, {status: 200}}, "", 2, []time.Duration{250 * time.Millisecond}},
		{"500s back off exponentially", []answer{{status: 500}, {status: 502}, {status: 503}, {status: 200}}, "", 4,
			[]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}},
		{"500 forever gives up", []answer{{status: 500}}, "gave up after 5 attempts", 5,
			[]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"400 is final", []answer{{status: 400, body: "invalid_blocks"}}, "400", 1, nil},
		{"404 no_service is final", []answer{{status: 404, body: "no_service"}}, "404", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, srv := newFakeSlack(t, tc.answers...)
			clock := &fakeClock{now: time.Now()}
			r := fakeRetrier(WebhookPoster{URL: srv.URL + "/services/T0/B0/SECRET"}, clock)
			err := r.Post(context.Background(), "k", Build(typical()))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
			if got := int(fs.calls.Load()); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if !equalDurations(clock.sleeps, tc.wantSleeps) {
				t.Errorf("sleeps %v, want %v", clock.sleeps, tc.wantSleeps)
			}
			if tc.wantErr == "" {
				if p := fs.posted(); len(p) != 1 || p[0].Text != Build(typical()).Text {
					t.Errorf("slack got %d messages, want the one posted", len(p))
				}
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The deadline bounds everything: a Retry-After that would pass it is not
// waited for.
func TestRetrierGivesUpBeforeDeadline(t *testing.T) {
	fs, srv := newFakeSlack(t, answer{status: 429, retryAfter: "30"}, answer{status: 200})
	clock := &fakeClock{now: time.Now()}
	r := fakeRetrier(WebhookPoster{URL: srv.URL}, clock)
	ctx, cancel := context.WithDeadline(context.Background(), clock.now.Add(10*time.Second))
	defer cancel()
	err := r.Post(ctx, "k", Build(typical()))
	if err == nil || !strings.Contains(err.Error(), "would pass the deadline") {
		t.Fatalf("error %v, want a deadline give-up", err)
	}
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Errorf("error %v does not wrap the rate limit", err)
	}
	if fs.calls.Load() != 1 || len(clock.sleeps) != 0 {
		t.Errorf("%d calls and sleeps %v, want 1 call and no sleep", fs.calls.Load(), clock.sleeps)
	}
}

// A real wait: Slack answers 429 with Retry-After: 1, then accepts.
func TestRetrierRealRetryAfter(t *testing.T) {
	fs, srv := newFakeSlack(t, answer{status: 429, retryAfter: "1"}, answer{status: 200})
	r := &Retrier{Poster: WebhookPoster{URL: srv.URL}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.Post(ctx, "k", Build(typical())); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %s, before Retry-After", el)
	}
	if fs.calls.Load() != 2 || len(fs.posted()) != 1 {
		t.Errorf("%d calls, %d delivered; want 2 and 1", fs.calls.Load(), len(fs.posted()))
	}
}

// A slow Slack: the first attempt hangs until it is cut off, the second
// is answered. The first answer never comes before the test's deadline,
// so only a cut-off attempt lets the post succeed: no clock is read.
func TestRetrierSlowResponse(t *testing.T) {
	fs, srv := newFakeSlack(t, answer{status: 200, delay: time.Hour}, answer{status: 200})
	r := &Retrier{Poster: WebhookPoster{URL: srv.URL}, AttemptTimeout: 100 * time.Millisecond, BaseDelay: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Post(ctx, "k", Build(typical())); err != nil {
		t.Fatalf("the slow attempt was not cut off and retried: %v", err)
	}
	if fs.calls.Load() != 2 || len(fs.posted()) != 1 {
		t.Errorf("%d calls, %d delivered; want 2 and 1", fs.calls.Load(), len(fs.posted()))
	}
}

// Slack slower than the whole invocation: the post ends with the
// invocation's deadline, not the longer attempt timeout.
func TestRetrierSlowPastDeadline(t *testing.T) {
	_, srv := newFakeSlack(t, answer{status: 200, delay: time.Hour})
	r := &Retrier{Poster: WebhookPoster{URL: srv.URL}, AttemptTimeout: time.Hour, BaseDelay: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := r.Post(ctx, "k", Build(typical()))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want deadline exceeded", err)
	}
}

func TestRetrierConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	clock := &fakeClock{now: time.Now()}
	r := fakeRetrier(WebhookPoster{URL: url + "/services/SECRET"}, clock)
	r.MaxAttempts = 2
	err := r.Post(context.Background(), "k", Build(typical()))
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Fatalf("error %v, want retried connection errors", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the webhook URL: %v", err)
	}
}

func TestBotPoster(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answers   []answer
		wantErr   string
		wantCalls int
	}{
		{"ok", []answer{{status: 200}}, "", 1},
		{"429 then ok", []answer{{status: 429, retryAfter: "2"}, {status: 200}}, "", 2},
		{"500 then ok", []answer{{status: 500}, {status: 200}}, "", 2},
		{"ratelimited then ok", []answer{{status: 200, body: `{"ok":false,"error":"ratelimited"}`}, {status: 200}}, "", 2},
		{"channel_not_found is final", []answer{{status: 200, body: `{"ok":false,"error":"channel_not_found"}`}}, "channel_not_found", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, srv := newFakeSlack(t, tc.answers...)
			api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/api/"))
			clock := &fakeClock{now: time.Now()}
			r := fakeRetrier(BotPoster{Client: api, Channel: "C123"}, clock)
			err := r.Post(context.Background(), "k", Build(injected()))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := int(fs.calls.Load()); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if tc.wantErr != "" {
				return
			}
			got := fs.posted()
			if len(got) == 0 {
				t.Fatal("nothing delivered")
			}
			m := got[len(got)-1]
			want := Build(injected())
			if m.Channel != "C123" || m.Text != want.Text || m.Parse != "none" {
				t.Errorf("form: channel %q parse %q text %q", m.Channel, m.Parse, m.Text)
			}
			if m.UnfurlLinks == nil || *m.UnfurlLinks || m.UnfurlMedia == nil || *m.UnfurlMedia {
				t.Error("unfurling not disabled")
			}
			if m.Blocks == nil || len(m.Blocks.BlockSet) != len(want.Blocks.BlockSet) {
				t.Fatalf("blocks not sent")
			}
			checkSafe(t, m)
			if RenderText(m) != RenderText(want) {
				t.Errorf("Slack got other blocks than built:\n%s\nwant:\n%s", RenderText(m), RenderText(want))
			}
		})
	}
}

func TestBotPosterNoChannel(t *testing.T) {
	if err := (BotPoster{}).Post(context.Background(), "k", Build(typical())); err == nil {
		t.Fatal("no error without a channel")
	}
}
