package stacks_test

// What SECURITY.md's "What the templates guarantee" says, checked in the
// synthesized templates: each test bears the statement it checks, and each
// check is shown to fail on a template that breaks it.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

// deployment is what a security check reads: the layout's configuration
// and its templates, by stack name.
type deployment struct {
	cfg       stacks.Config
	templates map[string]map[string]any
}

func (d deployment) monitor() map[string]any { return d.templates[stacks.MonitorStackName] }

// securityCheck returns the problems it finds; none means the statement holds.
type securityCheck func(d deployment) []string

type securityStatement struct {
	statement string
	check     securityCheck
	// breaks breaks a copy of a deployment (the organization's for the
	// central bus, else the single account's) so that the check must
	// reject it.
	breaks func(d deployment)
}

var securityStatements = []securityStatement{
	{"Only the monitor's role, and the audit's for its digest, may publish to the alert topic.", checkAlertPublishers, func(d deployment) {
		addPolicy(d.monitor(), "Other", ref(roleOf(d.monitor(), "lambdawatch Slack")), obj{
			"Effect": "Allow", "Action": "sns:Publish", "Resource": ref(topicID(d.monitor(), "lambdawatch findings")),
		})
	}},
	{"Only this account's and region's CloudWatch alarms may publish to the alarm topic.", checkAlarmPublishers, func(d deployment) {
		for _, r := range resources(d.monitor(), "AWS::SNS::TopicPolicy") {
			for _, st := range asList(r["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"]) {
				delete(st.(map[string]any), "Condition")
			}
		}
	}},
	{"The topics and queues refuse requests without TLS and are encrypted.", checkTLSAndEncryption, func(d deployment) {
		for _, r := range resources(d.monitor(), "AWS::SQS::Queue") {
			delete(r["Properties"].(map[string]any), "SqsManagedSseEnabled")
			break
		}
	}},
	{"The Slack queue accepts messages only from the alert topic.", checkSlackQueueSenders, func(d deployment) {
		addPolicy(d.monitor(), "Sender", ref(roleOf(d.monitor(), "lambdawatch monitor")), obj{
			"Effect": "Allow", "Action": []any{"sqs:SendMessage"}, "Resource": arn(slackQueueID(d.monitor())),
		})
	}},
	{"Only the Slack function's role may read the Slack secret.", checkSecretReaders, func(d deployment) {
		addPolicy(d.monitor(), "Reader", ref(roleOf(d.monitor(), "lambdawatch monitor")), obj{
			"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
		})
	}},
	{"Only EventBridge, from lambdawatch's own rules, may invoke a function; the audit's schedule invokes the audit through a role of its own.", checkInvokers, func(d deployment) {
		d.monitor()["Resources"].(map[string]any)["OpenPermission"] = obj{"Type": "AWS::Lambda::Permission", "Properties": obj{
			"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
			"FunctionName": arn(fnByDescription(d.monitor(), "lambdawatch Slack")),
		}}
	}},
	{"Only the organization may put events on the central bus.", checkCentralBus, func(d deployment) {
		d.monitor()["Resources"].(map[string]any)["Bus"] = obj{"Type": "AWS::Events::EventBus", "Properties": obj{"Name": "x"}}
	}},
	{"No role may perform a wildcard action.", checkNoWildcardActions, func(d deployment) {
		addPolicy(d.monitor(), "Wild", ref(roleOf(d.monitor(), "lambdawatch Slack")), obj{
			"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::x/*",
		})
	}},
	{"Every log group keeps its logs for 90 days.", checkLogRetention, func(d deployment) {
		for _, r := range resources(d.monitor(), "AWS::Logs::LogGroup") {
			delete(r["Properties"].(map[string]any), "RetentionInDays")
			break
		}
	}},
	{"Reserved concurrency bounds both functions", checkReservedConcurrency, func(d deployment) {
		delete(props(d.monitor(), fnByDescription(d.monitor(), "lambdawatch monitor")), "ReservedConcurrentExecutions")
	}},
}

