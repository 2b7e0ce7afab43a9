package stacks_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// matchPattern is EventBridge's matching, for the parts of patterns
// lambdawatch writes: exact strings, prefix, anything-but (a string or a
// list of strings), exists, nested objects and "$or" at any level. A field
// is a leaf of the flattened event, as EventBridge sees it: a field under
// a missing or null object, or one holding an object, does not exist.
// Other syntax is an error, so that a test fails on it rather than guess.
func matchPattern(p, ev map[string]any) (bool, error) {
	for k, want := range p {
		var ok bool
		var err error
		switch w := want.(type) {
		case []any:
			if k == "$or" {
				ok, err = matchOr(w, ev)
			} else {
				ok, err = matchLeaf(w, ev, k)
			}
		case map[string]any:
			sub, _ := ev[k].(map[string]any)
			ok, err = matchPattern(w, sub)
		default:
			return false, fmt.Errorf("field %s: want a list or an object, got %T", k, want)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchOr: EventBridge reads "$or" as an operator only when it holds two
// objects or more; otherwise it is a field name.
func matchOr(branches []any, ev map[string]any) (bool, error) {
	if len(branches) < 2 {
		return false, fmt.Errorf(`"$or" with %d branches is a field name to EventBridge`, len(branches))
	}
	matched := false
	for _, b := range branches {
		bm, ok := b.(map[string]any)
		if !ok {
			return false, fmt.Errorf(`"$or" branch %v is not an object`, b)
		}
		m, err := matchPattern(bm, ev)
		if err != nil {
			return false, err
		}
		matched = matched || m
	}
	return matched, nil
}

// matchLeaf: a field matches if any of the values matches. An array in
// the event matches if any element does.
func matchLeaf(values []any, ev map[string]any, k string) (bool, error) {
	v, present := ev[k]
	if _, isObject := v.(map[string]any); isObject {
		present = false
	}
	var elems []any
	if arr, ok := v.([]any); ok {
		elems = arr
	} else if present {
		elems = []any{v}
	}
	for _, want := range values {
		ok, err := matchValue(want, present, elems, k)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func matchValue(want any, present bool, elems []any, k string) (bool, error) {
	if ex, ok := want.(map[string]any); ok && len(ex) == 1 {
		if e, ok := ex["exists"].(bool); ok {
			return present == e, nil
		}
	}
	for _, el := range elems {
		s, ok := el.(string)
		if !ok {
			return false, fmt.Errorf("field %s: the matcher knows strings only, got %v (%T)", k, el, el)
		}
		ok, err := matchString(want, s, k)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func matchString(want any, s, k string) (bool, error) {
	switch w := want.(type) {
	case string:
		return s == w, nil
	case map[string]any:
		if len(w) != 1 {
			return false, fmt.Errorf("field %s: matcher %v has %d keys, want 1", k, w, len(w))
		}
		if p, ok := w["prefix"].(string); ok {
			return strings.HasPrefix(s, p), nil
		}
		if ab, ok := w["anything-but"]; ok {
			switch ab := ab.(type) {
			case string:
				return s != ab, nil
			case []any:
				for _, e := range ab {
					es, ok := e.(string)
					if !ok {
						return false, fmt.Errorf("field %s: anything-but %v holds a non-string", k, ab)
					}
					if s == es {
						return false, nil
					}
				}
				return true, nil
			}
		}
	}
	return false, fmt.Errorf("field %s: the matcher does not know %v", k, want)
}

// patternMatches is matchPattern, failing the test on syntax it does not know.
func patternMatches(t *testing.T, p, ev map[string]any) bool {
	t.Helper()
	ok, err := matchPattern(p, ev)
	if err != nil {
		t.Fatalf("pattern %s: %v", jsonString(p), err)
	}
	return ok
}

// orCombinations counts the patterns EventBridge expands p's "$or" into.
func orCombinations(p map[string]any) int {
	n := 1
	for k, v := range p {
		switch w := v.(type) {
		case []any:
			if k == "$or" {
				sum := 0
				for _, b := range w {
					if bm, ok := b.(map[string]any); ok {
						sum += orCombinations(bm)
					}
				}
				n *= sum
			}
		case map[string]any:
			n *= orCombinations(w)
		}
	}
	return n
}

// cloudTrailEvent is an EventBridge event carrying a CloudTrail record, as
// far as the patterns look into it.
func cloudTrailEvent(source, eventSource, eventName string) map[string]any {
	return callEvent(source, eventSource, eventName, nil)
}

// callEvent is cloudTrailEvent with request parameters (nil: null, as
// CloudTrail writes them for calls without any).
func callEvent(source, eventSource, eventName string, params map[string]any) map[string]any {
	detail := map[string]any{"eventSource": eventSource, "eventName": eventName, "requestParameters": nil}
	if params != nil {
		detail["requestParameters"] = params
	}
	return map[string]any{"source": source, "detail-type": "AWS API Call via CloudTrail", "detail": detail}
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

// busRules are a stack's rules by bus ("default", or the central bus's
// reference), each bus's by rule name.
func busRules(t *testing.T, tpl map[string]any) map[string]map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]map[string]any{}
	for name, p := range rulePatterns(t, tpl) {
		bus, rule, ok := strings.Cut(name, "/")
		if !ok {
			bus, rule = "default", name
		}
		if out[bus] == nil {
			out[bus] = map[string]map[string]any{}
		}
		out[bus][rule] = p
	}
	return out
}

func TestPatternMatcher(t *testing.T) {
	p := map[string]any{
		"source": []any{"aws.a"},
		"detail": map[string]any{"$or": []any{
			map[string]any{"eventSource": []any{"a.amazonaws.com"}, "eventName": []any{map[string]any{"prefix": "Put"}}},
			map[string]any{"eventSource": []any{"b.amazonaws.com"}, "eventName": []any{"Delete"}, "$or": []any{
				map[string]any{"requestParameters": map[string]any{"name": []any{map[string]any{"anything-but": "mine"}}}},
				map[string]any{"requestParameters": map[string]any{"name": []any{map[string]any{"exists": false}}}},
			}},
			map[string]any{"eventSource": []any{"c.amazonaws.com"}, "requestParameters": map[string]any{
				"rule": []any{map[string]any{"anything-but": []any{"x", "y"}}},
				"id":   []any{map[string]any{"exists": true}},
			}},
		}},
	}
	named := func(name string) map[string]any { return map[string]any{"name": name} }
	for _, tt := range []struct {
		what string
		ev   map[string]any
		want bool
	}{
		{"prefix", callEvent("aws.a", "a.amazonaws.com", "PutThing2020", nil), true},
		{"prefix not at the start", callEvent("aws.a", "a.amazonaws.com", "XPut", nil), false},
		{"exact, null parameters: name does not exist", callEvent("aws.a", "b.amazonaws.com", "Delete", nil), true},
		{"exact, name absent", callEvent("aws.a", "b.amazonaws.com", "Delete", map[string]any{"other": "x"}), true},
		{"anything-but another name", callEvent("aws.a", "b.amazonaws.com", "Delete", named("theirs")), true},
		{"anything-but the name", callEvent("aws.a", "b.amazonaws.com", "Delete", named("mine")), false},
		{"name holding an object does not exist", callEvent("aws.a", "b.amazonaws.com", "Delete", map[string]any{"name": map[string]any{"mine": "x"}}), true},
		{"exact is not a prefix", callEvent("aws.a", "b.amazonaws.com", "DeleteThing", nil), false},
		{"names of another source", callEvent("aws.a", "b.amazonaws.com", "PutThing", nil), false},
		{"another source", callEvent("aws.b", "a.amazonaws.com", "PutThing", nil), false},
		{"anything-but list, exists", callEvent("aws.a", "c.amazonaws.com", "Any", map[string]any{"rule": "z", "id": "1"}), true},
		{"anything-but list, listed", callEvent("aws.a", "c.amazonaws.com", "Any", map[string]any{"rule": "y", "id": "1"}), false},
		{"anything-but needs the field", callEvent("aws.a", "c.amazonaws.com", "Any", map[string]any{"id": "1"}), false},
		{"exists true, absent", callEvent("aws.a", "c.amazonaws.com", "Any", map[string]any{"rule": "z"}), false},
		{"array value: any element", callEvent("aws.a", "c.amazonaws.com", "Any", map[string]any{"rule": []any{"x", "z"}, "id": "1"}), true},
		{"no detail", map[string]any{"source": "aws.a"}, false},
	} {
		ok, err := matchPattern(p, tt.ev)
		if err != nil || ok != tt.want {
			t.Errorf("%s: matched %v (%v), want %v", tt.what, ok, err, tt.want)
		}
	}
	// Syntax the matcher does not know, and a one-branch "$or" (a field
	// name to EventBridge), are errors, not silent answers.
	ev := callEvent("aws.a", "a.amazonaws.com", "Put", named("n"))
	for _, bad := range []map[string]any{
		{"source": []any{map[string]any{"suffix": ".a"}}},
		{"source": []any{map[string]any{"prefix": "aws", "suffix": ".a"}}},
		{"detail": map[string]any{"$or": []any{map[string]any{"eventName": []any{"Put"}}}}},
		{"source": "aws.a"},
		{"detail": map[string]any{"requestParameters": map[string]any{"name": []any{map[string]any{"anything-but": map[string]any{"prefix": "x"}}}}}},
	} {
		if ok, err := matchPattern(bad, ev); err == nil {
			t.Errorf("%s: matched %v, want an error", jsonString(bad), ok)
		}
	}
}

func TestOrCombinations(t *testing.T) {
	leaf := []any{"x"}
	two := []any{map[string]any{"a": leaf}, map[string]any{"b": leaf}}
	for _, tt := range []struct {
		p    map[string]any
		want int
	}{
		{map[string]any{"a": leaf}, 1},
		{map[string]any{"$or": two}, 2},
		{map[string]any{"$or": two, "d": map[string]any{"$or": []any{map[string]any{"a": leaf}, map[string]any{"$or": two}}}}, 6},
	} {
		if got := orCombinations(tt.p); got != tt.want {
			t.Errorf("%s: %d combinations, want %d", jsonString(tt.p), got, tt.want)
		}
	}
}

// TestPatternsWithinLimits: no synthesized pattern expands into more
// combinations than EventBridge accepts.
func TestPatternsWithinLimits(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		for _, stack := range l.order {
			for name, p := range rulePatterns(t, l.json[stack]) {
				if n := orCombinations(p); n > stacks.MaxOrCombinations || n < 2 {
					t.Errorf("%s/%s/%s: %d combinations, want 2 to %d", l.name, stack, name, n, stacks.MaxOrCombinations)
				}
			}
		}
	}
}

// side names a bus's two rules: the one that also takes the calls naming
// the other, and the other, which takes every other watched call but
// Lambda's.
type side string

const (
	none        side = ""
	lambdaSide  side = "lambda"
	tamperSide  side = "tamper"
	versionedV2      = "20150331v2"
)

// sideOf tells a rule's side by its name, in the monitor's and the
// forwarders' names.
func sideOf(t *testing.T, n stacks.Names, rule string) side {
	t.Helper()
	switch rule {
	case n.LambdaRule, n.ForwardLambdaRule:
		return lambdaSide
	case n.TamperRule, n.ForwardTamperRule:
		return tamperSide
	}
	t.Fatalf("rule %s is neither a Lambda nor a tamper rule", rule)
	return none
}

// isWatched: detect.Watched lists the call (names match as prefixes).
func isWatched(eventSource, eventName string) bool {
	return slices.ContainsFunc(detect.Watched, func(s detect.Service) bool {
		return s.EventSource == eventSource && slices.ContainsFunc(s.Actions, func(a string) bool { return strings.HasPrefix(eventName, a) })
	})
}

// TestEachCallMeetsOneRule: on every bus of every stack, each watched call
// meets exactly one rule, the one the split gives it, and an unwatched
// call none. The monitor's buses give the calls naming its tamper rule to
// its Lambda rule; the forwarders give the calls naming their own
// forward-tamper rule to their forward-lambda-calls rule. Calls that
// become watched as detect.Watched grows are expected on their side.
func TestEachCallMeetsOneRule(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		n := l.cfg.Names()
		events := func(name string, params map[string]any) map[string]any {
			return callEvent("aws.events", "events.amazonaws.com", name, params)
		}
		named := func(k, v string) map[string]any { return map[string]any{k: v, "eventBusName": "default"} }
		for _, tt := range []struct {
			what string
			ev   map[string]any
			// The side that delivers the call on the monitor's buses and on
			// the forwarders', if it is watched.
			monitor, forwarder side
		}{
			{"DisableRule of the tamper rule", events("DisableRule", named("name", n.TamperRule)), lambdaSide, tamperSide},
			{"DisableRule of the Lambda rule", events("DisableRule", named("name", n.LambdaRule)), tamperSide, tamperSide},
			{"DisableRule of forward-tamper", events("DisableRule", named("name", n.ForwardTamperRule)), tamperSide, lambdaSide},
			{"DisableRule of forward-lambda-calls", events("DisableRule", named("name", n.ForwardLambdaRule)), tamperSide, tamperSide},
			{"DisableRule of someone else's rule", events("DisableRule", named("name", "someone-else")), tamperSide, tamperSide},
			{"DisableRule of a rule named like a prefix of the tamper rule", events("DisableRule", named("name", n.Prefix+"-tamp")), tamperSide, tamperSide},
			{"DeleteRule of the tamper rule on the central bus", events("DeleteRule", map[string]any{"name": n.TamperRule, "eventBusName": n.CentralBus}), lambdaSide, tamperSide},
			{"EnableRule of the tamper rule", events("EnableRule", named("name", n.TamperRule)), lambdaSide, tamperSide},
			{"PutRule of the tamper rule", events("PutRule", map[string]any{"name": n.TamperRule, "eventPattern": "{}", "state": "ENABLED"}), lambdaSide, tamperSide},
			{"PutRule of the Lambda rule", events("PutRule", map[string]any{"name": n.LambdaRule, "eventPattern": "{}"}), tamperSide, tamperSide},
			{"RemoveTargets of the tamper rule", events("RemoveTargets", map[string]any{"rule": n.TamperRule, "ids": []any{"Target0"}}), lambdaSide, tamperSide},
			{"RemoveTargets of the Lambda rule", events("RemoveTargets", map[string]any{"rule": n.LambdaRule, "ids": []any{"Target0"}}), tamperSide, tamperSide},
			{"RemoveTargets of forward-tamper", events("RemoveTargets", map[string]any{"rule": n.ForwardTamperRule, "ids": []any{"Target0"}}), tamperSide, lambdaSide},
			{"RemoveTargets of forward-lambda-calls", events("RemoveTargets", map[string]any{"rule": n.ForwardLambdaRule, "ids": []any{"Target0"}}), tamperSide, tamperSide},
			{"PutTargets on the tamper rule", events("PutTargets", map[string]any{"rule": n.TamperRule, "targets": []any{map[string]any{"id": "Target0"}}}), lambdaSide, tamperSide},
			{"PutTargets on someone else's rule", events("PutTargets", map[string]any{"rule": "someone-else"}), tamperSide, tamperSide},
			{"a call naming the tamper rule both ways", events("PutTargets", map[string]any{"rule": n.TamperRule, "name": n.TamperRule}), lambdaSide, tamperSide},
			{"a call naming another rule and the tamper rule", events("PutTargets", map[string]any{"rule": n.TamperRule, "name": "someone-else"}), lambdaSide, tamperSide},
			{"PutPermission on the bus", events("PutPermission", map[string]any{"eventBusName": "default", "action": "events:PutEvents", "principal": "*", "statementId": "all"}), tamperSide, tamperSide},
			{"RemovePermission on the bus", events("RemovePermission", map[string]any{"eventBusName": n.CentralBus, "statementId": "OrganizationAccountsPutEvents"}), tamperSide, tamperSide},
			{"DeleteEventBus of the central bus", events("DeleteEventBus", map[string]any{"name": n.CentralBus}), tamperSide, tamperSide},
			{"DisableRule without request parameters", events("DisableRule", nil), tamperSide, tamperSide},
			{"AddPermission", callEvent("aws.lambda", "lambda.amazonaws.com", "AddPermission"+versionedV2, map[string]any{"functionName": "f"}), lambdaSide, lambdaSide},
			{"DeleteFunction of the monitor", callEvent("aws.lambda", "lambda.amazonaws.com", "DeleteFunction20150331", map[string]any{"functionName": n.MonitorFunction}), lambdaSide, lambdaSide},
			{"StopLogging", callEvent("aws.cloudtrail", "cloudtrail.amazonaws.com", "StopLogging", map[string]any{"name": "trail"}), tamperSide, tamperSide},
			{"StopLogging of a trail named like the tamper rule", callEvent("aws.cloudtrail", "cloudtrail.amazonaws.com", "StopLogging", map[string]any{"name": n.TamperRule}), tamperSide, tamperSide},
			{"SetQueueAttributes", callEvent("aws.sqs", "sqs.amazonaws.com", "SetQueueAttributes", map[string]any{"queueUrl": "q"}), tamperSide, tamperSide},
			{"SetTopicAttributes", callEvent("aws.sns", "sns.amazonaws.com", "SetTopicAttributes", map[string]any{"topicArn": "t"}), tamperSide, tamperSide},
			{"SetSubscriptionAttributes", callEvent("aws.sns", "sns.amazonaws.com", "SetSubscriptionAttributes", map[string]any{"subscriptionArn": "s"}), tamperSide, tamperSide},
			// Never watched: reads, and a name under another service's source.
			{"ListRules", events("ListRules", map[string]any{"eventBusName": "default"}), none, none},
			{"DescribeRule of the tamper rule", events("DescribeRule", named("name", n.TamperRule)), none, none},
			{"ListTargetsByRule of the tamper rule", events("ListTargetsByRule", map[string]any{"rule": n.TamperRule}), none, none},
			{"GetFunction", callEvent("aws.lambda", "lambda.amazonaws.com", "GetFunction20150331v2", map[string]any{"functionName": "f"}), none, none},
			{"DisableRule under CloudTrail's source", callEvent("aws.cloudtrail", "cloudtrail.amazonaws.com", "DisableRule", named("name", n.TamperRule)), none, none},
		} {
			detail := tt.ev["detail"].(map[string]any)
			watched := isWatched(detail["eventSource"].(string), detail["eventName"].(string))
			for _, stack := range l.order {
				want := tt.monitor
				if stack != stacks.MonitorStackName {
					want = tt.forwarder
				}
				if !watched {
					want = none
				}
				for bus, rules := range busRules(t, l.json[stack]) {
					where := fmt.Sprintf("%s/%s/%s: %s", l.name, stack, bus, tt.what)
					if len(rules) != 2 {
						t.Fatalf("%s: %d rules, want 2", where, len(rules))
					}
					var by []string
					got := none
					for rule, p := range rules {
						if patternMatches(t, p, tt.ev) {
							by = append(by, rule)
							got = sideOf(t, n, rule)
						}
					}
					if len(by) > 1 || got != want {
						t.Errorf("%s: delivered by %v, want the %q side only (watched: %v)", where, by, want, watched)
					}
				}
			}
		}
	}
}

// TestEveryWatchedCallHasARule: on every bus of every stack, each call of
// detect.Watched (as named there, and with the version suffix Lambda's
// names carry), naming the bus's rules, another rule or none, meets
// exactly one rule, and calls of one service are not matched under
// another's event source.
func TestEveryWatchedCallHasARule(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		n := l.cfg.Names()
		params := []map[string]any{
			nil,
			{"name": "someone-else"}, {"rule": "someone-else"},
			{"name": n.TamperRule}, {"rule": n.TamperRule},
			{"name": n.LambdaRule}, {"rule": n.LambdaRule},
			{"name": n.ForwardTamperRule}, {"rule": n.ForwardTamperRule},
			{"name": n.ForwardLambdaRule}, {"rule": n.ForwardLambdaRule},
		}
		for _, stack := range l.order {
			for bus, rules := range busRules(t, l.json[stack]) {
				where := l.name + "/" + stack + "/" + bus
				if len(rules) != 2 {
					t.Errorf("%s: rules %v, want 2", where, rules)
				}
				for _, svc := range detect.Watched {
					for _, action := range svc.Actions {
						names := []string{action}
						if svc.EventSource == "lambda.amazonaws.com" {
							names = append(names, action+versionedV2)
						}
						for _, name := range names {
							for _, p := range params {
								var by []string
								for r, pattern := range rules {
									if patternMatches(t, pattern, callEvent(svc.Source, svc.EventSource, name, p)) {
										by = append(by, r)
									}
								}
								if len(by) != 1 {
									t.Errorf("%s: %s %s %v matched by %v, want 1 rule", where, svc.EventSource, name, p, by)
								}
							}
						}
						// Another service's name under this event source.
						for _, other := range detect.Watched {
							if other.EventSource == svc.EventSource || slices.ContainsFunc(other.Actions, func(a string) bool { return strings.HasPrefix(a, action) }) {
								continue
							}
							for r, pattern := range rules {
								if patternMatches(t, pattern, cloudTrailEvent(other.Source, other.EventSource, action)) {
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
