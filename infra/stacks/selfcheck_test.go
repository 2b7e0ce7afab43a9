package stacks_test

// lambdawatch's own rules, run over its own stacks' Lambda permissions and
// functions, as the CloudTrail records CloudFormation's calls would leave,
// raise nothing at MEDIUM or above.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// resolve turns a CloudFormation value into the string it would deploy as,
// in testAccount and the stack's region (testRegion where it has none).
// Physical names are the names the template gives, or else CloudFormation's
// STACK-LOGICALID-SUFFIX. A value it cannot resolve fails the test, rather
// than being judged as garbage.
func resolve(t *testing.T, tpl map[string]any, stack string, v any) string {
	t.Helper()
	region := testRegion
	if m := regexp.MustCompile(`^LambdaWatchForwarder-(.+)$`).FindStringSubmatch(stack); m != nil {
		region = m[1]
	}
	typeOf := func(id string) (string, map[string]any) {
		r, ok := tpl["Resources"].(map[string]any)[id].(map[string]any)
		if !ok {
			t.Fatalf("reference to unknown resource %s", id)
		}
		p, _ := r["Properties"].(map[string]any)
		return r["Type"].(string), p
	}
	physical := func(id string) string {
		typ, p := typeOf(id)
		nameProp := map[string]string{"AWS::Lambda::Function": "FunctionName", "AWS::Events::Rule": "Name",
			"AWS::SNS::Topic": "TopicName", "AWS::SQS::Queue": "QueueName"}[typ]
		if n, ok := p[nameProp].(string); ok && nameProp != "" {
			return n
		}
		name := stack + "-" + id + "-SELFCHECK01"
		if len(name) > 64 {
			name = name[:64]
		}
		return name
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if len(v) != 1 {
				break
			}
			if r, ok := v["Ref"].(string); ok {
				switch r {
				case "AWS::AccountId":
					return testAccount
				case "AWS::Region":
					return region
				case "AWS::Partition":
					return "aws"
				case "AWS::URLSuffix":
					return "amazonaws.com"
				}
				typ, p := typeOf(r)
				switch typ {
				case "AWS::Lambda::Function":
					return physical(r)
				case "AWS::Events::EventBus":
					return walk(p["Name"])
				case "AWS::SNS::Topic":
					return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, testAccount, physical(r))
				case "AWS::SecretsManager::Secret":
					return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", region, testAccount, physical(r))
				}
				t.Fatalf("cannot resolve Ref to %s (%s)", r, typ)
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
				id := ga[0].(string)
				typ, p := typeOf(id)
				switch typ {
				case "AWS::Lambda::Function":
					return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, testAccount, physical(id))
				case "AWS::Events::Rule":
					if bus, ok := p["EventBusName"]; ok {
						return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", region, testAccount, walk(bus), physical(id))
					}
					return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, testAccount, physical(id))
				case "AWS::SQS::Queue":
					return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, testAccount, physical(id))
				case "AWS::Events::EventBus":
					return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", region, testAccount, walk(p["Name"]))
				}
				t.Fatalf("cannot resolve the Arn of %s (%s)", id, typ)
			}
			if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
				var parts []string
				for _, p := range j[1].([]any) {
					parts = append(parts, walk(p))
				}
				return strings.Join(parts, j[0].(string))
			}
		}
		t.Fatalf("cannot resolve %s", jsonString(v))
		return ""
	}
	return walk(v)
}

// storedPrincipal is the principal as Lambda stores it in the policy.
func storedPrincipal(p string) any {
	switch {
	case p == "*":
		return "*"
	case regexp.MustCompile(`^\d{12}$`).MatchString(p):
		return map[string]any{"AWS": "arn:aws:iam::" + p + ":root"}
	case strings.HasSuffix(p, ".amazonaws.com"):
		return map[string]any{"Service": p}
	}
	return map[string]any{"AWS": p}
}

