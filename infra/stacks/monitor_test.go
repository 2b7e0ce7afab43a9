package stacks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func fnID(t *testing.T, l *layout, description string) string {
	return only(t, l.monitorJSON(), "AWS::Lambda::Function", func(p map[string]any) bool {
		return strings.HasPrefix(p["Description"].(string), description)
	})
}

func TestFunctions(t *testing.T) {
	for _, tt := range []struct {
		l        *layout
		arch     string
		reserved map[string]any // by function
	}{
		{single, "arm64", map[string]any{"monitor": float64(10), "Slack": float64(2)}},
		{org, "arm64", map[string]any{"monitor": float64(10), "Slack": float64(2)}},
		{variant, "x86_64", map[string]any{"monitor": assertions.Match_Absent(), "Slack": assertions.Match_Absent()}},
	} {
		for _, fn := range []struct{ name, desc, bootstrap string }{
			{"monitor", "lambdawatch monitor", "monitor bootstrap"},
			{"Slack", "lambdawatch Slack", "slack bootstrap"},
		} {
			t.Run(tt.l.name+"/"+fn.name, func(t *testing.T) {
				id := fnID(t, tt.l, fn.desc)
				check(t, "function", func() {
					tt.l.monitor().HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
						"Description":   assertions.Match_StringLikeRegexp(jsii.String("^" + fn.desc)),
						"Runtime":       "provided.al2023",
						"Architectures": arrayEq(tt.arch),
						"Handler":       "bootstrap",
						"LoggingConfig": obj{
							"LogFormat":           "JSON",
							"LogGroup":            obj{"Ref": assertions.Match_AnyValue()},
							"ApplicationLogLevel": "INFO",
							"SystemLogLevel":      "WARN",
						},
						"ReservedConcurrentExecutions": tt.reserved[fn.name],
					})
				})
				// The asset is the folder given, holding this function's
				// bootstrap (not the other's).
				md := tt.l.monitorJSON()["Resources"].(map[string]any)[id].(map[string]any)["Metadata"].(map[string]any)
				b, err := os.ReadFile(filepath.Join(tt.l.outdir, md["aws:asset:path"].(string), "bootstrap"))
				if err != nil || string(b) != fn.bootstrap {
					t.Errorf("asset of %s holds %q (%v), want %q", fn.name, b, err, fn.bootstrap)
				}
				// Its log group is its own, with a retention.
				lg := props(tt.l.monitorJSON(), id)["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
				if r := props(tt.l.monitorJSON(), lg)["RetentionInDays"]; r != float64(90) {
					t.Errorf("log group %s retention %v, want 90 days", lg, r)
				}
			})
		}
		// The monitor, Slack and, with the audit, the audit function.
		n := 2.0
		if tt.l.cfg.Audit {
			n = 3
		}
		check(t, tt.l.name+": our functions, no helper functions", func() {
			tt.l.monitor().ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(n))
			tt.l.monitor().ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(n))
		})
	}
}

func TestMonitorEnvironment(t *testing.T) {
	for _, tt := range []struct {
		l                 *layout
		trusted, org, sev string
		prefix, deploy    string
	}{
		{single, "222222222222,333333333333", testOrg, "MEDIUM", "lambdawatch", ""},
		{variant, "", "", "LOW", "lambdawatch", "cdk-*-cfn-exec-role-*,deployer"},
		{org, "", testOrg, "MEDIUM", testPrefix, ""},
	} {
		topic := only(t, tt.l.monitorJSON(), "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch findings" })
		table := only(t, tt.l.monitorJSON(), "AWS::DynamoDB::Table", nil)
		check(t, tt.l.name, func() {
			tt.l.monitor().HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
				"Environment": obj{"Variables": assertions.Match_ObjectEquals(&obj{
					"STATE_TABLE":      ref(table),
					"SNS_TOPIC_ARN":    ref(topic),
					"TRUSTED_ACCOUNTS": tt.trusted,
					"ORG_ID":           tt.org,
					"MIN_SEVERITY":     tt.sev,
					"MONITOR_PREFIX":   tt.prefix,
					// Empty: the engine's default deployment roles.
					"MONITOR_DEPLOY_ROLES": tt.deploy,
				})},
			})
		})
	}
}

