package slackalert

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
)

// DecodeDigest reads an SQS message body that holds an audit digest; ok
// is false for any other body (a finding), which DecodeFinding reads.
func DecodeDigest(body []byte) (d digest.Digest, ok bool, err error) {
	if len(body) > MaxBody {
		return d, false, nil // DecodeFinding says why
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &head) != nil || head.Kind != digest.Kind {
		return d, false, nil
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return d, true, fmt.Errorf("body is not an audit digest: %w", err)
	}
	return d, true, nil
}

// BuildDigest makes one message for an audit run: the counts, the
// findings by rule, and the worst findings themselves.
func BuildDigest(d digest.Digest) slack.WebhookMessage {
	counts := d.CountText()
	where := plural(len(d.Accounts), "account", "accounts") + ", " + plural(len(d.Regions), "region", "regions")
	header := plain("lambdawatch audit: "+counts, MaxHeader)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(header)),
		section(fmt.Sprintf("The audit of *%s* started %s found *%s*.", esc(where, maxInline), d.Started.Format("2006-01-02 15:04 UTC"), esc(counts, maxInline))),
	}
	if d.Missing > 0 {
		blocks = append(blocks, section(fmt.Sprintf(":warning: %s never reported: the run was closed without them when the next began.", plural(d.Missing, "account-region", "account-regions"))))
	}
	if d.Unread > 0 {
		blocks = append(blocks, section(fmt.Sprintf(":warning: %s failed: what they would have read was not judged. The audit function's log names each.", plural(d.Unread, "read", "reads"))))
	}
	if c := d.Changes; c != nil {
		text := fmt.Sprintf("*Since the last run:* %s.", esc(c.Text(), maxInline))
		if !c.Complete {
			text += " The last run could not be recalled everywhere: this covers the rest."
		}
		blocks = append(blocks, section(text))
		for _, l := range []struct {
			head string
			fs   []detect.Finding
			all  int
		}{{"*New*\n", c.New, c.NewCount}, {"*Resolved*\n", c.Resolved, c.ResolvedCount}} {
			if l.all == 0 {
				continue
			}
			var lines []string
			for _, f := range l.fs[:min(len(l.fs), 10)] {
				lines = append(lines, fmt.Sprintf("• %s %s", emoji(f.Severity), esc(f.Summary, 300)))
			}
			if more := l.all - len(lines); more > 0 {
				lines = append(lines, fmt.Sprintf("…and %d more", more))
			}
			blocks = append(blocks, section(l.head+joinWithin(lines, "\n", MaxSectionText-width(l.head))))
		}
	}
	if len(d.Findings) > 0 {
		byRule := groupBy(d.Findings, func(f detect.Finding) string { return f.Rule })
		lines := make([]string, len(byRule))
		for i, g := range byRule {
			r, _ := ruleInfo(detect.Finding{Rule: g.key})
			lines[i] = fmt.Sprintf("• %s *%d* × %s `%s` (worst %s)", emoji(g.worst), g.count, Escape(r.Title), esc(r.ID, 64), g.worst)
		}
		head := "*By rule*\n"
		blocks = append(blocks, section(head+joinWithin(lines, "\n", MaxSectionText-width(head))))
		var worst []string
		for _, f := range d.Findings[:min(len(d.Findings), 10)] {
			worst = append(worst, fmt.Sprintf("• %s %s", emoji(f.Severity), esc(f.Summary, 300)))
		}
		head = "*Worst findings*\n"
		blocks = append(blocks, section(head+joinWithin(worst, "\n", MaxSectionText-width(head))))
	}
	if d.Omitted > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%d more findings did not fit in one message; `lambdawatch audit` lists them all.", d.Omitted))))
	}
	return slack.WebhookMessage{
		Text:        "lambdawatch audit: " + Escape(counts) + " in " + Escape(where),
		Blocks:      &slack.Blocks{BlockSet: blocks},
		Parse:       "none",
		UnfurlLinks: new(false),
		UnfurlMedia: new(false),
	}
}
