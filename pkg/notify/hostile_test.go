package notify

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// hostileRunes reports the first rune of s a reader's terminal or mail
// client would act on rather than show: control characters other than
// the line break, format characters (bidi overrides, zero-width), line
// and paragraph separators, and invalid UTF-8.
func hostileRune(s string) (rune, bool) {
	if !utf8.ValidString(s) {
		return utf8.RuneError, true
	}
	for _, r := range s {
		if r == '\n' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return r, true
		}
	}
	return 0, false
}

// A rule the reader does not know (from a newer engine, or forged) is
// shown by its ID in the first line: that ID is record text too.
func TestEmailUnknownRuleIsOneLine(t *testing.T) {
	f := findings["public-invoke"]
	f.Rule = "x\r\nSubject: all clear\u202e\x1b[31m"
	text := Email(f)
	if r, bad := hostileRune(text); bad {
		t.Errorf("email carries %U:\n%q", r, text)
	}
	first, _, _ := strings.Cut(text, "\n")
	if !strings.HasPrefix(first, "CRITICAL: Finding x") || strings.Contains(text, "\nSubject:") {
		t.Errorf("first line %q; the rule ID broke out of it", first)
	}
}

// fuzzFinding fills every field a record can reach with fuzzed text.
func fuzzFinding(rule, a, b, c string, sev int, failed bool) detect.Finding {
	f := findings["public-invoke"]
	f.Rule, f.Severity = rule, detect.Severity(int(detect.Info)+((sev%5)+5)%5)
	f.Function, f.Actor, f.UserAgent, f.SourceIPAddress = a, b, c, a+c
	f.Account, f.Region, f.EventID, f.Principal = b, c, a, c
	f.Summary, f.StatementID, f.Layer, f.Runtime, f.FunctionURL = b+a, a, c, b, c
	f.Conditions = []string{a, b, c}
	if failed {
		f.Outcome, f.ErrorCode, f.ErrorMessage = detect.Failed, a, b
	}
	return f
}

func addFindingSeeds(f *testing.F) {
	inj := findings["injection"]
	f.Add(inj.Rule, inj.Function, inj.UserAgent, inj.Region, int(detect.Critical), false)
	f.Add(detect.RulePublicLayer, "arn:aws:lambda:eu-west-1:111122223333:layer:l:1", "arn:aws:iam::1:user/<!channel>", "eu-west-1", 3, true)
	f.Add("x\r\nBcc: a@b", "\u202e\u200b\u2028\u0085", "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "\xff\xfe", 5, false)
	f.Add("", "", "", "", 0, false)
	f.Add(strings.Repeat("é", 200), strings.Repeat("\u202e", 50), strings.Repeat("a", 3000), "us-east-1", 4, false)
}

// FuzzEmail: whatever the record holds, the email shows it without a
// control or invisible character, each field on its own line, and ends
// with our signature only.
func FuzzEmail(f *testing.F) {
	addFindingSeeds(f)
	f.Fuzz(func(t *testing.T, rule, a, b, c string, sev int, failed bool) {
		fd := fuzzFinding(rule, a, b, c, sev, failed)
		text := Email(fd)
		if r, bad := hostileRune(text); bad {
			t.Fatalf("email carries %U:\n%q", r, text)
		}
		for _, label := range []string{"  Actor:", "  User agent:", "  Source IP:", "  Call:"} {
			if n := strings.Count(text, "\n"+label); n != 1 {
				t.Errorf("%d lines start with %q, want 1:\n%s", n, label, text)
			}
		}
		if strings.Count(text, "\n-- \n") != 1 || !strings.HasSuffix(text, "\n-- \nlambdawatch\n") {
			t.Errorf("signature forged or missing:\n%s", text)
		}
	})
}

// FuzzPublishInput: the SNS request for any finding has a subject SNS
// takes (printable ASCII, under 100 characters), fits SNS's size, and
// its members are the email text above and the finding's JSON.
func FuzzPublishInput(f *testing.F) {
	addFindingSeeds(f)
	f.Fuzz(func(t *testing.T, rule, a, b, c string, sev int, failed bool) {
		fd := fuzzFinding(rule, a, b, c, sev, failed)
		in, err := PublishInput(topic, fd)
		if err != nil {
			t.Fatalf("PublishInput: %v", err)
		}
		subj := aws.ToString(in.Subject)
		if len(subj) >= 100 || subj == "" {
			t.Errorf("subject is %d bytes: %q", len(subj), subj)
		}
		for _, r := range subj {
			if r < ' ' || r > '~' {
				t.Fatalf("subject has %U: %q", r, subj)
			}
		}
		if n := size(in); n > MaxMessage {
			t.Errorf("message is %d bytes, over %d", n, MaxMessage)
		}
		var m Members
		if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
			t.Fatalf("message is not JSON members: %v", err)
		}
		if m.Default != m.Email || m.SQS != m.Lambda || m.SQS != m.HTTPS {
			t.Error("members differ where they should not")
		}
		if r, bad := hostileRune(m.Email); bad {
			t.Fatalf("email member carries %U", r)
		}
		var g detect.Finding
		if err := json.Unmarshal([]byte(m.SQS), &g); err != nil {
			t.Fatalf("sqs member is not a finding: %v", err)
		}
		var wantRule string // the rule as JSON carries it: invalid UTF-8 replaced
		if raw, err := json.Marshal(fd.Rule); err != nil || json.Unmarshal(raw, &wantRule) != nil {
			t.Fatalf("rule %q does not survive JSON", fd.Rule)
		}
		if g.Severity != fd.Severity || g.Rule != wantRule {
			t.Errorf("sqs member: rule %q severity %v, want %q %v", g.Rule, g.Severity, fd.Rule, fd.Severity)
		}
		for name, v := range in.MessageAttributes {
			if s := aws.ToString(v.StringValue); s == "" || strings.ContainsAny(s, "\r\n\x00") || !utf8.ValidString(s) {
				t.Errorf("attribute %s = %q", name, s)
			}
		}
	})
}