func TestEventRule(t *testing.T) {
	tpl := single.monitorJSON()
	monitor := fnID(t, single, "lambdawatch monitor")
	dlq := byPath(t, tpl, "LambdaWatch/MonitorDeadLetterQueue/Resource")
	check(t, "two rules on the default bus", func() {
		single.monitor().ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2))
	})
	// The Lambda rule takes the EventBridge calls that name the tamper
	// rule, through either parameter; the tamper rule every other one:
	// each parameter absent or naming another rule.
	const tamper = "lambdawatch-tamper"
	notTamper := obj{"anything-but": arrayEq(tamper)}
	absent := obj{"exists": false}
	for _, r := range []struct {
		name     string
		services []string
	}{
		{"lambdawatch-lambda-calls", []string{"lambda.amazonaws.com", "events.amazonaws.com"}},
		{"lambdawatch-tamper", []string{"cloudtrail.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com"}},
	} {
		var sources, branches []any
		for _, es := range r.services {
			svc := watchedService(t, es)
			sources = append(sources, svc.Source)
			branch := func() obj { return obj{"eventSource": arrayEq(es), "eventName": arrayEq(prefixes(svc.Actions)...)} }
			switch {
			case es != "events.amazonaws.com":
				branches = append(branches, branch())
			case r.name == tamper:
				b := branch()
				b["$or"] = arrayEq(
					obj{"requestParameters": obj{"name": arrayEq(notTamper), "rule": arrayEq(notTamper)}},
					obj{"requestParameters": obj{"name": arrayEq(notTamper), "rule": arrayEq(absent)}},
					obj{"requestParameters": obj{"name": arrayEq(absent), "rule": arrayEq(notTamper)}},
					obj{"requestParameters": obj{"name": arrayEq(absent), "rule": arrayEq(absent)}},
				)
				branches = append(branches, b)
			default:
				for _, param := range []string{"name", "rule"} {
					b := branch()
					b["requestParameters"] = obj{param: arrayEq(tamper)}
					branches = append(branches, b)
				}
			}
		}
		check(t, r.name, func() {
			single.monitor().HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
				"Name":         r.name,
				"EventBusName": assertions.Match_Absent(),
				"State":        "ENABLED",
				"EventPattern": assertions.Match_ObjectEquals(&obj{
					"source":      arrayEq(sources...),
					"detail-type": arrayEq("AWS API Call via CloudTrail"),
					"detail":      obj{"$or": arrayEq(branches...)},
				}),
				// The same target settings for both rules.
				"Targets": arrayEq(obj{
					"Arn":              arn(monitor),
					"Id":               assertions.Match_AnyValue(),
					"DeadLetterConfig": obj{"Arn": arn(dlq)},
					"RetryPolicy":      obj{"MaximumRetryAttempts": float64(20), "MaximumEventAgeInSeconds": float64(6 * 3600)},
				}),
			})
		})
	}
	check(t, "asynchronous invocation", func() {
		single.monitor().HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), obj{
			"FunctionName":             ref(monitor),
			"Qualifier":                "$LATEST",
			"MaximumRetryAttempts":     float64(2),
			"MaximumEventAgeInSeconds": float64(6 * 3600),
			"DestinationConfig":        obj{"OnFailure": obj{"Destination": arn(dlq)}},
		})
	})
}

func prefixes(actions []string) []any {
	var out []any
	for _, a := range actions {
		out = append(out, obj{"prefix": a})
	}
	return out
}

func watchedService(t *testing.T, eventSource string) detect.Service {
	t.Helper()
	for _, s := range detect.Watched {
		if s.EventSource == eventSource {
			return s
		}
	}
	t.Fatalf("detect.Watched has no %s", eventSource)
	return detect.Service{}
}

