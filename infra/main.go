// Command infra is lambdawatch's CDK app: `cdk synth` and `cdk deploy` run it
// (cdk.json). It reads the context, builds the stacks of infra/stacks, runs
// cdk-nag over them and synthesizes.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdawatch/lambdawatch/infra/stacks"
)

func main() {
	// The CLI hands over the context and the output directory in the
	// environment (CDK_CONTEXT_JSON, CDK_OUTDIR), which NewApp reads.
	err := run(nil)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run builds and synthesizes the app; props are nil under the CLI.
func run(props *awscdk.AppProps) (err error) {
	// jsii turns JavaScript errors (a failed validation, an unsuppressed
	// cdk-nag error) into panics: report them as errors.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	app := awscdk.NewApp(props)
	cfg, err := stacks.ParseConfig(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return err
	}
	assets := stacks.AssetsFor(cfg.Architecture)
	dirs := []string{assets.Monitor, assets.Slack}
	if cfg.Audit {
		dirs = append(dirs, assets.Audit)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
			return fmt.Errorf("%s/bootstrap is missing: build it first with `make bootstraps ARCH=%s` (or use `make synth ARCH=%s`)",
				dir, cfg.Architecture, cfg.Architecture)
		}
	}
	if cfg.Suppressions != "" {
		// The layer's asset: a folder with the file alone.
		dir := filepath.Join("build", "suppressions")
		data, err := os.ReadFile(cfg.Suppressions)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, stacks.SuppressionsFile), data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("context suppressions: %w", err)
		}
		assets.Suppressions = dir
	}
	stacks.ApplyNag(app, stacks.Build(app, cfg, assets))
	app.Synth(nil)
	return nil
}
