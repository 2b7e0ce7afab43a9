package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// verdict is one rule a grant breaks.
type verdict struct {
	rule      string
	severity  Severity
	principal string
	did, try  string // summary phrases; see finish
}

// grantStatement reads the statement a permission call stored: the
// response's statement when there is one, as the source of truth, else the
// statement the request describes.
func grantStatement(rec cloudtrail.Record, req permissionRequest, resource string) (policy.Statement, error) {
	var resp permissionResponse
	err := decodeParams(rec.ResponseElements, "responseElements", &resp)
	if err == nil && resp.Statement != "" {
		st, perr := policy.ParseStatement([]byte(resp.Statement))
		if perr == nil {
			if len(st.Principals) == 0 && req.Principal != "" {
				st.Principals = []policy.Principal{policy.ParsePrincipal(string(req.Principal))}
			}
			return st, nil
		}
		err = fmt.Errorf("responseElements.statement: %w", perr)
	}
	// Judge what the request asked for; report why the response was not used.
	return statementFromRequest(req, resource), err
}

// addPermission judges AddPermission (a function policy) or, with layer
// set, AddLayerVersionPermission: each stores one statement.
func (e *Engine) addPermission(rec cloudtrail.Record, layer bool) ([]Finding, error) {
	var req permissionRequest
	// A request field of the wrong type spoils only itself: the stored
	// statement is still the source of truth.
	errs := []error{decodeParams(rec.RequestParameters, "requestParameters", &req)}
	name, resource, defaultAction := string(req.FunctionName), qualified(string(req.FunctionName), string(req.Qualifier)), "lambda:InvokeFunction"
	if layer {
		name, resource, defaultAction = string(req.LayerName), layerVersion(string(req.LayerName), string(req.VersionNumber)), "lambda:GetLayerVersion"
	}
	st, err := grantStatement(rec, req, resource)
	errs = append(errs, err)
	if len(st.Principals) == 0 && !rec.Failed() {
		// A refused call often records no request: nothing to judge, and
		// nothing wrong with the record.
		errs = append(errs, errors.New("no principal in requestParameters or responseElements.statement"))
	}
	if st.Effect != "" && !strings.EqualFold(st.Effect, "Allow") {
		return nil, errors.Join(errs...) // a Deny grants nothing
	}
	if resource == "" {
		resource = first(st.Resources)
	}
	owner := ownerOf(rec, name, first(st.Resources))
	base := e.base(rec, owner)
	base.Action = orDefault(first(st.Actions), defaultAction)
	base.StatementID = orDefault(st.Sid, string(req.StatementID))
	base.Conditions = conditionStrings(st)
	// The summary names something even when the record does not.
	shown := orDefault(resource, "(name not recorded)")
	var verdicts []verdict
	if layer {
		base.Layer = resource
		verdicts = e.judgeLayerGrant(st, owner, shown)
	} else {
		base.Function = resource
		verdicts = e.judgeInvoke(st, owner, shown, base.Action)
	}
	out := make([]Finding, 0, len(verdicts))
	for _, v := range verdicts {
		f := base
		f.Principal = v.principal
		out = append(out, finish(f, v.rule, v.severity, v.did, v.try))
	}
	return out, errors.Join(errs...)
}

func (e *Engine) removePermission(rec cloudtrail.Record) ([]Finding, error) {
	var req permissionRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	f := e.base(rec, ownerOf(rec, string(req.FunctionName), string(req.LayerName)))
	target := ""
	if req.LayerName != "" {
		f.Layer = layerVersion(string(req.LayerName), string(req.VersionNumber))
		target = "layer " + f.Layer
	} else {
		f.Function = qualified(string(req.FunctionName), string(req.Qualifier))
		target = f.Function
	}
	f.StatementID = string(req.StatementID)
	phrase := fmt.Sprintf("statement %q from %s", f.StatementID, target)
	return []Finding{finish(f, RulePermissionRemoved, Info, "removed "+phrase, "remove "+phrase)}, err
}

func layerVersion(name, version string) string {
	if name == "" || version == "" {
		return name
	}
	return name + ":" + version
}

func conditionStrings(st policy.Statement) []string {
	var out []string
	for _, c := range st.Conditions {
		out = append(out, c.String())
	}
	return out
}

// scope is what a statement's conditions leave open.
type scope struct {
	// inside: some condition keeps callers to the owner, the trusted
	// accounts or the own organization. Conditions are ANDed, so one such
	// condition is enough.
	inside bool
	// Foreign values that conditions name, when none keeps callers inside.
	account, arn, arnAccount, org string
}

func (e *Engine) scope(st policy.Statement, owner string) scope {
	var s scope
	foreignAccount := func(a string) bool { return !e.trustedAccount(a, owner) }
	for _, vals := range st.Narrowing(policy.KeySourceAccount) {
		if slices.ContainsFunc(vals, policy.HasWildcard) {
			continue
		}
		if i := slices.IndexFunc(vals, foreignAccount); i < 0 {
			s.inside = true
		} else if s.account == "" {
			s.account = vals[i]
		}
	}
	for _, vals := range st.Narrowing(policy.KeySourceArn) {
		// An ARN with no account, such as arn:aws:execute-api:region::*,
		// or a wildcard in it, lets in every account: no narrowing.
		named := !slices.ContainsFunc(vals, func(v string) bool {
			a, err := policy.ParseARN(v)
			return err != nil || !policy.IsAccountID(a.Account)
		})
		if !named {
			continue
		}
		i := slices.IndexFunc(vals, func(v string) bool {
			a, _ := policy.ParseARN(v)
			return foreignAccount(a.Account)
		})
		if i < 0 {
			s.inside = true
		} else if s.arn == "" {
			a, _ := policy.ParseARN(vals[i])
			s.arn, s.arnAccount = vals[i], a.Account
		}
	}
	for _, vals := range st.Narrowing(policy.KeyPrincipalOrgID) {
		if slices.ContainsFunc(vals, policy.HasWildcard) {
			continue
		}
		if i := slices.IndexFunc(vals, func(o string) bool { return e.cfg.OrgID == "" || o != e.cfg.OrgID }); i < 0 {
			s.inside = true
		} else if s.org == "" {
			s.org = vals[i]
		}
	}
	for _, vals := range st.Narrowing(policy.KeyEventSourceToken) {
		if len(vals) > 0 && !slices.ContainsFunc(vals, policy.HasWildcard) {
			s.inside = true // only callers holding the token, such as one Alexa skill
		}
	}
	return s
}

