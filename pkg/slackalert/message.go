package slackalert

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/console"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Slack's Block Kit limits.
const (
	MaxHeader      = 150  // header block text
	MaxSectionText = 3000 // section text
	MaxFields      = 10   // fields of a section
	MaxField       = 2000 // each field
	MaxBlocks      = 50   // blocks of a message
	MaxContextText = 3000 // each context element

	// maxInline bounds one value inside a longer line.
	maxInline = 200
)

// severityEmoji marks the header; plain_text headers render the shortcodes.
var severityEmoji = map[detect.Severity]string{
	detect.Critical: ":red_circle:",
	detect.High:     ":large_orange_circle:",
	detect.Medium:   ":large_yellow_circle:",
	detect.Low:      ":large_blue_circle:",
	detect.Info:     ":white_circle:",
}

func emoji(s detect.Severity) string {
	if e, ok := severityEmoji[s]; ok {
		return e
	}
	return ":white_circle:"
}

// ruleIDRE is what a rule ID may look like to be shown as is. The header
// is plain_text, which Slack never parses for mentions or links, so it is
// not escaped; instead it holds only our own text: the severity, the
// rule's title from detect.Rules and a rule ID of this shape.
var ruleIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ruleInfo describes f's rule; an unknown rule (say from a newer monitor)
// still gets an alert, with its ID if it looks like one.
func ruleInfo(f detect.Finding) (detect.Rule, bool) {
	if r, ok := detect.RuleByID(f.Rule); ok {
		return r, true
	}
	id := "unknown-rule"
	if ruleIDRE.MatchString(f.Rule) {
		id = f.Rule
	}
	return detect.Rule{ID: id, Title: "Unknown rule"}, false
}

func mrkdwn(text string) *slack.TextBlockObject {
	// verbatim: Slack must not auto-link URLs, channel names or mentions
	// that appear as plain text inside CloudTrail values.
	return &slack.TextBlockObject{Type: slack.MarkdownType, Text: text, Verbatim: true}
}

func plainText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, true, false)
}

func section(text string) *slack.SectionBlock {
	return &slack.SectionBlock{Type: slack.MBTSection, Text: mrkdwn(text)}
}

// labelled is "*label*\nvalue" with the escaped value cut so the whole
// text fits limit.
func labelled(label, raw string, limit int) string {
	head := "*" + label + "*\n"
	return head + esc(orDash(raw), limit-width(head))
}

// Build makes the Slack message for one finding: a header with severity
// and rule, the summary and why it matters, fields for the resource,
// principal, conditions, actor, source IP, account and region, time and
// API call, the user agent, any error, the remedy, console links and a
// context line with the event ID, plus a plain text fallback.
func Build(f detect.Finding) slack.WebhookMessage {
	rule, known := ruleInfo(f)

	header := plain(fmt.Sprintf("%s %s · %s (%s)", emoji(f.Severity), f.Severity, rule.Title, rule.ID), MaxHeader)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(header)),
	}

	// Summary and why: the summary is built by the engine from CloudTrail
	// values, so it is escaped like them.
	var why string
	if known {
		why = "\n" + Escape(rule.Why)
	}
	blocks = append(blocks, section(esc(orDash(f.Summary), MaxSectionText-width(why))+why))

	fields := findingFields(f)
	var extra []string
	if len(fields) > MaxFields {
		fields, extra = fields[:MaxFields], fields[MaxFields:]
	}
	fs := &slack.SectionBlock{Type: slack.MBTSection}
	for _, t := range fields {
		fs.Fields = append(fs.Fields, mrkdwn(t))
	}
	blocks = append(blocks, fs)
	if len(extra) > 0 {
		// Fields beyond Slack's ten go into a section of their own rather
		// than being dropped.
		blocks = append(blocks, section(joinWithin(extra, "\n", MaxSectionText)))
	}

	blocks = append(blocks, section(labelled("User agent", f.UserAgent, MaxSectionText)))

	if f.ErrorCode != "" || f.ErrorMessage != "" {
		head := "*Error*\n"
		code := esc(f.ErrorCode, maxInline)
		sep := ""
		if f.ErrorCode != "" && f.ErrorMessage != "" {
			sep = ": "
		}
		blocks = append(blocks, section(head+code+sep+esc(f.ErrorMessage, MaxSectionText-width(head+code+sep))))
	}

	if known && rule.Remedy != "" {
		blocks = append(blocks, section("*What to do*\n"+Escape(rule.Remedy)))
	}

	var links []string
	l := console.For(f)
	if l.Permissions != "" {
		label := "Function permissions in the console"
		if f.Function == "" {
			label = "Layer in the console"
		}
		links = append(links, link(l.Permissions, label))
	}
	if l.Resource != "" {
		kind, _ := f.ResourceKind()
		links = append(links, link(l.Resource, kind+" in the console"))
	}
	if l.Event != "" {
		links = append(links, link(l.Event, "Event in CloudTrail"))
	}
	if len(links) > 0 {
		blocks = append(blocks, section(strings.Join(links, "  ·  ")))
	}

	ctx := "Event ID " + esc(orDash(f.EventID), maxInline) + "  ·  lambdawatch"
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(ctx)))

	return slack.WebhookMessage{
		Text:        fallback(f, rule),
		Blocks:      &slack.Blocks{BlockSet: blocks},
		Parse:       "none",
		UnfurlLinks: new(false),
		UnfurlMedia: new(false),
	}
}

