package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const latest = "$LATEST"

// functions reads every function of the region and what hangs off each.
func (r *regionRun) functions(ctx context.Context, rs *roleReader) {
	var (
		fns []*Function
		wg  sync.WaitGroup
		// Functions read at once: enough to keep every slot busy, few
		// enough that functions finish in the order found and the
		// progress shows it.
		inFlight = newSem(4 * r.a.opts.Concurrency)
	)
	p := lambda.NewListFunctionsPaginator(r.c.Lambda, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		var out *lambda.ListFunctionsOutput
		err := r.lambdaCall(ctx, r.controlPace, func() (err error) { out, err = p.NextPage(ctx); return err })
		if err != nil {
			r.fail("lambda", "ListFunctions", "", err)
			break
		}
		if r.a.opts.Progress != nil {
			r.a.opts.Progress.Found(len(out.Functions))
		}
		for _, c := range out.Functions {
			f := &Function{
				Name:        aws.ToString(c.FunctionName),
				ARN:         unqualified(aws.ToString(c.FunctionArn)),
				Runtime:     string(c.Runtime),
				PackageType: string(c.PackageType),
				Role:        aws.ToString(c.Role),
			}
			if f.PackageType == "" {
				f.PackageType = string(types.PackageTypeZip)
			}
			for _, l := range c.Layers {
				f.Layers = append(f.Layers, aws.ToString(l.Arn))
			}
			fns = append(fns, f)
			if f.Role != "" {
				rs.read(ctx, f.Role)
			}
			wg.Go(func() {
				_ = inFlight.do(ctx, func() error { r.function(ctx, f); return nil })
				if r.a.opts.Progress != nil {
					r.a.opts.Progress.Done(1)
				}
			})
		}
	}
	wg.Wait()
	slices.SortFunc(fns, func(a, b *Function) int { return cmp.Compare(a.ARN, b.ARN) })
	r.inv.Functions = make([]Function, len(fns))
	for i, f := range fns {
		r.inv.Functions[i] = *f
	}
}

// function reads one function's reserved concurrency, aliases, versions,
// policies and URLs.
func (r *regionRun) function(ctx context.Context, f *Function) {
	var wg sync.WaitGroup
	wg.Go(func() {
		// GetFunction carries the reserved concurrency, and Lambda allows
		// it 100 calls a second where GetFunctionConcurrency shares 15
		// with the other control-plane calls.
		var out *lambda.GetFunctionOutput
		err := r.lambdaCall(ctx, r.functionPace, func() (err error) {
			out, err = r.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(f.Name)})
			return err
		})
		if err != nil {
			r.fail("lambda", "GetFunction", f.ARN, err)
			return
		}
		f.ConcurrencyKnown = true
		if out.Concurrency != nil {
			f.ReservedConcurrency = out.Concurrency.ReservedConcurrentExecutions
		}
	})
	wg.Go(func() {
		p := lambda.NewListAliasesPaginator(r.c.Lambda, &lambda.ListAliasesInput{FunctionName: aws.String(f.Name)})
		for p.HasMorePages() {
			var out *lambda.ListAliasesOutput
			err := r.lambdaCall(ctx, r.controlPace, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				r.fail("lambda", "ListAliases", f.ARN, err)
				return
			}
			for _, a := range out.Aliases {
				f.Aliases = append(f.Aliases, aws.ToString(a.Name))
			}
		}
	})
	wg.Go(func() {
		p := lambda.NewListVersionsByFunctionPaginator(r.c.Lambda, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(f.Name)})
		for p.HasMorePages() {
			var out *lambda.ListVersionsByFunctionOutput
			err := r.lambdaCall(ctx, r.controlPace, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				r.fail("lambda", "ListVersionsByFunction", f.ARN, err)
				return
			}
			for _, v := range out.Versions {
				if ver := aws.ToString(v.Version); ver != "" && ver != latest {
					f.Versions = append(f.Versions, ver)
				}
			}
		}
	})
	wg.Wait()

	// Lambda keeps a policy for the function and one for each alias and
	// published version; none for $LATEST beyond the function's own.
	qualifiers := append(append([]string{""}, f.Aliases...), f.Versions...)
	policies := make([]*ResourcePolicy, len(qualifiers))
	unread := make([]bool, len(qualifiers))
	for i, q := range qualifiers {
		wg.Go(func() { policies[i], unread[i] = r.policy(ctx, f, q) })
	}
	wg.Go(func() { r.urls(ctx, f) })
	wg.Wait()
	for i, p := range policies {
		if p != nil {
			f.Policies = append(f.Policies, *p)
		}
		if unread[i] {
			f.UnreadPolicies = append(f.UnreadPolicies, qualifiers[i])
		}
	}
}

