package awsid

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseARN(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    ARN
		wantErr string
	}{
		{in: "arn:aws:lambda:eu-west-1:111122223333:function:f:prod",
			want: ARN{Partition: "aws", Service: "lambda", Region: "eu-west-1", Account: "111122223333", Resource: "function:f:prod"}},
		{in: "arn:aws:execute-api:ap-southeast-1::*",
			want: ARN{Partition: "aws", Service: "execute-api", Region: "ap-southeast-1", Resource: "*"}},
		{in: "arn:aws:s3:::bucket/key", want: ARN{Partition: "aws", Service: "s3", Resource: "bucket/key"}},
		{in: "arn:aws:iam::111122223333:role/path/r", want: ARN{Partition: "aws", Service: "iam", Account: "111122223333", Resource: "role/path/r"}},
		{in: "arn:aws-eusc:sns:eusc-de-east-1:111122223333:t", want: ARN{Partition: "aws-eusc", Service: "sns", Region: "eusc-de-east-1", Account: "111122223333", Resource: "t"}},
		{in: "arn:*:*:*:*:*", want: ARN{Partition: "*", Service: "*", Region: "*", Account: "*", Resource: "*"}},
		{in: "arn:::::", want: ARN{}},
		{in: "", wantErr: `not an ARN: ""`},
		{in: "arn:aws:s3", wantErr: `not an ARN: "arn:aws:s3"`},
		{in: "urn:aws:s3:::b:x", wantErr: `not an ARN: "urn:aws:s3:::b:x"`},
		{in: "ARN:aws:s3:::b", wantErr: `not an ARN: "ARN:aws:s3:::b"`},
		{in: "function:f", wantErr: `not an ARN: "function:f"`},
	} {
		got, err := ParseARN(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("ParseARN(%q) = %+v, %q; want %+v, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseARN(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseARNErrorIsShort(t *testing.T) {
	_, err := ParseARN(strings.Repeat("é", 10000))
	if err == nil || len(err.Error()) > 200 || !utf8.ValidString(err.Error()) {
		t.Fatalf("error %q: want a short, valid message", err)
	}
}

func TestARNValidate(t *testing.T) {
	for _, tt := range []struct {
		in      string
		wantErr string // "" for valid
	}{
		{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:lambdawatch/slack-AbCdEf", ""},
		{"arn:aws-cn:lambda:cn-north-1:111122223333:function:f", ""},
		{"arn:aws-us-gov:sns:us-gov-west-1:111122223333:t", ""},
		{"arn:aws-iso-b:sqs:us-isob-east-1:111122223333:q", ""},
		{"arn:aws-eusc:secretsmanager:eusc-de-east-1:111122223333:secret:s-AbCdEf", ""},
		{"arn:aws:s3:::bucket", ""},
		{"arn:aws:iam::111122223333:role/r", ""},
		{"arn:aws:iam::aws:policy/ReadOnlyAccess", ""},
		{"arn:aws:execute-api:ap-southeast-1::*",
			`ARN "arn:aws:execute-api:ap-southeast-1::*": resource "*" holds a wildcard`},
		{"arn:aws:sns:eu-west-1:111122223333:t?",
			`ARN "arn:aws:sns:eu-west-1:111122223333:t?": resource "t?" holds a wildcard`},
		{"arn:aws:sns:cn-north-1:111122223333:t",
			`ARN "arn:aws:sns:cn-north-1:111122223333:t": region cn-north-1 is in partition aws-cn, not aws`},
		{"arn:aws-eu:sns:eu-west-1:111122223333:t",
			`ARN "arn:aws-eu:sns:eu-west-1:111122223333:t": partition "aws-eu" is not one of AWS's (aws, aws-cn, aws-us-gov, ...)`},
		{"arn:*:*:*:*:*",
			`ARN "arn:*:*:*:*:*": partition "*" is not one of AWS's (aws, aws-cn, aws-us-gov, ...); service "*": want lower-case letters, digits and hyphens; region "*" is not a region name; account "*" is not a 12-digit account ID; resource "*" holds a wildcard`},
		{"arn:aws:SNS:eu-west-1:111122223333:t",
			`ARN "arn:aws:SNS:eu-west-1:111122223333:t": service "SNS": want lower-case letters, digits and hyphens`},
		{"arn:aws:sns:eu-west:111122223333:t",
			`ARN "arn:aws:sns:eu-west:111122223333:t": region "eu-west" is not a region name`},
		{"arn:aws:sns:eu-west-1:1234:t",
			`ARN "arn:aws:sns:eu-west-1:1234:t": account "1234" is not a 12-digit account ID`},
		{"arn:aws:sns:eu-west-1:111122223333:",
			`ARN "arn:aws:sns:eu-west-1:111122223333:": no resource`},
		{"arn:::::",
			`ARN "arn:::::": partition "" is not one of AWS's (aws, aws-cn, aws-us-gov, ...); service "": want lower-case letters, digits and hyphens; no resource`},
	} {
		a, err := ParseARN(tt.in)
		if err != nil {
			t.Fatalf("ParseARN(%q): %v", tt.in, err)
		}
		gotErr := ""
		if err := a.Validate(); err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr {
			t.Errorf("Validate(%q) = %q\n want %q", tt.in, gotErr, tt.wantErr)
		}
	}
}

// FuzzParseARN: an accepted ARN's parts put back together are the input,
// no field but the resource holds a colon, and a refusal is short whatever
// the input's size.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:lambda:eu-west-1:111122223333:function:f:1", "arn:aws:s3:::bucket/key", "arn:aws:iam::111122223333:root",
		"arn:*:*:*:*:*", "arn:aws:s3", "urn:aws:s3:::b:x", "", "arn:::::", "arn:aws-eusc:sns:eusc-de-east-1:111122223333:t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
			return
		}
		if a.String() != s {
			t.Errorf("parts join to %q, want %q", a.String(), s)
		}
		for _, p := range []string{a.Partition, a.Service, a.Region, a.Account} {
			if strings.Contains(p, ":") {
				t.Errorf("%q: field %q holds a colon", s, p)
			}
		}
		if a.Validate() == nil {
			if !IsPartition(a.Partition) || (a.Region != "" && !IsRegion(a.Region)) || strings.ContainsAny(s, "*?") {
				t.Errorf("Validate accepts %q", s)
			}
		}
	})
}

