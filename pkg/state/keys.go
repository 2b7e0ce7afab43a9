package state

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Key prefixes: one per kind of delivery, so that the monitor's publish
// and the Slack function's post of the same finding are claimed apart.
const (
	PublishedPrefix = "published"
	PostedPrefix    = "posted"
)

// maxReadableKey is the longest key kept readable; a longer one ends in a
// digest of its parts instead (see FindingKey).
const maxReadableKey = 1024

// PublishedKey is the key of the monitor's SNS publish of f:
//
//	published#<eventID>#<rule>#<resource>#<principal>
//
// One event can break several rules, on several resources and principals
// (a statement granting two accounts), and each finding is published once.
func PublishedKey(f detect.Finding) string { return FindingKey(PublishedPrefix, f) }

// PostedKey is the key of the Slack function's post of f, with the same
// parts as PublishedKey:
//
//	posted#<eventID>#<rule>#<resource>#<principal>
func PostedKey(f detect.Finding) string { return FindingKey(PostedPrefix, f) }

// FindingKey is prefix#<eventID>#<rule>#<resource>#<principal>, where the
// resource is the finding's ResourceARN (else its Resource), an absent
// principal is empty, and a finding with no event (the audit's) has
// @<its time> for its event ID. Each part has '%' and '#' percent-encoded, so that
// values from CloudTrail cannot make two findings' keys collide. A key
// that would pass 1 KB keeps its prefix, event ID and rule and ends in
// sha256:<hex> of the parts instead, well within DynamoDB's 2 KB.
func FindingKey(prefix string, f detect.Finding) string {
	resource := f.ResourceARN
	if resource == "" {
		resource = f.Resource()
	}
	event := f.EventID
	if event == "" && !f.EventTime.IsZero() {
		// A finding of the audit: no event, and it alerts when first seen.
		event = "@" + f.EventTime.UTC().Format(time.RFC3339Nano)
	}
	parts := []string{prefix, event, f.Rule, resource, f.Principal}
	for i, p := range parts {
		parts[i] = escapeKeyPart(p)
	}
	key := strings.Join(parts, "#")
	if len(key) <= maxReadableKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	head := strings.Join(parts[:3], "#")
	for len(head) > maxReadableKey/2 {
		_, size := utf8.DecodeLastRuneInString(head)
		head = head[:len(head)-size] // whole characters: DynamoDB keeps UTF-8 only
	}
	return head + "#sha256:" + hex.EncodeToString(sum[:])
}

var keyEscaper = strings.NewReplacer("%", "%25", "#", "%23")

func escapeKeyPart(s string) string { return keyEscaper.Replace(s) }
