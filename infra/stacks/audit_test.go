package stacks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
)

// auditStatements are the audit function's role's statements, by Sid.
func auditStatements(t *testing.T, tpl map[string]any) map[string]map[string]any {
	t.Helper()
	fn := only(t, tpl, "AWS::Lambda::Function", func(p map[string]any) bool {
		return strings.HasPrefix(jsonString(p["Description"]), `"lambdawatch audit`)
	})
	role := props(tpl, fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	out := map[string]map[string]any{}
	for _, p := range resources(tpl, "AWS::IAM::Policy") {
		pp := p["Properties"].(map[string]any)
		if !strings.Contains(jsonString(pp["Roles"]), `"`+role+`"`) {
			continue
		}
		for _, st := range asList(pp["PolicyDocument"].(map[string]any)["Statement"]) {
			st := st.(map[string]any)
			sid, _ := st["Sid"].(string)
			out[sid] = st
		}
	}
	return out
}

// readOnly reports whether every action only reads.
func readOnly(actions []string) bool {
	return !slices.ContainsFunc(actions, func(a string) bool {
		_, call, _ := strings.Cut(a, ":")
		return a != "apigateway:GET" && !strings.HasPrefix(call, "List") && !strings.HasPrefix(call, "Get") && !strings.HasPrefix(call, "Describe")
	})
}

func TestAudit(t *testing.T) {
	if !readOnly(stacks.AuditReadActions) {
		t.Fatalf("AuditReadActions holds a call that is not a read: %v", stacks.AuditReadActions)
	}
	if n := len(resources(variant.monitorJSON(), "AWS::Scheduler::Schedule")); n != 0 {
		t.Errorf("%s: %d schedules with -c audit=false", variant.name, n)
	}
	if !single.cfg.Audit || variant.cfg.Audit {
		t.Errorf("the audit is on by default and off with audit=false: %v, %v", single.cfg.Audit, variant.cfg.Audit)
	}
	for _, l := range []*layout{single, org, audited, auditedOrg} {
		tpl := l.monitorJSON()
		sts := auditStatements(t, tpl)
		if got := strs(sts["ReadState"]["Action"]); !sameSet(got, stacks.AuditReadActions) {
			t.Errorf("%s: the audit reads %v, want exactly %v", l.name, got, stacks.AuditReadActions)
		}
		// What it remembers of its runs: the ledger's items and no others.
		mem := sts["RememberAuditRuns"]
		if got := strs(mem["Action"]); !sameSet(got, []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}) ||
			!strings.Contains(jsonString(mem["Condition"]), `"dynamodb:LeadingKeys":["`+ledger.Prefix+`*"]`) ||
			!strings.Contains(jsonString(mem["Resource"]), "StateTable") {
			t.Errorf("%s: the audit's memory grant is %s, want Get, Put, Update and Delete of the state table's %s* items", l.name, jsonString(mem), ledger.Prefix)
		}
		fn := only(t, tpl, "AWS::Lambda::Function", func(p map[string]any) bool {
			return strings.HasPrefix(jsonString(p["Description"]), `"lambdawatch audit`)
		})
		if env := jsonString(props(tpl, fn)["Environment"]); !strings.Contains(env, `"STATE_TABLE":{"Ref":"StateTable`) {
			t.Errorf("%s: the audit function's environment %s has no STATE_TABLE", l.name, env)
		}
		for sid, st := range sts {
			if sid == "WriteOwnLogs" || sid == "PublishDigest" || sid == "UseTopicKey" || sid == "RememberAuditRuns" || sid == "UseStateKey" || sid == "AssumeMemberAuditRole" || sid == "ListOrganizationAccounts" || sid == "ReadState" || sid == "ImportFindings" && l.cfg.SecurityHub {
				continue
			}
			// The fan-out queue's own grants (send, receive, delete).
			if !strings.Contains(jsonString(st["Resource"]), "AuditQueue") {
				t.Errorf("%s: the audit function may also %v on %s", l.name, st["Action"], jsonString(st["Resource"]))
			}
		}
		sched := only(t, tpl, "AWS::Scheduler::Schedule", nil)
		p := props(tpl, sched)
		want := stacks.DefaultAuditSchedule
		if l == audited {
			want = "rate(12 hours)"
		}
		if p["ScheduleExpression"] != want {
			t.Errorf("%s: schedule %v, want %s", l.name, p["ScheduleExpression"], want)
		}
		target := p["Target"].(map[string]any)
		if !strings.Contains(jsonString(target["Arn"]), "AuditFunction") || target["DeadLetterConfig"] == nil || target["RetryPolicy"] == nil {
			t.Errorf("%s: schedule target %s: want the audit function, a dead-letter queue and retries", l.name, jsonString(target))
		}
		_, fanOut := sts["AssumeMemberAuditRole"]
		mappings := 0
		for _, m := range resources(tpl, "AWS::Lambda::EventSourceMapping") {
			if strings.Contains(jsonString(m["Properties"]), "AuditQueue") {
				mappings++
			}
		}
		if l.cfg.Organization() {
			if !fanOut || !strings.HasSuffix(jsonString(sts["AssumeMemberAuditRole"]["Resource"]), `:role/`+testPrefix+`-audit"`) || mappings != 1 {
				t.Errorf("%s: want the member role assumed by name and one fan-out mapping: %v, %d", l.name, sts["AssumeMemberAuditRole"], mappings)
			}
		} else if fanOut || mappings != 0 {
			t.Errorf("%s: one account fans nothing out", l.name)
		}
	}
}

