package detect

import (
	"encoding/json"
	"os"
	"testing"
)

// TestJudgeWAF judges what fronts functions (testdata/fronts.json).
func TestJudgeWAF(t *testing.T) {
	data, err := os.ReadFile("testdata/fronts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name  string `json:"name"`
		Front Front  `json:"front"`
		Want  *struct {
			Severity Severity     `json:"severity"`
			Type     ResourceType `json:"type"`
		} `json:"want"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	e := New(testConfig)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r := Resource{ARN: "arn:aws:apigateway:eu-west-1::/restapis/abc/stages/prod", Account: owner, Region: "eu-west-1"}
			got := e.JudgeWAF(r, c.Front)
			if c.Want == nil {
				if len(got) != 0 {
					t.Fatalf("want nothing, got %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != RuleWAFMissing || got[0].Severity != c.Want.Severity || got[0].ResourceType != c.Want.Type || got[0].ResourceARN != r.ARN || got[0].Summary == "" {
				t.Fatalf("got %v, want one waf-missing %s on a %s", got, c.Want.Severity, c.Want.Type)
			}
		})
	}
}
