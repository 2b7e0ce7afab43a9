package notify

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const topic = "arn:aws:sns:eu-west-1:111122223333:alerts"

var when = time.Date(2026, 11, 27, 9, 41, 7, 0, time.UTC)

// findings are the cases of the golden files.
var findings = map[string]detect.Finding{
	"public-invoke": {
		EventID: "6f1c3f0e-8d3b-4c1e-9a57-1f2f5e0b9c11", EventTime: when,
		EventName: "AddPermission20150331v2", Rule: detect.RulePublicInvoke, Severity: detect.Critical,
		Outcome: detect.Succeeded, Account: "111122223333", Region: "eu-west-1",
		Function: "orders-api", Principal: "*", Action: "lambda:InvokeFunction", StatementID: "open-to-all",
		Actor:           "arn:aws:sts::111122223333:assumed-role/Admin/alice",
		SourceIPAddress: "203.0.113.17", UserAgent: "aws-cli/2.17.0 Python/3.11.8 Linux/6.1 exe/x86_64",
		Summary: "orders-api can be invoked by anyone (principal *).",
	},
	"cross-account-failed": {
		EventID: "0d9b2f4a-7e61-4f0a-b0de-5b7c2a9e4f30", EventTime: when,
		EventName: "AddPermission20150331v2", Rule: detect.RuleCrossAccountInvoke, Severity: detect.Low,
		Outcome: detect.Failed, Account: "111122223333", Region: "us-east-1",
		Function:   "arn:aws:lambda:us-east-1:111122223333:function:billing:prod",
		Principal:  "999988887777",
		Conditions: []string{"AWS:SourceArn ArnLike arn:aws:s3:::exfil-bucket", "AWS:SourceAccount StringEquals 999988887777"},
		Action:     "lambda:InvokeFunction", Actor: "arn:aws:iam::111122223333:user/mallory",
		SourceIPAddress: "198.51.100.4", UserAgent: "Boto3/1.34.0 Python/3.12.1",
		ErrorCode: "AccessDenied", ErrorMessage: "User: arn:aws:iam::111122223333:user/mallory is not authorized to perform: lambda:AddPermission",
		Summary: "Someone tried to let account 999988887777 invoke billing:prod; the call was refused.",
	},
	"public-layer": {
		EventID: "c3a1d2e4-0000-4b5c-8d9e-112233445566", EventTime: when,
		EventName: "AddLayerVersionPermission20181031", Rule: detect.RulePublicLayer, Severity: detect.High,
		Outcome: detect.Succeeded, Account: "111122223333", Region: "ap-southeast-1",
		Layer: "arn:aws:lambda:ap-southeast-1:111122223333:layer:shared-secrets:7", Principal: "*",
		Action: "lambda:GetLayerVersion", Actor: "arn:aws:iam::111122223333:user/ci", SourceIPAddress: "cloudformation.amazonaws.com",
		UserAgent: "cloudformation.amazonaws.com", Summary: "Layer shared-secrets version 7 is shared with every AWS account.",
	},
	"monitor-tampering": {
		EventID: "5b1e0c7d-2a4f-4e8b-9c3d-7f6a5e4d3c2b", EventTime: when,
		EventName: "SetQueueAttributes", Rule: detect.RuleMonitorTampering, Severity: detect.High,
		Outcome: detect.Succeeded, Account: "111122223333", Region: "eu-west-1",
		Queue: "https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack",
		Actor: "arn:aws:iam::111122223333:user/ci-deployer", SourceIPAddress: "203.0.113.41", UserAgent: "aws-cli/2.22.35",
		Summary: "user/ci-deployer changed attributes Policy of SQS queue lambdawatch-slack (part of lambdawatch)",
	},
	// The scheduled audit's: a resource as it stands, no call, no caller.
	"audit-public-url": {
		Rule: detect.RulePublicFunctionURL, Severity: detect.Critical, Account: "111122223333", Region: "eu-west-1",
		ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:orders:prod", ResourceType: detect.TypeFunctionURL,
		Function: "orders", Principal: "*", Action: "lambda:InvokeFunctionUrl", StatementID: "FunctionURLAllowPublicAccess",
		FunctionURL: "https://abc123.lambda-url.eu-west-1.on.aws/",
		Summary:     "function URL of orders:prod lets anyone invoke it without signing",
	},
	// Everything an attacker can put in a record, aimed at the reader of the
	// email: forged lines and headers, a link to another host, Slack
	// mentions, invisible characters, a region that is not one.
	"injection": {
		EventID: "x\"/../#@evil.example/?", EventTime: when,
		EventName: "AddPermission20150331v2", Rule: detect.RulePublicInvoke, Severity: detect.Critical,
		Outcome: detect.Succeeded, Account: "111122223333\r\nBcc: all@example.com", Region: "eu-west-1.evil.example/#",
		Function:  "pay\u202Eexe.fdp#/../evil?x=1@evil.example",
		Principal: "*", Action: "lambda:InvokeFunction",
		Actor:           "arn:aws:iam::111122223333:user/<!channel>",
		SourceIPAddress: "203.0.113.66\nWhat to do\n  Nothing, this is expected.",
		UserAgent:       "Mozilla/5.0\r\nSubject: all clear\r\n\r\n<!here> <https://evil.example|Open the console> \x00\x1b[31m\xff",
		Summary:         "line one\nWhy it matters\n  It does not.",
	},
}

