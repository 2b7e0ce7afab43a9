package stacks_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/audit"
)

// TestAuditReadActions: the roles allow one action for each call of the
// audit's client interfaces, and nothing more, so that a call added to
// pkg/audit cannot be refused in AWS while it passes against moto.
func TestAuditReadActions(t *testing.T) {
	var want []string
	for _, c := range []struct {
		prefix string
		api    any
	}{
		{"lambda", (*audit.LambdaAPI)(nil)},
		{"iam", (*audit.IAMAPI)(nil)},
		{"elasticloadbalancing", (*audit.ELBAPI)(nil)},
		{"wafv2", (*audit.WAFAPI)(nil)},
		{"ec2", (*audit.RegionsAPI)(nil)},
	} {
		typ := reflect.TypeOf(c.api).Elem()
		for i := range typ.NumMethod() {
			want = append(want, c.prefix+":"+typ.Method(i).Name)
		}
	}
	// API Gateway's REST and HTTP read calls are one IAM action.
	for _, api := range []any{(*audit.RestAPIClient)(nil), (*audit.HTTPAPIClient)(nil)} {
		if reflect.TypeOf(api).Elem().NumMethod() > 0 && !slices.Contains(want, "apigateway:GET") {
			want = append(want, "apigateway:GET")
		}
	}
	if !sameSet(want, stacks.AuditReadActions) {
		t.Errorf("AuditReadActions %v, want %v (one for each call of pkg/audit's interfaces)", stacks.AuditReadActions, want)
	}
}
