package stacks_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

// TestNamesWithinLimits: every name built on the longest prefix allowed is
// within its service's limits, starts with the prefix and is unique where
// names share a namespace.
func TestNamesWithinLimits(t *testing.T) {
	prefix := strings.Repeat("p", stacks.MaxMonitorPrefix)
	n := stacks.NamesFor(prefix)
	lambda := regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	rule := regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	topic := regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	queue := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	bus := regexp.MustCompile(`^[/\.\-_A-Za-z0-9]{1,256}$`)
	for _, tt := range []struct {
		what, name string
		re         *regexp.Regexp
	}{
		{"monitor function", n.MonitorFunction, lambda},
		{"Slack function", n.SlackFunction, lambda},
		{"Lambda rule", n.LambdaRule, rule},
		{"tamper rule", n.TamperRule, rule},
		{"forwarding Lambda rule", n.ForwardLambdaRule, rule},
		{"forwarding tamper rule", n.ForwardTamperRule, rule},
		{"alert topic", n.AlertTopic, topic},
		{"alarm topic", n.AlarmTopic, topic},
		{"Slack queue", n.SlackQueue, queue},
		{"monitor dead-letter queue", n.MonitorDLQ, queue},
		{"Slack dead-letter queue", n.SlackDLQ, queue},
		{"forwarder dead-letter queue", n.ForwardDLQ, queue},
		{"central bus", n.CentralBus, bus},
	} {
		if !tt.re.MatchString(tt.name) {
			t.Errorf("%s %q (%d characters) breaks %s", tt.what, tt.name, len(tt.name), tt.re)
		}
		if !strings.HasPrefix(tt.name, prefix) {
			t.Errorf("%s %q does not start with the prefix", tt.what, tt.name)
		}
	}
	// Rules and queues of one account and region share a namespace each
	// (the Slack function and the Slack queue do not).
	for _, group := range [][]string{
		{n.LambdaRule, n.TamperRule, n.ForwardLambdaRule, n.ForwardTamperRule},
		{n.SlackQueue, n.MonitorDLQ, n.SlackDLQ, n.ForwardDLQ, n.AuditQueue, n.AuditDLQ},
		{n.AlertTopic, n.AlarmTopic},
		{n.MonitorFunction, n.SlackFunction, n.AuditFunction},
		{n.AuditFunctionRole, n.AuditRole},
	} {
		seen := map[string]bool{}
		for _, name := range group {
			if seen[name] {
				t.Errorf("%q used twice in %v", name, group)
			}
			seen[name] = true
		}
	}
}

func TestNamesInTemplates(t *testing.T) {
	for _, tt := range []struct {
		l      *layout
		prefix string
	}{{single, "lambdawatch"}, {variant, "lambdawatch"}, {org, testPrefix}} {
		n := stacks.NamesFor(tt.prefix)
		if got := tt.l.stacks.Monitor.Names; !reflect.DeepEqual(got, n) {
			t.Errorf("%s: names %+v, want %+v", tt.l.name, got, n)
		}
		want := map[string][]string{
			"AWS::Lambda::Function": {n.MonitorFunction, n.SlackFunction},
			"AWS::Events::Rule":     {n.LambdaRule, n.TamperRule},
			"AWS::SNS::Topic":       {n.AlertTopic, n.AlarmTopic},
			"AWS::SQS::Queue":       {n.SlackQueue, n.MonitorDLQ, n.SlackDLQ},
		}
		if tt.l.cfg.Audit {
			want["AWS::Lambda::Function"] = append(want["AWS::Lambda::Function"], n.AuditFunction)
			want["AWS::SQS::Queue"] = append(want["AWS::SQS::Queue"], n.AuditDLQ)
			if tt.l.cfg.Organization() {
				want["AWS::SQS::Queue"] = append(want["AWS::SQS::Queue"], n.AuditQueue)
			}
		}
		if tt.l == org {
			// The central bus has both rules too.
			want["AWS::Events::Rule"] = append(want["AWS::Events::Rule"], n.LambdaRule, n.TamperRule)
		}
		prop := map[string]string{"AWS::Lambda::Function": "FunctionName", "AWS::Events::Rule": "Name",
			"AWS::SNS::Topic": "TopicName", "AWS::SQS::Queue": "QueueName"}
		for typ, names := range want {
			var got []string
			for _, r := range resources(tt.l.monitorJSON(), typ) {
				name, _ := r["Properties"].(map[string]any)[prop[typ]].(string)
				got = append(got, name)
			}
			if !sameSet(got, names) {
				t.Errorf("%s: %s named %v, want %v", tt.l.name, typ, got, names)
			}
		}
	}
	for _, stack := range org.order[1:] {
		n := stacks.NamesFor(testPrefix)
		var rules, queues []string
		for _, r := range resources(org.json[stack], "AWS::Events::Rule") {
			rules = append(rules, r["Properties"].(map[string]any)["Name"].(string))
		}
		for _, r := range resources(org.json[stack], "AWS::SQS::Queue") {
			queues = append(queues, r["Properties"].(map[string]any)["QueueName"].(string))
		}
		if !sameSet(rules, []string{n.ForwardLambdaRule, n.ForwardTamperRule}) || !sameSet(queues, []string{n.ForwardDLQ}) {
			t.Errorf("%s: rules %v, queues %v", stack, rules, queues)
		}
	}
}

func sameSet(a, b []string) bool {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}
