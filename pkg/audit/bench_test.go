package audit_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

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
				inv := audit.New(audit.Options{Concurrency: c, WAFInterval: -1}).Audit(ctx, audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region})
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
	inv := audit.New(audit.Options{WAFInterval: -1}).Audit(context.Background(), audit.NewAccount(cfg, auditfixture.Main, "aws"), []string{auditfixture.Region})
	calls := proxy.Calls()
	t.Logf("%d calls for %d functions, %d roles, %d layer versions, %d REST and %d HTTP APIs, %d load balancers, %d web ACLs:\n%s",
		len(calls), len(inv.Regions[0].Functions), len(inv.Roles), len(inv.Regions[0].Layers), len(inv.Regions[0].RestAPIs), len(inv.Regions[0].HTTPAPIs),
		len(inv.Regions[0].LoadBalancers), len(inv.Regions[0].WebACLs), byOperation(calls))
	if len(calls) == 0 {
		t.Fatal("no calls counted")
	}
}
