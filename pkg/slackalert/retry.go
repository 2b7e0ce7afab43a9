package slackalert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// Retrier is a Poster that retries another one: after Retry-After on HTTP
// 429, with exponential backoff and jitter on 5xx, timeouts and dropped
// connections. It never waits past the context's deadline (the Lambda
// invocation's): when the next attempt could not finish in time it gives
// up and returns the last error. Other errors (4xx, invalid_blocks,
// channel_not_found, ...) are returned at once.
type Retrier struct {
	Poster Poster
	Log    *slog.Logger // nil: slog.Default()

	MaxAttempts    int           // attempts in all; 0 means 5
	AttemptTimeout time.Duration // per attempt; 0 means 10s
	BaseDelay      time.Duration // first backoff; 0 means 500ms
	MaxDelay       time.Duration // backoff cap; 0 means 8s
	// MinAttempt is the least time an attempt needs; a retry that would
	// leave less before the deadline is not started. 0 means 200ms.
	MinAttempt time.Duration

	// Tests replace these; nil means real time and math/rand.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(d time.Duration) time.Duration // random in [0, d)
}

func (r *Retrier) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Retrier) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// backoff is the wait before retry n (1-based): exponential, capped, with
// "equal jitter" (half fixed, half random) so that concurrent functions
// spread out but never retry at once.
func (r *Retrier) backoff(n int) time.Duration {
	d := orDur(r.BaseDelay, 500*time.Millisecond)
	limit := orDur(r.MaxDelay, 8*time.Second)
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	if half <= 0 {
		return d
	}
	if r.Jitter != nil {
		return half + r.Jitter(half)
	}
	return half + rand.N(half)
}

// Post sends msg, retrying as described on Retrier.
func (r *Retrier) Post(ctx context.Context, msg slack.WebhookMessage) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	attempts := max(r.MaxAttempts, 0)
	if attempts == 0 {
		attempts = 5
	}
	perAttempt := orDur(r.AttemptTimeout, 10*time.Second)
	minAttempt := orDur(r.MinAttempt, 200*time.Millisecond)

	var last error
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("attempt %d: %w (last error: %v)", n, err, last)
		}
		actx, cancel := context.WithTimeout(ctx, perAttempt)
		err := r.Poster.Post(actx, msg)
		timedOut := actx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			if n > 1 {
				log.InfoContext(ctx, "slack post succeeded after retries", "attempts", n)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("attempt %d: %w: %w", n, ctx.Err(), err)
		}
		last = err
		wait, retry := r.classify(err, timedOut, n)
		if !retry {
			return fmt.Errorf("attempt %d: %w", n, err)
		}
		if n >= attempts {
			return fmt.Errorf("gave up after %d attempts: %w", n, err)
		}
		if dl, ok := ctx.Deadline(); ok && r.now().Add(wait+minAttempt).After(dl) {
			return fmt.Errorf("gave up after %d attempts: waiting %s would pass the deadline (%s left): %w",
				n, wait, dl.Sub(r.now()).Round(time.Millisecond), err)
		}
		log.WarnContext(ctx, "slack post failed, retrying", "attempt", n, "wait", wait.String(), "err", err)
		if err := r.sleep(ctx, wait); err != nil {
			return fmt.Errorf("attempt %d: waiting to retry: %w: %w", n, err, last)
		}
	}
}

// classify says whether err is worth another attempt and after how long.
func (r *Retrier) classify(err error, timedOut bool, n int) (time.Duration, bool) {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		if rl.RetryAfter > 0 {
			return rl.RetryAfter, true
		}
		return r.backoff(n), true
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		// 429 without Retry-After, and 5xx.
		return r.backoff(n), sc.Retryable()
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		// chat.postMessage answers 200 with ok=false; these mean "later".
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return r.backoff(n), true
		}
		return 0, false
	}
	if _, ok := errors.AsType[*strconv.NumError](err); ok {
		// slack-go's answer to a 429 whose Retry-After is not a number.
		return r.backoff(n), true
	}
	if timedOut {
		return r.backoff(n), true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return r.backoff(n), true
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		// Connection refused or reset: Slack or the network hiccuped.
		return r.backoff(n), true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.backoff(n), true
	}
	return 0, false
}
