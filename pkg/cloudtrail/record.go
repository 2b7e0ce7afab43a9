// Package cloudtrail reads CloudTrail records in every envelope they travel
// in: EventBridge events, bare records, S3 log files (gzip or not), JSON
// arrays and JSON Lines.
package cloudtrail

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Record is one CloudTrail record: the fields lambdawatch reads. Request
// parameters and response elements stay raw; their shape depends on the
// event and is read by whoever judges it.
type Record struct {
	EventVersion       string          `json:"eventVersion"`
	EventID            string          `json:"eventID"`
	EventTime          time.Time       `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	EventType          string          `json:"eventType"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode"`
	ErrorMessage       string          `json:"errorMessage"`
	RecipientAccountID string          `json:"recipientAccountId"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`

	// Position is where the decoder found the record ("record 12"), for
	// messages about it; empty for records from elsewhere.
	Position string `json:"-"`
}

// UserIdentity is who made the call.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
	InvokedBy   string `json:"invokedBy"`
}

// LambdaSource is the eventSource of Lambda's records.
const LambdaSource = "lambda.amazonaws.com"

// Action is the event name without its API-version suffix:
// AddPermission20150331v2 becomes AddPermission.
func (r Record) Action() string { return StripVersion(r.EventName) }

// Failed reports whether the call was refused or errored.
func (r Record) Failed() bool { return r.ErrorCode != "" }

// Actor is the caller's ARN, or the best name CloudTrail gives for it.
func (r Record) Actor() string {
	u := r.UserIdentity
	switch {
	case u.ARN != "":
		return u.ARN
	case u.InvokedBy != "":
		return u.InvokedBy
	case u.PrincipalID != "":
		return u.PrincipalID
	case u.Type != "":
		return u.Type
	}
	return ""
}

// StripVersion removes the API-version suffix Lambda's event names carry:
// a date of eight digits, optionally followed by vN, at the end of the name.
func StripVersion(name string) string {
	s := name
	if i := strings.LastIndex(s, "v"); i > 0 && i < len(s)-1 && allDigits(s[i+1:]) && len(s[:i]) >= 8 && allDigits(s[i-8:i]) {
		s = s[:i]
	}
	if len(s) > 8 && allDigits(s[len(s)-8:]) {
		s = s[:len(s)-8]
	}
	return s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Envelope is what an EventBridge event says around its detail.
type Envelope struct {
	Account string    // account
	Region  string    // region
	Source  string    // source, such as aws.lambda
	Time    time.Time // time
}

// ParseRecord decodes one bare CloudTrail record, an EventBridge event's
// detail. The envelope fills what the record lacks: recipientAccountId,
// awsRegion, eventSource (aws.lambda: lambda.amazonaws.com), eventTime.
func ParseRecord(detail []byte, env Envelope) (Record, error) {
	var r Record
	if err := json.Unmarshal(detail, &r); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", describe(err))
	}
	if r.RecipientAccountID == "" {
		r.RecipientAccountID = env.Account
	}
	if r.AWSRegion == "" {
		r.AWSRegion = env.Region
	}
	if r.EventSource == "" {
		if service, ok := strings.CutPrefix(env.Source, "aws."); ok && service != "" {
			r.EventSource = service + ".amazonaws.com"
		}
	}
	if r.EventTime.IsZero() {
		r.EventTime = env.Time
	}
	return r, nil
}
