package slackalert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/console"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const injection = "<!channel> <https://evil.example|Open console>"

func typical() detect.Finding {
	return detect.Finding{
		EventID:         "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b",
		EventTime:       time.Date(2026, 11, 27, 13, 2, 11, 0, time.UTC),
		EventName:       "AddPermission20150331v2",
		Rule:            detect.RulePublicInvoke,
		Severity:        detect.Critical,
		Outcome:         detect.Succeeded,
		Account:         "123456789012",
		Region:          "eu-west-1",
		Function:        "billing-api",
		Principal:       "*",
		Action:          "lambda:InvokeFunction",
		StatementID:     "open-to-all",
		Actor:           "arn:aws:sts::123456789012:assumed-role/dev-admin/alice",
		SourceIPAddress: "203.0.113.7",
		UserAgent:       "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2 prompt/off command/lambda.add-permission",
		Summary:         "billing-api can be invoked by anyone: principal * with no conditions",
	}
}

func injected() detect.Finding {
	f := typical()
	f.EventID = "<https://evil.example|3f1c2a4b>"
	f.Outcome = detect.Failed
	f.Function = "billing<!here>&lt;x"
	f.Actor = "*bold* <@U0123ABC> &lt;script&gt; _it_"
	f.UserAgent = injection
	f.Principal = "<!everyone>"
	f.Conditions = []string{"<!channel>", "aws:SourceAccount = 1 & 2", "line\n*Severity*: INFO"}
	f.ErrorCode = "AccessDenied<!here>"
	f.ErrorMessage = "User: " + injection + " is not authorized\n*Severity*: INFO"
	f.Summary = "billing " + injection
	f.Region = "eu-west-1|<!channel>"
	return f
}

func long() detect.Finding {
	f := typical()
	f.Rule = "brand-new-rule"
	f.Function = strings.Repeat("f", 2500)
	f.UserAgent = strings.Repeat("ua&<>", 1000)
	f.Summary = strings.Repeat("summary ", 500)
	f.ErrorCode = "TooLong"
	f.ErrorMessage = strings.Repeat("é&", 3000)
	f.FunctionURL = "https://abc.lambda-url.eu-west-1.on.aws/"
	f.Runtime = "nodejs14.x"
	for i := range 40 {
		f.Conditions = append(f.Conditions, fmt.Sprintf("aws:SourceArn = arn:aws:s3:::bucket-%02d-with-a-rather-long-name", i))
	}
	return f
}

// batch is twelve findings of several rules and actors, four CRITICAL.
func batch() []detect.Finding {
	var fs []detect.Finding
	add := func(n int, rule string, sev detect.Severity, actor string) {
		for range n {
			f := typical()
			f.Rule, f.Severity, f.Actor = rule, sev, actor
			f.EventID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(fs))
			fs = append(fs, f)
		}
	}
	add(4, detect.RulePublicInvoke, detect.Critical, "arn:aws:sts::123456789012:assumed-role/dev-admin/alice")
	add(3, detect.RuleCrossAccountInvoke, detect.High, "arn:aws:iam::123456789012:user/ci")
	add(2, detect.RuleConfusedDeputy, detect.Medium, "arn:aws:iam::123456789012:user/ci")
	add(2, detect.RuleEOLRuntime, detect.Medium, "cloudformation.amazonaws.com")
	add(1, detect.RuleConfusedDeputy, detect.Medium, injection)
	return fs
}