func deployments() map[string]deployment {
	out := map[string]deployment{}
	for _, l := range []*layout{single, variant, org} {
		out[l.name] = deployment{cfg: l.cfg, templates: l.json}
	}
	return out
}

func TestSecurityStatements(t *testing.T) {
	doc := securityDoc(t)
	for _, s := range securityStatements {
		t.Run(s.statement, func(t *testing.T) {
			if !strings.Contains(doc, "- "+s.statement) {
				t.Errorf("SECURITY.md does not say %q", s.statement)
			}
			for name, d := range deployments() {
				for _, p := range s.check(d) {
					t.Errorf("%s: %s", name, p)
				}
			}
		})
	}
}

// TestSecurityStatementsListed: every statement SECURITY.md lists under
// "What the templates guarantee" has its check.
func TestSecurityStatementsListed(t *testing.T) {
	doc := securityDoc(t)
	_, section, ok := strings.Cut(doc, "## What the templates guarantee")
	if !ok {
		t.Fatal(`SECURITY.md has no "What the templates guarantee" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	items := regexp.MustCompile(`(?m)^- (.+)$`).FindAllStringSubmatch(section, -1)
	if len(items) != len(securityStatements) {
		t.Errorf("SECURITY.md lists %d statements, the tests check %d", len(items), len(securityStatements))
	}
	for _, it := range items {
		if !slices.ContainsFunc(securityStatements, func(s securityStatement) bool { return strings.HasPrefix(it[1], s.statement) }) {
			t.Errorf("SECURITY.md states %q, which no test checks", it[1])
		}
	}
}

// TestSecurityChecksCanFail: each check rejects a copy of the single-account
// templates broken against its statement.
func TestSecurityChecksCanFail(t *testing.T) {
	for _, s := range securityStatements {
		t.Run(s.statement, func(t *testing.T) {
			base := single
			if strings.Contains(s.statement, "central bus") {
				base = org
			}
			d := deployment{cfg: base.cfg, templates: deepCopy(t, base.json)}
			if p := s.check(d); len(p) != 0 {
				t.Fatalf("the unbroken copy fails already: %v", p)
			}
			s.breaks(d)
			if p := s.check(d); len(p) == 0 {
				t.Errorf("the check passes a template broken against it")
			}
		})
	}
}

func securityDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The list wraps long items: read each as one line.
	return regexp.MustCompile(`\n  +`).ReplaceAllString(string(b), " ")
}

func deepCopy(t *testing.T, v map[string]map[string]any) map[string]map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func addPolicy(tpl map[string]any, id string, role any, st obj) {
	tpl["Resources"].(map[string]any)[id] = obj{"Type": "AWS::IAM::Policy", "Properties": obj{
		"Roles":          []any{role},
		"PolicyDocument": obj{"Statement": []any{map[string]any(st)}},
	}}
}

// Lookups that report nothing found as "", which no reference matches.

func fnByDescription(tpl map[string]any, desc string) string {
	for id, r := range resources(tpl, "AWS::Lambda::Function") {
		if d, _ := r["Properties"].(map[string]any)["Description"].(string); strings.HasPrefix(d, desc) {
			return id
		}
	}
	return ""
}

func roleOf(tpl map[string]any, desc string) string {
	fn := fnByDescription(tpl, desc)
	if fn == "" {
		return ""
	}
	ga, _ := props(tpl, fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	if len(ga) != 2 {
		return ""
	}
	s, _ := ga[0].(string)
	return s
}

func topicID(tpl map[string]any, display string) string {
	for id, r := range resources(tpl, "AWS::SNS::Topic") {
		if r["Properties"].(map[string]any)["DisplayName"] == display {
			return id
		}
	}
	return ""
}

func slackQueueID(tpl map[string]any) string {
	for id, r := range resources(tpl, "AWS::SQS::Queue") {
		p := r["Properties"].(map[string]any)
		if name, _ := p["QueueName"].(string); p["RedrivePolicy"] != nil && strings.HasSuffix(name, "-slack") {
			return id
		}
	}
	return ""
}

// grants lists the Allow statements of a template that may perform action
// (wildcards in the statement's actions count).
func grants(tpl map[string]any, action string) []statement {
	var out []statement
	for _, st := range allowStatements(tpl) {
		for _, a := range strs(st.statement["Action"]) {
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(a), `\*`, ".*") + "$"
			if regexp.MustCompile("(?i)" + re).MatchString(action) {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

// rolesOf is the roles an IAM policy is attached to.
func rolesOf(tpl map[string]any, policy string) []string {
	var out []string
	for _, r := range asList(props(tpl, policy)["Roles"]) {
		out = append(out, jsonString(r))
	}
	return out
}

func checkAlertPublishers(d deployment) []string {
	tpl := d.monitor()
	topic, role := topicID(tpl, "lambdawatch findings"), roleOf(tpl, "lambdawatch monitor")
	if topic == "" || role == "" {
		return []string{"no alert topic or no monitor"}
	}
	// The audit publishes its digest.
	audit := ""
	if d.cfg.Audit {
		audit = roleOf(tpl, "lambdawatch audit")
	}
	var problems []string
	found := 0
	for _, st := range grants(tpl, "sns:Publish") {
		res := jsonString(st.statement["Resource"])
		if res != jsonString(ref(topic)) && !strings.Contains(res, "*") {
			continue // another topic
		}
		if st.typ == "AWS::IAM::Policy" && slices.Equal(rolesOf(tpl, st.where), []string{jsonString(ref(role))}) && res == jsonString(ref(topic)) {
			found++
			continue
		}
		if audit != "" && st.typ == "AWS::IAM::Policy" && slices.Equal(rolesOf(tpl, st.where), []string{jsonString(ref(audit))}) && res == jsonString(ref(topic)) {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s lets another principal publish: %s", st.typ, st.where, jsonString(st.statement)))
	}
	if found != 1 {
		problems = append(problems, fmt.Sprintf("the monitor's role is granted sns:Publish on the alert topic %d times, want once", found))
	}
	return problems
}

func checkAlarmPublishers(d deployment) []string {
	tpl := d.monitor()
	topic := topicID(tpl, "lambdawatch alarms")
	var problems []string
	found := 0
	for _, st := range grants(tpl, "sns:Publish") {
		res := jsonString(st.statement["Resource"])
		if res != jsonString(ref(topic)) && !strings.Contains(res, "*") {
			continue
		}
		cond, _ := st.statement["Condition"].(map[string]any)
		like, _ := cond["ArnLike"].(map[string]any)
		if st.typ == "AWS::SNS::TopicPolicy" && jsonString(st.statement["Principal"]) == `{"Service":"cloudwatch.amazonaws.com"}` && like["aws:SourceArn"] != nil && len(cond) == 1 {
			// The stack's own account and region: references, or the
			// central account's and region's where the stack is pinned.
			account, region := `{"Ref":"AWS::AccountId"}`, `{"Ref":"AWS::Region"}`
			if d.cfg.Organization() {
				account, region = ":"+d.cfg.CentralAccountID+":", ":"+d.cfg.CentralRegion+":"
			}
			src := jsonString(like["aws:SourceArn"])
			if strings.Contains(src, account) && strings.Contains(src, region) && strings.Contains(src, `:alarm:*"`) {
				found++
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("%s %s lets someone else publish alarms: %s", st.typ, st.where, jsonString(st.statement)))
	}
	if found != 1 {
		problems = append(problems, fmt.Sprintf("CloudWatch alarms of this account and region may publish %d times, want once", found))
	}
	return problems
}

