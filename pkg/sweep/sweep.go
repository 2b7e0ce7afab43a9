// Package sweep is the scheduled audit: the audit function's handler. On
// its schedule it audits the account's regions and publishes one digest;
// in the organization layout it sends one message per account and region
// to a queue instead, and each message is audited by an invocation of its
// own, so that the sweep scales with Lambda's concurrency rather than one
// process (gather.go brings their parts back into one digest). With a
// ledger it remembers each run, and says what changed since the last.
package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/state"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// Target is one account and region to audit: the body of a fan-out
// message.
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Run, Of and Started, set when the sweep remembers, name the run the
	// target is part of, how many targets it has and when it started: its
	// parts are gathered into one digest.
	Run     string    `json:"run,omitempty"`
	Of      int       `json:"of,omitempty"`
	Started time.Time `json:"started,omitzero"`
}

// AuditFunc audits an account in regions: the findings, and the reads
// that failed.
type AuditFunc func(ctx context.Context, account string, regions []string) ([]detect.Finding, []error)

// Publisher publishes to the alert topic.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Sender sends fan-out messages.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Sweep audits on a schedule. Set Queue and QueueURL to fan out.
type Sweep struct {
	Topic   string
	SNS     Publisher
	Audit   AuditFunc
	Regions []string
	// Accounts lists the accounts to audit: the function's own, or the
	// organization's.
	Accounts func(ctx context.Context) ([]string, error)
	// MinSeverity: findings below it are left out of the digest.
	MinSeverity detect.Severity
	// Suppress mutes accepted findings: counted in the digest, not listed.
	Suppress *suppress.List
	// SecurityHub, when set, imports the findings of each digest into
	// Product as well; a failed import is logged, the digest stands.
	SecurityHub *asff.Importer
	Product     asff.Product
	// Ledger, when set, remembers each run's findings by account and
	// region: the digest then says what is new and what was resolved, a
	// new CRITICAL or HIGH finding is also published as an alert once, and
	// Security Hub's findings no longer seen are archived.
	Ledger *ledger.Ledger
	// Claims, with the ledger, publishes a fanned-out run's one digest
	// once; nil publishes it without a claim.
	Claims   *state.Store
	Queue    Sender
	QueueURL string
	// Parallel bounds the accounts audited at once without a queue; 0
	// means 4.
	Parallel int
	Now      func() time.Time
	Log      *slog.Logger
}

func (s *Sweep) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Sweep) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handle takes what invokes the function: EventBridge Scheduler's event
// (any JSON object) or an SQS batch of targets.
func (s *Sweep) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("SQS event: %w", err)
		}
		return s.HandleQueue(ctx, ev)
	}
	return nil, s.HandleSchedule(ctx)
}

// HandleSchedule runs one sweep: every account in every region, audited
// here and published as one digest, or sent to the queue as targets.
func (s *Sweep) HandleSchedule(ctx context.Context) error {
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("sweep: list accounts: %w", err)
	}
	if s.Queue != nil {
		return s.fanOut(ctx, accounts)
	}
	started := s.now()
	var (
		mu     sync.Mutex
		all    []detect.Finding
		unread = map[string][]error{}
		wg     sync.WaitGroup
		sem    = make(chan struct{}, max(s.Parallel, 4))
	)
	for _, a := range accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fs, errs := s.Audit(ctx, a, s.Regions)
			s.logErrors(ctx, a, errs)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, fs...)
			unread[a] = errs
		})
	}
	wg.Wait()
	return s.publish(ctx, started, accounts, s.Regions, all, unread)
}

// closeAfter is how long a fanned-out run may take before the next one
// closes it with the parts that arrived: longer than the schedule's
// retries, shorter than its interval.
const closeAfter = time.Hour

