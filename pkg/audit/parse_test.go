package audit

import "testing"

func TestPolicyDocument(t *testing.T) {
	for in, want := range map[string]string{
		// IAM returns documents URL-encoded (RFC 3986); moto does not.
		"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2Bb%2F%2A%22%7D%5D%7D": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::a+b/*"}]}`,
		`{"Statement": []}`:    `{"Statement": []}`,
		" \n{\"a\": \"100%\"}": `{"a": "100%"}`,
		"%zz":                  "%zz", // not encoded, not JSON: kept for the judge to report
	} {
		if got := policyDocument(in); got != want {
			t.Errorf("policyDocument(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLambdaTarget(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:orders/invocations":      "arn:aws:lambda:eu-west-1:111122223333:function:orders",
		"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:orders:live/invocations": "arn:aws:lambda:eu-west-1:111122223333:function:orders:live",
		"arn:aws:lambda:eu-west-1:111122223333:function:items":                                                                                 "arn:aws:lambda:eu-west-1:111122223333:function:items",
		"https://example.com/backend":                          "",
		"arn:aws:apigateway:eu-west-1:sqs:path/111122223333/q": "",
		"": "",
	} {
		if got := lambdaTarget(in); got != want {
			t.Errorf("lambdaTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQualifiers(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
	if unqualified(fn+":live") != fn || unqualified(fn) != fn || qualifierOf(fn+":7") != "7" || qualifierOf(fn) != "" {
		t.Error("qualifier handling")
	}
	if roleName("arn:aws:iam::111122223333:role/service-role/worker") != "worker" {
		t.Error("roleName with a path")
	}
}
