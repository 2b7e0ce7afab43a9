package slackalert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
)

func digestBody(t *testing.T, d digest.Digest) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHandleDigest: a digest is one post of its own beside the batch's
// findings; a digest that cannot be read is a failure, not a finding.
func TestHandleDigest(t *testing.T) {
	fs := []detect.Finding{
		{Rule: detect.RulePublicInvoke, Severity: detect.Critical, Summary: "statement lets <!channel> invoke f"},
		{Rule: detect.RuleEOLRuntime, Severity: detect.Medium, Summary: "old runs on runtime python3.9"},
	}
	d := digest.New(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), []string{"111122223333"}, []string{"eu-west-1"}, fs, 1)
	finding := detect.Finding{Rule: detect.RuleFunctionURLAuthNone, Severity: detect.High, EventID: "e1", Summary: "made a URL"}
	rec := &recorder{}
	h := &Handler{Poster: rec}
	resp, _ := h.Handle(t.Context(), event(t, digestBody(t, d), body(t, finding), `{"kind":"audit-digest","findings":7}`))
	if len(rec.got) != 2 {
		t.Fatalf("%d posts, want the digest and the finding", len(rec.got))
	}
	dm := rec.got[0]
	if !strings.Contains(dm.Text, "1 CRITICAL, 1 MEDIUM") {
		t.Errorf("digest post text %q lacks the counts", dm.Text)
	}
	if err := CheckLimits(dm); err != nil {
		t.Errorf("digest post breaks Slack's limits: %v", err)
	}
	blocks, _ := json.Marshal(dm.Blocks)
	if strings.Contains(string(blocks), "<!channel>") || !strings.Contains(string(blocks), "1 read failed") {
		t.Errorf("digest blocks: %s", blocks)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Errorf("failures %+v, want the unreadable digest m2", resp.BatchItemFailures)
	}
}

// TestHandleDigestFailed: a digest whose post fails is retried by SQS.
func TestHandleDigestFailed(t *testing.T) {
	d := digest.New(time.Now(), []string{"111122223333"}, []string{"eu-west-1"}, nil, 0)
	rec := &recorder{fail: []string{"lambdawatch audit"}}
	resp, _ := (&Handler{Poster: rec}).Handle(t.Context(), event(t, digestBody(t, d)))
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("failures %+v, want the digest", resp.BatchItemFailures)
	}
}

// TestBuildDigestChanges: the post says what is new and what was
// resolved, escaped, within Slack's limits.
func TestBuildDigestChanges(t *testing.T) {
	added := []detect.Finding{{Rule: detect.RulePublicInvoke, Severity: detect.Critical, Summary: "statement lets <!here> invoke f"}}
	var resolved []detect.Finding
	for range 40 {
		resolved = append(resolved, detect.Finding{Rule: detect.RuleWAFMissing, Severity: detect.High, Summary: "stage has no web ACL " + strings.Repeat("x", 200)})
	}
	d := digest.New(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), []string{"111122223333"}, []string{"eu-west-1"}, added, 0)
	d.Changes = digest.NewChanges(false, added, resolved, 3)
	msg := BuildDigest(d)
	if err := CheckLimits(msg); err != nil {
		t.Fatalf("digest post breaks Slack's limits: %v", err)
	}
	blocks, _ := json.Marshal(msg.Blocks)
	for _, want := range []string{"1 new, 40 resolved, 3 not checked again", "*New*", "*Resolved*", "and 30 more", "could not be recalled"} {
		if !strings.Contains(string(blocks), want) {
			t.Errorf("digest blocks lack %q: %s", want, blocks)
		}
	}
	if strings.Contains(string(blocks), "<!here>") {
		t.Errorf("a summary pinged the channel: %s", blocks)
	}
}
