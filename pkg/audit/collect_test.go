package audit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambdawatch/lambdawatch/internal/auditfixture"
	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
)

// world is moto seeded with the fixture, shared by the tests of this
// package: starting and seeding it takes seconds.
type world struct {
	moto *motoserver.Server
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

func seeded(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() {
		worldErr = errors.New("moto did not start")
		// The server outlives the first test that asks for it; its
		// process group dies with the test binary.
		moto := motoserver.Start(&keepAlive{T: t})
		ctx := context.Background()
		cfg := motoserver.Config(moto.URL, auditfixture.Region)
		theWorld, worldErr = &world{moto: moto}, auditfixture.SeedAll(ctx, cfg)
	})
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

// keepAlive runs no cleanups: the shared server lives as long as the
// test binary.
type keepAlive struct{ *testing.T }

func (k *keepAlive) Cleanup(func()) {}

// config reaches moto through endpoint (moto or a proxy) with the retryer
// the command uses, backing off briefly.
func config(endpoint, region string) aws.Config {
	cfg := motoserver.Config(endpoint, region)
	cfg.Retryer = audit.Retryer(3, 5*time.Millisecond)
	return cfg
}

func auditMain(t *testing.T, endpoint string, a *audit.Auditor) *audit.AccountInventory {
	t.Helper()
	cfg := config(endpoint, auditfixture.Region)
	return a.Audit(context.Background(), audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region, auditfixture.Region2})
}

func function(t *testing.T, inv *audit.Inventory, name string) audit.Function {
	t.Helper()
	i := slices.IndexFunc(inv.Functions, func(f audit.Function) bool { return f.Name == name })
	if i < 0 {
		t.Fatalf("%s: function %s not read", inv.Region, name)
	}
	return inv.Functions[i]
}

