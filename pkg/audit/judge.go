package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// Report is what judging an account found.
type Report struct {
	Findings []detect.Finding
	// Tally counts, for each rule, the resources judged and those that
	// fail it.
	Tally Tally
	// Errors name what could not be judged (a policy that is not JSON);
	// the rest was.
	Errors []error
}

// Count is how a rule's resources stand.
type Count struct {
	Judged int // resources the rule judged
	Failed int // of those, the resources with a finding
	// NotJudged are the resources the rule could not judge: Image
	// functions have no runtime, a load balancer whose web ACL could not
	// be read.
	NotJudged int
}

// Tally is a Count for each rule, by rule ID.
type Tally map[string]*Count

func (t Tally) count(rule string) *Count {
	c := t[rule]
	if c == nil {
		c = &Count{}
		t[rule] = c
	}
	return c
}

func (t Tally) judged(n int, rules ...string) {
	for _, r := range rules {
		t.count(r).Judged += n
	}
}

// Add adds another tally's counts.
func (t Tally) Add(o Tally) {
	for r, c := range o {
		n := t.count(r)
		n.Judged += c.Judged
		n.Failed += c.Failed
		n.NotJudged += c.NotJudged
	}
}

// Rules judged from each kind of state.
var (
	grantRules = []string{detect.RulePublicInvoke, detect.RulePublicFunctionURL, detect.RuleCrossAccountInvoke, detect.RuleConfusedDeputy}
	layerRules = []string{detect.RulePublicLayer, detect.RuleCrossAccountLayer}
)

// Judge judges what was read of an account, as at a moment (for
// runtimes' deprecation dates).
func Judge(e *detect.Engine, inv *AccountInventory, at time.Time) Report {
	j := &judge{e: e, inv: inv, at: at, tally: Tally{}, usedBy: map[string][]string{}}
	for _, r := range inv.Regions {
		j.region(r)
	}
	j.roles()
	// A resource fails a rule once, however many findings it has.
	failed := map[[2]string]bool{}
	for _, f := range j.findings {
		k := [2]string{f.Rule, f.ResourceARN}
		if !failed[k] {
			failed[k] = true
			j.tally.count(f.Rule).Failed++
		}
	}
	slices.SortStableFunc(j.findings, func(a, b detect.Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Region, b.Region), cmp.Compare(a.ResourceARN, b.ResourceARN), cmp.Compare(a.Rule, b.Rule))
	})
	return Report{Findings: j.findings, Tally: j.tally, Errors: j.errs}
}

type judge struct {
	e        *detect.Engine
	inv      *AccountInventory
	at       time.Time
	tally    Tally
	findings []detect.Finding
	seen     map[string]bool
	errs     []error
	usedBy   map[string][]string // role ARN -> functions
}

// add keeps findings once: moto, for one, returns a function's policy for
// every qualifier.
func (j *judge) add(fs ...detect.Finding) {
	if j.seen == nil {
		j.seen = map[string]bool{}
	}
	for _, f := range fs {
		k := strings.Join([]string{f.Rule, f.ResourceARN, f.StatementID, f.Principal, f.Action}, "\x00")
		if !j.seen[k] {
			j.seen[k] = true
			j.findings = append(j.findings, f)
		}
	}
}

func (j *judge) fail(region, what, resource string, err error) {
	j.errs = append(j.errs, &JudgeError{Where: region, What: what, Resource: resource, Err: err})
}

// fronts indexes, by unqualified function ARN, the ways to each function
// through APIs and load balancers.
type fronts map[string][]detect.Path

func (j *judge) region(inv *Inventory) {
	acls := map[string]WebACL{}
	for _, a := range inv.WebACLs {
		acls[a.ARN] = a
	}
	paths := fronts{}
	j.restAPIs(inv, acls, paths)
	j.httpAPIs(inv, paths)
	j.loadBalancers(inv, acls, paths)
	for _, f := range inv.Functions {
		j.function(inv, f, paths[f.ARN])
	}
	for _, l := range inv.Layers {
		res := detect.Resource{ARN: l.ARN, Type: detect.TypeLayerVersion, Account: inv.Account, Region: inv.Region, Name: l.Name + ":" + fmt.Sprint(l.Version)}
		if l.PolicyUnread {
			for _, r := range layerRules {
				j.tally.count(r).NotJudged++
			}
			continue
		}
		j.tally.judged(1, layerRules...)
		if l.Policy != "" {
			j.grants(inv.Region, res, l.Policy, nil)
		}
	}
}

