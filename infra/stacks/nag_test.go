package stacks_test

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

// nagMessages are the AWS Solutions errors or warnings left on a stack.
func nagMessages(s awscdk.Stack, warnings bool) []string {
	a := assertions.Annotations_FromStack(s)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
	found := a.FindError(jsii.String("*"), match)
	if warnings {
		found = a.FindWarning(jsii.String("*"), match)
	}
	var out []string
	for _, m := range *found {
		out = append(out, jsonString(m)) // the construct path and the message
	}
	return out
}

func TestNagClean(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		for _, name := range l.order {
			s := l.byName[name]
			for _, m := range nagMessages(s, false) {
				t.Errorf("%s/%s: unsuppressed cdk-nag error %s", l.name, name, m)
			}
			for _, m := range nagMessages(s, true) {
				t.Errorf("%s/%s: cdk-nag warning %s", l.name, name, m)
			}
			// The report is in the cloud assembly, and shows the checks ran.
			reports, _ := filepath.Glob(filepath.Join(l.outdir, "AwsSolutions-*"+name+"-NagReport.json"))
			csv, _ := filepath.Glob(filepath.Join(l.outdir, "AwsSolutions-*"+name+"-NagReport.csv"))
			if len(reports) != 1 || len(csv) != 1 {
				t.Errorf("%s/%s: want one JSON and one CSV report in %s, found %v %v", l.name, name, l.outdir, reports, csv)
				continue
			}
			var report struct {
				Lines []struct {
					RuleID, ResourceID, Compliance, ExceptionReason string
				} `json:"lines"`
			}
			b, err := os.ReadFile(reports[0])
			if err == nil {
				err = json.Unmarshal(b, &report)
			}
			if err != nil {
				t.Fatalf("%s: %v", reports[0], err)
			}
			compliant := 0
			for _, line := range report.Lines {
				switch line.Compliance {
				case "Compliant":
					compliant++
				case "Suppressed":
					if len(line.ExceptionReason) < 40 {
						t.Errorf("%s: %s on %s suppressed without a reason: %q", name, line.RuleID, line.ResourceID, line.ExceptionReason)
					}
				case "N/A":
				default:
					t.Errorf("%s: %s on %s is %s", name, line.RuleID, line.ResourceID, line.Compliance)
				}
			}
			if compliant == 0 {
				t.Errorf("%s: the report shows no rule checked", name)
			}
		}
	}
}

// TestNagSuppressions: the suppressions in nag.go, and only those, reach
// the templates, each with its reason.
func TestNagSuppressions(t *testing.T) {
	type key struct{ path, rule string }
	want := map[string][]key{
		"single": { // and the audit's
			{"LambdaWatch/AuditDeadLetterQueue/Resource", "AwsSolutions-SQS3"},
			{"LambdaWatch/AuditRole/DefaultPolicy/Resource", "AwsSolutions-IAM5"},
			{"LambdaWatch/AuditScheduleRole/DefaultPolicy/Resource", "AwsSolutions-IAM5"},
			{"LambdaWatch/AuditScheduleRole/Resource", "AwsSolutions-IAM5"},
			{"LambdaWatch/MonitorDeadLetterQueue/Resource", "AwsSolutions-SQS3"},
			{"LambdaWatch/SlackSecret/Resource", "AwsSolutions-SMG4"},
		},
		"variant": { // the secret is not the stack's; the trail is
			{"LambdaWatch/MonitorDeadLetterQueue/Resource", "AwsSolutions-SQS3"},
			{"LambdaWatch/TrailBucket/Resource", "AwsSolutions-S1"},
		},
	}
	for _, l := range []*layout{single, variant} {
		var got []key
		for _, r := range l.monitorJSON()["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			for _, s := range asList(nag["rules_to_suppress"]) {
				s := s.(map[string]any)
				if reason, _ := s["reason"].(string); len(reason) < 40 {
					t.Errorf("%s: suppression %v has no real reason", md["aws:cdk:path"], s)
				}
				// Suppressions apply to children: queue policies inherit
				// their queue's; count the resources they are written for.
				if p := md["aws:cdk:path"].(string); filepath.Base(p) == "Resource" && filepath.Base(filepath.Dir(p)) != "Policy" {
					got = append(got, key{p, s["id"].(string)})
				}
			}
		}
		slices.SortFunc(got, func(a, b key) int { return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.rule, b.rule)) })
		if !slices.Equal(got, want[l.name]) {
			t.Errorf("%s: suppressions %v, want %v", l.name, got, want[l.name])
		}
	}
}

// TestNagCatchesProblems: the same checks fail a stack that breaks them, so
// that TestNagClean cannot pass on checks that never ran.
func TestNagCatchesProblems(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Careless"), nil)
	awssqs.NewQueue(stack, jsii.String("Queue"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	stacks.AddNagChecks(app)
	app.Synth(nil)
	errs := nagMessages(stack, false)
	for _, rule := range []string{"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} {
		if !slices.ContainsFunc(errs, func(m string) bool { return strings.Contains(m, rule) }) {
			t.Errorf("cdk-nag did not report %s on an unencrypted queue without TLS or dead-letter queue; it reported %v", rule, errs)
		}
	}
}
