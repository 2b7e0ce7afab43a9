package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	waftypes "github.com/aws/aws-sdk-go-v2/service/wafv2/types"
)

// loadBalancers reads the region's application load balancers, their
// Lambda target groups, and the regional web ACLs with what each
// protects.
func (r *regionRun) loadBalancers(ctx context.Context) {
	var (
		lbs    []*LoadBalancer
		acls   []*WebACL
		listed bool
		tgs    []elbtypes.TargetGroup
		wg     sync.WaitGroup
	)
	wg.Go(func() { acls, listed = r.webACLs(ctx) })
	wg.Go(func() {
		p := elb.NewDescribeTargetGroupsPaginator(r.c.ELB, &elb.DescribeTargetGroupsInput{})
		for p.HasMorePages() {
			var out *elb.DescribeTargetGroupsOutput
			err := r.elb.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				r.fail("elasticloadbalancing", "DescribeTargetGroups", "", err)
				return
			}
			for _, tg := range out.TargetGroups {
				if tg.TargetType == elbtypes.TargetTypeEnumLambda {
					tgs = append(tgs, tg)
				}
			}
		}
	})
	p := elb.NewDescribeLoadBalancersPaginator(r.c.ELB, &elb.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		var out *elb.DescribeLoadBalancersOutput
		err := r.elb.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
		if err != nil {
			r.fail("elasticloadbalancing", "DescribeLoadBalancers", "", err)
			break
		}
		for _, lb := range out.LoadBalancers {
			if lb.Type != elbtypes.LoadBalancerTypeEnumApplication {
				continue // only ALBs invoke Lambda and take a web ACL
			}
			lbs = append(lbs, &LoadBalancer{ARN: aws.ToString(lb.LoadBalancerArn), Name: aws.ToString(lb.LoadBalancerName), Scheme: string(lb.Scheme), Type: string(lb.Type)})
		}
	}
	wg.Wait()

	// Targets of each Lambda target group, on the load balancers it
	// serves.
	byARN := map[string]*LoadBalancer{}
	for _, lb := range lbs {
		byARN[lb.ARN] = lb
	}
	groups := make([]TargetGroup, len(tgs))
	for i, tg := range tgs {
		groups[i] = TargetGroup{ARN: aws.ToString(tg.TargetGroupArn), Name: aws.ToString(tg.TargetGroupName)}
		wg.Go(func() {
			var out *elb.DescribeTargetHealthOutput
			err := r.elb.do(ctx, func() (err error) {
				out, err = r.c.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
				return err
			})
			if err != nil {
				r.fail("elasticloadbalancing", "DescribeTargetHealth", groups[i].ARN, err)
				return
			}
			for _, d := range out.TargetHealthDescriptions {
				if d.Target != nil {
					groups[i].Functions = append(groups[i].Functions, aws.ToString(d.Target.Id))
				}
			}
			slices.Sort(groups[i].Functions)
		})
	}
	wg.Go(func() { r.webACLsOf(ctx, lbs, acls, listed) })
	wg.Wait()
	for i, tg := range tgs {
		for _, lbARN := range tg.LoadBalancerArns {
			if lb := byARN[lbARN]; lb != nil {
				lb.TargetGroups = append(lb.TargetGroups, groups[i])
			}
		}
	}
	slices.SortFunc(lbs, func(a, b *LoadBalancer) int { return cmp.Compare(a.ARN, b.ARN) })
	for _, lb := range lbs {
		slices.SortFunc(lb.TargetGroups, func(a, b TargetGroup) int { return cmp.Compare(a.ARN, b.ARN) })
		r.inv.LoadBalancers = append(r.inv.LoadBalancers, *lb)
	}
	slices.SortFunc(acls, func(a, b *WebACL) int { return cmp.Compare(a.ARN, b.ARN) })
	for _, acl := range acls {
		r.inv.WebACLs = append(r.inv.WebACLs, *acl)
	}
}

