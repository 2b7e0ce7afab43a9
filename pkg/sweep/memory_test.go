package sweep

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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/asff"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
	"github.com/lambdawatch/lambdawatch/pkg/state"
	"github.com/lambdawatch/lambdawatch/pkg/suppress"
)

const (
	memAccount = "111122223333"
	memRegion  = "us-east-1"
)

// on is a finding of rule on function fn in the test's account.
func on(rule string, sev detect.Severity, fn string) detect.Finding {
	return detect.Finding{
		Rule: rule, Severity: sev, Account: memAccount, Region: memRegion, Function: fn,
		ResourceARN: "arn:aws:lambda:" + memRegion + ":" + memAccount + ":function:" + fn, ResourceType: detect.TypeFunction,
		Principal: "*", StatementID: "s-" + fn, Summary: rule + " on " + fn,
	}
}

// split tells the alerts published apart from the digests.
func (t *topic) split(tb testing.TB) (alerts []detect.Finding, digests []digest.Digest) {
	tb.Helper()
	for _, in := range t.got {
		var m notify.Members
		if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
			tb.Fatal(err)
		}
		if aws.ToString(in.MessageAttributes[notify.AttrRule].StringValue) == digest.Rule {
			var d digest.Digest
			if err := json.Unmarshal([]byte(m.SQS), &d); err != nil {
				tb.Fatal(err)
			}
			digests = append(digests, d)
			continue
		}
		var f detect.Finding
		if err := json.Unmarshal([]byte(m.SQS), &f); err != nil {
			tb.Fatal(err)
		}
		alerts = append(alerts, f)
	}
	t.got = nil
	return alerts, digests
}

