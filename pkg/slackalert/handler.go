package slackalert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// Handler posts the findings of an SQS batch to Slack and reports the
// messages it could not deliver as batch item failures, so SQS redelivers
// only those (the event source mapping needs ReportBatchItemFailures).
//
// Up to SummaryAbove findings are posted one message each. A larger batch
// becomes one summary message plus, posted in full, at most MaxDetailed
// CRITICAL findings, the first of each rule. Which messages fail then:
//
//   - the summary fails: every message it covers, except CRITICAL ones
//     whose own post succeeded (they are in Slack in full; retrying them
//     would post them twice);
//   - a CRITICAL post fails: that message, even if the summary counted
//     it. Its details would otherwise be lost; a count may be posted
//     twice, a CRITICAL alert never silently dropped.
//
// Identical findings in one batch (at-least-once delivery) are posted once;
// their messages succeed or fail together.
//
// A body that is not a finding, or is larger than SNS delivers (MaxBody),
// is logged with the reason and reported as
// a failure: SQS retries it until maxReceiveCount and then moves it to the
// dead-letter queue, where it can be read, rather than dropping it.
type Handler struct {
	Poster Poster       // usually a *Retrier
	Log    *slog.Logger // nil: slog.Default()
	// State remembers what was posted, across batches, redeliveries and
	// containers; nil: only duplicates within a batch are caught.
	State *state.Store

	SummaryAbove int // 0 means 5
	MaxDetailed  int // 0 means 3; negative means none
	// Reserve is kept back from the invocation's deadline to return the
	// response; 0 means 1s. Posts not done by then count as failed.
	Reserve time.Duration
}

// item is one SQS message of the batch, with the IDs of later messages
// that carry the same finding (SQS and EventBridge deliver at least once):
// those share its fate instead of being posted again.
type item struct {
	index   int
	id      string
	dups    []string
	finding detect.Finding
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// Handle processes one SQS batch. It never returns an error: an error
// would make SQS redeliver the whole batch, posting again what was posted.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := h.log()
	if dl, ok := ctx.Deadline(); ok {
		reserve := orDur(h.Reserve, time.Second)
		if time.Until(dl) > 2*reserve {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
			defer cancel()
		}
	}

	var resp events.SQSEventResponse
	fail := func(id string) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	failedIdx := map[int]bool{}
	failItem := func(it item) {
		failedIdx[it.index] = true
		fail(it.id)
		for _, id := range it.dups {
			fail(id)
		}
	}

	var items []item
	seen := map[string]int{} // finding JSON -> index in items
	bad, dups, digests := 0, 0, 0
	for i, m := range ev.Records {
		// An audit's digest is one post of its own, never part of a
		// summary of findings.
		if d, ok, err := DecodeDigest([]byte(m.Body)); ok {
			if err != nil {
				bad++
				log.ErrorContext(ctx, "bad message: not a digest", "err", fmt.Errorf("message %d (id %s): %w", i, m.MessageId, err),
					"index", i, "messageId", m.MessageId, "body", preview([]byte(m.Body), 500))
				fail(m.MessageId)
				continue
			}
			digests++
			key := "digest#" + KeyDigest(m.Body)
			if err := h.postAs(ctx, fmt.Sprintf("message %d (id %s)", i, m.MessageId), "audit digest", key, BuildDigest(d), "messageId", m.MessageId, "findings", len(d.Findings)+d.Omitted); err != nil {
				fail(m.MessageId)
			}
			continue
		}
		f, err := DecodeFinding([]byte(m.Body))
		if errors.Is(err, ErrTooLarge) {
			// Not read, not quoted: it goes to the dead-letter queue
			// after maxReceiveCount, without holding up the others.
			bad++
			log.ErrorContext(ctx, "bad message: too large",
				"err", fmt.Errorf("message %d (id %s): %w", i, m.MessageId, err),
				"index", i, "messageId", m.MessageId, "bytes", len(m.Body), "maxBytes", MaxBody,
				"receiveCount", m.Attributes["ApproximateReceiveCount"])
			fail(m.MessageId)
			continue
		}
		if err != nil {
			bad++
			log.ErrorContext(ctx, "bad message: not a finding",
				"err", fmt.Errorf("message %d (id %s): %w", i, m.MessageId, err),
				"index", i, "messageId", m.MessageId,
				"receiveCount", m.Attributes["ApproximateReceiveCount"],
				"body", preview([]byte(m.Body), 500))
			fail(m.MessageId)
			continue
		}
		key := f.String()
		if j, ok := seen[key]; ok {
			dups++
			items[j].dups = append(items[j].dups, m.MessageId)
			log.InfoContext(ctx, "duplicate finding in batch: posted once", "index", i, "messageId", m.MessageId,
				"sameAs", items[j].id, "eventID", f.EventID)
			continue
		}
		seen[key] = len(items)
		items = append(items, item{index: i, id: m.MessageId, finding: f})
	}

	items, claims, held := h.claim(ctx, items)
	for _, it := range held {
		failItem(it)
	}
	defer h.settle(ctx, claims, failedIdx)

	summaryAbove := h.SummaryAbove
	if summaryAbove <= 0 {
		summaryAbove = 5
	}
	var posted, failed int
	if len(items) <= summaryAbove {
		for _, it := range items {
			if err := h.post(ctx, it, Build(it.finding)); err != nil {
				failed++
				failItem(it)
				continue
			}
			posted++
		}
	} else {
		failedItems := h.summarize(ctx, items)
		for _, it := range failedItems {
			failItem(it)
		}
		failed = len(failedItems)
		posted = len(items) - failed
	}

	log.InfoContext(ctx, "batch done",
		"messages", len(ev.Records), "findings", len(items), "summary", len(items) > summaryAbove,
		"delivered", posted, "failed", failed, "bad", bad, "duplicates", dups, "digests", digests)
	return resp, nil
}

