// Package policy reads the resource-policy statements Lambda stores for
// functions and layer versions, and says whom they let in.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
)

// PrincipalKind says what sort of caller a principal names.
type PrincipalKind int

// Principal kinds.
const (
	Unknown  PrincipalKind = iota
	Wildcard               // "*" or {"AWS":"*"}
	Account                // an account ID, its root, or a role or user in it
	Service                // an AWS service, such as s3.amazonaws.com
)

// Principal is one caller a statement allows.
type Principal struct {
	Kind    PrincipalKind
	Value   string // as written: "*", an ARN, an account ID, a service name
	Account string // for Account: the 12-digit account
}

// Statement is one statement of a resource policy. Condition keys are kept
// in lower case, since IAM compares them without regard to case.
type Statement struct {
	Sid        string
	Effect     string
	Principals []Principal
	// NotPrincipals: with Allow, the statement lets in everyone but these.
	NotPrincipals []Principal
	Actions       []string
	Resources     []string
	Conditions    []Condition
}

// Condition is one operator-key pair and its values.
type Condition struct {
	Operator string
	Key      string // lower case, for matching
	Name     string // the key as written, for people
	Values   []string
}

// String writes the condition as a person reads it:
// StringEquals aws:SourceAccount=111122223333.
func (c Condition) String() string {
	return c.Operator + " " + c.Name + "=" + strings.Join(c.Values, ",")
}

// Condition keys lambdawatch reads, in lower case.
const (
	KeySourceAccount         = "aws:sourceaccount"
	KeySourceOwner           = "aws:sourceowner"
	KeyPrincipalAccount      = "aws:principalaccount"
	KeySourceArn             = "aws:sourcearn"
	KeyPrincipalArn          = "aws:principalarn"
	KeyPrincipalOrgID        = "aws:principalorgid"
	KeySourceOrgID           = "aws:sourceorgid"
	KeyPrincipalOrgPaths     = "aws:principalorgpaths"
	KeyEventSourceToken      = "lambda:eventsourcetoken"
	KeyFunctionURLAuthType   = "lambda:functionurlauthtype"
	KeyInvokedViaFunctionURL = "lambda:invokedviafunctionurl"
)

// ParsePrincipal classifies a principal given as a plain string, as
// AddPermission's request takes it.
func ParsePrincipal(s string) Principal {
	s = strings.TrimSpace(s)
	p := Principal{Value: s}
	switch {
	case s == "*":
		p.Kind = Wildcard
	case awsid.IsAccountID(s):
		p.Kind, p.Account = Account, s
	case strings.HasPrefix(s, "arn:"):
		if a, err := awsid.ParseARN(s); err == nil && (a.Service == "iam" || a.Service == "sts") && awsid.IsAccountID(a.Account) {
			p.Kind, p.Account = Account, a.Account
		}
	case strings.Contains(s, ".") && !strings.ContainsAny(s, ":/* "):
		// Service principals are host names: s3.amazonaws.com,
		// alexa-appkit.amazon.com, states.amazonaws.com.cn.
		p.Kind = Service
	}
	return p
}

// MaxStatement is the largest statement ParseStatement reads: Lambda
// stores at most 20 KB of resource policy per function, so one statement
// cannot be larger; anything bigger did not come from Lambda.
const MaxStatement = 20 * 1024

// ErrTooLarge is wrapped by the error for a statement over MaxStatement.
var ErrTooLarge = errors.New("statement too large")