// TestMemberAuditRole: the forwarder of the central region makes the role
// the central audit function assumes; it trusts that function's role
// alone and may only read.
func TestMemberAuditRole(t *testing.T) {
	for _, name := range auditedOrg.order {
		if name == stacks.MonitorStackName {
			continue
		}
		tpl := auditedOrg.json[name]
		roles := resources(tpl, "AWS::IAM::Role")
		var audit map[string]any
		for _, r := range roles {
			if r["Properties"].(map[string]any)["RoleName"] == testPrefix+"-audit" {
				audit = r
			}
		}
		if audit == nil {
			t.Fatalf("%s: no %s-audit role", name, testPrefix)
		}
		cond, _ := audit["Condition"].(string)
		if cond == "" || !strings.Contains(jsonString(tpl["Conditions"].(map[string]any)[cond]), testRegion) {
			t.Errorf("%s: the role is made in every region, want the central region only (IAM is global)", name)
		}
		p := audit["Properties"].(map[string]any)
		trust := jsonString(p["AssumeRolePolicyDocument"])
		if !strings.Contains(trust, testAccount) || !strings.Contains(trust, `role/`+testPrefix+`-audit-function`) || !strings.Contains(trust, "aws:PrincipalArn") {
			t.Errorf("%s: trust %s, want the central audit function's role only", name, trust)
		}
		for _, pol := range asList(p["Policies"]) {
			for _, st := range asList(pol.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"]) {
				if got := strs(st.(map[string]any)["Action"]); !sameSet(got, stacks.AuditReadActions) {
					t.Errorf("%s: the member role may %v, want exactly the audit's reads", name, got)
				}
			}
		}
	}
	// The default, with the audit on, has it too; a forwarder of a
	// layout without the audit has none (variant has no forwarders: see
	// stacks.Build, which passes Config.Audit on).
	for _, name := range org.order[1:] {
		found := false
		for _, r := range resources(org.json[name], "AWS::IAM::Role") {
			found = found || r["Properties"].(map[string]any)["RoleName"] == testPrefix+"-audit"
		}
		if !found {
			t.Errorf("%s: no member audit role with the audit on by default", name)
		}
	}
}

// TestSecurityHub: -c securityHub=true lets the monitor and the audit
// import into the default product of their account and region, and tells
// them to; without it neither may.
func TestSecurityHub(t *testing.T) {
	for _, l := range []*layout{single, audited} {
		tpl := l.monitorJSON()
		for _, desc := range []string{"lambdawatch monitor", "lambdawatch audit"} {
			fn := only(t, tpl, "AWS::Lambda::Function", func(p map[string]any) bool {
				return strings.HasPrefix(jsonString(p["Description"]), `"`+desc)
			})
			env := props(tpl, fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if (env["SECURITY_HUB"] == "true") != l.cfg.SecurityHub {
				t.Errorf("%s: %s SECURITY_HUB=%v with securityHub=%v", l.name, desc, env["SECURITY_HUB"], l.cfg.SecurityHub)
			}
		}
		var grants []string
		for _, st := range allowStatements(tpl) {
			if slices.Contains(strs(st.statement["Action"]), "securityhub:BatchImportFindings") {
				grants = append(grants, st.where+" "+jsonString(st.statement["Resource"]))
			}
		}
		want := 0
		if l.cfg.SecurityHub {
			want = 2
		}
		if len(grants) != want {
			t.Errorf("%s: BatchImportFindings granted %v, want %d grants", l.name, grants, want)
		}
		for _, g := range grants {
			if !strings.Contains(g, ":product/") || !strings.Contains(g, "/default") || strings.Contains(g, `"*"`) {
				t.Errorf("%s: %s: want the default product of this account and region only", l.name, g)
			}
		}
	}
}
