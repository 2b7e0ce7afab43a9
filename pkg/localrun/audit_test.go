package localrun_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambdawatch/lambdawatch/internal/auditfixture"
	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
	"github.com/lambdawatch/lambdawatch/pkg/sweep"
)

// TestAuditFunction runs the scheduled audit's real bootstrap under the
// emulator against moto: the seeded account's Lambda, IAM, API Gateway,
// ELBv2 and WAF, the state table in its DynamoDB, and the alert topic in
// its SNS with a queue subscribed. The first run alerts each CRITICAL
// and HIGH finding and lists everything as new; once the public grant is
// removed, the next run alerts nothing and lists that grant as resolved;
// the run after that is quiet.
func TestAuditFunction(t *testing.T) {
	bins := binaries(t)
	moto := motoserver.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cfg := motoserver.Config(moto.URL, auditfixture.Region)
	if err := auditfixture.SeedAll(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	motostate.CreateStateTable(t, dynamodb.NewFromConfig(cfg), motostate.StateTableName)
	inbox, err := auditfixture.NewInbox(ctx, cfg, motoserver.DefaultAccount)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := &syncBuffer{}
	fn, err := localrun.StartFunction(ctx, "audit", bins.RIE, bins.Audit, []string{
		"AWS_REGION=" + auditfixture.Region, "AWS_DEFAULT_REGION=" + auditfixture.Region,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + moto.URL,
		"AWS_LAMBDA_FUNCTION_NAME=lambdawatch-audit", "AWS_LAMBDA_FUNCTION_TIMEOUT=300", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "TZ=UTC",
		"SNS_TOPIC_ARN=" + inbox.Topic, "STATE_TABLE=" + motostate.StateTableName, "MIN_SEVERITY=LOW",
	}, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("audit function's log:\n%s", logs.String())
		}
	})

	run := func(name string) ([]detect.Finding, digest.Digest) {
		t.Helper()
		if _, err := fn.Invoke(ctx, []byte(`{"source":"scheduler"}`)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		alerts, digests, err := inbox.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(digests) != 1 || digests[0].Changes == nil || !digests[0].Changes.Complete {
			t.Fatalf("%s: %d digests (%+v), want one with complete changes", name, len(digests), digests)
		}
		return alerts, digests[0]
	}
	publicGrant := func(f detect.Finding) bool {
		return f.Rule == detect.RulePublicInvoke && f.Function == auditfixture.FnPublic
	}

	alerts, d := run("first run")
	pages := 0
	for _, f := range d.Findings {
		if f.Severity >= sweep.AlertAbove {
			pages++
		}
	}
	if c := d.Changes; len(d.Findings) == 0 || c.NewCount != len(d.Findings) || c.ResolvedCount != 0 {
		t.Errorf("first run: %d findings, %d new, %d resolved; want every finding new", len(d.Findings), c.NewCount, c.ResolvedCount)
	}
	if len(alerts) != pages || !slices.ContainsFunc(alerts, publicGrant) {
		t.Errorf("first run: %d alerts, want one for each of the %d CRITICAL and HIGH findings, the public grant on %s among them", len(alerts), pages, auditfixture.FnPublic)
	}

	if _, err := lambda.NewFromConfig(cfg).RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(auditfixture.FnPublic), StatementId: aws.String("public")}); err != nil {
		t.Fatal(err)
	}
	alerts, d = run("second run")
	if len(alerts) != 0 || d.Changes.NewCount != 0 || !slices.ContainsFunc(d.Changes.Resolved, publicGrant) || slices.ContainsFunc(d.Findings, publicGrant) {
		t.Errorf("second run: %d alerts, %d new, resolved %d; want no alert, nothing new, the removed grant resolved", len(alerts), d.Changes.NewCount, d.Changes.ResolvedCount)
	}

	alerts, d = run("third run")
	if len(alerts) != 0 || d.Changes.NewCount != 0 || d.Changes.ResolvedCount != 0 {
		t.Errorf("third run: %d alerts, %d new, %d resolved; want a quiet run", len(alerts), d.Changes.NewCount, d.Changes.ResolvedCount)
	}
}