// policy reads the resource policy of f or one of its qualifiers; nil
// when there is none, or when it could not be read (failed).
func (r *regionRun) policy(ctx context.Context, f *Function, qualifier string) (_ *ResourcePolicy, failed bool) {
	arn := qualified(f.ARN, qualifier)
	in := &lambda.GetPolicyInput{FunctionName: aws.String(f.Name)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	var out *lambda.GetPolicyOutput
	err := r.lambdaCall(ctx, r.policyPace, func() (err error) { out, err = r.c.Lambda.GetPolicy(ctx, in); return err })
	switch {
	case notFound(err):
		return nil, false
	case err != nil:
		r.fail("lambda", "GetPolicy", arn, err)
		return nil, true
	}
	return &ResourcePolicy{Qualifier: qualifier, ARN: arn, Document: aws.ToString(out.Policy)}, false
}

// urls reads the function URL configurations of f and its aliases:
// ListFunctionUrlConfigs covers every qualifier in one call. An endpoint
// that lacks it (moto) is asked GetFunctionUrlConfig for each qualifier
// instead, as are the rest of the region's functions.
func (r *regionRun) urls(ctx context.Context, f *Function) {
	if r.urlList.Load() == urlUnknown {
		r.urlProbe.Lock()
		if r.urlList.Load() == urlUnknown {
			done := r.listURLs(ctx, f)
			r.urlProbe.Unlock()
			if done {
				return
			}
		} else {
			r.urlProbe.Unlock()
		}
	}
	if r.urlList.Load() == urlListed && r.listURLs(ctx, f) {
		return
	}
	r.getURLs(ctx, f)
}

// What the region's endpoint is known to serve for function URLs.
const (
	urlUnknown int32 = iota
	urlListed        // ListFunctionUrlConfigs
	urlMissing       // GetFunctionUrlConfig per qualifier instead
)

// listURLs reads f's URLs with ListFunctionUrlConfigs; false means the
// endpoint lacks the call, and the URLs are still to be read.
func (r *regionRun) listURLs(ctx context.Context, f *Function) bool {
	var found []FunctionURL
	p := lambda.NewListFunctionUrlConfigsPaginator(r.c.Lambda, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String(f.Name)})
	var err error
	for p.HasMorePages() {
		var out *lambda.ListFunctionUrlConfigsOutput
		err = r.lambdaCall(ctx, r.controlPace, func() (err error) { out, err = p.NextPage(ctx); return err })
		if err != nil {
			break
		}
		for _, c := range out.FunctionUrlConfigs {
			found = append(found, urlOf(f.ARN, aws.ToString(c.FunctionArn), aws.ToString(c.FunctionUrl), string(c.AuthType)))
		}
	}
	switch {
	case err == nil:
		r.urlList.CompareAndSwap(urlUnknown, urlListed)
		f.URLs = dedupeURLs(found)
		return true
	case !unsupported(err):
		// Refused or failed: the call exists, and says so for this
		// function only.
		r.urlList.CompareAndSwap(urlUnknown, urlListed)
		r.fail("lambda", "ListFunctionUrlConfigs", f.ARN, err)
		return true
	}
	if r.urlList.CompareAndSwap(urlUnknown, urlMissing) {
		r.note(fmt.Sprintf("lambda ListFunctionUrlConfigs is not served here (%s): read GetFunctionUrlConfig for each function and alias instead", errorText(err)))
	}
	return false
}

// getURLs reads f's URLs with GetFunctionUrlConfig for the function and
// each alias.
func (r *regionRun) getURLs(ctx context.Context, f *Function) {
	// Function URLs exist for $LATEST and aliases, not versions.
	qualifiers := append([]string{""}, f.Aliases...)
	found := make([]*FunctionURL, len(qualifiers))
	var wg sync.WaitGroup
	for i, q := range qualifiers {
		wg.Go(func() {
			in := &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(f.Name)}
			if q != "" {
				in.Qualifier = aws.String(q)
			}
			var out *lambda.GetFunctionUrlConfigOutput
			err := r.lambdaCall(ctx, r.controlPace, func() (err error) { out, err = r.c.Lambda.GetFunctionUrlConfig(ctx, in); return err })
			switch {
			case notFound(err):
			case err != nil:
				r.fail("lambda", "GetFunctionUrlConfig", qualified(f.ARN, q), err)
			default:
				u := urlOf(f.ARN, aws.ToString(out.FunctionArn), aws.ToString(out.FunctionUrl), string(out.AuthType))
				found[i] = &u
			}
		})
	}
	wg.Wait()
	var urls []FunctionURL
	for _, u := range found {
		if u != nil {
			urls = append(urls, *u)
		}
	}
	f.URLs = dedupeURLs(urls)
}

