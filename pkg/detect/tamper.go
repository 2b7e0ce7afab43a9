package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
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
	a, err := awsid.ParseARN(arn)
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

// tampering is what a call did to one of lambdawatch's parts; nil when
// the call concerns something else.
type tampering struct {
	act  phrase
	res  Resource
	fill func(*Finding) // names the resource in the finding's own field
}

// tamperEvent is a call that can blind lambdawatch: read says what it
// did, if anything, to one of lambdawatch's parts. Changes its deployment
// makes are not tampering.
func tamperEvent(source, name string, read func(e *Engine, rec cloudtrail.Record) (*tampering, error)) *event {
	return &event{Call{source, name}, func(e *Engine, rec cloudtrail.Record) ([]verdict, error) {
		t, err := read(e, rec)
		if t == nil || e.byDeployment(rec) {
			return nil, err
		}
		return []verdict{{rule: RuleMonitorTampering, res: t.res, act: t.act, fill: t.fill}}, err
	}}
}

// tamperCalls are the calls the monitor-tampering rule reads.
var tamperCalls = []*event{
	tamperEvent(sourceLambda, "DeleteFunction", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "PutFunctionConcurrency", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "UpdateFunctionCode", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "UpdateFunctionConfiguration", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "RemovePermission", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "UpdateEventSourceMapping", (*Engine).lambdaTampering),
	tamperEvent(sourceLambda, "DeleteEventSourceMapping", (*Engine).lambdaTampering),
	// PutTargets can replace a target in place (same id, new ARN).
	tamperEvent(sourceEvents, "DisableRule", (*Engine).eventRuleTampering),
	tamperEvent(sourceEvents, "DeleteRule", (*Engine).eventRuleTampering),
	tamperEvent(sourceEvents, "RemoveTargets", (*Engine).eventRuleTampering),
	tamperEvent(sourceEvents, "PutRule", (*Engine).eventRuleTampering),
	tamperEvent(sourceEvents, "PutTargets", (*Engine).eventRuleTampering),
	// The organization layout's central bus and its policy.
	tamperEvent(sourceEvents, "DeleteEventBus", (*Engine).eventBusTampering),
	tamperEvent(sourceEvents, "PutPermission", (*Engine).eventBusTampering),
	tamperEvent(sourceEvents, "RemovePermission", (*Engine).eventBusTampering),
	tamperEvent(sourceSNS, "DeleteTopic", (*Engine).topicTampering),
	tamperEvent(sourceSNS, "SetTopicAttributes", (*Engine).topicTampering),
	tamperEvent(sourceSNS, "Unsubscribe", (*Engine).topicTampering),
	// A filter policy set on the Slack queue's subscription drops alerts.
	tamperEvent(sourceSNS, "SetSubscriptionAttributes", (*Engine).topicTampering),
	tamperEvent(sourceSQS, "DeleteQueue", (*Engine).queueTampering),
	tamperEvent(sourceSQS, "SetQueueAttributes", (*Engine).queueTampering),
	tamperEvent(sourceSQS, "PurgeQueue", (*Engine).queueTampering),
}

// partOf follows the resource's name in every monitor-tampering summary.
const partOf = " (part of lambdawatch)"

// arnIn completes a resource's ARN when the record tells its account and
// region; else the name stands for it.
func arnIn(rec cloudtrail.Record, account, service, resource, name string) string {
	region := rec.AWSRegion
	if !awsid.IsAccountID(account) || region == "" || resource == "" {
		return name
	}
	return "arn:" + partition(region) + ":" + service + ":" + region + ":" + account + ":" + resource
}