// TestEventPatternMatches runs the synthesized Lambda rule over event names
// as CloudTrail writes them, with a matcher of EventBridge's semantics.
func TestEventPatternMatches(t *testing.T) {
	tpl := single.monitorJSON()
	rule := only(t, tpl, "AWS::Events::Rule", func(p map[string]any) bool { return p["Name"] == "lambdawatch-lambda-calls" })
	pattern := props(tpl, rule)["EventPattern"].(map[string]any)
	matches := func(name string) bool {
		return patternMatches(t, pattern, cloudTrailEvent("aws.lambda", "lambda.amazonaws.com", name))
	}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"AddPermission20150331v2", true},
		{"AddPermission20150331", true},
		{"AddPermission", true},
		{"RemovePermission20150331v2", true},
		{"AddLayerVersionPermission20181031", true},
		{"RemoveLayerVersionPermission20181031", true},
		{"CreateFunction20150331", true},
		{"CreateFunctionUrlConfig", true},
		{"UpdateFunctionUrlConfig", true},
		{"UpdateFunctionConfiguration20150331v2", true},
		{"UpdateFunctionConfiguration", true},
		// Tampering with lambdawatch's own functions.
		{"UpdateFunctionCode20150331v2", true},
		{"DeleteFunction20150331", true},
		{"PutFunctionConcurrency20171031", true},
		{"UpdateEventSourceMapping20150331", true},
		{"DeleteEventSourceMapping20150331", true},
		// A prefix match reaches a little further: the engine judges it.
		{"DeleteFunctionUrlConfig", true},
		{"GetPolicy20150331v2", false},
		{"GetFunction20150331v2", false},
		{"ListFunctions20150331", false},
		{"Invoke", false},
		{"CreateEventSourceMapping20150331", false},
	} {
		if got := matches(tt.name); got != tt.want {
			t.Errorf("pattern matches %s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTopics(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		tpl := l.monitorJSON()
		key := only(t, tpl, "AWS::KMS::Key", nil)
		check(t, l.name+": key", func() {
			l.monitor().HasResourceProperties(jsii.String("AWS::KMS::Key"), obj{
				"EnableKeyRotation": true,
				"KeyPolicy": obj{"Statement": arrayWith(like(obj{
					"Effect":    "Allow",
					"Principal": obj{"Service": "cloudwatch.amazonaws.com"},
					"Action":    arrayEq("kms:Decrypt", "kms:GenerateDataKey"),
				}))},
			})
		})
		check(t, l.name+": topics", func() {
			l.monitor().ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(2))
			l.monitor().ResourcePropertiesCountIs(jsii.String("AWS::SNS::Topic"), obj{"KmsMasterKeyId": arn(key)}, jsii.Number(2))
		})
		// CloudWatch publishes to the alarm topic as a service: the topic
		// policy (which replaces SNS's default one) must let it, or every
		// alarm action fails silently.
		alarmTopic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch alarms" })
		check(t, l.name+": CloudWatch may publish alarms", func() {
			l.monitor().HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj{
				"Topics": arrayEq(ref(alarmTopic)),
				"PolicyDocument": obj{"Statement": arrayWith(obj{
					"Sid":       "CloudWatchAlarmsPublish",
					"Effect":    "Allow",
					"Principal": obj{"Service": "cloudwatch.amazonaws.com"},
					"Action":    "sns:Publish",
					"Resource":  ref(alarmTopic),
					"Condition": obj{"ArnLike": obj{"aws:SourceArn": assertions.Match_AnyValue()}},
				})},
			})
		})
		sourceArn := ""
		for _, st := range allowStatements(tpl) {
			if st.statement["Sid"] == "CloudWatchAlarmsPublish" {
				sourceArn = resolve(t, tpl, l.order[0], st.statement["Condition"].(map[string]any)["ArnLike"].(map[string]any)["aws:SourceArn"])
			}
		}
		if want := "arn:aws:cloudwatch:" + testRegion + ":" + testAccount + ":alarm:*"; sourceArn != want {
			t.Errorf("%s: CloudWatch may publish for alarms %q, want %q", l.name, sourceArn, want)
		}
		for id := range resources(tpl, "AWS::SNS::Topic") {
			check(t, l.name+": topic policy of "+id, func() {
				l.monitor().HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj{
					"Topics": arrayEq(ref(id)),
					"PolicyDocument": obj{"Statement": arrayWith(like(obj{
						"Effect":    "Deny",
						"Principal": "*",
						"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
					}))},
				})
			})
		}
	}
}

