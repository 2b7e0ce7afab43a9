package stacks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// patternMatches is EventBridge's matching, for the parts of patterns
// lambdawatch writes: exact strings, prefixes, nested objects and "$or".
// Anything else in a pattern never matches, so that a test fails on it.
func patternMatches(p, ev map[string]any) bool {
	for k, want := range p {
		switch w := want.(type) {
		case []any:
			if k == "$or" {
				if !slices.ContainsFunc(w, func(b any) bool {
					bm, ok := b.(map[string]any)
					return ok && patternMatches(bm, ev)
				}) {
					return false
				}
				continue
			}
			v, ok := ev[k].(string)
			if !ok || !slices.ContainsFunc(w, func(e any) bool { return valueMatches(e, v) }) {
				return false
			}
		case map[string]any:
			sub, ok := ev[k].(map[string]any)
			if !ok || !patternMatches(w, sub) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func valueMatches(e any, v string) bool {
	switch e := e.(type) {
	case string:
		return e == v
	case map[string]any:
		if p, ok := e["prefix"].(string); ok && len(e) == 1 {
			return strings.HasPrefix(v, p)
		}
	}
	return false
}

// cloudTrailEvent is an EventBridge event carrying a CloudTrail record, as
// far as the patterns look into it.
func cloudTrailEvent(source, eventSource, eventName string) map[string]any {
	return map[string]any{
		"source":      source,
		"detail-type": "AWS API Call via CloudTrail",
		"detail":      map[string]any{"eventSource": eventSource, "eventName": eventName},
	}
}

// rulePatterns are the patterns of a template's rules, by rule name.
func rulePatterns(t *testing.T, tpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range resources(tpl, "AWS::Events::Rule") {
		p := r["Properties"].(map[string]any)
		name, _ := p["Name"].(string)
		pattern, ok := p["EventPattern"].(map[string]any)
		if name == "" || !ok {
			t.Fatalf("rule %s has no name or no pattern: %s", id, jsonString(p))
		}
		if bus, ok := p["EventBusName"]; ok {
			name = jsonString(bus) + "/" + name
		}
		out[name] = pattern
	}
	return out
}

func TestPatternMatcher(t *testing.T) {
	p := map[string]any{
		"source": []any{"aws.a"},
		"detail": map[string]any{"$or": []any{
			map[string]any{"eventSource": []any{"a.amazonaws.com"}, "eventName": []any{map[string]any{"prefix": "Put"}}},
			map[string]any{"eventSource": []any{"b.amazonaws.com"}, "eventName": []any{"Delete"}},
		}},
	}
	for _, tt := range []struct {
		ev   map[string]any
		want bool
	}{
		{cloudTrailEvent("aws.a", "a.amazonaws.com", "PutThing2020"), true},
		{cloudTrailEvent("aws.a", "b.amazonaws.com", "Delete"), true},
		{cloudTrailEvent("aws.a", "b.amazonaws.com", "DeleteThing"), false},
		{cloudTrailEvent("aws.a", "b.amazonaws.com", "PutThing"), false},
		{cloudTrailEvent("aws.b", "a.amazonaws.com", "PutThing"), false},
		{map[string]any{"source": "aws.a"}, false},
	} {
		if got := patternMatches(p, tt.ev); got != tt.want {
			t.Errorf("%v: matched %v, want %v", tt.ev, got, tt.want)
		}
	}
}

// TestEveryWatchedCallHasARule: on every bus of every stack, each call of
// detect.Watched (as named there, and with the version suffix Lambda's
// names carry) meets a rule, the EventBridge calls meet both rules, so
// that disabling one is seen through the other, and calls of one service
// are not matched under another's event source.
func TestEveryWatchedCallHasARule(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		for _, stack := range l.order {
			patterns := rulePatterns(t, l.json[stack])
			// Rules by bus: the default bus's and the central bus's.
			buses := map[string][]string{}
			for name := range patterns {
				bus, _, _ := strings.Cut(name, "/")
				if !strings.Contains(name, "/") {
					bus = "default"
				}
				buses[bus] = append(buses[bus], name)
			}
			for bus, rules := range buses {
				where := l.name + "/" + stack + "/" + bus
				if len(rules) != 2 {
					t.Errorf("%s: rules %v, want 2", where, rules)
				}
				for _, svc := range detect.Watched {
					for _, action := range svc.Actions {
						names := []string{action}
						if svc.EventSource == "lambda.amazonaws.com" {
							names = append(names, action+"20150331v2")
						}
						for _, name := range names {
							var by []string
							for _, r := range rules {
								if patternMatches(patterns[r], cloudTrailEvent(svc.Source, svc.EventSource, name)) {
									by = append(by, r)
								}
							}
							want := 1
							if svc.EventSource == "events.amazonaws.com" {
								want = 2
							}
							if len(by) != want {
								t.Errorf("%s: %s %s matched by %v, want %d rules", where, svc.EventSource, name, by, want)
							}
						}
						// Another service's name under this event source.
						for _, other := range detect.Watched {
							if other.EventSource == svc.EventSource || slices.ContainsFunc(other.Actions, func(a string) bool { return strings.HasPrefix(a, action) }) {
								continue
							}
							for _, r := range rules {
								if patternMatches(patterns[r], cloudTrailEvent(other.Source, other.EventSource, action)) {
									t.Errorf("%s: %s matches %s under %s", where, r, action, other.EventSource)
								}
							}
						}
					}
				}
			}
		}
	}
}