// judgeInvoke judges a function policy statement.
func (e *Engine) judgeInvoke(st policy.Statement, owner, fn, action string) []verdict {
	sc := e.scope(st, owner)
	if sc.inside {
		return nil
	}
	authTypes, _ := st.Required(policy.KeyFunctionURLAuthType)
	via, _ := st.Required(policy.KeyInvokedViaFunctionURL)
	urlAction := strings.EqualFold(action, "lambda:InvokeFunctionUrl")
	viaURL := slices.ContainsFunc(via, func(v string) bool { return strings.EqualFold(v, "true") })
	iamOnly := len(authTypes) > 0 && !slices.ContainsFunc(authTypes, func(v string) bool { return !strings.EqualFold(v, "AWS_IAM") })
	authNone := slices.ContainsFunc(authTypes, func(v string) bool { return strings.EqualFold(v, "NONE") })
	invoke := "invoke " + fn
	if !strings.EqualFold(action, "lambda:InvokeFunction") {
		invoke = "call " + action + " on " + fn
	}

	var out []verdict
	add := func(v verdict) {
		if !slices.ContainsFunc(out, func(o verdict) bool { return o.rule == v.rule && o.principal == v.principal }) {
			out = append(out, v)
		}
	}
	for _, p := range st.Principals {
		switch p.Kind {
		case policy.Wildcard:
			switch {
			case sc.account != "" || sc.org != "" || sc.arn != "":
				phrase := "let " + describeForeign(sc) + " " + invoke
				add(verdict{RuleCrossAccountInvoke, High, p.Value, phrase, phrase})
			case iamOnly:
				// The auth type is set only on calls through a function
				// URL, so this statement admits signed URL calls only.
				phrase := "let IAM principals of any AWS account invoke the function URL of " + fn
				add(verdict{RuleCrossAccountInvoke, High, p.Value, phrase, phrase})
			case urlAction || viaURL || authNone:
				add(verdict{RulePublicFunctionURL, Critical, p.Value, "made the function URL of " + fn + " callable by anyone", "make the function URL of " + fn + " callable by anyone"})
			default:
				phrase := "let anyone (*) " + invoke
				add(verdict{RulePublicInvoke, Critical, p.Value, phrase, phrase})
			}
		case policy.Account:
			if e.trustedAccount(p.Account, owner) {
				continue
			}
			phrase := "let account " + p.Account + " " + invoke
			add(verdict{RuleCrossAccountInvoke, High, p.Value, phrase, phrase})
		case policy.Service:
			switch {
			case sc.account != "" || sc.org != "":
				phrase := "let " + p.Value + " " + invoke + " for " + describeForeign(sc)
				add(verdict{RuleCrossAccountInvoke, High, p.Value, phrase, phrase})
			case sc.arn != "":
				phrase := "let " + p.Value + " " + invoke + " from " + sc.arn + ", a resource of account " + sc.arnAccount
				add(verdict{RuleConfusedDeputy, Medium, p.Value, phrase, phrase})
			default:
				phrase := "let " + p.Value + " " + invoke + " on behalf of any account"
				if arns, ok := st.Required(policy.KeySourceArn); ok {
					phrase = "let " + p.Value + " " + invoke + " from " + strings.Join(arns, ", ") + ", which names no account"
				}
				add(verdict{RuleConfusedDeputy, Medium, p.Value, phrase, phrase})
			}
		default:
			phrase := "let " + p.Value + " " + invoke
			add(verdict{RuleCrossAccountInvoke, High, p.Value, phrase, phrase})
		}
	}
	return out
}

// judgeLayerGrant judges a layer version policy statement.
func (e *Engine) judgeLayerGrant(st policy.Statement, owner, layer string) []verdict {
	sc := e.scope(st, owner)
	if sc.inside {
		return nil
	}
	var out []verdict
	for _, p := range st.Principals {
		var v verdict
		switch {
		case p.Kind == policy.Wildcard && sc.org == "" && sc.account == "":
			v = verdict{RulePublicLayer, High, p.Value, "shared layer " + layer + " with everyone", "share layer " + layer + " with everyone"}
		case p.Kind == policy.Wildcard:
			who := describeForeign(sc)
			v = verdict{RuleCrossAccountLayer, Medium, p.Value, "shared layer " + layer + " with " + who, "share layer " + layer + " with " + who}
		case p.Kind == policy.Account && e.trustedAccount(p.Account, owner):
			continue
		default:
			who := p.Value
			if p.Kind == policy.Account {
				who = "account " + p.Account
			}
			v = verdict{RuleCrossAccountLayer, Medium, p.Value, "shared layer " + layer + " with " + who, "share layer " + layer + " with " + who}
		}
		out = append(out, v)
	}
	return out
}

func describeForeign(sc scope) string {
	switch {
	case sc.org != "":
		return "organization " + sc.org
	case sc.account != "":
		return "account " + sc.account
	case sc.arnAccount != "":
		return "account " + sc.arnAccount
	}
	return "another account"
}
