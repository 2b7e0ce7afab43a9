package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// The calls that grant and remove permissions.
var (
	addPermission         = &event{Call{sourceLambda, "AddPermission"}, (*Engine).addPermission}
	addLayerPermission    = &event{Call{sourceLambda, "AddLayerVersionPermission"}, (*Engine).addPermission}
	removePermission      = &event{Call{sourceLambda, "RemovePermission"}, (*Engine).removePermission}
	removeLayerPermission = &event{Call{sourceLambda, "RemoveLayerVersionPermission"}, (*Engine).removePermission}
)

// addPermission judges AddPermission (a function policy) and
// AddLayerVersionPermission: each stores one statement, which the grant
// judge reads as it reads any statement of a policy.
func (e *Engine) addPermission(rec cloudtrail.Record) ([]verdict, error) {
	layer := rec.Action() == "AddLayerVersionPermission"
	var req permissionRequest
	// A request field of the wrong type spoils only itself: the stored
	// statement is still the source of truth.
	errs := []error{decodeParams(rec.RequestParameters, "requestParameters", &req)}
	st, err := grantStatement(rec, req)
	errs = append(errs, err)
	var res Resource
	if layer {
		name := string(req.LayerName)
		if name == "" {
			name = first(st.Resources)
		}
		res = layerResource(name, string(req.VersionNumber), ownerOf(rec, string(req.LayerName), first(st.Resources)), rec.AWSRegion)
	} else {
		name := string(req.FunctionName)
		qualifier := string(req.Qualifier)
		if name == "" {
			name, qualifier = first(st.Resources), ""
		}
		res = functionResource(name, qualifier, ownerOf(rec, string(req.FunctionName), first(st.Resources)), rec.AWSRegion)
	}
	if st.Sid == "" {
		st.Sid = string(req.StatementID)
	}
	if len(st.Principals) == 0 && len(st.NotPrincipals) == 0 {
		if rec.Failed() {
			// A refused call often records no request: nothing to judge,
			// and nothing wrong with the record.
			return nil, errors.Join(errs...)
		}
		errs = append(errs, errors.New("no principal in requestParameters or responseElements.statement"))
		return []verdict{unreadableGrant(res, st, layer)}, errors.Join(errs...)
	}
	return e.judgeGrant(res, st), errors.Join(errs...)
}

// unreadableGrant says that a permission was granted to someone the
// record does not name: a monitor that cannot read a grant says so.
func unreadableGrant(res Resource, st policy.Statement, layer bool) verdict {
	v := grantVerdict(res, st, layer, RuleUnreadableGrant, "")
	v.act = phrase{verb: "grant", object: "a permission on " + res.shown() + " whose principal the record does not show"}
	return v
}

// grantStatement reads the statement a permission call stored: the
// response's statement when it names whom it lets in, as the source of
// truth, else the statement the request describes.
func grantStatement(rec cloudtrail.Record, req permissionRequest) (policy.Statement, error) {
	var resp permissionResponse
	err := decodeParams(rec.ResponseElements, "responseElements", &resp)
	if err == nil && resp.Statement != "" {
		st, perr := policy.ParseStatement([]byte(resp.Statement))
		if perr == nil {
			if len(st.Principals) == 0 && len(st.NotPrincipals) == 0 && req.Principal != "" {
				// A statement that names nobody ("{}") is not a grant to
				// everyone: what the request asked for is all there is.
				fromReq := statementFromRequest(req)
				fromReq.Sid, fromReq.Resources = orDefault(st.Sid, fromReq.Sid), slices.Concat(st.Resources, fromReq.Resources)
				return fromReq, nil
			}
			return st, nil
		}
		err = fmt.Errorf("responseElements.statement: %w", perr)
	}
	// Judge what the request asked for; report why the response was not used.
	return statementFromRequest(req), err
}

