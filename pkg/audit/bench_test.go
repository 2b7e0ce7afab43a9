package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambdawatch/lambdawatch/internal/auditfixture"
	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
)

// BenchmarkAudit1000 audits 1,000 functions in moto behind a proxy that
// adds 20 ms to every call, as a far endpoint would, at several bounds on
// the calls in flight per service. Each run is long; use -benchtime=1x:
//
//	go test ./pkg/audit -run '^$' -bench Audit1000 -benchtime=1x
func BenchmarkAudit1000(b *testing.B) {
	moto := motoserver.Start(b)
	ctx := context.Background()
	const n = 1000
	if err := auditfixture.Functions(ctx, motoserver.Config(moto.URL, auditfixture.Region), n); err != nil {
		b.Fatal(err)
	}
	for _, c := range []int{2, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			proxy := motoserver.NewProxy(b, moto.URL, motoserver.ProxyOptions{Delay: 20 * time.Millisecond})
			cfg := config(proxy.URL, auditfixture.Region)
			for b.Loop() {
				proxy.Reset()
				inv := audit.New(audit.Options{Concurrency: c, WAFInterval: -1, IgnoreLambdaQuotas: true}).Audit(ctx, audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region})
				if got := len(inv.Regions[0].Functions); got != n || len(inv.Regions[0].Errors) > 0 {
					b.Fatalf("read %d functions, errors %v", got, inv.Regions[0].Errors)
				}
			}
			calls := proxy.Calls()
			b.ReportMetric(float64(len(calls))/n, "calls/function")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/audit")
			if c == 8 {
				b.Logf("calls by operation, %d functions:\n%s", n, byOperation(calls))
			}
		})
	}
}

// byOperation counts calls by service and operation, REST paths reduced
// to their last part.
func byOperation(calls []motoserver.Call) string {
	counts := map[string]int{}
	for _, c := range calls {
		op := c.Operation
		if op == "" {
			parts := strings.Split(strings.Trim(c.Path, "/"), "/")
			op = c.Method + " " + parts[len(parts)-1]
			if len(parts) >= 3 && parts[1] == "functions" && len(parts) == 3 {
				op = c.Method + " functions/NAME"
			}
			if strings.HasPrefix(parts[len(parts)-1], "bench-") {
				op = c.Method + " " + parts[len(parts)-2] + "/NAME"
			}
		}
		counts[c.Service+" "+op]++
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%6d %s\n", counts[k], k)
	}
	return b.String()
}

// TestCallsPerAccount counts the calls an audit of the fixture's main
// account makes in one region, by operation, for docs/audit.md.
func TestCallsPerAccount(t *testing.T) {
	w := seeded(t)
	proxy := motoserver.NewProxy(t, w.moto.URL, motoserver.ProxyOptions{})
	cfg := config(proxy.URL, auditfixture.Region)
	inv := audit.New(audit.Options{WAFInterval: -1, IgnoreLambdaQuotas: true}).Audit(context.Background(), audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region})
	calls := proxy.Calls()
	t.Logf("%d calls for %d functions, %d roles, %d layer versions, %d REST and %d HTTP APIs, %d load balancers, %d web ACLs:\n%s",
		len(calls), len(inv.Regions[0].Functions), len(inv.Roles), len(inv.Regions[0].Layers), len(inv.Regions[0].RestAPIs), len(inv.Regions[0].HTTPAPIs),
		len(inv.Regions[0].LoadBalancers), len(inv.Regions[0].WebACLs), byOperation(calls))
	if len(calls) == 0 {
		t.Fatal("no calls counted")
	}
}

