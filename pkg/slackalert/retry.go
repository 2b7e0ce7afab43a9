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
//
// An attempt that timed out, or whose connection dropped after the request
// went out, may have posted: Slack can accept a message and answer late.
// With a Finder, the Retrier reads Slack back before the next attempt and
// counts a message found there as posted; a read that fails is logged
// (LogReadBackFailed) and the message posted again: a duplicate is better
// than a lost alert. Without a Finder (an incoming webhook, which cannot
// be read) such a message may show twice.
type Retrier struct {
	Poster Poster
	// Finder reads back what Poster posted; nil: nothing is read back.
	Finder Finder
	Log    *slog.Logger // nil: slog.Default()

	MaxAttempts    int           // attempts in all; 0 means 5
	AttemptTimeout time.Duration // per attempt, and per read-back; 0 means 10s
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

// Log messages of the read-back.
const (
	LogFoundPosted    = "slack post found after an unanswered attempt: not posted again"
	LogNotFound       = "slack post not found after an unanswered attempt: posting again"
	LogReadBackFailed = "slack read-back failed: posting again"
)

// readBackSkew is how long before the first attempt the read-back looks:
// Slack stamps messages with its own clock.
const readBackSkew = 10 * time.Second

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

// Post sends msg, retrying as described on Retrier; key goes to Poster
// and Finder.
func (r *Retrier) Post(ctx context.Context, key string, msg slack.WebhookMessage) error {
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

	since := r.now().Add(-readBackSkew)
	unsure := false // an attempt so far may have posted
	var last error
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("attempt %d: %w (last error: %v)", n, err, last)
		}
		if unsure && r.found(ctx, log, key, since, perAttempt, n-1) {
			return nil
		}
		actx, cancel := context.WithTimeout(ctx, perAttempt)
		err := r.Poster.Post(actx, key, msg)
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
		unsure = unsure || unanswered(err, timedOut)
		wait, retry := r.classify(err, timedOut, n)
		if !retry {
			return fmt.Errorf("attempt %d: %w", n, err)
		}
		if n >= attempts {
			if unsure && r.found(ctx, log, key, since, perAttempt, n) {
				return nil
			}
			return fmt.Errorf("gave up after %d attempts: %w", n, err)
		}
		if dl, ok := ctx.Deadline(); ok && r.now().Add(wait+minAttempt).After(dl) {
			return fmt.Errorf("gave up after %d attempts: waiting %s would pass the deadline (%s left): %w",
				n, wait, dl.Sub(r.now()).Round(time.Millisecond), err)
		}
		log.WarnContext(ctx, "slack post failed, retrying", "attempt", n, "wait", wait.String(), "err", err)
		// The wait comes before the read-back: a message Slack accepted
		// late has had the time to show.
		if err := r.sleep(ctx, wait); err != nil {
			return fmt.Errorf("attempt %d: waiting to retry: %w: %w", n, err, last)
		}
	}
}

// found reads Slack back after an attempt whose outcome is unknown. A read
// that fails counts as not found: posting again risks a duplicate, not
// posting a lost alert.
func (r *Retrier) found(ctx context.Context, log *slog.Logger, key string, since time.Time, timeout time.Duration, attempts int) bool {
	if r.Finder == nil || key == "" {
		return false
	}
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := r.Finder.Posted(fctx, key, since)
	switch {
	case err != nil:
		log.WarnContext(ctx, LogReadBackFailed, "attempts", attempts, "err", err)
	case ok:
		log.InfoContext(ctx, LogFoundPosted, "attempts", attempts)
	default:
		log.InfoContext(ctx, LogNotFound, "attempts", attempts)
	}
	return ok && err == nil
}

// unanswered reports whether a failed attempt may have posted all the
// same: it timed out, or the connection dropped once the request could
// have gone out. A connection never made posted nothing.
func unanswered(err error, timedOut bool) bool {
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return false
	}
	if timedOut {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
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