func TestEmailSubscriptions(t *testing.T) {
	tpl := single.monitorJSON()
	for _, name := range []string{"lambdawatch findings", "lambdawatch alarms"} {
		topic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == name })
		for _, email := range []string{"security@example.com", "oncall@example.com"} {
			check(t, email+" on "+name, func() {
				single.monitor().HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{
					"Protocol": "email", "Endpoint": email, "TopicArn": ref(topic),
				})
			})
		}
	}
	check(t, "single: 4 email subscriptions", func() {
		single.monitor().ResourcePropertiesCountIs(jsii.String("AWS::SNS::Subscription"), obj{"Protocol": "email"}, jsii.Number(4))
	})
	check(t, "variant: no email subscription", func() {
		variant.monitor().ResourcePropertiesCountIs(jsii.String("AWS::SNS::Subscription"), obj{"Protocol": "email"}, jsii.Number(0))
	})
}

func TestSlackPath(t *testing.T) {
	for _, tt := range []struct {
		l          *layout
		severities []any
	}{
		{single, []any{"HIGH", "CRITICAL"}},
		{variant, []any{"LOW", "MEDIUM", "HIGH", "CRITICAL"}}, // follows minSeverity
	} {
		tpl := tt.l.monitorJSON()
		queue := only(t, tpl, "AWS::SQS::Queue", func(p map[string]any) bool { return p["RedrivePolicy"] != nil })
		dlq := props(tpl, queue)["RedrivePolicy"].(map[string]any)["deadLetterTargetArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		topic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch findings" })
		slack := fnID(t, tt.l, "lambdawatch Slack")
		check(t, tt.l.name+": queue", func() {
			tt.l.monitor().HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj{
				"VisibilityTimeout": float64(360),
				"RedrivePolicy":     obj{"deadLetterTargetArn": arn(dlq), "maxReceiveCount": float64(5)},
			})
		})
		check(t, tt.l.name+": subscription", func() {
			tt.l.monitor().HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{
				"Protocol":           "sqs",
				"TopicArn":           ref(topic),
				"Endpoint":           arn(queue),
				"RawMessageDelivery": true,
				"FilterPolicy":       assertions.Match_ObjectEquals(&obj{"severity": arrayEq(tt.severities...)}),
				"RedrivePolicy":      obj{"deadLetterTargetArn": arn(dlq)},
			})
		})
		check(t, tt.l.name+": event source", func() {
			tt.l.monitor().HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
				"FunctionName":   ref(slack),
				"EventSourceArn": arn(queue),
				// A storm is read 100 at a time, gathered for up to 5 s,
				// and becomes a few summary posts.
				"BatchSize":                      float64(100),
				"MaximumBatchingWindowInSeconds": float64(5),
				"FunctionResponseTypes":          arrayEq("ReportBatchItemFailures"),
				"ScalingConfig":                  obj{"MaximumConcurrency": float64(2)},
			})
		})
	}
}

func TestSlackSecret(t *testing.T) {
	t.Run("created", func(t *testing.T) {
		tpl := single.monitorJSON()
		secret := only(t, tpl, "AWS::SecretsManager::Secret", nil)
		table := only(t, tpl, "AWS::DynamoDB::Table", nil)
		check(t, "secret", func() {
			single.monitor().HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), obj{"SecretString": "{}"})
			single.monitor().HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
				"Environment": obj{"Variables": assertions.Match_ObjectEquals(&obj{"SLACK_SECRET_ARN": ref(secret), "STATE_TABLE": ref(table)})},
			})
			single.monitor().HasOutput(jsii.String("SlackSecretArn"), obj{"Value": ref(secret)})
		})
		assertReads(t, tpl, "secretsmanager:GetSecretValue", ref(secret))
	})
	t.Run("existing", func(t *testing.T) {
		tpl := variant.monitorJSON()
		table := only(t, tpl, "AWS::DynamoDB::Table", nil)
		check(t, "secret", func() {
			variant.monitor().ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
			variant.monitor().HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
				"Environment": obj{"Variables": assertions.Match_ObjectEquals(&obj{"SLACK_SECRET_ARN": existingSecret, "STATE_TABLE": ref(table)})},
			})
		})
		assertReads(t, tpl, "secretsmanager:GetSecretValue", existingSecret)
	})
}