func TestCollect(t *testing.T) {
	w := seeded(t)
	proxy := motoserver.NewProxy(t, w.moto.URL, motoserver.ProxyOptions{})
	inv := auditMain(t, proxy.URL, audit.New(audit.Options{WAFInterval: -1}))
	if len(inv.Regions) != 2 {
		t.Fatalf("read %d regions, want 2", len(inv.Regions))
	}
	us, eu := inv.Regions[0], inv.Regions[1]
	for _, r := range inv.Regions {
		for _, err := range r.Errors {
			t.Errorf("%s: %v", r.Region, err)
		}
	}
	for _, err := range inv.Errors {
		t.Errorf("account: %v", err)
	}

	t.Run("functions", func(t *testing.T) {
		if got := len(us.Functions); got != 18 {
			var names []string
			for _, f := range us.Functions {
				names = append(names, f.Name)
			}
			t.Errorf("%d functions in %s, want 18: %v", got, us.Region, names)
		}
		if f := function(t, us, auditfixture.FnImage); !f.IsImage() || f.Runtime != "" {
			t.Errorf("image function read as %q %q", f.PackageType, f.Runtime)
		}
		if f := function(t, us, auditfixture.FnPublic); f.Runtime != "python3.8" || f.PackageType != "Zip" || !strings.HasSuffix(f.Role, "/"+auditfixture.RoleAdmin) {
			t.Errorf("public function read as %+v", f)
		}
		capped := function(t, us, auditfixture.FnCapped)
		if !capped.ConcurrencyKnown || capped.ReservedConcurrency == nil || *capped.ReservedConcurrency != 5 {
			t.Errorf("reserved concurrency of %s: %v known=%v", capped.Name, capped.ReservedConcurrency, capped.ConcurrencyKnown)
		}
		if f := function(t, us, auditfixture.FnPublic); !f.ConcurrencyKnown || f.ReservedConcurrency != nil {
			t.Errorf("reserved concurrency of %s: %v known=%v, want none", f.Name, f.ReservedConcurrency, f.ConcurrencyKnown)
		}
		if f := function(t, us, auditfixture.FnOwnLayer); len(f.Layers) != 1 || !strings.Contains(f.Layers[0], ":layer:"+auditfixture.LayerPrivate+":") {
			t.Errorf("layers of %s: %v", f.Name, f.Layers)
		}
		if got := len(eu.Functions); got != 1 || eu.Functions[0].Name != auditfixture.FnEU {
			t.Errorf("%s functions: %+v", eu.Region, eu.Functions)
		}
	})

	t.Run("qualified policies", func(t *testing.T) {
		f := function(t, us, auditfixture.FnCross)
		if !slices.Equal(f.Aliases, []string{"live"}) || !slices.Equal(f.Versions, []string{"1"}) {
			t.Fatalf("aliases %v, versions %v", f.Aliases, f.Versions)
		}
		var quals []string
		for _, p := range f.Policies {
			quals = append(quals, p.Qualifier)
			if p.ARN != strings.TrimSuffix(f.ARN+":"+p.Qualifier, ":") {
				t.Errorf("policy of %q names %s", p.Qualifier, p.ARN)
			}
			if !strings.Contains(p.Document, auditfixture.Foreign) {
				t.Errorf("policy %s lacks the grant: %s", p.ARN, p.Document)
			}
		}
		// moto keeps one policy for every qualifier.
		if !slices.Equal(quals, []string{"", "live", "1"}) {
			t.Errorf("policies read for %q, want the function, alias live and version 1", quals)
		}
		if f := function(t, us, auditfixture.FnBasic); len(f.Policies) != 0 {
			t.Errorf("%s has no policy, read %+v", f.Name, f.Policies)
		}
	})

	t.Run("urls", func(t *testing.T) {
		f := function(t, us, auditfixture.FnURL)
		if len(f.URLs) != 1 || f.URLs[0].AuthType != "NONE" || !strings.HasPrefix(f.URLs[0].URL, "https://") {
			t.Errorf("URLs of %s: %+v", f.Name, f.URLs)
		}
		if f := function(t, us, auditfixture.FnIAMURL); len(f.URLs) != 1 || f.URLs[0].AuthType != "AWS_IAM" {
			t.Errorf("URLs of %s: %+v", f.Name, f.URLs)
		}
		if !slices.ContainsFunc(us.Notes, func(n string) bool { return strings.Contains(n, "ListFunctionUrlConfigs") }) {
			t.Errorf("no note that ListFunctionUrlConfigs was replaced: %q", us.Notes)
		}
	})

	t.Run("layers", func(t *testing.T) {
		if len(us.Layers) != 2 {
			t.Fatalf("layers: %+v", us.Layers)
		}
		for _, l := range us.Layers {
			public := l.Name == auditfixture.LayerPublic
			if public != strings.Contains(l.Policy, `"Principal": "*"`) || l.Version != 1 {
				t.Errorf("layer %s: %+v", l.Name, l)
			}
		}
	})

	t.Run("roles", func(t *testing.T) {
		admin := inv.Roles["arn:aws:iam::"+auditfixture.Main+":role/"+auditfixture.RoleAdmin]
		if admin == nil || !admin.Complete || len(admin.Attached) != 1 || !strings.Contains(admin.Attached[0].Document, `"*"`) {
			t.Errorf("admin role: %+v", admin)
		}
		pass := inv.Roles["arn:aws:iam::"+auditfixture.Main+":role/"+auditfixture.RolePassRole]
		if pass == nil || len(pass.Inline) != 1 || !strings.Contains(pass.Inline[0].Document, "iam:PassRole") {
			t.Errorf("passrole role: %+v", pass)
		}
		if len(inv.Roles) != 5 {
			t.Errorf("%d roles read, want 5 (admin, passrole, basic, scoped, eu)", len(inv.Roles))
		}
	})

	t.Run("rest apis", func(t *testing.T) {
		if len(us.RestAPIs) != 2 {
			t.Fatalf("REST APIs: %+v", us.RestAPIs)
		}
		for _, api := range us.RestAPIs {
			if len(api.Methods) != 1 || len(api.Stages) != 1 {
				t.Fatalf("API %s: %+v", api.Name, api)
			}
			m, st := api.Methods[0], api.Stages[0]
			if m.AuthorizationType != "NONE" || m.Path != "/orders" || !strings.HasSuffix(m.Function, ":function:"+map[bool]string{true: auditfixture.FnRestGuarded, false: auditfixture.FnRest}[api.Name == "orders-guarded"]) {
				t.Errorf("method of %s: %+v", api.Name, m)
			}
			guarded := api.Name == "orders-guarded"
			if guarded != (st.WebACLARN != "") || guarded != st.Throttled || !strings.HasSuffix(st.ARN, "/restapis/"+api.ID+"/stages/"+st.Name) {
				t.Errorf("stage of %s: %+v", api.Name, st)
			}
		}
	})

	t.Run("http apis", func(t *testing.T) {
		if len(us.HTTPAPIs) != 1 || len(us.HTTPAPIs[0].Routes) != 1 {
			t.Fatalf("HTTP APIs: %+v", us.HTTPAPIs)
		}
		api := us.HTTPAPIs[0]
		r := api.Routes[0]
		if r.Key != "GET /items" || r.AuthorizationType != "NONE" || !strings.HasSuffix(r.Function, ":function:"+auditfixture.FnHTTP) {
			t.Errorf("route: %+v", r)
		}
		if len(api.Stages) != 1 || api.Stages[0].DefaultThrottled {
			t.Errorf("stages: %+v", api.Stages)
		}
	})

	t.Run("load balancers", func(t *testing.T) {
		if len(us.LoadBalancers) != 3 {
			t.Fatalf("load balancers: %+v", us.LoadBalancers)
		}
		want := map[string]struct {
			scheme, fn string
			acl        bool
		}{
			"public-alb":   {"internet-facing", auditfixture.FnALB, false},
			"internal-alb": {"internal", auditfixture.FnALBInternal, false},
			"guarded-alb":  {"internet-facing", auditfixture.FnALBGuarded, true},
		}
		for _, lb := range us.LoadBalancers {
			w := want[lb.Name]
			if lb.Scheme != w.scheme || !lb.WebACLKnown || (lb.WebACLARN != "") != w.acl || len(lb.TargetGroups) != 1 ||
				len(lb.TargetGroups[0].Functions) != 1 || !strings.HasSuffix(lb.TargetGroups[0].Functions[0], ":function:"+w.fn) {
				t.Errorf("%s: %+v", lb.Name, lb)
			}
		}
		var limited []string
		for _, acl := range us.WebACLs {
			if !acl.Known {
				t.Errorf("web ACL %s not read", acl.Name)
			}
			if acl.RateLimited {
				limited = append(limited, acl.Name)
			}
		}
		if !slices.Equal(limited, []string{"rate-acl"}) || len(us.WebACLs) != 2 {
			t.Errorf("rate-limited web ACLs %v of %+v", limited, us.WebACLs)
		}
	})

	t.Run("each role and managed policy read once", func(t *testing.T) {
		counts := map[string]int{}
		for _, c := range proxy.Calls() {
			if c.Service != "iam" {
				continue
			}
			counts[c.Operation+" "+c.Form.Get("RoleName")+c.Form.Get("PolicyArn")]++
		}
		for k, n := range counts {
			if n != 1 {
				t.Errorf("%s called %d times", k, n)
			}
		}
		// Four roles of two regions attach AWSLambdaBasicExecutionRole.
		if counts["GetPolicy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"] != 1 {
			t.Errorf("GetPolicy of AWSLambdaBasicExecutionRole not made once: %v", counts)
		}
	})
}