// urlOf reads a URL configuration; the qualifier comes from the ARN AWS
// returns, not the one asked for (moto returns the function's URL for any
// qualifier).
func urlOf(fn, arn, url, auth string) FunctionURL {
	if arn == "" {
		arn = fn
	}
	return FunctionURL{Qualifier: qualifierOf(arn), ARN: arn, URL: url, AuthType: auth}
}

func dedupeURLs(urls []FunctionURL) []FunctionURL {
	slices.SortFunc(urls, func(a, b FunctionURL) int { return cmp.Compare(a.ARN, b.ARN) })
	return slices.CompactFunc(urls, func(a, b FunctionURL) bool { return a.ARN == b.ARN })
}

// layers reads every layer version published in the region, with its
// policy.
func (r *regionRun) layers(ctx context.Context) {
	var (
		mu  sync.Mutex
		out []LayerVersion
		wg  sync.WaitGroup
	)
	p := lambda.NewListLayersPaginator(r.c.Lambda, &lambda.ListLayersInput{})
	for p.HasMorePages() {
		var page *lambda.ListLayersOutput
		err := r.lambdaCall(ctx, r.controlPace, func() (err error) { page, err = p.NextPage(ctx); return err })
		if err != nil {
			r.fail("lambda", "ListLayers", "", err)
			break
		}
		for _, l := range page.Layers {
			name, arn := aws.ToString(l.LayerName), aws.ToString(l.LayerArn)
			wg.Go(func() {
				vs := r.layerVersions(ctx, name, arn)
				mu.Lock()
				out = append(out, vs...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b LayerVersion) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	r.inv.Layers = out
}

func (r *regionRun) layerVersions(ctx context.Context, name, arn string) []LayerVersion {
	var vs []LayerVersion
	p := lambda.NewListLayerVersionsPaginator(r.c.Lambda, &lambda.ListLayerVersionsInput{LayerName: aws.String(name)})
	for p.HasMorePages() {
		var page *lambda.ListLayerVersionsOutput
		err := r.lambdaCall(ctx, r.controlPace, func() (err error) { page, err = p.NextPage(ctx); return err })
		if err != nil {
			r.fail("lambda", "ListLayerVersions", arn, err)
			break
		}
		for _, v := range page.LayerVersions {
			vs = append(vs, LayerVersion{Name: name, ARN: aws.ToString(v.LayerVersionArn), Version: v.Version})
		}
	}
	var wg sync.WaitGroup
	for i := range vs {
		v := &vs[i]
		wg.Go(func() {
			var out *lambda.GetLayerVersionPolicyOutput
			err := r.lambdaCall(ctx, r.controlPace, func() (err error) {
				out, err = r.c.Lambda.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String(name), VersionNumber: aws.Int64(v.Version)})
				return err
			})
			switch {
			case notFound(err):
			case err != nil:
				r.fail("lambda", "GetLayerVersionPolicy", v.ARN, err)
				v.PolicyUnread = true
			default:
				v.Policy = aws.ToString(out.Policy)
			}
		})
	}
	wg.Wait()
	return vs
}

// qualified adds a qualifier to a function ARN.
func qualified(arn, qualifier string) string {
	if qualifier == "" {
		return arn
	}
	return arn + ":" + qualifier
}

// unqualified drops the qualifier of a function ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME:QUALIFIER).
func unqualified(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) == 8 {
		return strings.Join(parts[:7], ":")
	}
	return arn
}

func qualifierOf(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) == 8 {
		return parts[7]
	}
	return ""
}

// lambdaCall makes a Lambda call at the pace of its quota pool (nil: no
// pacing) and within the bound on calls in flight.
func (r *regionRun) lambdaCall(ctx context.Context, pace *pacer, call func() error) error {
	if pace != nil {
		if err := pace.wait(ctx); err != nil {
			return err
		}
	}
	return r.lambda.do(ctx, call)
}
