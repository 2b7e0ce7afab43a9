package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// TestRun drives the app as the CDK CLI does, from the repository root, with
// the context and output directory as props: the CLI's environment variables
// would reach the jsii kernel only if set before the test binary started.
func TestRun(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	for _, fn := range []string{"monitor", "slack", "audit"} {
		dir := filepath.Join(root, "build", "arm64", fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(t.TempDir(), "good.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	expires := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	for path, body := range map[string]string{
		good: "suppressions:\n  - rule: public-invoke\n    account: \"111122223333\"\n    reason: approved\n    expires: " + expires + "\n",
		bad:  "suppressions:\n  - rule: public-invoke\n    reason: approved\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name, context string
		wantErr       []string // nil: synthesizes
		wantFiles     []string
	}{
		{name: "bad context", context: `{"minSeverity":"SEVERE","architecture":"arm64"}`,
			wantErr: []string{"context minSeverity", "SEVERE"}},
		{name: "bootstraps not built", context: `{"architecture":"x86_64"}`,
			wantErr: []string{"build/x86_64/monitor/bootstrap is missing", "make bootstraps ARCH=x86_64"}},
		{name: "suppressions", context: `{"architecture":"arm64","suppressions":"` + good + `"}`,
			wantFiles: []string{"LambdaWatch.template.json"}},
		{name: "suppressions that do not load", context: `{"architecture":"arm64","suppressions":"` + bad + `"}`,
			wantErr: []string{"context suppressions", "bad.yaml:2"}},
		{name: "default stack", context: `{"architecture":"arm64"}`,
			wantFiles: []string{"LambdaWatch.template.json", "AwsSolutions-*LambdaWatch-NagReport.csv"}},
		{name: "organization", context: `{"orgId":"o-abc123def4","centralAccountId":"111111111111","centralRegion":"eu-west-1","regions":"us-east-1"}`,
			wantFiles: []string{"LambdaWatch.template.json", "LambdaWatchForwarder-eu-west-1.template.json", "LambdaWatchForwarder-us-east-1.template.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			var context map[string]any
			if err := json.Unmarshal([]byte(tt.context), &context); err != nil {
				t.Fatal(err)
			}
			err := run(&awscdk.AppProps{Context: &context, Outdir: jsii.String(out)})
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("synthesized; want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.wantFiles {
				if m, _ := filepath.Glob(filepath.Join(out, f)); len(m) != 1 {
					t.Errorf("%s not in the cloud assembly", f)
				}
			}
		})
	}
}