// TestSecondAccount reads the account reached by assuming a role, with
// the same auditor: a managed policy read for the first account is not
// read again.
func TestSecondAccount(t *testing.T) {
	w := seeded(t)
	proxy := motoserver.NewProxy(t, w.moto.URL, motoserver.ProxyOptions{})
	ctx := context.Background()
	a := audit.New(audit.Options{WAFInterval: -1})
	auditMain(t, proxy.URL, a)
	cfg := config(proxy.URL, auditfixture.Region)
	second, err := audit.AssumeRole(ctx, cfg, audit.RoleARN("aws", auditfixture.Second, auditfixture.AuditRole))
	if err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	inv := a.Audit(ctx, audit.NewAccount(second, auditfixture.Second, "aws"), []string{auditfixture.Region})
	if len(inv.Regions[0].Functions) != 1 || inv.Regions[0].Functions[0].Name != auditfixture.FnSecond {
		t.Fatalf("second account: %+v", inv.Regions[0].Functions)
	}
	if f := inv.Regions[0].Functions[0]; !strings.Contains(f.ARN, ":"+auditfixture.Second+":") || len(f.Policies) != 1 {
		t.Errorf("second account's function: %+v", f)
	}
	for _, c := range proxy.Calls() {
		if c.Operation == "GetPolicy" || c.Operation == "GetPolicyVersion" {
			t.Errorf("%s %s read again", c.Operation, c.Form.Get("PolicyArn"))
		}
	}
	if len(inv.Roles) != 1 {
		t.Errorf("roles of the second account: %v", inv.Roles)
	}
}

