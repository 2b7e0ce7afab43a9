package stacks

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// cloudTrailDetailType is the detail-type EventBridge gives CloudTrail records.
const cloudTrailDetailType = "AWS API Call via CloudTrail"

// Event sources of detect.Watched that the rules split on.
const (
	lambdaEventSource = "lambda.amazonaws.com"
	eventsEventSource = "events.amazonaws.com"
)

// The request parameters through which an EventBridge call names a rule:
// name (DisableRule, DeleteRule, PutRule, EnableRule...) and rule
// (RemoveTargets, PutTargets).
var ruleNameParameters = []string{"name", "rule"}

// MaxOrCombinations is EventBridge's limit on the combinations a pattern's
// "$or" expands to; the patterns here stay far below it (a test counts).
const MaxOrCombinations = 1000

// A rule that is disabled, deleted or stripped of its target does not
// deliver the event that did it. So each bus (and each forwarder) has two
// rules that split the EventBridge calls between them, every call going
// to exactly one: the tamper rule takes those that do not name it, the
// Lambda rule those that do. Disabling either rule is then delivered by
// the other, and no event reaches the monitor twice.

// lambdaCallPattern matches the Lambda calls of detect.Watched, and the
// EventBridge calls that name tamperRule, the rule beside it, which cannot
// report its own changes.
func lambdaCallPattern(tamperRule string) *awsevents.EventPattern {
	var b branches
	for _, s := range detect.Watched {
		switch s.EventSource {
		case lambdaEventSource:
			b.add(s, callBranch(s))
		case eventsEventSource:
			// One branch per parameter: a call naming the rule through
			// both is still delivered once, since a rule delivers an event
			// once however many branches it meets.
			for _, p := range ruleNameParameters {
				branch := callBranch(s)
				branch["requestParameters"] = map[string]any{p: jsii.Strings(tamperRule)}
				b.add(s, branch)
			}
		}
	}
	return b.pattern()
}

// tamperPattern matches the calls of every other service of detect.Watched
// (CloudTrail, EventBridge, SNS, SQS), those that could blind lambdawatch,
// except the EventBridge calls that name tamperRule, its own name: the
// rule beside it, lambdaCallPattern(tamperRule), delivers those.
func tamperPattern(tamperRule string) *awsevents.EventPattern {
	var b branches
	for _, s := range detect.Watched {
		if s.EventSource == lambdaEventSource {
			continue
		}
		branch := callBranch(s)
		if s.EventSource == eventsEventSource {
			branch["$or"] = notNaming(tamperRule)
		}
		b.add(s, branch)
	}
	return b.pattern()
}

// notNaming is the "$or" of requestParameters that do not name rule: each of ruleNameParameters is either absent or another name.
// anything-but never matches an absent field, hence both choices for each
// parameter (four branches for two). A call whose requestParameters are
// null, or name a bus (PutPermission), has neither.
func notNaming(rule string) []any {
	combos := []map[string]any{{}}
	for _, p := range ruleNameParameters {
		var next []map[string]any
		for _, c := range combos {
			for _, m := range []*[]*string{awsevents.Match_AnythingBut(rule), awsevents.Match_DoesNotExist()} {
				params := map[string]any{p: m}
				for k, v := range c {
					params[k] = v
				}
				next = append(next, params)
			}
		}
		combos = next
	}
	out := make([]any, len(combos))
	for i, c := range combos {
		out[i] = map[string]any{"requestParameters": c}
	}
	return out
}

// callBranch matches a service's watched calls. CloudTrail's names carry
// API versions (AddPermission20150331v2), so names match as prefixes; each
// branch pairs an event source with its own names, so that no service's
// name is matched in another's records.
func callBranch(s detect.Service) map[string]any {
	names := make([]any, len(s.Actions))
	for i, a := range s.Actions {
		names[i] = awsevents.Match_Prefix(jsii.String(a))
	}
	return map[string]any{
		"eventSource": jsii.Strings(s.EventSource),
		"eventName":   awsevents.Match_AnyOf(names...),
	}
}

// branches gathers the "$or" of a pattern's detail and the EventBridge
// sources of its services.
type branches struct {
	sources []string
	detail  []any
}

func (b *branches) add(s detect.Service, branch map[string]any) {
	if !slices.Contains(b.sources, s.Source) {
		b.sources = append(b.sources, s.Source)
	}
	b.detail = append(b.detail, branch)
}

// pattern matches CloudTrail records, as EventBridge delivers them, that
// meet any of the branches. The monitor's rules and the forwarders' rules
// use the same shapes, so a forwarded event meets exactly one rule on the
// central bus too.
func (b *branches) pattern() *awsevents.EventPattern {
	detail := map[string]any{"$or": b.detail}
	if len(b.detail) == 1 {
		detail = b.detail[0].(map[string]any)
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings(b.sources...),
		DetailType: jsii.Strings(cloudTrailDetailType),
		Detail:     &detail,
	}
}
