package detect

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

const (
	owner   = "111122223333"
	trusted = "444455556666"
	foreign = "999988887777"
	orgID   = "o-a1b2c3d4e5"
)

var testConfig = Config{TrustedAccounts: []string{trusted}, OrgID: orgID}

// record builds a Lambda record; params and response are JSON objects.
func record(name, params, response string) cloudtrail.Record {
	r := cloudtrail.Record{
		EventID:            "ev-1",
		EventTime:          time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		EventSource:        cloudtrail.LambdaSource,
		EventName:          name,
		AWSRegion:          "eu-west-1",
		RecipientAccountID: owner,
		SourceIPAddress:    "203.0.113.7",
		UserAgent:          "aws-cli/2.15.0",
		UserIdentity:       cloudtrail.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::" + owner + ":user/alice"},
	}
	if params != "" {
		r.RequestParameters = json.RawMessage(params)
	}
	if response != "" {
		r.ResponseElements = json.RawMessage(response)
	}
	return r
}

// stored wraps a statement as responseElements holds it: a JSON string.
func stored(statement string) string {
	b, _ := json.Marshal(map[string]string{"statement": statement})
	return string(b)
}

func failed(r cloudtrail.Record) cloudtrail.Record {
	r.ErrorCode, r.ErrorMessage = "AccessDenied", "User is not authorized"
	r.ResponseElements = json.RawMessage("null")
	return r
}

func at(r cloudtrail.Record, day string) cloudtrail.Record {
	t, _ := time.Parse(time.DateOnly, day)
	r.EventTime = t
	return r
}

type want struct {
	rule      string
	severity  Severity
	principal string // checked when set
}

// checkJudge judges rec and checks the findings against want, the error
// against wantErr (a part of it; empty: none), and the fields every
// finding carries; unnamed says the record names no resource.
func checkJudge(t *testing.T, e *Engine, rec cloudtrail.Record, wants []want, wantErr string, unnamed bool) {
	t.Helper()
	got, err := e.Judge(rec)
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("error: %v", err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("error %v, want one containing %q", err, wantErr)
	}
	if len(got) != len(wants) {
		t.Fatalf("got %d findings %v, want %v", len(got), got, wants)
	}
	for i, w := range wants {
		f := got[i]
		if f.Rule != w.rule || f.Severity != w.severity {
			t.Errorf("finding %d = %s %s, want %s %s", i, f.Rule, f.Severity, w.rule, w.severity)
		}
		if w.principal != "" && f.Principal != w.principal {
			t.Errorf("finding %d principal = %q, want %q", i, f.Principal, w.principal)
		}
		wantOutcome := Succeeded
		if rec.ErrorCode != "" {
			wantOutcome = Failed
		}
		if f.Outcome != wantOutcome || f.EventID != "ev-1" || f.Account != owner || f.Region != "eu-west-1" || f.Actor == "" || f.Summary == "" || (f.Resource() == "") != unnamed {
			t.Errorf("finding %d lacks common fields: %+v", i, f)
		}
		if !reads(f.Rule, rec) {
			t.Errorf("finding %d: %s does not declare %s, which raised it", i, f.Rule, rec.EventName)
		}
		if f.Outcome == Failed && !strings.Contains(f.Summary, "tried to") {
			t.Errorf("failed call's summary %q does not say tried", f.Summary)
		}
	}
}