// deniesInsecure reports whether a resource policy of typ on id denies
// requests without TLS.
func deniesInsecure(tpl map[string]any, typ, list, id string) bool {
	for _, r := range resources(tpl, typ) {
		p := r["Properties"].(map[string]any)
		if !slices.ContainsFunc(asList(p[list]), func(v any) bool { return jsonString(v) == jsonString(ref(id)) }) {
			continue
		}
		for _, st := range asList(p["PolicyDocument"].(map[string]any)["Statement"]) {
			st := st.(map[string]any)
			if st["Effect"] == "Deny" && jsonString(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` &&
				strings.Contains(jsonString(st["Principal"]), `"*"`) {
				return true
			}
		}
	}
	return false
}

func checkTLSAndEncryption(d deployment) []string {
	var problems []string
	for name, tpl := range d.templates {
		for id, r := range resources(tpl, "AWS::SNS::Topic") {
			if r["Properties"].(map[string]any)["KmsMasterKeyId"] == nil {
				problems = append(problems, name+": topic "+id+" is not encrypted")
			}
			if !deniesInsecure(tpl, "AWS::SNS::TopicPolicy", "Topics", id) {
				problems = append(problems, name+": topic "+id+" accepts requests without TLS")
			}
		}
		for id, r := range resources(tpl, "AWS::SQS::Queue") {
			p := r["Properties"].(map[string]any)
			if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
				problems = append(problems, name+": queue "+id+" is not encrypted")
			}
			if !deniesInsecure(tpl, "AWS::SQS::QueuePolicy", "Queues", id) {
				problems = append(problems, name+": queue "+id+" accepts requests without TLS")
			}
		}
	}
	return problems
}

func checkSlackQueueSenders(d deployment) []string {
	tpl := d.monitor()
	queue, topic := slackQueueID(tpl), topicID(tpl, "lambdawatch findings")
	if queue == "" || topic == "" {
		return []string{"no Slack queue or no alert topic"}
	}
	var problems []string
	found := 0
	for _, st := range grants(tpl, "sqs:SendMessage") {
		res := jsonString(st.statement["Resource"])
		if res != jsonString(arn(queue)) && !strings.Contains(res, "*") {
			continue // another queue (the audit's fan-out)
		}
		if st.typ == "AWS::SQS::QueuePolicy" && jsonString(st.statement["Principal"]) == `{"Service":"sns.amazonaws.com"}` &&
			jsonString(st.statement["Condition"]) == jsonString(obj{"ArnEquals": obj{"aws:SourceArn": ref(topic)}}) {
			found++
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s lets another sender in: %s", st.typ, st.where, jsonString(st.statement)))
	}
	if found != 1 {
		problems = append(problems, fmt.Sprintf("the alert topic may send to the Slack queue %d times, want once", found))
	}
	return problems
}

func checkSecretReaders(d deployment) []string {
	tpl := d.monitor()
	role := roleOf(tpl, "lambdawatch Slack")
	secret := any(d.cfg.SlackSecretArn)
	if d.cfg.SlackSecretArn == "" {
		for id := range resources(tpl, "AWS::SecretsManager::Secret") {
			secret = ref(id)
		}
	}
	var problems []string
	if n := len(resources(tpl, "AWS::SecretsManager::ResourcePolicy")); n > 0 {
		problems = append(problems, fmt.Sprintf("%d secret resource policies", n))
	}
	found := 0
	for _, st := range grants(tpl, "secretsmanager:GetSecretValue") {
		if st.typ == "AWS::IAM::Policy" && slices.Equal(rolesOf(tpl, st.where), []string{jsonString(ref(role))}) &&
			jsonString(st.statement["Resource"]) == jsonString(secret) {
			found++
			continue
		}
		problems = append(problems, fmt.Sprintf("%s %s lets another reader in: %s", st.typ, st.where, jsonString(st.statement)))
	}
	if found != 1 {
		problems = append(problems, fmt.Sprintf("the Slack function's role reads the secret %d times, want once", found))
	}
	return problems
}

func checkInvokers(d deployment) []string {
	var problems []string
	for name, tpl := range d.templates {
		monitor, slack := fnByDescription(tpl, "lambdawatch monitor"), fnByDescription(tpl, "lambdawatch Slack")
		// The rules whose target is the monitor.
		rules := map[string]bool{}
		for id, r := range resources(tpl, "AWS::Events::Rule") {
			for _, tg := range asList(r["Properties"].(map[string]any)["Targets"]) {
				if monitor != "" && jsonString(tg.(map[string]any)["Arn"]) == jsonString(arn(monitor)) {
					rules[id] = true
				}
			}
		}
		perms := 0
		for id, r := range resources(tpl, "AWS::Lambda::Permission") {
			p := r["Properties"].(map[string]any)
			ok := len(p) == 4 && p["Action"] == "lambda:InvokeFunction" && p["Principal"] == "events.amazonaws.com" &&
				monitor != "" && jsonString(p["FunctionName"]) == jsonString(arn(monitor))
			src, _ := p["SourceArn"].(map[string]any)
			if ga, _ := src["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
				rule, _ := ga[0].(string)
				ok = rules[rule]
			} else {
				ok = false
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: permission %s is not EventBridge from a lambdawatch rule: %s", name, id, jsonString(p)))
			}
			perms++
		}
		if perms != len(rules) {
			problems = append(problems, fmt.Sprintf("%s: %d invoke permissions for %d rules", name, perms, len(rules)))
		}
		if n := len(resources(tpl, "AWS::Lambda::Url")); n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d function URLs", name, n))
		}
		// The Slack function runs from its queue, the monitor from no queue.
		var mappings []string
		for _, r := range resources(tpl, "AWS::Lambda::EventSourceMapping") {
			p := r["Properties"].(map[string]any)
			mappings = append(mappings, jsonString(p["FunctionName"])+" <- "+jsonString(p["EventSourceArn"]))
		}
		want := []string{}
		if slack != "" {
			want = []string{jsonString(ref(slack)) + " <- " + jsonString(arn(slackQueueID(tpl)))}
		}
		// The audit runs from its fan-out queue in the organization layout.
		if audit := fnByDescription(tpl, "lambdawatch audit"); audit != "" && d.cfg.Organization() {
			for id, r := range resources(tpl, "AWS::SQS::Queue") {
				if r["Properties"].(map[string]any)["QueueName"] == d.cfg.Names().AuditQueue {
					want = append(want, jsonString(ref(audit))+" <- "+jsonString(arn(id)))
				}
			}
		}
		slices.Sort(mappings)
		slices.Sort(want)
		if !slices.Equal(append([]string{}, mappings...), want) {
			problems = append(problems, fmt.Sprintf("%s: event source mappings %v, want %v", name, mappings, want))
		}
	}
	return problems
}

func checkCentralBus(d deployment) []string {
	tpl := d.monitor()
	buses := resources(tpl, "AWS::Events::EventBus")
	policies := resources(tpl, "AWS::Events::EventBusPolicy")
	if !d.cfg.Organization() {
		if len(buses)+len(policies) > 0 {
			return []string{"a bus outside the organization layout"}
		}
		return nil
	}
	var problems []string
	if len(buses) != 1 {
		problems = append(problems, fmt.Sprintf("%d buses, want 1", len(buses)))
	}
	for bus := range buses {
		n := 0
		for id, r := range policies {
			p := r["Properties"].(map[string]any)
			if jsonString(p["EventBusName"]) != jsonString(ref(bus)) {
				continue
			}
			n++
			st, _ := p["Statement"].(map[string]any)
			if jsonString(st["Condition"]) != jsonString(obj{"StringEquals": obj{"aws:PrincipalOrgID": d.cfg.OrgID}}) || st["Effect"] != "Allow" ||
				jsonString(st["Action"]) != `"events:PutEvents"` {
				problems = append(problems, fmt.Sprintf("bus policy %s is not the organization's PutEvents: %s", id, jsonString(p)))
			}
		}
		if n != 1 {
			problems = append(problems, fmt.Sprintf("bus %s has %d policies, want 1", bus, n))
		}
	}
	return problems
}

func checkNoWildcardActions(d deployment) []string {
	var problems []string
	for name, tpl := range d.templates {
		for _, st := range allowStatements(tpl) {
			if st.typ != "AWS::IAM::Policy" && st.typ != "AWS::IAM::Role" {
				continue
			}
			for _, a := range strs(st.statement["Action"]) {
				if strings.Contains(a, "*") {
					problems = append(problems, fmt.Sprintf("%s: %s %s allows %q", name, st.typ, st.where, a))
				}
			}
			if st.statement["NotAction"] != nil {
				problems = append(problems, fmt.Sprintf("%s: %s %s uses NotAction", name, st.typ, st.where))
			}
		}
		for id, r := range resources(tpl, "AWS::IAM::Role") {
			if m := r["Properties"].(map[string]any)["ManagedPolicyArns"]; m != nil {
				problems = append(problems, fmt.Sprintf("%s: role %s has managed policies %v", name, id, m))
			}
		}
	}
	return problems
}

func checkLogRetention(d deployment) []string {
	var problems []string
	for name, tpl := range d.templates {
		groups := resources(tpl, "AWS::Logs::LogGroup")
		for id, r := range groups {
			if r["Properties"].(map[string]any)["RetentionInDays"] != float64(90) {
				problems = append(problems, fmt.Sprintf("%s: log group %s keeps logs %v days", name, id, r["Properties"].(map[string]any)["RetentionInDays"]))
			}
		}
		// Every function logs into one of them, not into a group Lambda
		// would create without retention.
		for id, r := range resources(tpl, "AWS::Lambda::Function") {
			lc, _ := r["Properties"].(map[string]any)["LoggingConfig"].(map[string]any)
			g, _ := lc["LogGroup"].(map[string]any)
			group, _ := g["Ref"].(string)
			if _, ok := groups[group]; !ok {
				problems = append(problems, fmt.Sprintf("%s: function %s logs into %s, not a group of the stack", name, id, jsonString(lc)))
			}
		}
	}
	return problems
}

func checkReservedConcurrency(d deployment) []string {
	tpl := d.monitor()
	var problems []string
	for _, fn := range []struct {
		desc string
		want float64
	}{{"lambdawatch monitor", 10}, {"lambdawatch Slack", 2}} {
		id := fnByDescription(tpl, fn.desc)
		if id == "" {
			problems = append(problems, "no "+fn.desc)
			continue
		}
		got, set := props(tpl, id)["ReservedConcurrentExecutions"]
		switch {
		case !d.cfg.ReserveConcurrency && set:
			problems = append(problems, fmt.Sprintf("%s reserves %v with reserveConcurrency=false", fn.desc, got))
		case d.cfg.ReserveConcurrency && got != fn.want:
			problems = append(problems, fmt.Sprintf("%s reserves %v, want %v", fn.desc, got, fn.want))
		}
	}
	// The Slack mapping never runs more readers than the function may.
	slack := fnByDescription(tpl, "lambdawatch Slack")
	for _, r := range resources(tpl, "AWS::Lambda::EventSourceMapping") {
		p := r["Properties"].(map[string]any)
		if jsonString(p["FunctionName"]) != jsonString(ref(slack)) {
			continue // the audit's fan-out, bounded by its own reservation
		}
		sc, _ := p["ScalingConfig"].(map[string]any)
		if sc["MaximumConcurrency"] != float64(2) {
			problems = append(problems, fmt.Sprintf("Slack mapping scaling %v, want at most 2 readers", jsonString(sc)))
		}
	}
	return problems
}
