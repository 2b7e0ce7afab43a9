package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func ctx(kv map[string]any) func(string) any {
	return func(k string) any { return kv[k] }
}

func TestParseConfig(t *testing.T) {
	const secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:lambdawatch/slack-AbC123"
	tests := []struct {
		name    string
		context map[string]any
		check   func(t *testing.T, c stacks.Config)
		wantErr []string // substrings of the error; nil means no error
	}{
		{
			name:    "defaults",
			context: map[string]any{},
			check: func(t *testing.T, c stacks.Config) {
				if c.Architecture != stacks.ArchARM64 || c.MinSeverity != detect.Medium || c.SlackMinSeverity != detect.Medium ||
					!c.ReserveConcurrency || c.CreateTrail || c.Organization() || c.SlackSecretArn != "" || len(c.TrustedAccounts) != 0 || len(c.AlertEmails) != 0 ||
					c.MonitorPrefix != "lambdawatch" || len(c.DeployRoles) != 0 {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			name: "cdk.json's empty strings are defaults",
			context: map[string]any{"architecture": "", "minSeverity": "", "slackMinSeverity": "", "trustedAccounts": "",
				"orgId": "", "alertEmails": "", "slackSecretArn": "", "reserveConcurrency": "", "monitorPrefix": "", "deployRoles": ""},
			check: func(t *testing.T, c stacks.Config) {
				if c.Architecture != stacks.ArchARM64 || c.MinSeverity != detect.Medium || !c.ReserveConcurrency || c.Organization() ||
					c.MonitorPrefix != "lambdawatch" || len(c.DeployRoles) != 0 {
					t.Errorf("empty strings: %+v", c)
				}
			},
		},
		{
			name: "strings from -c",
			context: map[string]any{
				"trustedAccounts": " 222222222222, 333333333333 ,222222222222,", "orgId": "o-abc123def4",
				"minSeverity": "low", "slackMinSeverity": "High", "alertEmails": "a@example.com,b@example.org",
				"slackSecretArn": secret, "architecture": "x86_64", "reserveConcurrency": "false",
			},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.TrustedAccounts, []string{"222222222222", "333333333333"}) {
					t.Errorf("trusted accounts %q", c.TrustedAccounts)
				}
				if c.OrgID != "o-abc123def4" || c.MinSeverity != detect.Low || c.SlackMinSeverity != detect.High ||
					c.SlackSecretArn != secret || c.Architecture != stacks.ArchX8664 || c.ReserveConcurrency {
					t.Errorf("parsed %+v", c)
				}
				if !slices.Equal(c.AlertEmails, []string{"a@example.com", "b@example.org"}) {
					t.Errorf("emails %q", c.AlertEmails)
				}
			},
		},
		{
			name:    "JSON lists and booleans from cdk.json",
			context: map[string]any{"trustedAccounts": []any{"222222222222"}, "alertEmails": []any{"a@example.com"}, "reserveConcurrency": false, "createTrail": true},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.TrustedAccounts, []string{"222222222222"}) || !slices.Equal(c.AlertEmails, []string{"a@example.com"}) || c.ReserveConcurrency || !c.CreateTrail {
					t.Errorf("parsed %+v", c)
				}
			},
		},
		{
			name:    "slack severity follows the monitor's unless set",
			context: map[string]any{"minSeverity": "HIGH"},
			check: func(t *testing.T, c stacks.Config) {
				if c.SlackMinSeverity != detect.High {
					t.Errorf("slack severity %v", c.SlackMinSeverity)
				}
			},
		},
		{
			name: "organization, central region added to the regions",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111",
				"centralRegion": "eu-west-1", "regions": "us-east-1,ap-southeast-2"},
			check: func(t *testing.T, c stacks.Config) {
				if !c.Organization() || !slices.Equal(c.Regions, []string{"eu-west-1", "us-east-1", "ap-southeast-2"}) {
					t.Errorf("organization: %+v", c)
				}
			},
		},
		{
			name: "organization, central region listed already",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111",
				"centralRegion": "us-gov-west-1", "regions": []any{"us-gov-east-1", "us-gov-west-1"}},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.Regions, []string{"us-gov-east-1", "us-gov-west-1"}) {
					t.Errorf("regions %q", c.Regions)
				}
			},
		},
		{
			name:    "a prefix of letters, digits and hyphens",
			context: map[string]any{"monitorPrefix": " Sec-LW-2 "},
			check: func(t *testing.T, c stacks.Config) {
				if c.MonitorPrefix != "Sec-LW-2" || c.Names().MonitorFunction != "Sec-LW-2-monitor" {
					t.Errorf("prefix %q, names %+v", c.MonitorPrefix, c.Names())
				}
			},
		},
		{
			name:    "a prefix of 40 characters",
			context: map[string]any{"monitorPrefix": strings.Repeat("a", 40)},
			check: func(t *testing.T, c stacks.Config) {
				if len(c.MonitorPrefix) != 40 {
					t.Errorf("prefix %q", c.MonitorPrefix)
				}
			},
		},
		{
			name:    "a prefix of 41 characters",
			context: map[string]any{"monitorPrefix": strings.Repeat("a", 41)},
			wantErr: []string{"context monitorPrefix:", "want 1 to 40 letters, digits or hyphens"},
		},
		{
			name:    "a prefix with an underscore",
			context: map[string]any{"monitorPrefix": "lambda_watch"},
			wantErr: []string{`context monitorPrefix: "lambda_watch"`},
		},
		{
			name:    "a prefix with a slash",
			context: map[string]any{"monitorPrefix": "team/lw"},
			wantErr: []string{`context monitorPrefix: "team/lw"`},
		},
		{
			name:    "a prefix that is not a string",
			context: map[string]any{"monitorPrefix": true},
			wantErr: []string{"monitorPrefix: want a string"},
		},
		{
			name:    "deploy roles: globs on role names, trimmed and deduplicated",
			context: map[string]any{"deployRoles": " cdk-*-cfn-exec-role-* ,StackSetExecution@Team_1+=.,cdk-*-cfn-exec-role-*,"},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.DeployRoles, []string{"cdk-*-cfn-exec-role-*", "StackSetExecution@Team_1+=."}) {
					t.Errorf("deploy roles %q", c.DeployRoles)
				}
			},
		},
		{
			name:    "deploy roles as a JSON list",
			context: map[string]any{"deployRoles": []any{"deployer"}},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.DeployRoles, []string{"deployer"}) {
					t.Errorf("deploy roles %q", c.DeployRoles)
				}
			},
		},
		{
			name:    "deploy roles: ? stands for one character",
			context: map[string]any{"deployRoles": "deployer-?,cdk-*-cfn-exec-role-*"},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.DeployRoles, []string{"deployer-?", "cdk-*-cfn-exec-role-*"}) {
					t.Errorf("deploy roles %q", c.DeployRoles)
				}
			},
		},
		{
			name:    "deploy roles: a comma in a JSON list's role would split in the monitor",
			context: map[string]any{"deployRoles": []any{"deploy,er"}},
			wantErr: []string{`context deployRoles: "deploy,er": a comma cannot reach the monitor, whose MONITOR_DEPLOY_ROLES is comma-separated; write ? for it`},
		},
		{
			name: "organization in the European Sovereign Cloud",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111", "centralRegion": "eusc-de-east-1",
				"slackSecretArn": "arn:aws-eusc:secretsmanager:eusc-de-east-1:111111111111:secret:lambdawatch/slack-AbC123"},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.Regions, []string{"eusc-de-east-1"}) {
					t.Errorf("regions %q", c.Regions)
				}
			},
		},
		{
			name:    "organization in an isolated partition",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111", "centralRegion": "us-isob-east-1", "regions": "us-isob-west-1"},
			check: func(t *testing.T, c stacks.Config) {
				if !slices.Equal(c.Regions, []string{"us-isob-east-1", "us-isob-west-1"}) {
					t.Errorf("regions %q", c.Regions)
				}
			},
		},
		{
			name:    "regions of another partition than the central region's",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111", "centralRegion": "eu-west-1", "regions": "us-east-1,cn-north-1,us-gov-west-1"},
			wantErr: []string{"context regions: cn-north-1 is in partition aws-cn, the central region eu-west-1 in aws: events cannot be forwarded across partitions",
				"context regions: us-gov-west-1 is in partition aws-us-gov, the central region eu-west-1 in aws"},
		},
		{
			name:    "region look-alikes",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": "111111111111", "centralRegion": "US-EAST-1", "regions": "us-east,us-east-1a,xx-east-1"},
			wantErr: []string{`centralRegion: want the region that runs the monitor (e.g. eu-west-1), got "US-EAST-1"`,
				`regions: "us-east" is not a region name`, `regions: "us-east-1a" is not a region name`, `regions: "xx-east-1" is not a region name`},
		},
		{
			name:    "a secret ARN whose region is of another partition",
			context: map[string]any{"slackSecretArn": "arn:aws:secretsmanager:cn-north-1:111111111111:secret:lambdawatch/slack-AbC123"},
			wantErr: []string{`slackSecretArn: "arn:aws:secretsmanager:cn-north-1:`},
		},
		{
			name:    "a secret ARN with a wildcard",
			context: map[string]any{"slackSecretArn": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:lambdawatch/slack-*"},
			wantErr: []string{`slackSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:lambdawatch/slack-*"`},
		},
		{
			name:    "a secret ARN of another service",
			context: map[string]any{"slackSecretArn": "arn:aws:ssm:eu-west-1:111111111111:secret:lambdawatch/slack-AbC123"},
			wantErr: []string{`slackSecretArn: "arn:aws:ssm:`},
		},
		{
			name:    "a secret ARN without its account",
			context: map[string]any{"slackSecretArn": "arn:aws:secretsmanager:eu-west-1::secret:lambdawatch/slack-AbC123"},
			wantErr: []string{`slackSecretArn: "arn:aws:secretsmanager:eu-west-1::`},
		},
		{
			name:    "deploy roles: an ARN, a path, a space, too long",
			context: map[string]any{"deployRoles": "arn:aws:iam::111111111111:role/x,team/deployer,my role," + strings.Repeat("r", 65)},
			wantErr: []string{`deployRoles: "arn:aws:iam::111111111111:role/x"`, `deployRoles: "team/deployer"`, `deployRoles: "my role"`,
				`deployRoles: "` + strings.Repeat("r", 65) + `"`},
		},
		{
			name:    "organization needs all its keys",
			context: map[string]any{"centralAccountId": "111111111111"},
			wantErr: []string{"context orgId: required", "context centralRegion:"},
		},
		{
			name: "every mistake reported at once",
			context: map[string]any{
				"trustedAccounts": "12345", "orgId": "org-1", "minSeverity": "SEVERE", "alertEmails": "not-an-address",
				"slackSecretArn": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:slack", "architecture": "amd64",
				"reserveConcurrency": "maybe", "regions": "mars-north-1,eu-west-1",
			},
			wantErr: []string{
				`trustedAccounts: "12345"`, `orgId: "org-1"`, `minSeverity: unknown severity "SEVERE"`, `alertEmails: "not-an-address"`,
				"slackSecretArn:", "architecture: want arm64 or x86_64", "reserveConcurrency:", `regions: "mars-north-1"`, "centralAccountId:",
			},
		},
		{
			name:    "account IDs as JSON numbers lose leading zeros",
			context: map[string]any{"orgId": "o-abc123def4", "centralAccountId": float64(12345678901), "centralRegion": "eu-west-1", "regions": "eu-west-1"},
			wantErr: []string{"centralAccountId: write", "as a string"},
		},
		{
			name:    "wrong JSON types",
			context: map[string]any{"trustedAccounts": []any{float64(1)}, "alertEmails": map[string]any{}, "orgId": true},
			wantErr: []string{"trustedAccounts: want a list of strings", "alertEmails: want a comma-separated string", "orgId: want a string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := stacks.ParseConfig(ctx(tt.context))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("want an error, got none: %+v", c)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestAssetsFor(t *testing.T) {
	for arch, want := range map[string]stacks.Assets{
		stacks.ArchARM64: {Monitor: "build/arm64/monitor", Slack: "build/arm64/slack", Audit: "build/arm64/audit"},
		stacks.ArchX8664: {Monitor: "build/x86_64/monitor", Slack: "build/x86_64/slack", Audit: "build/x86_64/audit"},
	} {
		if got := stacks.AssetsFor(arch); got != want {
			t.Errorf("AssetsFor(%s) = %+v, want %+v (the Makefile's bootstraps target)", arch, got, want)
		}
	}
}

// TestCdkJSONListsEveryKey: cdk.json documents every context key with its
// default, and every default it gives parses.
func TestCdkJSONListsEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, k := range stacks.ContextKeys {
		if _, ok := c.Context[k]; !ok {
			t.Errorf("cdk.json lacks context key %s", k)
		}
	}
	cfg, err := stacks.ParseConfig(ctx(c.Context))
	if err != nil {
		t.Fatalf("cdk.json's defaults do not parse: %v", err)
	}
	if cfg.Organization() || cfg.Architecture != stacks.ArchARM64 || cfg.CreateTrail || !cfg.ReserveConcurrency {
		t.Errorf("cdk.json's defaults are not the single-account arm64 stack: %+v", cfg)
	}
}
