package detect

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity orders findings; higher is worse.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name in any case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// AtLeast lists the severity names at or above s, lowest first; it feeds
// SNS filter policies.
func (s Severity) AtLeast() []string {
	if s < Info {
		s = Info
	}
	if s > Critical {
		return nil
	}
	return append([]string(nil), severityNames[s:]...)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Critical {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Outcomes of the API call a finding comes from.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Finding is one judged event. Its JSON form is the wire format shared by
// `lambdawatch scan --format json`, SNS and the Slack function.
type Finding struct {
	EventID   string    `json:"eventID"`
	EventTime time.Time `json:"eventTime"`
	EventName string    `json:"eventName"`
	Rule      string    `json:"rule"`
	Severity  Severity  `json:"severity"`
	Outcome   string    `json:"outcome"` // empty for a resource's state
	// ResourceARN is the resource judged, with its qualifier; its name as
	// the call gave it when the ARN cannot be completed.
	ResourceARN     string       `json:"resource,omitempty"`
	ResourceType    ResourceType `json:"resourceType,omitempty"`
	Account         string       `json:"account"`
	Region          string       `json:"region"`
	Function        string       `json:"function,omitempty"`
	Layer           string       `json:"layer,omitempty"`
	Principal       string       `json:"principal,omitempty"`
	Conditions      []string     `json:"conditions,omitempty"`
	Action          string       `json:"action,omitempty"`
	StatementID     string       `json:"statementID,omitempty"`
	Runtime         string       `json:"runtime,omitempty"`
	FunctionURL     string       `json:"functionURL,omitempty"`
	Trail           string       `json:"trail,omitempty"`     // name or ARN, as the call gave it
	EventRule       string       `json:"eventRule,omitempty"` // name, or bus/name off the default bus
	EventBus        string       `json:"eventBus,omitempty"`  // EventBridge event bus name
	Topic           string       `json:"topic,omitempty"`     // SNS topic ARN
	Queue           string       `json:"queue,omitempty"`     // SQS queue URL, or ARN from a mapping
	Actor           string       `json:"actor"`
	SourceIPAddress string       `json:"sourceIPAddress"`
	UserAgent       string       `json:"userAgent"`
	ErrorCode       string       `json:"errorCode,omitempty"`
	ErrorMessage    string       `json:"errorMessage,omitempty"`
	Summary         string       `json:"summary"`
	// Suppressed is the reason a suppression entry gives for muting the
	// finding: it is reported, not alerted.
	Suppressed string `json:"suppressed,omitempty"`
}

// Resource names what the finding is about: the function, else the
// layer, trail, EventBridge rule, topic or queue.
func (f Finding) Resource() string {
	_, r := f.ResourceKind()
	return r
}

// ResourceKind is Resource with a label for people: "Function", "Layer",
// "Trail", "EventBridge rule", "SNS topic" or "SQS queue"; both empty when
// the finding names nothing.
func (f Finding) ResourceKind() (label, resource string) {
	for _, r := range []struct{ label, value string }{
		{"Function", f.Function},
		{"Layer", f.Layer},
		{"Trail", f.Trail},
		{"EventBridge rule", f.EventRule},
		{"EventBridge event bus", f.EventBus},
		{"SNS topic", f.Topic},
		{"SQS queue", f.Queue},
	} {
		if r.value != "" {
			return r.label, r.value
		}
	}
	return "", ""
}

// String is the finding's JSON form, for logs.
func (f Finding) String() string {
	b, err := json.Marshal(f)
	if err != nil {
		return f.Rule + ": " + f.Summary
	}
	return string(b)
}