func (e *Engine) eventRuleTampering(rec cloudtrail.Record) (*tampering, error) {
	var req eventRuleRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	rule := strings.TrimSpace(orDefault(string(req.Name), string(req.Rule)))
	// A rule ARN: arn:aws:events:region:account:rule[/bus]/name.
	name := rule[strings.LastIndex(rule, "/")+1:]
	if !e.ownPart(name) {
		return nil, err
	}
	shown := rule
	bus := lastSegment(string(req.EventBusName))
	if bus != "" && bus != "default" && !strings.Contains(rule, "/") {
		shown = bus + "/" + rule
	}
	owner := ownerOf(rec, rule)
	res := Resource{Type: TypeEventRule, Account: owner, Region: rec.AWSRegion, Name: shown, ARN: rule}
	if !strings.HasPrefix(rule, "arn:") {
		res.ARN = arnIn(rec, owner, "events", "rule/"+shown, shown)
	}
	what := "EventBridge rule " + shown + partOf
	t := &tampering{res: res, fill: func(f *Finding) { f.EventRule = shown }}
	switch rec.Action() {
	case "DisableRule":
		t.act = phrase{verb: "disable", object: what}
	case "DeleteRule":
		t.act = phrase{verb: "delete", object: what}
	case "RemoveTargets":
		t.act = phrase{verb: "remove", object: "targets " + textsJoined(req.IDs) + " from " + what}
	case "PutTargets":
		t.act = phrase{verb: "change", object: "the targets of " + what}
	case "PutRule":
		if strings.EqualFold(string(req.State), "DISABLED") {
			t.act = phrase{verb: "disable", object: what + " (PutRule)"}
		} else {
			t.act = phrase{verb: "replace", object: "the pattern or settings of " + what}
		}
	}
	return t, err
}

// eventBusTampering judges changes to an event bus: the organization
// layout's central bus is lambdawatch's, and the forwarders put events on
// it under its policy.
func (e *Engine) eventBusTampering(rec cloudtrail.Record) (*tampering, error) {
	var req eventRuleRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	bus := strings.TrimSpace(orDefault(string(req.EventBusName), string(req.Name)))
	name := bus[strings.LastIndex(bus, "/")+1:] // a bus ARN: arn:aws:events:region:account:event-bus/name
	if !e.ownPart(name) {
		return nil, err
	}
	owner := ownerOf(rec, bus)
	res := Resource{Type: TypeEventBus, Account: owner, Region: rec.AWSRegion, Name: bus, ARN: bus}
	if !strings.HasPrefix(bus, "arn:") {
		res.ARN = arnIn(rec, owner, "events", "event-bus/"+bus, bus)
	}
	what := "EventBridge event bus " + orDefault(bus, "default") + partOf
	t := &tampering{res: res, fill: func(f *Finding) { f.EventBus = bus }}
	switch rec.Action() {
	case "DeleteEventBus":
		t.act = phrase{verb: "delete", object: what}
	case "PutPermission":
		t.act = phrase{verb: "change", object: "the policy of " + what, result: ": who may put events on it"}
	case "RemovePermission":
		t.act = phrase{verb: "remove", object: "a statement from the policy of " + what, result: ": the accounts it named can no longer forward events"}
	}
	return t, err
}

func (e *Engine) topicTampering(rec cloudtrail.Record) (*tampering, error) {
	var req topicRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	action := rec.Action()
	topic := strings.TrimSpace(string(req.TopicArn))
	if action == "Unsubscribe" || action == "SetSubscriptionAttributes" {
		// arn:aws:sns:region:account:topic:subscription-id
		if a, perr := awsid.ParseARN(strings.TrimSpace(string(req.SubscriptionArn))); perr == nil {
			name, _, _ := strings.Cut(a.Resource, ":")
			topic = strings.Join([]string{"arn", a.Partition, a.Service, a.Region, a.Account, name}, ":")
		}
	}
	if !e.ownPart(lastField(topic)) {
		return nil, err
	}
	what := "SNS topic " + orDefault(topic, unrecordedName) + partOf
	t := &tampering{res: Resource{Type: TypeTopic, Account: ownerOf(rec, topic), Region: rec.AWSRegion, ARN: topic}, fill: func(f *Finding) { f.Topic = topic }}
	attr := orDefault(string(req.AttributeName), "(not recorded)")
	switch action {
	case "DeleteTopic":
		t.act = phrase{verb: "delete", object: what}
	case "SetTopicAttributes":
		t.act = phrase{verb: "change", object: "attribute " + attr + " of " + what}
	case "Unsubscribe":
		t.act = phrase{verb: "remove", object: "a subscription from " + what}
	case "SetSubscriptionAttributes":
		// A filter policy on the Slack queue's subscription drops alerts
		// without a trace.
		t.act = phrase{verb: "change", object: "attribute " + attr + " of a subscription to " + what}
	}
	return t, err
}

