// Package notify turns findings into SNS messages and publishes them: the
// monitor function's handler lives here, so that it can be tested without
// Lambda or AWS.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/console"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// SNS limits the messages it accepts.
const (
	// MaxSubject is the longest subject SNS accepts: under 100 characters.
	MaxSubject = 99
	// MaxMessage is the largest message SNS accepts, attributes included.
	MaxMessage = 256 * 1024
)

// Message attribute names. Subscribers filter on them.
const (
	AttrSeverity = "severity"
	AttrRule     = "rule"
	AttrAccount  = "account"
	AttrRegion   = "region"
)

// Members are the protocol members of a message published with
// MessageStructure json: SNS hands each subscriber the member of its
// protocol, else default.
type Members struct {
	Default string `json:"default"`
	Email   string `json:"email"`
	SQS     string `json:"sqs"`
	Lambda  string `json:"lambda"`
	HTTPS   string `json:"https"`
}

// fieldLimits are the lengths attacker-controlled fields are cut to, tried
// in turn until the message fits SNS's limit. The first is generous: real
// records never come near it.
var fieldLimits = []int{16 << 10, 2 << 10, 256}

// PublishInput builds the SNS request for one finding: a plain-text report
// for people (default, email), the finding's JSON for programs (sqs, lambda,
// https), a one-line subject and the attributes subscribers filter on.
func PublishInput(topicARN string, f detect.Finding) (*sns.PublishInput, error) {
	var lastSize int
	for _, limit := range fieldLimits {
		g := truncateFinding(f, limit)
		doc, err := json.Marshal(g)
		if err != nil {
			return nil, fmt.Errorf("encode finding %s/%s: %w", f.EventID, f.Rule, err)
		}
		text := Email(g)
		msg, err := json.Marshal(Members{Default: text, Email: text, SQS: string(doc), Lambda: string(doc), HTTPS: string(doc)})
		if err != nil {
			return nil, fmt.Errorf("encode message %s/%s: %w", f.EventID, f.Rule, err)
		}
		in := &sns.PublishInput{
			TopicArn:          aws.String(topicARN),
			Subject:           aws.String(Subject(g)),
			Message:           aws.String(string(msg)),
			MessageStructure:  aws.String("json"),
			MessageAttributes: Attributes(g),
		}
		lastSize = size(in)
		if lastSize <= MaxMessage {
			return in, nil
		}
	}
	return nil, fmt.Errorf("message for %s/%s is %d bytes even with fields cut, over SNS's %d", f.EventID, f.Rule, lastSize, MaxMessage)
}

// size counts the bytes SNS counts: the message and every attribute's name,
// type and value.
func size(in *sns.PublishInput) int {
	n := len(aws.ToString(in.Message))
	for k, v := range in.MessageAttributes {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
	}
	return n
}

// truncateFinding cuts the free-text fields an attacker can fill (user
// agent, error message, names) to limit bytes, visibly.
func truncateFinding(f detect.Finding, limit int) detect.Finding {
	for _, p := range []*string{
		&f.Summary, &f.UserAgent, &f.ErrorMessage, &f.Actor, &f.Principal, &f.Function,
		&f.Layer, &f.Action, &f.StatementID, &f.FunctionURL, &f.Runtime, &f.SourceIPAddress,
		&f.ErrorCode, &f.EventName, &f.Trail, &f.EventRule, &f.EventBus, &f.Topic, &f.Queue, &f.ResourceARN,
	} {
		*p = truncate(*p, limit)
	}
	if len(f.Conditions) > 0 {
		cs := make([]string, 0, len(f.Conditions))
		total := 0
		for _, c := range f.Conditions {
			c = truncate(c, limit)
			if total += len(c); total > 4*limit {
				cs = append(cs, fmt.Sprintf("[%d more conditions cut]", len(f.Conditions)-len(cs)))
				break
			}
			cs = append(cs, c)
		}
		f.Conditions = cs
	}
	return f
}