// BenchmarkAuditScaling audits 1,000 functions served by a stand-in of
// Lambda's read calls written in Go (answering at once, paging
// ListFunctions by 50 as Lambda does) behind the same 20 ms proxy; IAM
// and the other services are moto's. moto answers one call at a time, so
// past a few calls in flight it, not the audit, sets the pace; this shows
// how the bound scales when the endpoint does not:
//
//	go test ./pkg/audit -run '^$' -bench AuditScaling -benchtime=1x
func BenchmarkAuditScaling(b *testing.B) {
	moto := motoserver.Start(b)
	ctx := context.Background()
	const n = 1000
	if err := auditfixture.Functions(ctx, motoserver.Config(moto.URL, auditfixture.Region), 0); err != nil {
		b.Fatal(err)
	}
	fake := httptest.NewServer(fakeLambda(n))
	b.Cleanup(fake.Close)
	runs := []struct {
		c      int
		quotas bool
	}{{2, false}, {4, false}, {8, false}, {16, false}, {32, false}, {64, false}, {8, true}}
	for _, run := range runs {
		b.Run(fmt.Sprintf("quotas=%v/concurrency=%d", run.quotas, run.c), func(b *testing.B) {
			proxy := motoserver.NewProxy(b, fake.URL, motoserver.ProxyOptions{Delay: 20 * time.Millisecond})
			mcfg := config(moto.URL, auditfixture.Region)
			lcfg := config(proxy.URL, auditfixture.Region)
			acct := audit.NewAccount(mcfg, auditfixture.Main, "aws")
			others := acct.Region
			acct.Region = func(region string) audit.RegionClients {
				rc := others(region)
				rc.Lambda = lambda.NewFromConfig(lcfg)
				return rc
			}
			for b.Loop() {
				proxy.Reset()
				inv := audit.New(audit.Options{Concurrency: run.c, WAFInterval: -1, IgnoreLambdaQuotas: !run.quotas}).Audit(ctx, acct, []string{auditfixture.Region})
				if got := len(inv.Regions[0].Functions); got != n || len(inv.Regions[0].Errors) > 0 {
					b.Fatalf("read %d functions, errors %v", got, inv.Regions[0].Errors)
				}
			}
			b.ReportMetric(float64(len(proxy.Calls()))/n, "lambda-calls/function")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/audit")
		})
	}
}

// fakeLambda answers Lambda's read calls for n functions with no
// aliases, versions, policies or URLs.
func fakeLambda(n int) http.Handler {
	const account = auditfixture.Main
	fn := func(i int) map[string]any {
		name := fmt.Sprintf("fn-%04d", i)
		return map[string]any{
			"FunctionName": name, "FunctionArn": "arn:aws:lambda:us-east-1:" + account + ":function:" + name,
			"Runtime": "python3.12", "PackageType": "Zip", "Role": "arn:aws:iam::" + account + ":role/bench-role",
		}
	}
	write := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		if status >= 400 {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case len(parts) == 2 && parts[1] == "functions":
			start, _ := strconv.Atoi(r.URL.Query().Get("Marker"))
			end := min(start+50, n)
			page := map[string]any{}
			var fns []any
			for i := start; i < end; i++ {
				fns = append(fns, fn(i))
			}
			page["Functions"] = fns
			if end < n {
				page["NextMarker"] = strconv.Itoa(end)
			}
			write(w, 200, page)
		case len(parts) == 3 && parts[1] == "functions":
			i, _ := strconv.Atoi(strings.TrimPrefix(parts[2], "fn-"))
			write(w, 200, map[string]any{"Configuration": fn(i)})
		case len(parts) == 2 && parts[1] == "layers":
			write(w, 200, map[string]any{"Layers": []any{}})
		case len(parts) == 4 && parts[3] == "concurrency":
			write(w, 200, map[string]any{})
		case len(parts) == 4 && parts[3] == "aliases":
			write(w, 200, map[string]any{"Aliases": []any{}})
		case len(parts) == 4 && parts[3] == "versions":
			write(w, 200, map[string]any{"Versions": []any{map[string]any{"Version": "$LATEST"}}})
		case len(parts) == 4 && parts[3] == "urls":
			write(w, 200, map[string]any{"FunctionUrlConfigs": []any{}})
		case len(parts) == 4 && parts[3] == "policy":
			write(w, 404, map[string]any{"Type": "User", "Message": "No policy is associated with the given resource."})
		default:
			write(w, 404, map[string]any{"Message": "not served by the stand-in: " + r.URL.Path})
		}
	})
}