// claim takes each finding's key in the state table before it is posted:
// findings posted before (another batch, a redelivery) are dropped, and
// findings another container is posting are returned as held, to be
// retried after its lease. A table that cannot say posts anyway.
func (h *Handler) claim(ctx context.Context, items []item) (post []item, claims map[int]state.Claim, held []item) {
	if h.State == nil {
		return items, nil, nil
	}
	claims = map[int]state.Claim{}
	for _, it := range items {
		c, err := h.State.Claim(ctx, state.PostedKey(it.finding))
		switch {
		case errors.Is(err, state.ErrDelivered):
			h.log().InfoContext(ctx, "finding posted before, skipped", "messageId", it.id, "eventID", it.finding.EventID, "rule", it.finding.Rule)
			continue
		case errors.Is(err, state.ErrInProgress):
			h.log().WarnContext(ctx, "finding being posted elsewhere", "messageId", it.id, "err", err)
			held = append(held, it)
			continue
		case err != nil:
			// A duplicate post is better than a lost alert.
			h.log().ErrorContext(ctx, state.LogUnavailable, "messageId", it.id, "err", err)
		case c.TookOver():
			h.log().WarnContext(ctx, state.LogTookOver, "messageId", it.id, "key", c.Key())
		}
		claims[it.index] = c
		post = append(post, it)
	}
	return post, claims, held
}

// settle marks what was posted and releases what was not, so that SQS's
// redelivery posts only the latter.
func (h *Handler) settle(ctx context.Context, claims map[int]state.Claim, failed map[int]bool) {
	for i, c := range claims {
		var err error
		if failed[i] {
			err = c.Release(ctx)
		} else {
			err = c.Done(ctx)
		}
		if err != nil {
			h.log().ErrorContext(ctx, state.LogUnavailable, "err", fmt.Errorf("settling message %d: %w", i, err))
		}
	}
}

// summarize posts the summary and the CRITICAL details; it returns the
// items to report as failed (see Handler).
func (h *Handler) summarize(ctx context.Context, items []item) []item {
	log := h.log()
	maxDetailed := h.MaxDetailed
	if maxDetailed == 0 {
		maxDetailed = 3
	}
	var detailed []item
	detailedRule := map[string]bool{}
	fs := make([]detect.Finding, len(items))
	for i, it := range items {
		fs[i] = it.finding
		// One CRITICAL of each rule in full: in a storm (the same grant
		// on hundreds of functions) more of the same add posts, not news.
		if it.finding.Severity == detect.Critical && len(detailed) < maxDetailed && !detailedRule[it.finding.Rule] {
			detailedRule[it.finding.Rule] = true
			detailed = append(detailed, it)
		}
		// The summary shows counts; the log keeps each alert in full.
		log.InfoContext(ctx, "summarized finding", "index", it.index, "messageId", it.id, "finding", it.finding.String())
	}

	summaryErr := h.postAs(ctx, "summary", fmt.Sprintf("summary of %d findings", len(items)), summaryKey(items), BuildSummary(fs, len(detailed)))

	// ok: posted in full. Items are told apart by their index.
	ok := map[int]bool{}
	var failed []item
	for _, it := range detailed {
		if err := h.post(ctx, it, Build(it.finding)); err != nil {
			failed = append(failed, it)
			continue
		}
		ok[it.index] = true
	}
	if summaryErr != nil {
		for _, it := range items {
			if !ok[it.index] && !slices.ContainsFunc(failed, func(f item) bool { return f.index == it.index }) {
				failed = append(failed, it)
			}
		}
	}
	return failed
}

// post sends one finding's message and logs a failure with the message's
// place in the batch.
func (h *Handler) post(ctx context.Context, it item, msg slack.WebhookMessage) error {
	attrs := []any{"messageId", it.id, "eventID", it.finding.EventID, "rule", it.finding.Rule, "severity", it.finding.Severity.String()}
	if len(it.dups) > 0 {
		attrs = append(attrs, "duplicateMessageIds", it.dups)
	}
	return h.postAs(ctx, fmt.Sprintf("message %d (id %s)", it.index, it.id), "event "+it.finding.EventID, state.PostedKey(it.finding), msg, attrs...)
}

// summaryKey names a summary by the findings it covers.
func summaryKey(items []item) string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = state.PostedKey(it.finding)
	}
	return "summary#" + KeyDigest(strings.Join(keys, "\n"))
}

// postAs posts msg under key (see Poster) and logs the outcome.
func (h *Handler) postAs(ctx context.Context, what, about, key string, msg slack.WebhookMessage, attrs ...any) error {
	var err error
	if cerr := ctx.Err(); cerr != nil {
		// Out of time: do not start a post that cannot finish.
		err = fmt.Errorf("%s: not posted: %w", what, cerr)
	} else if perr := h.Poster.Post(ctx, key, msg); perr != nil {
		err = fmt.Errorf("%s: post to slack: %w", what, perr)
	}
	if err != nil {
		h.log().ErrorContext(ctx, "alert not delivered", append([]any{"err", err, "about", about}, attrs...)...)
		return err
	}
	h.log().InfoContext(ctx, "alert posted", append([]any{"what", what}, attrs...)...)
	return nil
}
