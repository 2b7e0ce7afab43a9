package detect

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestJudgeRole judges execution roles by their identity policies
// (testdata/roles.json).
func TestJudgeRole(t *testing.T) {
	data, err := os.ReadFile("testdata/roles.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string `json:"name"`
		Policies []struct {
			Name     string          `json:"name"`
			Document json.RawMessage `json:"document"`
		} `json:"policies"`
		Want *struct {
			Severity Severity `json:"severity"`
			Action   string   `json:"action"`
		} `json:"want"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	e := New(testConfig)
	role := Resource{ARN: "arn:aws:iam::" + owner + ":role/worker", Account: owner, Region: "eu-west-1", Name: "worker"}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var ps []RolePolicy
			for _, p := range c.Policies {
				ps = append(ps, RolePolicy{Name: p.Name, Document: string(p.Document)})
			}
			got, err := e.JudgeRole(role, ps, []string{"payments"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Want == nil {
				if len(got) != 0 {
					t.Fatalf("want nothing, got %v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want one %s finding", got, c.Want.Severity)
			}
			f := got[0]
			if f.Rule != RulePrivilegedRole || f.Severity != c.Want.Severity || f.Action != c.Want.Action {
				t.Errorf("got %s %s %q, want %s %q", f.Rule, f.Severity, f.Action, c.Want.Severity, c.Want.Action)
			}
			if f.ResourceARN != role.ARN || f.ResourceType != TypeRole || f.Function != "payments" || !strings.HasPrefix(f.Summary, "role worker allows ") {
				t.Errorf("finding fields: %+v", f)
			}
		})
	}
}

// TestJudgeRoleBadPolicy: a policy that is not JSON is named in the error,
// and the others are still judged.
func TestJudgeRoleBadPolicy(t *testing.T) {
	e := New(testConfig)
	role := Resource{ARN: "arn:aws:iam::" + owner + ":role/worker", Account: owner}
	got, err := e.JudgeRole(role, []RolePolicy{
		{Name: "broken", Document: "{not json"},
		{Name: "admin", Document: `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "policy broken of arn:aws:iam::"+owner+":role/worker") {
		t.Errorf("error %v does not name the policy", err)
	}
	if len(got) != 1 || got[0].Severity != High {
		t.Errorf("the readable policy was not judged: %v", got)
	}
}