// fanOut sends a target for each account and region, ten to a batch.
func (s *Sweep) fanOut(ctx context.Context, accounts []string) error {
	var entries []sqstypes.SendMessageBatchRequestEntry
	var errs []error
	flush := func() {
		if len(entries) == 0 {
			return
		}
		out, err := s.Queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.QueueURL), Entries: entries})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("sweep: send %d targets: %w", len(entries), err))
		case len(out.Failed) > 0:
			for _, f := range out.Failed {
				errs = append(errs, fmt.Errorf("sweep: send target %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
			}
		}
		entries = entries[:0]
	}
	run := Target{}
	if s.Ledger != nil {
		id, err := newRun(s)
		if err != nil {
			return fmt.Errorf("sweep: name the run: %w", err)
		}
		run = Target{Run: id, Of: len(accounts) * len(s.Regions), Started: s.now().UTC()}
		prev, ok, err := s.Ledger.Begin(ctx, ledger.Run{ID: run.Run, Of: run.Of, Started: run.Started}, s.now())
		switch {
		case err != nil:
			s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit run", "run", run.Run, "err", err)
		case ok && run.Started.Sub(prev.Started) < closeAfter:
			// A retry of the schedule: the run before is still going.
			s.log().InfoContext(ctx, "last run left open", "run", prev.ID, "started", prev.Started)
		case ok:
			if err := s.closeRun(ctx, prev); err != nil {
				s.log().ErrorContext(ctx, "last run not closed", "run", prev.ID, "err", err)
			}
		}
	}
	n := 0
	for _, a := range accounts {
		for _, r := range s.Regions {
			t := run
			t.Account, t.Region = a, r
			body, err := json.Marshal(t)
			if err != nil {
				return err
			}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(n)), MessageBody: aws.String(string(body))})
			n++
			if len(entries) == 10 {
				flush()
			}
		}
	}
	flush()
	s.log().InfoContext(ctx, "sweep fanned out", "run", run.Run, "accounts", len(accounts), "regions", len(s.Regions), "targets", n, "failed", len(errs))
	// An error fails the invocation, and the scheduler's retry sends every
	// target again: a target audited twice is better than one missed.
	return errors.Join(errs...)
}

