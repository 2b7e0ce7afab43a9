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
	// A field of the wrong type spoils only itself: judge the rest.
	errs := errors.Join(
		decodeParams(rec.RequestParameters, "requestParameters", &req),
		decodeParams(rec.ResponseElements, "responseElements", &resp))
	update := rec.Action() == "UpdateFunctionUrlConfig"
	auth := string(req.AuthType)
	if auth == "" && !update {
		auth = string(resp.AuthType) // the request was not recorded in full
	}
	// An update that leaves AuthType out (a CORS change) keeps the old
	// one: the URL was judged when that was set.
	if !strings.EqualFold(auth, "NONE") {
		return nil, errs
	}
	fn := qualified(orDefault(string(req.FunctionName), string(resp.FunctionArn)), string(req.Qualifier))
	f := e.base(rec, ownerOf(rec, string(req.FunctionName), string(resp.FunctionArn)))
	f.Function = fn
	f.FunctionURL = string(resp.FunctionURL)
	verb, try := "created", "create"
	if update {
		verb, try = "updated", "update"
	}
	phrase := " the function URL of " + fn + " with AuthType NONE (no authentication)"
	return []Finding{finish(f, RuleFunctionURLAuthNone, High, verb+phrase, try+phrase)}, errs
}

func (e *Engine) functionConfig(rec cloudtrail.Record) ([]Finding, error) {
	var (
		req  configRequest
		resp configResponse
	)
	// A field of the wrong type spoils only itself: judge the rest.
	errs := []error{
		decodeParams(rec.RequestParameters, "requestParameters", &req),
		decodeParams(rec.ResponseElements, "responseElements", &resp),
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
			layers = resp.Layers
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