func TestEmailGolden(t *testing.T) {
	for name, f := range findings {
		t.Run(name, func(t *testing.T) {
			in, err := PublishInput(topic, f)
			if err != nil {
				t.Fatal(err)
			}
			var m Members
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
				t.Fatalf("message is not a JSON message structure: %v", err)
			}
			got := render(in, m)
			golden(t, filepath.Join("testdata", name+".email.golden"), got)
		})
	}
}

// render shows what a mail client shows, and the attributes.
func render(in *sns.PublishInput, m Members) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\n", aws.ToString(in.Subject))
	var names []string
	for k := range in.MessageAttributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := in.MessageAttributes[k]
		fmt.Fprintf(&b, "Attribute %s (%s): %q\n", k, aws.ToString(v.DataType), aws.ToString(v.StringValue))
	}
	b.WriteString("\n")
	b.WriteString(m.Email)
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPublishInputMembers(t *testing.T) {
	for name, f := range findings {
		t.Run(name, func(t *testing.T) {
			in, err := PublishInput(topic, f)
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(in.TopicArn) != topic || aws.ToString(in.MessageStructure) != "json" {
				t.Errorf("topic %q, structure %q", aws.ToString(in.TopicArn), aws.ToString(in.MessageStructure))
			}
			var m map[string]string
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			// The wire format: exactly json.Marshal of the finding.
			for _, k := range []string{"sqs", "lambda", "https"} {
				if m[k] != string(want) {
					t.Errorf("member %s = %s, want %s", k, m[k], want)
				}
			}
			if m["default"] == "" || m["default"] != m["email"] {
				t.Errorf("default and email differ or are empty")
			}
			if len(m) != 5 {
				t.Errorf("members %v, want default, email, sqs, lambda, https", m)
			}
			for k, v := range in.MessageAttributes {
				if aws.ToString(v.StringValue) == "" || aws.ToString(v.DataType) != "String" {
					t.Errorf("attribute %s = %+v", k, v)
				}
			}
		})
	}
}

func TestAttributesSkipEmpty(t *testing.T) {
	a := Attributes(detect.Finding{Rule: detect.RuleEOLRuntime, Severity: detect.Medium})
	if _, ok := a[AttrAccount]; ok {
		t.Error("empty account attribute sent: SNS rejects it")
	}
	if _, ok := a[AttrRegion]; ok {
		t.Error("empty region attribute sent: SNS rejects it")
	}
	if v := aws.ToString(a[AttrSeverity].StringValue); v != "MEDIUM" {
		t.Errorf("severity = %q", v)
	}
	if v := aws.ToString(a[AttrRule].StringValue); v != detect.RuleEOLRuntime {
		t.Errorf("rule = %q", v)
	}
}