// deployRecord is the CloudTrail record of CloudFormation making a call.
func deployRecord(id, eventName, region string, req, resp map[string]any) cloudtrail.Record {
	reqJSON, _ := json.Marshal(req)
	respJSON, _ := json.Marshal(resp)
	return cloudtrail.Record{
		EventVersion:       "1.09",
		EventID:            "selfcheck-" + id,
		EventTime:          time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		EventSource:        cloudtrail.LambdaSource,
		EventName:          eventName,
		EventType:          "AwsApiCall",
		AWSRegion:          region,
		SourceIPAddress:    "cloudformation.amazonaws.com",
		UserAgent:          "cloudformation.amazonaws.com",
		RecipientAccountID: testAccount,
		UserIdentity: cloudtrail.UserIdentity{
			Type:      "AssumedRole",
			ARN:       "arn:aws:sts::" + testAccount + ":assumed-role/cdk-hnb659fds-cfn-exec-role-" + testAccount + "-" + region + "/AWSCloudFormation",
			AccountID: testAccount,
			InvokedBy: "cloudformation.amazonaws.com",
		},
		RequestParameters: reqJSON,
		ResponseElements:  respJSON,
	}
}

// permissionRecord is the AddPermission record of an AWS::Lambda::Permission.
func permissionRecord(t *testing.T, tpl map[string]any, stack, id string, p map[string]any) cloudtrail.Record {
	t.Helper()
	region := resolve(t, tpl, stack, map[string]any{"Ref": "AWS::Region"})
	fn := resolve(t, tpl, stack, p["FunctionName"])
	principal := resolve(t, tpl, stack, p["Principal"])
	req := map[string]any{"functionName": fn, "statementId": id, "action": resolve(t, tpl, stack, p["Action"]), "principal": principal}
	st := map[string]any{"Sid": id, "Effect": "Allow", "Principal": storedPrincipal(principal), "Action": req["action"], "Resource": fn}
	cond := map[string]any{}
	if v, ok := p["SourceArn"]; ok {
		req["sourceArn"] = resolve(t, tpl, stack, v)
		cond["ArnLike"] = map[string]any{"AWS:SourceArn": req["sourceArn"]}
	}
	if v, ok := p["SourceAccount"]; ok {
		req["sourceAccount"] = resolve(t, tpl, stack, v)
		cond["StringEquals"] = map[string]any{"AWS:SourceAccount": req["sourceAccount"]}
	}
	for k := range p {
		switch k {
		case "FunctionName", "Principal", "Action", "SourceArn", "SourceAccount":
		default:
			t.Fatalf("%s: permission property %s is not turned into the record yet", id, k)
		}
	}
	if len(cond) > 0 {
		st["Condition"] = cond
	}
	stored, _ := json.Marshal(st)
	return deployRecord(id, "AddPermission20150331v2", region, req, map[string]any{"statement": string(stored)})
}

// functionRecord is the CreateFunction record of an AWS::Lambda::Function.
func functionRecord(t *testing.T, tpl map[string]any, stack, id string, p map[string]any) cloudtrail.Record {
	t.Helper()
	region := resolve(t, tpl, stack, map[string]any{"Ref": "AWS::Region"})
	name := resolve(t, tpl, stack, map[string]any{"Ref": id})
	var layers []string
	for _, l := range asList(p["Layers"]) {
		layers = append(layers, resolve(t, tpl, stack, l))
	}
	req := map[string]any{"functionName": name, "runtime": p["Runtime"], "handler": p["Handler"], "layers": layers}
	resp := map[string]any{"functionName": name, "runtime": p["Runtime"],
		"functionArn": resolve(t, tpl, stack, map[string]any{"Fn::GetAtt": []any{id, "Arn"}})}
	return deployRecord(id, "CreateFunction20150331", region, req, resp)
}

func judge(t *testing.T, cfg detect.Config, rec cloudtrail.Record) []detect.Finding {
	t.Helper()
	fs, err := detect.New(cfg).Judge(rec)
	if err != nil {
		t.Errorf("%s: the engine could not read the record: %v\n%s\n%s", rec.EventID, err, rec.RequestParameters, rec.ResponseElements)
	}
	return fs
}

