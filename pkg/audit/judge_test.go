package audit_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/audit"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestJudge judges an inventory in the shapes AWS returns
// (testdata/inventory.json) against testdata/judged.golden: one line a
// finding, then the tally.
func TestJudge(t *testing.T) {
	data, err := os.ReadFile("testdata/inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	var inv audit.AccountInventory
	if err := json.Unmarshal(data, &inv); err != nil {
		t.Fatal(err)
	}
	e := detect.New(detect.Config{OrgID: "o-a1b2c3d4e5"})
	rep := audit.Judge(e, &inv, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	for _, err := range rep.Errors {
		t.Errorf("judge: %v", err)
	}
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "%s %s %s %s\n", f.Severity, f.Rule, f.ResourceType, f.ResourceARN)
		if f.Summary == "" || f.Account != inv.Account {
			t.Errorf("finding lacks its summary or account: %+v", f)
		}
	}
	b.WriteString("--\n")
	for _, r := range slices.Sorted(maps.Keys(rep.Tally)) {
		c := rep.Tally[r]
		fmt.Fprintf(&b, "%s judged %d failed %d not-judged %d\n", r, c.Judged, c.Failed, c.NotJudged)
	}
	golden := "testdata/judged.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("judged:\n%s\nwant (%s):\n%s", b.String(), golden, want)
	}
}

// TestJudgeBadPolicy: a policy that is not JSON is named, and the rest
// of the account is judged.
func TestJudgeBadPolicy(t *testing.T) {
	inv := audit.AccountInventory{Account: "111122223333", Regions: []*audit.Inventory{{Account: "111122223333", Region: "eu-west-1", Functions: []audit.Function{
		{Name: "a", ARN: "arn:aws:lambda:eu-west-1:111122223333:function:a", Runtime: "python3.13", ConcurrencyKnown: true,
			Policies: []audit.ResourcePolicy{{ARN: "arn:aws:lambda:eu-west-1:111122223333:function:a", Document: "{broken"}}},
		{Name: "b", ARN: "arn:aws:lambda:eu-west-1:111122223333:function:b", Runtime: "python3.13", ConcurrencyKnown: true,
			Policies: []audit.ResourcePolicy{{ARN: "arn:aws:lambda:eu-west-1:111122223333:function:b", Document: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction"}]}`}}},
	}}}}
	rep := audit.Judge(detect.New(detect.Config{}), &inv, time.Now())
	if len(rep.Errors) != 1 || !strings.HasPrefix(rep.Errors[0].Error(), "audit eu-west-1: judge policy of arn:aws:lambda:eu-west-1:111122223333:function:a: ") {
		t.Errorf("errors: %v", rep.Errors)
	}
	if !slices.ContainsFunc(rep.Findings, func(f detect.Finding) bool {
		return f.Rule == detect.RulePublicInvoke && strings.HasSuffix(f.ResourceARN, ":b")
	}) {
		t.Errorf("the good policy was not judged: %v", rep.Findings)
	}
}