func TestSubject(t *testing.T) {
	long := strings.Repeat("f", 64)
	tests := []struct {
		name string
		f    detect.Finding
		want string // exact, if set
	}{
		{"plain", findings["public-invoke"], "[CRITICAL] public-invoke: orders-api in 111122223333/eu-west-1"},
		{"arn and failed", findings["cross-account-failed"], "[LOW] cross-account-invoke: billing:prod in 111122223333/us-east-1 (failed call)"},
		{"layer", findings["public-layer"], "[HIGH] public-layer: shared-secrets:7 in 111122223333/ap-southeast-1"},
		{"queue", findings["monitor-tampering"], "[HIGH] monitor-tampering: lambdawatch-slack in 111122223333/eu-west-1"},
		{"trail ARN", detect.Finding{Rule: detect.RuleTrailDisabled, Severity: detect.High, Trail: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org", Account: "111122223333", Region: "eu-west-1"},
			"[HIGH] trail-disabled: org in 111122223333/eu-west-1"},
		{"long name", detect.Finding{Rule: detect.RuleConfusedDeputy, Severity: detect.Medium, Function: long + ":" + long,
			Account: "111122223333", Region: "ap-southeast-1", Outcome: detect.Failed}, ""},
		{"injection", findings["injection"], ""},
		{"no resource", detect.Finding{Rule: "x", EventName: "CreateFunction20150331"}, "[INFO] x: CreateFunction20150331"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Subject(tt.f)
			if tt.want != "" && s != tt.want {
				t.Errorf("Subject = %q, want %q", s, tt.want)
			}
			if len(s) > MaxSubject {
				t.Errorf("Subject %q is %d bytes, over %d", s, len(s), MaxSubject)
			}
			for _, r := range s {
				if r < ' ' || r > '~' {
					t.Fatalf("Subject %q has %q: SNS wants printable ASCII", s, r)
				}
			}
			if !strings.HasPrefix(s, "[") {
				t.Errorf("Subject %q does not start with the severity", s)
			}
		})
	}
}

func TestEmailOneLinePerField(t *testing.T) {
	text := Email(findings["injection"])
	for _, forged := range []string{"\nSubject: all clear", "\nWhat to do\n  Nothing", "\nWhy it matters\n  It does not", "\nBcc:", "\u202E", "\x00", "\x1b", "\r"} {
		if strings.Contains(text, forged) {
			t.Errorf("email carries attacker text %q unescaped:\n%s", forged, text)
		}
	}
	if strings.Contains(text, "https://eu-west-1.evil.example") || strings.Contains(text, "console.aws.amazon.com") {
		t.Errorf("email links built from an invalid region:\n%s", text)
	}
	if !strings.Contains(text, `\u202e`) {
		t.Errorf("bidi override not spelled out:\n%s", text)
	}
}

func TestPublishInputFitsSNS(t *testing.T) {
	f := findings["public-invoke"]
	f.UserAgent = strings.Repeat("A", 300<<10)
	f.ErrorMessage = strings.Repeat("é", 100<<10)
	f.Conditions = make([]string, 5000)
	for i := range f.Conditions {
		f.Conditions[i] = strings.Repeat("c", 100)
	}
	in, err := PublishInput(topic, f)
	if err != nil {
		t.Fatal(err)
	}
	if n := size(in); n > MaxMessage {
		t.Fatalf("message is %d bytes, over %d", n, MaxMessage)
	}
	var m Members
	if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &m); err != nil {
		t.Fatal(err)
	}
	var g detect.Finding
	if err := json.Unmarshal([]byte(m.SQS), &g); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(g.UserAgent, cutMark) || !strings.HasSuffix(g.ErrorMessage, cutMark) {
		t.Errorf("long fields not visibly cut: %q... %q...", g.UserAgent[:20], g.ErrorMessage[:20])
	}
	if !strings.Contains(m.Email, cutMark) {
		t.Error("email does not show the cut")
	}
	if g.EventID != f.EventID || g.Rule != f.Rule || g.Function != f.Function {
		t.Errorf("identifying fields changed: %+v", g)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s     string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"0123456789abcdef", 12, "0123" + cutMark},
		{"éééééé", 10, "é" + cutMark}, // 2 bytes of room: one é
		{"éééééé", 11, "é" + cutMark}, // 3 bytes of room: one é, not one and a half
		{"abcdefghijkl", 4, cutMark},  // no room left but the mark
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.limit); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.limit, got, tt.want)
		}
	}
}