func TestJudge(t *testing.T) {
	const fn = `"functionName":"payments","statementId":"s1"`
	tests := []struct {
		name    string
		rec     cloudtrail.Record
		want    []want
		wantErr string
	}{
		// public-invoke
		{"star in request", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunction","principal":"*"}`, ""), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"older suffix", record("AddPermission20150331", `{`+fn+`,"principal":"*"}`, ""), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"no suffix", record("AddPermission", `{`+fn+`,"principal":"*"}`, ""), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"principal only in statement", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Sid":"s1","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111122223333:function:payments"}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"AWS star in statement", record("AddPermission20150331v2", `{`+fn+`,"principal":"*"}`, stored(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"lambda:InvokeFunction"}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"statement wins over request", record("AddPermission20150331v2", `{`+fn+`,"principal":"444455556666"}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction"}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"request keys in any case", record("AddPermission20150331v2", `{"FunctionName":"payments","Principal":"*","SOURCEACCOUNT":""}`, ""), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"on an alias", record("AddPermission20150331v2", `{`+fn+`,"principal":"*","qualifier":"prod"}`, ""), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"failed call is at most LOW", failed(record("AddPermission20150331v2", `{`+fn+`,"principal":"*"}`, "")), []want{{RulePublicInvoke, Low, "*"}}, ""},
		{"IfExists narrows nothing", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"negated condition narrows nothing", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-zzzzzzzzzz"}}}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"each condition judged alone", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"StringLike":{"AWS:SourceAccount":"*"}}}`)), nil, ""},
		{"wildcard source account narrows nothing", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"StringLike":{"AWS:SourceAccount":"*"}}}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"deny grants nothing", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Deny","Principal":"*","Action":"lambda:InvokeFunction"}`)), nil, ""},

		// organization and accounts
		{"star within own org", record("AddPermission20150331v2", `{`+fn+`,"principal":"*","principalOrgID":"o-a1b2c3d4e5"}`, ""), nil, ""},
		{"star within own org, stored", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}`)), nil, ""},
		{"condition keys in any case", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"StringEquals":{"AWS:PRINCIPALORGID":"o-a1b2c3d4e5"}}}`)), nil, ""},
		{"star within foreign org", record("AddPermission20150331v2", `{`+fn+`,"principal":"*","principalOrgID":"o-zz9y8x7w6v"}`, ""), []want{{RuleCrossAccountInvoke, High, "*"}}, ""},
		{"star with foreign source account", record("AddPermission20150331v2", `{`+fn+`,"principal":"*","sourceAccount":"999988887777"}`, ""), []want{{RuleCrossAccountInvoke, High, "*"}}, ""},
		{"foreign account", record("AddPermission20150331v2", `{`+fn+`,"principal":"999988887777"}`, stored(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"lambda:InvokeFunction"}`)), []want{{RuleCrossAccountInvoke, High, "arn:aws:iam::999988887777:root"}}, ""},
		{"foreign role", record("AddPermission20150331v2", `{`+fn+`,"principal":"arn:aws:iam::999988887777:role/sync"}`, ""), []want{{RuleCrossAccountInvoke, High, "arn:aws:iam::999988887777:role/sync"}}, ""},
		{"trusted account", record("AddPermission20150331v2", `{`+fn+`,"principal":"444455556666"}`, ""), nil, ""},
		{"own account", record("AddPermission20150331v2", `{`+fn+`,"principal":"arn:aws:iam::111122223333:role/x"}`, ""), nil, ""},
		{"foreign account inside own org", record("AddPermission20150331v2", `{`+fn+`,"principal":"999988887777","principalOrgID":"o-a1b2c3d4e5"}`, ""), nil, ""},
		{"canonical user", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"lambda:InvokeFunction"}`)), []want{{RuleCrossAccountInvoke, High, "CanonicalUser:abc"}}, ""},
		{"other action to foreign account", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:GetFunction","principal":"999988887777"}`, ""), []want{{RuleCrossAccountInvoke, High, "999988887777"}}, ""},

		// service principals
		{"s3 without source account", record("AddPermission20150331v2", `{`+fn+`,"principal":"s3.amazonaws.com","sourceArn":"arn:aws:s3:::bucket"}`, ""), []want{{RuleConfusedDeputy, Medium, "s3.amazonaws.com"}}, ""},
		{"s3 narrowed to owner", record("AddPermission20150331v2", `{`+fn+`,"principal":"s3.amazonaws.com","sourceArn":"arn:aws:s3:::bucket","sourceAccount":"111122223333"}`, ""), nil, ""},
		{"s3 narrowed to owner, stored", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`)), nil, ""},
		{"s3 for a foreign account", record("AddPermission20150331v2", `{`+fn+`,"principal":"s3.amazonaws.com","sourceAccount":"999988887777"}`, ""), []want{{RuleCrossAccountInvoke, High, "s3.amazonaws.com"}}, ""},
		{"service with nothing", record("AddPermission20150331v2", `{`+fn+`,"principal":"sns.amazonaws.com"}`, ""), []want{{RuleConfusedDeputy, Medium, "sns.amazonaws.com"}}, ""},
		{"api gateway source arn without account", record("AddPermission20150331v2", `{`+fn+`,"principal":"apigateway.amazonaws.com","sourceArn":"arn:aws:execute-api:ap-southeast-1::*"}`, ""), []want{{RuleConfusedDeputy, Medium, "apigateway.amazonaws.com"}}, ""},
		{"source arn with wildcard account", record("AddPermission20150331v2", `{`+fn+`,"principal":"apigateway.amazonaws.com","sourceArn":"arn:aws:execute-api:eu-west-1:*:abc/*"}`, ""), []want{{RuleConfusedDeputy, Medium, "apigateway.amazonaws.com"}}, ""},
		{"own rule", record("AddPermission20150331v2", `{`+fn+`,"principal":"events.amazonaws.com","sourceArn":"arn:aws:events:eu-west-1:111122223333:rule/nightly"}`, ""), nil, ""},
		{"trusted account's topic", record("AddPermission20150331v2", `{`+fn+`,"principal":"sns.amazonaws.com","sourceArn":"arn:aws:sns:eu-west-1:444455556666:topic"}`, ""), nil, ""},
		{"foreign topic", record("AddPermission20150331v2", `{`+fn+`,"principal":"sns.amazonaws.com","sourceArn":"arn:aws:sns:eu-west-1:999988887777:topic"}`, ""), []want{{RuleConfusedDeputy, Medium, "sns.amazonaws.com"}}, ""},
		{"alexa with token", record("AddPermission20150331v2", `{`+fn+`,"principal":"alexa-appkit.amazon.com","eventSourceToken":"amzn1.ask.skill.123"}`, ""), nil, ""},
		{"service failed", failed(record("AddPermission20150331v2", `{`+fn+`,"principal":"s3.amazonaws.com"}`, "")), []want{{RuleConfusedDeputy, Low, ""}}, ""},

		// function URLs
		{"url action, auth NONE", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunctionUrl","principal":"*","functionUrlAuthType":"NONE"}`, ""), []want{{RulePublicFunctionURL, Critical, "*"}}, ""},
		{"url action, auth NONE, stored", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`)), []want{{RulePublicFunctionURL, Critical, "*"}}, ""},
		{"invoke via url", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunction","principal":"*","invokedViaFunctionUrl":true}`, ""), []want{{RulePublicFunctionURL, Critical, "*"}}, ""},
		{"invoke via url, stored", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`)), []want{{RulePublicFunctionURL, Critical, "*"}}, ""},
		{"url action, IAM auth", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunctionUrl","principal":"*","functionUrlAuthType":"AWS_IAM"}`, ""), []want{{RuleCrossAccountInvoke, High, "*"}}, ""},
		{"invoke via url, IAM auth", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"},"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}}`)), []want{{RuleCrossAccountInvoke, High, "*"}}, ""},
		{"invoke with IAM url auth", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunction","principal":"*","functionUrlAuthType":"AWS_IAM"}`, ""), []want{{RuleCrossAccountInvoke, High, "*"}}, ""},
		{"invoke with url auth NONE", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunction","principal":"*","functionUrlAuthType":"NONE"}`, ""), []want{{RulePublicFunctionURL, Critical, "*"}}, ""},
		{"url action to own account", record("AddPermission20150331v2", `{`+fn+`,"action":"lambda:InvokeFunctionUrl","principal":"111122223333","functionUrlAuthType":"AWS_IAM"}`, ""), nil, ""},
		{"create url NONE", record("CreateFunctionUrlConfig", `{"functionName":"payments","authType":"NONE"}`, `{"functionUrl":"https://abc.lambda-url.eu-west-1.on.aws/","authType":"NONE"}`), []want{{RuleFunctionURLAuthNone, High, ""}}, ""},
		{"create url IAM", record("CreateFunctionUrlConfig", `{"functionName":"payments","authType":"AWS_IAM"}`, ""), nil, ""},
		{"update url to NONE", record("UpdateFunctionUrlConfig", `{"functionName":"payments","authType":"NONE"}`, `{"authType":"NONE"}`), []want{{RuleFunctionURLAuthNone, High, ""}}, ""},
		{"cors-only update of a NONE url is not a new grant", record("UpdateFunctionUrlConfig", `{"functionName":"payments","cors":{}}`, `{"authType":"NONE"}`), nil, ""},
		{"create url NONE from the response", record("CreateFunctionUrlConfig", `{"functionName":"payments"}`, `{"authType":"NONE"}`), []want{{RuleFunctionURLAuthNone, High, ""}}, ""},
		{"update url to IAM", record("UpdateFunctionUrlConfig", `{"functionName":"payments","authType":"AWS_IAM"}`, `{"authType":"AWS_IAM"}`), nil, ""},
		{"create url failed", failed(record("CreateFunctionUrlConfig", `{"functionName":"payments","authType":"NONE"}`, "")), []want{{RuleFunctionURLAuthNone, Low, ""}}, ""},

		// layers
		{"public layer", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"statementId":"s","action":"lambda:GetLayerVersion","principal":"*"}`, ""), []want{{RulePublicLayer, High, "*"}}, ""},
		{"layer to own org", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"*","organizationId":"o-a1b2c3d4e5"}`, ""), nil, ""},
		{"layer to own org, stored", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3}`, stored(`{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:eu-west-1:111122223333:layer:lib:3","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}`)), nil, ""},
		{"layer to foreign org", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"*","organizationId":"o-zz9y8x7w6v"}`, ""), []want{{RuleCrossAccountLayer, Medium, "*"}}, ""},
		{"layer to foreign account", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"999988887777"}`, ""), []want{{RuleCrossAccountLayer, Medium, "999988887777"}}, ""},
		{"layer to trusted account", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"444455556666"}`, ""), nil, ""},
		{"public layer failed", failed(record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"*"}`, "")), []want{{RulePublicLayer, Low, "*"}}, ""},

		// removals
		{"permission removed", record("RemovePermission20150331v2", `{"functionName":"payments","statementId":"s1"}`, ""), []want{{RulePermissionRemoved, Info, ""}}, ""},
		{"layer permission removed", record("RemoveLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"statementId":"s1"}`, ""), []want{{RulePermissionRemoved, Info, ""}}, ""},

		// runtimes and layers attached
		{"create on deprecated runtime", at(record("CreateFunction20150331", `{"functionName":"old","runtime":"python3.9"}`, ""), "2026-11-02"), []want{{RuleEOLRuntime, Medium, ""}}, ""},
		{"update to runtime deprecated soon", at(record("UpdateFunctionConfiguration20150331v2", `{"functionName":"f","runtime":"dotnet8"}`, ""), "2026-11-01"), []want{{RuleEOLRuntime, Low, ""}}, ""},
		{"runtime deprecated far ahead", at(record("UpdateFunctionConfiguration20150331v2", `{"functionName":"f","runtime":"nodejs22.x"}`, ""), "2026-11-01"), nil, ""},
		{"deprecation judged at event time", at(record("CreateFunction20150331", `{"functionName":"old","runtime":"python3.9"}`, ""), "2024-01-01"), nil, ""},
		{"supported runtime", record("CreateFunction20150331", `{"functionName":"new","runtime":"python3.13"}`, ""), nil, ""},
		{"create runtime from response", at(record("CreateFunction20150331", `{"functionName":"old"}`, `{"runtime":"nodejs16.x"}`), "2026-11-02"), []want{{RuleEOLRuntime, Medium, ""}}, ""},
		{"update without runtime does not judge the old one", record("UpdateFunctionConfiguration20150331v2", `{"functionName":"f","timeout":30}`, `{"runtime":"python3.9"}`), nil, ""},
		{"create deprecated runtime failed", failed(at(record("CreateFunction20150331", `{"functionName":"old","runtime":"python3.9"}`, ""), "2026-11-02")), []want{{RuleEOLRuntime, Low, ""}}, ""},
		{"foreign layer", record("UpdateFunctionConfiguration20150331v2", `{"functionName":"f","layers":["arn:aws:lambda:eu-west-1:111122223333:layer:own:1","arn:aws:lambda:eu-west-1:999988887777:layer:x:2","arn:aws:lambda:eu-west-1:444455556666:layer:t:1"]}`, ""), []want{{RuleForeignLayer, Medium, foreign}}, ""},
		{"create with foreign layer from response", record("CreateFunction20150331", `{"functionName":"f"}`, `{"layers":[{"arn":"arn:aws:lambda:eu-west-1:999988887777:layer:x:2"}]}`), []want{{RuleForeignLayer, Medium, foreign}}, ""},
		{"eol and foreign layer together", at(record("CreateFunction20150331", `{"functionName":"f","runtime":"python3.9","layers":["arn:aws:lambda:eu-west-1:999988887777:layer:x:2"]}`, ""), "2026-11-02"), []want{{RuleEOLRuntime, Medium, ""}, {RuleForeignLayer, Medium, foreign}}, ""},

		// calls no rule reads, other services
		{"get function", record("GetFunction20150331v2", `{"functionName":"f"}`, ""), nil, ""},
		{"put concurrency", record("PutFunctionConcurrency20171031", `{"functionName":"f","reservedConcurrentExecutions":1}`, ""), nil, ""},

		// bad input: a clear error, and what can still be judged
		{"broken statement falls back to the request", record("AddPermission20150331v2", `{`+fn+`,"principal":"*"}`, `{"statement":"{not json"}`), []want{{RulePublicInvoke, Critical, "*"}}, "responseElements.statement"},
		{"principal of the wrong type", record("AddPermission20150331v2", `{"functionName":"f","principal":{"AWS":"*"}}`, ""), []want{{RuleUnreadableGrant, Medium, ""}}, "requestParameters.principal: want string, got JSON object"},
		{"request of the wrong type, statement judged", record("AddPermission20150331v2", `{"functionName":"f","principal":{"AWS":"*"}}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction"}`)), []want{{RulePublicInvoke, Critical, "*"}}, "requestParameters.principal"},
		{"bad request field hides no other", failed(record("AddPermission20150331v2", `{"functionName":{"x":1},"qualifier":["a"],"principal":"*","statementId":"s"}`, "")), []want{{RulePublicInvoke, Low, "*"}}, "requestParameters.functionName: want string, got JSON object"},
		{"failed call with no request recorded", failed(record("AddPermission20150331v2", `null`, "")), nil, ""},
		{"empty principal in the statement", record("AddPermission20150331v2", `{"functionName":"f"}`, stored(`{"Effect":"Allow","Principal":{"AWS":""},"Action":"lambda:InvokeFunction"}`)), []want{{RuleUnreadableGrant, Medium, ""}}, "empty AWS principal"},
		{"layers as objects", at(record("CreateFunction20150331", `{"functionName":"f","runtime":"python3.9","layers":[{"arn":"arn:aws:lambda:eu-west-1:999988887777:layer:x:2"}]}`, ""), "2026-11-02"), []want{{RuleEOLRuntime, Medium, ""}, {RuleForeignLayer, Medium, foreign}}, ""},
		{"stored statement naming nobody falls back to the request", record("AddPermission20150331v2", `{`+fn+`,"principal":"*","sourceAccount":"111122223333"}`, stored(`{}`)), nil, ""},
		{"stored statement naming nobody, public request", record("AddPermission20150331v2", `{`+fn+`,"principal":"*"}`, stored(`{}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"stored statement naming nobody, no request", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{}`)), []want{{RuleUnreadableGrant, Medium, ""}}, "no principal"},
		{"stored NotPrincipal", record("AddPermission20150331v2", `{`+fn+`}`, stored(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"lambda:InvokeFunction"}`)), []want{{RulePublicInvoke, Critical, "*"}}, ""},
		{"unreadable layer grant", record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3}`, ""), []want{{RuleUnreadableGrant, Medium, ""}}, "no principal"},
		{"no principal anywhere", record("AddPermission20150331v2", `{"functionName":"f"}`, ""), []want{{RuleUnreadableGrant, Medium, ""}}, "no principal"},
		{"layer that is not an ARN", record("UpdateFunctionConfiguration20150331v2", `{"functionName":"f","layers":["my-layer","arn:aws:lambda:eu-west-1:999988887777:layer:x:2"]}`, ""), []want{{RuleForeignLayer, Medium, foreign}}, "layers[0]: not a layer version ARN"},
		{"request not an object", record("AddPermission20150331v2", `"x"`, ""), []want{{RuleUnreadableGrant, Medium, ""}}, "requestParameters"},
	}
	// Records that name no function or layer.
	unnamed := map[string]bool{"bad request field hides no other": true, "request not an object": true}
	e := New(testConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJudge(t, e, tt.rec, tt.want, tt.wantErr, unnamed[tt.name])
		})
	}
}

