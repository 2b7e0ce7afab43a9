package slackalert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// MaxBody is the largest message body DecodeFinding reads: SNS publishes
// at most 256 KiB, so a larger body did not come from the alerts topic.
const MaxBody = 256 * 1024

// ErrTooLarge is wrapped by DecodeFinding's error for a body over MaxBody.
var ErrTooLarge = errors.New("message too large")

// DecodeFinding reads one SQS message body: the JSON form of a
// detect.Finding. The error says what is wrong with the body.
func DecodeFinding(body []byte) (detect.Finding, error) {
	var f detect.Finding
	if len(body) > MaxBody {
		return f, fmt.Errorf("body is %d bytes, over the %d bytes SNS delivers: %w", len(body), MaxBody, ErrTooLarge)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return f, errors.New("empty body, want a JSON finding")
	}
	if trimmed[0] != '{' {
		return f, fmt.Errorf("body starts with %q, want a JSON object (a finding)", preview(trimmed, 20))
	}
	if err := json.Unmarshal(trimmed, &f); err != nil {
		return f, fmt.Errorf("body is not a finding: %w", err)
	}
	if f.Rule == "" {
		// An SNS envelope means the subscription lacks raw message
		// delivery; say so rather than just "no rule".
		var env struct{ Type, Message, TopicArn string }
		if json.Unmarshal(trimmed, &env) == nil && env.Type == "Notification" && env.TopicArn != "" {
			return f, errors.New("body is an SNS envelope, not a finding: enable raw message delivery on the SQS subscription")
		}
		return f, errors.New(`body has no "rule": not a finding`)
	}
	// A missing severity would read as INFO and understate the alert.
	var sev struct {
		Severity *json.RawMessage `json:"severity"`
	}
	if json.Unmarshal(trimmed, &sev) != nil || sev.Severity == nil {
		return f, fmt.Errorf(`finding for rule %q has no "severity"`, preview([]byte(f.Rule), 64))
	}
	return f, nil
}

// preview is the start of b for error messages, cut at a rune boundary.
func preview(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
