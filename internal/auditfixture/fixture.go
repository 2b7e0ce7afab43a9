// Package auditfixture seeds moto, through the Go SDK, with the accounts
// the audit tests read: each kind of risky grant, role, API and load
// balancer, with look-alikes that should raise nothing.
package auditfixture

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	waftypes "github.com/aws/aws-sdk-go-v2/service/wafv2/types"

	"github.com/lambdawatch/lambdawatch/pkg/audit"
)

// Accounts and regions of the fixture.
const (
	Main    = "123456789012" // moto's default account
	Second  = "210987654321" // reached by assuming AuditRole
	Foreign = "999988887777" // granted access, never audited
	Region  = "us-east-1"
	Region2 = "eu-west-1"
	// AuditRole is the role assumed into Second.
	AuditRole = "lambdawatch-audit"
)

// Names of what the fixture creates in Main, Region; the comment says what
// each should raise.
const (
	FnPublic      = "public-fn"     // public-invoke (CRITICAL), eol-runtime (python3.8), privileged-role HIGH, denial-of-wallet
	FnCapped      = "capped-fn"     // public-invoke, but reserved concurrency: no denial-of-wallet
	FnCross       = "cross-fn"      // cross-account-invoke on alias live
	FnDeputy      = "deputy-fn"     // confused-deputy on version 1
	FnSourced     = "sourced-fn"    // look-alike: s3 with SourceAccount and SourceArn, nothing
	FnURL         = "url-fn"        // public-function-url and function-url-auth-none, on alias prod
	FnIAMURL      = "iam-url-fn"    // look-alike: URL with AWS_IAM, nothing
	FnImage       = "image-fn"      // Image: not judged for runtime
	FnPassRole    = "passrole-fn"   // privileged-role MEDIUM
	FnBasic       = "basic-fn"      // look-alike: AWSLambdaBasicExecutionRole, nothing
	FnOwnLayer    = "own-layer-fn"  // look-alike: runs a layer of its own account, nothing
	FnRest        = "rest-fn"       // behind REST API stage dev (no WAF, no throttle): waf-missing, denial-of-wallet
	FnRestGuarded = "rest-guard-fn" // behind REST stage prod with WAF and throttling: nothing
	FnHTTP        = "http-fn"       // behind an unauthenticated HTTP API route: denial-of-wallet, never waf-missing
	FnALB         = "alb-fn"        // behind an internet-facing ALB without WAF: waf-missing MEDIUM, denial-of-wallet
	FnALBInternal = "alb-int-fn"    // behind an internal ALB without WAF: waf-missing LOW
	FnALBGuarded  = "alb-guard-fn"  // behind an internet-facing ALB with a rate-limiting WAF: nothing
	FnRefused     = "refused-fn"    // the proxy refuses GetPolicy on it
	LayerPublic   = "shared-layer"  // public-layer
	LayerPrivate  = "private-layer" // look-alike: no policy
	FnEU          = "eu-public-fn"  // in Region2: public-invoke
	FnSecond      = "second-fn"     // in Second: public-invoke

	RoleAdmin    = "admin-role"
	RolePassRole = "passrole-role"
	RoleBasic    = "basic-role"
	RoleScoped   = "scoped-role" // look-alike: reads one bucket, and a conditional Deny of *: nothing
)

// Seed creates the fixture. cfg reaches moto as Main in Region; second
// reaches it as Second (after AssumeRole).
func Seed(ctx context.Context, cfg, second aws.Config) error {
	s := &seeder{ctx: ctx}
	s.main(cfg)
	eu := cfg.Copy()
	eu.Region = Region2
	s.region2(eu)
	s.second(second)
	return s.err
}