// marshal is the payload as JSON, re-encoded without HTML escaping so the
// goldens show <, > and & as Slack reads them (slack-go's block encoder
// writes \u003c). Object keys come out sorted.
func marshal(t testing.TB, msg slack.WebhookMessage) []byte {
	t.Helper()
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("re-read payload: %v", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// texts lists every text of msg that Slack parses or shows.
func texts(msg slack.WebhookMessage) []*slack.TextBlockObject {
	out := []*slack.TextBlockObject{{Type: slack.MarkdownType, Text: msg.Text}}
	if msg.Blocks == nil {
		return out
	}
	for _, b := range msg.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			out = append(out, b.Text)
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text)
			}
			out = append(out, b.Fields...)
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// ourLinkRE is the only <...> sequence a message may hold: a console link.
var ourLinkRE = regexp.MustCompile(`^<https://([a-z0-9-]+\.console\.aws\.amazon\.com|console\.amazonaws-us-gov\.com|[a-z0-9-]+\.console\.amazonaws\.cn)/[A-Za-z0-9/?=&;#._%:-]+\|[A-Za-z ]+>$`)

var controlRE = regexp.MustCompile(`<[^>]*>?`)

// checkSafe fails if msg could mention, link or auto-link anything but our
// console links, or breaks Slack's limits.
func checkSafe(t testing.TB, msg slack.WebhookMessage) {
	t.Helper()
	if err := CheckLimits(msg); err != nil {
		t.Errorf("limits: %v", err)
	}
	if msg.Parse != "none" || msg.UnfurlLinks == nil || *msg.UnfurlLinks || msg.UnfurlMedia == nil || *msg.UnfurlMedia {
		t.Errorf("want parse none and no unfurling, got parse %q links %v media %v", msg.Parse, msg.UnfurlLinks, msg.UnfurlMedia)
	}
	for i, tx := range texts(msg) {
		if tx.Type == slack.MarkdownType {
			if i > 0 && !tx.Verbatim {
				t.Errorf("text %d: mrkdwn without verbatim: %q", i, tx.Text)
			}
			for _, m := range controlRE.FindAllString(tx.Text, -1) {
				if !ourLinkRE.MatchString(m) {
					t.Errorf("text %d: unescaped control sequence %q in %q", i, m, tx.Text)
				}
			}
			if strings.Contains(tx.Text, ">") && strings.Count(tx.Text, ">") != strings.Count(tx.Text, "<") {
				t.Errorf("text %d: stray >: %q", i, tx.Text)
			}
		}
		if strings.ContainsAny(tx.Text, "\u202E\r") {
			t.Errorf("text %d: control character survived: %q", i, tx.Text)
		}
	}
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  slack.WebhookMessage
	}{
		{"critical.json", Build(typical())},
		{"injection.json", Build(injected())},
		{"long.json", Build(long())},
		{"summary.json", BuildSummary(batch(), 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSafe(t, tc.msg)
			golden(t, tc.name, marshal(t, tc.msg))
		})
	}
}

func TestBuildInjectionShowsText(t *testing.T) {
	msg := Build(injected())
	out := RenderText(msg)
	// People see the attacker's text literally, and nothing became a
	// mention or a link.
	for _, want := range []string{injection, "billing<!here>&lt;x", "*bold* <@U0123ABC> &lt;script&gt; _it_"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[MENTION") || strings.Contains(out, "Open console (") {
		t.Errorf("rendered text has a live mention or link:\n%s", out)
	}
	if l := console.For(injected()); l != (console.Links{}) {
		t.Error("links built from attacker-controlled names")
	}
	raw := marshal(t, msg)
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U", "<https://evil"} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("payload contains %q", bad)
		}
	}
}

