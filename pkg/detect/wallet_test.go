package detect

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestJudgeDenialOfWallet judges the ways to a function and their caps
// (testdata/paths.json).
func TestJudgeDenialOfWallet(t *testing.T) {
	data, err := os.ReadFile("testdata/paths.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string `json:"name"`
		Reserved *int32 `json:"reserved"`
		Paths    []Path `json:"paths"`
		Want     bool   `json:"want"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	e := New(testConfig)
	fn := Resource{ARN: "arn:aws:lambda:eu-west-1:" + owner + ":function:payments", Type: TypeFunction, Account: owner, Region: "eu-west-1", Name: "payments"}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := e.JudgeDenialOfWallet(fn, c.Reserved, c.Paths)
			if !c.Want {
				if len(got) != 0 {
					t.Fatalf("want nothing, got %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != RuleDenialOfWallet || got[0].Severity != Medium || got[0].ResourceARN != fn.ARN || got[0].Function != "payments" {
				t.Fatalf("got %v, want one denial-of-wallet MEDIUM", got)
			}
			for _, p := range c.Paths {
				if !p.capped() && !strings.Contains(got[0].Summary, string(p.Kind)) {
					t.Errorf("summary %q does not name the open path %s", got[0].Summary, p.Kind)
				}
			}
		})
	}
}
