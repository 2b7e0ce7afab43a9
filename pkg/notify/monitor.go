package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// Publisher is the part of the SNS client the monitor uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Judge judges one CloudTrail record; *detect.Engine is one.
type Judge interface {
	Judge(rec cloudtrail.Record) ([]detect.Finding, error)
}

// SourceLambda is the EventBridge source of Lambda's events; the monitor
// reads every source in detect.Watched, with detail type
// cloudtrail.DetailType.
const SourceLambda = "aws.lambda"

// watchedSource reports whether an EventBridge source (byEventSource
// false) or a CloudTrail eventSource (true) is one detect.Watched lists.
func watchedSource(s string, byEventSource bool) bool {
	for _, w := range detect.Watched {
		if byEventSource && strings.EqualFold(s, w.EventSource) || !byEventSource && s == w.Source {
			return true
		}
	}
	return false
}

// DefaultRemembered is how many published findings a warm monitor
// remembers to drop redeliveries: many minutes' worth even in a busy
// account, a few hundred kilobytes of memory.
const DefaultRemembered = 4096

// Monitor is the monitor function's handler: it judges the CloudTrail
// record an EventBridge event carries and publishes each finding at or
// above MinSeverity to Topic.
type Monitor struct {
	Topic       string
	SNS         Publisher
	Judge       Judge
	MinSeverity detect.Severity
	Log         *slog.Logger // nil: slog.Default()
	// State remembers what was published across containers and retries;
	// nil: this container remembers alone.
	State *state.Store
	// Suppress mutes accepted findings: logged, not published.
	Suppress *suppress.List
	// SecurityHub, when set, imports each published finding into Product
	// as well. Security Hub is a second copy: a failed import is logged,
	// and the alert stands.
	SecurityHub *asff.Importer
	Product     asff.Product
	Now         func() time.Time // nil: time.Now

	once sync.Once
	seen *recent
}

func (m *Monitor) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}