func (e *Engine) removePermission(rec cloudtrail.Record) ([]verdict, error) {
	var req permissionRequest
	err := decodeParams(rec.RequestParameters, "requestParameters", &req)
	owner := ownerOf(rec, string(req.FunctionName), string(req.LayerName))
	var res Resource
	target := ""
	if req.LayerName != "" {
		res = layerResource(string(req.LayerName), string(req.VersionNumber), owner, rec.AWSRegion)
		target = "layer " + res.Name
	} else {
		res = functionResource(string(req.FunctionName), string(req.Qualifier), owner, rec.AWSRegion)
		target = res.Name
	}
	v := verdict{rule: RulePermissionRemoved, res: res, fill: func(f *Finding) {
		f.StatementID = string(req.StatementID)
		if res.Type == TypeLayerVersion || res.Type == TypeLayer {
			f.Layer = res.Name
		} else {
			f.Function = res.Name
		}
	}}
	v.act = phrase{verb: "remove", object: fmt.Sprintf("statement %q from %s", string(req.StatementID), target)}
	return []verdict{v}, err
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

// grantVerdict is a verdict on a statement, with the fields every grant
// finding carries.
func grantVerdict(res Resource, st policy.Statement, layer bool, rule, principal string) verdict {
	action := first(st.Actions)
	if action == "" {
		action = "lambda:InvokeFunction"
		if layer {
			action = "lambda:GetLayerVersion"
		}
	}
	return verdict{rule: rule, res: res, principal: principal, fill: func(f *Finding) {
		f.Action = action
		f.StatementID = st.Sid
		f.Conditions = conditionStrings(st)
		if layer {
			f.Layer = res.Name
		} else {
			f.Function = res.Name
		}
	}}
}

// judgeGrant judges one statement of a function's or a layer version's
// policy: whom it lets in, as IAM reads it.
func (e *Engine) judgeGrant(res Resource, st policy.Statement) []verdict {
	if st.Effect != "" && !strings.EqualFold(st.Effect, "Allow") {
		return nil // a Deny grants nothing
	}
	layer := res.Type == TypeLayerVersion || res.Type == TypeLayer
	principals := st.Principals
	but := ""
	if len(st.NotPrincipals) > 0 {
		// Allow with NotPrincipal lets in everyone it does not list.
		names := make([]string, 0, len(st.NotPrincipals))
		for _, p := range st.NotPrincipals {
			names = append(names, p.Value)
		}
		but = strings.Join(names, ", ")
		principals = append(slices.Clip(principals), policy.Principal{Kind: policy.Wildcard, Value: "*"})
	}
	sc := e.scope(st, res.Account)
	if sc.inside {
		return nil
	}
	if layer {
		return e.judgeLayerGrant(res, st, principals, sc, but)
	}
	return e.judgeInvoke(res, st, principals, sc, but)
}

// judgeInvoke judges a function policy statement.
func (e *Engine) judgeInvoke(res Resource, st policy.Statement, principals []policy.Principal, sc scope, but string) []verdict {
	fn := res.shown()
	action := orDefault(first(st.Actions), "lambda:InvokeFunction")
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
	anyone := "anyone (*)"
	if but != "" {
		anyone = "anyone but " + but + " (NotPrincipal)"
	}

	var out []verdict
	add := func(rule, principal, verb, object string) {
		if slices.ContainsFunc(out, func(o verdict) bool { return o.rule == rule && o.principal == principal }) {
			return
		}
		v := grantVerdict(res, st, false, rule, principal)
		v.act = phrase{verb: verb, object: object}
		out = append(out, v)
	}
	for _, p := range principals {
		switch p.Kind {
		case policy.Wildcard:
			switch {
			case sc.account != "" || sc.org != "" || sc.arn != "":
				add(RuleCrossAccountInvoke, p.Value, "let", describeForeign(sc)+" "+invoke)
			case iamOnly:
				// The auth type is set only on calls through a function
				// URL, so this statement admits signed URL calls only.
				add(RuleCrossAccountInvoke, p.Value, "let", "IAM principals of any AWS account invoke the function URL of "+fn)
			case urlAction || viaURL || authNone:
				object := "the function URL of " + fn + " callable by anyone"
				if but != "" {
					object = "the function URL of " + fn + " callable by " + anyone
				}
				add(RulePublicFunctionURL, p.Value, "make", object)
			default:
				add(RulePublicInvoke, p.Value, "let", anyone+" "+invoke)
			}
		case policy.Account:
			if e.trustedAccount(p.Account, res.Account) {
				continue
			}
			add(RuleCrossAccountInvoke, p.Value, "let", "account "+p.Account+" "+invoke)
		case policy.Service:
			switch {
			case sc.account != "" || sc.org != "":
				add(RuleCrossAccountInvoke, p.Value, "let", p.Value+" "+invoke+" for "+describeForeign(sc))
			case sc.arn != "":
				add(RuleConfusedDeputy, p.Value, "let", p.Value+" "+invoke+" from "+sc.arn+", a resource of account "+sc.arnAccount)
			default:
				object := p.Value + " " + invoke + " on behalf of any account"
				if arns, ok := st.Required(policy.KeySourceArn); ok {
					object = p.Value + " " + invoke + " from " + strings.Join(arns, ", ") + ", which names no account"
				}
				add(RuleConfusedDeputy, p.Value, "let", object)
			}
		default:
			add(RuleCrossAccountInvoke, p.Value, "let", p.Value+" "+invoke)
		}
	}
	return out
}

// judgeLayerGrant judges a layer version policy statement.
func (e *Engine) judgeLayerGrant(res Resource, st policy.Statement, principals []policy.Principal, sc scope, but string) []verdict {
	layer := "layer " + res.shown()
	var out []verdict
	for _, p := range principals {
		rule, who := RuleCrossAccountLayer, ""
		switch {
		case p.Kind == policy.Wildcard && sc.org == "" && sc.account == "" && sc.arn == "":
			rule, who = RulePublicLayer, "everyone"
			if but != "" {
				who = "everyone but " + but + " (NotPrincipal)"
			}
		case p.Kind == policy.Wildcard:
			who = describeForeign(sc)
		case p.Kind == policy.Account && e.trustedAccount(p.Account, res.Account):
			continue
		case p.Kind == policy.Account:
			who = "account " + p.Account
		default:
			who = p.Value
		}
		v := grantVerdict(res, st, true, rule, p.Value)
		v.act = phrase{verb: "share", object: layer + " with " + who}
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
