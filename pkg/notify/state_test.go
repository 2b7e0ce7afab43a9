package notify

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

// TestMonitorState: monitors that share a state table (moto's DynamoDB)
// publish each finding once between them; one whose table is gone
// publishes anyway and says so.
func TestMonitorState(t *testing.T) {
	_, db := motostate.StartStateTable(t)
	fs := threeFindings()[:2]

	t.Run("two fresh monitors, one event", func(t *testing.T) {
		p := &fakeSNS{}
		var logs bytes.Buffer
		for range 2 {
			m := newMonitor(p, &fakeJudge{findings: fs}, &logs)
			m.State = state.New(db, "lambdawatch-state")
			if err := m.Handle(t.Context(), event(t, lambdaDetail)); err != nil {
				t.Fatal(err)
			}
		}
		if len(p.ins) != 2 {
			t.Errorf("%d messages for 2 findings sent to two monitors, want 2", len(p.ins))
		}
		if !strings.Contains(logs.String(), "finding published before, skipped") {
			t.Errorf("the second monitor did not say it skipped: %s", logs.String())
		}
	})

	t.Run("failed publish is released for the retry", func(t *testing.T) {
		calls := 0
		p := &fakeSNS{fail: func(n int, in *sns.PublishInput) error {
			calls++
			if calls == 1 {
				return errors.New("InternalError: try again")
			}
			return nil
		}}
		m := newMonitor(p, &fakeJudge{findings: fs[:1]}, &bytes.Buffer{})
		m.State = state.New(db, "lambdawatch-state")
		ev := event(t, strings.Replace(lambdaDetail, "ev-1", "ev-2", 1))
		if err := m.Handle(t.Context(), ev); err == nil {
			t.Fatal("a failed publish did not fail the invocation")
		}
		fresh := newMonitor(p, &fakeJudge{findings: fs[:1]}, &bytes.Buffer{})
		fresh.State = state.New(db, "lambdawatch-state")
		if err := fresh.Handle(t.Context(), ev); err != nil {
			t.Fatalf("the retry: %v", err)
		}
		if len(p.ins) != 1 {
			t.Errorf("%d published, want the retry's one", len(p.ins))
		}
	})

	t.Run("claim held elsewhere fails the invocation", func(t *testing.T) {
		f := fs[0]
		f.EventID = "ev-3"
		if _, err := state.New(db, "lambdawatch-state").Claim(t.Context(), state.PublishedKey(f)); err != nil {
			t.Fatal(err)
		}
		p := &fakeSNS{}
		m := newMonitor(p, &fakeJudge{findings: fs[:1]}, &bytes.Buffer{})
		m.State = state.New(db, "lambdawatch-state")
		err := m.Handle(t.Context(), event(t, strings.Replace(lambdaDetail, "ev-1", "ev-3", 1)))
		if !errors.Is(err, state.ErrInProgress) || len(p.ins) != 0 {
			t.Errorf("got %v and %d messages, want ErrInProgress and none", err, len(p.ins))
		}
	})

	t.Run("table unavailable: delivered anyway", func(t *testing.T) {
		gone := motostate.DynamoDB("http://127.0.0.1:1", 1)
		p := &fakeSNS{}
		var logs bytes.Buffer
		m := newMonitor(p, &fakeJudge{findings: fs}, &logs)
		m.State = state.New(gone, "lambdawatch-state")
		if err := m.Handle(t.Context(), event(t, lambdaDetail)); err != nil {
			t.Fatal(err)
		}
		if len(p.ins) != 2 || !strings.Contains(logs.String(), state.LogUnavailable) {
			t.Errorf("%d published, log %s; want both findings and the state error logged", len(p.ins), logs.String())
		}
	})
}

// TestMonitorSuppress: a suppressed finding is logged, not published.
func TestMonitorSuppress(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l, err := suppress.Parse("s.yaml", []byte("suppressions:\n  - rule: public-invoke\n    reason: the status page is public\n    expires: 2027-01-31\n"), now)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeSNS{}
	var logs bytes.Buffer
	m := newMonitor(p, &fakeJudge{findings: threeFindings()}, &logs)
	m.Suppress, m.Now = l, func() time.Time { return now }
	if err := m.Handle(t.Context(), event(t, lambdaDetail)); err != nil {
		t.Fatal(err)
	}
	if got := p.rules(t); len(got) != 1 || got[0] != detect.RuleFunctionURLAuthNone {
		t.Errorf("published %v, want only the unsuppressed finding", got)
	}
	if !strings.Contains(logs.String(), "the status page is public") {
		t.Errorf("the log does not give the reason: %s", logs.String())
	}
	m.Now = func() time.Time { return now.AddDate(0, 3, 0) } // past its expiry
	p.ins = nil
	if err := m.Handle(t.Context(), event(t, strings.Replace(lambdaDetail, "ev-1", "ev-9", 1))); err != nil {
		t.Fatal(err)
	}
	if len(p.ins) != 2 {
		t.Errorf("after expiry %d published, want 2", len(p.ins))
	}
}

// TestMonitorSecurityHub: with SECURITY_HUB=true a published finding is
// imported into moto's Security Hub under its stable Id; a Security Hub
// out of reach leaves the alert standing and says so.
func TestMonitorSecurityHub(t *testing.T) {
	endpoint := motostate.Start(t)
	hub := securityhub.NewFromConfig(motostate.Config(), func(o *securityhub.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
	product := Config{TopicARN: "arn:aws:sns:" + motostate.Region + ":" + motostate.Account + ":lambdawatch-alerts"}.Product("")
	if product.Account != motostate.Account || product.Region != motostate.Region {
		t.Fatalf("product %+v, want the topic's account and region", product)
	}
	f := threeFindings()[0]
	f.Account, f.Region, f.ResourceARN = motostate.Account, motostate.Region, "arn:aws:lambda:eu-west-1:"+motostate.Account+":function:f"

	p := &fakeSNS{}
	m := newMonitor(p, &fakeJudge{findings: []detect.Finding{f}}, &bytes.Buffer{})
	m.SecurityHub, m.Product = asff.NewImporter(hub), product
	if err := m.Handle(t.Context(), event(t, lambdaDetail)); err != nil {
		t.Fatal(err)
	}
	f.EventID = "ev-1"
	got, err := asff.NewImporter(hub).Get(t.Context(), []string{asff.ID(f)})
	if err != nil || len(got) != 1 || len(p.ins) != 1 {
		t.Fatalf("Security Hub holds %d findings under %s (%v), SNS %d messages; want 1 and 1", len(got), asff.ID(f), err, len(p.ins))
	}

	gone := securityhub.NewFromConfig(motostate.Config(), func(o *securityhub.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})
	var logs bytes.Buffer
	m = newMonitor(p, &fakeJudge{findings: []detect.Finding{f}}, &logs)
	m.SecurityHub, m.Product = asff.NewImporter(gone, asff.WithRetries(1, time.Millisecond)), product
	if err := m.Handle(t.Context(), event(t, strings.Replace(lambdaDetail, "ev-1", "ev-4", 1))); err != nil {
		t.Fatalf("a Security Hub out of reach failed the invocation: %v", err)
	}
	if len(p.ins) != 2 || !strings.Contains(logs.String(), SecurityHubFailed) {
		t.Errorf("%d published, log %s; want the alert and the import's failure logged", len(p.ins), logs.String())
	}
}
