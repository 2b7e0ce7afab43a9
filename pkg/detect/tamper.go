package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// The request and response fields the monitor-tampering rule reads.
type eventRuleRequest struct {
	Name         text   `json:"name"`
	Rule         text   `json:"rule"` // RemoveTargets, PutTargets
	EventBusName text   `json:"eventBusName"`
	State        text   `json:"state"`
	IDs          []text `json:"ids"`
}

type topicRequest struct {
	TopicArn        text `json:"topicArn"`
	AttributeName   text `json:"attributeName"`
	SubscriptionArn text `json:"subscriptionArn"`
}

type queueRequest struct {
	QueueURL   text                       `json:"queueUrl"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

type lambdaTargetRequest struct {
	FunctionName                 text `json:"functionName"`
	Qualifier                    text `json:"qualifier"`
	StatementID                  text `json:"statementId"`
	ReservedConcurrentExecutions text `json:"reservedConcurrentExecutions"`
	UUID                         text `json:"uUID"`
}

type lambdaTargetResponse struct {
	FunctionName                 text `json:"functionName"`
	FunctionArn                  text `json:"functionArn"`
	EventSourceArn               text `json:"eventSourceArn"`
	ReservedConcurrentExecutions text `json:"reservedConcurrentExecutions"`
}

// cloudFormation is the name CloudTrail gives CloudFormation when it
// calls on a stack's behalf.
const cloudFormation = "cloudformation.amazonaws.com"

// byDeployment reports whether lambdawatch's deployment made the call:
// CloudFormation, acting with one of the deployment roles. The user agent
// alone does not count, as any caller sets it freely; invokedBy and a
// service name as source address are written by AWS. The role counts too:
// anyone allowed to create a stack can make CloudFormation call, but only
// the deployment deploys with its role.
func (e *Engine) byDeployment(rec cloudtrail.Record) bool {
	if !strings.EqualFold(rec.UserIdentity.InvokedBy, cloudFormation) &&
		!strings.EqualFold(strings.TrimSpace(rec.SourceIPAddress), cloudFormation) {
		return false
	}
	role := roleName(rec.UserIdentity.ARN)
	for _, p := range e.deploy {
		if ok, _ := path.Match(p, role); ok && role != "" {
			return true
		}
	}
	return false
}

// roleName is the role of an assumed-role session or role ARN:
// arn:aws:sts::111122223333:assumed-role/NAME/session, or
// arn:aws:iam::111122223333:role/path/NAME.
func roleName(arn string) string {
	a, err := policy.ParseARN(arn)
	if err != nil {
		return ""
	}
	switch kind, rest, _ := strings.Cut(a.Resource, "/"); kind {
	case "assumed-role":
		name, _, _ := strings.Cut(rest, "/")
		return name
	case "role":
		return rest[strings.LastIndex(rest, "/")+1:]
	}
	return ""
}

// ownPart reports whether a resource is lambdawatch's: its name is the
// monitor prefix or starts with the prefix and a hyphen, as the stack
// names them. Case is ignored: a near miss in case is more likely ours
// than not.
func (e *Engine) ownPart(name string) bool {
	name = strings.ToLower(name)
	return name == e.prefix || strings.HasPrefix(name, e.prefix+"-")
}

// tampering is what a call did to one of lambdawatch's parts.
type tampering struct {
	did, try string
	owner    string         // the resource's ARN or partial ARN, when known
	set      func(*Finding) // names the resource in the finding
}

// judgeMonitorParts raises monitor-tampering for EventBridge, SNS and SQS
// calls that change lambdawatch's rules, topic or queues.
func (e *Engine) judgeMonitorParts(rec cloudtrail.Record) ([]Finding, error) {
	var (
		t    *tampering
		name string
		err  error
	)
	switch strings.ToLower(rec.EventSource) {
	case sourceEvents:
		name, t, err = eventRuleTampering(rec)
	case sourceSNS:
		name, t, err = topicTampering(rec)
	case sourceSQS:
		name, t, err = queueTampering(rec)
	}
	if t == nil || !e.ownPart(name) || e.byDeployment(rec) {
		return nil, err
	}
	f := e.base(rec, ownerOf(rec, t.owner))
	t.set(&f)
	return []Finding{finish(f, RuleMonitorTampering, High, t.did, t.try)}, err
}

// partOf follows the resource's name in every monitor-tampering summary.
const partOf = " (part of lambdawatch)"

func eventRuleTampering(rec cloudtrail.Record) (string, *tampering, error) {
	action := rec.Action()
	switch action {
	case "DisableRule", "DeleteRule", "PutRule", "RemoveTargets", "PutTargets":
	case "DeleteEventBus", "PutPermission", "RemovePermission":
		return eventBusTampering(rec)
	default:
		return "", nil, nil
	}
	var req eventRuleRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	rule := strings.TrimSpace(orDefault(string(req.Name), string(req.Rule)))
	// A rule ARN: arn:aws:events:region:account:rule[/bus]/name.
	name := rule[strings.LastIndex(rule, "/")+1:]
	shown := rule
	if bus := lastSegment(string(req.EventBusName)); bus != "" && bus != "default" && !strings.Contains(rule, "/") {
		shown = bus + "/" + rule
	}
	what := "EventBridge rule " + shown + partOf
	t := &tampering{owner: rule, set: func(f *Finding) { f.EventRule = shown }}
	switch action {
	case "DisableRule":
		t.did, t.try = "disabled "+what, "disable "+what
	case "DeleteRule":
		t.did, t.try = "deleted "+what, "delete "+what
	case "RemoveTargets":
		ids := textsJoined(req.IDs)
		t.did, t.try = "removed targets "+ids+" from "+what, "remove targets "+ids+" from "+what
	case "PutTargets":
		t.did, t.try = "changed the targets of "+what, "change the targets of "+what
	case "PutRule":
		if strings.EqualFold(string(req.State), "DISABLED") {
			t.did, t.try = "disabled "+what+" (PutRule)", "disable "+what+" (PutRule)"
		} else {
			t.did, t.try = "replaced the pattern or settings of "+what, "replace the pattern or settings of "+what
		}
	}
	return name, t, err
}

// eventBusTampering judges changes to an event bus: the organization
// layout's central bus is lambdawatch's, and the forwarders put events on
// it under its policy.
func eventBusTampering(rec cloudtrail.Record) (string, *tampering, error) {
	var req eventRuleRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	bus := strings.TrimSpace(orDefault(string(req.EventBusName), string(req.Name)))
	name := bus[strings.LastIndex(bus, "/")+1:] // a bus ARN: arn:aws:events:region:account:event-bus/name
	what := "EventBridge event bus " + orDefault(bus, "default") + partOf
	t := &tampering{owner: bus, set: func(f *Finding) { f.EventBus = bus }}
	switch rec.Action() {
	case "DeleteEventBus":
		t.did, t.try = "deleted "+what, "delete "+what
	case "PutPermission":
		t.did, t.try = "changed the policy of "+what+": who may put events on it", "change the policy of "+what
	case "RemovePermission":
		t.did, t.try = "removed a statement from the policy of "+what+": the accounts it named can no longer forward events", "remove a statement from the policy of "+what
	}
	return name, t, err
}

func topicTampering(rec cloudtrail.Record) (string, *tampering, error) {
	action := rec.Action()
	switch action {
	case "DeleteTopic", "SetTopicAttributes", "Unsubscribe", "SetSubscriptionAttributes":
	default:
		return "", nil, nil
	}
	var req topicRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	topic := strings.TrimSpace(string(req.TopicArn))
	if action == "Unsubscribe" || action == "SetSubscriptionAttributes" {
		// arn:aws:sns:region:account:topic:subscription-id
		if a, perr := policy.ParseARN(strings.TrimSpace(string(req.SubscriptionArn))); perr == nil {
			name, _, _ := strings.Cut(a.Resource, ":")
			topic = strings.Join([]string{"arn", a.Partition, a.Service, a.Region, a.Account, name}, ":")
		}
	}
	name := lastField(topic)
	what := "SNS topic " + orDefault(topic, "(name not recorded)") + partOf
	t := &tampering{owner: topic, set: func(f *Finding) { f.Topic = topic }}
	switch action {
	case "DeleteTopic":
		t.did, t.try = "deleted "+what, "delete "+what
	case "SetTopicAttributes":
		attr := orDefault(string(req.AttributeName), "(not recorded)")
		t.did, t.try = "changed attribute "+attr+" of "+what, "change attribute "+attr+" of "+what
	case "Unsubscribe":
		t.did, t.try = "removed a subscription from "+what, "remove a subscription from "+what
	case "SetSubscriptionAttributes":
		// A filter policy on the Slack queue's subscription drops alerts
		// without a trace.
		attr := orDefault(string(req.AttributeName), "(not recorded)")
		t.did, t.try = "changed attribute "+attr+" of a subscription to "+what, "change attribute "+attr+" of a subscription to "+what
	}
	return name, t, err
}

func queueTampering(rec cloudtrail.Record) (string, *tampering, error) {
	action := rec.Action()
	switch action {
	case "DeleteQueue", "SetQueueAttributes", "PurgeQueue":
	default:
		return "", nil, nil
	}
	var req queueRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	queue := strings.TrimRight(strings.TrimSpace(string(req.QueueURL)), "/")
	name := lastSegment(queue)
	what := "SQS queue " + orDefault(name, "(name not recorded)") + partOf
	// https://sqs.region.amazonaws.com/account/name
	t := &tampering{owner: queueAccount(queue), set: func(f *Finding) { f.Queue = queue }}
	switch action {
	case "DeleteQueue":
		t.did, t.try = "deleted "+what, "delete "+what
	case "PurgeQueue":
		t.did, t.try = "purged "+what+" (its messages are lost)", "purge "+what
	case "SetQueueAttributes":
		attrs := make([]string, 0, len(req.Attributes))
		for k := range req.Attributes {
			attrs = append(attrs, k)
		}
		slices.Sort(attrs)
		list := orDefault(strings.Join(attrs, ", "), "(not recorded)")
		t.did, t.try = "changed attributes "+list+" of "+what, "change attributes "+list+" of "+what
	}
	return name, t, err
}

// lambdaTampering judges the Lambda calls that can silence lambdawatch's
// own functions; nil when rec is none of them or concerns another
// function.
func (e *Engine) lambdaTampering(rec cloudtrail.Record) (*Finding, error) {
	action := rec.Action()
	switch action {
	case "DeleteFunction", "PutFunctionConcurrency", "UpdateFunctionCode", "UpdateFunctionConfiguration",
		"RemovePermission", "UpdateEventSourceMapping", "DeleteEventSourceMapping":
	default:
		return nil, nil
	}
	var (
		req  lambdaTargetRequest
		resp lambdaTargetResponse
	)
	err := errors.Join(
		decodeParams(rec.RequestParameters, "requestParameters", &req),
		decodeParams(rec.ResponseElements, "responseElements", &resp))
	fn := strings.TrimSpace(orDefault(string(req.FunctionName), orDefault(string(resp.FunctionArn), string(resp.FunctionName))))
	name := functionBaseName(fn)
	source := strings.TrimSpace(string(resp.EventSourceArn))
	mapping := action == "UpdateEventSourceMapping" || action == "DeleteEventSourceMapping"
	ours := e.ownPart(name) || (mapping && e.ownPart(lastField(source)))
	if !ours || e.byDeployment(rec) {
		return nil, err
	}
	shown := qualified(fn, string(req.Qualifier))
	what := "function " + orDefault(shown, "(name not recorded)") + partOf
	var did, try string
	switch action {
	case "DeleteFunction":
		did, try = "deleted "+what, "delete "+what
	case "PutFunctionConcurrency":
		n := strings.TrimSpace(orDefault(string(req.ReservedConcurrentExecutions), string(resp.ReservedConcurrentExecutions)))
		if n != "0" {
			return nil, err // a reservation above zero still lets it run
		}
		did, try = "throttled "+what+" to zero reserved concurrency: it no longer runs", "throttle "+what+" to zero reserved concurrency"
	case "UpdateFunctionCode":
		did, try = "replaced the code of "+what, "replace the code of "+what
	case "UpdateFunctionConfiguration":
		did, try = "changed the configuration of "+what, "change the configuration of "+what
	case "RemovePermission":
		phrase := fmt.Sprintf("statement %q from the policy of %s: the services that invoke it may no longer be able to", string(req.StatementID), what)
		did, try = "removed "+phrase, "remove "+phrase
	default: // event source mappings
		m := "event source mapping " + orDefault(string(req.UUID), "(id not recorded)")
		if fn != "" {
			m += " of " + what
		} else if source != "" {
			m += " reading " + source + partOf
		}
		verb, v := "changed", "change"
		if action == "DeleteEventSourceMapping" {
			verb, v = "deleted", "delete"
		}
		did, try = verb+" "+m, v+" "+m
	}
	f := e.base(rec, ownerOf(rec, fn))
	if shown != "" {
		f.Function = shown
	} else {
		f.Queue = source
	}
	f.StatementID = string(req.StatementID)
	out := finish(f, RuleMonitorTampering, High, did, try)
	return &out, err
}

// functionBaseName is a function's name without ARN prefix or qualifier:
// Lambda accepts name, name:qualifier, account:function:name and full ARNs.
func functionBaseName(s string) string {
	if i := strings.LastIndex(s, "function:"); i >= 0 && (i == 0 || s[i-1] == ':') {
		s = s[i+len("function:"):]
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

// lastSegment is what follows the last slash: a queue's name in its URL,
// a bus's name in its ARN.
func lastSegment(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "/")+1:]
}

// lastField is what follows the last colon: a topic's or queue's name in
// its ARN.
func lastField(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, ":")+1:]
}

// queueAccount turns a queue URL into the partial ARN ownerOf reads.
func queueAccount(url string) string {
	parts := strings.Split(url, "/")
	if len(parts) >= 2 && policy.IsAccountID(parts[len(parts)-2]) {
		return "arn:aws:sqs::" + parts[len(parts)-2] + ":" + parts[len(parts)-1]
	}
	return ""
}

func textsJoined(ts []text) string {
	ss := make([]string, 0, len(ts))
	for _, t := range ts {
		ss = append(ss, string(t))
	}
	if len(ss) == 0 {
		return "(not recorded)"
	}
	return strings.Join(ss, ", ")
}