// ParseStatement reads one statement, as Lambda returns it in
// responseElements.statement of AddPermission.
func ParseStatement(data []byte) (Statement, error) {
	if len(data) > MaxStatement {
		return Statement{}, fmt.Errorf("statement: %d bytes, over the %d bytes Lambda allows a whole function policy: %w", len(data), MaxStatement, ErrTooLarge)
	}
	var raw struct {
		Sid       string                                `json:"Sid"`
		Effect    string                                `json:"Effect"`
		Principal json.RawMessage                       `json:"Principal"`
		NotPrin   json.RawMessage                       `json:"NotPrincipal"`
		Action    stringList                            `json:"Action"`
		Resource  stringList                            `json:"Resource"`
		Condition map[string]map[string]json.RawMessage `json:"Condition"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Statement{}, fmt.Errorf("statement: %w", err)
	}
	st := Statement{Sid: raw.Sid, Effect: raw.Effect, Actions: raw.Action, Resources: raw.Resource}
	principals, err := parsePrincipalBlock(raw.Principal)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: Principal: %w", err)
	}
	st.Principals = principals
	if st.NotPrincipals, err = parsePrincipalBlock(raw.NotPrin); err != nil {
		return Statement{}, fmt.Errorf("statement: NotPrincipal: %w", err)
	}

	// Map order is random; sort so that findings come out the same each run.
	ops := make([]string, 0, len(raw.Condition))
	for op := range raw.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(raw.Condition[op]))
		for k := range raw.Condition[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var vals stringList
			if err := json.Unmarshal(raw.Condition[op][k], &vals); err != nil {
				return Statement{}, fmt.Errorf("statement: Condition %s %s: %w", op, k, err)
			}
			st.Conditions = append(st.Conditions, Condition{Operator: op, Key: strings.ToLower(k), Name: k, Values: vals})
		}
	}
	return st, nil
}

func parsePrincipalBlock(data json.RawMessage) ([]Principal, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		return []Principal{ParsePrincipal(s)}, nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("want a string or an object of strings: %w", err)
	}
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var out []Principal
	for _, kind := range kinds {
		for _, v := range m[kind] {
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("empty %s principal", kind)
			}
			p := ParsePrincipal(v)
			switch {
			case strings.EqualFold(kind, "Service"):
				p = Principal{Kind: Service, Value: v}
			case strings.EqualFold(kind, "AWS"):
				// An AWS principal is never a service, whatever it looks like.
				if p.Kind == Service {
					p.Kind = Unknown
				}
			default:
				// Federated, CanonicalUser: not an account we can place.
				p = Principal{Kind: Unknown, Value: kind + ":" + v}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Narrowing returns the values each condition on key requires, for the
// conditions that narrow who is let in (see Condition.Match). Conditions
// are ANDed, so each is to be judged on its own.
func (s Statement) Narrowing(key string) [][]string {
	var out [][]string
	for _, c := range s.NarrowingConditions(key) {
		out = append(out, c.Values)
	}
	return out
}

// NarrowingConditions returns the conditions on key that narrow who is
// let in.
func (s Statement) NarrowingConditions(key string) []Condition {
	key = strings.ToLower(key)
	var out []Condition
	for _, c := range s.Conditions {
		if c.Key == key && c.Match() != NotNarrowing {
			out = append(out, c)
		}
	}
	return out
}

// Required returns the values of every narrowing condition on key (see
// Narrowing) together; ok is false when there is none.
func (s Statement) Required(key string) (values []string, ok bool) {
	for _, vals := range s.Narrowing(key) {
		values = append(values, vals...)
		ok = true
	}
	return values, ok
}

// Match is how a condition compares the request's value with its own.
type Match int

// Matches. A condition narrows only if it fails when the key is absent,
// so negated and IfExists operators narrow nothing, nor does ForAllValues
// (true for an empty set). ForAnyValue compares as its operator does.
const (
	NotNarrowing Match = iota
	Literal            // StringEquals: byte for byte; * is a star
	LiteralFold        // StringEqualsIgnoreCase: as Literal, case aside
	Glob               // StringLike: * and ? match anything, colons too
	ARNGlob            // ArnLike, ArnEquals: * and ? within each field
	Boolean            // Bool
)

// Match says how the condition compares values.
func (c Condition) Match() Match {
	op := strings.ToLower(c.Operator)
	if strings.HasPrefix(op, "forallvalues:") || strings.HasSuffix(op, "ifexists") || strings.Contains(op, "not") {
		return NotNarrowing
	}
	switch strings.TrimPrefix(op, "foranyvalue:") {
	case "stringequals":
		return Literal
	case "stringequalsignorecase":
		return LiteralFold
	case "stringlike":
		return Glob
	case "arnlike", "arnequals":
		return ARNGlob
	case "bool":
		return Boolean
	}
	return NotNarrowing
}

// HasWildcard reports whether a condition value matches more than one
// string under StringLike or ArnLike.
func HasWildcard(v string) bool { return strings.ContainsAny(v, "*?") }

// stringList reads a JSON string, array of strings, boolean or number as
// strings: policies use all of them for single values.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	// UseNumber keeps a numeric account ID as written, not as 1.1e+11.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var one any
	if err := dec.Decode(&one); err != nil {
		return err
	}
	switch v := one.(type) {
	case nil:
		*l = nil
		return nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := scalar(e)
			if !ok {
				return fmt.Errorf("element %d: want a string, got %s", i, typeName(e))
			}
			out = append(out, s)
		}
		*l = out
		return nil
	default:
		s, ok := scalar(v)
		if !ok {
			return fmt.Errorf("want a string or a list of strings, got %s", typeName(v))
		}
		*l = []string{s}
		return nil
	}
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
