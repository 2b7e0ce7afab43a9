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
	if d.Unread > 0 {
		s += fmt.Sprintf(", %d unread", d.Unread)
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
	if d.Unread > 0 {
		fmt.Fprintf(&b, "%s failed: what they would have read was not judged; the audit function's log names each.\n", plural(d.Unread, "read"))
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

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// DigestInput builds the SNS request for a digest: the list for email,
// the digest's JSON for programs, cut to SNS's limit (the JSON says how
// many findings it left out), and the attributes severity (the worst
// finding's) and rule (audit).
func DigestInput(topicARN string, d digest.Digest) (*sns.PublishInput, error) {
	all := d.Findings
	for keep := len(all); ; {
		d.Findings, d.Omitted = all[:keep], len(all)-keep
		for i := range d.Findings {
			d.Findings[i] = truncateFinding(d.Findings[i], 2<<10)
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
		// Cut in proportion, with a margin, rather than one by one.
		keep = min(keep-1, keep*MaxMessage/n*9/10)
	}
}