// link is a mrkdwn link to one of console.For' URLs, with our own
// label. Those URLs are built from AWS-shaped names only; escaping them
// as well keeps a & (which Slack reads as the start of an escape) literal.
func link(u, label string) string {
	return "<" + Escape(u) + "|" + label + ">"
}

// findingFields lists the field texts: the fixed ones first, then the
// optional ones a finding may carry.
func findingFields(f detect.Finding) []string {
	resLabel, res := f.ResourceKind()
	if resLabel == "" {
		resLabel = "Function"
	}
	account := orDash(f.Account) + " / " + orDash(f.Region)
	call := orDash(f.EventName)
	switch {
	case f.Outcome == detect.Failed && f.ErrorCode != "":
		call += " — failed (" + f.ErrorCode + ")"
	case f.Outcome != "":
		call += " — " + f.Outcome
	}

	fields := []string{
		labelled(resLabel, res, MaxField),
		labelled("Principal", f.Principal, MaxField),
		conditionsField(f.Conditions),
		labelled("Actor", f.Actor, MaxField),
		labelled("Source IP", f.SourceIPAddress, MaxField),
		labelled("Account / region", account, MaxField),
		"*Time*\n" + formatTime(f.EventTime),
		labelled("API call", call, MaxField),
	}
	for _, o := range []struct{ label, value string }{
		{"Action", f.Action},
		{"Statement ID", f.StatementID},
		{"Runtime", f.Runtime},
		{"Function URL", f.FunctionURL},
	} {
		if o.value != "" {
			fields = append(fields, labelled(o.label, o.value, MaxField))
		}
	}
	return fields
}

// conditionsField shows one condition a line; each is cleaned and escaped
// on its own so the line breaks are ours.
func conditionsField(conds []string) string {
	head := "*Conditions*\n"
	if len(conds) == 0 {
		return head + "none"
	}
	lines := make([]string, len(conds))
	for i, c := range conds {
		lines[i] = esc(orDash(c), MaxField-width(head))
	}
	return head + joinWithin(lines, "\n", MaxField-width(head))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// joinWithin joins texts that are each already safe mrkdwn, stopping
// before the result passes limit, and says how many were left out.
func joinWithin(texts []string, sep string, limit int) string {
	var b strings.Builder
	// Room for the "and N more" note, sized for the largest N.
	more := width(fmt.Sprintf("%s… and %d more", sep, len(texts)))
	for i, t := range texts {
		if i == len(texts)-1 {
			more = 0
		}
		add := t
		if i > 0 {
			add = sep + t
		}
		if width(b.String())+width(add)+more > limit {
			fmt.Fprintf(&b, "%s… and %d more", sep, len(texts)-i)
			break
		}
		b.WriteString(add)
	}
	return b.String()
}

// fallback is the message's text: what notifications and clients without
// blocks show. It is mrkdwn too, so every value is escaped; each value is
// cut on its own, which keeps the notification under about 600
// characters, and never the escaped whole, which could split an escape.
func fallback(f detect.Finding, rule detect.Rule) string {
	return fmt.Sprintf("%s %s: %s — %s by %s in %s/%s",
		f.Severity, rule.ID, Escape(rule.Title),
		esc(orDash(f.Resource()), maxInline), esc(orDash(f.Actor), maxInline),
		esc(orDash(f.Account), 20), esc(orDash(f.Region), 30))
}