// Handle handles one EventBridge event. Events that are not CloudTrail
// records of the services detect.Watched lists, and records that raise
// nothing, succeed quietly.
// A record that cannot be decoded is logged as an error and succeeds too:
// retrying cannot repair it, and a failure would only delay the events
// behind it. A finding that cannot be published after the SDK's retries
// fails the invocation, so that Lambda retries it; findings already
// published are remembered and not published again by the retry.
func (m *Monitor) Handle(ctx context.Context, ev events.CloudWatchEvent) error {
	m.once.Do(func() { m.seen = newRecent(DefaultRemembered) })
	log := m.log().With("event", ev.ID)

	if ev.DetailType != cloudtrail.DetailType || !watchedSource(ev.Source, false) {
		log.Debug("ignored event", "source", ev.Source, "detailType", ev.DetailType)
		return nil
	}
	rec, err := cloudtrail.ParseRecord(ev.Detail, cloudtrail.Envelope{Account: ev.AccountID, Region: ev.Region, Source: ev.Source, Time: ev.Time})
	if err != nil {
		log.Error("malformed CloudTrail record, dropped", "error", err, "detailBytes", len(ev.Detail))
		return nil
	}
	log = log.With("eventID", rec.EventID, "eventName", rec.EventName)
	if !watchedSource(rec.EventSource, true) {
		log.Debug("ignored record of another service", "eventSource", rec.EventSource)
		return nil
	}

	findings, err := m.Judge.Judge(rec)
	if err != nil {
		// The engine still returns what it could judge: publish that.
		log.Error("record partly judged", "error", err, "findings", len(findings))
	}
	if len(findings) == 0 {
		log.Debug("no findings", "action", rec.Action())
		return nil
	}

	var errs []error
	for i, f := range findings {
		if f.Severity < m.MinSeverity {
			log.Debug("finding below minimum severity", "rule", f.Rule, "severity", f.Severity)
			continue
		}
		if m.Suppress.Apply(&f, m.now()) {
			log.Info("finding suppressed", "rule", f.Rule, "resource", f.ResourceARN, "principal", f.Principal, "reason", f.Suppressed)
			continue
		}
		key := dedupeKey(rec, ev, i, f)
		if m.seen.has(key) {
			log.Info("finding already published, skipped", "rule", f.Rule, "key", key)
			continue
		}
		claim, err := m.State.Claim(ctx, state.PublishedKey(f))
		switch {
		case errors.Is(err, state.ErrDelivered):
			m.seen.add(key)
			log.Info("finding published before, skipped", "rule", f.Rule, "key", key)
			continue
		case errors.Is(err, state.ErrInProgress):
			// Another delivery holds it: fail, so that Lambda retries
			// after its lease, when it is either done or free again.
			log.Warn("finding being published elsewhere", "rule", f.Rule, "error", err)
			errs = append(errs, err)
			continue
		case err != nil:
			// A duplicate is better than a lost alert.
			log.Error(state.LogUnavailable, "rule", f.Rule, "error", err)
		case claim.TookOver():
			log.Warn(state.LogTookOver, "rule", f.Rule, "key", claim.Key())
		}
		id, err := m.publish(ctx, f)
		if err != nil {
			log.Error("publish failed", "rule", f.Rule, "error", err)
			if rerr := claim.Release(ctx); rerr != nil {
				log.Warn("claim not released: the retry waits for its lease", "error", rerr)
			}
			errs = append(errs, err)
			continue
		}
		m.seen.add(key)
		if err := claim.Done(ctx); err != nil {
			log.Error(state.LogUnavailable, "rule", f.Rule, "error", fmt.Errorf("published as %s but not marked: a retry after the lease may publish again: %w", id, err))
		}
		log.Info("published", "rule", f.Rule, "severity", f.Severity, "resource", f.Resource(), "messageID", id)
		m.importFinding(ctx, log, f)
	}
	if len(errs) > 0 {
		return fmt.Errorf("event %s: %d of %d findings not published: %w", rec.EventID, len(errs), len(findings), errors.Join(errs...))
	}
	return nil
}

// SecurityHubFailed is the message logged when a finding published to
// SNS could not be imported into Security Hub.
const SecurityHubFailed = "security hub import failed"

func (m *Monitor) importFinding(ctx context.Context, log *slog.Logger, f detect.Finding) {
	if m.SecurityHub == nil {
		return
	}
	a := asff.FromFinding(f, m.Product, m.now())
	if _, err := m.SecurityHub.Import(ctx, []types.AwsSecurityFinding{a}); err != nil {
		log.Error(SecurityHubFailed, "rule", f.Rule, "id", asff.ID(f), "error", err)
		return
	}
	log.Info("imported into security hub", "rule", f.Rule, "id", asff.ID(f))
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Monitor) publish(ctx context.Context, f detect.Finding) (string, error) {
	in, err := PublishInput(m.Topic, f)
	if err != nil {
		return "", err
	}
	out, err := m.SNS.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("publish %s finding of event %s to %s: %w", f.Rule, f.EventID, m.Topic, err)
	}
	return aws.ToString(out.MessageId), nil
}

// dedupeKey names one finding of one event. The engine judges a
// redelivered event to the same findings in the same order, so the event's
// id and the finding's place name it across deliveries; rule, resource and
// principal make the key readable in logs. Without a CloudTrail eventID
// the EventBridge id stands in.
func dedupeKey(rec cloudtrail.Record, ev events.CloudWatchEvent, i int, f detect.Finding) string {
	id := rec.EventID
	if id == "" {
		id = "eb:" + ev.ID
	}
	return fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", id, i, f.Rule, f.Resource(), f.Principal)
}

// recent is a bounded set of strings: the oldest is forgotten first.
type recent struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recent) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[k]
	return ok
}

func (r *recent) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[k]; ok {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = k
	r.set[k] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}