func TestJudgeFields(t *testing.T) {
	e := New(testConfig)
	tests := []struct {
		name string
		rec  cloudtrail.Record
		tell func(Finding) bool
		what string
	}{
		{
			"qualifier joins the function name",
			record("AddPermission20150331v2", `{"functionName":"payments","qualifier":"prod","principal":"*"}`, ""),
			func(f Finding) bool { return f.Function == "payments:prod" },
			"function payments:prod",
		},
		{
			"qualified ARN kept as given",
			record("AddPermission20150331v2", `{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:payments:prod","qualifier":"prod","principal":"*"}`, ""),
			func(f Finding) bool {
				return f.Function == "arn:aws:lambda:eu-west-1:111122223333:function:payments:prod"
			},
			"the qualified ARN once",
		},
		{
			"function from the statement when the request lacks it",
			record("AddPermission20150331v2", `{}`, stored(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111122223333:function:payments:live"}`)),
			func(f Finding) bool {
				return f.Function == "arn:aws:lambda:eu-west-1:111122223333:function:payments:live"
			},
			"the statement's resource",
		},
		{
			"failed summary says tried",
			failed(record("AddPermission20150331v2", `{"functionName":"payments","principal":"*"}`, "")),
			func(f Finding) bool {
				return f.Outcome == Failed && f.ErrorCode == "AccessDenied" && strings.Contains(f.Summary, "tried to") && strings.Contains(f.Summary, "AccessDenied")
			},
			"a failed outcome and a 'tried to' summary",
		},
		{
			"conditions listed",
			record("AddPermission20150331v2", `{"functionName":"f","principal":"s3.amazonaws.com","sourceArn":"arn:aws:s3:::b"}`, ""),
			func(f Finding) bool {
				return len(f.Conditions) == 1 && f.Conditions[0] == "ArnLike AWS:SourceArn=arn:aws:s3:::b"
			},
			"the source ARN condition",
		},
		{
			"layer version named",
			record("AddLayerVersionPermission20181031", `{"layerName":"lib","versionNumber":3,"principal":"*"}`, ""),
			func(f Finding) bool { return f.Layer == "lib:3" && f.Function == "" && f.Resource() == "lib:3" },
			"layer lib:3",
		},
		{
			"function URL carried",
			record("CreateFunctionUrlConfig", `{"functionName":"payments","authType":"NONE"}`, `{"functionUrl":"https://abc.lambda-url.eu-west-1.on.aws/"}`),
			func(f Finding) bool { return f.FunctionURL == "https://abc.lambda-url.eu-west-1.on.aws/" },
			"the function URL",
		},
		{
			"runtime carried",
			at(record("CreateFunction20150331", `{"functionName":"old","runtime":"python3.9"}`, ""), "2026-11-02"),
			func(f Finding) bool { return f.Runtime == "python3.9" && strings.Contains(f.Summary, "2025-12-15") },
			"the runtime and its deprecation date",
		},
	}
	for _, tt := range tests {
		got, err := e.Judge(tt.rec)
		if err != nil || len(got) != 1 || !tt.tell(got[0]) {
			t.Errorf("%s: got %v, %v; want %s", tt.name, got, err, tt.what)
		}
	}
}

// TestOwnerFromARN: without recipientAccountId, the owner comes from the
// function's ARN, so a grant to that account raises nothing.
func TestOwnerFromARN(t *testing.T) {
	e := New(Config{})
	for _, name := range []string{"arn:aws:lambda:eu-west-1:210987654321:function:f", "210987654321:function:f"} {
		r := record("AddPermission20150331v2", `{"functionName":"`+name+`","principal":"210987654321"}`, "")
		r.RecipientAccountID = ""
		got, err := e.Judge(r)
		if err != nil || len(got) != 0 {
			t.Errorf("%s: got %v, %v; want nothing", name, got, err)
		}
		r = record("AddPermission20150331v2", `{"functionName":"`+name+`","principal":"*"}`, "")
		r.RecipientAccountID = ""
		got, _ = e.Judge(r)
		if len(got) != 1 || got[0].Account != "210987654321" {
			t.Errorf("%s: owner of %v, want 210987654321", name, got)
		}
	}
	// From the statement's resource.
	r := record("AddLayerVersionPermission20181031", `{}`, stored(`{"Effect":"Allow","Principal":"210987654321","Resource":"arn:aws:lambda:eu-west-1:210987654321:layer:lib:1"}`))
	r.RecipientAccountID = ""
	if got, err := e.Judge(r); err != nil || len(got) != 0 {
		t.Errorf("layer: got %v, %v; want nothing", got, err)
	}
}

func TestJudgeOtherSources(t *testing.T) {
	r := record("AddPermission20150331v2", `{"functionName":"f","principal":"*"}`, "")
	r.EventSource = "s3.amazonaws.com"
	if got, err := New(testConfig).Judge(r); got != nil || err != nil {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{TrustedAccounts: []string{"111122223333"}, OrgID: "o-a1b2c3d4e5"}, true},
		{Config{TrustedAccounts: []string{"11112222333"}}, false},
		{Config{OrgID: "a1b2c3d4e5"}, false},
		{Config{OrgID: "o-ABC"}, false},
		{Config{MonitorPrefix: "lambdawatch"}, true},
		{Config{MonitorPrefix: "Sec-Watch-2"}, true},
		{Config{MonitorPrefix: "sec_watch"}, false},
		{Config{MonitorPrefix: strings.Repeat("a", 40)}, true},
		{Config{MonitorPrefix: strings.Repeat("a", 41)}, false},
		{Config{MonitorPrefix: "lambda watch"}, false},
		{Config{MonitorPrefix: "lw/"}, false},
		{Config{MonitorPrefix: "lw*"}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v", tt.cfg, err)
		}
	}
}

func TestSeverity(t *testing.T) {
	for _, s := range []Severity{Info, Low, Medium, High, Critical} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round-trips to %v, %v", s, back, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("ParseSeverity(urgent) succeeded")
	}
	if s, err := ParseSeverity(" high "); err != nil || s != High {
		t.Errorf("ParseSeverity(high) = %v, %v", s, err)
	}
	if got := strings.Join(Medium.AtLeast(), ","); got != "MEDIUM,HIGH,CRITICAL" {
		t.Errorf("Medium.AtLeast() = %s", got)
	}
	if _, err := Severity(9).MarshalText(); err == nil {
		t.Error("Severity(9) marshalled")
	}
}

func TestRulesDescribed(t *testing.T) {
	ids := []string{RulePublicInvoke, RulePublicFunctionURL, RuleFunctionURLAuthNone, RuleCrossAccountInvoke, RulePublicLayer, RuleCrossAccountLayer, RuleConfusedDeputy, RuleUnreadableGrant, RuleForeignLayer, RuleEOLRuntime, RulePermissionRemoved, RuleTrailDisabled, RuleMonitorTampering, RulePrivilegedRole, RuleWAFMissing, RuleDenialOfWallet}
	if len(Rules) != len(ids) {
		t.Errorf("%d rules described, %d defined", len(Rules), len(ids))
	}
	for _, id := range ids {
		r, ok := RuleByID(id)
		if !ok || r.Title == "" || r.Why == "" || r.Remedy == "" {
			t.Errorf("rule %s: %+v", id, r)
		}
	}
}