// FuzzConfigFromEnv: the monitor's configuration from any environment is
// refused with an error, or it has a topic, account IDs, a good
// organization ID, and a known minimum severity.
func FuzzConfigFromEnv(f *testing.F) {
	f.Add(topic, " 444455556666, ,555566667777 ", "o-a1b2c3d4e5", "high")
	f.Add("", "", "", "")
	f.Add(" \t", ",,,", "\x00", "urgent")
	f.Add(topic, "111122223333", "", "CRITICAL ")
	f.Fuzz(func(t *testing.T, arn, trusted, org, sev string) {
		env := map[string]string{"SNS_TOPIC_ARN": arn, "TRUSTED_ACCOUNTS": trusted, "ORG_ID": org, "MIN_SEVERITY": sev}
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		_, badTrusted := awsid.SplitAccountIDs("", trusted)
		badOrg := strings.TrimSpace(org) != "" && !awsid.IsOrgID(strings.TrimSpace(org))
		if err != nil {
			if strings.TrimSpace(arn) != "" && strings.TrimSpace(sev) == "" && badTrusted == nil && !badOrg {
				t.Fatalf("refused a topic with default severity and good IDs: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "monitor configuration: ") {
				t.Errorf("error %q does not say what it configures", err)
			}
			return
		}
		if c.TopicARN == "" || c.TopicARN != strings.TrimSpace(c.TopicARN) {
			t.Errorf("topic %q", c.TopicARN)
		}
		if c.MinSeverity < detect.Info || c.MinSeverity > detect.Critical {
			t.Errorf("minimum severity %d", c.MinSeverity)
		}
		if badTrusted != nil || badOrg {
			t.Errorf("accepted TRUSTED_ACCOUNTS %q, ORG_ID %q", trusted, org)
		}
		for _, a := range c.TrustedAccounts {
			if !awsid.IsAccountID(a) {
				t.Errorf("trusted account %q", a)
			}
		}
		if strings.TrimSpace(sev) == "" && c.MinSeverity != detect.Medium {
			t.Errorf("default severity %v, want MEDIUM", c.MinSeverity)
		}
	})
}