func (j *judge) function(inv *Inventory, f Function, paths []detect.Path) {
	base := detect.Resource{ARN: f.ARN, Type: detect.TypeFunction, Account: inv.Account, Region: inv.Region, Name: f.Name}
	resources := map[string]detect.Resource{"": base}
	for _, a := range f.Aliases {
		resources[a] = detect.Resource{ARN: qualified(f.ARN, a), Type: detect.TypeAlias, Account: inv.Account, Region: inv.Region, Name: f.Name + ":" + a}
	}
	for _, v := range f.Versions {
		resources[v] = detect.Resource{ARN: qualified(f.ARN, v), Type: detect.TypeVersion, Account: inv.Account, Region: inv.Region, Name: f.Name + ":" + v}
	}
	// A resource whose policy could not be read is not judged for grants.
	j.tally.judged(len(resources)-len(f.UnreadPolicies), grantRules...)
	for _, r := range grantRules {
		j.tally.count(r).NotJudged += len(f.UnreadPolicies)
	}
	for _, p := range f.Policies {
		res, ok := resources[p.Qualifier]
		if !ok {
			res = detect.Resource{ARN: p.ARN, Type: detect.TypeFunction, Account: inv.Account, Region: inv.Region, Name: f.Name}
		}
		j.grants(inv.Region, res, p.Document, resources)
	}
	for _, fd := range j.findings {
		if fd.Rule == detect.RulePublicInvoke && unqualified(fd.ResourceARN) == f.ARN {
			paths = append(paths, detect.Path{Kind: detect.PathGrant, Via: "statement " + fd.StatementID + " of " + fd.ResourceARN})
		}
	}

	j.tally.judged(len(f.URLs), detect.RuleFunctionURLAuthNone)
	for _, u := range f.URLs {
		name := f.Name
		if u.Qualifier != "" {
			name += ":" + u.Qualifier
		}
		j.add(j.e.JudgeURLAuth(detect.Resource{ARN: u.ARN, Type: detect.TypeFunctionURL, Account: inv.Account, Region: inv.Region, Name: name}, u.AuthType, u.URL)...)
		if strings.EqualFold(u.AuthType, "NONE") {
			paths = append(paths, detect.Path{Kind: detect.PathFunctionURL, Via: u.URL})
		}
	}

	if f.IsImage() || f.Runtime == "" {
		j.tally.count(detect.RuleEOLRuntime).NotJudged++
	} else {
		j.tally.judged(1, detect.RuleEOLRuntime)
		j.add(j.e.JudgeRuntime(base, f.Runtime, j.at)...)
	}
	j.tally.judged(1, detect.RuleForeignLayer)
	fs, err := j.e.JudgeLayers(base, f.Layers)
	if err != nil {
		j.fail(inv.Region, "layers of "+f.ARN, f.ARN, err)
	}
	j.add(fs...)

	if f.ConcurrencyKnown {
		j.tally.judged(1, detect.RuleDenialOfWallet)
		j.add(j.e.JudgeDenialOfWallet(base, f.ReservedConcurrency, paths)...)
	} else {
		j.tally.count(detect.RuleDenialOfWallet).NotJudged++
	}
	if f.Role != "" {
		j.usedBy[f.Role] = append(j.usedBy[f.Role], f.Name)
	}
}

// grants judges each statement of a resource policy. A statement whose
// Resource names one of the function's qualifiers is judged as that
// qualifier's, as AWS keeps it.
func (j *judge) grants(region string, res detect.Resource, doc string, byQualifier map[string]detect.Resource) {
	stmts, err := statements(doc)
	if err != nil {
		j.fail(region, "policy of "+res.ARN, res.ARN, err)
		return
	}
	for i, raw := range stmts {
		st, err := policy.ParseStatement(raw)
		if err != nil {
			j.fail(region, fmt.Sprintf("policy of %s: statement %d", res.ARN, i), res.ARN, err)
			continue
		}
		r := res
		if byQualifier != nil && len(st.Resources) == 1 {
			for _, q := range byQualifier {
				if q.ARN == st.Resources[0] {
					r = q
				}
			}
		}
		j.add(j.e.JudgeGrant(r, st)...)
	}
}

// statements splits a policy document into its statements' JSON.
func statements(doc string) ([]json.RawMessage, error) {
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	b := bytes.TrimSpace(raw.Statement)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '{' {
		return []json.RawMessage{b}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("statement list: %w", err)
	}
	return list, nil
}

