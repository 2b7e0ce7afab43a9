package stacks_test

import (
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/archive"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
)

// The CDK app, the monitor at cold start, the engine, the archive walk and
// the alert's links each check identifiers; these tests hold them to the
// same answers, so that what the stack deploys the functions take, and
// what the archive holds the links name.

// monitorAccepts reports whether the monitor's cold start takes env.
func monitorAccepts(env map[string]string) bool {
	env[envvar.SNSTopicARN] = "arn:aws:sns:eu-west-1:111111111111:lambdawatch-alerts"
	_, err := notify.ConfigFromEnv(func(k string) string { return env[k] })
	return err == nil
}

func configAccepts(kv map[string]any) bool {
	_, err := stacks.ParseConfig(ctx(kv))
	return err == nil
}

// TestRegionsAgree: a region of any partition is one for the CDK app, the
// archive walk (key folders and --region) and the alert's links; a
// look-alike is one for none of them.
func TestRegionsAgree(t *testing.T) {
	for _, tt := range []struct {
		region string
		want   bool
	}{
		{"us-east-1", true}, {"eu-west-1", true}, {"ap-southeast-5", true}, {"il-central-1", true}, {"mx-central-1", true},
		{"cn-north-1", true}, {"cn-northwest-1", true}, {"us-gov-west-1", true}, {"us-gov-east-1", true},
		{"us-iso-east-1", true}, {"us-isob-east-1", true}, {"eu-isoe-west-1", true}, {"us-isof-south-1", true},
		{"eusc-de-east-1", true},
		{"us-east", false}, {"US-EAST-1", false}, {"us-east-1a", false}, {"xx-east-1", false}, {"mars-north-1", false},
		{"us-east-123", false}, {"eu-west-1.example", false},
	} {
		r := tt.region
		key := "AWSLogs/111111111111/CloudTrail/" + r + "/2026/01/02/111111111111_CloudTrail_" + r + "_20260102T0305Z_AbC123.json.gz"
		_, inArchive := archive.ParseKey(key)
		asBound := archive.Filter{Regions: []string{r}}.Validate() == nil
		inConfig := configAccepts(map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111", "centralRegion": r})
		// The email says when a finding's region is none.
		inLinks := !strings.Contains(notify.Email(detect.Finding{Region: r, Rule: detect.RulePublicInvoke, Function: "f"}), "is not a region name")
		if inArchive != tt.want || asBound != tt.want || inConfig != tt.want || inLinks != tt.want {
			t.Errorf("region %q: archive key %v, archive bound %v, CDK config %v, alert links %v; want %v for all",
				r, inArchive, asBound, inConfig, inLinks, tt.want)
		}
	}
}

// TestDeployRolesAgree: a deploy-role pattern the engine takes, the CDK
// config and the monitor's cold start take, and the other way round.
func TestDeployRolesAgree(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		want    bool
	}{
		{"cdk-*-cfn-exec-role-*", true}, {"deployer-?", true}, {"StackSetExecution@Team_1+=.", true}, {"*", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("r", 65), false}, {"team/deployer", false}, {"arn:aws:iam::111111111111:role/x", false},
		{"my role", false}, {"[abc]", false}, {`a\b`, false}, {"rôle", false},
	} {
		p := tt.pattern
		engine := detect.Config{DeployRoles: []string{p}}.Validate() == nil
		config := configAccepts(map[string]any{"deployRoles": []any{p}})
		monitor := monitorAccepts(map[string]string{envvar.MonitorDeployRoles: p})
		if engine != tt.want || config != tt.want || monitor != tt.want {
			t.Errorf("deploy role %q: engine %v, CDK config %v, monitor %v; want %v for all", p, engine, config, monitor, tt.want)
		}
	}
}

// TestPrefixesAgree: the monitor prefix.
func TestPrefixesAgree(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		want   bool
	}{
		{"lambdawatch", true}, {"Sec-LW-2", true}, {strings.Repeat("a", stacks.MaxMonitorPrefix), true},
		{strings.Repeat("a", stacks.MaxMonitorPrefix+1), false}, {"lambda_watch", false}, {"team/lw", false}, {"lw.2", false},
	} {
		p := tt.prefix
		engine := detect.Config{MonitorPrefix: p}.Validate() == nil
		config := configAccepts(map[string]any{"monitorPrefix": p})
		monitor := monitorAccepts(map[string]string{envvar.MonitorPrefix: p})
		if engine != tt.want || config != tt.want || monitor != tt.want {
			t.Errorf("prefix %q: engine %v, CDK config %v, monitor %v; want %v for all", p, engine, config, monitor, tt.want)
		}
	}
}

// TestAccountsAgree: trusted accounts and the organization ID, for the
// CDK config, the monitor's cold start, the engine and the archive walk.
func TestAccountsAgree(t *testing.T) {
	for _, tt := range []struct {
		account string
		want    bool
	}{
		{"111122223333", true}, {"000000000000", true},
		{"1234", false}, {"notanaccount", false}, {"11112222333a", false}, {"1111222233334", false}, {"1111-2222-3333", false},
	} {
		a := tt.account
		engine := detect.Config{TrustedAccounts: []string{a}}.Validate() == nil
		config := configAccepts(map[string]any{"trustedAccounts": []any{a}})
		monitor := monitorAccepts(map[string]string{envvar.TrustedAccounts: a})
		_, inArchive := archive.ParseKey("AWSLogs/" + a + "/CloudTrail/eu-west-1/2026/01/02/f.json.gz")
		asBound := archive.Filter{Accounts: []string{a}}.Validate() == nil
		if engine != tt.want || config != tt.want || monitor != tt.want || inArchive != tt.want || asBound != tt.want {
			t.Errorf("account %q: engine %v, CDK config %v, monitor %v, archive key %v, archive bound %v; want %v for all",
				a, engine, config, monitor, inArchive, asBound, tt.want)
		}
	}
	for _, tt := range []struct {
		org  string
		want bool
	}{
		{"o-abc123def4", true}, {"o-" + strings.Repeat("a", 32), true},
		{"o-abc", false}, {"O-ABC123DEF4", false}, {"org-1", false}, {"111122223333", false}, {"o-" + strings.Repeat("a", 33), false},
	} {
		o := tt.org
		engine := detect.Config{OrgID: o}.Validate() == nil
		config := configAccepts(map[string]any{"orgId": o})
		monitor := monitorAccepts(map[string]string{envvar.OrgID: o})
		_, inArchive := archive.ParseKey("AWSLogs/" + o + "/111122223333/CloudTrail/eu-west-1/2026/01/02/f.json.gz")
		if engine != tt.want || config != tt.want || monitor != tt.want || inArchive != tt.want {
			t.Errorf("organization %q: engine %v, CDK config %v, monitor %v, archive key %v; want %v for all",
				o, engine, config, monitor, inArchive, tt.want)
		}
	}
}