// assertReads checks that exactly one Allow statement in the template grants
// action, on resource alone.
func assertReads(t *testing.T, tpl map[string]any, action string, resource any) {
	t.Helper()
	var found []string
	for _, st := range allowStatements(tpl) {
		if slices.Contains(strs(st.statement["Action"]), action) {
			found = append(found, jsonString(st.statement["Resource"]))
		}
	}
	if want := []string{jsonString(resource)}; !slices.Equal(found, want) {
		t.Errorf("%s granted on %v, want on %v only", action, found, want)
	}
}

type statement struct {
	where     string // logical ID of the policy or resource holding it
	typ       string
	statement map[string]any
}

// allowStatements lists every Allow statement of identity and resource
// policies in the template.
func allowStatements(tpl map[string]any) []statement {
	var out []statement
	walk := func(id, typ string, doc any) {
		d, _ := doc.(map[string]any)
		var list []any
		switch s := d["Statement"].(type) {
		case []any:
			list = s
		case map[string]any:
			list = []any{s}
		}
		for _, s := range list {
			if s := s.(map[string]any); s["Effect"] == "Allow" {
				out = append(out, statement{id, typ, s})
			}
		}
	}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		typ := r["Type"].(string)
		p, _ := r["Properties"].(map[string]any)
		switch typ {
		case "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy":
			walk(id, typ, p["PolicyDocument"])
		case "AWS::IAM::Role":
			walk(id, typ, p["AssumeRolePolicyDocument"])
			for _, ip := range asList(p["Policies"]) {
				walk(id, typ, ip.(map[string]any)["PolicyDocument"])
			}
		case "AWS::KMS::Key":
			walk(id, typ, p["KeyPolicy"])
		case "AWS::Events::EventBusPolicy":
			walk(id, typ, obj{"Statement": p["Statement"]})
		}
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestLeastPrivilege: no wildcard action anywhere, no wildcard resource in
// identity policies, no AWS managed policy, and each permission on the
// one resource it is for.
func TestLeastPrivilege(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		for _, name := range l.order {
			tpl := l.json[name]
			for id, r := range resources(tpl, "AWS::IAM::Role") {
				if m := r["Properties"].(map[string]any)["ManagedPolicyArns"]; m != nil {
					t.Errorf("%s/%s: role %s has managed policies %v", l.name, name, id, m)
				}
			}
			for _, st := range allowStatements(tpl) {
				actions := strs(st.statement["Action"])
				for _, a := range actions {
					if !strings.Contains(a, "*") {
						continue
					}
					// The key policy's first statement is KMS's default,
					// which hands the key's management to IAM in this
					// account (root); without it the key cannot be
					// administered.
					if st.typ == "AWS::KMS::Key" && a == "kms:*" && strings.Contains(jsonString(st.statement["Principal"]), `:root"`) {
						continue
					}
					t.Errorf("%s/%s: %s %s allows wildcard action %q: %s", l.name, name, st.typ, st.where, a, jsonString(st.statement))
				}
				if st.typ == "AWS::IAM::Policy" && !auditWildcard(tpl, st) {
					for _, res := range asResources(st.statement["Resource"]) {
						if strings.Contains(jsonString(res), "*") {
							t.Errorf("%s/%s: %s allows %v on a wildcard resource %s", l.name, name, st.where, actions, jsonString(res))
						}
					}
				}
			}
		}
		tpl := l.monitorJSON()
		topic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch findings" })
		alarmTopic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch alarms" })
		// sns:Publish: the monitor's role on the alert topic, CloudWatch on
		// the alarm topic, nothing else.
		var publish []string
		for _, st := range allowStatements(tpl) {
			if slices.Contains(strs(st.statement["Action"]), "sns:Publish") {
				publish = append(publish, st.typ+" "+jsonString(st.statement["Principal"])+" "+jsonString(st.statement["Resource"]))
			}
		}
		slices.Sort(publish)
		wantPublish := []string{
			"AWS::IAM::Policy null " + jsonString(ref(topic)),
			"AWS::SNS::TopicPolicy " + jsonString(obj{"Service": "cloudwatch.amazonaws.com"}) + " " + jsonString(ref(alarmTopic)),
		}
		if l.cfg.Audit { // the audit's digest
			wantPublish = append([]string{"AWS::IAM::Policy null " + jsonString(ref(topic))}, wantPublish...)
		}
		if !slices.Equal(publish, wantPublish) {
			t.Errorf("%s: sns:Publish granted as %v, want %v", l.name, publish, wantPublish)
		}
		for _, fn := range []string{"lambdawatch monitor", "lambdawatch Slack"} {
			id := fnID(t, l, fn)
			role := props(tpl, id)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			logs := props(tpl, id)["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			check(t, l.name+": "+fn+" writes its own logs only", func() {
				l.monitor().HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{
					"Roles": arrayEq(ref(role)),
					"PolicyDocument": obj{"Statement": arrayWith(obj{
						"Sid": "WriteOwnLogs", "Effect": "Allow",
						"Action":   arrayEq("logs:CreateLogStream", "logs:PutLogEvents"),
						"Resource": arn(logs),
					})},
				})
			})
		}
	}
}

