package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// An Athena row is one line of what Athena's UNLOAD (format JSON) writes
// for a query over the CloudTrail table of the Athena User Guide
// ("Querying AWS CloudTrail logs"): the columns' names in lower case, the
// struct columns as objects, and requestparameters and responseelements as
// strings holding the record's JSON text (the table types them STRING).
// Athena writes every column of the query, NULL as null.
type athenaRow struct {
	EventVersion       string         `json:"eventversion"`
	UserIdentity       athenaIdentity `json:"useridentity"`
	EventTime          *string        `json:"eventtime"`
	EventSource        string         `json:"eventsource"`
	EventName          string         `json:"eventname"`
	AWSRegion          string         `json:"awsregion"`
	SourceIPAddress    string         `json:"sourceipaddress"`
	UserAgent          string         `json:"useragent"`
	ErrorCode          string         `json:"errorcode"`
	ErrorMessage       string         `json:"errormessage"`
	RequestParameters  *string        `json:"requestparameters"`
	ResponseElements   *string        `json:"responseelements"`
	EventID            string         `json:"eventid"`
	EventType          string         `json:"eventtype"`
	RecipientAccountID string         `json:"recipientaccountid"`
}

// athenaIdentity is the useridentity struct column: the fields a Record
// keeps.
type athenaIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalid"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountid"`
	UserName    string `json:"username"`
	InvokedBy   string `json:"invokedby"`
}

// isAthenaRow says whether the object data has a key of an Athena row
// (eventsource, eventname: the case tells them from a record's).
func isAthenaRow(data []byte) bool {
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) != nil {
		return false
	}
	_, source := keys["eventsource"]
	_, name := keys["eventname"]
	return source || name
}

// athenaRecord turns an Athena row into the Record the original CloudTrail
// record decodes to. A column of the wrong type spoils the row, as a bad
// field spoils a record. A JSON-text column that does not hold JSON spoils
// only itself: it comes back as bad, and the record comes without it, so
// that what can be judged from the rest still is.
func athenaRecord(data []byte) (r Record, bad []error, err error) {
	var row athenaRow
	if err := json.Unmarshal(data, &row); err != nil {
		return Record{}, nil, describeColumn(err)
	}
	r = Record{
		EventVersion:       row.EventVersion,
		EventID:            row.EventID,
		EventSource:        row.EventSource,
		EventName:          row.EventName,
		EventType:          row.EventType,
		AWSRegion:          row.AWSRegion,
		SourceIPAddress:    row.SourceIPAddress,
		UserAgent:          row.UserAgent,
		ErrorCode:          row.ErrorCode,
		ErrorMessage:       row.ErrorMessage,
		RecipientAccountID: row.RecipientAccountID,
		UserIdentity:       UserIdentity(row.UserIdentity),
	}
	if row.EventTime != nil {
		// The table keeps eventtime as CloudTrail wrote it.
		t, err := time.Parse(time.RFC3339, *row.EventTime)
		if err != nil {
			return Record{}, nil, fmt.Errorf("column eventtime: %q is not an RFC 3339 time", *row.EventTime)
		}
		r.EventTime = t
	}
	var badReq, badResp error
	r.RequestParameters, badReq = jsonColumn("requestparameters", row.RequestParameters)
	r.ResponseElements, badResp = jsonColumn("responseelements", row.ResponseElements)
	for _, e := range []error{badReq, badResp} {
		if e != nil {
			bad = append(bad, e)
		}
	}
	return r, bad, nil
}

// jsonColumn reads a column holding JSON text. NULL is absent, as Athena
// writes NULL whether the record had null or nothing.
func jsonColumn(name string, s *string) (json.RawMessage, error) {
	if s == nil {
		return nil, nil
	}
	raw := json.RawMessage(*s)
	if err := json.Unmarshal(raw, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("column %s is not JSON (%v): judged without it", name, err)
	}
	return raw, nil
}

// describeColumn names the column of a type error.
func describeColumn(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("column %s: want %s, got JSON %s", strings.ToLower(te.Field), te.Type, te.Value)
	}
	return err
}
