package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// TypeRole is an IAM role, judged as a function's execution role.
const TypeRole ResourceType = "role"

// StateExecutionRole is the policies of a function's execution role.
const StateExecutionRole StateKind = "execution-role"

// Escalation: the role cannot do everything, but it can give itself or
// others more rights.
const Escalation Circumstance = "privilege-escalation"

// RolePolicy is one identity policy of a role: an attached managed policy
// or an inline one, with its document as IAM returns it (decoded).
type RolePolicy struct {
	Name     string
	ARN      string // for a managed policy
	Document string
}

// escalationActions are the calls that let code running with the role
// widen its own rights or take another's: hand a role to new code
// (iam:PassRole), write or attach policies, change who may assume a role,
// mint keys, assume other roles, or rewrite and open up functions.
var escalationActions = []string{
	"iam:PassRole",
	"iam:CreatePolicy",
	"iam:CreatePolicyVersion",
	"iam:SetDefaultPolicyVersion",
	"iam:PutRolePolicy",
	"iam:PutUserPolicy",
	"iam:PutGroupPolicy",
	"iam:AttachRolePolicy",
	"iam:AttachUserPolicy",
	"iam:AttachGroupPolicy",
	"iam:UpdateAssumeRolePolicy",
	"iam:CreateAccessKey",
	"sts:AssumeRole",
	"lambda:UpdateFunctionCode",
	"lambda:AddPermission",
}

// identityStatement is one statement of an identity policy.
type identityStatement struct {
	Effect      string
	Actions     []string
	NotActions  []string
	Resources   []string
	NotResource []string
	Conditional bool
}