// FuzzPartition: a region name is short, lower case, and of a known
// partition.
func FuzzPartition(f *testing.F) {
	for _, s := range []string{"us-east-1", "eusc-de-east-1", "us-isob-east-1", "us-east-1a", "", "a-b-c-d-e", "us-gov-west-1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := Partition(s)
		if !ok {
			if p != "" {
				t.Errorf("Partition(%q) = %q for no region", s, p)
			}
			return
		}
		if !IsPartition(p) || strings.ToLower(s) != s || strings.Count(s, "-") < 2 || strings.Count(s, "-") > 3 || len(s) > 32 {
			t.Errorf("Partition(%q) = %q", s, p)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' }) {
			t.Errorf("region %q holds other characters", s)
		}
	})
}

func TestPrincipal(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::444455556666:root":       "444455556666",
		"arn:aws-cn:iam::444455556666:root":    "444455556666",
		"444455556666":                         "444455556666",
		"arn:aws:iam::444455556666:role/admin": "arn:aws:iam::444455556666:role/admin",
		"arn:aws:iam::notanaccount:root":       "arn:aws:iam::notanaccount:root",
		"arn:aws:sts::444455556666:root":       "arn:aws:sts::444455556666:root",
		"*":                                    "*",
		"s3.amazonaws.com":                     "s3.amazonaws.com",
	} {
		if got := Principal(in); got != want {
			t.Errorf("Principal(%q) = %q, want %q", in, got, want)
		}
	}
}