func (e *Engine) queueTampering(rec cloudtrail.Record) (*tampering, error) {
	var req queueRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	queue := strings.TrimRight(strings.TrimSpace(string(req.QueueURL)), "/")
	name := lastSegment(queue)
	if !e.ownPart(name) {
		return nil, err
	}
	what := "SQS queue " + orDefault(name, unrecordedName) + partOf
	// https://sqs.region.amazonaws.com/account/name
	owner := ownerOf(rec, queueAccount(queue))
	res := Resource{Type: TypeQueue, Account: owner, Region: rec.AWSRegion, Name: queue, ARN: arnIn(rec, owner, "sqs", name, queue)}
	t := &tampering{res: res, fill: func(f *Finding) { f.Queue = queue }}
	switch rec.Action() {
	case "DeleteQueue":
		t.act = phrase{verb: "delete", object: what}
	case "PurgeQueue":
		t.act = phrase{verb: "purge", object: what, result: " (its messages are lost)"}
	case "SetQueueAttributes":
		attrs := make([]string, 0, len(req.Attributes))
		for k := range req.Attributes {
			attrs = append(attrs, k)
		}
		slices.Sort(attrs)
		t.act = phrase{verb: "change", object: "attributes " + orDefault(strings.Join(attrs, ", "), "(not recorded)") + " of " + what}
	}
	return t, err
}

// lambdaTampering judges the Lambda calls that can silence lambdawatch's
// own functions.
func (e *Engine) lambdaTampering(rec cloudtrail.Record) (*tampering, error) {
	action := rec.Action()
	var (
		req  lambdaTargetRequest
		resp lambdaTargetResponse
	)
	err := errors.Join(
		decodeParams(rec.RequestParameters, "requestParameters", &req),
		decodeParams(rec.ResponseElements, "responseElements", &resp))
	fn := strings.TrimSpace(orDefault(string(req.FunctionName), orDefault(string(resp.FunctionArn), string(resp.FunctionName))))
	source := strings.TrimSpace(string(resp.EventSourceArn))
	mapping := action == "UpdateEventSourceMapping" || action == "DeleteEventSourceMapping"
	if name, _ := splitFunction(fn); !e.ownPart(name) && (!mapping || !e.ownPart(lastField(source))) {
		return nil, err
	}
	res := functionResource(fn, string(req.Qualifier), ownerOf(rec, fn), rec.AWSRegion)
	shown := res.Name
	what := "function " + orDefault(shown, unrecordedName) + partOf
	t := &tampering{res: res, fill: func(f *Finding) {
		if shown != "" {
			f.Function = shown
		} else {
			f.Queue = source
		}
		f.StatementID = string(req.StatementID)
	}}
	switch action {
	case "DeleteFunction":
		t.act = phrase{verb: "delete", object: what}
	case "PutFunctionConcurrency":
		n := strings.TrimSpace(orDefault(string(req.ReservedConcurrentExecutions), string(resp.ReservedConcurrentExecutions)))
		if n != "0" {
			return nil, err // a reservation above zero still lets it run
		}
		t.act = phrase{verb: "throttle", object: what + " to zero reserved concurrency", result: ": it no longer runs"}
	case "UpdateFunctionCode":
		t.act = phrase{verb: "replace", object: "the code of " + what}
	case "UpdateFunctionConfiguration":
		t.act = phrase{verb: "change", object: "the configuration of " + what}
	case "RemovePermission":
		t.act = phrase{verb: "remove", object: fmt.Sprintf("statement %q from the policy of %s", string(req.StatementID), what), result: ": the services that invoke it may no longer be able to"}
	default: // event source mappings
		m := "event source mapping " + orDefault(string(req.UUID), "(id not recorded)")
		switch {
		case fn != "":
			m += " of " + what
		case source != "":
			m += " reading " + source + partOf
			t.res = Resource{Type: TypeQueue, Account: ownerOf(rec, source), Region: rec.AWSRegion, ARN: source}
		}
		verb := "change"
		if action == "DeleteEventSourceMapping" {
			verb = "delete"
		}
		t.act = phrase{verb: verb, object: m}
	}
	return t, err
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
	if len(parts) >= 2 && awsid.IsAccountID(parts[len(parts)-2]) {
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
