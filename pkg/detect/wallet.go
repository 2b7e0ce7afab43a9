package detect

import (
	"slices"
	"strings"
)

// StateInvokePath is the ways a function can be reached and what caps
// each.
const StateInvokePath StateKind = "invoke-path"

// PathKind is a way anyone can reach a function.
type PathKind string

// Kinds of path.
const (
	PathGrant        PathKind = "public-grant"  // a resource policy lets anyone invoke it
	PathFunctionURL  PathKind = "function-url"  // a URL with AuthType NONE
	PathRestMethod   PathKind = "rest-method"   // a REST API method with no authorization
	PathHTTPRoute    PathKind = "http-route"    // an HTTP API route with no authorization
	PathLoadBalancer PathKind = "load-balancer" // an internet-facing load balancer
)

// Path is one way anyone can reach a function, and what stands on it.
type Path struct {
	Kind PathKind
	// Via names it for people: a statement, URL, stage and method, route
	// or load balancer.
	Via string
	// Throttled: the stage or route sets a rate or burst limit.
	Throttled bool
	// UsagePlans name the usage plans of the stage. They cap callers
	// only where the method requires an API key.
	UsagePlans     []string
	APIKeyRequired bool
	// RateLimited: a web ACL in front blocks what passes a rate.
	RateLimited bool
}

// capped says whether something on the path caps how often it can be
// called, and what.
func (p Path) capped() bool {
	return p.Throttled || p.RateLimited || (p.APIKeyRequired && len(p.UsagePlans) > 0)
}

// JudgeDenialOfWallet judges whether anyone can run up a function's bill:
// MEDIUM when some path lets anyone reach it, nothing on that path caps
// the rate, and it has no reserved concurrency. Reserved concurrency on
// every function is not asked for: it takes capacity from the rest of the
// account, so the rule needs the open path too.
func (e *Engine) JudgeDenialOfWallet(r Resource, reserved *int32, paths []Path) []Finding {
	v, ok := judgeWallet(r, reserved, paths)
	if !ok {
		return nil
	}
	return []Finding{e.stateFinding(v, r.shown())}
}

func judgeWallet(r Resource, reserved *int32, paths []Path) (verdict, bool) {
	if reserved != nil {
		return verdict{}, false
	}
	var open []string
	for _, p := range paths {
		if p.capped() {
			continue
		}
		s := string(p.Kind)
		if p.Via != "" {
			s += " " + p.Via
		}
		if !slices.Contains(open, s) {
			open = append(open, s)
		}
	}
	if len(open) == 0 {
		return verdict{}, false
	}
	return verdict{rule: RuleDenialOfWallet, res: r,
		fill: func(f *Finding) { f.Function = r.Name },
		act: phrase{verb: "let", object: "anyone invoke it without limit (" + strings.Join(open, "; ") + ")",
			result: ": no reserved concurrency, throttling, usage plan or rate-based WAF rule caps it"}}, true
}
