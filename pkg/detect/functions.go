package detect

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/lambdaruntime"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

func (e *Engine) urlConfig(rec cloudtrail.Record) ([]Finding, error) {
	var (
		req  urlRequest
		resp urlResponse
	)
	if err := decodeParams(rec.RequestParameters, "requestParameters", &req); err != nil {
		return nil, err
	}
	respErr := decodeParams(rec.ResponseElements, "responseElements", &resp)
	// An update that leaves AuthType out keeps the old one, which the
	// response reports.
	auth := orDefault(string(req.AuthType), string(resp.AuthType))
	if !strings.EqualFold(auth, "NONE") {
		return nil, respErr
	}
	fn := qualified(orDefault(string(req.FunctionName), string(resp.FunctionArn)), string(req.Qualifier))
	f := e.base(rec, ownerOf(rec, string(req.FunctionName), string(resp.FunctionArn)))
	f.Function = fn
	f.FunctionURL = string(resp.FunctionURL)
	verb, try := "created", "create"
	if rec.Action() == "UpdateFunctionUrlConfig" {
		verb, try = "updated", "update"
	}
	phrase := " the function URL of " + fn + " with AuthType NONE (no authentication)"
	return []Finding{finish(f, RuleFunctionURLAuthNone, High, verb+phrase, try+phrase)}, respErr
}

func (e *Engine) functionConfig(rec cloudtrail.Record) ([]Finding, error) {
	var (
		req  configRequest
		resp configResponse
	)
	if err := decodeParams(rec.RequestParameters, "requestParameters", &req); err != nil {
		return nil, err
	}
	var errs []error
	if err := decodeParams(rec.ResponseElements, "responseElements", &resp); err != nil {
		errs = append(errs, err)
	}
	create := rec.Action() == "CreateFunction"
	runtime := string(req.Runtime)
	layers := req.Layers
	if create {
		// What the function was created with, even if the request was
		// not recorded in full.
		if runtime == "" {
			runtime = string(resp.Runtime)
		}
		if layers == nil {
			for _, l := range resp.Layers {
				layers = append(layers, l.Arn)
			}
		}
	}
	fn := orDefault(string(req.FunctionName), orDefault(string(resp.FunctionArn), string(resp.FunctionName)))
	owner := ownerOf(rec, string(req.FunctionName), string(resp.FunctionArn))
	base := e.base(rec, owner)
	base.Function = fn
	verb, try := "updated", "update"
	if create {
		verb, try = "created", "create"
	}

	var out []Finding
	if runtime != "" {
		at := rec.EventTime
		if at.IsZero() {
			at = e.cfg.Now()
		}
		rt, status := lambdaruntime.StatusAt(runtime, at, EOLWindow)
		if status != lambdaruntime.Supported {
			f := base
			f.Runtime = runtime
			sev, when := Medium, "deprecated since "
			if status == lambdaruntime.Soon {
				sev, when = Low, "deprecated on "
			}
			phrase := fmt.Sprintf(" %s on runtime %s, %s%s", fn, runtime, when, rt.Deprecation.Format("2006-01-02"))
			out = append(out, finish(f, RuleEOLRuntime, sev, verb+phrase, try+phrase))
		}
	}
	for i, l := range layers {
		a, err := policy.ParseARN(string(l))
		if err != nil || a.Service != "lambda" || !strings.HasPrefix(a.Resource, "layer:") {
			errs = append(errs, fmt.Errorf("layers[%d]: not a layer version ARN: %q", i, string(l)))
			continue
		}
		if e.trustedAccount(a.Account, owner) {
			continue
		}
		f := base
		f.Layer = string(l)
		f.Principal = a.Account
		phrase := fmt.Sprintf(" %s to run layer %s, published by account %s", fn, string(l), orDefault(a.Account, "(none)"))
		out = append(out, finish(f, RuleForeignLayer, Medium, verb+phrase, try+phrase))
	}
	return out, errors.Join(errs...)
}