// Build shows console.For's links as mrkdwn links, and none that
// console.For refuses to build.
func TestBuildLinks(t *testing.T) {
	const id = "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	for _, tc := range []struct {
		name string
		f    detect.Finding
		want []string // the links expected, in order
	}{
		{"function", detect.Finding{Region: "eu-west-1", Function: "billing-api", EventID: id}, []string{
			"<https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/billing-api?tab=permissions|Function permissions in the console>",
			"<https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + id + "|Event in CloudTrail>",
		}},
		{"layer in govcloud", detect.Finding{Region: "us-gov-west-1", Layer: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:layer:shared:7"}, []string{
			"<https://console.amazonaws-us-gov.com/lambda/home?region=us-gov-west-1#/layers/shared/versions/7|Layer in the console>",
		}},
		{"attacker name", detect.Finding{Region: "us-east-1", Function: "f>|<!channel>", EventID: id}, []string{
			"<https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/" + id + "|Event in CloudTrail>",
		}},
		{"attacker region", detect.Finding{Region: "us-east-1.evil.example|x", Function: "f", EventID: id}, nil},
		{"EventBridge rule", detect.Finding{Region: "eu-west-1", EventRule: "lambdawatch-lambda-calls", EventID: id}, []string{
			"<https://eu-west-1.console.aws.amazon.com/events/home?region=eu-west-1#/eventbus/default/rules/lambdawatch-lambda-calls|EventBridge rule in the console>",
			"<https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + id + "|Event in CloudTrail>",
		}},
		{"SNS topic", detect.Finding{Region: "eu-west-1", Topic: "arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"}, []string{
			"<https://eu-west-1.console.aws.amazon.com/sns/v3/home?region=eu-west-1#/topic/arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts|SNS topic in the console>",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.Rule, f.Severity = detect.RulePublicInvoke, detect.Critical
			msg := Build(f)
			checkSafe(t, msg)
			var got []string
			for _, tx := range texts(msg) {
				if tx.Type == slack.MarkdownType {
					got = append(got, linkRE.FindAllString(tx.Text, -1)...)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("links\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

var linkRE = regexp.MustCompile(`<https://[^>]*>`)

func TestBuildContent(t *testing.T) {
	msg := Build(typical())
	out := RenderText(msg)
	rule, _ := detect.RuleByID(detect.RulePublicInvoke)
	for _, want := range []string{
		"🔴 CRITICAL · " + rule.Title + " (public-invoke)",
		rule.Why, rule.Remedy,
		"billing-api", "203.0.113.7", "123456789012 / eu-west-1", "2026-11-27 13:02:11 UTC",
		"lambda:InvokeFunction", "open-to-all", "aws-cli/2.15.30",
		"Function permissions in the console (https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/billing-api?tab=permissions)",
		"Event in CloudTrail (https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b)",
		"Event ID 3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b",
		"text: CRITICAL public-invoke: " + rule.Title + " — billing-api by arn:aws:sts::123456789012:assumed-role/dev-admin/alice in 123456789012/eu-west-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered message lacks %q:\n%s", want, out)
		}
	}
}

func TestBuildLongTruncatesVisibly(t *testing.T) {
	msg := Build(long())
	checkSafe(t, msg)
	n := 0
	for _, tx := range texts(msg) {
		n += strings.Count(tx.Text, truncSuffix)
	}
	// Function (field, fallback), summary, user agent, error message.
	if n < 5 {
		t.Errorf("%d truncation marks, want at least 5", n)
	}
	if !strings.Contains(RenderText(msg), "Unknown rule (brand-new-rule)") {
		t.Error("unknown rule not shown by ID")
	}
	// 8 fixed fields plus 4 optional ones: two overflow into a section.
	out := RenderText(msg)
	if !strings.Contains(out, "*Runtime*") || !strings.Contains(out, "*Function URL*") {
		t.Errorf("overflow fields lost:\n%s", out)
	}
}

func TestBuildUnknownRuleID(t *testing.T) {
	f := typical()
	f.Rule = "Evil :bomb: <!channel>"
	h := Build(f).Blocks.BlockSet[0].(*slack.HeaderBlock).Text.Text
	if !strings.HasSuffix(h, "Unknown rule (unknown-rule)") {
		t.Errorf("header %q shows an odd rule ID", h)
	}
}

func TestSummaryContent(t *testing.T) {
	fs := batch()
	msg := BuildSummary(fs, 3)
	out := RenderText(msg)
	for _, want := range []string{
		"lambdawatch: 12 alerts: 4 CRITICAL, 3 HIGH, 5 MEDIUM",
		"*4* × Function invocable by anyone `public-invoke` (worst CRITICAL)",
		"*3* × Service may invoke on behalf of any account `confused-deputy` (worst MEDIUM)",
		"*5* × arn:aws:iam::123456789012:user/ci (worst HIGH)",
		"*1* × " + injection + " (worst MEDIUM)",
		"The 3 CRITICAL alerts are posted in full below",
		"00000000-0000-4000-8000-000000000011",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Worst severity first: the CRITICAL rule line precedes the HIGH one.
	if strings.Index(out, "public-invoke") > strings.Index(out, "cross-account-invoke") {
		t.Errorf("rules not ordered by severity:\n%s", out)
	}
}

func TestSummaryManyGroupsStaysInLimits(t *testing.T) {
	var fs []detect.Finding
	for i := range 500 {
		f := typical()
		f.Actor = fmt.Sprintf("arn:aws:iam::123456789012:user/%s-%d", strings.Repeat("x", 150), i)
		f.Rule = fmt.Sprintf("rule-%d", i)
		fs = append(fs, f)
	}
	msg := BuildSummary(fs, 0)
	checkSafe(t, msg)
	if out := RenderText(msg); !strings.Contains(out, "more") {
		t.Errorf("no 'and N more' note:\n%.2000s", out)
	}
}

func FuzzBuild(f *testing.F) {
	f.Add(injection, "billing-api", "alice", "eu-west-1", "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b", "public-invoke", "&lt;")
	f.Add(strings.Repeat("<&>", 1200), strings.Repeat("é", 3000), "\u202E\n", "us-east-1|x", "<x|y>", "", "\xff")
	f.Fuzz(func(t *testing.T, ua, fn, actor, region, id, rule, other string) {
		fd := typical()
		fd.UserAgent, fd.Function, fd.Actor, fd.Region, fd.EventID, fd.Rule = ua, fn, actor, region, id, rule
		fd.Principal, fd.ErrorMessage, fd.Summary, fd.SourceIPAddress = other, other, other, other
		fd.Conditions = []string{other, ua}
		checkSafe(t, Build(fd))
		checkSafe(t, BuildSummary([]detect.Finding{fd, typical()}, 1))
	})
}
