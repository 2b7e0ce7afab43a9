package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// text reads a JSON string, or a number or boolean as written: CloudTrail
// is not consistent about scalar types (versionNumber, invokedViaFunctionUrl).
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[':
		// A type error, so that encoding/json names the field.
		kind := "object"
		if b[0] == '[' {
			kind = "array"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	default:
		*t = text(b)
	}
	return nil
}

func (t text) String() string { return string(t) }

// The request and response fields the rules read. encoding/json matches
// keys without regard to case, as CloudTrail's spellings vary.
type permissionRequest struct {
	FunctionName          text `json:"functionName"`
	StatementID           text `json:"statementId"`
	Action                text `json:"action"`
	Principal             text `json:"principal"`
	SourceArn             text `json:"sourceArn"`
	SourceAccount         text `json:"sourceAccount"`
	EventSourceToken      text `json:"eventSourceToken"`
	Qualifier             text `json:"qualifier"`
	PrincipalOrgID        text `json:"principalOrgID"`
	FunctionURLAuthType   text `json:"functionUrlAuthType"`
	InvokedViaFunctionURL text `json:"invokedViaFunctionUrl"`
	LayerName             text `json:"layerName"`
	VersionNumber         text `json:"versionNumber"`
	OrganizationID        text `json:"organizationId"`
}

type permissionResponse struct {
	Statement text `json:"statement"`
}

type urlRequest struct {
	FunctionName text `json:"functionName"`
	Qualifier    text `json:"qualifier"`
	AuthType     text `json:"authType"`
}

type urlResponse struct {
	FunctionURL text `json:"functionUrl"`
	FunctionArn text `json:"functionArn"`
	AuthType    text `json:"authType"`
}

type configRequest struct {
	FunctionName text       `json:"functionName"`
	Runtime      text       `json:"runtime"`
	Layers       []layerRef `json:"layers"`
}

// layerRef is a layer version ARN as a request lists it: a string, or an
// object with an arn as the response has them.
type layerRef string

func (l *layerRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Arn text `json:"arn"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*l = layerRef(o.Arn)
		return nil
	}
	var t text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = layerRef(t)
	return nil
}

type configResponse struct {
	FunctionName text       `json:"functionName"`
	FunctionArn  text       `json:"functionArn"`
	Runtime      text       `json:"runtime"`
	Layers       []layerRef `json:"layers"`
}

// decodeParams reads raw (requestParameters or responseElements), a JSON
// object, into the struct v points to, field by field: a field of the
// wrong type is reported and left empty, and the others are still read
// (encoding/json stops at the first bad field). Keys match the json tags
// without regard to case, as encoding/json matches them; null and absent
// leave v empty.
func decodeParams(raw json.RawMessage, field string, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s: want an object: %w", field, err)
	}
	var errs []error
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		val, ok := obj[name]
		if !ok {
			for k, kv := range obj {
				if strings.EqualFold(k, name) {
					val, ok = kv, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		if err := json.Unmarshal(val, rv.Field(i).Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				at := name
				if te.Field != "" {
					at += "." + te.Field
				}
				errs = append(errs, fmt.Errorf("%s.%s: want %s, got JSON %s", field, at, te.Type, te.Value))
			} else {
				errs = append(errs, fmt.Errorf("%s.%s: %w", field, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// statementFromRequest builds the statement AddPermission would store from
// its request, for failed calls and records without responseElements.
func statementFromRequest(p permissionRequest) policy.Statement {
	st := policy.Statement{Effect: "Allow", Sid: string(p.StatementID)}
	if p.Principal != "" {
		st.Principals = []policy.Principal{policy.ParsePrincipal(string(p.Principal))}
	}
	if p.Action != "" {
		st.Actions = []string{string(p.Action)}
	}
	add := func(op, name string, v text) {
		if v != "" {
			st.Conditions = append(st.Conditions, policy.Condition{Operator: op, Key: strings.ToLower(name), Name: name, Values: []string{string(v)}})
		}
	}
	add("ArnLike", "AWS:SourceArn", p.SourceArn)
	add("StringEquals", "AWS:SourceAccount", p.SourceAccount)
	add("StringEquals", "aws:PrincipalOrgID", p.PrincipalOrgID)
	add("StringEquals", "aws:PrincipalOrgID", p.OrganizationID)
	add("StringEquals", "lambda:EventSourceToken", p.EventSourceToken)
	add("StringEquals", "lambda:FunctionUrlAuthType", p.FunctionURLAuthType)
	if strings.EqualFold(string(p.InvokedViaFunctionURL), "true") {
		add("Bool", "lambda:InvokedViaFunctionUrl", "true")
	}
	return st
}

// ownerOf is the account that owns the resource: the record's recipient,
// else the account in the first ARN (or partial ARN) given that names one.
func ownerOf(rec cloudtrail.Record, names ...string) string {
	if rec.RecipientAccountID != "" {
		return rec.RecipientAccountID
	}
	for _, n := range names {
		if a, err := awsid.ParseARN(n); err == nil && awsid.IsAccountID(a.Account) {
			return a.Account
		}
		// Lambda also takes partial ARNs: 111122223333:function:name.
		if acct, rest, ok := strings.Cut(n, ":"); ok && awsid.IsAccountID(acct) && strings.HasPrefix(rest, "function:") {
			return acct
		}
	}
	return ""
}

// qualified appends the qualifier to a function name unless it is there.
func qualified(name, qualifier string) string {
	if qualifier == "" || name == "" || strings.HasSuffix(name, ":"+qualifier) {
		return name
	}
	return name + ":" + qualifier
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
