package slackalert

import (
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func TestLinks(t *testing.T) {
	const id = "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	for _, tc := range []struct {
		name          string
		f             detect.Finding
		wantFn, wantE string
	}{
		{"name", detect.Finding{Region: "eu-west-1", Function: "billing-api", EventID: id},
			"https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/billing-api?tab=permissions",
			"https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + id},
		{"arn with alias", detect.Finding{Region: "ap-southeast-2", Function: "arn:aws:lambda:ap-southeast-2:123456789012:function:fn_1:prod"},
			"https://ap-southeast-2.console.aws.amazon.com/lambda/home?region=ap-southeast-2#/functions/fn_1?tab=permissions", ""},
		{"layer arn", detect.Finding{Region: "us-east-1", Layer: "arn:aws:lambda:us-east-1:123456789012:layer:shared:7"},
			"https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/layers/shared/versions/7", ""},
		{"attacker region", detect.Finding{Region: "us-east-1.evil.example|x", Function: "f", EventID: id}, "", ""},
		{"attacker name", detect.Finding{Region: "us-east-1", Function: "f>|<!channel>", EventID: "not-an-id"}, "", ""},
		{"bad arn", detect.Finding{Region: "us-east-1", Function: "arn:aws:lambda:us-east-1:1:function:a b"}, "", ""},
		{"govcloud", detect.Finding{Region: "us-gov-west-1", Function: "f", EventID: id}, "", ""},
		{"china", detect.Finding{Region: "cn-north-1", Function: "f", EventID: id}, "", ""},
		{"no resource", detect.Finding{Region: "us-east-1"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FunctionLink(tc.f); got != tc.wantFn {
				t.Errorf("FunctionLink = %q, want %q", got, tc.wantFn)
			}
			if got := EventLink(tc.f); got != tc.wantE {
				t.Errorf("EventLink = %q, want %q", got, tc.wantE)
			}
		})
	}
}