func (j *judge) restAPIs(inv *Inventory, acls map[string]WebACL, paths fronts) {
	for _, api := range inv.RestAPIs {
		var fns []string
		for _, m := range api.Methods {
			if m.Function != "" && !slices.Contains(fns, m.Function) {
				fns = append(fns, m.Function)
			}
		}
		if len(fns) == 0 {
			continue
		}
		for _, st := range api.Stages {
			res := detect.Resource{ARN: st.ARN, Type: detect.TypeRestStage, Account: inv.Account, Region: inv.Region, Name: api.Name + "/" + st.Name}
			j.tally.judged(1, detect.RuleWAFMissing)
			j.add(j.e.JudgeWAF(res, detect.Front{Kind: detect.FrontRestStage, Public: !api.Private, Functions: fns, WebACL: st.WebACLARN})...)
			if api.Private {
				continue
			}
			for _, m := range api.Methods {
				if m.Function == "" || !strings.EqualFold(m.AuthorizationType, "NONE") {
					continue
				}
				paths.add(m.Function, detect.Path{
					Kind: detect.PathRestMethod, Via: api.Name + "/" + st.Name + " " + m.HTTPMethod + " " + m.Path,
					Throttled: st.Throttled, UsagePlans: st.UsagePlans, APIKeyRequired: m.APIKeyRequired,
					RateLimited: acls[st.WebACLARN].RateLimited,
				})
			}
		}
	}
}

func (j *judge) httpAPIs(inv *Inventory, paths fronts) {
	for _, api := range inv.HTTPAPIs {
		for _, st := range api.Stages {
			for _, r := range api.Routes {
				if r.Function == "" || !strings.EqualFold(r.AuthorizationType, "NONE") {
					continue
				}
				paths.add(r.Function, detect.Path{
					Kind: detect.PathHTTPRoute, Via: api.Name + "/" + st.Name + " " + r.Key,
					Throttled: st.DefaultThrottled || slices.Contains(st.ThrottledRoutes, r.Key),
				})
			}
		}
	}
}

func (j *judge) loadBalancers(inv *Inventory, acls map[string]WebACL, paths fronts) {
	for _, lb := range inv.LoadBalancers {
		var fns []string
		for _, tg := range lb.TargetGroups {
			fns = append(fns, tg.Functions...)
		}
		if len(fns) == 0 {
			continue
		}
		public := lb.Scheme == "internet-facing"
		if lb.WebACLKnown {
			res := detect.Resource{ARN: lb.ARN, Type: detect.TypeLoadBalancer, Account: inv.Account, Region: inv.Region, Name: lb.Name}
			j.tally.judged(1, detect.RuleWAFMissing)
			j.add(j.e.JudgeWAF(res, detect.Front{Kind: detect.FrontLoadBalancer, Public: public, Functions: fns, WebACL: lb.WebACLARN})...)
		} else {
			j.tally.count(detect.RuleWAFMissing).NotJudged++
		}
		// Without its web ACL, whether a rate-based rule caps the path is
		// not known: better no path than a finding on a guess.
		if !public || !lb.WebACLKnown {
			continue
		}
		for _, fn := range fns {
			paths.add(fn, detect.Path{Kind: detect.PathLoadBalancer, Via: lb.Name, RateLimited: acls[lb.WebACLARN].RateLimited})
		}
	}
}

// add files a path under the function it reaches, whatever qualifier the
// front names.
func (p fronts) add(fn string, path detect.Path) {
	fn = unqualified(fn)
	p[fn] = append(p[fn], path)
}

func (j *judge) roles() {
	arns := make([]string, 0, len(j.inv.Roles))
	for arn := range j.inv.Roles {
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	for _, arn := range arns {
		role := j.inv.Roles[arn]
		var ps []detect.RolePolicy
		for _, m := range role.Attached {
			if m.Document != "" {
				ps = append(ps, detect.RolePolicy{Name: m.Name, ARN: m.ARN, Document: m.Document})
			}
		}
		for _, p := range role.Inline {
			if p.Document != "" {
				ps = append(ps, detect.RolePolicy{Name: p.Name, Document: p.Document})
			}
		}
		res := detect.Resource{ARN: arn, Type: detect.TypeRole, Account: j.inv.Account, Name: role.Name}
		fs, err := j.e.JudgeRole(res, ps, j.usedBy[arn])
		if err != nil {
			j.fail("global", "role "+arn, arn, err)
		}
		// A role some of whose policies could not be read, and that what
		// was read does not convict, is not judged.
		if role.Complete || len(fs) > 0 {
			j.tally.judged(1, detect.RulePrivilegedRole)
		} else {
			j.tally.count(detect.RulePrivilegedRole).NotJudged++
		}
		j.add(fs...)
	}
}