// SeedAll creates the fixture through cfg, which reaches moto as Main in
// Region, reaching Second by assuming AuditRole.
func SeedAll(ctx context.Context, cfg aws.Config) error {
	second, err := audit.AssumeRole(ctx, cfg, audit.RoleARN("aws", Second, AuditRole))
	if err != nil {
		return fmt.Errorf("seed: reach %s: %w", Second, err)
	}
	return Seed(ctx, cfg, second)
}

type seeder struct {
	ctx context.Context
	err error
}

// must records the first error; later steps still run but their errors
// would only repeat the cause.
func (s *seeder) must(what string, err error) bool {
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("seed %s: %w", what, err)
	}
	return err == nil
}

func (s *seeder) main(cfg aws.Config) {
	ctx := s.ctx
	im := iam.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	admin := s.role(im, RoleAdmin, "arn:aws:iam::aws:policy/AdministratorAccess", "")
	pass := s.role(im, RolePassRole, "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction"],"Resource":"*"},{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`)
	basic := s.role(im, RoleBasic, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "")
	scoped := s.role(im, RoleScoped, "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)

	fn := func(name, runtime, role string, opts ...func(*lambda.CreateFunctionInput)) string {
		in := &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String(role), Runtime: ltypes.Runtime(runtime),
			Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: zipFile()},
		}
		for _, o := range opts {
			o(in)
		}
		out, err := lc.CreateFunction(ctx, in)
		if !s.must("CreateFunction "+name, err) {
			return ""
		}
		return aws.ToString(out.FunctionArn)
	}
	grant := func(name, sid string, in lambda.AddPermissionInput) {
		in.FunctionName, in.StatementId = aws.String(name), aws.String(sid)
		if in.Action == nil {
			in.Action = aws.String("lambda:InvokeFunction")
		}
		_, err := lc.AddPermission(ctx, &in)
		s.must("AddPermission "+name+" "+sid, err)
	}
	publish := func(name string) string {
		out, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if !s.must("PublishVersion "+name, err) {
			return ""
		}
		return aws.ToString(out.Version)
	}
	alias := func(name, alias, version string) {
		_, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(alias), FunctionVersion: aws.String(version)})
		s.must("CreateAlias "+name+" "+alias, err)
	}

	fn(FnPublic, "python3.8", admin)
	grant(FnPublic, "public", lambda.AddPermissionInput{Principal: aws.String("*")})

	fn(FnCapped, "python3.12", basic)
	grant(FnCapped, "public", lambda.AddPermissionInput{Principal: aws.String("*")})
	_, err := lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(FnCapped), ReservedConcurrentExecutions: aws.Int32(5)})
	s.must("PutFunctionConcurrency", err)

	fn(FnCross, "python3.12", basic)
	alias(FnCross, "live", publish(FnCross))
	grant(FnCross, "partner", lambda.AddPermissionInput{Principal: aws.String(Foreign), Qualifier: aws.String("live")})

	fn(FnDeputy, "python3.12", basic)
	v := publish(FnDeputy)
	grant(FnDeputy, "s3", lambda.AddPermissionInput{Principal: aws.String("s3.amazonaws.com"), Qualifier: aws.String(v)})

	fn(FnSourced, "python3.12", basic)
	grant(FnSourced, "s3", lambda.AddPermissionInput{Principal: aws.String("s3.amazonaws.com"), SourceAccount: aws.String(Main), SourceArn: aws.String("arn:aws:s3:::" + Main + "-uploads")})

	fn(FnURL, "python3.12", basic)
	alias(FnURL, "prod", publish(FnURL))
	_, err = lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(FnURL), Qualifier: aws.String("prod"), AuthType: ltypes.FunctionUrlAuthTypeNone})
	s.must("CreateFunctionUrlConfig", err)
	grant(FnURL, "url", lambda.AddPermissionInput{Principal: aws.String("*"), Action: aws.String("lambda:InvokeFunctionUrl"), FunctionUrlAuthType: ltypes.FunctionUrlAuthTypeNone, Qualifier: aws.String("prod")})

	fn(FnIAMURL, "python3.12", basic)
	_, err = lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(FnIAMURL), AuthType: ltypes.FunctionUrlAuthTypeAwsIam})
	s.must("CreateFunctionUrlConfig "+FnIAMURL, err)

	fn(FnImage, "", basic, func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = "", nil
		in.PackageType = ltypes.PackageTypeImage
		in.Code = &ltypes.FunctionCode{ImageUri: aws.String(Main + ".dkr.ecr.us-east-1.amazonaws.com/app:latest")}
	})
	fn(FnPassRole, "python3.12", pass)
	fn(FnBasic, "python3.12", basic)
	fn(FnRefused, "python3.12", scoped)
	grant(FnRefused, "public", lambda.AddPermissionInput{Principal: aws.String("*")})

	// Layers: one shared with everyone, one kept private.
	// moto looks a function's layers up in the function's own account by
	// name, and stores that account's ARN: a function cannot run another
	// account's layer there.
	var private string
	for _, name := range []string{LayerPublic, LayerPrivate} {
		out, err := lc.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String(name), Content: &ltypes.LayerVersionContentInput{ZipFile: zipFile()}, CompatibleRuntimes: []ltypes.Runtime{ltypes.RuntimePython312}})
		if !s.must("PublishLayerVersion "+name, err) {
			continue
		}
		if name == LayerPrivate {
			private = aws.ToString(out.LayerVersionArn)
		}
		if name == LayerPublic {
			_, err = lc.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String(name), VersionNumber: aws.Int64(out.Version), StatementId: aws.String("public"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")})
			s.must("AddLayerVersionPermission", err)
		}
	}
	fn(FnOwnLayer, "python3.12", basic, func(in *lambda.CreateFunctionInput) { in.Layers = []string{private} })

	rest := fn(FnRest, "python3.12", basic)
	restGuarded := fn(FnRestGuarded, "python3.12", basic)
	httpFn := fn(FnHTTP, "python3.12", basic)
	albFn := fn(FnALB, "python3.12", basic)
	albInt := fn(FnALBInternal, "python3.12", basic)
	albGuard := fn(FnALBGuarded, "python3.12", basic)
	if s.err != nil {
		return
	}
	plain := s.webACL(cfg, "plain-acl", false)
	limited := s.webACL(cfg, "rate-acl", true)
	s.restAPI(cfg, rest, restGuarded, plain)
	s.httpAPI(cfg, httpFn)
	s.loadBalancers(cfg, albFn, albInt, albGuard, limited)
}

// role creates a role with one managed policy attached or one inline
// policy, and returns its ARN.
func (s *seeder) role(c *iam.Client, name, managed, inline string) string {
	out, err := c.CreateRole(s.ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if !s.must("CreateRole "+name, err) {
		return ""
	}
	if managed != "" {
		_, err = c.AttachRolePolicy(s.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(managed)})
		s.must("AttachRolePolicy "+name, err)
	}
	if inline != "" {
		_, err = c.PutRolePolicy(s.ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(name + "-inline"), PolicyDocument: aws.String(inline)})
		s.must("PutRolePolicy "+name, err)
	}
	return aws.ToString(out.Role.Arn)
}

func (s *seeder) webACL(cfg aws.Config, name string, rate bool) string {
	in := &wafv2.CreateWebACLInput{
		Name: aws.String(name), Scope: waftypes.ScopeRegional,
		DefaultAction:    &waftypes.DefaultAction{Allow: &waftypes.AllowAction{}},
		VisibilityConfig: visibility(name),
	}
	if rate {
		in.Rules = []waftypes.Rule{{
			Name: aws.String("per-ip"), Priority: 0,
			Action:           &waftypes.RuleAction{Block: &waftypes.BlockAction{}},
			Statement:        &waftypes.Statement{RateBasedStatement: &waftypes.RateBasedStatement{Limit: aws.Int64(500), AggregateKeyType: waftypes.RateBasedStatementAggregateKeyTypeIp}},
			VisibilityConfig: visibility("per-ip"),
		}}
	}
	out, err := wafv2.NewFromConfig(cfg).CreateWebACL(s.ctx, in)
	if !s.must("CreateWebACL "+name, err) {
		return ""
	}
	return aws.ToString(out.Summary.ARN)
}

func visibility(name string) *waftypes.VisibilityConfig {
	return &waftypes.VisibilityConfig{MetricName: aws.String(name), CloudWatchMetricsEnabled: false, SampledRequestsEnabled: false}
}

func integrationURI(region, fn string) string {
	return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/" + fn + "/invocations"
}

// restAPI makes API orders: GET /orders invokes fn with no authorization
// on stages dev (no WAF, no throttling) and, on a second resource,
// guarded on stage prod of its own API with a web ACL and throttling.
func (s *seeder) restAPI(cfg aws.Config, fn, guarded, acl string) {
	ctx, c := s.ctx, apigateway.NewFromConfig(cfg)
	mk := func(name, fn string) (string, bool) {
		api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(name)})
		if !s.must("CreateRestApi", err) {
			return "", false
		}
		res, err := c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})
		if !s.must("GetResources", err) || len(res.Items) == 0 {
			return "", false
		}
		r, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: res.Items[0].Id, PathPart: aws.String("orders")})
		if !s.must("CreateResource", err) {
			return "", false
		}
		_, err = c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: r.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})
		if !s.must("PutMethod", err) {
			return "", false
		}
		_, err = c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: r.Id, HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(integrationURI(cfg.Region, fn))})
		if !s.must("PutIntegration", err) {
			return "", false
		}
		return aws.ToString(api.Id), true
	}
	id, ok := mk("orders", fn)
	if ok {
		_, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(id), StageName: aws.String("dev")})
		s.must("CreateDeployment dev", err)
	}
	gid, ok := mk("orders-guarded", guarded)
	if !ok {
		return
	}
	_, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(gid), StageName: aws.String("prod")})
	if !s.must("CreateDeployment prod", err) {
		return
	}
	_, err = c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(gid), StageName: aws.String("prod"), PatchOperations: []agtypes.PatchOperation{
		{Op: agtypes.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("50")},
		{Op: agtypes.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("100")},
	}})
	s.must("UpdateStage prod", err)
	stage := "arn:aws:apigateway:" + cfg.Region + "::/restapis/" + gid + "/stages/prod"
	_, err = wafv2.NewFromConfig(cfg).AssociateWebACL(ctx, &wafv2.AssociateWebACLInput{WebACLArn: aws.String(acl), ResourceArn: aws.String(stage)})
	s.must("AssociateWebACL stage", err)
}

// httpAPI makes an HTTP API whose route GET /items invokes fn with no
// authorization and no throttling.
func (s *seeder) httpAPI(cfg aws.Config, fn string) {
	ctx, c := s.ctx, apigatewayv2.NewFromConfig(cfg)
	api, err := c.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("items"), ProtocolType: v2types.ProtocolTypeHttp})
	if !s.must("CreateApi", err) {
		return
	}
	in, err := c.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(fn), PayloadFormatVersion: aws.String("2.0")})
	if !s.must("CreateIntegration", err) {
		return
	}
	_, err = c.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /items"), AuthorizationType: v2types.AuthorizationTypeNone, Target: aws.String("integrations/" + aws.ToString(in.IntegrationId))})
	s.must("CreateRoute", err)
	_, err = c.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})
	s.must("CreateStage", err)
}

// loadBalancers makes three ALBs, each with a Lambda target group: one
// internet-facing without WAF, one internal, one internet-facing behind a
// rate-limiting web ACL.
func (s *seeder) loadBalancers(cfg aws.Config, public, internal, guarded, acl string) {
	ctx := s.ctx
	ec := ec2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if !s.must("CreateVpc", err) {
		return
	}
	var subnets []string
	for i, az := range []string{"a", "b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)), AvailabilityZone: aws.String(cfg.Region + az)})
		if !s.must("CreateSubnet", err) {
			return
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	lc, ec2c := lambda.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	for _, lb := range []struct {
		name, fn string
		scheme   elbtypes.LoadBalancerSchemeEnum
		acl      string
	}{
		{"public-alb", public, elbtypes.LoadBalancerSchemeEnumInternetFacing, ""},
		{"internal-alb", internal, elbtypes.LoadBalancerSchemeEnumInternal, ""},
		{"guarded-alb", guarded, elbtypes.LoadBalancerSchemeEnumInternetFacing, acl},
	} {
		out, err := ec2c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(lb.name), Subnets: subnets, Scheme: lb.scheme, Type: elbtypes.LoadBalancerTypeEnumApplication})
		if !s.must("CreateLoadBalancer "+lb.name, err) || len(out.LoadBalancers) == 0 {
			return
		}
		lbARN := out.LoadBalancers[0].LoadBalancerArn
		tg, err := ec2c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(lb.name + "-tg"), TargetType: elbtypes.TargetTypeEnumLambda})
		if !s.must("CreateTargetGroup "+lb.name, err) || len(tg.TargetGroups) == 0 {
			return
		}
		tgARN := tg.TargetGroups[0].TargetGroupArn
		_, err = lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(lb.fn), StatementId: aws.String("alb"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("elasticloadbalancing.amazonaws.com"), SourceArn: tgARN, SourceAccount: aws.String(Main)})
		s.must("AddPermission alb", err)
		_, err = ec2c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []elbtypes.TargetDescription{{Id: aws.String(lb.fn)}}})
		s.must("RegisterTargets "+lb.name, err)
		_, err = ec2c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}})
		s.must("CreateListener "+lb.name, err)
		if lb.acl != "" {
			_, err = wafv2.NewFromConfig(cfg).AssociateWebACL(ctx, &wafv2.AssociateWebACLInput{WebACLArn: aws.String(lb.acl), ResourceArn: lbARN})
			s.must("AssociateWebACL "+lb.name, err)
		}
	}
}

// region2 is a public function in the second region.
func (s *seeder) region2(cfg aws.Config) {
	s.publicFunction(cfg, FnEU, "eu-role")
}

// second is a public function in the second account.
func (s *seeder) second(cfg aws.Config) {
	s.publicFunction(cfg, FnSecond, "second-role")
}

func (s *seeder) publicFunction(cfg aws.Config, name, roleName string) {
	role := s.role(iam.NewFromConfig(cfg), roleName, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "")
	lc := lambda.NewFromConfig(cfg)
	_, err := lc.CreateFunction(s.ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: zipFile()},
	})
	if !s.must("CreateFunction "+name, err) {
		return
	}
	_, err = lc.AddPermission(s.ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("public"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*")})
	s.must("AddPermission "+name, err)
}

// Functions creates n plain functions sharing one role, for measuring.
func Functions(ctx context.Context, cfg aws.Config, n int) error {
	s := &seeder{ctx: ctx}
	role := s.role(iam.NewFromConfig(cfg), "bench-role", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "")
	lc := lambda.NewFromConfig(cfg)
	for i := range n {
		if s.err != nil {
			break
		}
		_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(fmt.Sprintf("bench-%04d", i)), Role: aws.String(role), Runtime: ltypes.RuntimePython312,
			Handler: aws.String("index.handler"), Code: &ltypes.FunctionCode{ZipFile: zipFile()},
		})
		s.must("CreateFunction", err)
	}
	return s.err
}

var zipOnce = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, _ := w.Create("index.py")
	_, _ = f.Write([]byte("def handler(event, context):\n    return {}\n"))
	_ = w.Close()
	return b.Bytes()
})

func zipFile() []byte { return zipOnce() }