// TestRefused: a refused call and a throttled one are reported, naming
// the region, the call and the resource, and the rest is read.
func TestRefused(t *testing.T) {
	w := seeded(t)
	refusedPolicy := "/functions/" + auditfixture.FnRefused + "/policy"
	throttledAliases := "/functions/" + auditfixture.FnCross + "/aliases"
	proxy := motoserver.NewProxy(t, w.moto.URL, motoserver.ProxyOptions{Refuse: func(c motoserver.Call) (motoserver.Refusal, bool) {
		switch {
		case c.Service == "lambda" && strings.HasSuffix(c.Path, refusedPolicy):
			return motoserver.Refusal{Status: 403, Code: "AccessDeniedException", Message: "not authorized to perform lambda:GetPolicy"}, true
		case c.Service == "lambda" && strings.HasSuffix(c.Path, throttledAliases):
			return motoserver.Refusal{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}, true
		case c.Operation == "GetRolePolicy" && c.Form.Get("RoleName") == auditfixture.RoleScoped:
			return motoserver.Refusal{Status: 403, Code: "AccessDenied", Message: "not authorized to perform iam:GetRolePolicy"}, true
		}
		return motoserver.Refusal{}, false
	}})
	inv := auditMain(t, proxy.URL, audit.New(audit.Options{WAFInterval: -1}))
	us := inv.Regions[0]
	var got []string
	for _, err := range us.Errors {
		got = append(got, err.Error())
	}
	fn := "arn:aws:lambda:us-east-1:" + auditfixture.Main + ":function:"
	want := []string{
		"audit us-east-1: lambda GetPolicy " + fn + auditfixture.FnRefused + ": AccessDeniedException: not authorized to perform lambda:GetPolicy",
		"audit us-east-1: lambda ListAliases " + fn + auditfixture.FnCross + ": TooManyRequestsException: Rate exceeded",
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(inv.Errors) != 1 || !strings.HasPrefix(inv.Errors[0].Error(), "audit "+auditfixture.Main+": iam GetRolePolicy arn:aws:iam::"+auditfixture.Main+":role/"+auditfixture.RoleScoped+" (policy scoped-role-inline): AccessDenied") {
		t.Errorf("account errors: %v", inv.Errors)
	}
	if r := inv.Roles["arn:aws:iam::"+auditfixture.Main+":role/"+auditfixture.RoleScoped]; r == nil || r.Complete {
		t.Errorf("the role whose policy was refused is not marked incomplete: %+v", r)
	}
	// Throttled calls were retried before giving up.
	n := 0
	for _, c := range proxy.Calls() {
		if strings.HasSuffix(c.Path, throttledAliases) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("throttled ListAliases tried %d times, want 3", n)
	}
	// The rest was read.
	if f := function(t, us, auditfixture.FnRefused); len(f.Policies) != 0 || f.Runtime != "python3.12" {
		t.Errorf("refused function: %+v", f)
	}
	if f := function(t, us, auditfixture.FnCross); len(f.Policies) != 2 || len(f.Versions) != 1 {
		t.Errorf("throttled function's other reads: %+v", f)
	}
	if f := function(t, us, auditfixture.FnPublic); len(f.Policies) != 1 {
		t.Errorf("public function: %+v", f)
	}
	if len(us.Functions) != 18 || len(us.LoadBalancers) != 3 || len(inv.Regions[1].Functions) != 1 {
		t.Errorf("the rest of the account was not read: %d functions, %d load balancers", len(us.Functions), len(us.LoadBalancers))
	}
}

// TestLambdaQuotas: paced, the calls of each of Lambda's quota pools
// arrive no faster than the pool allows, and the audit reads the same.
func TestLambdaQuotas(t *testing.T) {
	w := seeded(t)
	proxy := motoserver.NewProxy(t, w.moto.URL, motoserver.ProxyOptions{})
	cfg := config(proxy.URL, auditfixture.Region)
	const wafEvery = 300 * time.Millisecond
	inv := audit.New(audit.Options{WAFInterval: wafEvery}).Audit(context.Background(), audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region})
	if n := len(inv.Regions[0].Functions); n != 18 || len(inv.Regions[0].Errors) > 0 {
		t.Fatalf("read %d functions, errors %v", n, inv.Regions[0].Errors)
	}
	var policy, control, waf []time.Time
	for _, c := range proxy.Calls() {
		if c.Operation == "GetWebACLForResource" {
			waf = append(waf, c.At)
		}
		if c.Service != "lambda" {
			continue
		}
		switch {
		case strings.HasSuffix(c.Path, "/policy") && strings.Contains(c.Path, "/functions/"):
			policy = append(policy, c.At)
		case strings.Count(strings.Trim(c.Path, "/"), "/") == 2 && strings.Contains(c.Path, "/functions/"):
			// GetFunction: a pool of its own
		default:
			control = append(control, c.At)
		}
	}
	for name, pool := range map[string]struct {
		at   []time.Time
		rate int
	}{"GetPolicy": {policy, audit.GetPolicyRate}, "control plane": {control, audit.ControlPlaneRate}} {
		if len(pool.at) < 10 {
			t.Fatalf("%s: only %d calls", name, len(pool.at))
		}
		slices.SortFunc(pool.at, func(a, b time.Time) int { return a.Compare(b) })
		// n calls spaced 1/rate apart span at least (n-1)/rate, less a
		// little for the jitter of their arrival.
		span := pool.at[len(pool.at)-1].Sub(pool.at[0])
		least := time.Duration(len(pool.at)-1) * time.Second / time.Duration(pool.rate)
		if span < least-100*time.Millisecond {
			t.Errorf("%s: %d calls in %v, faster than %d a second", name, len(pool.at), span, pool.rate)
		}
	}
	// WAF's once-a-second calls, here once every 300 ms: the three load
	// balancers' GetWebACLForResource.
	if len(waf) != 3 {
		t.Fatalf("%d GetWebACLForResource calls, want 3", len(waf))
	}
	if span := waf[2].Sub(waf[0]); span < 2*wafEvery-100*time.Millisecond {
		t.Errorf("GetWebACLForResource: 3 calls in %v, faster than one every %v", span, wafEvery)
	}
}