func asResources(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// TestInvokePermissions: EventBridge may invoke the monitor only from the
// lambdawatch rules, named by SourceArn.
func TestInvokePermissions(t *testing.T) {
	for _, tt := range []struct {
		l     *layout
		count int
	}{{single, 2}, {variant, 2}, {org, 4}} {
		tpl := tt.l.monitorJSON()
		monitor := fnID(t, tt.l, "lambdawatch monitor")
		rules := resources(tpl, "AWS::Events::Rule")
		perms := resources(tpl, "AWS::Lambda::Permission")
		if len(perms) != tt.count || len(rules) != tt.count {
			t.Errorf("%s: %d permissions for %d rules, want %d", tt.l.name, len(perms), len(rules), tt.count)
		}
		for rule := range rules {
			check(t, tt.l.name+": permission for "+rule, func() {
				tt.l.monitor().HasResourceProperties(jsii.String("AWS::Lambda::Permission"), assertions.Match_ObjectEquals(&obj{
					"Action":       "lambda:InvokeFunction",
					"FunctionName": arn(monitor),
					"Principal":    "events.amazonaws.com",
					"SourceArn":    arn(rule),
				}))
			})
		}
	}
}

func TestAlarms(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		tpl := l.monitorJSON()
		alarmTopic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch alarms" })
		monitor, slack := fnID(t, l, "lambdawatch monitor"), fnID(t, l, "lambdawatch Slack")
		var dlqs []string
		for id, q := range resources(tpl, "AWS::SQS::Queue") {
			if q["Properties"].(map[string]any)["RedrivePolicy"] == nil {
				dlqs = append(dlqs, id)
			}
		}
		wantDLQs := 2
		if l.cfg.Audit {
			wantDLQs = 3
		}
		if len(dlqs) != wantDLQs {
			t.Fatalf("%s: want %d dead-letter queues, got %v", l.name, wantDLQs, dlqs)
		}
		type want struct {
			namespace, metric, dimension string
			target                       any
		}
		wants := []want{
			{"AWS/Lambda", "Errors", "FunctionName", ref(monitor)},
			{"AWS/Lambda", "Throttles", "FunctionName", ref(monitor)},
			{"AWS/Lambda", "Errors", "FunctionName", ref(slack)},
			{"AWS/Lambda", "Throttles", "FunctionName", ref(slack)},
		}
		if l.cfg.Audit {
			wants = append(wants, want{"AWS/Lambda", "Errors", "FunctionName", ref(fnID(t, l, "lambdawatch audit"))})
		}
		for _, q := range dlqs {
			wants = append(wants, want{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", obj{"Fn::GetAtt": []any{q, "QueueName"}}})
		}
		// And the state table out of reach, counted from the functions'
		// logs: the monitor's, the Slack function's, and the audit's.
		check(t, l.name+": alarm count", func() {
			l.monitor().ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(float64(len(wants)+1)))
		})
		check(t, l.name+": alarm on the state table", func() {
			l.monitor().HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
				"Namespace": "lambdawatch", "MetricName": "StateUnavailable", "Threshold": float64(1),
				"AlarmActions": arrayEq(ref(alarmTopic)), "OKActions": arrayEq(ref(alarmTopic)),
			})
			filters := 2
			if l.cfg.Audit {
				filters++
			}
			l.monitor().ResourceCountIs(jsii.String("AWS::Logs::MetricFilter"), jsii.Number(float64(filters)))
			l.monitor().HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), obj{
				"FilterPattern": `{ $.msg = "delivery state unavailable" }`,
			})
		})
		for _, w := range wants {
			check(t, l.name+": alarm on "+w.metric+" of "+jsonString(w.target), func() {
				l.monitor().HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
					"Namespace":          w.namespace,
					"MetricName":         w.metric,
					"Dimensions":         arrayEq(obj{"Name": w.dimension, "Value": w.target}),
					"Threshold":          float64(1),
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"TreatMissingData":   "notBreaching",
					"AlarmActions":       arrayEq(ref(alarmTopic)),
					"OKActions":          arrayEq(ref(alarmTopic)),
				})
			})
		}
	}
}

