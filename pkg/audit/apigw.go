package audit

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// restAPIs reads the region's REST APIs: methods that invoke Lambda,
// stages with their web ACL and throttling, and the usage plans that
// cover each stage.
func (r *regionRun) restAPIs(ctx context.Context) {
	var (
		apis []*RestAPI
		wg   sync.WaitGroup
	)
	plans := map[string][]string{} // "apiID/stage" -> usage plan names
	wg.Go(func() {
		p := apigateway.NewGetUsagePlansPaginator(r.c.RestAPIs, &apigateway.GetUsagePlansInput{})
		for p.HasMorePages() {
			var out *apigateway.GetUsagePlansOutput
			err := r.rest.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				r.fail("apigateway", "GetUsagePlans", "", err)
				return
			}
			for _, up := range out.Items {
				for _, s := range up.ApiStages {
					k := aws.ToString(s.ApiId) + "/" + aws.ToString(s.Stage)
					plans[k] = append(plans[k], cmp.Or(aws.ToString(up.Name), aws.ToString(up.Id)))
				}
			}
		}
	})
	p := apigateway.NewGetRestApisPaginator(r.c.RestAPIs, &apigateway.GetRestApisInput{})
	for p.HasMorePages() {
		var out *apigateway.GetRestApisOutput
		err := r.rest.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
		if err != nil {
			r.fail("apigateway", "GetRestApis", "", err)
			break
		}
		for _, a := range out.Items {
			api := &RestAPI{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name)}
			if a.EndpointConfiguration != nil {
				api.Private = slices.Contains(a.EndpointConfiguration.Types, agtypes.EndpointTypePrivate)
			}
			apis = append(apis, api)
			wg.Go(func() { r.restAPI(ctx, api) })
		}
	}
	wg.Wait()
	slices.SortFunc(apis, func(a, b *RestAPI) int { return cmp.Compare(a.ID, b.ID) })
	for _, api := range apis {
		for i := range api.Stages {
			api.Stages[i].UsagePlans = plans[api.ID+"/"+api.Stages[i].Name]
		}
		r.inv.RestAPIs = append(r.inv.RestAPIs, *api)
	}
}

func (r *regionRun) restAPI(ctx context.Context, api *RestAPI) {
	arn := "arn:" + r.acct.Partition + ":apigateway:" + r.inv.Region + "::/restapis/" + api.ID
	var wg sync.WaitGroup
	wg.Go(func() {
		var out *apigateway.GetStagesOutput
		err := r.rest.do(ctx, func() (err error) {
			out, err = r.c.RestAPIs.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: aws.String(api.ID)})
			return err
		})
		if err != nil {
			r.fail("apigateway", "GetStages", arn, err)
			return
		}
		for _, s := range out.Item {
			st := RestStage{Name: aws.ToString(s.StageName), WebACLARN: aws.ToString(s.WebAclArn)}
			st.ARN = arn + "/stages/" + st.Name
			if ms, ok := s.MethodSettings["*/*"]; ok {
				st.Throttled = ms.ThrottlingRateLimit > 0 || ms.ThrottlingBurstLimit > 0
			}
			api.Stages = append(api.Stages, st)
		}
		slices.SortFunc(api.Stages, func(a, b RestStage) int { return cmp.Compare(a.Name, b.Name) })
	})
	wg.Go(func() {
		var (
			mu      sync.Mutex
			methods []RestMethod
			mwg     sync.WaitGroup
		)
		p := apigateway.NewGetResourcesPaginator(r.c.RestAPIs, &apigateway.GetResourcesInput{RestApiId: aws.String(api.ID), Embed: []string{"methods"}})
		for p.HasMorePages() {
			var out *apigateway.GetResourcesOutput
			err := r.rest.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				r.fail("apigateway", "GetResources", arn, err)
				break
			}
			for _, res := range out.Items {
				for verb, m := range res.ResourceMethods {
					path, id := aws.ToString(res.Path), aws.ToString(res.Id)
					mwg.Go(func() {
						rm, ok := r.restMethod(ctx, api.ID, arn, id, path, verb, m)
						if ok {
							mu.Lock()
							methods = append(methods, rm)
							mu.Unlock()
						}
					})
				}
			}
		}
		mwg.Wait()
		slices.SortFunc(methods, func(a, b RestMethod) int {
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.HTTPMethod, b.HTTPMethod))
		})
		api.Methods = methods
	})
	wg.Wait()
}

// restMethod reads a method embedded in GetResources; one embedded
// without its integration is read with GetMethod.
func (r *regionRun) restMethod(ctx context.Context, apiID, apiARN, resID, path, verb string, m agtypes.Method) (RestMethod, bool) {
	if m.MethodIntegration == nil && aws.ToString(m.HttpMethod) == "" {
		var out *apigateway.GetMethodOutput
		err := r.rest.do(ctx, func() (err error) {
			out, err = r.c.RestAPIs.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String(verb)})
			return err
		})
		if err != nil {
			r.fail("apigateway", "GetMethod", apiARN+"/resources/"+resID+"/methods/"+verb, err)
			return RestMethod{}, false
		}
		m = agtypes.Method{AuthorizationType: out.AuthorizationType, ApiKeyRequired: out.ApiKeyRequired, MethodIntegration: out.MethodIntegration}
	}
	rm := RestMethod{Path: path, HTTPMethod: verb, AuthorizationType: aws.ToString(m.AuthorizationType), APIKeyRequired: aws.ToBool(m.ApiKeyRequired)}
	if m.MethodIntegration != nil {
		rm.Function = lambdaTarget(aws.ToString(m.MethodIntegration.Uri))
	}
	return rm, true
}

