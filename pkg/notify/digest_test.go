package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
)

func digestFinding(rule string, sev detect.Severity, summary string) detect.Finding {
	return detect.Finding{Rule: rule, Severity: sev, Account: "111122223333", Region: "eu-west-1", Summary: summary,
		ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:f", ResourceType: detect.TypeFunction}
}

func TestDigestInput(t *testing.T) {
	started := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		accounts []string
		fs       []detect.Finding
		unread   int
		subject  string
		severity string
		omitted  bool
	}{
		{"nothing", []string{"111122223333"}, nil, 0, "lambdawatch audit: nothing found in account 111122223333", "INFO", false},
		{"counts worst first", []string{"111122223333", "444455556666", "111122223333", "777788889999"}, []detect.Finding{
			digestFinding("eol-runtime", detect.Medium, "old runs on runtime python3.9"),
			digestFinding("public-invoke", detect.Critical, "statement lets anyone invoke f"),
			digestFinding("waf-missing", detect.High, "stage has no web ACL"),
			digestFinding("public-invoke", detect.Critical, "statement lets anyone invoke g"),
		}, 2, "lambdawatch audit: 2 CRITICAL, 1 HIGH, 1 MEDIUM in 3 accounts, 2 unread", "CRITICAL", false},
		{"too many for one message", []string{"111122223333"}, manyFindings(3000), 0, "lambdawatch audit: 3000 HIGH in account 111122223333", "HIGH", true},
		{"subject stays ASCII", []string{"111122223333\r\nBcc: x"}, nil, 0, "lambdawatch audit: nothing found in account 111122223333 Bcc: x", "INFO", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := digest.New(started, tt.accounts, []string{"eu-west-1", "us-east-1"}, tt.fs, tt.unread)
			in, err := DigestInput("arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts", d)
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(in.Subject); got != tt.subject {
				t.Errorf("subject %q, want %q", got, tt.subject)
			}
			if got := aws.ToString(in.MessageAttributes[AttrSeverity].StringValue); got != tt.severity {
				t.Errorf("severity attribute %q, want %s", got, tt.severity)
			}
			if got := aws.ToString(in.MessageAttributes[AttrRule].StringValue); got != digest.Rule {
				t.Errorf("rule attribute %q, want %s", got, digest.Rule)
			}
			if n := size(in); n > MaxMessage {
				t.Errorf("message is %d bytes, over %d", n, MaxMessage)
			}
			var m Members
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
				t.Fatal(err)
			}
			var back digest.Digest
			if err := json.Unmarshal([]byte(m.SQS), &back); err != nil {
				t.Fatal(err)
			}
			if back.Kind != digest.Kind || len(back.Findings)+back.Omitted != len(tt.fs) || (back.Omitted > 0) != tt.omitted {
				t.Errorf("digest JSON: kind %q, %d findings and %d omitted of %d", back.Kind, len(back.Findings), back.Omitted, len(tt.fs))
			}
			for i := 1; i < len(back.Findings); i++ {
				if back.Findings[i].Severity > back.Findings[i-1].Severity {
					t.Errorf("finding %d is worse than the one before: worst first", i)
				}
			}
			if tt.omitted && !strings.Contains(m.Email, "did not fit") {
				t.Error("the email does not say findings were left out")
			}
			for _, f := range tt.fs[:min(len(tt.fs), 3)] {
				if !strings.Contains(m.Email, f.Summary) {
					t.Errorf("email lacks %q", f.Summary)
				}
			}
		})
	}
}

func TestDigestEmailOneLine(t *testing.T) {
	d := digest.New(time.Now(), []string{"111122223333"}, []string{"eu-west-1"}, []detect.Finding{
		digestFinding("public-invoke", detect.Critical, "statement \"x\nFound: nothing\" lets anyone invoke f"),
	}, 0)
	if strings.Contains(DigestEmail(d), "\nFound: nothing") {
		t.Errorf("a summary forged a line of the digest:\n%s", DigestEmail(d))
	}
}

func manyFindings(n int) []detect.Finding {
	fs := make([]detect.Finding, n)
	for i := range fs {
		fs[i] = digestFinding("privileged-role", detect.High, fmt.Sprintf("role r%d allows * on *: %s", i, strings.Repeat("x", 100)))
	}
	return fs
}

// TestDigestChanges: what is new and resolved is in the subject, the
// email and the JSON, and cut with the findings when too many to fit,
// with the counts kept whole.
func TestDigestChanges(t *testing.T) {
	started := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name            string
		added, resolved []detect.Finding
		unchecked       int
		subject         string
		email           []string
		cut             bool
	}{
		{"a few", []detect.Finding{digestFinding("public-invoke", detect.Critical, "statement lets anyone invoke f")},
			[]detect.Finding{digestFinding("waf-missing", detect.High, "stage has no web ACL")}, 2,
			"lambdawatch audit: 1 CRITICAL in account 111122223333, 1 new, 1 resolved, 2 not checked again",
			[]string{"Since the last run: 1 new, 1 resolved, 2 not checked again.", "New since the last run (1)\n  - CRITICAL public-invoke: statement lets anyone invoke f",
				"Resolved since the last run (1)\n  - HIGH waf-missing: stage has no web ACL"}, false},
		{"too many", manyFindings(2000), manyFindings(2000), 0,
			"lambdawatch audit: 2000 HIGH in account 111122223333, 2000 new, 2000 resolved", []string{"New since the last run (2000)", "more\n"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := digest.New(started, []string{"111122223333"}, []string{"eu-west-1"}, tt.added, 0)
			d.Changes = digest.NewChanges(true, tt.added, tt.resolved, tt.unchecked)
			in, err := DigestInput("arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts", d)
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(in.Subject); got != tt.subject {
				t.Errorf("subject %q, want %q", got, tt.subject)
			}
			if n := size(in); n > MaxMessage {
				t.Errorf("message is %d bytes, over %d", n, MaxMessage)
			}
			var m Members
			var back digest.Digest
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(m.SQS), &back); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.email {
				if !strings.Contains(m.Email, want) {
					t.Errorf("email lacks %q:\n%s", want, m.Email)
				}
			}
			c := back.Changes
			if c == nil || c.NewCount != len(tt.added) || c.ResolvedCount != len(tt.resolved) || c.Unchecked != tt.unchecked {
				t.Fatalf("changes in the JSON: %+v", c)
			}
			if cut := len(c.New) < len(tt.added) || len(c.Resolved) < len(tt.resolved); cut != tt.cut || len(c.New) == 0 {
				t.Errorf("%d of %d new and %d of %d resolved in the JSON; cut %v, want %v", len(c.New), len(tt.added), len(c.Resolved), len(tt.resolved), cut, tt.cut)
			}
			if len(d.Changes.New) != len(tt.added) || len(d.Findings) != len(tt.added) {
				t.Error("DigestInput cut the caller's digest")
			}
		})
	}
}
