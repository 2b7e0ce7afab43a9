package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
)

// DigestSubject: "lambdawatch audit: 2 CRITICAL, 5 HIGH in 3 accounts".
func DigestSubject(d digest.Digest) string {
	where := fmt.Sprintf("%d accounts", len(d.Accounts))
	if len(d.Accounts) == 1 {
		where = "account " + d.Accounts[0]
	}
	s := "lambdawatch audit: " + d.CountText() + " in " + where
	if d.Changes != nil {
		s += ", " + d.Changes.Text()
	}
	if d.Unread > 0 {
		s += fmt.Sprintf(", %d unread", d.Unread)
	}
	if d.Missing > 0 {
		s += fmt.Sprintf(", %d missing", d.Missing)
	}
	s = subjectText(s)
	if len(s) > MaxSubject {
		s = s[:MaxSubject-3] + "..."
	}
	return s
}

// DigestEmail lists the findings by severity for people.
func DigestEmail(d digest.Digest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lambdawatch audit of %s, %s, started %s\n\n", plural(len(d.Accounts), "account"), plural(len(d.Regions), "region"), d.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Found: %s.\n", d.CountText())
	if d.Suppressed > 0 {
		fmt.Fprintf(&b, "%s suppressed by the suppressions file, and not listed.\n", plural(d.Suppressed, "finding"))
	}
	if len(d.Expired) > 0 {
		fmt.Fprintf(&b, "\nSuppressions that have expired (what they muted alerts again):\n")
		for _, e := range d.Expired {
			fmt.Fprintf(&b, "  - %s\n", oneLine(e))
		}
	}
	if d.Missing > 0 {
		fmt.Fprintf(&b, "%s never reported: the run was closed without them when the next began; the audit function's log says why.\n", plural(d.Missing, "account-region"))
	}
	if d.Unread > 0 {
		fmt.Fprintf(&b, "%s failed: what they would have read was not judged; the audit function's log names each.\n", plural(d.Unread, "read"))
	}
	if c := d.Changes; c != nil {
		fmt.Fprintf(&b, "Since the last run: %s.\n", c.Text())
		if !c.Complete {
			fmt.Fprintf(&b, "The last run could not be recalled for every account and region: what is new and resolved covers the rest.\n")
		}
		listFindings(&b, "New since the last run", c.New, c.NewCount)
		listFindings(&b, "Resolved since the last run", c.Resolved, c.ResolvedCount)
		if len(d.Findings) > 0 {
			fmt.Fprintf(&b, "\nAll open findings\n")
		}
	}
	sev := detect.Severity(-1)
	for _, f := range d.Findings {
		if f.Severity != sev {
			sev = f.Severity
			fmt.Fprintf(&b, "\n%s\n", sev)
		}
		fmt.Fprintf(&b, "  - %s: %s\n", f.Rule, oneLine(f.Summary))
		if f.ResourceARN != "" {
			fmt.Fprintf(&b, "    %s\n", oneLine(f.ResourceARN))
		}
	}
	if d.Omitted > 0 {
		fmt.Fprintf(&b, "\n%d more findings did not fit in one message; `lambdawatch audit` lists them all.\n", d.Omitted)
	}
	return b.String()
}

// listFindings writes a titled list of findings, saying how many of all
// were left out to fit.
func listFindings(b *strings.Builder, title string, fs []detect.Finding, all int) {
	if all == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s (%d)\n", title, all)
	for _, f := range fs {
		fmt.Fprintf(b, "  - %s %s: %s\n", f.Severity, f.Rule, oneLine(f.Summary))
		if f.ResourceARN != "" {
			fmt.Fprintf(b, "    %s\n", oneLine(f.ResourceARN))
		}
	}
	if left := all - len(fs); left > 0 {
		fmt.Fprintf(b, "  and %d more\n", left)
	}
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// cut is the first keep findings of fs, shortened to fit SNS, in a new
// slice.
func cut(fs []detect.Finding, keep int) []detect.Finding {
	out := make([]detect.Finding, min(keep, len(fs)))
	for i := range out {
		out[i] = truncateFinding(fs[i], 2<<10)
	}
	return out
}

// DigestInput builds the SNS request for a digest: the list for email,
// the digest's JSON for programs, cut to SNS's limit (the JSON says how
// many findings it left out), and the attributes severity (the worst
// finding's) and rule (audit).
func DigestInput(topicARN string, d digest.Digest) (*sns.PublishInput, error) {
	all := d.Findings
	var changes digest.Changes
	if d.Changes != nil {
		changes = *d.Changes
	}
	for keep := max(len(all), len(changes.New), len(changes.Resolved)); ; {
		d.Findings, d.Omitted = cut(all, keep), len(all)-min(keep, len(all))
		if d.Changes != nil {
			c := changes
			c.New, c.Resolved = cut(changes.New, keep), cut(changes.Resolved, keep)
			d.Changes = &c
		}
		doc, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode audit digest: %w", err)
		}
		text := DigestEmail(d)
		msg, err := json.Marshal(Members{Default: text, Email: text, SQS: string(doc), Lambda: string(doc), HTTPS: string(doc)})
		if err != nil {
			return nil, fmt.Errorf("encode audit digest: %w", err)
		}
		in := &sns.PublishInput{
			TopicArn:         aws.String(topicARN),
			Subject:          aws.String(DigestSubject(d)),
			Message:          aws.String(string(msg)),
			MessageStructure: aws.String("json"),
			MessageAttributes: map[string]types.MessageAttributeValue{
				AttrSeverity: {DataType: aws.String("String"), StringValue: aws.String(d.Severity.String())},
				AttrRule:     {DataType: aws.String("String"), StringValue: aws.String(digest.Rule)},
			},
		}
		n := size(in)
		if n <= MaxMessage {
			return in, nil
		}
		if keep == 0 {
			return nil, fmt.Errorf("audit digest is %d bytes with no finding in it, over SNS's %d", n, MaxMessage)
		}
		// Cut in proportion, with a margin, rather than one by one: each
		// list is kept to its first keep findings, the worst.
		keep = min(keep-1, keep*MaxMessage/n*9/10)
	}
}