// HandleQueue audits each target of an SQS batch and publishes a digest
// for it; a target whose digest could not be published is retried.
func (s *Sweep) HandleQueue(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		var t Target
		dec := json.NewDecoder(bytes.NewReader([]byte(m.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil || t.Account == "" || t.Region == "" {
			// Not ours: to the dead-letter queue after a few tries, where it
			// can be read.
			s.log().ErrorContext(ctx, "bad target", "messageId", m.MessageId, "err", fmt.Errorf("want {\"account\":...,\"region\":...}: %v", err))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if t.Run != "" && s.Ledger != nil {
			if t.Started.IsZero() {
				t.Started = s.now()
			}
			if err := s.gather(ctx, t); err != nil {
				s.log().ErrorContext(ctx, "target not done", "messageId", m.MessageId, "account", t.Account, "region", t.Region, "run", t.Run, "err", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
			continue
		}
		started := s.now()
		fs, errs := s.Audit(ctx, t.Account, []string{t.Region})
		s.logErrors(ctx, t.Account, errs)
		if err := s.publish(ctx, started, []string{t.Account}, []string{t.Region}, fs, map[string][]error{t.Account: errs}); err != nil {
			s.log().ErrorContext(ctx, "digest not published", "messageId", m.MessageId, "account", t.Account, "region", t.Region, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (s *Sweep) logErrors(ctx context.Context, account string, errs []error) {
	for _, err := range errs {
		s.log().WarnContext(ctx, "not read", "account", account, "err", err)
	}
}

// publish sends the digest of what was found at or above MinSeverity,
// with what changed since the last run when the sweep remembers; unread
// holds each account's failed reads. A new CRITICAL or HIGH finding is
// also published as an alert, once: one that could not be is an error,
// so that the run is retried.
func (s *Sweep) publish(ctx context.Context, started time.Time, accounts, regions []string, fs []detect.Finding, unread map[string][]error) error {
	d, books, alertErr := s.report(ctx, started, accounts, regions, fs, unread)
	return errors.Join(s.deliver(ctx, d, books), alertErr)
}

// report judges a run's findings into its digest, against the ledger's
// memory when there is one, and alerts the new CRITICAL and HIGH ones; the
// books are to be remembered once the digest is delivered.
func (s *Sweep) report(ctx context.Context, started time.Time, accounts, regions []string, fs []detect.Finding, unread map[string][]error) (digest.Digest, []*ledger.Book, error) {
	var kept, judged []detect.Finding
	suppressed := 0
	for _, f := range fs {
		switch {
		case f.Severity < s.MinSeverity:
			continue
		case s.Suppress.Apply(&f, started):
			suppressed++
			s.log().InfoContext(ctx, "finding suppressed", "rule", f.Rule, "resource", f.ResourceARN, "reason", f.Suppressed)
		default:
			kept = append(kept, f)
		}
		judged = append(judged, f)
	}
	failed := 0
	for _, errs := range unread {
		failed += len(errs)
	}
	d := digest.New(started, accounts, regions, kept, failed)
	d.Suppressed = suppressed
	for _, e := range s.Suppress.Expired(started) {
		d.Expired = append(d.Expired, fmt.Sprintf("%s: %s, expired %s", e.Where(), e.Reason, e.Expires.Format(time.DateOnly)))
	}
	if s.Ledger == nil {
		return d, nil, nil
	}
	books, r := s.recall(ctx, started, accounts, regions, judged, unread)
	d.Changes = digest.NewChanges(r.complete, r.added, r.resolved, r.unchecked)
	return d, books, r.alertErr
}

// deliver publishes d, then remembers the books as reported and imports
// the findings into Security Hub. A digest not published leaves the books
// remembered unreported: the retry's digest tells the same news, and does
// not alert again what was alerted.
func (s *Sweep) deliver(ctx context.Context, d digest.Digest, books []*ledger.Book) error {
	if err := s.publishDigest(ctx, d); err != nil {
		s.remember(ctx, books, d.Started, false)
		return err
	}
	s.remember(ctx, books, d.Started, true)
	s.importDigest(ctx, d)
	return nil
}

func (s *Sweep) publishDigest(ctx context.Context, d digest.Digest) error {
	in, err := notify.DigestInput(s.Topic, d)
	if err != nil {
		return err
	}
	out, err := s.SNS.Publish(ctx, in)
	if err != nil {
		return fmt.Errorf("sweep: publish digest: %w", err)
	}
	s.log().InfoContext(ctx, "digest published", "messageID", aws.ToString(out.MessageId), "subject", aws.ToString(in.Subject),
		"accounts", len(d.Accounts), "regions", len(d.Regions), "findings", len(d.Findings), "unread", d.Unread)
	return nil
}

// recalled is what the ledger told of one run.
type recalled struct {
	complete  bool
	added     []detect.Finding // new, not suppressed
	resolved  []detect.Finding
	unchecked int
	alertErr  error
}

// recall compares each account and region's findings with the last run's
// and alerts the new CRITICAL and HIGH ones. A scope whose memory cannot
// be read is left out of the changes and alerts nothing: every finding in
// it would look new, every run.
func (s *Sweep) recall(ctx context.Context, started time.Time, accounts, regions []string, judged []detect.Finding, unread map[string][]error) ([]*ledger.Book, recalled) {
	byScope := map[ledger.Scope][]detect.Finding{}
	var scopes []ledger.Scope
	for _, a := range accounts {
		for _, r := range regions {
			sc := ledger.Scope{Account: a, Region: r}
			byScope[sc], scopes = nil, append(scopes, sc)
		}
	}
	for _, f := range judged {
		sc := ledger.Scope{Account: f.Account, Region: f.Region}
		if _, ok := byScope[sc]; !ok {
			scopes = append(scopes, sc)
		}
		byScope[sc] = append(byScope[sc], f)
	}
	out := recalled{complete: true}
	var books []*ledger.Book
	var alertErrs []error
	for _, sc := range scopes {
		b, err := s.Ledger.Read(ctx, sc, started)
		if err != nil {
			out.complete = false
			s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit memory", "account", sc.Account, "region", sc.Region, "err", err)
			continue
		}
		c := b.Compare(byScope[sc], started, unreadIn(unread[sc.Account], sc.Region))
		for _, e := range c.New {
			if e.Finding.Suppressed == "" {
				out.added = append(out.added, e.Finding)
			}
		}
		for _, e := range c.Resolved {
			if e.Finding.Suppressed == "" { // muted when last seen: never listed
				out.resolved = append(out.resolved, e.Finding)
			}
		}
		out.unchecked += len(c.Unchecked)
		var alerted []string
		for _, e := range append(c.New, c.Open...) {
			if e.Alerted || e.Finding.Suppressed != "" || e.Finding.Severity < AlertAbove {
				continue
			}
			if err := s.alert(ctx, e.Finding); err != nil {
				alertErrs = append(alertErrs, err)
				continue
			}
			alerted = append(alerted, e.Fingerprint)
		}
		b.MarkAlerted(alerted...)
		books = append(books, &b)
	}
	out.alertErr = errors.Join(alertErrs...)
	return books, out
}

// AlertAbove is the least severity of a finding the sweep publishes as an
// alert of its own when it first sees it: those that page.
const AlertAbove = detect.High

// alert publishes f as the monitor would have, had an event shown it.
func (s *Sweep) alert(ctx context.Context, f detect.Finding) error {
	in, err := notify.PublishInput(s.Topic, f)
	if err != nil {
		return fmt.Errorf("sweep: alert %s on %s: %w", f.Rule, f.ResourceARN, err)
	}
	out, err := s.SNS.Publish(ctx, in)
	if err != nil {
		return fmt.Errorf("sweep: alert %s on %s: publish: %w", f.Rule, f.ResourceARN, err)
	}
	s.log().InfoContext(ctx, "new finding alerted", "rule", f.Rule, "severity", f.Severity.String(), "resource", f.ResourceARN, "messageID", aws.ToString(out.MessageId))
	return nil
}

// remember writes each book back, reported when its digest was published.
// A book that cannot be written is logged: the next run then tells its
// news again, and may alert again, rather than lose it.
func (s *Sweep) remember(ctx context.Context, books []*ledger.Book, now time.Time, reported bool) {
	for _, b := range books {
		if reported {
			b.Reported()
		}
		if err := s.Ledger.Write(ctx, *b, now); err != nil {
			if errors.Is(err, ledger.ErrConflict) {
				s.log().WarnContext(ctx, "audit memory written by another run; this run's left unwritten", "account", b.Scope.Account, "region", b.Scope.Region, "err", err)
				continue
			}
			s.log().ErrorContext(ctx, state.LogUnavailable, "what", "audit memory", "account", b.Scope.Account, "region", b.Scope.Region, "err", err)
		}
	}
}

// importDigest sends a digest's open findings to Security Hub, and marks
// ARCHIVED those resolved whose Id no open finding shares; a failed import
// is logged, the digest stands.
func (s *Sweep) importDigest(ctx context.Context, d digest.Digest) {
	open, started := d.Findings, d.Started
	var resolved []detect.Finding
	if d.Changes != nil {
		resolved = d.Changes.Resolved
	}
	if s.SecurityHub == nil || len(open)+len(resolved) == 0 {
		return
	}
	findings := make([]shtypes.AwsSecurityFinding, 0, len(open)+len(resolved))
	ids := map[string]bool{}
	for _, f := range open {
		findings = append(findings, asff.FromFinding(f, s.Product, started))
		ids[asff.ID(f)] = true
	}
	archived := 0
	for _, f := range resolved {
		if ids[asff.ID(f)] {
			continue // another finding with the same Id is still open
		}
		ids[asff.ID(f)] = true
		findings = append(findings, asff.Archived(asff.FromFinding(f, s.Product, started), started))
		archived++
	}
	res, err := s.SecurityHub.Import(ctx, findings)
	if err != nil {
		s.log().ErrorContext(ctx, notify.SecurityHubFailed, "imported", res.Imported, "failed", len(res.Failed), "error", err)
		return
	}
	s.log().InfoContext(ctx, "imported into security hub", "findings", res.Imported, "archived", archived)
}

// unreadIn says which findings in region this run could not read again,
// from the account's failed reads: all of them after a read of no one
// resource failed (a List, an assumed role), in the region or outside any
// (IAM); those on the resource a failed call named otherwise.
func unreadIn(errs []error, region string) func(detect.Finding) bool {
	all := false
	var resources []string
	for _, err := range errs {
		var where, resource string
		if ce, ok := errors.AsType[*audit.CallError](err); ok {
			where, resource = ce.Where, ce.Resource
		} else if je, ok := errors.AsType[*audit.JudgeError](err); ok {
			where, resource = je.Where, je.Resource
		} else {
			all = true
			continue
		}
		switch {
		case where != region && awsid.IsRegion(where):
			// another region's
		case resource == "":
			all = true
		default:
			resources = append(resources, resource)
		}
	}
	return func(f detect.Finding) bool {
		if all {
			return true
		}
		for _, r := range resources {
			if r == f.ResourceARN || strings.HasPrefix(f.ResourceARN, r+":") || r == f.Function || r == f.Resource() {
				return true
			}
		}
		return false
	}
}