func functions(fs []detect.Finding) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Function)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// TestSweepRemembers runs the sweep day after day over moto's DynamoDB
// and Security Hub. The digest says what is new and what was resolved; a
// new CRITICAL or HIGH finding alerts once, however many runs see it; a
// finding whose read failed is neither open nor resolved; a run whose
// digest could not be published tells the same news when retried, and
// alerts nothing twice; what is resolved is archived in Security Hub.
func TestSweepRemembers(t *testing.T) {
	endpoint, db := motostate.StartStateTable(t)
	hubClient := securityhub.NewFromConfig(motostate.Config(), func(o *securityhub.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := hubClient.EnableSecurityHub(t.Context(), &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Logf("EnableSecurityHub: %v", err) // moto may not need it
	}
	muted, err := suppress.Parse("suppressions.yaml", []byte("suppressions:\n  - resource: \"*:function:muted\"\n    reason: accepted\n    expires: 2027-06-01\n"), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}

	type run struct {
		name     string
		found    []detect.Finding
		errs     []error
		snsDown  bool
		wantErr  bool
		alerts   string // functions alerted, in order of name
		new      string
		resolved string
		unchk    int
	}
	refused := &audit.CallError{Where: memRegion, Service: "lambda", Call: "GetPolicy", Resource: on("", 0, "lowrt").ResourceARN, Err: context.DeadlineExceeded}
	runs := []run{
		{name: "first run: everything is new",
			found:  []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub"), on(detect.RuleEOLRuntime, detect.Low, "lowrt"), on(detect.RulePublicLayer, detect.High, "layer"), on(detect.RulePublicInvoke, detect.Critical, "muted")},
			alerts: "layer,pub", new: "layer,lowrt,pub"},
		{name: "second run: one resolved, one new, one not read again",
			found:  []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub"), on(detect.RuleCrossAccountInvoke, detect.High, "cross"), on(detect.RulePublicInvoke, detect.Critical, "muted")},
			errs:   []error{refused},
			alerts: "cross", new: "cross", resolved: "layer", unchk: 1},
		{name: "third run, SNS down: nothing delivered, an error for the retry",
			found:   []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub"), on(detect.RulePublicInvoke, detect.Critical, "late")},
			snsDown: true, wantErr: true},
		{name: "its retry: the same news, alerted once",
			found:  []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub"), on(detect.RulePublicInvoke, detect.Critical, "late")},
			alerts: "late", new: "late", resolved: "cross,lowrt"},
		{name: "a quiet run",
			found: []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub"), on(detect.RulePublicInvoke, detect.Critical, "late")}},
	}

	tp := &topic{}
	day := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	var cur run
	s := &Sweep{
		Topic: "arn:aws:sns:us-east-1:111122223333:lambdawatch-alerts", SNS: tp,
		Audit: func(context.Context, string, []string) ([]detect.Finding, []error) {
			return slices.Clone(cur.found), cur.errs
		},
		Regions: []string{memRegion}, Accounts: accounts(memAccount), MinSeverity: detect.Low,
		Suppress:    muted,
		Ledger:      ledger.New(db, motostate.StateTableName, 0),
		SecurityHub: asff.NewImporter(hubClient),
		Product:     asff.Product{Region: memRegion, Account: memAccount},
		Now:         func() time.Time { return day },
		Log:         slog.New(slog.DiscardHandler),
	}
	for _, r := range runs {
		cur = r
		tp.fail = r.snsDown
		err := s.HandleSchedule(t.Context())
		if (err != nil) != r.wantErr {
			t.Fatalf("%s: err %v, want error %v", r.name, err, r.wantErr)
		}
		alerts, digests := tp.split(t)
		if got := functions(alerts); got != r.alerts {
			t.Errorf("%s: alerts for %q, want %q", r.name, got, r.alerts)
		}
		if r.snsDown {
			continue // the retry is the same day's run
		}
		if len(digests) != 1 || digests[0].Changes == nil {
			t.Fatalf("%s: %d digests (%+v), want one with changes", r.name, len(digests), digests)
		}
		c := digests[0].Changes
		if got := functions(c.New); got != r.new || c.NewCount != len(c.New) {
			t.Errorf("%s: new %q (%d), want %q", r.name, got, c.NewCount, r.new)
		}
		if got := functions(c.Resolved); got != r.resolved {
			t.Errorf("%s: resolved %q, want %q", r.name, got, r.resolved)
		}
		if c.Unchecked != r.unchk || !c.Complete {
			t.Errorf("%s: %d unchecked, complete %v; want %d, true", r.name, c.Unchecked, c.Complete, r.unchk)
		}
		day = day.Add(24 * time.Hour)
	}

	// Security Hub holds each finding once, by its stable Id: the open
	// ones active, the resolved ones archived, the muted one suppressed.
	out, err := hubClient.GetFindings(t.Context(), &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, f := range out.Findings {
		key := aws.ToString(f.GeneratorId) + " " + aws.ToString(f.Resources[0].Id)
		if _, dup := state[key]; dup {
			t.Errorf("%s is in Security Hub twice", key)
		}
		state[key] = string(f.RecordState)
	}
	arn := func(fn string) string { return on("", 0, fn).ResourceARN }
	for _, want := range []struct{ rule, fn, state string }{
		{detect.RulePublicInvoke, "pub", "ACTIVE"},
		{detect.RulePublicInvoke, "late", "ACTIVE"},
		{detect.RulePublicLayer, "layer", "ARCHIVED"},
		{detect.RuleCrossAccountInvoke, "cross", "ARCHIVED"},
		{detect.RuleEOLRuntime, "lowrt", "ARCHIVED"},
	} {
		if got := state[asff.GeneratorPrefix+want.rule+" "+arn(want.fn)]; got != want.state {
			t.Errorf("%s on %s is %q in Security Hub, want %s (all: %v)", want.rule, want.fn, got, want.state, state)
		}
	}
}

// TestSweepMemoryUnavailable: with the table out of reach the digest
// still goes out, says the changes are incomplete, alerts nothing it
// cannot tell is new, and logs what the alarm counts.
func TestSweepMemoryUnavailable(t *testing.T) {
	tp := &topic{}
	var logs bytes.Buffer
	gone := motostate.DynamoDB("http://127.0.0.1:1", 1)
	s := &Sweep{
		Topic: "arn:aws:sns:us-east-1:111122223333:lambdawatch-alerts", SNS: tp,
		Audit: func(context.Context, string, []string) ([]detect.Finding, []error) {
			return []detect.Finding{on(detect.RulePublicInvoke, detect.Critical, "pub")}, nil
		},
		Regions: []string{memRegion}, Accounts: accounts(memAccount),
		Ledger: ledger.New(gone, "lambdawatch-state", 0),
		Log:    slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	if err := s.HandleSchedule(t.Context()); err != nil {
		t.Fatal(err)
	}
	alerts, digests := tp.split(t)
	if len(alerts) != 0 || len(digests) != 1 {
		t.Fatalf("%d alerts, %d digests; want the digest alone", len(alerts), len(digests))
	}
	if c := digests[0].Changes; c == nil || c.Complete || len(digests[0].Findings) != 1 {
		t.Errorf("changes %+v with %d findings; want incomplete changes and the finding listed", c, len(digests[0].Findings))
	}
	if !strings.Contains(logs.String(), `"msg":"`+state.LogUnavailable+`"`) {
		t.Errorf("no %q in the log: %s", state.LogUnavailable, logs.String())
	}
}

// TestUnreadIn: which findings a run's failed reads leave unchecked.
func TestUnreadIn(t *testing.T) {
	fn := on(detect.RulePublicInvoke, detect.Critical, "f")
	alias := fn
	alias.ResourceARN += ":prod"
	other := on(detect.RulePublicInvoke, detect.Critical, "g")
	role := detect.Finding{Rule: detect.RulePrivilegedRole, Account: memAccount, Region: memRegion, ResourceARN: "arn:aws:iam::111122223333:role/admin"}
	for _, tt := range []struct {
		name string
		err  error
		want []bool // fn, alias, other, role
	}{
		{"none", nil, []bool{false, false, false, false}},
		{"a call on the function", &audit.CallError{Where: memRegion, Service: "lambda", Call: "GetPolicy", Resource: fn.ResourceARN}, []bool{true, true, false, false}},
		{"the same, another region", &audit.CallError{Where: "eu-west-1", Service: "lambda", Call: "GetPolicy", Resource: fn.ResourceARN}, []bool{false, false, false, false}},
		{"a list in the region", &audit.CallError{Where: memRegion, Service: "lambda", Call: "ListFunctions"}, []bool{true, true, true, true}},
		{"a list in another region", &audit.CallError{Where: "eu-west-1", Service: "lambda", Call: "ListFunctions"}, []bool{false, false, false, false}},
		{"a role's policy, outside any region", &audit.CallError{Where: memAccount, Service: "iam", Call: "GetRolePolicy", Resource: role.ResourceARN}, []bool{false, false, false, true}},
		{"a statement that does not parse", &audit.JudgeError{Where: memRegion, What: "policy", Resource: other.ResourceARN, Err: errors.New("bad")}, []bool{false, false, true, false}},
		{"a role not assumed", errors.New("audit 111122223333: assume lambdawatch-audit: AccessDenied"), []bool{true, true, true, true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var errs []error
			if tt.err != nil {
				errs = append(errs, fmt.Errorf("wrapped: %w", tt.err))
			}
			unread := unreadIn(errs, memRegion)
			for i, f := range []detect.Finding{fn, alias, other, role} {
				if got := unread(f); got != tt.want[i] {
					t.Errorf("%s: unread %v, want %v", f.ResourceARN, got, tt.want[i])
				}
			}
		})
	}
}

// bodies are the targets sent, in order.
func (q *queue) bodies() []string {
	var out []string
	for _, b := range q.batches {
		for _, e := range b {
			out = append(out, aws.ToString(e.MessageBody))
		}
	}
	return out
}

// orgSweep is a sweep of three accounts in two regions that fans out
// through q, remembering in moto's DynamoDB, on the clock *now.
func orgSweep(t *testing.T, tp *topic, q *queue, calls *[]Target, now *time.Time) *Sweep {
	_, db := motostate.StartStateTable(t)
	return &Sweep{
		Topic: "arn:aws:sns:us-east-1:111122223333:lambdawatch-alerts", SNS: tp, Audit: auditor(calls),
		Regions: []string{"eu-west-1", "us-east-1"}, Accounts: accounts("111122223333", "444455556666", "999988887777"),
		MinSeverity: detect.Medium, Queue: q, QueueURL: "https://sqs.us-east-1.amazonaws.com/111122223333/lambdawatch-audit",
		Ledger: ledger.New(db, motostate.StateTableName, 0), Claims: state.New(db, motostate.StateTableName),
		Now: func() time.Time { return *now }, Log: slog.New(slog.DiscardHandler),
	}
}

// TestFanOutOneDigest: a fanned-out run over moto's DynamoDB sends one
// digest for all its targets, whatever the order they are audited in, a
// target delivered twice, or the last one's publish failing once; its
// alerts go out with each target, once.
func TestFanOutOneDigest(t *testing.T) {
	tp, q := &topic{}, &queue{}
	var calls []Target
	day := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	s := orgSweep(t, tp, q, &calls, &day)
	deliver := func(bodies ...string) []string {
		var ev events.SQSEvent
		for i, b := range bodies {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: b, EventSource: "aws:sqs"})
		}
		resp, err := s.HandleQueue(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}
	for _, name := range []string{"first run", "second run"} {
		q.batches, calls = nil, nil
		if err := s.HandleSchedule(t.Context()); err != nil {
			t.Fatal(err)
		}
		bodies := q.bodies()
		if len(bodies) != 6 {
			t.Fatalf("%s: %d targets, want 6", name, len(bodies))
		}
		// Out of order, the fourth twice, the last one's digest refused once.
		for _, i := range []int{3, 0, 5, 3, 1, 4} {
			if failed := deliver(bodies[i]); len(failed) != 0 {
				t.Fatalf("%s: target %d failed", name, i)
			}
		}
		alerts, digests := tp.split(t)
		if len(digests) != 0 {
			t.Fatalf("%s: %d digests before the last target", name, len(digests))
		}
		tp.failRule = digest.Rule
		if failed := deliver(bodies[2]); len(failed) != 1 {
			t.Fatalf("%s: the last target with SNS refusing its digest: failed %v, want it retried", name, failed)
		}
		tp.failRule = ""
		for range 2 { // the retry, and a redelivery after it
			if failed := deliver(bodies[2]); len(failed) != 0 {
				t.Fatalf("%s: the last target's retry failed", name)
			}
		}
		more, digests := tp.split(t)
		alerts = append(alerts, more...)
		if len(calls) != 6 {
			t.Errorf("%s: %d audits for 6 targets, a redelivery audited again: %v", name, len(calls), calls)
		}
		if len(digests) != 1 {
			t.Fatalf("%s: %d digests, want one for the run", name, len(digests))
		}
		d := digests[0]
		if len(d.Accounts) != 3 || len(d.Regions) != 2 || len(d.Findings) != 6 || d.Unread != 2 || d.Changes == nil {
			t.Errorf("%s: digest of %v in %v: %d findings, %d unread, changes %+v; want 3 accounts, 2 regions, 6 findings, 2 unread",
				name, d.Accounts, d.Regions, len(d.Findings), d.Unread, d.Changes)
		}
		wantNew, wantAlerts := 6, 6
		if name == "second run" {
			wantNew, wantAlerts = 0, 0
		}
		if d.Changes != nil && d.Changes.NewCount != wantNew {
			t.Errorf("%s: %d new, want %d", name, d.Changes.NewCount, wantNew)
		}
		if len(alerts) != wantAlerts {
			t.Errorf("%s: %d alerts, want %d", name, len(alerts), wantAlerts)
		}
		day = day.Add(24 * time.Hour)
	}
}

// TestFanOutCloses: a run some of whose targets never report is closed by
// the next one with what arrived, saying how many are missing, once; a
// schedule retried within the hour leaves the run before it open.
func TestFanOutCloses(t *testing.T) {
	tp, q := &topic{}, &queue{}
	var calls []Target
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	s := orgSweep(t, tp, q, &calls, &now)
	schedule := func() []string {
		q.batches = nil
		if err := s.HandleSchedule(t.Context()); err != nil {
			t.Fatal(err)
		}
		return q.bodies()
	}
	deliver := func(body string) {
		resp, err := s.HandleQueue(t.Context(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: body, EventSource: "aws:sqs"}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("target %s: %v %+v", body, err, resp)
		}
	}
	first := schedule()
	for _, b := range first[:4] {
		deliver(b)
	}
	now = now.Add(10 * time.Minute)
	retry := schedule()
	if _, digests := tp.split(t); len(digests) != 0 {
		t.Fatalf("a schedule retried after 10 minutes closed the run before it: %d digests", len(digests))
	}
	for _, b := range retry {
		deliver(b)
	}
	if _, digests := tp.split(t); len(digests) != 1 || digests[0].Missing != 0 {
		t.Fatalf("the retried run: %d digests %+v, want one whole", len(digests), digests)
	}

	// The first run is no longer the latest: make a third whose two last
	// targets never come, and close it a day later.
	now = now.Add(24 * time.Hour)
	third := schedule()
	for _, b := range third[:4] {
		deliver(b)
	}
	tp.split(t)
	now = now.Add(24 * time.Hour)
	fourth := schedule()
	_, digests := tp.split(t)
	if len(digests) != 1 {
		t.Fatalf("closing the run: %d digests, want 1", len(digests))
	}
	d := digests[0]
	if d.Missing != 2 || len(d.Findings) != 4 || !d.Started.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("closed run's digest: %d missing, %d findings, started %s; want 2 missing, the 4 parts' findings, the run's start", d.Missing, len(d.Findings), d.Started)
	}
	// Its late targets complete the set, and publish nothing again.
	for _, b := range third[4:] {
		deliver(b)
	}
	if _, digests := tp.split(t); len(digests) != 0 {
		t.Errorf("the closed run's late targets published %d digests", len(digests))
	}
	if len(fourth) != 6 {
		t.Errorf("%d targets in the run after, want 6", len(fourth))
	}
}