func TestQueues(t *testing.T) {
	for _, l := range []*layout{single, org} {
		for _, name := range l.order {
			tpl := l.json[name]
			for id := range resources(tpl, "AWS::SQS::Queue") {
				if props(tpl, id)["SqsManagedSseEnabled"] != true {
					t.Errorf("%s/%s: queue %s is not encrypted", l.name, name, id)
				}
				check(t, l.name+"/"+name+": TLS only on "+id, func() {
					l.templates[name].HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{
						"Queues": arrayEq(ref(id)),
						"PolicyDocument": obj{"Statement": arrayWith(like(obj{
							"Effect":    "Deny",
							"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
						}))},
					})
				})
			}
		}
	}
}

// TestEnvironment: the single-account stack is environment-agnostic, so
// that it synthesizes without credentials; the central one is pinned.
func TestEnvironment(t *testing.T) {
	for _, s := range []awscdk.Stack{single.stacks.Monitor.Stack, variant.stacks.Monitor.Stack} {
		if !*awscdk.Token_IsUnresolved(s.Account()) || !*awscdk.Token_IsUnresolved(s.Region()) {
			t.Errorf("%s is pinned to %s/%s", *s.StackName(), *s.Account(), *s.Region())
		}
	}
	if s := org.stacks.Monitor.Stack; *s.Account() != testAccount || *s.Region() != testRegion {
		t.Errorf("central stack in %s/%s, want %s/%s", *s.Account(), *s.Region(), testAccount, testRegion)
	}
	for _, l := range []*layout{single, variant} {
		if len(l.order) != 1 || l.order[0] != stacks.MonitorStackName {
			t.Errorf("%s layout has stacks %v, want only %s", l.name, l.order, stacks.MonitorStackName)
		}
	}
}

func TestOutputs(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		outs := *l.monitor().FindOutputs(jsii.String("*"), obj{})
		var names []string
		for n := range outs {
			names = append(names, n)
		}
		slices.Sort(names)
		want := []string{"AlarmTopicArn", "AlertTopicArn", "SlackSecretArn"}
		if l == org {
			want = []string{"AlarmTopicArn", "AlertTopicArn", "CentralEventBusArn", "SlackSecretArn"}
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: outputs %v, want %v", l.name, names, want)
		}
	}
}

func TestTrail(t *testing.T) {
	for _, l := range []*layout{single, org} {
		check(t, l.name+": no trail unless asked", func() {
			l.monitor().ResourceCountIs(jsii.String("AWS::CloudTrail::Trail"), jsii.Number(0))
			l.monitor().ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(0))
		})
	}
	tpl := variant.monitorJSON()
	bucket := only(t, tpl, "AWS::S3::Bucket", nil)
	check(t, "trail", func() {
		variant.monitor().HasResourceProperties(jsii.String("AWS::CloudTrail::Trail"), obj{
			"S3BucketName":               ref(bucket),
			"IsLogging":                  true,
			"IsMultiRegionTrail":         true,
			"IncludeGlobalServiceEvents": true,
			"EnableLogFileValidation":    true,
			"EventSelectors":             arrayEq(obj{"IncludeManagementEvents": true, "ReadWriteType": "WriteOnly"}),
		})
	})
	check(t, "bucket", func() {
		variant.monitor().HasResource(jsii.String("AWS::S3::Bucket"), obj{
			"DeletionPolicy": "Retain",
			"Properties": like(obj{
				"PublicAccessBlockConfiguration": obj{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"LifecycleConfiguration":         obj{"Rules": arrayWith(like(obj{"ExpirationInDays": float64(90), "Status": "Enabled"}))},
				"BucketEncryption":               assertions.Match_AnyValue(),
			}),
		})
		variant.monitor().HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj{
			"Bucket": ref(bucket),
			"PolicyDocument": obj{"Statement": arrayWith(like(obj{
				"Effect": "Deny", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}))},
		})
	})
}

