package detect

import (
	"strconv"
	"strings"
)

// Resource types of what stands in front of functions.
const (
	TypeRestStage    ResourceType = "api-stage"     // an API Gateway REST API stage
	TypeLoadBalancer ResourceType = "load-balancer" // an application load balancer
)

// StateFront is what fronts a function: a REST API stage or a load
// balancer, and the web ACL guarding it.
const StateFront StateKind = "front"

// NotPublic: the front is reachable only from inside a network (an
// internal load balancer, a private REST API).
const NotPublic Circumstance = "not-public"

// FrontKind is a kind of front.
type FrontKind string

// Kinds of front. WAF guards REST API stages and application load
// balancers; it cannot be associated with HTTP APIs or function URLs.
const (
	FrontRestStage    FrontKind = "rest-stage"
	FrontLoadBalancer FrontKind = "load-balancer"
	FrontHTTPAPI      FrontKind = "http-api"
	FrontFunctionURL  FrontKind = "function-url"
)

// Front is a REST API stage, load balancer, HTTP API or function URL that
// invokes functions.
type Front struct {
	Kind FrontKind
	// Public: reachable from the internet (an internet-facing load
	// balancer, a REST API that is not private).
	Public bool
	// Functions are the Lambda functions it invokes.
	Functions []string
	// WebACL is the ARN of the web ACL associated with it; empty for none.
	WebACL string
}

// WAFGuards reports whether a web ACL can be associated with a kind of
// front: only those are judged for waf-missing.
func WAFGuards(k FrontKind) bool { return k == FrontRestStage || k == FrontLoadBalancer }

// JudgeWAF judges whether a front that invokes Lambda has a web ACL:
// MEDIUM when it is public and has none, LOW when it is reachable only
// from inside. Fronts WAF cannot guard, and fronts that invoke no
// function, raise nothing.
func (e *Engine) JudgeWAF(r Resource, f Front) []Finding {
	v, ok := judgeWAF(r, f)
	if !ok {
		return nil
	}
	return []Finding{e.stateFinding(v, r.shown())}
}

func judgeWAF(r Resource, f Front) (verdict, bool) {
	if !WAFGuards(f.Kind) || len(f.Functions) == 0 || strings.TrimSpace(f.WebACL) != "" {
		return verdict{}, false
	}
	if r.Type == "" {
		r.Type = TypeLoadBalancer
		if f.Kind == FrontRestStage {
			r.Type = TypeRestStage
		}
	}
	v := verdict{rule: RuleWAFMissing, res: r, fill: func(fd *Finding) { fd.Function = strings.Join(f.Functions, ",") }}
	what := "no web ACL in front of " + functionsPhrase(f.Functions)
	if !f.Public {
		v.circumstance = NotPublic
		what += ", reachable from inside the network only"
	}
	v.act = phrase{verb: "have", object: what}
	return v, true
}

// functionsPhrase names a few functions: "payments", "payments and 2 more".
func functionsPhrase(fns []string) string {
	short := func(s string) string {
		if i := strings.LastIndex(s, ":function:"); i >= 0 {
			return s[i+len(":function:"):]
		}
		return s
	}
	switch len(fns) {
	case 0:
		return "no function"
	case 1:
		return "function " + short(fns[0])
	case 2:
		return "functions " + short(fns[0]) + " and " + short(fns[1])
	}
	return "functions " + short(fns[0]) + ", " + short(fns[1]) + " and " + strconv.Itoa(len(fns)-2) + " more"
}