// parseIdentityPolicy reads an identity policy document: Statement is an
// object or a list; Action, NotAction, Resource and NotResource a string
// or a list.
func parseIdentityPolicy(doc string) ([]identityStatement, error) {
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if b := bytes.TrimSpace(raw.Statement); len(b) > 0 && b[0] == '{' {
		list = []json.RawMessage{b}
	} else if len(b) > 0 {
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("statement list: %w", err)
		}
	}
	out := make([]identityStatement, 0, len(list))
	for i, b := range list {
		var s struct {
			Effect      string          `json:"Effect"`
			Action      flexList        `json:"Action"`
			NotAction   flexList        `json:"NotAction"`
			Resource    flexList        `json:"Resource"`
			NotResource flexList        `json:"NotResource"`
			Condition   json.RawMessage `json:"Condition"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		cond := bytes.TrimSpace(s.Condition)
		out = append(out, identityStatement{
			Effect: s.Effect, Actions: s.Action, NotActions: s.NotAction, Resources: s.Resource, NotResource: s.NotResource,
			Conditional: len(cond) > 0 && string(cond) != "null" && string(cond) != "{}",
		})
	}
	return out, nil
}

// flexList reads a string or a list of strings.
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// actionMatches reports whether an action pattern (iam:Put*, *) covers
// action; IAM compares actions without regard to case.
func actionMatches(pattern, action string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

// covers reports whether the statement applies to action.
func (s identityStatement) covers(action string) bool {
	if len(s.NotActions) > 0 {
		return !slices.ContainsFunc(s.NotActions, func(p string) bool { return actionMatches(p, action) })
	}
	return slices.ContainsFunc(s.Actions, func(p string) bool { return actionMatches(p, action) })
}

// anyResource reports whether the statement applies to every resource of
// an action: Resource *, an ARN whose every field is a wildcard (all
// roles, all functions), or NotResource, which leaves all but a few.
func (s identityStatement) anyResource() bool {
	if len(s.NotResource) > 0 {
		return !slices.Contains(s.NotResource, "*")
	}
	return slices.ContainsFunc(s.Resources, wholeService)
}

// wholeService reports whether a resource pattern names every resource of
// its kind: *, arn:aws:iam::*:role/*, arn:aws:lambda:*:*:function:*.
func wholeService(r string) bool {
	if r == "*" {
		return true
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) != 6 {
		return false
	}
	for _, p := range parts[3:5] { // region, account
		if p != "" && p != "*" {
			return false
		}
	}
	res := parts[5]
	if res == "*" {
		return true
	}
	// role/*, function:*, user/* — a type and a wildcard for the rest.
	if i := strings.IndexAny(res, "/:"); i > 0 {
		return res[i+1:] == "*"
	}
	return false
}

// grants is what a role's policies allow of one action on every resource.
type grants struct {
	policies    []string // names of the policies whose Allow covers it
	conditional bool     // every such Allow has a condition
}

// allowed says whether the role's policies allow action on every
// resource: some Allow covers it, and no Deny without a condition covers
// it on every resource (a Deny on a few resources leaves the rest).
// Literal counts only Allows that list the action (or a wildcard of it),
// not those whose NotAction leaves it out.
func allowed(stmts map[string][]identityStatement, names []string, action string, literal bool) (grants, bool) {
	var g grants
	g.conditional = true
	for _, name := range names {
		for _, s := range stmts[name] {
			if strings.EqualFold(s.Effect, "Deny") && !s.Conditional && s.covers(action) && s.anyResource() {
				return grants{}, false
			}
		}
	}
	for _, name := range names {
		for _, s := range stmts[name] {
			if strings.EqualFold(s.Effect, "Allow") && (!literal || len(s.NotActions) == 0) && s.covers(action) && s.anyResource() {
				if !slices.Contains(g.policies, name) {
					g.policies = append(g.policies, name)
				}
				g.conditional = g.conditional && s.Conditional
			}
		}
	}
	return g, len(g.policies) > 0
}

// everything is an action no service has: only a policy that allows all
// actions covers it.
const everything = "lambdawatch-any-service:lambdawatch-any-action"

// JudgeRole judges a function's execution role by its identity policies:
// HIGH when they allow every action on every resource, MEDIUM when they
// allow a call that escalates privilege on any resource. usedBy names the
// functions that run with it, for the summary. An error names each policy
// that could not be read; the rest are judged.
func (e *Engine) JudgeRole(r Resource, policies []RolePolicy, usedBy []string) ([]Finding, error) {
	v, ok, err := judgeRole(r, policies, usedBy)
	if !ok {
		return nil, err
	}
	return []Finding{e.stateFinding(v, "role "+r.shown())}, err
}

func judgeRole(r Resource, policies []RolePolicy, usedBy []string) (verdict, bool, error) {
	r.Type = TypeRole
	var (
		errs  []error
		names []string
		stmts = map[string][]identityStatement{}
	)
	for _, p := range policies {
		name := orDefault(p.Name, p.ARN)
		st, err := parseIdentityPolicy(p.Document)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %s of %s: %w", name, r.shown(), err))
			continue
		}
		names = append(names, name)
		stmts[name] = append(stmts[name], st...)
	}
	err := errors.Join(errs...)
	fill := func(action string) func(*Finding) {
		return func(f *Finding) {
			f.Principal = r.ARN
			f.Action = action
			if len(usedBy) > 0 {
				f.Function = strings.Join(usedBy, ",")
			}
		}
	}
	via := func(g grants) string {
		s := ", through " + strings.Join(g.policies, ", ")
		if g.conditional {
			s += " (under conditions)"
		}
		return s + runBy(usedBy)
	}
	var (
		found []string
		all   grants
	)
	for _, a := range escalationActions {
		if g, ok := allowed(stmts, names, a, false); ok {
			found = append(found, a)
			for _, p := range g.policies {
				if !slices.Contains(all.policies, p) {
					all.policies = append(all.policies, p)
				}
			}
		}
	}
	if len(found) == 0 {
		return verdict{}, false, err
	}
	// Action * on every resource, with no Deny taking back any call that
	// escalates, is an administrator. A NotAction that allows all but a
	// few services is not *: it is judged by what it leaves.
	if g, ok := allowed(stmts, names, everything, true); ok && len(found) == len(escalationActions) {
		return verdict{rule: RulePrivilegedRole, res: r, fill: fill("*"),
			act: phrase{verb: "allow", object: "every action (*) on every resource", result: via(g)}}, true, err
	}
	return verdict{rule: RulePrivilegedRole, circumstance: Escalation, res: r, fill: fill(strings.Join(found, ",")),
		act: phrase{verb: "allow", object: strings.Join(found, ", ") + " on any resource", result: via(all)}}, true, err
}

func runBy(fns []string) string {
	switch len(fns) {
	case 0:
		return ""
	case 1:
		return "; " + fns[0] + " runs with it"
	}
	return fmt.Sprintf("; %d functions run with it", len(fns))
}
