package stacks_test

// The harness: TestMain synthesizes three layouts once for the whole
// package (synthesis through jsii costs seconds), with the context of the
// repository's cdk.json plus each layout's own, as `cdk synth -c` would.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

const (
	testAccount    = "111111111111"
	testRegion     = "eu-west-1"
	testOrg        = "o-abc123def4"
	existingSecret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:lambdawatch/slack-AbC123"
	testPrefix     = "acme-lw" // the organization layout's
)

// layout is one synthesized app.
type layout struct {
	name      string
	cfg       stacks.Config
	stacks    *stacks.Stacks
	outdir    string
	templates map[string]assertions.Template // by stack name
	json      map[string]map[string]any      // the same, decoded
	order     []string                       // stack names, monitor first
	byName    map[string]awscdk.Stack
}

var (
	single  *layout // the default stack, with emails, trusted accounts and a quieter Slack
	variant *layout // x86_64, an existing secret, no reserved concurrency, no emails, a trail, deploy roles
	org     *layout // the organization layout, with its own prefix
	// The scheduled audit, in one account and in the organization.
	audited, auditedOrg *layout
	assets              stacks.Assets
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra/stacks tests:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (code int, err error) {
	defer jsii.Close()
	tmp, err := os.MkdirTemp("", "lambdawatch-infra-test-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	// Stand-ins for the Makefile's bootstraps: distinct contents, so that
	// the tests can tell which asset each function got.
	assets = stacks.Assets{Monitor: filepath.Join(tmp, "monitor"), Slack: filepath.Join(tmp, "slack"), Audit: filepath.Join(tmp, "audit")}
	for dir, content := range map[string]string{assets.Monitor: "monitor bootstrap", assets.Slack: "slack bootstrap", assets.Audit: "audit bootstrap"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 1, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(content), 0o755); err != nil {
			return 1, err
		}
	}
	base, err := cdkJSONContext()
	if err != nil {
		return 1, err
	}
	for _, l := range []struct {
		dst     **layout
		name    string
		context map[string]any
	}{
		{&single, "single", map[string]any{
			"trustedAccounts":  "222222222222,333333333333",
			"orgId":            testOrg,
			"alertEmails":      "security@example.com,oncall@example.com",
			"slackMinSeverity": "HIGH",
		}},
		{&variant, "variant", map[string]any{
			"architecture":       "x86_64",
			"slackSecretArn":     existingSecret,
			"reserveConcurrency": false,
			"minSeverity":        "LOW",
			"createTrail":        "true",
			"deployRoles":        "cdk-*-cfn-exec-role-*, deployer",
			"audit":              false,
		}},
		{&org, "org", map[string]any{
			"orgId":            testOrg,
			"centralAccountId": testAccount,
			"centralRegion":    testRegion,
			"regions":          "us-east-1",
			"monitorPrefix":    testPrefix,
		}},
		{&audited, "audited", map[string]any{"audit": true, "auditSchedule": "rate(12 hours)", "securityHub": true}},
		{&auditedOrg, "audited-org", map[string]any{
			"audit":            true,
			"orgId":            testOrg,
			"centralAccountId": testAccount,
			"centralRegion":    testRegion,
			"regions":          "us-east-1",
			"monitorPrefix":    testPrefix,
		}},
	} {
		// What the CLI adds to every synth: the metadata that tells
		// which asset and which construct a resource comes from.
		ctx := map[string]any{"aws:cdk:enable-path-metadata": true, "aws:cdk:enable-asset-metadata": true}
		for k, v := range base {
			ctx[k] = v
		}
		for k, v := range l.context {
			ctx[k] = v
		}
		if *l.dst, err = synth(l.name, ctx, filepath.Join(tmp, l.name)); err != nil {
			return 1, fmt.Errorf("synthesize %s: %w", l.name, err)
		}
	}
	return m.Run(), nil
}

// cdkJSONContext is the context of the repository's cdk.json: the app's
// defaults and the feature flags `cdk synth` runs with.
func cdkJSONContext() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var c struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if c.App != "go run ./infra" {
		return nil, fmt.Errorf("cdk.json runs %q, not the app in infra/", c.App)
	}
	return c.Context, nil
}

// synth builds and synthesizes an app as infra/main.go does.
func synth(name string, context map[string]any, outdir string) (l *layout, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &context, Outdir: jsii.String(outdir)})
	cfg, err := stacks.ParseConfig(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		return nil, err
	}
	l = &layout{name: name, cfg: cfg, outdir: outdir, templates: map[string]assertions.Template{},
		json: map[string]map[string]any{}, byName: map[string]awscdk.Stack{}}
	l.stacks = stacks.Build(app, cfg, assets)
	stacks.ApplyNag(app, l.stacks)
	app.Synth(nil)
	all := []awscdk.Stack{l.stacks.Monitor.Stack}
	for _, f := range l.stacks.Forwarders {
		all = append(all, f.Stack)
	}
	for _, s := range all {
		n := *s.StackName()
		l.order = append(l.order, n)
		l.byName[n] = s
		l.templates[n] = assertions.Template_FromStack(s, nil)
		// The JSON the CLI deploys, metadata included.
		b, err := os.ReadFile(filepath.Join(outdir, *s.TemplateFile()))
		if err != nil {
			return nil, err
		}
		var tpl map[string]any
		if err := json.Unmarshal(b, &tpl); err != nil {
			return nil, fmt.Errorf("%s: %w", *s.TemplateFile(), err)
		}
		l.json[n] = tpl
	}
	return l, nil
}

func (l *layout) monitor() assertions.Template { return l.templates[stacks.MonitorStackName] }
func (l *layout) monitorJSON() map[string]any  { return l.json[stacks.MonitorStackName] }

// check runs assertions, which panic when they fail, and turns a panic into
// a test error carrying the assertion's message.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assert()
}

// Shorthands for matchers.
type obj = map[string]any

func like(m obj) assertions.Matcher         { return assertions.Match_ObjectLike(&m) }
func arrayWith(v ...any) assertions.Matcher { return assertions.Match_ArrayWith(&v) }
func arrayEq(v ...any) assertions.Matcher   { return assertions.Match_ArrayEquals(&v) }
func ref(id string) obj                     { return obj{"Ref": id} }
func arn(id string) obj                     { return obj{"Fn::GetAtt": []any{id, "Arn"}} }

// resources returns the template's resources of a type, by logical ID.
func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// only returns the logical ID of the one resource of a type.
func only(t *testing.T, tpl map[string]any, typ string, match func(props map[string]any) bool) string {
	t.Helper()
	var ids []string
	for id, r := range resources(tpl, typ) {
		p, _ := r["Properties"].(map[string]any)
		if match == nil || match(p) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one %s, found %v", typ, ids)
	}
	return ids[0]
}

func props(tpl map[string]any, id string) map[string]any {
	p, _ := tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
	return p
}

// strs reads a policy element that is a string or a list of strings.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// byPath finds a resource by its construct path.
func byPath(t *testing.T, tpl map[string]any, path string) string {
	t.Helper()
	for id, r := range tpl["Resources"].(map[string]any) {
		if md, _ := r.(map[string]any)["Metadata"].(map[string]any); md["aws:cdk:path"] == path {
			return id
		}
	}
	t.Fatalf("no resource at %s", path)
	return ""
}
