package detect

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// TestJudgeGrant judges statements as a resource policy holds them, in
// every shape IAM accepts, not only those AddPermission writes
// (testdata/grants.json).
func TestJudgeGrant(t *testing.T) {
	data, err := os.ReadFile("testdata/grants.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name      string          `json:"name"`
		Resource  string          `json:"resource"` // "layer", else a function
		Statement json.RawMessage `json:"statement"`
		Want      []struct {
			Rule      string   `json:"rule"`
			Severity  Severity `json:"severity"`
			Principal string   `json:"principal"`
		} `json:"want"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	e := New(testConfig)
	fn := Resource{ARN: "arn:aws:lambda:eu-west-1:" + owner + ":function:payments", Type: TypeFunction, Account: owner, Region: "eu-west-1"}
	layer := Resource{ARN: "arn:aws:lambda:eu-west-1:" + owner + ":layer:lib:3", Type: TypeLayerVersion, Account: owner, Region: "eu-west-1"}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			st, err := policy.ParseStatement(c.Statement)
			if err != nil {
				t.Fatal(err)
			}
			res := fn
			if c.Resource == "layer" {
				res = layer
			}
			got := e.JudgeGrant(res, st)
			if len(got) != len(c.Want) {
				t.Fatalf("got %d findings %v, want %+v", len(got), got, c.Want)
			}
			for i, w := range c.Want {
				f := got[i]
				if f.Rule != w.Rule || f.Severity != w.Severity || f.Principal != w.Principal {
					t.Errorf("finding %d = %s %s %q, want %s %s %q", i, f.Rule, f.Severity, f.Principal, w.Rule, w.Severity, w.Principal)
				}
				if f.ResourceARN != res.ARN || f.ResourceType != res.Type || f.Account != owner || f.Region != "eu-west-1" || f.Summary == "" {
					t.Errorf("finding %d lacks the resource's fields: %+v", i, f)
				}
			}
		})
	}
}

// TestJudgeGrantSummary: a state's summary names the statement and what
// it lets in.
func TestJudgeGrantSummary(t *testing.T) {
	st, err := policy.ParseStatement([]byte(`{"Sid":"open","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := Resource{ARN: "arn:aws:lambda:eu-west-1:" + owner + ":function:payments:prod", Type: TypeAlias, Account: owner, Region: "eu-west-1", Name: "payments:prod"}
	got := New(testConfig).JudgeGrant(r, st)
	want := `statement "open" of the policy of payments:prod lets anyone (*) invoke payments:prod`
	if len(got) != 1 || got[0].Summary != want {
		t.Errorf("got %v, want the summary %q", got, want)
	}
}

// TestJudgeValues: the judges of a function's runtime, layers and URL,
// as an audit calls them.
func TestJudgeValues(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	e := New(Config{TrustedAccounts: []string{trusted}, Now: func() time.Time { return now }})
	r := Resource{ARN: "arn:aws:lambda:eu-west-1:" + owner + ":function:old", Type: TypeFunction, Account: owner, Region: "eu-west-1", Name: "old"}
	tests := []struct {
		name    string
		got     []Finding
		rule    string
		sev     Severity
		summary string
	}{
		{"deprecated runtime", e.JudgeRuntime(r, "python3.9", now), RuleEOLRuntime, Medium, "old runs on runtime python3.9, deprecated since 2025-12-15"},
		{"runtime deprecated soon", e.JudgeRuntime(r, "dotnet8", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), RuleEOLRuntime, Low, "old runs on runtime dotnet8, deprecated on 2026-11-10"},
		{"supported runtime", e.JudgeRuntime(r, "python3.13", now), "", 0, ""},
		{"URL without auth", e.JudgeURLAuth(r, "NONE", "https://x.lambda-url.eu-west-1.on.aws/"), RuleFunctionURLAuthNone, High, "the function URL of old has AuthType NONE (no authentication)"},
		{"URL with IAM auth", e.JudgeURLAuth(r, "AWS_IAM", ""), "", 0, ""},
		{"trusted layer", must(e.JudgeLayers(r, []string{"arn:aws:lambda:eu-west-1:" + trusted + ":layer:t:1"})), "", 0, ""},
		{"foreign layer", must(e.JudgeLayers(r, []string{"arn:aws:lambda:eu-west-1:" + foreign + ":layer:x:2"})), RuleForeignLayer, Medium, "old runs layer arn:aws:lambda:eu-west-1:999988887777:layer:x:2, published by account 999988887777"},
	}
	for _, tt := range tests {
		if tt.rule == "" {
			if len(tt.got) != 0 {
				t.Errorf("%s: got %v, want nothing", tt.name, tt.got)
			}
			continue
		}
		if len(tt.got) != 1 {
			t.Errorf("%s: got %v, want one %s", tt.name, tt.got, tt.rule)
			continue
		}
		f := tt.got[0]
		if f.Rule != tt.rule || f.Severity != tt.sev || f.Summary != tt.summary || f.ResourceARN != r.ARN || f.EventTime != now || f.Outcome != "" || f.Actor != "" {
			t.Errorf("%s: got %+v, want %s %s %q", tt.name, f, tt.rule, tt.sev, tt.summary)
		}
	}
	if _, err := e.JudgeLayers(r, []string{"not-an-arn"}); err == nil || !strings.Contains(err.Error(), "layers[0]") {
		t.Errorf("JudgeLayers of a bad ARN: %v, want an error naming layers[0]", err)
	}
}

func must(fs []Finding, err error) []Finding {
	if err != nil {
		panic(err)
	}
	return fs
}