func TestOwnStacksRaiseNothing(t *testing.T) {
	judged := 0
	for _, l := range []*layout{single, variant, org} {
		cfg := detect.Config{TrustedAccounts: l.cfg.TrustedAccounts, OrgID: l.cfg.OrgID}
		for _, stack := range l.order {
			tpl := l.json[stack]
			var recs []cloudtrail.Record
			for id, r := range resources(tpl, "AWS::Lambda::Permission") {
				recs = append(recs, permissionRecord(t, tpl, stack, id, r["Properties"].(map[string]any)))
			}
			for id, r := range resources(tpl, "AWS::Lambda::Function") {
				recs = append(recs, functionRecord(t, tpl, stack, id, r["Properties"].(map[string]any)))
			}
			for _, rec := range recs {
				judged++
				for _, f := range judge(t, cfg, rec) {
					if f.Severity >= detect.Medium {
						t.Errorf("%s/%s: lambdawatch flags its own %s at %s (%s): %s\n%s",
							l.name, stack, rec.EventID, f.Severity, f.Rule, f.Summary, rec.RequestParameters)
					}
				}
			}
		}
	}
	// 2 functions + 2 permissions (one per rule) in single and variant;
	// 2 + 4 in org; and the audit function in single and org.
	if judged != 16 {
		t.Errorf("judged %d records, want 16", judged)
	}
}

// TestSelfCheckCanFail runs grants that must raise findings through the same
// conversion, so that a silent engine or a broken conversion cannot pass
// TestOwnStacksRaiseNothing.
func TestSelfCheckCanFail(t *testing.T) {
	tpl := single.monitorJSON()
	stack := single.order[0]
	monitor := fnID(t, single, "lambdawatch monitor")
	rule := only(t, tpl, "AWS::Events::Rule", func(p map[string]any) bool { return p["Name"] == "lambdawatch-lambda-calls" })
	cfg := detect.Config{TrustedAccounts: single.cfg.TrustedAccounts, OrgID: single.cfg.OrgID}
	for _, tt := range []struct {
		name  string
		perm  map[string]any
		least detect.Severity
	}{
		{"anyone", map[string]any{"Action": "lambda:InvokeFunction", "Principal": "*", "FunctionName": arn(monitor)}, detect.Critical},
		{"another account", map[string]any{"Action": "lambda:InvokeFunction", "Principal": "444444444444", "FunctionName": arn(monitor)}, detect.High},
		{"a service without source", map[string]any{"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "FunctionName": arn(monitor)}, detect.Medium},
		{"a foreign rule", map[string]any{"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "FunctionName": arn(monitor),
			"SourceArn": "arn:aws:events:eu-west-1:444444444444:rule/x"}, detect.Medium},
	} {
		t.Run(tt.name, func(t *testing.T) {
			worst := detect.Severity(-1)
			for _, f := range judge(t, cfg, permissionRecord(t, tpl, stack, "Control", tt.perm)) {
				worst = max(worst, f.Severity)
			}
			if worst < tt.least {
				t.Errorf("granting %s raised at most %v, want at least %v", tt.name, worst, tt.least)
			}
		})
	}
	// And the real permission, resolved, names this account's rule by the
	// name the template gives it.
	perm := only(t, tpl, "AWS::Lambda::Permission", func(p map[string]any) bool { return jsonString(p["SourceArn"]) == jsonString(arn(rule)) })
	rec := permissionRecord(t, tpl, stack, perm, props(tpl, perm))
	want := fmt.Sprintf(`"sourceArn":"arn:aws:events:%s:%s:rule/lambdawatch-lambda-calls"`, testRegion, testAccount)
	if !strings.Contains(string(rec.RequestParameters), want) {
		t.Errorf("record %s lacks %s", rec.RequestParameters, want)
	}
}