// TestDeliveryPermissions: each AWS service that writes to a queue may do so
// (a missing queue policy statement deploys fine and loses messages), and
// the Slack queue hides a message longer than the Slack function can run.
func TestDeliveryPermissions(t *testing.T) {
	for _, l := range []*layout{single, variant, org} {
		tpl := l.monitorJSON()
		topic := only(t, tpl, "AWS::SNS::Topic", func(p map[string]any) bool { return p["DisplayName"] == "lambdawatch findings" })
		monitorDLQ := byPath(t, tpl, "LambdaWatch/MonitorDeadLetterQueue/Resource")
		slackQueue := byPath(t, tpl, "LambdaWatch/SlackQueue/Resource")
		slackDLQ := byPath(t, tpl, "LambdaWatch/SlackDeadLetterQueue/Resource")
		allows := func(queue, service string, source any) {
			check(t, l.name+": "+service+" may send to "+queue, func() {
				l.monitor().HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{
					"Queues": arrayEq(ref(queue)),
					"PolicyDocument": obj{"Statement": arrayWith(like(obj{
						"Effect":    "Allow",
						"Action":    "sqs:SendMessage",
						"Principal": obj{"Service": service},
						"Resource":  arn(queue),
						"Condition": obj{"ArnEquals": obj{"aws:SourceArn": source}},
					}))},
				})
			})
		}
		// SNS delivers to the Slack queue, and what it cannot deliver to
		// the Slack dead-letter queue (the subscription's redrive policy).
		allows(slackQueue, "sns.amazonaws.com", ref(topic))
		allows(slackDLQ, "sns.amazonaws.com", ref(topic))
		// EventBridge sends what it could not deliver from every rule.
		rules := resources(tpl, "AWS::Events::Rule")
		if len(rules) == 0 {
			t.Fatalf("%s: no rule", l.name)
		}
		for rule := range rules {
			allows(monitorDLQ, "events.amazonaws.com", arn(rule))
		}
		// The on-failure destination is sent with the monitor's own role.
		monitor := fnID(t, l, "lambdawatch monitor")
		role := props(tpl, monitor)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		check(t, l.name+": the monitor's role sends to its destination", func() {
			l.monitor().HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{
				"Roles": arrayEq(ref(role)),
				"PolicyDocument": obj{"Statement": arrayWith(like(obj{
					"Effect":   "Allow",
					"Action":   arrayWith("sqs:SendMessage"),
					"Resource": arn(monitorDLQ),
				}))},
			})
		})
		// AWS: a visibility timeout of at least six times the function's.
		slack := fnID(t, l, "lambdawatch Slack")
		timeout, _ := props(tpl, slack)["Timeout"].(float64)
		visibility, _ := props(tpl, slackQueue)["VisibilityTimeout"].(float64)
		if timeout == 0 || visibility < 6*timeout {
			t.Errorf("%s: Slack queue visibility timeout %vs, function timeout %vs: want at least 6 times", l.name, visibility, timeout)
		}
	}
}

// auditWildcard reports whether a statement is one of the audit's that
// must name every resource: its reads, the organization's accounts, the
// member accounts' role by name, and the schedule's grant on the audit
// function and its qualifiers. Each is suppressed in nag.go with its reason.
func auditWildcard(tpl map[string]any, st statement) bool {
	sid, _ := st.statement["Sid"].(string)
	switch sid {
	case "ReadState", "ListOrganizationAccounts", "AssumeMemberAuditRole":
		return strings.HasPrefix(st.where, "AuditRoleDefaultPolicy")
	}
	return strings.HasPrefix(st.where, "AuditScheduleRoleDefaultPolicy") &&
		strs(st.statement["Action"])[0] == "lambda:InvokeFunction" &&
		strings.Contains(jsonString(st.statement["Resource"]), "AuditFunction")
}