const cutMark = "...[cut]"

// truncate shortens s to at most limit bytes, on a rune boundary, marking
// the cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit - len(cutMark)
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMark
}

// Attributes are the finding's message attributes. SNS rejects empty
// values, so empty fields are left out.
func Attributes(f detect.Finding) map[string]types.MessageAttributeValue {
	attrs := map[string]types.MessageAttributeValue{}
	for name, v := range map[string]string{
		AttrSeverity: f.Severity.String(),
		AttrRule:     f.Rule,
		AttrAccount:  f.Account,
		AttrRegion:   f.Region,
	} {
		v = truncate(attrText(v), 256)
		if v == "" {
			continue
		}
		attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return attrs
}

// attrText replaces what SNS refuses in an attribute value (characters XML
// 1.0 excludes, invalid UTF-8) and line breaks, which no filter expects.
func attrText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// Subject is a one-line summary for the mail client's inbox:
// "[CRITICAL] public-invoke: my-func in 111122223333/eu-west-1". SNS wants
// it printable ASCII, without line breaks, under 100 characters; function
// names cannot break that, but records are attacker-influenced, so every
// part is sanitized and the resource is shortened to fit.
func Subject(f detect.Finding) string {
	head := fmt.Sprintf("[%s] %s: ", f.Severity, subjectText(f.Rule))
	tail := ""
	if f.Account != "" || f.Region != "" {
		tail = " in " + subjectText(f.Account) + "/" + subjectText(f.Region)
	}
	if f.Outcome == detect.Failed {
		tail += " (failed call)"
	}
	res := subjectText(shortResource(f))
	if res == "" {
		res = subjectText(f.EventName)
	}
	if room := MaxSubject - len(head) - len(tail); len(res) > room {
		if room < 4 {
			res = ""
		} else {
			res = res[:room-3] + "..."
		}
	}
	s := head + res + tail
	if len(s) > MaxSubject {
		s = s[:MaxSubject-3] + "..."
	}
	return s
}

// subjectText keeps printable ASCII only and folds runs of anything else
// into one space: no header injection, nothing SNS rejects.
func subjectText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r > ' ' && r < 0x7f {
			b.WriteRune(r)
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// shortResource is the function, layer or other resource without its ARN
// or URL prefix: the subject has little room, and account and region are
// shown anyway.
func shortResource(f detect.Finding) string {
	if f.Function != "" {
		name, qual := console.SplitFunction(f.Function)
		if qual != "" {
			return name + ":" + qual
		}
		return name
	}
	if f.Layer != "" {
		name, version := console.SplitLayer(f.Layer)
		if version != "" {
			return name + ":" + version
		}
		return name
	}
	_, r := f.ResourceKind()
	if i := strings.LastIndexAny(r, ":/"); i >= 0 {
		r = r[i+1:]
	}
	return r
}

// Email is the plain-text report a person reads in a mail client: what
// happened, to what, who did it and from where, why it matters, what to do,
// and where to look. Text from the record is shown on one line each, with
// control and invisible characters spelled out, so that a crafted user
// agent cannot forge lines of the report.
func Email(f detect.Finding) string {
	rule, ok := detect.RuleByID(f.Rule)
	if !ok {
		// The ID is record text here, not one of ours.
		rule = detect.Rule{ID: f.Rule, Title: "Finding " + oneLine(f.Rule)}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", f.Severity, rule.Title)
	if f.Summary != "" {
		b.WriteString("\n")
		b.WriteString(wrap(oneLine(f.Summary), 72, ""))
	}

	if f.Outcome == detect.Failed {
		b.WriteString("\nThe call failed: nothing was changed, but someone tried.\n")
	}

	// A finding of the audit judges what an account holds: no call, no
	// caller.
	audited := f.EventName == "" && f.EventID == ""
	if audited {
		b.WriteString("\nWhat the audit found\n")
	} else {
		b.WriteString("\nWhat happened\n")
	}
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-14s %s\n", k+":", oneLine(v))
		}
	}
	call := f.EventName
	if a := cloudtrail.StripVersion(f.EventName); a != f.EventName {
		call = a + " (" + f.EventName + ")"
	}
	switch {
	case audited:
		kv("Resource", f.ResourceARN)
	case f.Outcome == detect.Failed:
		e := f.ErrorCode
		if f.ErrorMessage != "" {
			e += ": " + f.ErrorMessage
		}
		kv("Call", call+", failed")
		kv("Error", e)
	default:
		kv("Call", call+", "+nonEmpty(f.Outcome, "succeeded"))
	}
	if !f.EventTime.IsZero() {
		kv("Time", f.EventTime.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	kv("Function", f.Function)
	kv("Layer", f.Layer)
	kv("Trail", f.Trail)
	kv("Rule", f.EventRule)
	kv("Event bus", f.EventBus)
	kv("Topic", f.Topic)
	kv("Queue", f.Queue)
	kv("Account", f.Account)
	kv("Region", f.Region)
	kv("Principal", f.Principal)
	kv("Action", f.Action)
	kv("Statement", f.StatementID)
	for i, c := range f.Conditions {
		if i == 0 {
			kv("Conditions", c)
		} else {
			fmt.Fprintf(&b, "  %-14s %s\n", "", oneLine(c))
		}
	}
	kv("Function URL", f.FunctionURL)
	kv("Runtime", f.Runtime)

	if !audited {
		b.WriteString("\nWho did it\n")
		kv("Actor", nonEmpty(f.Actor, "(not recorded)"))
		kv("Source IP", nonEmpty(f.SourceIPAddress, "(not recorded)"))
		kv("User agent", nonEmpty(f.UserAgent, "(not recorded)"))
	}

	if rule.Why != "" {
		b.WriteString("\nWhy it matters\n")
		b.WriteString(wrap(rule.Why, 72, "  "))
	}
	if rule.Remedy != "" {
		b.WriteString("\nWhat to do\n")
		b.WriteString(wrap(rule.Remedy, 72, "  "))
	}

	b.WriteString("\nLinks")
	if f.Account != "" {
		fmt.Fprintf(&b, " (sign in to account %s)", oneLine(f.Account))
	}
	b.WriteString("\n")
	l := console.For(f)
	switch {
	case !awsid.IsRegion(f.Region):
		fmt.Fprintf(&b, "  none: region %s is not a region name\n", quoteText(f.Region))
	default:
		if l.Permissions != "" {
			kv("Permissions", l.Permissions)
		}
		if l.Resource != "" {
			kv("Console", l.Resource)
		}
		if l.Event != "" {
			kv("CloudTrail", l.Event)
		}
	}

	if audited {
		fmt.Fprintf(&b, "\nRule %s, severity %s, found by the scheduled audit.\n", oneLine(f.Rule), f.Severity)
	} else {
		fmt.Fprintf(&b, "\nRule %s, severity %s, CloudTrail event %s.\n", oneLine(f.Rule), f.Severity, nonEmpty(oneLine(f.EventID), "(no id)"))
	}
	b.WriteString("-- \nlambdawatch\n")
	return b.String()
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// oneLine shows s on a single line: line breaks, tabs, other control
// characters and invisible format characters (bidirectional overrides,
// zero-width spaces) are written as Go escapes, invalid UTF-8 as \x..
func oneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func quoteText(s string) string { return `"` + oneLine(s) + `"` }

// wrap folds text into lines of at most width columns, each prefixed.
func wrap(text string, width int, prefix string) string {
	var b strings.Builder
	line := prefix
	for _, w := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(w) > width {
			b.WriteString(line)
			b.WriteString("\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	if len(line) > len(prefix) {
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}
