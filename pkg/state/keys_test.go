package state

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func TestFindingKeys(t *testing.T) {
	grant := detect.Finding{
		EventID:     "6d1c3c0e-0d7a-4c58-9e43-2f6d1b7c9a10",
		Rule:        detect.RuleCrossAccountInvoke,
		ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:pay:prod",
		Principal:   "arn:aws:iam::444455556666:root",
	}
	tests := []struct {
		name      string
		f         detect.Finding
		published string
		posted    string
	}{
		{"a grant", grant,
			"published#6d1c3c0e-0d7a-4c58-9e43-2f6d1b7c9a10#cross-account-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay:prod#arn:aws:iam::444455556666:root",
			"posted#6d1c3c0e-0d7a-4c58-9e43-2f6d1b7c9a10#cross-account-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay:prod#arn:aws:iam::444455556666:root"},
		{"no principal", detect.Finding{EventID: "e1", Rule: detect.RuleTrailDisabled, ResourceARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
			"published#e1#trail-disabled#arn:aws:cloudtrail:us-east-1:111122223333:trail/main#",
			"posted#e1#trail-disabled#arn:aws:cloudtrail:us-east-1:111122223333:trail/main#"},
		{"no ARN: the resource as named", detect.Finding{EventID: "e2", Rule: detect.RuleMonitorTampering, Topic: "alerts"},
			"published#e2#monitor-tampering#alerts#",
			"posted#e2#monitor-tampering#alerts#"},
		// The audit's alerts have no event: each is the finding as first
		// seen, so one that is resolved and comes back posts again.
		{"the audit's: no event, its time instead", detect.Finding{Rule: detect.RulePublicInvoke, ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:pay", Principal: "*",
			EventTime: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)},
			"published#@2026-12-01T06:00:00Z#public-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay#*",
			"posted#@2026-12-01T06:00:00Z#public-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay#*"},
		{"# and % in values are escaped", detect.Finding{EventID: "e#3", Rule: detect.RuleCrossAccountInvoke, ResourceARN: "fn#x", Principal: "100%#"},
			"published#e%233#cross-account-invoke#fn%23x#100%25%23",
			"posted#e%233#cross-account-invoke#fn%23x#100%25%23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PublishedKey(tt.f); got != tt.published {
				t.Errorf("PublishedKey = %q\nwant %q", got, tt.published)
			}
			if got := PostedKey(tt.f); got != tt.posted {
				t.Errorf("PostedKey = %q\nwant %q", got, tt.posted)
			}
		})
	}
}

// TestKeysDoNotCollide: values that would join to the same string without
// escaping give different keys.
func TestKeysDoNotCollide(t *testing.T) {
	a := detect.Finding{EventID: "e", Rule: "r", ResourceARN: "x#y", Principal: "z"}
	b := detect.Finding{EventID: "e", Rule: "r", ResourceARN: "x", Principal: "y#z"}
	if PublishedKey(a) == PublishedKey(b) {
		t.Fatalf("both %q", PublishedKey(a))
	}
}

func TestLongKeysAreDigested(t *testing.T) {
	long := detect.Finding{
		EventID: "e-long", Rule: detect.RuleCrossAccountInvoke,
		ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:" + strings.Repeat("é", 600),
		Principal:   strings.Repeat("p", 3000),
	}
	other := long
	other.Principal += "q"
	k1, k2 := PublishedKey(long), PublishedKey(other)
	for _, k := range []string{k1, k2} {
		if len(k) > maxReadableKey || len(k) > MaxKey || !utf8.ValidString(k) {
			t.Errorf("key of %d bytes (valid UTF-8 %v)", len(k), utf8.ValidString(k))
		}
		if !strings.HasPrefix(k, "published#e-long#cross-account-invoke#sha256:") {
			t.Errorf("key %q", k)
		}
	}
	if k1 == k2 {
		t.Error("different long findings share a key")
	}
	huge := long
	huge.EventID = strings.Repeat("€", 400)
	if k := PublishedKey(huge); len(k) > MaxKey || !utf8.ValidString(k) {
		t.Errorf("key of %d bytes from a huge event ID (valid UTF-8 %v)", len(k), utf8.ValidString(k))
	}
}
