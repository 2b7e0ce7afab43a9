package detect

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/lambdaruntime"
)

// The calls that set a function's URL, runtime and layers.
var (
	createFunctionURL    = &event{Call{sourceLambda, "CreateFunctionUrlConfig"}, (*Engine).urlConfig}
	updateFunctionURL    = &event{Call{sourceLambda, "UpdateFunctionUrlConfig"}, (*Engine).urlConfig}
	createFunction       = &event{Call{sourceLambda, "CreateFunction"}, (*Engine).functionConfig}
	updateFunctionConfig = &event{Call{sourceLambda, "UpdateFunctionConfiguration"}, (*Engine).functionConfig}
)

// verbOf is what a create or update call does to a resource.
func verbOf(rec cloudtrail.Record) string {
	if strings.HasPrefix(rec.Action(), "Create") {
		return "create"
	}
	return "update"
}

func (e *Engine) urlConfig(rec cloudtrail.Record) ([]verdict, error) {
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
	res := functionResource(orDefault(string(req.FunctionName), string(resp.FunctionArn)), string(req.Qualifier),
		ownerOf(rec, string(req.FunctionName), string(resp.FunctionArn)), rec.AWSRegion)
	v, ok := e.judgeURLAuth(res, auth, string(resp.FunctionURL))
	if !ok {
		return nil, errs
	}
	v.act = phrase{verb: verbOf(rec), object: "the function URL of " + res.shown() + " with AuthType NONE (no authentication)"}
	return []verdict{v}, errs
}

// judgeURLAuth judges a function URL's auth type: NONE skips IAM.
func (e *Engine) judgeURLAuth(res Resource, authType, url string) (verdict, bool) {
	if !strings.EqualFold(strings.TrimSpace(authType), "NONE") {
		return verdict{}, false
	}
	res.Type = TypeFunctionURL
	return verdict{rule: RuleFunctionURLAuthNone, res: res, fill: func(f *Finding) {
		f.Function = res.Name
		f.FunctionURL = url
	}}, true
}

func (e *Engine) functionConfig(rec cloudtrail.Record) ([]verdict, error) {
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
	name := orDefault(string(req.FunctionName), orDefault(string(resp.FunctionArn), string(resp.FunctionName)))
	res := functionResource(name, "", ownerOf(rec, string(req.FunctionName), string(resp.FunctionArn)), rec.AWSRegion)
	verb := verbOf(rec)

	var out []verdict
	if runtime != "" {
		at := rec.EventTime
		if at.IsZero() {
			at = e.cfg.Now()
		}
		if v, ok := e.judgeRuntime(res, runtime, at); ok {
			v.act = phrase{verb: verb, object: res.shown() + " on runtime " + v.act.object}
			out = append(out, v)
		}
	}
	arns := make([]string, len(layers))
	for i, l := range layers {
		arns[i] = string(l)
	}
	vs, err := e.judgeLayers(res, arns)
	errs = append(errs, err)
	for _, v := range vs {
		v.act = phrase{verb: verb, object: res.shown() + " to run " + v.act.object}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// judgeRuntime judges a function's runtime at a moment; the verdict's
// object says which runtime and when it is deprecated.
func (e *Engine) judgeRuntime(res Resource, runtime string, at time.Time) (verdict, bool) {
	rt, status := lambdaruntime.StatusAt(runtime, at, EOLWindow)
	if status == lambdaruntime.Supported {
		return verdict{}, false
	}
	v := verdict{rule: RuleEOLRuntime, res: res, fill: func(f *Finding) {
		f.Function = res.Name
		f.Runtime = runtime
	}}
	when := "deprecated since "
	if status == lambdaruntime.Soon {
		v.circumstance, when = DeprecationSoon, "deprecated on "
	}
	v.act.object = fmt.Sprintf("%s, %s%s", runtime, when, rt.Deprecation.Format(time.DateOnly))
	return v, true
}

// judgeLayers judges the layer version ARNs a function runs: a layer
// published by an untrusted account runs with the function's role. The
// verdicts' objects name the layer and its publisher.
func (e *Engine) judgeLayers(res Resource, layers []string) ([]verdict, error) {
	var (
		out  []verdict
		errs []error
	)
	for i, l := range layers {
		a, err := awsid.ParseARN(l)
		if err != nil || a.Service != "lambda" || !strings.HasPrefix(a.Resource, "layer:") {
			errs = append(errs, fmt.Errorf("layers[%d]: not a layer version ARN: %q", i, l))
			continue
		}
		if e.trustedAccount(a.Account, res.Account) {
			continue
		}
		v := verdict{rule: RuleForeignLayer, res: res, principal: a.Account, fill: func(f *Finding) {
			f.Function = res.Name
			f.Layer = l
		}}
		v.act.object = fmt.Sprintf("layer %s, published by account %s", l, orDefault(a.Account, "(none)"))
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}