// lambdaTarget is the function an integration URI invokes:
// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations.
// HTTP APIs may also give the function ARN alone.
func lambdaTarget(uri string) string {
	const marker = ":lambda:path/2015-03-31/functions/"
	if i := strings.Index(uri, marker); i >= 0 {
		rest := uri[i+len(marker):]
		if j := strings.Index(rest, "/invocations"); j >= 0 {
			return rest[:j]
		}
		return rest
	}
	if strings.HasPrefix(uri, "arn:") && strings.Contains(uri, ":lambda:") && strings.Contains(uri, ":function:") {
		return uri
	}
	return ""
}

// httpAPIs reads the region's API Gateway v2 APIs.
func (r *regionRun) httpAPIs(ctx context.Context) {
	var (
		apis  []*HTTPAPI
		wg    sync.WaitGroup
		token *string
	)
	for {
		var out *apigatewayv2.GetApisOutput
		err := r.http.do(ctx, func() (err error) {
			out, err = r.c.HTTPAPIs.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token})
			return err
		})
		if err != nil {
			r.fail("apigatewayv2", "GetApis", "", err)
			break
		}
		for _, a := range out.Items {
			api := &HTTPAPI{ID: aws.ToString(a.ApiId), Name: aws.ToString(a.Name), Protocol: string(a.ProtocolType)}
			apis = append(apis, api)
			wg.Go(func() { r.httpAPI(ctx, api) })
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	wg.Wait()
	slices.SortFunc(apis, func(a, b *HTTPAPI) int { return cmp.Compare(a.ID, b.ID) })
	for _, api := range apis {
		r.inv.HTTPAPIs = append(r.inv.HTTPAPIs, *api)
	}
}

func (r *regionRun) httpAPI(ctx context.Context, api *HTTPAPI) {
	arn := "arn:" + r.acct.Partition + ":apigateway:" + r.inv.Region + "::/apis/" + api.ID
	var (
		wg     sync.WaitGroup
		routes []v2types.Route
		ints   = map[string]string{} // integration ID -> function
	)
	wg.Go(func() {
		pages(ctx, r.http, func(token *string) (*string, error) {
			out, err := r.c.HTTPAPIs.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(api.ID), NextToken: token})
			if err != nil {
				r.fail("apigatewayv2", "GetRoutes", arn, err)
				return nil, err
			}
			routes = append(routes, out.Items...)
			return out.NextToken, nil
		})
	})
	wg.Go(func() {
		pages(ctx, r.http, func(token *string) (*string, error) {
			out, err := r.c.HTTPAPIs.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(api.ID), NextToken: token})
			if err != nil {
				r.fail("apigatewayv2", "GetIntegrations", arn, err)
				return nil, err
			}
			for _, in := range out.Items {
				if fn := lambdaTarget(aws.ToString(in.IntegrationUri)); fn != "" {
					ints[aws.ToString(in.IntegrationId)] = fn
				}
			}
			return out.NextToken, nil
		})
	})
	wg.Go(func() {
		pages(ctx, r.http, func(token *string) (*string, error) {
			out, err := r.c.HTTPAPIs.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(api.ID), NextToken: token})
			if err != nil {
				r.fail("apigatewayv2", "GetStages", arn, err)
				return nil, err
			}
			for _, s := range out.Items {
				st := HTTPStage{Name: aws.ToString(s.StageName), DefaultThrottled: routeThrottled(s.DefaultRouteSettings)}
				for key, rs := range s.RouteSettings {
					if routeThrottled(&rs) {
						st.ThrottledRoutes = append(st.ThrottledRoutes, key)
					}
				}
				slices.Sort(st.ThrottledRoutes)
				api.Stages = append(api.Stages, st)
			}
			return out.NextToken, nil
		})
	})
	wg.Wait()
	slices.SortFunc(api.Stages, func(a, b HTTPStage) int { return cmp.Compare(a.Name, b.Name) })
	for _, rt := range routes {
		route := HTTPRoute{Key: aws.ToString(rt.RouteKey), AuthorizationType: string(rt.AuthorizationType), APIKeyRequired: aws.ToBool(rt.ApiKeyRequired)}
		if route.AuthorizationType == "" {
			route.AuthorizationType = string(v2types.AuthorizationTypeNone)
		}
		// Target: integrations/ID.
		if id, ok := strings.CutPrefix(aws.ToString(rt.Target), "integrations/"); ok {
			route.Function = ints[id]
		}
		api.Routes = append(api.Routes, route)
	}
	slices.SortFunc(api.Routes, func(a, b HTTPRoute) int { return cmp.Compare(a.Key, b.Key) })
}

func routeThrottled(s *v2types.RouteSettings) bool {
	return s != nil && (aws.ToFloat64(s.ThrottlingRateLimit) > 0 || aws.ToInt32(s.ThrottlingBurstLimit) > 0)
}

// pages calls page with each next token until there is none or it
// fails, holding a slot of s for each call.
func pages(ctx context.Context, s sem, page func(token *string) (*string, error)) {
	var token *string
	for {
		err := s.do(ctx, func() (err error) { token, err = page(token); return err })
		if err != nil || aws.ToString(token) == "" {
			return
		}
	}
}
