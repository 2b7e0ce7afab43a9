package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/lambdawatch/lambdawatch/internal/auditfixture"
	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// unassumable is an account whose role the stand-in refuses to let the
// audit assume.
const unassumable = "333344445555"

// awsEnv points the SDK's default chain at endpoint, and at nothing on
// this machine.
func awsEnv(t *testing.T, endpoint string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            endpoint,
		"AWS_REGION":                  auditfixture.Region,
		"AWS_ACCESS_KEY_ID":           "AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "3",
	} {
		t.Setenv(k, v)
	}
}

// seededMoto starts moto with the fixture's two accounts seeded; cfg
// reaches the first.
func seededMoto(t *testing.T) (*motoserver.Server, aws.Config) {
	t.Helper()
	moto := motoserver.Start(t)
	ctx := context.Background()
	cfg := motoserver.Config(moto.URL, auditfixture.Region)
	if err := auditfixture.SeedAll(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return moto, cfg
}

// TestAuditMoto runs `lambdawatch audit` against moto: two accounts (one
// reached by assuming a role), two regions, a refused call, a throttled
// one and an account whose role cannot be assumed.
func TestAuditMoto(t *testing.T) {
	moto, _ := seededMoto(t)
	proxy := motoserver.NewProxy(t, moto.URL, motoserver.ProxyOptions{Refuse: func(c motoserver.Call) (motoserver.Refusal, bool) {
		switch {
		case c.Service == "lambda" && strings.HasSuffix(c.Path, "/functions/"+auditfixture.FnRefused+"/policy"):
			return motoserver.Refusal{Status: 403, Code: "AccessDeniedException", Message: "not authorized to perform lambda:GetPolicy"}, true
		case c.Service == "lambda" && strings.HasSuffix(c.Path, "/functions/"+auditfixture.FnBasic+"/versions"):
			return motoserver.Refusal{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}, true
		case c.Operation == "AssumeRole" && strings.Contains(c.Form.Get("RoleArn"), ":"+unassumable+":"):
			return motoserver.Refusal{Status: 403, Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}, true
		}
		return motoserver.Refusal{}, false
	}})
	awsEnv(t, proxy.URL)

	var stdout, stderr bytes.Buffer
	code := run([]string{"audit", "--format", "json", "--min-severity", "LOW",
		"--regions", auditfixture.Region + "," + auditfixture.Region2,
		"--role", auditfixture.AuditRole, "--accounts", strings.Join([]string{auditfixture.Main, auditfixture.Second, unassumable}, ","),
	}, nil, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if code != exitUsage {
		t.Errorf("exit %d, want %d: some calls were refused", code, exitUsage)
	}

	var findings []detect.Finding
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var f detect.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		findings = append(findings, f)
	}
	has := func(rule string, sev detect.Severity, typ detect.ResourceType, resource string) bool {
		return slices.ContainsFunc(findings, func(f detect.Finding) bool {
			return f.Rule == rule && f.Severity == sev && f.ResourceType == typ && f.ResourceARN == resource
		})
	}
	fn := func(account, region, name string) string {
		return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
	}
	main := func(name string) string { return fn(auditfixture.Main, auditfixture.Region, name) }
	role := func(name string) string { return "arn:aws:iam::" + auditfixture.Main + ":role/" + name }
	for _, w := range []struct {
		rule     string
		sev      detect.Severity
		typ      detect.ResourceType
		resource string
	}{
		{detect.RulePublicInvoke, detect.Critical, detect.TypeFunction, main(auditfixture.FnPublic)},
		{detect.RulePublicInvoke, detect.Critical, detect.TypeFunction, main(auditfixture.FnCapped)},
		{detect.RulePublicInvoke, detect.Critical, detect.TypeFunction, fn(auditfixture.Main, auditfixture.Region2, auditfixture.FnEU)},
		{detect.RulePublicInvoke, detect.Critical, detect.TypeFunction, fn(auditfixture.Second, auditfixture.Region, auditfixture.FnSecond)},
		{detect.RulePublicFunctionURL, detect.Critical, detect.TypeAlias, main(auditfixture.FnURL) + ":prod"},
		{detect.RuleFunctionURLAuthNone, detect.High, detect.TypeFunctionURL, main(auditfixture.FnURL)},
		{detect.RuleCrossAccountInvoke, detect.High, detect.TypeAlias, main(auditfixture.FnCross) + ":live"},
		{detect.RuleConfusedDeputy, detect.Medium, detect.TypeVersion, main(auditfixture.FnDeputy) + ":1"},
		{detect.RulePublicLayer, detect.High, detect.TypeLayerVersion, "arn:aws:lambda:us-east-1:" + auditfixture.Main + ":layer:" + auditfixture.LayerPublic + ":1"},
		{detect.RuleEOLRuntime, detect.Medium, detect.TypeFunction, main(auditfixture.FnPublic)},
		{detect.RulePrivilegedRole, detect.High, detect.TypeRole, role(auditfixture.RoleAdmin)},
		{detect.RulePrivilegedRole, detect.Medium, detect.TypeRole, role(auditfixture.RolePassRole)},
		{detect.RuleDenialOfWallet, detect.Medium, detect.TypeFunction, main(auditfixture.FnPublic)},
		{detect.RuleDenialOfWallet, detect.Medium, detect.TypeFunction, main(auditfixture.FnRest)},
		{detect.RuleDenialOfWallet, detect.Medium, detect.TypeFunction, main(auditfixture.FnHTTP)},
		{detect.RuleDenialOfWallet, detect.Medium, detect.TypeFunction, main(auditfixture.FnALB)},
		{detect.RuleDenialOfWallet, detect.Medium, detect.TypeFunction, main(auditfixture.FnURL)},
		{detect.RuleWAFMissing, detect.Medium, detect.TypeLoadBalancer, lbARN(t, findings, "public-alb")},
		{detect.RuleWAFMissing, detect.Low, detect.TypeLoadBalancer, lbARN(t, findings, "internal-alb")},
	} {
		if !has(w.rule, w.sev, w.typ, w.resource) {
			t.Errorf("no %s %s on %s %s", w.sev, w.rule, w.typ, w.resource)
		}
	}
	// The REST stage without a web ACL, and not the one with.
	stages := 0
	for _, f := range findings {
		if f.Rule == detect.RuleWAFMissing && f.ResourceType == detect.TypeRestStage {
			stages++
			if !strings.HasSuffix(f.ResourceARN, "/stages/dev") || f.Severity != detect.Medium {
				t.Errorf("waf-missing on %s %s", f.Severity, f.ResourceARN)
			}
		}
	}
	if stages != 1 {
		t.Errorf("%d REST stages without WAF, want 1 (dev)", stages)
	}

	// The look-alikes raise nothing, nor does anything in front of a
	// guarded path.
	for _, quiet := range []string{
		auditfixture.FnBasic, auditfixture.FnSourced, auditfixture.FnIAMURL, auditfixture.FnOwnLayer, auditfixture.FnRestGuarded,
		auditfixture.FnALBGuarded, auditfixture.FnImage, auditfixture.FnPassRole,
		auditfixture.RoleBasic, auditfixture.RoleScoped, auditfixture.LayerPrivate, "guarded-alb", "second-role", "eu-role",
	} {
		for _, f := range findings {
			if strings.HasSuffix(f.ResourceARN, "/"+quiet) || strings.HasSuffix(f.ResourceARN, ":"+quiet) || strings.Contains(f.ResourceARN, ":"+quiet+":") || strings.Contains(f.ResourceARN, "/"+quiet+"/") {
				t.Errorf("look-alike %s raised %s %s: %s", quiet, f.Severity, f.Rule, f.Summary)
			}
		}
	}
	for _, f := range findings {
		if f.Rule == detect.RuleDenialOfWallet && strings.HasSuffix(f.ResourceARN, ":"+auditfixture.FnCapped) {
			t.Errorf("denial-of-wallet on a function with reserved concurrency: %s", f.Summary)
		}
		if f.Account == unassumable {
			t.Errorf("finding in the account that could not be assumed: %+v", f)
		}
	}

	// Errors name the account or region, the call and the resource.
	errText := stderr.String()
	for _, want := range []string{
		"audit us-east-1: lambda GetPolicy " + main(auditfixture.FnRefused) + ": AccessDeniedException: not authorized to perform lambda:GetPolicy\n",
		"audit us-east-1: lambda ListVersionsByFunction " + main(auditfixture.FnBasic) + ": TooManyRequestsException: Rate exceeded\n",
		"audit " + unassumable + ": sts AssumeRole arn:aws:iam::" + unassumable + ":role/" + auditfixture.AuditRole + ": AccessDenied: not authorized to perform sts:AssumeRole",
	} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	// The closing compliance summary.
	for _, want := range []string{"RULE", "JUDGED", "public-invoke", "eol-runtime", "waf-missing", "denial-of-wallet", "privileged-role", "container image functions have no runtime to judge"} {
		if !strings.Contains(errText, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	summary := complianceLines(errText)
	// 18 + 1 functions of the main account's two regions, 1 of the
	// second; the image function is not judged for its runtime.
	if got := summary["eol-runtime"]; !slices.Equal(got, []string{"19", "1", "18", "1"}) {
		t.Errorf("eol-runtime judged/fail/pass/not judged = %v", got)
	}
	// 20 functions, 3 aliases and 2 versions; the policy of refused-fn
	// could not be read.
	if got := summary["public-invoke"]; !slices.Equal(got, []string{"24", "4", "20", "1"}) {
		t.Errorf("public-invoke judged/fail/pass/not judged = %v", got)
	}
	// 3 load balancers and 2 REST stages invoke Lambda; 3 lack WAF.
	if got := summary["waf-missing"]; !slices.Equal(got, []string{"5", "3", "2", "0"}) {
		t.Errorf("waf-missing judged/fail/pass/not judged = %v", got)
	}
}

// complianceLines reads the summary's rows: rule -> judged, fail, pass,
// not judged.
func complianceLines(s string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 {
			if _, ok := detect.RuleByID(f[0]); ok {
				out[f[0]] = f[1:]
			}
		}
	}
	return out
}

// lbARN finds the ARN moto gave a load balancer, from the findings'
// summaries and resources.
func lbARN(t *testing.T, findings []detect.Finding, name string) string {
	t.Helper()
	for _, f := range findings {
		if strings.Contains(f.ResourceARN, ":loadbalancer/app/"+name+"/") {
			return f.ResourceARN
		}
	}
	return "arn:aws:elasticloadbalancing:...:loadbalancer/app/" + name + "/..."
}

// TestAuditFailOn: with nothing refused, a finding at --fail-on exits 1,
// and the table names the resources.
func TestAuditFailOn(t *testing.T) {
	moto, cfg := seededMoto(t)
	ctx := context.Background()
	// An organization whose accounts the audit reaches through the role:
	// moto makes the caller's account its management account.
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	awsEnv(t, moto.URL)
	// Every CRITICAL rule suppressed: printed, marked, failing nothing.
	muted := filepath.Join(t.TempDir(), "muted.yaml")
	expires := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	if err := os.WriteFile(muted, []byte("suppressions:\n  - rule: public-invoke\n    reason: accepted\n    expires: "+expires+"\n  - rule: public-function-url\n    reason: accepted\n    expires: "+expires+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"audit", "--fail-on", "CRITICAL", "--min-severity", "CRITICAL", "--suppressions", muted}, exitOK},
		{[]string{"audit", "--fail-on", "CRITICAL"}, exitFindings},
		{[]string{"audit", "--fail-on", "CRITICAL", "--role", auditfixture.AuditRole, "--org", "--regions", "all"}, exitFindings},
		{[]string{"audit", "--fail-on", "CRITICAL", "--min-severity", "CRITICAL", "--regions", auditfixture.Region2}, exitFindings},
		{[]string{"audit", "--min-severity", "HIGH"}, exitOK},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, nil, &stdout, &stderr); code != c.want {
			t.Errorf("%q: exit %d, want %d\n%s", c.args, code, c.want, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "SEVERITY") || !strings.Contains(stdout.String(), "public-invoke") {
			t.Errorf("%q: table:\n%s", c.args, stdout.String())
		}
		if slices.Contains(c.args, "all") {
			// Every region moto's EC2 lists, the fixture's two among them.
			for _, r := range []string{auditfixture.Region, auditfixture.Region2} {
				if !strings.Contains(stdout.String(), " "+r+" ") {
					t.Errorf("--regions all: nothing in %s:\n%s", r, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), " of 1 account and ") || strings.Contains(stderr.String(), " and 1 region,") {
				t.Errorf("--org --regions all: %s", stderr.String())
			}
		}
	}
}

func TestAuditFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--accounts", "123456789012"},
		{"--role", "audit"},
		{"--role", "audit", "--org", "--accounts", "123456789012"},
		{"--role", "audit", "--accounts", "12345"},
		{"--regions", "all,us-east-1"},
		{"--regions", "us-east-1,Mars"},
		{"--format", "xml"},
		{"--concurrency", "0"},
		{"--fail-on", "urgent"},
		{"--suppressions", "/nonexistent/suppressions.yaml"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if code := run(append([]string{"audit"}, args...), nil, os.Stdout, &stderr); code != exitUsage || !strings.HasPrefix(stderr.String(), "lambdawatch audit: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}