// webACLs reads the regional web ACLs and whether each limits rates;
// listed is false when the list could not be read whole.
func (r *regionRun) webACLs(ctx context.Context) (acls []*WebACL, listed bool) {
	var (
		wg     sync.WaitGroup
		marker *string
	)
	listed = true
	for {
		var out *wafv2.ListWebACLsOutput
		err := r.waf.do(ctx, func() (err error) {
			out, err = r.c.WAF.ListWebACLs(ctx, &wafv2.ListWebACLsInput{Scope: waftypes.ScopeRegional, NextMarker: marker})
			return err
		})
		if err != nil {
			r.fail("wafv2", "ListWebACLs", "", err)
			listed = false
			break
		}
		for _, s := range out.WebACLs {
			acl := &WebACL{ARN: aws.ToString(s.ARN), Name: aws.ToString(s.Name)}
			acls = append(acls, acl)
			wg.Go(func() {
				var got *wafv2.GetWebACLOutput
				err := r.waf.do(ctx, func() (err error) {
					got, err = r.c.WAF.GetWebACL(ctx, &wafv2.GetWebACLInput{Id: s.Id, Name: s.Name, Scope: waftypes.ScopeRegional})
					return err
				})
				if err != nil {
					r.fail("wafv2", "GetWebACL", acl.ARN, err)
					return
				}
				acl.Known = true
				if got.WebACL != nil {
					acl.RateLimited = slices.ContainsFunc(got.WebACL.Rules, rateLimits)
				}
			})
		}
		// An empty marker with a full page still means the end.
		if marker = out.NextMarker; aws.ToString(marker) == "" || len(out.WebACLs) == 0 {
			break
		}
	}
	wg.Wait()
	return acls, listed
}

// rateLimits reports whether a rule blocks, or challenges, the requests
// over a rate: a rate-based rule that only counts caps nothing.
func rateLimits(rule waftypes.Rule) bool {
	if rule.Statement == nil || rule.Statement.RateBasedStatement == nil || rule.Action == nil {
		return false
	}
	a := rule.Action
	return a.Block != nil || a.Captcha != nil || a.Challenge != nil
}

// webACLsOf finds the web ACL of each load balancer. WAF allows about one
// ListResourcesForWebACL or GetWebACLForResource a second, so the calls
// are paced, and the fewer of them made: one per web ACL, or one per load
// balancer where that is fewer, ListResourcesForWebACL is not served, or
// the web ACLs could not be listed.
func (r *regionRun) webACLsOf(ctx context.Context, lbs []*LoadBalancer, acls []*WebACL, listed bool) {
	if len(lbs) == 0 {
		return
	}
	if listed && len(acls) < len(lbs) {
		found := map[string]string{}
		ok := true
		for _, acl := range acls {
			var out *wafv2.ListResourcesForWebACLOutput
			err := r.wafPace.wait(ctx)
			if err == nil {
				err = r.waf.do(ctx, func() (err error) {
					out, err = r.c.WAF.ListResourcesForWebACL(ctx, &wafv2.ListResourcesForWebACLInput{WebACLArn: aws.String(acl.ARN), ResourceType: waftypes.ResourceTypeApplicationLoadBalancer})
					return err
				})
			}
			if err != nil {
				r.note(fmt.Sprintf("wafv2 ListResourcesForWebACL %s failed (%s): read GetWebACLForResource for each load balancer instead", acl.ARN, errorText(err)))
				ok = false
				break
			}
			for _, res := range out.ResourceArns {
				found[res] = acl.ARN
			}
		}
		if ok {
			for _, lb := range lbs {
				lb.WebACLARN, lb.WebACLKnown = found[lb.ARN], true
			}
			return
		}
	}
	for _, lb := range lbs {
		var out *wafv2.GetWebACLForResourceOutput
		err := r.wafPace.wait(ctx)
		if err == nil {
			err = r.waf.do(ctx, func() (err error) {
				out, err = r.c.WAF.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(lb.ARN)})
				return err
			})
		}
		switch {
		case notFound(err):
			lb.WebACLKnown = true
		case err != nil:
			r.fail("wafv2", "GetWebACLForResource", lb.ARN, err)
		default:
			lb.WebACLKnown = true
			if out.WebACL != nil {
				lb.WebACLARN = aws.ToString(out.WebACL.ARN)
			}
		}
	}
}
