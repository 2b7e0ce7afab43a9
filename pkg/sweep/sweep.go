// Package sweep is the scheduled audit: the audit function's handler. On
// its schedule it audits the account's regions and publishes one digest;
// in the organization layout it sends one message per account and region
// to a queue instead, and each message is audited by an invocation of its
// own, so that the sweep scales with Lambda's concurrency rather than one
// process.
package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// Target is one account and region to audit: the body of a fan-out
// message.
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
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
	Queue       Sender
	QueueURL    string
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
		unread int
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
			unread += len(errs)
		})
	}
	wg.Wait()
	return s.publish(ctx, started, accounts, s.Regions, all, unread)
}

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
	n := 0
	for _, a := range accounts {
		for _, r := range s.Regions {
			body, err := json.Marshal(Target{Account: a, Region: r})
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
	s.log().InfoContext(ctx, "sweep fanned out", "accounts", len(accounts), "regions", len(s.Regions), "targets", n, "failed", len(errs))
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
		started := s.now()
		fs, errs := s.Audit(ctx, t.Account, []string{t.Region})
		s.logErrors(ctx, t.Account, errs)
		if err := s.publish(ctx, started, []string{t.Account}, []string{t.Region}, fs, len(errs)); err != nil {
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

// publish sends the digest of what was found at or above MinSeverity.
func (s *Sweep) publish(ctx context.Context, started time.Time, accounts, regions []string, fs []detect.Finding, unread int) error {
	kept := fs[:0:0]
	suppressed := 0
	for _, f := range fs {
		switch {
		case f.Severity < s.MinSeverity:
		case s.Suppress.Apply(&f, started):
			suppressed++
			s.log().InfoContext(ctx, "finding suppressed", "rule", f.Rule, "resource", f.ResourceARN, "reason", f.Suppressed)
		default:
			kept = append(kept, f)
		}
	}
	d := digest.New(started, accounts, regions, kept, unread)
	d.Suppressed = suppressed
	for _, e := range s.Suppress.Expired(started) {
		d.Expired = append(d.Expired, fmt.Sprintf("%s: %s, expired %s", e.Where(), e.Reason, e.Expires.Format(time.DateOnly)))
	}
	in, err := notify.DigestInput(s.Topic, d)
	if err != nil {
		return err
	}
	out, err := s.SNS.Publish(ctx, in)
	if err != nil {
		return fmt.Errorf("sweep: publish digest: %w", err)
	}
	s.log().InfoContext(ctx, "digest published", "messageID", aws.ToString(out.MessageId), "subject", aws.ToString(in.Subject),
		"accounts", len(accounts), "regions", len(regions), "findings", len(kept), "unread", unread)
	if s.SecurityHub != nil && len(kept) > 0 {
		findings := make([]shtypes.AwsSecurityFinding, len(kept))
		for i, f := range kept {
			findings[i] = asff.FromFinding(f, s.Product, started)
		}
		res, err := s.SecurityHub.Import(ctx, findings)
		if err != nil {
			s.log().ErrorContext(ctx, notify.SecurityHubFailed, "imported", res.Imported, "failed", len(res.Failed), "error", err)
		} else {
			s.log().InfoContext(ctx, "imported into security hub", "findings", res.Imported)
		}
	}
	return nil
}
